//! `POST /webhook`: Telesign's customer event URL. Reads the raw body (bounded), verifies the
//! signature, decodes the event, loads the call's session, lets the engine decide, runs the HTTP
//! requests of `fetch` steps, persists, and answers the JSON-RPC action (200) or nothing (204).

use std::sync::OnceLock;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::{
    AbortController, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit, Response,
};

use crate::api::campaigns;
use crate::config::Config;
use crate::engine::{self, Outcome, Write};
use crate::error::ApiError;
use crate::flow::{FetchRequest, FetchResponse, Registry};
use crate::http::json_text_response;
use crate::log::{mask_number, RequestLog};
use crate::store::Store;
use crate::telesign::{decode_event, signature};

/// The largest event body accepted; Telesign's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How many `fetch` steps one event may run before the flow is considered looping.
const MAX_FETCHES_PER_EVENT: usize = 4;

/// The flows compiled into the worker, built once per isolate.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(crate::flows::registry)
}

pub async fn handle(
    mut req: Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let body = read_body(&mut req, MAX_BODY_BYTES).await?;
    let config = Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()));
    if config.webhook_auth {
        verify(&req, &body, &config)?;
    } else {
        log.warning = Some("WEBHOOK_AUTH is off: event signatures are not verified");
    }
    let event = decode_event(&body).map_err(|e| ApiError::new(400, e.code(), e.to_string()))?;
    log.event = Some(event.kind.name().to_owned());
    log.reference_id = Some(event.reference_id.clone());

    let store = Store::open(env)?;
    let session = match store.session(&event.reference_id).await? {
        Some(session) => Some(session),
        // An outbound call whose session is not written yet: its pending entry.
        None => match &event.external_id {
            Some(external_id) => store.pending(external_id, &event.reference_id).await?,
            None => None,
        },
    };
    let had_session = session.is_some();
    let fingerprint = engine::fingerprint(&body);
    let now_ms = Date::now().as_millis();
    let registry = registry();

    let mut outcome = engine::handle(registry, session, &event, &fingerprint, now_ms);
    let mut fetches = 0;
    let (reply, write, note) = loop {
        match outcome {
            Outcome::Done { reply, write, note } => break (reply, write, note),
            Outcome::Fetch { session, request } => {
                fetches += 1;
                let result = if fetches > MAX_FETCHES_PER_EVENT {
                    Err("too many fetch steps for one event".to_owned())
                } else {
                    run_fetch(&request, config.fetch_timeout_ms).await
                };
                outcome = engine::resume(
                    registry,
                    *session,
                    &event,
                    &fingerprint,
                    result.as_ref().map_err(String::as_str),
                    now_ms,
                );
            }
        }
    };
    log.note = Some(note_name(note));
    log.action = reply.as_ref().map(|r| r.method.clone());
    let campaign_progress = campaigns::progress(&event.kind, &write, had_session, now_ms);

    match write {
        Write::Nothing => {}
        Write::Session(session) => {
            log.flow = Some(session.flow.clone());
            log.step = Some(session.step.clone());
            log.from = session.from.as_deref().map(mask_number);
            store.save_session(&session).await?;
        }
        Write::Record(record) => {
            log.flow = record.flow.clone();
            log.from = record.from.as_deref().map(mask_number);
            // A redelivered call_completed finds no session: keep the record written first.
            let keep_existing = !had_session && store.record(&record.reference_id).await?.is_some();
            if !keep_existing {
                store.save_record(&record, config.record_ttl_secs()).await?;
            }
            if had_session {
                store.delete_session(&record.reference_id).await?;
            }
        }
    }

    if let Some(p) = campaign_progress {
        // Campaign counts are bookkeeping: failing to write them must not fail the call.
        let ttl = config.record_ttl_secs();
        let recorded = store.update_number_entry(&p.campaign, p.entry, ttl).await;
        if recorded.is_err() {
            log.warning = Some("campaign progress not recorded");
        }
    }

    match reply {
        Some(reply) => Ok(json_text_response(200, reply.json)?),
        None => Ok(Response::empty()?.with_status(204)),
    }
}

fn note_name(note: engine::Note) -> &'static str {
    use engine::Note::*;
    match note {
        Started => "started",
        Advanced => "advanced",
        Finished => "finished",
        Duplicate => "duplicate",
        Stale => "stale",
        UnknownCall => "unknown_call",
        NoFlow => "no_flow",
        Ignored => "ignored",
    }
}

fn verify(req: &Request, body: &[u8], config: &Config) -> Result<(), ApiError> {
    let (Some(customer_id), Some(api_key)) = (&config.customer_id, &config.api_key) else {
        return Err(ApiError::new(
            500,
            "not_configured",
            "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY must be set to verify events",
        ));
    };
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let authorization = header("authorization");
    let bare = header("x-ts-authorization");
    signature::verify(
        authorization.as_deref(),
        bare.as_deref(),
        body,
        customer_id,
        api_key,
    )
    .map_err(|e| ApiError::new(401, "bad_signature", e.to_string()))
}

/// Reads at most `limit` bytes of body: a larger `Content-Length` is refused before reading, and a
/// body without one stops being read as soon as it passes the limit.
pub(crate) async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.map_or(1024, |n| n as usize));
    let Ok(mut stream) = req.stream() else {
        // No body at all.
        return Ok(body);
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(400, "unreadable_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Runs the HTTP request of a flow's `fetch` step, giving up after `timeout_ms`.
async fn run_fetch(request: &FetchRequest, timeout_ms: u64) -> Result<FetchResponse, String> {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.clone()))
        .with_headers(headers)
        .with_body(request.body.as_deref().map(Into::into));
    let req = Request::new_with_init(&request.url, &init).map_err(|e| e.to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut resp = Fetch::Request(req).send_with_signal(&signal).await?;
        let body = resp.text().await?;
        Ok::<_, worker::Error>(FetchResponse {
            status: resp.status_code(),
            body,
        })
    };
    let timeout = Delay::from(Duration::from_millis(timeout_ms));
    futures_util::pin_mut!(exchange);
    match select(exchange, timeout).await {
        Either::Left((result, _)) => result.map_err(|e| e.to_string()),
        Either::Right(((), _)) => {
            controller.abort();
            Err(format!("no answer within {timeout_ms} ms"))
        }
    }
}
