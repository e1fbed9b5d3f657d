//! `POST /webhook`: Telesign's customer event URL. Verifies the signature of the raw body (read,
//! bounded, by the JS entry or [`Inbound::read`]), decodes the event and runs the core's event
//! pipeline: here with sessions in KV, or in the call's Durable Object. The answer is the JSON-RPC
//! action (200) or nothing (204).

use futures_util::future::LocalBoxFuture;
use worker::{console_error, web_sys, Env};

use ivr_core::config::SessionBackend;
use ivr_core::engine::Reply;
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::{Handled, Later};
use ivr_core::telesign::{decode_event, Event};

use crate::env::{event_time, setup, Setup, WorkerClock, TEST_CLOCK_HEADER};
use crate::http::read_body;
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::{forward_event, Sessions};

/// The largest event body accepted; Telesign's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the webhook reads of a request.
pub struct Inbound {
    /// The body, or why it was not read (larger than [`MAX_BODY_BYTES`], or unreadable).
    pub body: Result<Vec<u8>, ApiError>,
    pub authorization: Option<String>,
    pub ts_authorization: Option<String>,
    /// The test clock's header ([`crate::env::event_time`]).
    pub test_clock: Option<String>,
}

impl Inbound {
    /// Reads a request in the runtime's own shape.
    pub async fn read(req: &web_sys::Request) -> Self {
        Self::with_body(&req.headers(), read_body(req, MAX_BODY_BYTES).await)
    }

    /// The headers the webhook reads, with the body as read.
    pub fn with_body(headers: &web_sys::Headers, body: Result<Vec<u8>, ApiError>) -> Self {
        let header = |name: &str| headers.get(name).ok().flatten();
        Inbound {
            body,
            authorization: header("authorization"),
            ts_authorization: header("x-ts-authorization"),
            test_clock: header(TEST_CLOCK_HEADER),
        }
    }
}

/// What an event is answered with, and the work to run after the answer (a session write tried
/// again, a held lookup, a call's end settled).
pub struct Answered {
    pub reply: Option<Reply>,
    pub after: Option<LocalBoxFuture<'static, ()>>,
}

/// Handles one event.
pub async fn handle(
    inbound: &Inbound,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Answered, ApiError> {
    let body = inbound.body.as_ref().map_err(Clone::clone)?;
    let setup = setup(env);
    let config = &setup.config;
    let checked = ivr_core::auth::verify_event(
        config,
        inbound.authorization.as_deref(),
        inbound.ts_authorization.as_deref(),
        body,
    )?;
    if !checked {
        log.warning = Some("WEBHOOK_AUTH is off: event signatures are not verified".into());
    }
    let event = decode_event(body).map_err(|e| ApiError::from(&e))?;
    log.event = Some(event.kind.name().to_owned());
    log.reference_id = Some(event.reference_id.clone());

    let now = event_time(env, inbound.test_clock.as_deref());
    if config.session_backend == SessionBackend::DurableObject {
        let reply = forward_event(env, &event.reference_id, body, now, log).await?;
        return Ok(Answered { reply, after: None });
    }
    let kv = Kv::open(env)?;
    let records = Records::open(&kv, env);
    let sessions = Sessions::Kv(kv);
    let handled = run(&sessions, &records, setup, &event, body, now, log).await?;
    let after = (!handled.later.is_empty())
        .then(|| Box::pin(after_answer(handled.later, sessions, records, setup)) as _);
    Ok(Answered {
        reply: handled.reply,
        after,
    })
}

/// The pipeline's work after an answer (a session write tried again), each logged when it
/// fails.
pub async fn after_answer(later: Vec<Later>, sessions: Sessions, records: Records, setup: &Setup) {
    let pipeline = setup.pipeline(&sessions, &records);
    for work in later {
        if let Err(e) = pipeline.later(work, &WorkerClock).await {
            console_error!("after the answer: {e}");
        }
    }
}

/// The event pipeline with the runtime's clock, `fetch` and the compiled flows: shared by the
/// worker (sessions in KV) and the call objects (sessions in their storage).
pub async fn run(
    sessions: &Sessions,
    records: &Records,
    setup: &Setup,
    event: &Event,
    body: &[u8],
    now_ms: u64,
    log: &mut RequestLog,
) -> Result<Handled, ApiError> {
    let pipeline = setup.pipeline(sessions, records);
    pipeline.event(event, body, now_ms, log).await
}
