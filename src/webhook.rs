//! `POST /webhook`: Telesign's customer event URL. Reads the raw body (bounded), verifies the
//! signature, decodes the event and runs the core's event
//! pipeline: here with sessions in KV, or in the call's Durable Object. The answer is the JSON-RPC
//! action (200) or nothing (204).

use ivr_core::config::SessionBackend;
use ivr_core::engine::Reply;
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::{Handled, Later};
use ivr_core::telesign::{decode_event, Event};

use crate::env::{console, event_time, setup, Env, Setup, WorkerClock, TEST_CLOCK_HEADER};
use crate::http::{After, Request};
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::{forward_event, Sessions};

/// The largest event body accepted; Telesign's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What an event is answered with, and the work to run after the answer (a session write tried
/// again, a held lookup, a call's end settled).
pub struct Answered {
    pub reply: Option<Reply>,
    pub after: Option<After>,
}

/// Handles one event.
pub async fn handle(req: &Request, env: &Env, log: &mut RequestLog) -> Result<Answered, ApiError> {
    let body = &req.body(MAX_BODY_BYTES).await?;
    let setup = setup(env);
    let config = &setup.config;
    let checked = ivr_core::auth::verify_event(
        config,
        req.header("authorization").as_deref(),
        req.header("x-ts-authorization").as_deref(),
        body,
    )?;
    if !checked {
        log.warning = Some("WEBHOOK_AUTH is off: event signatures are not verified".into());
    }
    let event = decode_event(body).map_err(|e| ApiError::from(&e))?;
    log.event = Some(event.kind.name().to_owned());
    log.reference_id = Some(event.reference_id.clone());

    let now = event_time(env, req.header(TEST_CLOCK_HEADER).as_deref());
    if config.session_backend == SessionBackend::DurableObject {
        let reply = forward_event(env, &event.reference_id, body, now, log).await?;
        return Ok(Answered { reply, after: None });
    }
    let kv = Kv::open(env)?;
    let records = Records::open(&kv, env);
    let sessions = Sessions::Kv(kv);
    let handled = run(&sessions, &records, setup, &event, body, now, log).await;
    log.d1 = records.d1_rows();
    let handled = handled?;
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
            console::error(&format!("after the answer: {e}"));
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
    pipeline.event(event, body, now_ms, log, &WorkerClock).await
}
