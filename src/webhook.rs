//! `POST /webhook`: Telesign's customer event URL. Reads the raw body (bounded), verifies the
//! signature, decodes the event and runs the core's event pipeline: here with sessions in KV, or
//! in the call's Durable Object. The answer is the JSON-RPC action (200) or nothing (204).

use worker::{console_error, web_sys, Context, Env};

use ivr_core::config::SessionBackend;
use ivr_core::engine::Reply;
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::{Handled, Later};
use ivr_core::telesign::{decode_event, Event};

use crate::env::{event_time, setup, Setup, WorkerClock};
use crate::http::read_body;
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::{forward_event, Sessions};

/// The largest event body accepted; Telesign's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Handles one event; `Ok(None)` is "no action". Work asked for after the answer runs in
/// `ctx.waitUntil`.
pub async fn handle(
    req: &web_sys::Request,
    env: &Env,
    ctx: &Context,
    log: &mut RequestLog,
) -> Result<Option<Reply>, ApiError> {
    let body = read_body(req, MAX_BODY_BYTES).await?;
    let setup = setup(env);
    let config = &setup.config;
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let checked = ivr_core::auth::verify_event(
        config,
        header("authorization").as_deref(),
        header("x-ts-authorization").as_deref(),
        &body,
    )?;
    if !checked {
        log.warning = Some("WEBHOOK_AUTH is off: event signatures are not verified".into());
    }
    let event = decode_event(&body).map_err(|e| ApiError::from(&e))?;
    log.event = Some(event.kind.name().to_owned());
    log.reference_id = Some(event.reference_id.clone());

    let now = event_time(env, req);
    if config.session_backend == SessionBackend::DurableObject {
        return forward_event(env, &event.reference_id, &body, now, log).await;
    }
    let kv = Kv::open(env)?;
    let records = Records::open(&kv, env);
    let sessions = Sessions::Kv(kv);
    let handled = run(&sessions, &records, setup, &event, &body, now, log).await?;
    if !handled.later.is_empty() {
        ctx.wait_until(after_answer(handled.later, sessions, records, setup));
    }
    Ok(handled.reply)
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
