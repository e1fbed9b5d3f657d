//! The HTTP side of the call API: authentication, bodies, and the answers of `/calls` and
//! `/campaigns`. Every decision is made in [`ivr_core::api::calls`], [`ivr_core::api::campaigns`] and
//! [`ivr_core::auth`]; this only moves data between them, KV, the queue and the response.

use serde::Serialize;
use serde_json::json;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{Date, Env, Request, Response};

use crate::durable::Sessions;
use crate::env::registry;
use crate::http::{error_response, internal, json_response};
use crate::store::Store;
use crate::webhook::read_body;
use ivr_core::auth;
use ivr_core::config::Config;
use ivr_core::engine::{CallRecord, Session};
use ivr_core::error::ApiError;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::keys::NumberMeta;
use ivr_core::pipeline::ports::SessionStore;
use ivr_core::routes::ApiRoute;

use super::dialer;
use ivr_core::api::calls::{self, Placing};
use ivr_core::api::campaigns::{self, Campaign};
use ivr_core::api::Failure;

/// The queue producer binding of campaign dials (see wrangler.toml).
pub const QUEUE_BINDING: &str = "CAMPAIGN_QUEUE";
/// The Workers Rate Limiting binding of the routes that place calls (see wrangler.toml).
pub const RATE_LIMIT_BINDING: &str = "API_RATE_LIMITER";

#[wasm_bindgen]
extern "C" {
    /// `crypto.randomUUID()`: ids that others cannot guess or collide with.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    fn random_uuid() -> String;
}

/// Answers one API route. Failures are answered here (not by the caller) because some need
/// headers an [`ApiError`] cannot carry: `WWW-Authenticate` on 401, `Retry-After` on 429.
pub async fn handle(
    route: ApiRoute,
    req: Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    match serve(route, req, env, log).await {
        Ok(resp) => Ok(resp),
        Err(failure) => {
            log.code = Some(failure.error.code.into());
            log.message = Some(failure.error.message.clone());
            failure_response(&failure).map_err(internal)
        }
    }
}

fn failure_response(failure: &Failure) -> worker::Result<Response> {
    let mut resp = error_response(&failure.error)?;
    if failure.challenge {
        resp.headers_mut()
            .set("www-authenticate", auth::CHALLENGE)?;
    }
    if let Some(secs) = failure.retry_after_secs {
        resp.headers_mut().set("retry-after", &secs.to_string())?;
    }
    Ok(resp)
}

async fn serve(
    route: ApiRoute,
    req: Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, Failure> {
    let config = crate::env::config(env);
    let authorization = req.headers().get("authorization").ok().flatten();
    auth::check_bearer(authorization.as_deref(), config.api_token.as_deref())?;
    if matches!(route, ApiRoute::PlaceCall | ApiRoute::StartCampaign) {
        rate_limit(env, config.api_token.as_deref().unwrap_or_default()).await?;
    }
    let store = Store::open(env)?;
    match route {
        ApiRoute::PlaceCall => {
            let body = read_body(req.inner(), calls::MAX_BODY_BYTES).await?;
            place_call(&body, &store, &Sessions::open(env, config)?, config, log).await
        }
        ApiRoute::ListCalls => {
            let url = req.url().map_err(internal)?;
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            let query = calls::parse_list_query(pairs.iter().map(|(k, v)| (&**k, &**v)))?;
            Ok(list_calls(&store, query).await?)
        }
        ApiRoute::Call(id) => Ok(get_call(&store, &Sessions::open(env, config)?, &id).await?),
        ApiRoute::StartCampaign => {
            let body = read_body(req.inner(), campaigns::MAX_BODY_BYTES).await?;
            Ok(start_campaign(&body, &store, env, config, log).await?)
        }
        ApiRoute::Campaign(id) => Ok(get_campaign(&store, &id).await?),
    }
}

/// The routes that place calls (and cost money) are limited per token by the Workers Rate
/// Limiting binding: a stolen or leaked token cannot dial faster than the configured rate.
/// Without the binding (a custom deploy that removed it) there is no limit.
async fn rate_limit(env: &Env, token: &str) -> Result<(), Failure> {
    let Ok(limiter) = env.rate_limiter(RATE_LIMIT_BINDING) else {
        return Ok(());
    };
    let outcome = limiter
        .limit(auth::rate_limit_key(token))
        .await
        .map_err(internal)?;
    if outcome.success {
        return Ok(());
    }
    Err(Failure {
        error: ApiError::new(
            429,
            "rate_limited",
            "too many calls placed with this token; try again in a minute",
        ),
        retry_after_secs: Some(60),
        challenge: false,
    })
}

#[derive(Serialize)]
struct Accepted<'a> {
    reference_id: &'a str,
    external_id: &'a str,
    status: &'static str,
}

async fn place_call(
    body: &[u8],
    store: &Store,
    sessions: &impl SessionStore,
    config: &Config,
    log: &mut RequestLog,
) -> Result<Response, Failure> {
    let request = calls::parse_call_request(body, registry(), config.caller_id.as_deref())?;
    log.flow = Some(request.flow.clone());
    let placing = Placing {
        external_id: request.external_id.unwrap_or_else(random_uuid),
        flow: request.flow,
        to: request.to,
        caller_id: request.caller_id,
        vars: request.vars,
    };
    let now_ms = Date::now().as_millis();
    match dialer::place(store, sessions, config, &placing, now_ms).await? {
        Ok(placed) => {
            log.reference_id = Some(placed.accepted.reference_id.clone());
            log.warning = placed.warning.map(Into::into);
            Ok(json_response(
                202,
                &Accepted {
                    reference_id: &placed.accepted.reference_id,
                    external_id: &placing.external_id,
                    status: "dial_accepted",
                },
            )?)
        }
        Err(failure) => {
            let record = calls::failed_dial_record(&placing, &failure, now_ms);
            store.save_record(&record, config.record_ttl_secs()).await?;
            let mut answer = failure.to_failure();
            answer.error.message = format!(
                "{}; the call record is GET /calls/{}",
                answer.error.message, record.reference_id
            );
            Err(answer)
        }
    }
}

/// `GET /calls/<id>`: the live session, else the final record.
#[derive(Serialize)]
#[serde(tag = "state", content = "call", rename_all = "snake_case")]
enum CallView {
    Live(Box<Session>),
    Ended(Box<CallRecord>),
}

async fn get_call(
    store: &Store,
    sessions: &impl SessionStore,
    id: &str,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(404, "call_not_found", format!("no call {id}"));
    if !calls::valid_call_id(id) {
        return Err(not_found());
    }
    let view = match sessions.session(id).await? {
        Some(session) => CallView::Live(Box::new(session)),
        None => CallView::Ended(Box::new(store.record(id).await?.ok_or_else(not_found)?)),
    };
    json_response(200, &view)
}

async fn list_calls(store: &Store, query: calls::ListQuery) -> Result<Response, ApiError> {
    let page = store
        .list(
            ivr_core::pipeline::keys::RECORD_PREFIX,
            query.cursor,
            query.limit,
        )
        .await?;
    let keys: Vec<String> = page
        .keys
        .into_iter()
        .filter(|(_, meta)| calls::listed(meta.as_ref(), query.flow.as_deref()))
        .map(|(name, _)| name)
        .collect();
    let records = store.records_at(&keys).await?;
    json_response(200, &json!({"calls": records, "cursor": page.cursor}))
}

async fn start_campaign(
    body: &[u8],
    store: &Store,
    env: &Env,
    config: &Config,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let request = campaigns::parse_campaign_request(body, registry(), config.caller_id.as_deref())?;
    log.flow = Some(request.flow.clone());
    let queue = env.queue(QUEUE_BINDING).map_err(|e| {
        ApiError::new(
            500,
            "not_configured",
            format!("queue binding {QUEUE_BINDING}: {e}"),
        )
    })?;
    let id = random_uuid().replace('-', "");
    let total = request.numbers.len();
    let campaign = Campaign {
        id: id.clone(),
        flow: request.flow,
        caller_id: request.caller_id.e164(),
        vars: request.vars,
        // At most MAX_NUMBERS, checked by the parser.
        total: u32::try_from(total).unwrap_or(u32::MAX),
        created_ms: Date::now().as_millis(),
    };
    store
        .save_campaign(&campaign, config.record_ttl_secs())
        .await?;
    let messages = campaigns::messages(&id, &request.numbers);
    let mut queued = 0;
    for batch in messages.chunks(campaigns::SEND_BATCH) {
        let texts = batch
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::new(500, "internal_error", e.to_string()))?;
        queue.send_batch(texts).await.map_err(|e| {
            ApiError::new(
                503,
                "queue_unavailable",
                format!("campaign {id}: {queued} of {total} numbers were queued: {e}"),
            )
        })?;
        queued += batch.iter().map(|m| m.numbers.len()).sum::<usize>();
    }
    json_response(
        202,
        &json!({"campaign_id": id, "status": "queued", "total": total}),
    )
}

async fn get_campaign(store: &Store, id: &str) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(404, "campaign_not_found", format!("no campaign {id}"));
    if !campaigns::valid_campaign_id(id) {
        return Err(not_found());
    }
    let campaign = store.campaign(id).await?.ok_or_else(not_found)?;
    let prefix = ivr_core::pipeline::keys::campaign_numbers_prefix(id);
    let mut states = Vec::new();
    let mut cursor = None;
    // Each number has at most one key, so the listing ends within total / 1000 + 1 pages.
    for _ in 0..=campaign.total / 1000 + 1 {
        let page = store.list(&prefix, cursor, 1000).await?;
        states.extend(page.keys.into_iter().filter_map(|(_, meta)| {
            serde_json::from_value::<NumberMeta>(meta?)
                .ok()
                .map(|m| m.state)
        }));
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    let counts = campaigns::counts(campaign.total, states);
    json_response(
        200,
        &CampaignView {
            campaign_id: &campaign.id,
            flow: &campaign.flow,
            created_ms: campaign.created_ms,
            finished: counts.failed + counts.completed >= counts.total,
            counts,
        },
    )
}

/// `GET /campaigns/<id>`.
#[derive(Serialize)]
struct CampaignView<'a> {
    campaign_id: &'a str,
    flow: &'a str,
    created_ms: u64,
    /// Every number has failed or completed.
    finished: bool,
    counts: campaigns::Counts,
}
