//! The Durable Object session backend (`SESSION_BACKEND=durable_object`). Each call gets one
//! object, named by its `reference_id`, that keeps the session in its transactional storage and
//! handles the call's events one at a time: strongly consistent, with no KV write limit per key.
//! Call records, pending outbound calls and campaigns stay in KV (the call API lists them).
//!
//! The worker verifies and decodes an event, then hands the raw body to the call's object,
//! which runs the same pipeline with its storage as the session store and answers with an
//! [`ObjectAnswer`]: the worker, not the object, turns it into Telesign's response.

use futures_util::lock::Mutex;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State};

use ivr_core::engine::{Reply, Session};
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::ports::SessionStore;
use ivr_core::routes::path_of;
use ivr_core::telesign::decode_event;

use crate::env::now_ms;
use crate::http::{empty_response, json_response};
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::{
    ObjectAnswer, ObjectStorage, Sessions, EVENT_PATH, EVENT_TIME_HEADER, SESSION_PATH,
};
use crate::webhook;

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
        let url = req.inner().url();
        let path = path_of(&url);
        let answer = match (req.method(), path) {
            (Method::Post, EVENT_PATH) => {
                let at = req.headers().get(EVENT_TIME_HEADER)?;
                let at = at.and_then(|v| v.parse().ok()).unwrap_or_else(now_ms);
                let body = req.bytes().await?;
                let mut log = RequestLog::default();
                let result = self.event(&sessions, &body, at, &mut log).await;
                json_response(200, &ObjectAnswer::new(result, log))
            }
            (Method::Get, SESSION_PATH) => match sessions.session("").await {
                Ok(Some(session)) => json_response(200, &session),
                Ok(None) => empty_response(404),
                Err(e) => Err(e),
            },
            (Method::Put, SESSION_PATH) => {
                let body = req.bytes().await?;
                match serde_json::from_slice::<Session>(&body) {
                    Ok(session) => sessions
                        .save_session(&session)
                        .await
                        .and_then(|()| empty_response(204)),
                    Err(e) => Err(ApiError::internal(format!("not a session: {e}"))),
                }
            }
            _ => Err(ApiError::not_found(path)),
        };
        // Only the worker calls the object, and reads any status but 200/204/404 as a failure.
        answer.or_else(|e| Response::error(e.message, e.status))
    }

    /// The session outlived Telesign's four-hour call limit: nothing will come for it.
    async fn alarm(&self) -> worker::Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}

impl CallSession {
    /// A verified event of this call: the pipeline, with this object's storage for the session.
    async fn event(
        &self,
        sessions: &Sessions,
        body: &[u8],
        now_ms: u64,
        log: &mut RequestLog,
    ) -> Result<Option<Reply>, ApiError> {
        let event = decode_event(body).map_err(|e| ApiError::from(&e))?;
        let kv = Kv::open(&self.env)?;
        let records = Records::open(&kv, &self.env);
        let setup = crate::env::setup(&self.env);
        let handled = webhook::run(sessions, &records, setup, &event, body, now_ms, log).await?;
        if !handled.later.is_empty() {
            let storage = Sessions::Object(ObjectStorage(self.state.storage()));
            let work = webhook::after_answer(handled.later, storage, records, setup);
            self.state.wait_until(work);
        }
        Ok(handled.reply)
    }
}
