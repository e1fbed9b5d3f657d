//! The webhook as a task the JS entry (`src/js/entry.mjs`) drives synchronously: every call into
//! the wasm returns at once, with the next I/O operation to perform ([`crate::io::Op`]) or with
//! nothing left to do. An event costs a handful of calls across the boundary, one per operation,
//! and no promise or Rust future crosses it.
//!
//! The task answers the event as soon as it can: the operation [`Op::Answered`] says the answer is
//! ready ([`Task::status`], [`Task::body`], [`Task::headers`]); what it parks after that is the
//! work after the answer, which the entry runs in `ctx.waitUntil`.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::{console_error, web_sys, Env};

use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::log::RequestLog;

use crate::app::{write_log, Plain};
use crate::env::{config, now_ms};
use crate::http::{too_large, DRAIN_BYTES};
use crate::io::{self, Op};
use crate::webhook::{self, Inbound, MAX_BODY_BYTES};

/// One request in flight.
#[wasm_bindgen]
pub struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    answer: Rc<RefCell<Option<Plain>>>,
    started: bool,
    done: bool,
}

#[wasm_bindgen]
impl Task {
    /// The largest body the webhook takes, and how much more is read and thrown away before
    /// answering 413 (see [`crate::http::read_body`], which the entry's reading follows).
    #[wasm_bindgen(js_name = bodyLimits)]
    pub fn body_limits() -> Vec<f64> {
        vec![MAX_BODY_BYTES as f64, DRAIN_BYTES as f64]
    }

    /// `POST /webhook` with these headers and this body, as the entry read it: `None` when it
    /// was larger than the limit, or could not be read (`unreadable`, the runtime's message).
    pub fn webhook(
        env: JsValue,
        headers: &web_sys::Headers,
        body: Option<Vec<u8>>,
        unreadable: Option<String>,
    ) -> Task {
        let env: Env = env.unchecked_into();
        let body = match (body, unreadable) {
            (Some(body), _) => Ok(body),
            (None, Some(message)) => Err(ApiError::new(ErrorCode::UnreadableBody, message)),
            (None, None) => Err(too_large(MAX_BODY_BYTES)),
        };
        let inbound = Inbound::with_body(headers, body);
        let answer = Rc::new(RefCell::new(None));
        let answered = Rc::clone(&answer);
        let future = async move {
            let started = now_ms();
            let mut log = RequestLog {
                method: "POST".to_owned(),
                path: "/webhook".to_owned(),
                ..RequestLog::default()
            };
            let (plain, after) = match webhook::handle(&inbound, &env, &mut log).await {
                Ok(done) => (Plain::reply(done.reply), done.after),
                Err(e) => {
                    log.error(&e);
                    (Plain::error(&e), None)
                }
            };
            write_log(&mut log, plain.status, started, config(&env));
            *answered.borrow_mut() = Some(plain);
            // Nothing to perform: the entry sends the answer, then resumes the task.
            let _ = io::perform(&JsValue::UNDEFINED, Op::Answered).await;
            if let Some(after) = after {
                after.await;
            }
        };
        Task {
            future: Box::pin(future),
            answer,
            started: false,
            done: false,
        }
    }

    /// Runs the task until it needs I/O, with the answer to the operation it asked for last
    /// (`ok`: performed, `value` its result; otherwise `value` is the runtime's message).
    /// Answers the next operation, or nothing once the task is done. The first call starts it.
    pub fn resume(&mut self, ok: bool, value: Option<String>) -> Option<String> {
        if self.done {
            return None;
        }
        let answer = match (self.started, ok) {
            (false, _) => None,
            (true, true) => Some(Ok(value)),
            (true, false) => Some(Err(value.unwrap_or_default())),
        };
        self.started = true;
        match io::poll_driven(self.future.as_mut(), answer) {
            Ok(Some(op)) => Some(op),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(stalled) => {
                console_error!("{stalled}");
                self.done = true;
                None
            }
        }
    }

    /// The answer's status, once [`Op::Answered`]; 0 before.
    pub fn status(&self) -> u16 {
        self.answer
            .borrow()
            .as_ref()
            .map_or(0, |plain| plain.status)
    }

    /// The answer's body (taken).
    pub fn body(&self) -> Option<String> {
        self.answer
            .borrow_mut()
            .as_mut()
            .and_then(|plain| plain.body.take())
    }

    /// The answer's headers, as name, value, name, value...
    pub fn headers(&self) -> Vec<String> {
        self.answer
            .borrow()
            .iter()
            .flat_map(|plain| &plain.headers)
            .flat_map(|(name, value)| [(*name).to_owned(), value.clone()])
            .collect()
    }
}
