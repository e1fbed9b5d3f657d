//! HTTP as the shell sees it: the request the JS entry hands over ([`Request`]; its body is
//! read when a handler asks, bounded, by the entry) and the answer it builds ([`Response`]),
//! which the entry turns into the runtime's own.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use ivr_core::engine::Reply;
use ivr_core::error::{ApiError, ErrorCode};

use crate::io::{self, perform, Op};

#[wasm_bindgen]
extern "C" {
    /// The runtime's `Headers` of a request.
    pub type Headers;
    #[wasm_bindgen(method, catch)]
    fn get(this: &Headers, name: &str) -> Result<Option<String>, JsValue>;
}

/// A request: method, URL and headers. The body stays with the entry until [`Request::body`].
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Headers,
}

impl Request {
    /// A header (the first, or all of them joined, as the runtime's `get`).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// Reads at most `limit` bytes of body; a larger body is a 413 (the entry reads one that is
    /// not much larger to its end all the same, so that the sender sees the answer).
    pub async fn body(&self, limit: usize) -> Result<Vec<u8>, ApiError> {
        match io::read_body(limit).await {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(too_large(limit)),
            Err(message) => Err(ApiError::new(ErrorCode::UnreadableBody, message)),
        }
    }
}

/// The answer to a body larger than `limit` bytes.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than {limit} bytes"),
    )
}

/// Work that runs in the task after its answer (a streamed body, or what an event asked for).
pub type After = Pin<Box<dyn Future<Output = ()>>>;

/// A body written a piece at a time ([`write`]) after the answer's head is sent.
pub type Stream = Pin<Box<dyn Future<Output = Result<(), ApiError>>>>;

pub enum Body {
    Empty,
    Text(String),
    /// A text the entry holds (see [`Document`]).
    Document(Document),
    Stream(Stream),
}

/// A JSON text written at build time (build.rs) that the entry holds and answers instead of the
/// wasm (scripts/build.sh writes them into `worker/documents.mjs`). Rarely asked for, they would
/// be a large share of the wasm's data, copied into its memory at every start.
#[derive(Clone, Copy)]
pub enum Document {
    /// `GET /openapi.json`: `ivr_core::openapi::document`.
    OpenApi,
    /// `GET /flows`: `ivr_core::flow::catalogue`.
    Flows,
}

impl Document {
    /// Its export's name in `documents.mjs`.
    pub fn name(self) -> &'static str {
        match self {
            Document::OpenApi => "openapi",
            Document::Flows => "flows",
        }
    }
}

/// An answer, and the work to run after it.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    pub after: Option<After>,
}

const JSON: &str = "application/json; charset=utf-8";

impl Response {
    /// The HTTP answer to an event: the action (200) or nothing (204).
    pub fn reply(reply: Option<Reply>) -> Self {
        match reply {
            Some(reply) => json_text(200, reply.json.into_string()),
            None => empty(204),
        }
    }

    /// The JSON error answer for `e`, with the headers it calls for.
    pub fn error(e: &ApiError) -> Self {
        let mut resp = json_text(e.status, e.body());
        if let Some(allow) = e.allow {
            resp.headers.push(("allow", allow.to_owned()));
        }
        if let Some(challenge) = e.challenge() {
            resp.headers
                .push(("www-authenticate", challenge.to_owned()));
        }
        if let Some(secs) = e.retry_after_secs {
            resp.headers.push(("retry-after", secs.to_string()));
        }
        resp
    }

    /// A CSV download streamed from `body`, a page at a time: one page in memory whatever the
    /// size; if the store fails midway the download is cut short rather than looking complete.
    pub fn csv(body: Stream, filename: &str) -> Self {
        Response {
            status: 200,
            headers: vec![
                ("content-type", "text/csv; charset=utf-8".to_owned()),
                (
                    "content-disposition",
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            body: Body::Stream(body),
            after: None,
        }
    }
}

/// A JSON answer with the given status.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(json_text(status, body))
}

/// A JSON answer whose body is already encoded.
pub fn json_text(status: u16, body: String) -> Response {
    json_body(status, Body::Text(body))
}

/// A JSON answer (200) whose body is `document`.
pub fn json_document(document: Document) -> Response {
    json_body(200, Body::Document(document))
}

fn json_body(status: u16, body: Body) -> Response {
    Response {
        status,
        headers: vec![("content-type", JSON.to_owned())],
        body,
        after: None,
    }
}

/// An answer without a body.
pub fn empty(status: u16) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body: Body::Empty,
        after: None,
    }
}

/// Writes the next piece of a streamed body.
pub async fn write(text: &str) -> Result<(), ApiError> {
    perform(Op::Chunk { text })
        .await
        .map(drop)
        .map_err(|e| ApiError::internal(format!("writing the answer: {e}")))
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
        let mut found = resp.headers.iter().filter(|(n, _)| *n == name);
        found.next().map(|(_, value)| value.as_str())
    }

    fn text(resp: &Response) -> &str {
        match &resp.body {
            Body::Text(text) => text,
            Body::Empty | Body::Document(_) | Body::Stream(_) => "",
        }
    }

    #[wasm_bindgen_test]
    fn an_error_is_json_with_its_status_and_allow() {
        let resp = Response::error(&ApiError::method_not_allowed("GET", "/webhook", "POST"));
        assert_eq!(resp.status, 405);
        assert_eq!(header(&resp, "allow"), Some("POST"));
        assert_eq!(header(&resp, "content-type"), Some(JSON));
        let body: serde_json::Value = serde_json::from_str(text(&resp)).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[wasm_bindgen_test]
    fn unauthorized_and_rate_limited_answers_carry_their_headers() {
        let resp = Response::error(&ApiError::new(ErrorCode::Unauthorized, "no"));
        let challenge = header(&resp, "www-authenticate");
        assert_eq!(challenge, Some(r#"Bearer realm="telesign-ivr""#));
        let limited = ApiError::new(ErrorCode::RateLimited, "slow down").retry_after(Some(60));
        let resp = Response::error(&limited);
        assert_eq!(
            (resp.status, header(&resp, "retry-after")),
            (429, Some("60"))
        );
    }

    #[wasm_bindgen_test]
    fn an_action_is_a_200_json_answer_and_none_is_a_204() {
        let resp = Response::reply(Some(Reply::from(&ivr_core::telesign::Action::Hangup)));
        assert_eq!(resp.status, 200);
        assert_eq!(
            text(&resp),
            r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#
        );
        let none = Response::reply(None);
        assert_eq!(none.status, 204);
        assert!(matches!(none.body, Body::Empty) && none.headers.is_empty());
    }

    #[wasm_bindgen_test]
    fn json_response_sets_status_and_body() {
        let resp = json_response(202, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!((resp.status, text(&resp)), (202, r#"{"a":1}"#));
    }
}
