//! What the JS entry (`src/js/entry.mjs`) runs: a request, a queue batch, a cron run or a call
//! object's request, each as a [`Task`] it drives synchronously. Every call into the wasm returns
//! at once, with the next I/O operation to perform ([`crate::io::Op`]) or with nothing left to do:
//! an event costs a handful of calls across the boundary, one per operation, and no promise or
//! Rust future crosses it.
//!
//! A request's task answers as soon as it can: the operation [`Op::Answered`] says the answer's
//! head is ready ([`Task::status`], [`Task::headers`], [`Task::body`]). What the task parks after
//! that is its streamed body ([`Op::Chunk`]) or the work after the answer, which the entry runs
//! in `ctx.waitUntil`.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::env::{console, Env};
use crate::http::{Body, Document, Headers, Request, Response};
use crate::io::{self, perform, Op};
use crate::{app, durable, queue};

/// The head of an answer, and what the entry sends as its body.
struct Head {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Sent,
}

/// An answer's body as the entry sends it.
enum Sent {
    /// None, or its text already taken ([`Task::body`]).
    Empty,
    Text(String),
    /// One of the entry's documents ([`Task::document`]).
    Document(Document),
    /// Written by the task after the head ([`Op::Chunk`]).
    Streamed,
}

/// One request, batch or run in flight.
#[wasm_bindgen]
pub struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    head: Rc<RefCell<Option<Head>>>,
    /// The texts beside the operation parked last ([`crate::io::Op::beside`]), until taken.
    beside: std::vec::IntoIter<String>,
    started: bool,
    done: bool,
}

impl Task {
    /// A task with no answer's head to give (a queue batch, a cron run), or with `head` filled in
    /// by `future`.
    fn new(future: impl Future<Output = ()> + 'static, head: Rc<RefCell<Option<Head>>>) -> Self {
        Task {
            future: Box::pin(future),
            head,
            beside: Vec::new().into_iter(),
            started: false,
            done: false,
        }
    }

    /// A task that answers `serve`'s response: its head, then its streamed body or the work
    /// after it.
    /// (Boxed: one copy of this state machine serves every kind of request.)
    fn answering(serve: Pin<Box<dyn Future<Output = Response>>>) -> Self {
        let head = Rc::new(RefCell::new(None));
        let answered = Rc::clone(&head);
        let future = async move {
            let Response {
                status,
                headers,
                body,
                after,
            } = serve.await;
            let (body, stream) = match body {
                Body::Empty => (Sent::Empty, None),
                Body::Text(text) => (Sent::Text(text), None),
                Body::Document(document) => (Sent::Document(document), None),
                Body::Stream(stream) => (Sent::Streamed, Some(stream)),
            };
            *answered.borrow_mut() = Some(Head {
                status,
                headers,
                body,
            });
            // Nothing to perform: the entry sends the head, then resumes the task if there is
            // more to do (without, it frees the task here).
            let more = stream.is_some() || after.is_some();
            let _ = perform(Op::Answered { more }).await;
            if let Some(stream) = stream {
                if let Err(e) = stream.await {
                    console::error(&format!("a streamed answer was cut short: {e}"));
                    let _ = perform(Op::Cut {
                        message: &e.message,
                    })
                    .await;
                }
            }
            if let Some(after) = after {
                after.await;
            }
        };
        Task::new(future, head)
    }
}

fn request(method: String, url: String, headers: Headers) -> Request {
    Request {
        method,
        url,
        headers,
    }
}

#[wasm_bindgen]
impl Task {
    /// A request to the worker.
    pub fn fetch(env: JsValue, method: String, url: String, headers: Headers) -> Task {
        Task::answering(Box::pin(app::serve(
            request(method, url, headers),
            Env::new(env),
        )))
    }

    /// A request to a call's object (its storage is the entry's to reach).
    pub fn object(env: JsValue, method: String, url: String, headers: Headers) -> Task {
        Task::answering(Box::pin(durable::serve(
            request(method, url, headers),
            Env::new(env),
        )))
    }

    /// A batch of the campaign queue: the messages' bodies, each settled by [`Op::Settle`].
    pub fn queue(env: JsValue, bodies: Vec<String>) -> Task {
        Task::new(queue::consume(bodies, Env::new(env)), Rc::default())
    }

    /// A run of the cron trigger.
    pub fn scheduled(env: JsValue) -> Task {
        Task::new(crate::scheduled(Env::new(env)), Rc::default())
    }

    /// Runs the task until it needs I/O, with the answer to the operation it asked for last
    /// (`ok`: performed, `value` its result; otherwise `value` is the runtime's message).
    /// Answers the next operation, or nothing once the task is done. The first call starts it.
    pub fn resume(&mut self, ok: bool, value: Option<String>) -> Option<String> {
        let answer = match ok {
            true => Ok(value),
            false => Err(value.unwrap_or_default()),
        };
        self.poll(Some(answer), None)
    }

    /// [`Task::resume`] with the bytes of a body read for [`Op::ReadBody`], or with nothing
    /// when it was larger than its limit.
    #[wasm_bindgen(js_name = resumeWithBody)]
    pub fn resume_with_body(&mut self, body: Option<Vec<u8>>) -> Option<String> {
        self.poll(Some(Ok(None)), body)
    }

    /// The next text beside the operation parked last (taken), for the next path its JSON
    /// names in `beside` (see [`crate::io::Op::beside`]).
    pub fn text(&mut self) -> Option<String> {
        self.beside.next()
    }

    /// The answer's status, once [`Op::Answered`]; 0 before.
    pub fn status(&self) -> u16 {
        self.head.borrow().as_ref().map_or(0, |head| head.status)
    }

    /// Whether the answer's body is streamed ([`Op::Chunk`]) rather than [`Task::body`].
    pub fn streamed(&self) -> bool {
        self.head
            .borrow()
            .as_ref()
            .is_some_and(|head| matches!(head.body, Sent::Streamed))
    }

    /// The answer's body (taken), when it is a text.
    pub fn body(&self) -> Option<String> {
        let mut head = self.head.borrow_mut();
        let body = &mut head.as_mut()?.body;
        match std::mem::replace(body, Sent::Empty) {
            Sent::Text(text) => Some(text),
            other => {
                *body = other;
                None
            }
        }
    }

    /// The name of the document the entry answers as the body (its export in `documents.mjs`),
    /// when the body is one.
    pub fn document(&self) -> Option<String> {
        match self.head.borrow().as_ref()?.body {
            Sent::Document(document) => Some(document.name().to_owned()),
            Sent::Empty | Sent::Text(_) | Sent::Streamed => None,
        }
    }

    /// The answer's headers, as name, value, name, value...
    pub fn headers(&self) -> Vec<String> {
        self.head
            .borrow()
            .iter()
            .flat_map(|head| &head.headers)
            .flat_map(|(name, value)| [(*name).to_owned(), value.clone()])
            .collect()
    }
}

impl Task {
    fn poll(&mut self, answer: Option<io::Answer>, body: Option<Vec<u8>>) -> Option<String> {
        if self.done {
            return None;
        }
        // The first call starts the task: there is no operation to answer yet.
        let answer = answer.filter(|_| std::mem::replace(&mut self.started, true));
        self.beside = Vec::new().into_iter();
        match io::poll(self.future.as_mut(), answer, body) {
            Ok(Some(op)) => {
                self.beside = op.beside.into_iter();
                Some(op.json)
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(stalled) => {
                console::error(stalled);
                self.done = true;
                None
            }
        }
    }
}
