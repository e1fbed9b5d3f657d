//! HTTP plumbing of the shell: reading request bodies within a limit, and building JSON answers.

use futures_util::StreamExt;
use serde::Serialize;
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, Request, Response};

use ivr_core::error::{ApiError, ErrorCode};

/// A header of `req`.
pub fn header(req: &web_sys::Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// A JSON answer with the given status.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))?;
    json_text_response(status, body)
}

/// A JSON answer whose body is already encoded.
pub fn json_text_response(status: u16, body: String) -> Result<Response, ApiError> {
    let build = || {
        let mut resp = Response::ok(body)?.with_status(status);
        resp.headers_mut()
            .set("content-type", "application/json; charset=utf-8")?;
        Ok(resp)
    };
    build().map_err(internal)
}

/// An answer without a body.
pub fn empty_response(status: u16) -> Result<Response, ApiError> {
    Response::empty()
        .map(|r| r.with_status(status))
        .map_err(internal)
}

/// A failure of the JS runtime itself (building a response, reading a header): a 500.
pub fn internal(e: worker::Error) -> ApiError {
    ApiError::internal(e.to_string())
}

/// The answer to a body larger than `limit` bytes.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than {limit} bytes"),
    )
}

/// The most body bytes read and thrown away after a body passed its limit, so that the sender
/// reads its 413 instead of a connection reset: a server that answers and closes while the client
/// is still writing makes the client's write fail (EPIPE) before it sees the answer, which is why
/// HTTP servers drain ("lingering close"). Past this much the sender is hostile and gets the reset.
pub const DRAIN_BYTES: u64 = 1024 * 1024;

/// Reads at most `limit` bytes of body. A larger body is a 413: one whose `Content-Length` is more
/// than [`DRAIN_BYTES`] past the limit is refused before reading; any other is read to its end (up
/// to that bound) without keeping what passes the limit, so the sender sees the answer.
pub async fn read_body(req: &web_sys::Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || too_large(limit);
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit_bytes = limit as u64;
    let drain_limit = limit_bytes.saturating_add(DRAIN_BYTES);
    if declared.is_some_and(|n| n > drain_limit) {
        return Err(too_large());
    }
    let unreadable = |e: worker::Error| ApiError::new(ErrorCode::UnreadableBody, e.to_string());
    if declared.is_some_and(|n| n <= limit_bytes) {
        // The runtime holds a body to its Content-Length: one read, no chunk loop (the common
        // case: Telesign sends it). Checked again all the same.
        let buffer = match req.array_buffer() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        };
        let body = Uint8Array::new(&buffer.map_err(|e| unreadable(e.into()))?).to_vec();
        return if body.len() > limit {
            Err(too_large())
        } else {
            Ok(body)
        };
    }
    let mut body = Vec::with_capacity(1024);
    // The rare body without a length, through workers-rs's byte stream (`Clone::clone` copies
    // the handle; `Request.clone()` would tee the body).
    let Ok(mut stream) = Request::from(Clone::clone(req)).stream() else {
        // No body at all.
        return Ok(body);
    };
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        read += chunk.len() as u64;
        if read > drain_limit {
            break;
        }
        if read <= limit_bytes {
            body.extend_from_slice(&chunk);
        }
    }
    if read > limit_bytes || declared.is_some_and(|n| n > limit_bytes) {
        return Err(too_large());
    }
    Ok(body)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;
    use worker::{Headers, Method, RequestInit};

    fn post(body: &str, content_length: Option<&str>) -> Request {
        let headers = Headers::new();
        if let Some(n) = content_length {
            headers.set("content-length", n).unwrap();
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        Request::new_with_init("https://worker.test/webhook", &init).unwrap()
    }

    #[wasm_bindgen_test]
    async fn a_body_within_the_limit_is_read_whole() {
        let req = post(r#"{"event":"x"}"#, None);
        assert_eq!(
            read_body(req.inner(), 64).await.unwrap(),
            br#"{"event":"x"}"#
        );
    }

    #[wasm_bindgen_test]
    async fn a_body_over_the_limit_is_refused_with_413() {
        let req = post(&"x".repeat(100), None);
        let e = read_body(req.inner(), 64).await.unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (413, "payload_too_large"));
    }

    #[wasm_bindgen_test]
    async fn a_declared_length_over_the_limit_is_refused() {
        for declared in ["100000", "2000000"] {
            let req = post("{}", Some(declared));
            let e = read_body(req.inner(), 64).await.unwrap_err();
            assert_eq!(e.status, 413, "Content-Length {declared}");
        }
    }

    #[wasm_bindgen_test]
    async fn a_body_past_the_drain_limit_is_still_a_413() {
        let req = post(&"x".repeat(DRAIN_BYTES as usize + 100), None);
        let e = read_body(req.inner(), 64).await.unwrap_err();
        assert_eq!(e.status, 413);
    }
}
