//! Where live sessions are, for the code that reads and writes them: in KV, in the calls'
//! Durable Objects (seen from the worker, through their stubs), or in one object's own storage
//! (seen from inside that object). One type for all three, so the core's pipeline is compiled
//! once, not once per store. Also the worker's side of the internal protocol with the objects:
//! the paths, and [`ObjectAnswer`], what an object answers for an event.

use serde::{Deserialize, Serialize};

use ivr_core::config::{Config, SessionBackend};
use ivr_core::engine::{LookupOutcome, RawJson, Reply, Session};
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::log::RequestLog;
use ivr_core::pipeline::keys::{object_lookup_key, OBJECT_SESSION_KEY, SESSION_TTL_SECS};
use ivr_core::pipeline::ports::SessionStore;

use crate::env::{Env, CALL_SESSIONS_BINDING};
use crate::io::{perform, stored, Op};
use crate::kv::Kv;

/// `POST`: a verified event of the object's call (the raw body).
pub const EVENT_PATH: &str = "/event";
/// `GET` / `PUT`: the object's session as JSON.
pub const SESSION_PATH: &str = "/session";
/// The header of an event sent to its object: the time the worker handles it at.
pub const EVENT_TIME_HEADER: &str = "x-event-time-ms";

/// Where sessions are (see the module documentation).
pub enum Sessions {
    Kv(Kv),
    /// Through the objects' namespace.
    Objects,
    Object(ObjectStorage),
}

impl Sessions {
    /// The sessions of the configured backend, seen from the worker.
    pub fn open(env: &Env, config: &Config, kv: &Kv) -> Result<Self, ApiError> {
        match config.session_backend {
            SessionBackend::Kv => Ok(Sessions::Kv(kv.clone())),
            SessionBackend::DurableObject => objects(env).map(|()| Sessions::Objects),
        }
    }
}

/// `Ok` when the Durable Object namespace of call sessions is bound.
fn objects(env: &Env) -> Result<(), ApiError> {
    env.require(CALL_SESSIONS_BINDING, "SESSION_BACKEND=durable_object")
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::store_unavailable(format!("call session storage: {e}"))
}

/// The session in its object's storage, as JSON text. An alarm clears the object when the call
/// can no longer be live.
pub struct ObjectStorage;

impl ObjectStorage {
    async fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        let text = perform(Op::StorageGet { key }).await.map_err(unavailable)?;
        stored(key, text)
    }

    /// Writes under the object's alarm, set by the call's first write: whatever is kept (an
    /// outcome that comes after the call ended too) is cleared with the object.
    async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ApiError> {
        let text = serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))?;
        let op = Op::StoragePut {
            key,
            value: &text,
            alarm_in_ms: SESSION_TTL_SECS * 1000,
        };
        perform(op).await.map(drop).map_err(unavailable)
    }

    async fn session(&self) -> Result<Option<Session>, ApiError> {
        self.get(OBJECT_SESSION_KEY).await
    }

    async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        self.put(OBJECT_SESSION_KEY, session).await
    }

    async fn delete_session(&self) -> Result<(), ApiError> {
        perform(Op::StorageClear)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn lookup(&self, index: u32) -> Result<Option<LookupOutcome>, ApiError> {
        self.get(&object_lookup_key(index)).await
    }

    async fn save_lookup(&self, outcome: &LookupOutcome) -> Result<(), ApiError> {
        self.put(&object_lookup_key(outcome.index), outcome).await
    }
}

/// What an object answered.
#[derive(Deserialize)]
struct ObjectReply {
    status: u16,
    body: String,
}

/// Sends `method path` with `body` to the object of `reference_id`.
async fn call_object(
    reference_id: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    event_time_ms: Option<u64>,
) -> Result<ObjectReply, ApiError> {
    let time = event_time_ms.map(|ms| (EVENT_TIME_HEADER, ms.to_string()));
    let op = Op::Object {
        binding: CALL_SESSIONS_BINDING,
        name: reference_id,
        method,
        path,
        headers: time.as_slice(),
        body,
    };
    let answer = perform(op).await.map_err(unavailable)?;
    json(answer.as_deref().unwrap_or_default())
}

/// `text` read as JSON, or the object's storage is unavailable.
fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    ivr_core::json::read(text.as_bytes()).map_err(unavailable)
}

impl SessionStore for Sessions {
    /// Inside a call's object, its events come one at a time (the object's turn lock).
    fn one_event_at_a_time(&self) -> bool {
        matches!(self, Sessions::Object(_))
    }
    /// KV takes one write a second per key; a call's object has no such limit.
    fn one_write_a_second_per_key(&self) -> bool {
        match self {
            Sessions::Kv(_) => true,
            Sessions::Objects | Sessions::Object(_) => false,
        }
    }

    async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError> {
        match self {
            Sessions::Kv(kv) => kv.session(reference_id).await,
            Sessions::Object(storage) => storage.session().await,
            Sessions::Objects => {
                let resp = call_object(reference_id, "GET", SESSION_PATH, None, None).await?;
                match resp.status {
                    404 => Ok(None),
                    200 => json(&resp.body).map(Some),
                    status => Err(unavailable(format!("the object answered {status}"))),
                }
            }
        }
    }

    async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        match self {
            Sessions::Kv(kv) => kv.save_session(session).await,
            Sessions::Object(storage) => storage.save_session(session).await,
            Sessions::Objects => {
                let body = serde_json::to_string(session)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                let reference_id = &session.reference_id;
                let resp =
                    call_object(reference_id, "PUT", SESSION_PATH, Some(&body), None).await?;
                match resp.status {
                    204 => Ok(()),
                    status => Err(unavailable(format!("the object answered {status}"))),
                }
            }
        }
    }

    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
        match self {
            Sessions::Kv(kv) => kv.delete_session(reference_id).await,
            Sessions::Object(storage) => storage.delete_session().await,
            // Only the event pipeline, inside the object, ends a call.
            Sessions::Objects => Ok(()),
        }
    }

    async fn lookup(
        &self,
        reference_id: &str,
        index: u32,
    ) -> Result<Option<LookupOutcome>, ApiError> {
        match self {
            Sessions::Kv(kv) => kv.lookup(reference_id, index).await,
            Sessions::Object(storage) => storage.lookup(index).await,
            Sessions::Objects => Err(inside_the_object()),
        }
    }

    async fn save_lookup(
        &self,
        reference_id: &str,
        outcome: &LookupOutcome,
    ) -> Result<(), ApiError> {
        match self {
            Sessions::Kv(kv) => kv.save_lookup(reference_id, outcome).await,
            Sessions::Object(storage) => storage.save_lookup(outcome).await,
            Sessions::Objects => Err(inside_the_object()),
        }
    }

    /// In a Durable Object the outcomes are in the object's storage, cleared with the session.
    async fn delete_lookups(&self, reference_id: &str, indexes: &[u32]) -> Result<(), ApiError> {
        match self {
            Sessions::Kv(kv) => kv.delete_lookups(reference_id, indexes).await,
            Sessions::Object(_) | Sessions::Objects => Ok(()),
        }
    }

    /// In a Durable Object the outcomes are in the object's storage, which is cleared when its
    /// call ends (and, for a call still live, goes with it).
    async fn erase_lookups(&self, reference_id: &str) -> Result<u64, ApiError> {
        match self {
            Sessions::Kv(kv) => kv.erase_lookups(reference_id).await,
            Sessions::Object(_) | Sessions::Objects => Ok(0),
        }
    }
}

/// Lookups of calls in Durable Objects run in their objects, which alone read and write them.
fn inside_the_object() -> ApiError {
    ApiError::internal("a call's lookups are kept inside its Durable Object")
}

/// What an object answers for an event: the reply (or the error) and its part of the log line.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ObjectAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<ivr_core::telesign::Method>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<RawJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ObjectError>,
    pub log: RequestLog,
}

/// An error of the object's pipeline, carried back to the worker that answers it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ObjectError {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
}

impl ObjectAnswer {
    /// The answer for what the pipeline did.
    pub fn new(result: Result<Option<Reply>, ApiError>, log: RequestLog) -> Self {
        match result {
            Ok(reply) => ObjectAnswer {
                method: reply.as_ref().map(|r| r.method),
                reply: reply.map(|r| r.json),
                error: None,
                log,
            },
            Err(e) => ObjectAnswer {
                error: Some(ObjectError {
                    status: e.status,
                    code: e.code,
                    message: e.message,
                }),
                log,
                ..ObjectAnswer::default()
            },
        }
    }

    fn into_result(self) -> Result<Option<Reply>, ApiError> {
        if let Some(e) = self.error {
            return Err(ApiError::new(e.code, e.message).with_status(e.status));
        }
        Ok(self
            .reply
            .zip(self.method)
            .map(|(json, method)| Reply { method, json }))
    }
}

/// Hands a verified, decoded event to its call's object and returns what the object's pipeline
/// decided; the object's part of the log line is merged into `log`.
pub async fn forward_event(
    env: &Env,
    reference_id: &str,
    body: &[u8],
    event_time_ms: u64,
    log: &mut RequestLog,
) -> Result<Option<Reply>, ApiError> {
    objects(env)?;
    // A decoded event is JSON, so UTF-8.
    let body = std::str::from_utf8(body).map_err(unavailable)?;
    let at = Some(event_time_ms);
    let resp = call_object(reference_id, "POST", EVENT_PATH, Some(body), at).await?;
    let mut answer: ObjectAnswer = json(&resp.body)?;
    log.absorb(std::mem::take(&mut answer.log));
    answer.into_result()
}
