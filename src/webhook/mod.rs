//! `POST /webhook`: Telesign's customer event URL. The shell reads the raw body (bounded),
//! verifies the signature and decodes the event; [`process`] does the rest (session, engine,
//! `fetch` steps, persistence); the answer is the JSON-RPC action (200) or nothing (204).

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{
    web_sys, AbortController, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit,
    Response,
};

use ivr_core::pipeline::process;

use crate::durable::Sessions;
use ivr_core::config::{Config, SessionBackend};
use ivr_core::engine::Reply;
use ivr_core::error::ApiError;
use ivr_core::flow::{FetchRequest, FetchResponse};

use crate::env::{config as env_config, registry};
use crate::http::{empty_response, json_text_response};
use crate::store::Store;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::ports::Fetcher;
use ivr_core::telesign::{decode_event, signature, Event};

/// The largest event body accepted; Telesign's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn handle(
    req: web_sys::Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let body = read_body(&req, MAX_BODY_BYTES).await?;
    let config = env_config(env);
    if config.webhook_auth {
        verify(&req, &body, config)?;
    } else {
        log.warning = Some("WEBHOOK_AUTH is off: event signatures are not verified".into());
    }
    let event = decode_event(&body).map_err(|e| ApiError::new(400, e.code(), e.to_string()))?;
    log.event = Some(event.kind.name().to_owned());
    log.reference_id = Some(event.reference_id.clone());

    if config.session_backend == SessionBackend::DurableObject {
        return crate::durable::forward_event(env, &event.reference_id, &body, log).await;
    }
    let store = Store::open(env)?;
    let reply = run(
        &Sessions::Kv(store.clone()),
        &store,
        config,
        &event,
        &body,
        log,
    )
    .await?;
    answer(reply)
}

/// The pipeline with the runtime's clock, `fetch` and the compiled flows: shared by the worker
/// (sessions in KV) and the call objects (sessions in their storage).
pub(crate) async fn run(
    sessions: &Sessions,
    store: &Store,
    config: &Config,
    event: &Event,
    body: &[u8],
    log: &mut RequestLog,
) -> Result<Option<Reply>, ApiError> {
    let now_ms = Date::now().as_millis();
    process(
        sessions,
        store,
        &WorkerFetcher,
        registry(),
        config,
        event,
        body,
        now_ms,
        log,
    )
    .await
}

/// The HTTP answer to an event: the action (200) or nothing (204).
pub(crate) fn answer(reply: Option<Reply>) -> Result<Response, ApiError> {
    match reply {
        Some(reply) => Ok(json_text_response(200, reply.json.into_string())?),
        None => empty_response(204),
    }
}

fn verify(req: &web_sys::Request, body: &[u8], config: &Config) -> Result<(), ApiError> {
    let (Some(customer_id), Some(api_key)) = (&config.customer_id, &config.api_key) else {
        return Err(ApiError::new(
            500,
            "not_configured",
            "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY must be set to verify events",
        ));
    };
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let authorization = header("authorization");
    let bare = header("x-ts-authorization");
    signature::verify(
        authorization.as_deref(),
        bare.as_deref(),
        body,
        customer_id,
        api_key,
    )
    .map_err(|e| ApiError::new(401, "bad_signature", e.to_string()))
}

/// The most body bytes read and thrown away after a body passed its limit, so that the sender
/// reads its 413 instead of a connection reset: a server that answers and closes while the client
/// is still writing makes the client's write fail (EPIPE) before it sees the answer, which is why
/// HTTP servers drain ("lingering close"). Past this much the sender is hostile and gets the reset.
const DRAIN_BYTES: u64 = 1024 * 1024;

/// Reads at most `limit` bytes of body. A larger body is a 413: one whose `Content-Length` is more
/// than [`DRAIN_BYTES`] past the limit is refused before reading; any other is read to its end (up
/// to that bound) without keeping what passes the limit, so the sender sees the answer.
pub(crate) async fn read_body(req: &web_sys::Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit_bytes = limit as u64;
    let drain_limit = limit_bytes.saturating_add(DRAIN_BYTES);
    if declared.is_some_and(|n| n > drain_limit) {
        return Err(too_large());
    }
    let unreadable = |e: worker::Error| ApiError::new(400, "unreadable_body", e.to_string());
    if declared.is_some_and(|n| n <= limit_bytes) {
        // The runtime holds a body to its Content-Length: one read, no chunk loop (the common
        // case: Telesign sends it). Checked again all the same.
        let buffer = match req.array_buffer() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        };
        let body = Uint8Array::new(&buffer.map_err(|e| unreadable(e.into()))?).to_vec();
        return if body.len() > limit {
            Err(too_large())
        } else {
            Ok(body)
        };
    }
    let mut body = Vec::with_capacity(1024);
    // The rare body without a length, through workers-rs's byte stream (`Clone::clone` copies
    // the handle; `Request.clone()` would tee the body).
    let Ok(mut stream) = Request::from(Clone::clone(req)).stream() else {
        // No body at all.
        return Ok(body);
    };
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        read += chunk.len() as u64;
        if read > drain_limit {
            break;
        }
        if read <= limit_bytes {
            body.extend_from_slice(&chunk);
        }
    }
    if read > limit_bytes || declared.is_some_and(|n| n > limit_bytes) {
        return Err(too_large());
    }
    Ok(body)
}

/// Runs flows' `fetch` steps with the Workers `fetch`.
struct WorkerFetcher;

impl Fetcher for WorkerFetcher {
    async fn fetch(
        &self,
        request: &FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, String> {
        run_fetch(request, timeout_ms).await
    }
}

/// Runs the HTTP request of a flow's `fetch` step, giving up after `timeout_ms`.
async fn run_fetch(request: &FetchRequest, timeout_ms: u64) -> Result<FetchResponse, String> {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.clone()))
        .with_headers(headers)
        .with_body(request.body.as_deref().map(Into::into));
    let req = Request::new_with_init(&request.url, &init).map_err(|e| e.to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut resp = Fetch::Request(req).send_with_signal(&signal).await?;
        let body = resp.text().await?;
        Ok::<_, worker::Error>(FetchResponse {
            status: resp.status_code(),
            body,
        })
    };
    let timeout = Delay::from(Duration::from_millis(timeout_ms));
    futures_util::pin_mut!(exchange);
    match select(exchange, timeout).await {
        Either::Left((result, _)) => result.map_err(|e| e.to_string()),
        Either::Right(((), _)) => {
            controller.abort();
            Err(format!("no answer within {timeout_ms} ms"))
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn post(body: &str, content_length: Option<&str>) -> Request {
        let headers = Headers::new();
        if let Some(n) = content_length {
            headers.set("content-length", n).unwrap();
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        Request::new_with_init("https://worker.test/webhook", &init).unwrap()
    }

    #[wasm_bindgen_test]
    async fn a_body_within_the_limit_is_read_whole() {
        let req = post(r#"{"event":"x"}"#, None);
        assert_eq!(
            read_body(req.inner(), 64).await.unwrap(),
            br#"{"event":"x"}"#
        );
    }

    #[wasm_bindgen_test]
    async fn a_body_over_the_limit_is_refused_with_413() {
        let req = post(&"x".repeat(100), None);
        let e = read_body(req.inner(), 64).await.unwrap_err();
        assert_eq!((e.status, e.code), (413, "payload_too_large"));
    }

    #[wasm_bindgen_test]
    async fn an_action_is_a_200_json_answer_and_none_is_a_204() {
        let reply = Reply::from(&ivr_core::telesign::Action::Hangup);
        let mut resp = answer(Some(reply)).unwrap();
        assert_eq!(resp.status_code(), 200);
        let body = resp.text().await.unwrap();
        assert_eq!(body, r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#);
        assert_eq!(answer(None).unwrap().status_code(), 204);
    }

    #[wasm_bindgen_test]
    async fn a_declared_length_over_the_limit_is_refused() {
        for declared in ["100000", "2000000"] {
            let req = post("{}", Some(declared));
            let e = read_body(req.inner(), 64).await.unwrap_err();
            assert_eq!(e.status, 413, "Content-Length {declared}");
        }
    }

    #[wasm_bindgen_test]
    async fn a_body_past_the_drain_limit_is_still_a_413() {
        let req = post(&"x".repeat(DRAIN_BYTES as usize + 100), None);
        let e = read_body(req.inner(), 64).await.unwrap_err();
        assert_eq!(e.status, 413);
    }
}
