//! The thin shell between workers-rs and the pure core: turns the runtime's request into a route,
//! runs it, and turns every outcome, errors included, into a JSON `worker::Response`.

use serde::Serialize;
use worker::{console_error, console_log, console_warn, web_sys, Date, Env, Request, Response};

use crate::webhook;
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::routes::{path_of, route, Route};

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

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

/// A failure of the JS runtime itself (building a response, reading a header): a 500.
pub fn internal(e: worker::Error) -> ApiError {
    ApiError::new(500, "internal_error", e.to_string())
}

/// A JSON answer with the given status.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value)
        .map_err(|e| ApiError::new(500, "internal_error", e.to_string()))?;
    json_text_response(status, body)
}

/// A JSON answer whose body is already encoded.
pub fn json_text_response(status: u16, body: String) -> Result<Response, ApiError> {
    text_response(status, body).map_err(internal)
}

/// An answer without a body.
pub fn empty_response(status: u16) -> Result<Response, ApiError> {
    Response::empty()
        .map(|r| r.with_status(status))
        .map_err(internal)
}

fn text_response(status: u16, body: String) -> worker::Result<Response> {
    let mut resp = Response::ok(body)?.with_status(status);
    resp.headers_mut()
        .set("content-type", "application/json; charset=utf-8")?;
    Ok(resp)
}

/// The JSON error answer for `e`, with `Allow` on 405.
pub fn error_response(e: &ApiError) -> worker::Result<Response> {
    let mut resp = text_response(e.status, e.body())?;
    if let Some(allow) = e.allow {
        resp.headers_mut().set("allow", allow)?;
    }
    Ok(resp)
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
