//! The worker's HTTP contract as an OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! Built from the same sources the worker runs on, so it cannot drift from them: the operations
//! are [`OPERATIONS`] (checked against the router by the tests below), the request fields are the
//! lists the body parsers accept, the error codes are [`ErrorCode::ALL`], and the scopes are
//! [`Scope`]s.

use serde_json::{json, Map, Value};

use crate::error::ErrorCode;
use crate::flow::{Direction, Registry};
use crate::telesign::action::{MAX_DTMF_LEN, MAX_EXTERNAL_ID_LEN};
use crate::telesign::Language;
use crate::tokens::Scope;

use crate::api::body::DIAL_OPTION_FIELDS;
use crate::api::calls::CALL_FIELDS;
use crate::api::campaigns::{
    window_pattern, NumberState, CAMPAIGN_FIELDS, DEFAULT_NUMBERS_LIMIT, MAX_NUMBERS,
    MAX_NUMBERS_LIMIT, MAX_REDIAL_AFTER_SECS, MAX_REDIAL_ATTEMPTS, SCHEDULE_FIELDS,
};
use crate::engine::CallOutcome;
use crate::records::filter::{Use, DEFAULT_LIMIT, MAX_LIMIT};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, this document).
    Open,
    /// Telesign, with its signature (or the event URL's Basic credentials).
    Telesign,
    /// A bearer token with this scope.
    Token(Scope),
}

/// One operation of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub method: &'static str,
    /// The OpenAPI path template, e.g. `/calls/{id}`.
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// The success status.
    pub status: u16,
    /// The error codes the operation can answer, beyond those every operation of its access
    /// can (see [`common_errors`]).
    pub errors: &'static [ErrorCode],
}

use ErrorCode as E;

/// What a query of the call records in D1 can answer.
const RECORD_QUERY_ERRORS: &[ErrorCode] = &[
    E::InvalidQuery,
    E::StoreNotConfigured,
    E::StoreUnavailable,
    E::StoredDataUnreadable,
];

/// What pausing, resuming or cancelling a campaign can answer.
const CONTROL_ERRORS: &[ErrorCode] = &[
    E::CampaignNotFound,
    E::CampaignCancelled,
    E::StoreNotConfigured,
    E::StoreUnavailable,
    E::StoredDataUnreadable,
    E::QueueUnavailable,
];

/// Every operation the worker serves.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/healthz",
        id: "health",
        summary: "Liveness and version",
        access: Access::Open,
        status: 200,
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/openapi.json",
        id: "openapi",
        summary: "This document",
        access: Access::Open,
        status: 200,
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/webhook",
        id: "telesignEvent",
        summary: "Telesign's customer event URL: a call event in, the next JSON-RPC action out (204: none)",
        access: Access::Telesign,
        status: 200,
        errors: &[
            E::UnreadableBody,
            E::InvalidJson,
            E::InvalidEvent,
            E::MissingField,
            E::InvalidField,
            E::PayloadTooLarge,
            E::StoredDataUnreadable,
            E::StoreUnavailable,
        ],
    },
    Operation {
        method: "post",
        path: "/calls",
        id: "placeCall",
        summary: "Place one outbound call running an outbound flow",
        access: Access::Token(Scope::Dial),
        status: 202,
        errors: &[
            E::InvalidNumber,
            E::InvalidCallerId,
            E::MissingCallerId,
            E::UnknownFlow,
            E::InvalidVars,
            E::MissingVars,
            E::InvalidExternalId,
            E::InvalidDialOption,
            E::PremiumToNumberRejected,
            E::ToNumberBlockedByCountry,
            E::ToNumberBlockedByCustomer,
            E::ToNumberBlockedByTelesign,
            E::CallerIdNumberNotOwned,
            E::CallerIdNumberNotProvided,
            E::InvalidPhoneNumber,
            E::ToNumberNotProvided,
            E::UnsupportedCallState,
            E::DialRejected,
            E::DialBadRequest,
            E::TelesignCredentialsRejected,
            E::TelesignRateLimited,
            E::TelesignUnavailable,
            E::TelesignError,
            E::TelesignInvalidResponse,
            E::TelesignTimeout,
            E::TelesignUnreachable,
            E::StoreUnavailable,
        ],
    },
    Operation {
        method: "get",
        path: "/calls",
        id: "listCalls",
        summary: "Call records, newest first, a page at a time",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: RECORD_QUERY_ERRORS,
    },
    Operation {
        method: "get",
        path: "/calls.csv",
        id: "exportCalls",
        summary: "Call records as CSV (one row per call), with the filters of listCalls",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: RECORD_QUERY_ERRORS,
    },
    Operation {
        method: "get",
        path: "/flows",
        id: "listFlows",
        summary: "The flows compiled in: which numbers reach each, the vars an outbound flow needs, its steps and its diagram",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/flows/{name}/stats",
        id: "flowStats",
        summary: "A flow's funnel: calls, outcomes, and per step visits, exits, entries and time",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: &[
            E::InvalidQuery,
            E::FlowNotFound,
            E::StoreNotConfigured,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
    Operation {
        method: "post",
        path: "/records/migrate",
        id: "migrateRecords",
        summary: "Moves up to 40 call records of versions before D1 from KV to D1; call again while `remaining`",
        access: Access::Token(Scope::Admin),
        status: 200,
        errors: &[
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
    Operation {
        method: "get",
        path: "/calls/{id}",
        id: "getCall",
        summary: "The live session of a call, or its final record",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: &[
            E::CallNotFound,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
        Operation {
        method: "delete",
        path: "/calls/{id}",
        id: "eraseCall",
        summary: "Erase one call: its record, steps and answers, the outbox, held lookups; a live call goes on and nothing of it is kept when it ends. Idempotent",
        access: Access::Token(Scope::Admin),
        status: 200,
        errors: &[
            E::CallNotFound,
            E::StoreNotConfigured,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
    Operation {
        method: "delete",
        path: "/calls",
        id: "eraseCalls",
        summary: "Erase every call from or to a number (`number`, required): records, steps, answers, the outbox, pending calls, held lookups, the number in campaign results; live calls go on and nothing of them is kept when they end. Idempotent",
        access: Access::Token(Scope::Admin),
        status: 200,
        errors: &[
            E::InvalidQuery,
            E::StoreNotConfigured,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
    Operation {
        method: "post",
        path: "/campaigns",
        id: "startCampaign",
        summary: "Dial one outbound flow to many numbers through the campaign queue, each number with vars of its own if it has any, from a start time, within a calling window, until an end",
        access: Access::Token(Scope::Dial),
        status: 202,
        errors: &[
            E::UnknownTimeZone,
            E::ScheduleConflict,
            E::InvalidNumber,
            E::InvalidNumbers,
            E::DuplicateNumber,
            E::InvalidCallerId,
            E::MissingCallerId,
            E::UnknownFlow,
            E::InvalidVars,
            E::MissingVars,
            E::InvalidDialOption,
            E::StoreUnavailable,
            E::QueueUnavailable,
        ],
    },
    Operation {
        method: "post",
        path: "/campaigns.csv",
        id: "startCampaignCsv",
        summary: "startCampaign from a spreadsheet: a CSV with a header row naming `to`, optionally `time_zone`, and a column per var, then a row per number; the flow, start, end and window in the query",
        access: Access::Token(Scope::Dial),
        status: 202,
        errors: &[
            E::UnknownTimeZone,
            E::ScheduleConflict,
            E::InvalidCsv,
            E::InvalidQuery,
            E::InvalidNumber,
            E::InvalidNumbers,
            E::DuplicateNumber,
            E::InvalidCallerId,
            E::MissingCallerId,
            E::UnknownFlow,
            E::InvalidVars,
            E::MissingVars,
            E::StoreUnavailable,
            E::QueueUnavailable,
        ],
    },
        Operation {
        method: "post",
        path: "/campaigns/{id}/pause",
        id: "pauseCampaign",
        summary: "Pause a campaign: it dials nobody more until resumed (calls already ringing finish). Idempotent",
        access: Access::Token(Scope::Control),
        status: 200,
        errors: CONTROL_ERRORS,
    },
    Operation {
        method: "post",
        path: "/campaigns/{id}/resume",
        id: "resumeCampaign",
        summary: "Resume a paused campaign: its numbers not dialled yet are queued again (none is dialled twice). Idempotent",
        access: Access::Token(Scope::Control),
        status: 200,
        errors: CONTROL_ERRORS,
    },
    Operation {
        method: "post",
        path: "/campaigns/{id}/cancel",
        id: "cancelCampaign",
        summary: "Cancel a campaign: it never dials again, and its numbers not dialled yet fail as `cancelled` (calls already ringing finish). Idempotent",
        access: Access::Token(Scope::Control),
        status: 200,
        errors: CONTROL_ERRORS,
    },
    Operation {
        method: "get",
        path: "/campaigns/{id}/numbers",
        id: "getCampaignNumbers",
        summary: "A campaign's numbers in order, a page at a time: each one's state, attempts, outcome, call and the answers its callee gave",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: &[
            E::InvalidQuery,
            E::CampaignNotFound,
            E::StoreNotConfigured,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
    Operation {
        method: "get",
        path: "/campaigns/{id}/numbers.csv",
        id: "exportCampaignNumbers",
        summary: "Every number of a campaign as CSV (one row per number), with the filter of getCampaignNumbers",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: &[
            E::InvalidQuery,
            E::CampaignNotFound,
            E::StoreNotConfigured,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
    Operation {
        method: "get",
        path: "/campaigns/{id}",
        id: "getCampaign",
        summary: "A campaign's progress",
        access: Access::Token(Scope::Read),
        status: 200,
        errors: &[
            E::CampaignNotFound,
            E::StoreUnavailable,
            E::StoredDataUnreadable,
        ],
    },
];

/// The codes any operation of `access` can answer: routing (every path), configuration,
/// authentication, and for the dialling ones their JSON body and rate limit.
pub fn common_errors(access: Access) -> Vec<ErrorCode> {
    let mut codes = vec![E::NotFound, E::MethodNotAllowed, E::InternalError];
    match access {
        Access::Open => {}
        Access::Telesign => {
            codes.extend([E::BadSignature, E::NotConfigured, E::StoreNotConfigured])
        }
        Access::Token(scope) => {
            codes.extend([
                E::Unauthorized,
                E::InsufficientScope,
                E::NotConfigured,
                E::StoreNotConfigured,
            ]);
            // The operations that dial read a JSON body and are rate limited per token.
            if scope == Scope::Dial {
                codes.extend([
                    E::InvalidJson,
                    E::InvalidBody,
                    E::UnknownField,
                    E::MissingField,
                    E::InvalidField,
                    E::PayloadTooLarge,
                    E::RateLimited,
                ]);
            }
        }
    }
    codes
}

/// The document, for the flows of `registry` (the outbound ones are the `flow` values the call
/// API accepts, each with the vars it needs).
pub fn document(version: &str, registry: &Registry) -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        if let Value::Object(map) = entry {
            map.insert(op.method.to_owned(), operation(op, registry));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Telesign IVR worker",
            "version": version,
            "description": "The event URL Telesign posts call events to, and the call API: outbound calls, campaigns and call records. Errors are `{\"error\": {\"code\", \"message\"}}` with a stable code.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (API_TOKEN, or an API_TOKENS entry); its scopes are `read` and `dial`."},
                "telesignSignature": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`TSA <customer_id>:<base64 HMAC-SHA256 of the body>` (or X-TS-Authorization), or the event URL's Basic credentials with WEBHOOK_AUTH=basic."},
            },
            "schemas": schemas(registry),
        },
    })
}

fn operation(op: &Operation, registry: &Registry) -> Value {
    let mut responses = Map::new();
    let success = match op.id {
        "telesignEvent" => {
            json!({"description": "The next action", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Action"}}}})
        }
        "health" => {
            json!({"description": "Alive", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}})
        }
        "openapi" => {
            json!({"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}})
        }
        "placeCall" => {
            json!({"description": "Telesign accepted the dial", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}})
        }
        "pauseCampaign" | "resumeCampaign" | "cancelCampaign" => {
            json!({"description": "The campaign's state now", "content": {"application/json": {"schema": {"type": "object", "required": ["campaign_id", "state", "requeued"], "properties": {"campaign_id": {"type": "string"}, "state": {"type": "string", "enum": ["running", "paused", "cancelled"]}, "requeued": {"type": "integer", "minimum": 0, "description": "How many numbers a resume queued again"}}}}}})
        }
        "startCampaign" => {
            json!({"description": "Queued", "content": {"application/json": {"schema": {"type": "object", "required": ["campaign_id", "status", "total"], "properties": {"campaign_id": {"type": "string"}, "status": {"const": "queued"}, "total": {"type": "integer"}}}}}})
        }
        "listCalls" => {
            json!({"description": "A page of call records", "content": {"application/json": {"schema": {"type": "object", "required": ["calls"], "properties": {"calls": {"type": "array", "items": {"type": "object"}}, "cursor": {"type": ["string", "null"]}}}}}})
        }
        "migrateRecords" => {
            json!({"description": "Moved", "content": {"application/json": {"schema": {"type": "object", "required": ["moved", "remaining"], "properties": {"moved": {"type": "integer"}, "remaining": {"type": "boolean"}}}}}})
        }
        "listFlows" => {
            json!({"description": "The flows", "content": {"application/json": {"schema": {"type": "object", "required": ["flows"], "properties": {"flows": {"type": "array", "items": {"type": "object", "required": ["name", "direction", "language", "numbers", "default_inbound", "needs", "steps", "diagram"]}}}}}}})
        }
        "exportCalls" | "exportCampaignNumbers" => {
            json!({"description": "The rows, a header row first", "content": {"text/csv": {"schema": {"type": "string"}}}})
        }
        "eraseCall" | "eraseCalls" => {
            json!({"description": "What was deleted (all zero when it was already)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erased"}}}})
        }
        _ => {
            json!({"description": "Found", "content": {"application/json": {"schema": {"type": "object"}}}})
        }
    };
    responses.insert(op.status.to_string(), success);
    if op.id == "health" {
        responses.insert(
            "503".to_owned(),
            json!({"description": "A flow lacks a setting it declares (`missing_settings`): its calls end in its `on_error` step", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}),
        );
    }
    if op.id == "telesignEvent" {
        responses.insert(
            "204".to_owned(),
            json!({"description": "No action is needed (the call ended, a number rings, an unknown event type)"}),
        );
    }
    let mut codes = common_errors(op.access);
    codes.extend(op.errors.iter().copied());
    let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
    for code in codes {
        let list = by_status.entry(code.status()).or_default();
        if !list.contains(&code.as_str()) {
            list.push(code.as_str());
        }
    }
    for (status, codes) in by_status {
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("An error: {}", codes.join(", ")),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }),
        );
    }
    let mut out = json!({
        "operationId": op.id,
        "summary": op.summary,
        "responses": responses,
    });
    let security = match op.access {
        Access::Open => json!([]),
        Access::Telesign => json!([{"telesignSignature": []}]),
        Access::Token(scope) => json!([{"bearer": [scope.as_str()]}]),
    };
    out["security"] = security;
    match op.id {
        "placeCall" => out["requestBody"] = body("CallRequest"),
        "startCampaign" => out["requestBody"] = body("CampaignRequest"),
        "startCampaignCsv" => {
            out["requestBody"] = json!({"required": true, "content": {"text/csv": {"schema": csv_schema(registry)}}});
            let zones = known_zones(registry);
            let outbound: Vec<&str> = registry
                .flows()
                .iter()
                .filter(|f| f.direction == Direction::Outbound)
                .map(|f| f.name.as_str())
                .collect();
            out["parameters"] = json!([
                {"name": "flow", "in": "query", "required": true, "schema": {"type": "string", "enum": outbound}},
                {"name": "caller_id_number", "in": "query", "schema": {"type": "string", "pattern": NUMBER_PATTERN}},
                {"name": "start_at", "in": "query", "schema": {"anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}]}},
                {"name": "end_at", "in": "query", "schema": {"anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}]}},
                {"name": "window", "in": "query", "schema": {"anyOf": [{"type": "string", "pattern": window_pattern(&zones)}, {"const": ""}]}},
                {"name": "redial_attempts", "in": "query", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_REDIAL_ATTEMPTS}, {"const": ""}]}},
                {"name": "redial_after_secs", "in": "query", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_REDIAL_AFTER_SECS}, {"const": ""}]}},
            ]);
        }
        "telesignEvent" => out["requestBody"] = body("Event"),
        "getCampaignNumbers" | "exportCampaignNumbers" => {
            let states: Vec<&str> = NumberState::ALL.iter().map(|s| s.as_str()).collect();
            let mut parameters = vec![
                json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 128}}),
                // An empty value is the parameter left out, as in every query of the API.
                json!({"name": "state", "in": "query", "schema": {"anyOf": [{"type": "string", "enum": states}, {"const": ""}]}}),
            ];
            if op.id == "getCampaignNumbers" {
                parameters.push(json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_NUMBERS_LIMIT, "default": DEFAULT_NUMBERS_LIMIT}}));
                parameters.push(json!({"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{0,9}$"}}));
            }
            out["parameters"] = Value::Array(parameters);
        }
        "getCall" | "getCampaign" | "eraseCall" | "pauseCampaign" | "resumeCampaign"
        | "cancelCampaign" => {
            out["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 128}}]);
        }
        "listCalls" => out["parameters"] = query(Use::List),
        "eraseCalls" => {
            out["parameters"] = json!([{"name": "number", "in": "query", "required": true, "schema": {"type": "string", "pattern": NUMBER_PATTERN}}]);
        }
        "exportCalls" => out["parameters"] = query(Use::Export),
        "flowStats" => {
            let flows: Vec<&str> = registry.flows().iter().map(|f| f.name.as_str()).collect();
            let mut parameters = vec![
                json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "enum": flows}}),
            ];
            parameters.extend(query(Use::Stats).as_array().cloned().unwrap_or_default());
            out["parameters"] = Value::Array(parameters);
        }
        _ => {}
    }
    out
}

/// The query parameters of a records route, from the parser's own list.
fn query(used: Use) -> Value {
    // An empty value is the parameter left out (as an empty form field sends it).
    let time = json!({"anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "string", "pattern": "^[0-9]{0,15}$"},
    ], "description": "ISO 8601 date or date-time, or ms since 1970"});
    let choice = |names: Vec<&'static str>| {
        let mut names = names;
        names.push("");
        json!({"type": "string", "enum": names})
    };
    let parameters: Vec<Value> = used
        .parameters()
        .iter()
        .map(|name| {
            let schema = match *name {
                "outcome" => choice(CallOutcome::ALL.iter().map(|o| o.as_str()).collect()),
                                "direction" => choice(Direction::ALL.iter().map(|d| d.as_str()).collect()),
                "language" => choice(Language::ALL.iter().map(|l| l.as_str()).collect()),
                                "number" => json!({"type": "string", "pattern": r"^(\+?[0-9]{7,15})?$"}),
                "campaign" => json!({"type": "string", "pattern": "^([0-9a-f]{32})?$"}),
                "since" | "until" => time.clone(),
                "limit" => {
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT})
                }
                "cursor" => json!({"type": "string", "pattern": r"^([0-9]{1,19}\.[A-Za-z0-9._-]{1,128})?$"}),
                _ => json!({"type": "string"}),
            };
            json!({"name": name, "in": "query", "schema": schema})
        })
        .collect();
    Value::Array(parameters)
}

/// A campaign's CSV: a header naming `to` and every var any outbound flow needs, then rows with
/// a number and a value for each (the API takes other columns and empty cells too; the pattern is
/// what every flow accepts).
fn csv_schema(registry: &Registry) -> Value {
    let mut needs: Vec<&str> = registry
        .flows()
        .iter()
        .filter(|f| f.direction == Direction::Outbound)
        .flat_map(|f| f.needs.iter().map(String::as_str))
        .collect();
    needs.sort_unstable();
    needs.dedup();
    let header: String = needs.iter().map(|n| format!(",{n}")).collect();
    let cell = r#",[^\s,"][^,"\r\n]{0,49}"#;
    let row = format!(r"\r?\n\+?[0-9]{{7,15}}({cell}){{{}}}", needs.len());
    json!({"type": "string", "pattern": format!(r"^to{header}({row})+(\r?\n)?$"),
        "description": "A header row naming a `to` column and a column per var, then a row per number (RFC 4180)"})
}

/// The time zones the worker knows: a window's and a number's must be one of them.
fn known_zones(registry: &Registry) -> Vec<String> {
    crate::flow::lock::zones(registry).into_iter().collect()
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// A phone number as the API reads it.
const NUMBER_PATTERN: &str = r"^\+?[0-9]{7,15}$";

/// A property of a request body, by field name.
fn field(name: &str, outbound: &[&str], zones: &[String]) -> Value {
    match name {
        "to" | "caller_id_number" => json!({"type": "string", "pattern": NUMBER_PATTERN}),
        "flow" => {
            json!({"type": "string", "enum": outbound, "description": "An outbound flow of this worker"})
        }
        "vars" => json!({
            "type": "object",
            "maxProperties": crate::api::body::MAX_VARS,
            "propertyNames": {"pattern": "^[A-Za-z0-9_]{1,64}$"},
            "additionalProperties": {"type": "string", "maxLength": crate::api::body::MAX_VAR_VALUE_LEN},
            "description": "Values the flow's templates read; every var the flow needs is required",
        }),
        "external_id" => json!({
            "type": "string",
            "maxLength": MAX_EXTERNAL_ID_LEN,
            // Control characters as Rust's `char::is_control` has them: C0, DEL and C1.
            "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
            "not": {"pattern": r"^\s*cmp_"},
            "description": "Your id for the call, echoed on its events; not starting with `cmp_` (campaigns use it)",
        }),
        "numbers" => {
            let number = json!({"type": "string", "pattern": NUMBER_PATTERN});
            let zone = json!({"anyOf": [{"type": "string", "enum": zones}, {"type": "null"}],
                "description": "The number's own time zone for the campaign's window (which it needs)"});
            let own = json!({"type": "object", "additionalProperties": false, "required": ["to"],
                "properties": {"to": number, "vars": field("vars", outbound, zones), "time_zone": zone},
                "description": "A number with vars of its own, which win over the campaign's"});
            json!({"type": "array", "items": {"anyOf": [number, own]},
            "minItems": 1, "maxItems": MAX_NUMBERS, "uniqueItems": true})
        }
        "record_call" | "is_primary" => json!({"type": "boolean"}),
        "start_at" => json!({"type": "string", "format": "date-time",
            "description": "When dialling may start (RFC 3339); in the past or absent: at once"}),
        "end_at" => json!({"type": "string", "format": "date-time",
            "description": "When dialling stops (RFC 3339): a number not dialled by then fails as `outside_window`; 409 `schedule_conflict` when it has passed or comes before `start_at`"}),
        "redial_attempts" => {
            json!({"type": "integer", "minimum": 1, "maximum": MAX_REDIAL_ATTEMPTS,
            "description": "Dials of a number in all when its call is not answered (Telesign's dial_completed `failed`: no answer, busy or failed); default 1, no redial"})
        }
        "redial_after_secs" => {
            json!({"type": "integer", "minimum": 1, "maximum": MAX_REDIAL_AFTER_SECS,
            "description": "From a call not answered to its redial (default 3600); the cron queues it, within its run interval"})
        }
        "window" => json!({"type": "string", "pattern": window_pattern(zones),
            "description": "Days, hour ranges and a time zone the worker knows: `Mon-Fri 09:00-20:00 America/New_York`"}),
        "max_call_duration" => json!({"type": "integer", "minimum": 1, "maximum": 14_400}),
        "send_dtmf" => {
            json!({"type": "string", "pattern": "^[0-9A-D*#w]+$", "maxLength": MAX_DTMF_LEN})
        }
        _ => json!({}),
    }
}

/// A request body that names an outbound flow: its fields, and for each flow the vars it needs
/// (present and not blank).
fn object(fields: &[&str], required: &[&str], registry: &Registry) -> Value {
    let outbound: Vec<&str> = registry
        .flows()
        .iter()
        .filter(|f| f.direction == Direction::Outbound)
        .map(|f| f.name.as_str())
        .collect();
    let zones = known_zones(registry);
    // An optional field may also be `null`, which the API reads as absent.
    let properties: Map<String, Value> = fields
        .iter()
        .chain(DIAL_OPTION_FIELDS.iter())
        .map(|f| {
            let schema = field(f, &outbound, &zones);
            let schema = if required.contains(f) {
                schema
            } else {
                json!({"anyOf": [schema, {"type": "null"}]})
            };
            ((*f).to_owned(), schema)
        })
        .collect();
    let needs: Vec<Value> = registry
        .flows()
        .iter()
        .filter(|f| f.direction == Direction::Outbound && !f.needs.is_empty())
        .map(|f| {
            let vars: Map<String, Value> = f
                .needs
                .iter()
                .map(|n| (n.clone(), json!({"type": "string", "pattern": r"\S"})))
                .collect();
            json!({
                "if": {"properties": {"flow": {"const": f.name}}, "required": ["flow"]},
                "then": {"required": ["vars"], "properties": {"vars": {"type": "object", "required": f.needs, "properties": vars}}},
            })
        })
        .collect();
    let mut all = needs;
    if fields.contains(&"window") {
        // A number's own time zone is read in the campaign's window: without one, it has none.
        let no_window = json!({"properties": {"window": {"type": "null"}}});
        let no_zones = json!({"properties": {"numbers": {"items": {"anyOf": [
            {"type": "string"},
            {"type": "object", "properties": {"time_zone": {"type": "null"}}},
        ]}}}});
        all.push(json!({"if": no_window, "then": no_zones}));
    }
    json!({"type": "object", "additionalProperties": false, "required": required,
        "properties": properties, "allOf": all})
}

fn schemas(registry: &Registry) -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string"},
            }}},
        },
        "Health": {
            "type": "object",
            "required": ["status", "version"],
            "properties": {
                "status": {"enum": ["ok", "misconfigured"]},
                "version": {"type": "string"},
                "missing_settings": {"type": "array", "items": {"type": "string"}, "description": "`flow: SETTING` for each setting a flow declares that has no value"},
            },
        },
        "CallRequest": object(CALL_FIELDS, &["to", "flow"], registry),
        "CampaignRequest": object(&[CAMPAIGN_FIELDS, SCHEDULE_FIELDS].concat(), &["flow", "numbers"], registry),
        "Accepted": {"type": "object", "required": ["reference_id", "external_id", "status"], "properties": {
            "reference_id": {"type": "string"}, "external_id": {"type": "string"}, "status": {"const": "dial_accepted"},
        }},
                "Erased": {"type": "object", "required": ["records", "outbox", "pending", "lookups"], "properties": {
            "records": {"type": "integer", "minimum": 0, "description": "Call records deleted from D1, with their steps and answers"},
            "outbox": {"type": "integer", "minimum": 0, "description": "Records deleted from the KV outbox (and records of versions before D1)"},
            "pending": {"type": "integer", "minimum": 0, "description": "Outbound calls deleted while their dial was under way"},
            "lookups": {"type": "integer", "minimum": 0, "description": "Held lookups' outcomes deleted"},
            "live": {"type": "boolean", "description": "eraseCall: whether the call is live; it goes on, and nothing of it is kept when it ends"},
        }},
        "Event": {"type": "object", "required": ["event", "reference_id"], "properties": {
            "event": {"type": "string"}, "reference_id": {"type": "string"}, "data": {"type": "object"},
        }},
        "Action": {"type": "object", "required": ["jsonrpc", "method", "params"], "properties": {
            "jsonrpc": {"const": "2.0"}, "method": {"type": "string"}, "params": {"type": "object"},
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::campaigns::Control;
    use crate::routes::{route, ApiRoute, Route};

    /// A concrete path for a template.
    fn sample(path: &str) -> String {
        path.replace("{id}", "0123456789abcdef0123456789abcdef")
            .replace("{name}", "bank_menu")
    }

    #[test]
    fn every_operation_is_a_route_with_the_access_it_documents() {
        for op in OPERATIONS {
            let method = op.method.to_uppercase();
            let routed = route(&method, &sample(op.path))
                .unwrap_or_else(|e| panic!("{} {}: {e:?}", op.method, op.path));
            let access = match &routed {
                Route::Health | Route::OpenApi => Access::Open,
                Route::Webhook => Access::Telesign,
                Route::Api(api) => Access::Token(api.scope()),
            };
            assert_eq!(access, op.access, "{} {}", op.method, op.path);
        }
    }

    #[test]
    fn every_route_is_an_operation() {
        // Each path's `Allow` list (from a method it does not accept) names exactly the
        // documented methods (HEAD aside, which HTTP gives every GET).
        for op in OPERATIONS {
            let e = route("PATCH", &sample(op.path)).unwrap_err();
            let allowed: Vec<String> = e
                .allow
                .unwrap_or_default()
                .split(", ")
                .filter(|m| *m != "HEAD")
                .map(str::to_lowercase)
                .collect();
            let mut documented: Vec<String> = OPERATIONS
                .iter()
                .filter(|o| o.path == op.path)
                .map(|o| o.method.to_owned())
                .collect();
            documented.sort();
            let mut allowed = allowed;
            allowed.sort();
            assert_eq!(allowed, documented, "{}", op.path);
        }
        // And the API routes the router knows are all documented.
        for api in [
            ApiRoute::PlaceCall,
            ApiRoute::ListCalls,
            ApiRoute::ExportCalls,
            ApiRoute::Flows,
            ApiRoute::FlowStats(String::new()),
            ApiRoute::MigrateRecords,
            ApiRoute::Call(String::new()),
            ApiRoute::StartCampaign,
            ApiRoute::Campaign(String::new()),
            ApiRoute::EraseCall(String::new()),
            ApiRoute::EraseCalls,
            ApiRoute::StartCampaignCsv,
            ApiRoute::ControlCampaign(String::new(), Control::Pause),
            ApiRoute::CampaignNumbers(String::new()),
            ApiRoute::ExportCampaignNumbers(String::new()),
        ] {
            assert!(
                OPERATIONS
                    .iter()
                    .any(|o| o.access == Access::Token(api.scope())),
                "{api:?}"
            );
        }
    }

    #[test]
    fn the_document_names_every_error_code_and_every_body_field() {
        let registry = Registry::new()
            .flow(
                crate::flow::Flow::outbound("remind")
                    .needs(["name"])
                    .step("a", crate::flow::say("Hi {name}")),
            )
            .flow(crate::flow::Flow::inbound("menu").step("a", crate::flow::say("Hi")));
        let doc = document("test", &registry);
        let call_schema = &doc["components"]["schemas"]["CallRequest"];
        assert_eq!(call_schema["properties"]["flow"]["enum"], json!(["remind"]));
        assert_eq!(
            call_schema["allOf"][0]["then"]["properties"]["vars"]["required"],
            json!(["name"])
        );
        assert_eq!(doc["openapi"], "3.1.0");
        let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
            ["code"]["enum"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        let mut used: Vec<ErrorCode> = OPERATIONS
            .iter()
            .flat_map(|o| {
                let mut all = common_errors(o.access);
                all.extend(o.errors.iter().copied());
                all
            })
            .collect();
        used.sort_by_key(|c| c.as_str());
        used.dedup();
        let unused: Vec<&str> = ErrorCode::ALL
            .iter()
            .filter(|c| !used.contains(c))
            .map(|c| c.as_str())
            .collect();
        // Kept for the queue consumer's logs, never an HTTP answer.
        assert_eq!(
            unused,
            ["campaign_not_visible"],
            "codes no operation answers"
        );
        let call = &doc["components"]["schemas"]["CallRequest"]["properties"];
        for f in CALL_FIELDS.iter().chain(DIAL_OPTION_FIELDS.iter()) {
            let schema = call[*f].get("anyOf").map_or(&call[*f], |any| &any[0]);
            assert_ne!(schema, &json!({}), "field {f} has no schema");
        }
        let paths = doc["paths"].as_object().map(|p| p.len());
        let distinct: std::collections::BTreeSet<&str> =
            OPERATIONS.iter().map(|o| o.path).collect();
        assert_eq!(paths, Some(distinct.len()));
        assert_eq!(
            doc["paths"]["/calls"]["post"]["security"],
            json!([{"bearer": ["dial"]}])
        );
    }
}
