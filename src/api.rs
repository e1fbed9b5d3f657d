//! The call API's routes (`/calls`, `/campaigns`): bearer authentication, the rate limit of the
//! routes that place calls, and the moving of data between the request, the core's
//! [`ivr_core::api`] rules and [`Pipeline`], the stores and the queue.

use serde::Serialize;
use serde_json::json;
use worker::{web_sys, Env, Response};

use ivr_core::api::calls::{self, Accepted, Placing};
use ivr_core::api::campaigns;
use ivr_core::auth;
use ivr_core::config::Config;
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::log::RequestLog;
use ivr_core::pipeline::keys::{campaign_numbers_prefix, NumberMeta, RECORD_PREFIX};
use ivr_core::pipeline::ports::CallRecords;
use ivr_core::pipeline::Pipeline;
use ivr_core::routes::{query_of, query_pairs, ApiRoute};
use ivr_core::tokens::Scope;

use crate::env::{config, now_ms, random_uuid, registry, WorkerClock, RATE_LIMIT_BINDING};
use crate::fetch::WorkerHttp;
use crate::http::{internal, json_response, read_body};
use crate::kv::Kv;
use crate::queue::WorkerQueue;
use crate::sessions::Sessions;

/// Answers one route of the call API.
pub async fn handle(
    route: ApiRoute,
    req: &web_sys::Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let config = config(env);
    let authorization = req.headers().get("authorization").ok().flatten();
    let token = auth::check_bearer(authorization.as_deref(), &config.api_tokens)?;
    log.token = Some(token.name.clone());
    auth::require(token, route.scope())?;
    if route.scope() == Scope::Dial {
        rate_limit(env, &token.secret).await?;
    }
    let kv = Kv::open(env)?;
    let sessions = Sessions::open(env, config, &kv)?;
    let pipeline = Pipeline {
        sessions: &sessions,
        records: &kv,
        http: &WorkerHttp,
        clock: &WorkerClock,
        registry: registry(),
        config,
    };
    match route {
        ApiRoute::PlaceCall => {
            let body = read_body(req, calls::MAX_BODY_BYTES).await?;
            place_call(&pipeline, &body, config, log).await
        }
        ApiRoute::ListCalls => {
            let pairs = query_pairs(query_of(&req.url()));
            let query = calls::parse_list_query(pairs.iter().map(|(k, v)| (&**k, &**v)))?;
            list_calls(&kv, query).await
        }
        ApiRoute::Call(id) => json_response(200, &pipeline.call_view(&id).await?),
        ApiRoute::StartCampaign => {
            let body = read_body(req, campaigns::MAX_BODY_BYTES).await?;
            start_campaign(&pipeline, &body, env, config, log).await
        }
        ApiRoute::Campaign(id) => get_campaign(&kv, &id).await,
    }
}

/// The routes that place calls (and cost money) are limited per token by the Workers Rate
/// Limiting binding: a stolen or leaked token cannot dial faster than the configured rate.
/// Without the binding (a custom deploy that removed it) there is no limit.
async fn rate_limit(env: &Env, token: &str) -> Result<(), ApiError> {
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
    Err(ApiError::new(
        ErrorCode::RateLimited,
        "too many calls placed with this token; try again in a minute",
    )
    .retry_after(Some(60)))
}

async fn place_call(
    pipeline: &Pipeline<'_, Sessions, Kv, WorkerHttp>,
    body: &[u8],
    config: &Config,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let request = calls::parse_call_request(body, registry(), config.caller_id.as_deref())?;
    log.flow = Some(request.flow.clone());
    let placing = Placing {
        external_id: request.external_id.unwrap_or_else(random_uuid),
        flow: request.flow,
        to: request.to,
        caller_id: request.caller_id,
        vars: request.vars,
        options: request.options,
    };
    let placed = pipeline.call(&placing, now_ms()).await?;
    log.reference_id = Some(placed.accepted.reference_id.clone());
    log.warning = placed.warning.map(Into::into);
    json_response(
        202,
        &Accepted {
            reference_id: &placed.accepted.reference_id,
            external_id: &placing.external_id,
            status: "dial_accepted",
        },
    )
}

async fn list_calls(kv: &Kv, query: calls::ListQuery) -> Result<Response, ApiError> {
    let page = kv.list(RECORD_PREFIX, query.cursor, query.limit).await?;
    let keys: Vec<String> = page
        .keys
        .into_iter()
        .filter(|(_, meta)| calls::listed(meta.as_ref(), query.flow.as_deref()))
        .map(|(name, _)| name)
        .collect();
    let records = kv.records_at(&keys).await?;
    json_response(200, &json!({"calls": records, "cursor": page.cursor}))
}

async fn start_campaign(
    pipeline: &Pipeline<'_, Sessions, Kv, WorkerHttp>,
    body: &[u8],
    env: &Env,
    config: &Config,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let request = campaigns::parse_campaign_request(body, registry(), config.caller_id.as_deref())?;
    log.flow = Some(request.flow.clone());
    let queue = WorkerQueue::open(env)?;
    let id = random_uuid().replace('-', "");
    let total = pipeline
        .start_campaign(request, id.clone(), now_ms(), &queue)
        .await?;
    json_response(
        202,
        &json!({"campaign_id": id, "status": "queued", "total": total}),
    )
}

async fn get_campaign(kv: &Kv, id: &str) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(ErrorCode::CampaignNotFound, format!("no campaign {id}"));
    if !campaigns::valid_campaign_id(id) {
        return Err(not_found());
    }
    let campaign = kv.campaign(id).await?.ok_or_else(not_found)?;
    let prefix = campaign_numbers_prefix(id);
    let mut states = Vec::new();
    let mut cursor = None;
    // Each number has at most one key, so the listing ends within total / 1000 + 1 pages.
    for _ in 0..=campaign.total / 1000 + 1 {
        let page = kv.list(&prefix, cursor, 1000).await?;
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
