//! The app: one request in, one response out. Matches the route, runs its handler, and is the one
//! place where an [`ApiError`] becomes a JSON answer (with `Allow`, `WWW-Authenticate` and
//! `Retry-After` where they belong) and where the request's one log line is written.

use serde::Serialize;
use worker::{console_error, console_log, console_warn, web_sys, Context, Env, Response};

use ivr_core::config::Config;
use ivr_core::engine::Reply;
use ivr_core::error::ApiError;
use ivr_core::flow::Registry;
use ivr_core::log::RequestLog;
use ivr_core::routes::{path_of, route, Route};

use crate::apart::apart;
use crate::env::{now_ms, registry};
use crate::http::{internal, json_response, json_text_response};
use crate::webhook::Inbound;
use crate::{api, webhook};

/// The crate version reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The OpenAPI document of this build (its flows included), written by build.rs from
/// `ivr_core::openapi::document`.
const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// Handles one request. The only `Err` left is a failure of the JS runtime itself to build an
/// error response, which workers-rs reports as a 500.
pub async fn serve(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let started = now_ms();
    let mut log = RequestLog {
        method: req.method(),
        path: path_of(&req.url()).to_owned(),
        ..RequestLog::default()
    };
    let resp = match handle(&req, &env, &ctx, &mut log).await {
        Ok(resp) => resp,
        Err(e) => {
            log.error(&e);
            Plain::error(&e).into_response()?
        }
    };
    write_log(
        &mut log,
        resp.status_code(),
        started,
        crate::env::config(&env),
    );
    Ok(resp)
}

/// Writes a request's one log line, once its answer's `status` is known.
pub fn write_log(log: &mut RequestLog, status: u16, started_ms: u64, config: &Config) {
    if config.dev_clock_ms.is_some() && log.warning.is_none() {
        log.warning = Some("DEV_CLOCK is set: this worker's calls run on a shifted clock".into());
    }
    log.status = status;
    log.latency_ms = now_ms().saturating_sub(started_ms);
    let line = log.line();
    match log.level {
        "error" => console_error!("{line}"),
        "warn" => console_warn!("{line}"),
        _ => console_log!("{line}"),
    }
}

const JSON: &str = "application/json; charset=utf-8";

/// An answer as plain data: what the runtime's `Response` is made from, here or by the JS entry
/// for the driven webhook ([`crate::task`]).
pub struct Plain {
    pub status: u16,
    pub body: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

impl Plain {
    /// The HTTP answer to an event: the action (200) or nothing (204).
    pub fn reply(reply: Option<Reply>) -> Self {
        match reply {
            Some(reply) => Plain {
                status: 200,
                body: Some(reply.json.into_string()),
                headers: vec![("content-type", JSON.to_owned())],
            },
            None => Plain {
                status: 204,
                body: None,
                headers: Vec::new(),
            },
        }
    }

    /// The JSON error answer for `e`, with the headers it calls for.
    pub fn error(e: &ApiError) -> Self {
        let mut headers = vec![("content-type", JSON.to_owned())];
        if let Some(allow) = e.allow {
            headers.push(("allow", allow.to_owned()));
        }
        if let Some(challenge) = e.challenge() {
            headers.push(("www-authenticate", challenge.to_owned()));
        }
        if let Some(secs) = e.retry_after_secs {
            headers.push(("retry-after", secs.to_string()));
        }
        Plain {
            status: e.status,
            body: Some(e.body()),
            headers,
        }
    }

    fn into_response(self) -> worker::Result<Response> {
        let mut resp = match self.body {
            Some(body) => Response::ok(body)?,
            None => Response::empty()?,
        }
        .with_status(self.status);
        let headers = resp.headers_mut();
        for (name, value) in &self.headers {
            headers.set(name, value)?;
        }
        Ok(resp)
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    /// `flow: SETTING` for each setting a flow declares that has no value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing_settings: Vec<String>,
}

/// `GET /healthz`: alive, or `503 misconfigured` while a flow lacks a setting it declares (its
/// calls would end in its `on_error` step).
fn health(registry: &Registry) -> Result<Response, ApiError> {
    let missing: Vec<String> = registry
        .missing_settings()
        .into_iter()
        .map(|(flow, name)| format!("{flow}: {name}"))
        .collect();
    let (status, code) = match missing.is_empty() {
        true => ("ok", 200),
        false => ("misconfigured", 503),
    };
    json_response(
        code,
        &Health {
            status,
            version: VERSION,
            missing_settings: missing,
        },
    )
}

async fn handle(
    req: &web_sys::Request,
    env: &Env,
    ctx: &Context,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    match route(&log.method, &log.path)? {
        Route::Health => health(registry(env)),
        Route::Webhook => {
            let inbound = Inbound::read(req).await;
            let answered = apart(webhook::handle(&inbound, env, log)).await?;
            if let Some(after) = answered.after {
                ctx.wait_until(after);
            }
            Plain::reply(answered.reply)
                .into_response()
                .map_err(internal)
        }
        Route::OpenApi => json_text_response(200, OPENAPI.to_owned()),
        Route::Api(api) => apart(api::handle(api, req, env, log)).await,
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use ivr_core::error::ErrorCode;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn error_response_is_json_with_status_and_allow() {
        let e = ApiError::method_not_allowed("GET", "/webhook", "POST");
        let mut resp = Plain::error(&e).into_response().unwrap();
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
    async fn unauthorized_and_rate_limited_answers_carry_their_headers() {
        let resp = Plain::error(&ApiError::new(ErrorCode::Unauthorized, "no"))
            .into_response()
            .unwrap();
        let challenge = resp.headers().get("www-authenticate").unwrap();
        assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="telesign-ivr""#));
        let limited = ApiError::new(ErrorCode::RateLimited, "slow down").retry_after(Some(60));
        let resp = Plain::error(&limited).into_response().unwrap();
        assert_eq!(resp.status_code(), 429);
        let retry = resp.headers().get("retry-after").unwrap();
        assert_eq!(retry.as_deref(), Some("60"));
    }

    #[wasm_bindgen_test]
    async fn an_action_is_a_200_json_answer_and_none_is_a_204() {
        let reply = Reply::from(&ivr_core::telesign::Action::Hangup);
        let mut resp = Plain::reply(Some(reply)).into_response().unwrap();
        assert_eq!(resp.status_code(), 200);
        let body = resp.text().await.unwrap();
        assert_eq!(body, r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#);
        assert_eq!(
            Plain::reply(None).into_response().unwrap().status_code(),
            204
        );
    }

    #[wasm_bindgen_test]
    async fn json_response_sets_status_and_body() {
        let mut resp = json_response(202, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(resp.status_code(), 202);
        assert_eq!(resp.text().await.unwrap(), r#"{"a":1}"#);
    }
}
