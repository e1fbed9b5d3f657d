//! The app: one request in, one response out. Matches the route, runs its handler, and is the one
//! place where an [`ApiError`] becomes a JSON answer (with `Allow`, `WWW-Authenticate` and
//! `Retry-After` where they belong) and where the request's one log line is written.

use serde::Serialize;

use ivr_core::config::Config;
use ivr_core::error::ApiError;
use ivr_core::flow::Registry;
use ivr_core::log::RequestLog;
use ivr_core::routes::{path_of, route, Route};

use crate::apart::apart;
use crate::env::{config, console, now_ms, registry, Env};
use crate::http::{json_document, json_response, Document, Request, Response};
use crate::{api, webhook};

/// The crate version reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Handles one request and writes its log line.
pub async fn serve(req: Request, env: Env) -> Response {
    let started = now_ms();
    let mut log = RequestLog {
        method: req.method.clone(),
        path: path_of(&req.url).to_owned(),
        ..RequestLog::default()
    };
    let resp = match handle(&req, &env, &mut log).await {
        Ok(resp) => resp,
        Err(e) => {
            log.error(&e);
            Response::error(&e)
        }
    };
    write_log(&mut log, resp.status, started, config(&env));
    resp
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
        "error" => console::error(&line),
        "warn" => console::warn(&line),
        _ => console::log(&line),
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

async fn handle(req: &Request, env: &Env, log: &mut RequestLog) -> Result<Response, ApiError> {
    match route(&log.method, &log.path)? {
        Route::Health => health(registry(env)),
        Route::Webhook => {
            let answered = apart(webhook::handle(req, env, log)).await?;
            let mut resp = Response::reply(answered.reply);
            resp.after = answered.after;
            Ok(resp)
        }
        Route::OpenApi => Ok(json_document(Document::OpenApi)),
        Route::Api(api) => apart(api::handle(api, req, env, log)).await,
    }
}
