//! The Durable Object session backend (`SESSION_BACKEND=durable_object`). Each call gets one
//! object, named by its `reference_id`, that keeps the session in its transactional storage and
//! handles the call's events one at a time: strongly consistent, with no KV write limit per key.
//! Call records, pending outbound calls and campaigns stay in KV (the call API lists them).
//!
//! The worker verifies and decodes an event, then hands the raw body to the call's object, which
//! runs the same pipeline ([`crate::webhook::process`]) with its storage as the session store and
//! answers the HTTP response for Telesign, with what it did for the request's one log line in the
//! `x-call-log` header.

use futures_util::lock::Mutex;
use wasm_bindgen::JsValue;
use worker::{
    durable_object, js_sys::Uint8Array, DurableObject, Env, Method, ObjectNamespace, Request,
    RequestInit, Response, State, Storage,
};

use crate::http::{empty_response, error_response, json_text_response};
use crate::store::Store;
use crate::webhook::{answer, run};
use ivr_core::config::{Config, SessionBackend};
use ivr_core::engine::Session;
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::keys::{OBJECT_SESSION_KEY, SESSION_TTL_SECS};
use ivr_core::pipeline::ports::SessionStore;
use ivr_core::telesign::decode_event;

/// The Durable Object namespace binding (see wrangler.toml).
pub const BINDING: &str = "CALL_SESSIONS";
/// The response header carrying the object's part of the log line.
const LOG_HEADER: &str = "x-call-log";
/// Requests between the worker and the objects use this origin; it never leaves the runtime.
const ORIGIN: &str = "https://call-session.internal";

/// One call's object.
#[durable_object(alarm)]
pub struct CallSession {
    state: State,
    env: Env,
    /// Events of one call are handled in turn: a `fetch` step's HTTP request must not let the
    /// next event of the same call in half-way.
    turn: Mutex<()>,
}

impl DurableObject for CallSession {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            turn: Mutex::new(()),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let _turn = self.turn.lock().await;
        let sessions = Sessions::Object(ObjectStorage(self.state.storage()));
        let result = match (req.method(), req.path().as_str()) {
            (Method::Post, "/event") => return self.event(&mut req, &sessions).await,
            (Method::Get, "/session") => match sessions.session("").await {
                Ok(Some(session)) => json_text_response(200, serde_json::to_string(&session)?)
                    .or_else(|e| error_response(&e)),
                Ok(None) => Ok(Response::empty()?.with_status(404)),
                Err(e) => error_response(&e),
            },
            (Method::Put, "/session") => {
                let session: Session = serde_json::from_slice(&req.bytes().await?)?;
                match sessions.save_session(&session).await {
                    Ok(()) => Ok(Response::empty()?.with_status(204)),
                    Err(e) => error_response(&e),
                }
            }
            _ => error_response(&ApiError::not_found(&req.path())),
        };
        result
    }

    /// The session outlived Telesign's four-hour call limit: nothing will come for it.
    async fn alarm(&self) -> worker::Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}

impl CallSession {
    /// A verified event of this call: the pipeline, with this object's storage for the session.
    async fn event(&self, req: &mut Request, sessions: &Sessions) -> worker::Result<Response> {
        let body = req.bytes().await?;
        let mut log = RequestLog::default();
        let result = match decode_event(&body) {
            Ok(event) => {
                let config = crate::env::config(&self.env);
                match Store::open(&self.env) {
                    Ok(store) => run(sessions, &store, config, &event, &body, &mut log).await,
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(ApiError::new(400, e.code(), e.to_string())),
        };
        let mut resp = match result.and_then(answer) {
            Ok(resp) => resp,
            Err(e) => {
                log.code = Some(e.code.into());
                log.message = Some(e.message.clone());
                error_response(&e)?
            }
        };
        resp.headers_mut()
            .set(LOG_HEADER, &serde_json::to_string(&log)?)?;
        Ok(resp)
    }
}

/// The session in its object's storage, as JSON text (the storage's own serializer would turn maps
/// into JS `Map`s). An alarm clears the object when the call can no longer be live.
pub struct ObjectStorage(Storage);

fn unavailable(e: worker::Error) -> ApiError {
    ApiError::new(
        503,
        "store_unavailable",
        format!("call session storage: {e}"),
    )
}

impl ObjectStorage {
    async fn session(&self) -> Result<Option<Session>, ApiError> {
        let text: Option<String> = self.0.get(OBJECT_SESSION_KEY).await.map_err(unavailable)?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                ApiError::new(
                    500,
                    "stored_data_unreadable",
                    format!("the session is not readable: {e}"),
                )
            })
        })
        .transpose()
    }

    async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        let text = serde_json::to_string(session)
            .map_err(|e| ApiError::new(500, "internal_error", e.to_string()))?;
        self.0
            .put(OBJECT_SESSION_KEY, text)
            .await
            .map_err(unavailable)?;
        let ttl_ms = i64::try_from(SESSION_TTL_SECS * 1000).unwrap_or(i64::MAX);
        self.0.set_alarm(ttl_ms).await.map_err(unavailable)
    }

    async fn delete_session(&self) -> Result<(), ApiError> {
        self.0.delete_all().await.map_err(unavailable)?;
        self.0.delete_alarm().await.map_err(unavailable)
    }
}

/// Where sessions are, for the code that reads and writes them: in KV, in the calls' objects
/// (seen from the worker), or in this object's own storage (seen from inside an object). One type
/// for all three, so the event pipeline is compiled once, not once per store.
pub enum Sessions {
    Kv(Store),
    Durable(ObjectNamespace),
    Object(ObjectStorage),
}

impl Sessions {
    pub fn open(env: &Env, config: &Config) -> Result<Self, ApiError> {
        match config.session_backend {
            SessionBackend::Kv => Store::open(env).map(Sessions::Kv),
            SessionBackend::DurableObject => namespace(env).map(Sessions::Durable),
        }
    }
}

fn namespace(env: &Env) -> Result<ObjectNamespace, ApiError> {
    env.durable_object(BINDING).map_err(|e| {
        ApiError::new(
            500,
            "store_not_configured",
            format!("SESSION_BACKEND=durable_object needs the {BINDING} binding: {e}"),
        )
    })
}

/// Sends `method path` with `body` to the object of `reference_id`.
async fn call_object(
    ns: &ObjectNamespace,
    reference_id: &str,
    method: Method,
    path: &str,
    body: Option<&[u8]>,
) -> worker::Result<Response> {
    let stub = ns.id_from_name(reference_id)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_body(body.map(|b| JsValue::from(Uint8Array::from(b))));
    let req = Request::new_with_init(&format!("{ORIGIN}{path}"), &init)?;
    stub.fetch_with_request(req).await
}

impl SessionStore for Sessions {
    async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError> {
        match self {
            Sessions::Kv(store) => store.session(reference_id).await,
            Sessions::Object(storage) => storage.session().await,
            Sessions::Durable(ns) => {
                let mut resp = call_object(ns, reference_id, Method::Get, "/session", None)
                    .await
                    .map_err(unavailable)?;
                match resp.status_code() {
                    404 => Ok(None),
                    200 => Ok(Some(resp.json().await.map_err(unavailable)?)),
                    status => Err(ApiError::new(
                        503,
                        "store_unavailable",
                        format!("call session object answered {status}"),
                    )),
                }
            }
        }
    }

    async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        match self {
            Sessions::Kv(store) => store.save_session(session).await,
            Sessions::Object(storage) => storage.save_session(session).await,
            Sessions::Durable(ns) => {
                let body = serde_json::to_vec(session)
                    .map_err(|e| ApiError::new(500, "internal_error", e.to_string()))?;
                let resp = call_object(
                    ns,
                    &session.reference_id,
                    Method::Put,
                    "/session",
                    Some(&body),
                )
                .await
                .map_err(unavailable)?;
                match resp.status_code() {
                    204 => Ok(()),
                    status => Err(ApiError::new(
                        503,
                        "store_unavailable",
                        format!("call session object answered {status}"),
                    )),
                }
            }
        }
    }

    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
        match self {
            Sessions::Kv(store) => store.delete_session(reference_id).await,
            Sessions::Object(storage) => storage.delete_session().await,
            // Only the event pipeline, inside the object, ends a call.
            Sessions::Durable(_) => Ok(()),
        }
    }
}

/// Hands a verified, decoded event to its call's object and passes its answer on; the object's
/// part of the log line is merged into `log`.
pub async fn forward_event(
    env: &Env,
    reference_id: &str,
    body: &[u8],
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let ns = namespace(env)?;
    let mut resp = call_object(&ns, reference_id, Method::Post, "/event", Some(body))
        .await
        .map_err(unavailable)?;
    let reported = resp.headers().get(LOG_HEADER).ok().flatten();
    if let Some(part) = reported.and_then(|h| serde_json::from_str::<RequestLog>(&h).ok()) {
        log.absorb(part);
    }
    // The object's response has immutable headers: answer a fresh one without the log header.
    let status = resp.status_code();
    let body = resp.text().await.map_err(unavailable)?;
    if body.is_empty() {
        empty_response(status)
    } else {
        json_text_response(status, body)
    }
}
