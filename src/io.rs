//! The runtime's I/O as operations ([`Op`]) that JavaScript performs (`src/js/io.mjs`): the
//! request's body, KV, D1, a call's Durable Object and its storage, the queue, the rate limiter,
//! outbound `fetch` and timers. The shell builds operations and reads their answers; it never
//! touches a binding or a promise.
//!
//! Every future of the shell runs in a [`crate::task::Task`] that the JS entry drives: an
//! operation parks itself and leaves the task pending; the entry performs it and resumes the task
//! synchronously with the answer. No Rust future crosses into JS, and the wasm holds no promise
//! machinery.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ivr_core::flow::FetchRequest;
use ivr_core::records::{SqlValue, Statement};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

/// One piece of I/O, encoded as JSON for `perform` in `src/js/io.mjs`. The large texts an
/// operation may carry (a value written, a body sent, a call record bound to a D1 statement: see
/// [`Op::beside`]) are not in that JSON but handed over beside it, so that they are neither
/// escaped into the operation's JSON nor unescaped out of it: a session's JSON written to KV is
/// most of the bytes an event moves, and escaping it again was the wasm's largest cost per event
/// (BENCHMARKS.md, "Where the time goes").
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
        #[serde(skip)]
        value: &'a str,
        ttl: u64,
    },
    KvDelete {
        binding: &'a str,
        key: &'a str,
    },
    /// A page of keys; answered `{keys, cursor, complete}`.
    KvList {
        binding: &'a str,
        prefix: &'a str,
        limit: Option<u64>,
        cursor: Option<&'a str>,
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
        headers: &'a [(&'a str, String)],
        #[serde(skip)]
        body: Option<&'a str>,
    },
    /// The request's body, at most `limit` bytes: answered with the bytes
    /// ([`read_body`]), with nothing when it is larger, or failed when unreadable.
    ReadBody {
        limit: usize,
    },
    /// A key of the calling Durable Object's own storage (JSON text).
    StorageGet {
        key: &'a str,
    },
    /// Writes a key, then sets the object's alarm `alarm_in_ms` from now unless one is set: the
    /// call's first write sets the alarm that clears the object (Durable Objects bill each
    /// `setAlarm` as a row written), which Telesign's four-hour limit keeps ahead of the call.
    StoragePut {
        key: &'a str,
        #[serde(skip)]
        value: &'a str,
        alarm_in_ms: u64,
    },
    /// Clears the object's storage and its alarm.
    StorageClear,
    QueueSend {
        binding: &'a str,
        bodies: &'a [String],
        /// Delivered after this many seconds (one message only).
        delay_secs: Option<u32>,
    },
    /// Answered `true` when the request is within the limit.
    RateLimit {
        binding: &'a str,
        key: &'a str,
    },
    /// Acknowledges the `index`-th message of the queue batch being consumed, or has it tried
    /// again after `retry_secs`.
    Settle {
        index: u32,
        retry_secs: Option<u32>,
    },
    /// A piece of a streamed answer's body.
    Chunk {
        #[serde(skip)]
        text: &'a str,
    },
    /// The streamed body fails here: the client sees a truncated download.
    Cut {
        message: &'a str,
    },
    Sleep {
        ms: u64,
    },
    /// A task's answer is ready ([`crate::task`]); answered with nothing. `more`: the task has
    /// more to do (its streamed body, or work after the answer), for which the entry resumes it;
    /// otherwise the entry frees it there.
    Answered {
        more: bool,
    },
}

/// A D1 parameter at least this long goes beside the operation's JSON: escaping a text into JSON
/// and out again costs more than handing it over on its own (one call into the wasm), and a call
/// record's document, bound whole, is the longest text a call writes.
const BESIDE_PARAM_LEN: usize = 256;

/// Whether a D1 parameter goes beside the operation's JSON (its place in the JSON is `null`).
fn param_beside(value: &SqlValue) -> Option<&str> {
    match value {
        SqlValue::Text(text) if text.len() >= BESIDE_PARAM_LEN => Some(text),
        SqlValue::Text(_) | SqlValue::Null | SqlValue::Int(_) => None,
    }
}

/// A step of the path into an operation's JSON where a text beside it goes: a field, or an
/// index into a list.
#[derive(Clone, Copy)]
enum Key {
    Field(&'static str),
    Index(usize),
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Key::Field(name) => s.serialize_str(name),
            Key::Index(i) => s.serialize_u64(i as u64),
        }
    }
}

/// A text handed over beside an operation's JSON, and where in that JSON it goes.
type Beside<'a> = (Vec<Key>, &'a str);

/// The texts of `statement`'s parameters that go beside, at `path` + `params` + their index.
fn params_beside<'a>(path: &[Key], statement: &'a Statement, out: &mut Vec<Beside<'a>>) {
    for (i, value) in statement.params.iter().enumerate() {
        if let Some(text) = param_beside(value) {
            let mut at = path.to_vec();
            at.extend([Key::Field("params"), Key::Index(i)]);
            out.push((at, text));
        }
    }
}

impl<'a> Op<'a> {
    /// The operation's large texts, handed over beside its JSON, each with the path into the
    /// operation where it goes (`src/js/entry.mjs` puts them back before performing it).
    fn beside(&self) -> Vec<Beside<'a>> {
        let field = |name: &'static str, text: &'a str| vec![(vec![Key::Field(name)], text)];
        match *self {
            Op::KvPut { value, .. } | Op::StoragePut { value, .. } => field("value", value),
            Op::Object { body, .. } => body.map_or_else(Vec::new, |body| field("body", body)),
            Op::Chunk { text } => field("text", text),
            Op::D1All { statement, .. } => {
                let mut out = Vec::new();
                params_beside(&[Key::Field("statement")], statement, &mut out);
                out
            }
            Op::D1Batch { statements, .. } => {
                let mut out = Vec::new();
                for (i, statement) in statements.iter().enumerate() {
                    params_beside(
                        &[Key::Field("statements"), Key::Index(i)],
                        statement,
                        &mut out,
                    );
                }
                out
            }
            Op::KvGet { .. }
            | Op::KvDelete { .. }
            | Op::KvList { .. }
            | Op::Fetch { .. }
            | Op::ReadBody { .. }
            | Op::StorageGet { .. }
            | Op::StorageClear
            | Op::QueueSend { .. }
            | Op::RateLimit { .. }
            | Op::Settle { .. }
            | Op::Cut { .. }
            | Op::Sleep { .. }
            | Op::Answered { .. } => Vec::new(),
        }
    }

    /// The operation parked: its JSON, naming the paths its texts beside go to
    /// (`"beside": [path, ...]`), and those texts, in the same order.
    fn encode(&self) -> Result<Parked, String> {
        let mut json = serde_json::to_string(self).map_err(|e| e.to_string())?;
        let beside = self.beside();
        if beside.is_empty() {
            return Ok(Parked {
                json,
                beside: Vec::new(),
            });
        }
        let paths: Vec<&[Key]> = beside.iter().map(|(path, _)| path.as_slice()).collect();
        // The object's closing brace, reopened for one more member.
        json.pop();
        json.push_str(",\"beside\":");
        json.push_str(&serde_json::to_string(&paths).map_err(|e| e.to_string())?);
        json.push('}');
        Ok(Parked {
            json,
            beside: beside
                .into_iter()
                .map(|(_, text)| text.to_owned())
                .collect(),
        })
    }
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
                // Its place: the entry puts the text beside the operation there.
                SqlValue::Text(_) if param_beside(value).is_some() => seq.serialize_element(&())?,
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

/// A value a store answered (JSON text, if the key was there), read as `T`.
pub fn stored<T: serde::de::DeserializeOwned>(
    key: &str,
    text: Option<String>,
) -> Result<Option<T>, ivr_core::error::ApiError> {
    use ivr_core::error::{ApiError, ErrorCode};
    text.map(|t| {
        ivr_core::json::read(t.as_bytes()).map_err(|e| {
            ApiError::new(
                ErrorCode::StoredDataUnreadable,
                format!("{key} is not readable: {e}"),
            )
        })
    })
    .transpose()
}

/// What an operation answered, or the runtime's message when it failed.
pub type Answer = Result<Option<String>, String>;

thread_local! {
    /// The operation the task being polled parked, and the answer it is resumed with.
    static SLOT: RefCell<Slot> = const { RefCell::new(Slot { op: None, answer: None, bytes: None }) };
}

struct Slot {
    /// The operation parked, and its texts beside.
    op: Option<Parked>,
    answer: Option<Answer>,
    /// The bytes a [`Op::ReadBody`] was answered with.
    bytes: Option<Vec<u8>>,
}

/// An operation parked for the JS entry: its JSON, and its texts beside ([`Op::beside`]).
pub struct Parked {
    pub json: String,
    pub beside: Vec<String>,
}

/// Performs `op`: parks it for the JS entry, which resumes the task with its answer. Encoded at
/// once (not an `async fn`): the future each caller awaits is one small type, not a state machine
/// of its own inlined into every caller.
pub fn perform(op: Op<'_>) -> Parking {
    Parking(Some(op.encode()))
}

/// What [`Op::ReadBody`] read: the body, `None` when it was larger than its limit, or the
/// runtime's message.
pub async fn read_body(limit: usize) -> Result<Option<Vec<u8>>, String> {
    perform(Op::ReadBody { limit }).await?;
    Ok(SLOT.with_borrow_mut(|slot| slot.bytes.take()))
}

/// A parked operation: pending until its task is resumed with the answer (or ready at once with
/// the error of an operation that could not be encoded).
pub struct Parking(Option<Result<Parked, String>>);

impl Future for Parking {
    type Output = Answer;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Answer> {
        match self.0.take() {
            Some(Ok(op)) => {
                SLOT.with_borrow_mut(|slot| slot.op = Some(op));
                Poll::Pending
            }
            Some(Err(e)) => Poll::Ready(Err(e)),
            None => match SLOT.with_borrow_mut(|slot| slot.answer.take()) {
                Some(answer) => Poll::Ready(answer),
                None => Poll::Pending,
            },
        }
    }
}

/// Polls a task's future once, with `answer` (and `bytes`) for the operation it parked last;
/// answers whether it finished, and otherwise the operation it parked now.
pub fn poll(
    future: Pin<&mut dyn Future<Output = ()>>,
    answer: Option<Answer>,
    bytes: Option<Vec<u8>>,
) -> Result<Option<Parked>, &'static str> {
    SLOT.with_borrow_mut(|slot| {
        slot.op = None;
        slot.answer = answer;
        slot.bytes = bytes;
    });
    let polled = future.poll(&mut Context::from_waker(std::task::Waker::noop()));
    let op = SLOT.with_borrow_mut(|slot| {
        slot.answer = None;
        slot.bytes = None;
        slot.op.take()
    });
    match (polled, op) {
        (Poll::Ready(()), _) => Ok(None),
        (Poll::Pending, Some(op)) => Ok(Some(op)),
        (Poll::Pending, None) => Err("a task waited on something other than an operation"),
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_value_written_goes_beside_the_operation_unescaped() {
        let session = r#"{"step":"menu","last":{"reply":"say \"hi\""}}"#;
        let op = Op::KvPut {
            binding: "SESSIONS",
            key: "session:abc",
            value: session,
            ttl: 60,
        };
        let Parked { json, beside } = op.encode().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"op": "kv_put", "binding": "SESSIONS", "key": "session:abc",
                "ttl": 60, "beside": [["value"]]})
        );
        assert_eq!(beside, [session]);
    }

    #[wasm_bindgen_test]
    fn an_operation_without_a_text_names_none() {
        let Parked { json, beside } = Op::Object {
            binding: "CALL_SESSIONS",
            name: "abc",
            method: "GET",
            path: "/session",
            headers: &[],
            body: None,
        }
        .encode()
        .unwrap();
        assert!(!json.contains("beside"), "{json}");
        assert!(beside.is_empty());
        let Parked { json, beside } = Op::Chunk { text: "a,b\n" }.encode().unwrap();
        assert_eq!(json, r#"{"op":"chunk","beside":[["text"]]}"#);
        assert_eq!(beside, ["a,b\n"]);
    }

    #[wasm_bindgen_test]
    fn long_d1_parameters_go_beside_the_operation_in_their_place() {
        let document = format!(
            r#"{{"vars":{{"note":"{}"}}}}"#,
            "\"".repeat(BESIDE_PARAM_LEN)
        );
        let short = Statement::new("SELECT ?1", vec!["short".into()]);
        let long = Statement::new(
            "INSERT INTO calls VALUES (?1, ?2, ?3)",
            vec!["id".into(), SqlValue::Null, document.clone().into()],
        );
        let statements = [short, long];
        let Parked { json, beside } = Op::D1Batch {
            binding: "CALLS_DB",
            statements: &statements,
        }
        .encode()
        .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed["statements"][0]["params"],
            serde_json::json!(["short"])
        );
        assert_eq!(
            parsed["statements"][1]["params"],
            serde_json::json!(["id", null, null])
        );
        assert_eq!(
            parsed["beside"],
            serde_json::json!([["statements", 1, "params", 2]])
        );
        assert_eq!(beside, std::slice::from_ref(&document));
        let Parked { json, beside } = Op::D1All {
            binding: "CALLS_DB",
            statement: &statements[1],
        }
        .encode()
        .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed["beside"],
            serde_json::json!([["statement", "params", 2]])
        );
        assert_eq!(beside, [document]);
    }

    /// The texts `src/js/entry.mjs` compares the operation with, letter for letter.
    #[wasm_bindgen_test]
    fn an_answer_says_whether_more_follows_as_the_entry_reads_it() {
        let more = Op::Answered { more: true }.encode().unwrap();
        let last = Op::Answered { more: false }.encode().unwrap();
        assert_eq!(more.json, r#"{"op":"answered","more":true}"#);
        assert_eq!(last.json, r#"{"op":"answered","more":false}"#);
        assert!(more.beside.is_empty() && last.beside.is_empty());
        let entry = include_str!("js/entry.mjs");
        assert!(entry.contains(&format!("const ANSWERED = '{}';", more.json)));
        assert!(entry.contains(&format!("const ANSWERED_LAST = '{}';", last.json)));
    }
}
