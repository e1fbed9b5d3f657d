//! The Durable Object session backend (`SESSION_BACKEND=durable_object`). Each call gets one
//! object, named by its `reference_id`, that keeps the session in its transactional storage and
//! handles the call's events one at a time: strongly consistent, with no KV write limit per key.
//! Call records, pending outbound calls and campaigns stay in KV (the call API lists them).
//!
//! The worker verifies and decodes an event, then hands the raw body to the call's object,
//! which runs the same pipeline with its storage as the session store and answers with an
//! [`ObjectAnswer`]: the worker, not the object, turns it into Telesign's response.

use ivr_core::engine::Session;
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::ports::SessionStore;
use ivr_core::routes::path_of;
use ivr_core::telesign::decode_event;

use crate::env::{now_ms, setup, Env};
use crate::http::{empty, json_response, Request, Response};
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::{
    ObjectAnswer, ObjectStorage, Sessions, EVENT_PATH, EVENT_TIME_HEADER, SESSION_PATH,
};
use crate::webhook;

/// The largest body the object takes: an event, or a session.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One request to a call's object, from the worker (the JS entry's `CallSession` hands its
/// requests here one at a time, and clears the object when its alarm fires).
pub async fn serve(req: Request, env: Env) -> Response {
    let sessions = Sessions::Object(ObjectStorage);
    let path = path_of(&req.url);
    let answer = match (req.method.as_str(), path) {
        ("POST", EVENT_PATH) => {
            let at = req.header(EVENT_TIME_HEADER);
            let at = at.and_then(|v| v.parse().ok()).unwrap_or_else(now_ms);
            let mut log = RequestLog::default();
            match req.body(MAX_BODY_BYTES).await {
                Ok(body) => {
                    let (result, after) = event(&env, &sessions, &body, at, &mut log).await;
                    json_response(200, &ObjectAnswer::new(result, log)).map(|mut resp| {
                        resp.after = after;
                        resp
                    })
                }
                Err(e) => Err(e),
            }
        }
        ("GET", SESSION_PATH) => match sessions.session("").await {
            Ok(Some(session)) => json_response(200, &session),
            Ok(None) => Ok(empty(404)),
            Err(e) => Err(e),
        },
        ("PUT", SESSION_PATH) => match req.body(MAX_BODY_BYTES).await {
            Ok(body) => match ivr_core::json::read::<Session>(&body) {
                Ok(session) => sessions.save_session(&session).await.map(|()| empty(204)),
                Err(e) => Err(ApiError::internal(format!("not a session: {e}"))),
            },
            Err(e) => Err(e),
        },
        _ => Err(ApiError::not_found(path)),
    };
    // Only the worker calls the object, and reads any status but 200/204/404 as a failure.
    answer.unwrap_or_else(|e| Response::error(&e))
}

/// A verified event of this call: the pipeline, with this object's storage for the session;
/// answers what it decided and the work to run after the answer.
async fn event(
    env: &Env,
    sessions: &Sessions,
    body: &[u8],
    now_ms: u64,
    log: &mut RequestLog,
) -> (
    Result<Option<ivr_core::engine::Reply>, ApiError>,
    Option<crate::http::After>,
) {
    let run = async {
        let event = decode_event(body).map_err(|e| ApiError::from(&e))?;
        let kv = Kv::open(env)?;
        let records = Records::open(&kv, env);
        let setup = setup(env);
        let handled = webhook::run(sessions, &records, setup, &event, body, now_ms, log).await;
        log.d1 = records.d1_rows();
        let handled = handled?;
        let after = (!handled.later.is_empty()).then(|| {
            let storage = Sessions::Object(ObjectStorage);
            Box::pin(webhook::after_answer(
                handled.later,
                storage,
                records,
                setup,
            )) as _
        });
        Ok((handled.reply, after))
    };
    match run.await {
        Ok((reply, after)) => (Ok(reply), after),
        Err(e) => (Err(e), None),
    }
}
