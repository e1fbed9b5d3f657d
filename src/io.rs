//! The runtime's I/O as operations ([`Op`]) that JavaScript performs (`src/js/io.mjs`): KV, D1, a
//! call's Durable Object, outbound `fetch` and timers. The shell's ports build operations and
//! read their answers; they never touch a binding.
//!
//! An operation is performed in one of two ways, by who drives the future that asked for it:
//! - driven ([`crate::task`], the webhook path): the future parks the operation and is left
//!   pending; the JS entry performs it and resumes the task synchronously with the answer. No
//!   Rust future crosses into JS, and no promise machinery runs in the wasm.
//! - awaited (the routes still served through workers-rs): the same JS function is called and its
//!   promise awaited.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::js_sys::{self, Promise};
use worker::wasm_bindgen_futures::JsFuture;

use ivr_core::flow::FetchRequest;
use ivr_core::records::{SqlValue, Statement};

#[wasm_bindgen(module = "/src/js/io.mjs")]
extern "C" {
    #[wasm_bindgen(js_name = perform)]
    fn perform_js(env: &JsValue, op: &str) -> Promise;
}

/// One piece of I/O, encoded as JSON for `perform` in `src/js/io.mjs`.
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op<'a> {
    KvGet {
        binding: &'a str,
        key: &'a str,
    },
    KvPut {
        binding: &'a str,
        key: &'a str,
        value: &'a str,
        ttl: u64,
    },
    KvDelete {
        binding: &'a str,
        key: &'a str,
    },
    /// One query; answered as a one-element list of [`crate::d1::DbResult`].
    D1All {
        binding: &'a str,
        #[serde(serialize_with = "encode_statement")]
        statement: &'a Statement,
    },
    /// Statements run as one transaction; answered with a [`crate::d1::DbResult`] each.
    D1Batch {
        binding: &'a str,
        #[serde(serialize_with = "encode_statements")]
        statements: &'a [Statement],
    },
    /// Answered `{status, headers, body}`, `{timeout: true}` or `{failed}`.
    Fetch {
        #[serde(serialize_with = "encode_request")]
        request: &'a FetchRequest,
        timeout_ms: u64,
    },
    /// A request to the Durable Object named `name`; answered `{status, body}`.
    Object {
        binding: &'a str,
        name: &'a str,
        method: &'a str,
        path: &'a str,
        body: Option<&'a str>,
        time_ms: Option<u64>,
    },
    Sleep {
        ms: u64,
    },
    /// A driven task's answer is ready ([`crate::task`]): encoded `{"op":"answered"}`, which
    /// the JS entry looks for; answered with nothing.
    Answered,
}

#[derive(Serialize)]
struct StatementView<'a> {
    sql: &'a str,
    params: Params<'a>,
}

struct Params<'a>(&'a [SqlValue]);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            match value {
                SqlValue::Null => seq.serialize_element(&())?,
                // Times in ms and counts: exact below 2^53 once in JS.
                SqlValue::Int(n) => seq.serialize_element(n)?,
                SqlValue::Text(text) => seq.serialize_element(text)?,
            }
        }
        seq.end()
    }
}

fn view(statement: &Statement) -> StatementView<'_> {
    StatementView {
        sql: &statement.sql,
        params: Params(&statement.params),
    }
}

fn encode_statement<S: Serializer>(statement: &&Statement, s: S) -> Result<S::Ok, S::Error> {
    view(statement).serialize(s)
}

fn encode_statements<S: Serializer>(statements: &&[Statement], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(statements.iter().map(view))
}

fn encode_request<S: Serializer>(request: &&FetchRequest, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct View<'a> {
        method: &'a str,
        url: &'a str,
        headers: &'a [(String, String)],
        body: Option<&'a str>,
    }
    View {
        method: &request.method,
        url: &request.url,
        headers: &request.headers,
        body: request.body.as_deref(),
    }
    .serialize(s)
}

/// What an operation answered, or the runtime's message when it failed.
pub type Answer = Result<Option<String>, String>;

thread_local! {
    /// Set while a driven task is being polled.
    static DRIVEN: Cell<bool> = const { Cell::new(false) };
    /// The operation a driven task parked, and the answer it is resumed with.
    static SLOT: RefCell<Slot> = const { RefCell::new(Slot { op: None, answer: None }) };
}

struct Slot {
    op: Option<String>,
    answer: Option<Answer>,
}

/// Performs `op` in the worker whose bindings are `env`.
pub async fn perform(env: &JsValue, op: Op<'_>) -> Answer {
    let json = serde_json::to_string(&op).map_err(|e| e.to_string())?;
    if DRIVEN.get() {
        return Parked(Some(json)).await;
    }
    match JsFuture::from(perform_js(env, &json)).await {
        Ok(value) => Ok(value.as_string()),
        Err(e) => Err(message(&e)),
    }
}

/// The message of a JS exception or rejection.
pub fn message(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
        })
        .unwrap_or_else(|| "the runtime refused an operation".to_owned())
}

/// A parked operation: pending until its task is resumed with the answer.
struct Parked(Option<String>);

impl Future for Parked {
    type Output = Answer;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Answer> {
        if let Some(op) = self.0.take() {
            SLOT.with_borrow_mut(|slot| slot.op = Some(op));
            return Poll::Pending;
        }
        match SLOT.with_borrow_mut(|slot| slot.answer.take()) {
            Some(answer) => Poll::Ready(answer),
            None => Poll::Pending,
        }
    }
}

/// Polls a driven task's future once, with `answer` for the operation it parked last; answers
/// whether it finished, and otherwise the operation it parked now.
pub fn poll_driven(
    future: Pin<&mut dyn Future<Output = ()>>,
    answer: Option<Answer>,
) -> Result<Option<String>, &'static str> {
    SLOT.with_borrow_mut(|slot| {
        slot.op = None;
        slot.answer = answer;
    });
    DRIVEN.set(true);
    let polled = future.poll(&mut Context::from_waker(std::task::Waker::noop()));
    DRIVEN.set(false);
    let op = SLOT.with_borrow_mut(|slot| {
        slot.answer = None;
        slot.op.take()
    });
    match (polled, op) {
        (Poll::Ready(()), _) => Ok(None),
        (Poll::Pending, Some(op)) => Ok(Some(op)),
        (Poll::Pending, None) => Err("a driven task waited on something other than an operation"),
    }
}
