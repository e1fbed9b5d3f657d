//! The call API's routes (`/calls`, `/campaigns`): bearer authentication, the rate limit of the
//! routes that place calls, and the moving of data between the request, the core's
//! [`ivr_core::api`] rules and [`Pipeline`], the stores and the queue.

use serde::{Deserialize, Serialize};

use ivr_core::api::calls::{self, Accepted, Placing};
use ivr_core::api::campaigns::{self, Campaign, CampaignState, Control, NumberView, NumbersQuery};
use ivr_core::api::erase::Erasure;
use ivr_core::auth;
use ivr_core::config::Config;
use ivr_core::engine::CallRecord;
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::flow::Registry;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::ports::{CallRecords, Clock};
use ivr_core::pipeline::Pipeline;
use ivr_core::records::filter::{Use, MAX_LIMIT};
use ivr_core::records::{csv, sql, stats, CallFilter, Cursor};
use ivr_core::routes::{query_of, query_pairs, ApiRoute};
use ivr_core::tokens::Scope;

use crate::apart::apart;
use crate::d1::CallsDb;
use crate::env::{
    config, event_time, now_ms, random_uuid, setup, CampaignClock, Env, RATE_LIMIT_BINDING,
    TEST_CLOCK_HEADER,
};
use crate::fetch::WorkerHttp;
use crate::http::{
    json_document, json_response, json_text, write, Document, Request, Response, Stream,
};
use crate::io::{perform, Op};
use crate::kv::Kv;
use crate::queue::WorkerQueue;
use crate::records::{Records, MOVES_PER_RUN};
use crate::sessions::Sessions;
use ivr_core::pipeline::keys::RECORD_PREFIX;

/// Answers one route of the call API.
pub async fn handle(
    route: ApiRoute,
    req: &Request,
    env: &Env,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let config = config(env);
    let authorization = req.header("authorization");
    let token = auth::check_bearer(authorization.as_deref(), &config.api_tokens)?;
    log.token = Some(token.name.clone());
    auth::require(token, route.scope())?;
    if route.scope() == Scope::Dial {
        rate_limit(env, &token.secret).await?;
    }
    let kv = Kv::open(env)?;
    let records = Records::open(&kv, env);
    let sessions = Sessions::open(env, config, &kv)?;
    let pipeline = setup(env).pipeline(&sessions, &records);
    let answer = async {
        match route {
            ApiRoute::PlaceCall => {
                let body = req.body(calls::MAX_BODY_BYTES).await?;
                apart(place_call(&pipeline, &body, config, log)).await
            }
            ApiRoute::ListCalls => apart(list_calls(records.db()?, filter(req, Use::List)?)).await,
            ApiRoute::ExportCalls => Ok(export_calls(
                records.db()?.clone(),
                filter(req, Use::Export)?,
            )),
            ApiRoute::Flows => Ok(json_document(Document::Flows)),
            ApiRoute::FlowStats(flow) => {
                let filter = filter(req, Use::Stats)?;
                apart(flow_stats(records.db()?, pipeline.registry, &flow, filter)).await
            }
            ApiRoute::Call(id) => json_response(200, &apart(pipeline.call_view(&id)).await?),
            ApiRoute::StartCampaign | ApiRoute::StartCampaignCsv => {
                let body = req.body(campaigns::MAX_BODY_BYTES).await?;
                let csv = matches!(route, ApiRoute::StartCampaignCsv);
                apart(start_campaign(&pipeline, &body, csv, req, env, config, log)).await
            }
            ApiRoute::Campaign(id) => apart(get_campaign(&records, &id, env)).await,
            ApiRoute::ControlCampaign(id, control) => {
                apart(control_campaign(&pipeline, &records, &id, control, env)).await
            }
            ApiRoute::CampaignNumbers(id) => {
                let query = NumbersQuery::parse(&query_pairs(query_of(&req.url)), true)?;
                apart(campaign_numbers(&records, &id, query)).await
            }
            ApiRoute::ExportCampaignNumbers(id) => {
                let query = NumbersQuery::parse(&query_pairs(query_of(&req.url)), false)?;
                apart(export_campaign_numbers(&records, id, query)).await
            }
            // On the events' clock: an erasure covers the calls that started before it.
            ApiRoute::EraseCall(id) => {
                let erasure = Erasure::call(&id)?;
                let at = event_time(env, req.header(TEST_CLOCK_HEADER).as_deref());
                json_response(200, &apart(pipeline.erase(&erasure, at, log)).await?)
            }
            ApiRoute::EraseCalls => {
                let erasure = Erasure::of_query(&query_pairs(query_of(&req.url)))?;
                let at = event_time(env, req.header(TEST_CLOCK_HEADER).as_deref());
                json_response(200, &apart(pipeline.erase(&erasure, at, log)).await?)
            }
            ApiRoute::MigrateRecords => {
                let (moved, remaining) = apart(crate::records::move_to_db(
                    &records,
                    RECORD_PREFIX,
                    MOVES_PER_RUN,
                ))
                .await?;
                json_response(200, &Migrated { moved, remaining })
            }
        }
    }
    .await;
    log.d1 = records.d1_rows();
    answer
}

/// The routes that place calls (and cost money) are limited per token by the Workers Rate
/// Limiting binding: a stolen or leaked token cannot dial faster than the configured rate.
/// Without the binding (a custom deploy that removed it) there is no limit.
async fn rate_limit(env: &Env, token: &str) -> Result<(), ApiError> {
    if !env.has(RATE_LIMIT_BINDING) {
        return Ok(());
    }
    let op = Op::RateLimit {
        binding: RATE_LIMIT_BINDING,
        key: &auth::rate_limit_key(token),
    };
    let within = perform(op).await.map_err(ApiError::internal)?;
    if within.as_deref() == Some("true") {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::RateLimited,
        "too many calls placed with this token; try again in a minute",
    )
    .retry_after(Some(60)))
}

async fn place_call(
    pipeline: &Pipeline<'_, Sessions, Records, WorkerHttp>,
    body: &[u8],
    config: &Config,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let request = calls::parse_call_request(body, pipeline.registry, config.caller_id.as_deref())?;
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

/// The query of `req` read for `used`.
fn filter(req: &Request, used: Use) -> Result<CallFilter, ApiError> {
    let pairs = query_pairs(query_of(&req.url));
    CallFilter::parse(used, pairs.iter().map(|(k, v)| (&**k, &**v)))
}

#[derive(Deserialize)]
struct ListedRow {
    ended_ms: u64,
    reference_id: String,
    record: String,
}

impl ListedRow {
    /// Where the page after this row starts.
    fn cursor(&self) -> Cursor {
        Cursor {
            ended_ms: self.ended_ms,
            reference_id: self.reference_id.clone(),
        }
    }
}

/// `GET /calls`: one page, newest first. One row more than the page is read to know whether
/// another page follows; the records are copied into the answer as stored (no re-encoding).
async fn list_calls(db: &CallsDb, filter: CallFilter) -> Result<Response, ApiError> {
    let mut rows: Vec<ListedRow> = db.rows(&sql::list(&filter, Some(filter.limit + 1))).await?;
    let more = rows.len() > filter.limit as usize;
    rows.truncate(filter.limit as usize);
    let cursor = more.then(|| rows.last()).flatten().map(ListedRow::cursor);
    let mut body = String::from(r#"{"calls":["#);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&row.record);
    }
    body.push_str(r#"],"cursor":"#);
    body.push_str(&serde_json::to_string(&cursor.map(|c| c.encode())).map_err(encoding)?);
    body.push('}');
    Ok(json_text(200, body))
}

fn encoding(e: serde_json::Error) -> ApiError {
    ApiError::new(ErrorCode::InternalError, format!("encoding: {e}"))
}

/// `GET /calls.csv`: every matching call, streamed a page of rows at a time (keyset pages of
/// [`MAX_LIMIT`]), so an export of any size holds one page in memory. A D1 failure after the
/// first page ends the stream with an error: the client sees a truncated download, not a
/// complete-looking file.
fn export_calls(db: CallsDb, mut filter: CallFilter) -> Response {
    let body: Stream = Box::pin(async move {
        write(csv::HEADER).await?;
        loop {
            let rows: Vec<ListedRow> = db.rows(&sql::list(&filter, Some(MAX_LIMIT))).await?;
            let mut chunk = String::new();
            for row in &rows {
                let record: CallRecord = ivr_core::json::read(row.record.as_bytes())
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                chunk.push_str(&csv::row(&record));
            }
            write(&chunk).await?;
            match rows.last().filter(|_| rows.len() == MAX_LIMIT as usize) {
                Some(last) => filter.cursor = Some(last.cursor()),
                None => return Ok(()),
            }
        }
    });
    Response::csv(body, "calls.csv")
}

/// `POST /campaigns/<id>/pause`, `/resume`, `/cancel`.
async fn control_campaign(
    pipeline: &Pipeline<'_, Sessions, Records, WorkerHttp>,
    records: &Records,
    id: &str,
    control: Control,
    env: &Env,
) -> Result<Response, ApiError> {
    let campaign = known_campaign(records, id).await?;
    let queue = WorkerQueue::open(env)?;
    let (state, requeued) = pipeline
        .control_campaign(
            &campaign.id,
            control,
            CampaignClock::of(env).now_ms(),
            &queue,
        )
        .await?;
    json_response(
        200,
        &Controlled {
            campaign_id: &campaign.id,
            requeued,
            state,
        },
    )
}

/// The campaign `id`, or `404 campaign_not_found`.
async fn known_campaign(records: &Records, id: &str) -> Result<Campaign, ApiError> {
    let not_found = || ApiError::new(ErrorCode::CampaignNotFound, format!("no campaign {id}"));
    if !campaigns::valid_campaign_id(id) {
        return Err(not_found());
    }
    records.campaign(id).await?.ok_or_else(not_found)
}

/// `GET /campaigns/<id>/numbers`: a page of its numbers, in order.
async fn campaign_numbers(
    records: &Records,
    id: &str,
    query: NumbersQuery,
) -> Result<Response, ApiError> {
    let campaign = known_campaign(records, id).await?;
    let statement = sql::numbers_page(&campaign.id, query.state, query.after, query.limit);
    let numbers: Vec<NumberView> = records.db()?.rows(&statement).await?;
    let full = numbers.len() == query.limit as usize;
    let cursor = numbers.last().filter(|_| full).map(|n| n.index.to_string());
    json_response(
        200,
        &NumbersPage {
            campaign_id: &campaign.id,
            cursor,
            numbers,
        },
    )
}

/// `GET /campaigns/<id>/numbers.csv`: every number (of `state`), streamed a page at a time.
async fn export_campaign_numbers(
    records: &Records,
    id: String,
    mut query: NumbersQuery,
) -> Result<Response, ApiError> {
    let campaign = known_campaign(records, &id).await?;
    let db = records.db()?.clone();
    let body: Stream = Box::pin(async move {
        write(campaigns::CSV_HEADER).await?;
        loop {
            let statement = sql::numbers_page(&campaign.id, query.state, query.after, query.limit);
            let rows: Vec<NumberView> = db.rows(&statement).await?;
            let full = rows.len() == query.limit as usize;
            let last = rows.last().filter(|_| full).map(|last| last.index);
            let chunk: String = rows.iter().map(campaigns::csv_row).collect();
            write(&chunk).await?;
            match last {
                Some(index) => query.after = Some(index),
                None => return Ok(()),
            }
        }
    });
    Ok(Response::csv(body, &format!("campaign-{id}.csv")))
}

/// `GET /flows/<name>/stats`: the flow's funnel over its calls that ended in the range (all of
/// them when no range is given).
async fn flow_stats(
    db: &CallsDb,
    registry: &Registry,
    name: &str,
    filter: CallFilter,
) -> Result<Response, ApiError> {
    let flow = registry
        .get(name)
        .ok_or_else(|| ApiError::new(ErrorCode::FlowNotFound, format!("no flow {name}")))?;
    let since = filter.since_ms.unwrap_or(0);
    let until = filter.until_ms.unwrap_or(i64::MAX as u64);
    let language = filter.language.as_deref();
    let results = db
        .batch(&stats::statements(flow, since, until, language))
        .await?;
    let [outcomes, visits, answers, keys, medians] = results.as_slice() else {
        return Err(ApiError::new(
            ErrorCode::InternalError,
            "D1 answered a batch of five queries with another number of results",
        ));
    };
    let rows = stats::Rows {
        outcomes: outcomes.rows()?,
        visits: visits.rows()?,
        answers: answers.rows()?,
        keys: keys.rows()?,
        medians: medians.rows()?,
    };
    json_response(
        200,
        &stats::assemble(flow, filter.since_ms, filter.until_ms, rows),
    )
}

/// A JSON body (`POST /campaigns`), or a CSV one (`POST /campaigns.csv`, the flow in the query).
async fn start_campaign(
    pipeline: &Pipeline<'_, Sessions, Records, WorkerHttp>,
    body: &[u8],
    csv: bool,
    req: &Request,
    env: &Env,
    config: &Config,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let default_caller_id = config.caller_id.as_deref();
    let request = match csv {
        true => {
            let query = query_pairs(query_of(&req.url));
            campaigns::parse_campaign_csv(body, &query, pipeline.registry, default_caller_id)?
        }
        false => campaigns::parse_campaign_request(body, pipeline.registry, default_caller_id)?,
    };
    log.flow = Some(request.flow.clone());
    let queue = WorkerQueue::open(env)?;
    let id = random_uuid().replace('-', "");
    let total = pipeline
        .start_campaign(request, id.clone(), CampaignClock::of(env).now_ms(), &queue)
        .await?;
    json_response(
        202,
        &Queued {
            campaign_id: &id,
            status: "queued",
            total,
        },
    )
}

async fn get_campaign(records: &Records, id: &str, env: &Env) -> Result<Response, ApiError> {
    let campaign = known_campaign(records, id).await?;
    let counts = records.campaign_counts(&campaign).await?;
    let state = records.campaign_state(&campaign.id).await?;
    let waiting = campaign.waiting(CampaignClock::of(env).now_ms());
    json_response(
        200,
        &CampaignView {
            campaign_id: &campaign.id,
            flow: &campaign.flow,
            created_ms: campaign.created_ms,
            start_ms: campaign.start_ms,
            end_ms: campaign.end_ms,
            window: campaign.window.as_ref(),
            waiting_for: waiting.map(|(reason, _)| reason),
            waiting_until: waiting.map(|(_, until)| until),
            state,
            finished: counts.failed + counts.completed >= counts.total,
            counts,
        },
    )
}

// The answers below are structs rather than `json!` values: a value put into `json!` is encoded
// through serde_json's `Value`, whose encoder of structs the wasm would hold for these alone. Their
// fields are in the order `json!` wrote them (its map's, by name).

/// `POST /records/migrate`.
#[derive(Serialize)]
struct Migrated {
    moved: u64,
    remaining: bool,
}

/// `POST /campaigns/<id>/pause`, `/resume`, `/cancel`.
#[derive(Serialize)]
struct Controlled<'a> {
    campaign_id: &'a str,
    requeued: usize,
    state: CampaignState,
}

/// `GET /campaigns/<id>/numbers`: the cursor is `null` on the last page.
#[derive(Serialize)]
struct NumbersPage<'a> {
    campaign_id: &'a str,
    cursor: Option<String>,
    numbers: Vec<NumberView>,
}

/// `POST /campaigns`.
#[derive(Serialize)]
struct Queued<'a> {
    campaign_id: &'a str,
    status: &'static str,
    total: usize,
}

/// `GET /campaigns/<id>`.
#[derive(Serialize)]
struct CampaignView<'a> {
    campaign_id: &'a str,
    flow: &'a str,
    created_ms: u64,
    /// When dialling may start, if the request said.
    #[serde(skip_serializing_if = "Option::is_none")]
    start_ms: Option<u64>,
    /// When dialling stops, if the request said.
    #[serde(skip_serializing_if = "Option::is_none")]
    end_ms: Option<u64>,
    /// The days and hours numbers are called, if the request said.
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<&'a campaigns::Window>,
    /// Set while the campaign's numbers (in its own zone) wait: for its start or its window.
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_for: Option<campaigns::WaitingFor>,
    /// ... and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_until: Option<u64>,
    /// Whether it dials (running), waits (paused), or never will again (cancelled).
    state: CampaignState,
    /// Every number has failed or completed.
    finished: bool,
    counts: campaigns::Counts,
}
