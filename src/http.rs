//! The thin shell between workers-rs and the pure core: turns the runtime's request into a route,
//! runs it, and turns every outcome, errors included, into a JSON `worker::Response`.

use serde::Serialize;
use worker::{console_error, console_log, console_warn, web_sys, Date, Env, Request, Response};

use crate::error::ApiError;
use crate::log::RequestLog;
use crate::routes::{route, Route};
use crate::webhook;

/// The crate version reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Handles one request: every [`ApiError`] becomes its JSON answer, and one log line tells what
/// happened. The only `Err` left is a failure of the JS runtime itself to build a response, which
/// workers-rs reports as a 500.
pub async fn app(req: web_sys::Request, env: Env) -> worker::Result<Response> {
    let started = Date::now().as_millis();
    let mut log = RequestLog {
        method: req.method(),
        path: path_of(&req.url()).to_owned(),
        ..RequestLog::default()
    };
    let resp = match handle(req, &env, &mut log).await {
        Ok(resp) => resp,
        Err(e) => {
            log.code = Some(e.code.into());
            log.message = Some(e.message.clone());
            error_response(&e)?
        }
    };
    log.status = resp.status_code();
    log.latency_ms = Date::now().as_millis().saturating_sub(started);
    let line = log.line();
    match log.level {
        "error" => console_error!("{line}"),
        "warn" => console_warn!("{line}"),
        _ => console_log!("{line}"),
    }
    Ok(resp)
}

async fn handle(
    req: web_sys::Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    match route(&log.method, &log.path)? {
        Route::Health => Ok(json_response(
            200,
            &Health {
                status: "ok",
                version: VERSION,
            },
        )?),
        Route::Webhook => webhook::handle(req, env, log).await,
        Route::Api(api) => crate::api::handlers::handle(api, Request::from(req), env, log).await,
    }
}

/// The path of a serialized URL (what `Request.url` gives), without query or fragment. A WHATWG
/// URL of an http(s) request always has a path, and `?` and `#` inside it are percent-encoded,
/// so the first `/` after the host starts it and the first `?` or `#` ends it.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let Some(start) = url[after_scheme..].find('/').map(|i| after_scheme + i) else {
        return "/";
    };
    let path = &url[start..];
    &path[..path.find(['?', '#']).unwrap_or(path.len())]
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::new(500, "internal_error", e.to_string())
    }
}

/// A JSON answer with the given status.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> worker::Result<Response> {
    let body = serde_json::to_string(value)?;
    json_text_response(status, body)
}

/// A JSON answer whose body is already encoded.
pub fn json_text_response(status: u16, body: String) -> worker::Result<Response> {
    let mut resp = Response::ok(body)?.with_status(status);
    resp.headers_mut()
        .set("content-type", "application/json; charset=utf-8")?;
    Ok(resp)
}

/// The JSON error answer for `e`, with `Allow` on 405.
pub fn error_response(e: &ApiError) -> worker::Result<Response> {
    let mut resp = json_text_response(e.status, e.body())?;
    if let Some(allow) = e.allow {
        resp.headers_mut().set("allow", allow)?;
    }
    Ok(resp)
}

#[cfg(test)]
mod path_tests {
    use super::path_of;

    #[test]
    fn the_path_is_what_follows_the_host_up_to_the_query() {
        for (url, path) in [
            ("https://worker.example/webhook", "/webhook"),
            ("http://127.0.0.1:8787/calls/abc?limit=5#x", "/calls/abc"),
            ("https://worker.example/", "/"),
            ("https://worker.example", "/"),
            ("https://worker.example?x=1", "/"),
            ("https://user:pw@worker.example:443/a%3Fb/c", "/a%3Fb/c"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn error_response_is_json_with_status_and_allow() {
        let e = ApiError::method_not_allowed("GET", "/webhook", "POST");
        let mut resp = error_response(&e).unwrap();
        assert_eq!(resp.status_code(), 405);
        let headers = resp.headers();
        assert_eq!(headers.get("allow").unwrap().as_deref(), Some("POST"));
        assert_eq!(
            headers.get("content-type").unwrap().as_deref(),
            Some("application/json; charset=utf-8")
        );
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[wasm_bindgen_test]
    async fn json_response_sets_status_and_body() {
        let mut resp = json_response(202, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(resp.status_code(), 202);
        assert_eq!(resp.text().await.unwrap(), r#"{"a":1}"#);
    }
}
