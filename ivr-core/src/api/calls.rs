//! `POST /calls` and `GET /calls`: the request of one outbound call, what Telesign's answer to
//! its dial means for our client, the record a failed dial leaves, and the listing query. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{CallOutcome, CallRecord, Session};
use crate::error::{ApiError, ErrorCode};
use crate::flow::Registry;
use crate::telesign::{Dial, DialError, DialOptions, Direction, PhoneNumber};

use super::body::{self, Fields};
use super::campaigns::EXTERNAL_ID_PREFIX;

/// The largest `POST /calls` body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The fields of a `POST /calls` body besides the dial options ([`body::DIAL_OPTION_FIELDS`]).
pub const CALL_FIELDS: &[&str] = &["to", "flow", "caller_id_number", "vars", "external_id"];

/// A valid request to place one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    pub flow: String,
    pub to: PhoneNumber,
    pub caller_id: PhoneNumber,
    pub vars: BTreeMap<String, String>,
    /// The client's id for the call, if it gave one.
    pub external_id: Option<String>,
    pub options: DialOptions,
}

/// Reads a `POST /calls` body: `{"to", "flow", "caller_id_number"?, "vars"?, "external_id"?,
/// "record_call"?, "max_call_duration"?, "send_dtmf"?, "is_primary"?}`. `default_caller_id` is
/// the `CALLER_ID` var.
pub fn parse_call_request(
    body: &[u8],
    registry: &Registry,
    default_caller_id: Option<&str>,
) -> Result<CallRequest, ApiError> {
    let mut allowed = CALL_FIELDS.to_vec();
    allowed.extend(body::DIAL_OPTION_FIELDS);
    let fields = Fields::parse(body, &allowed)?;
    let to = fields.required_str("to")?;
    let flow = fields.required_str("flow")?;
    let caller_id = fields.optional_str("caller_id_number")?;
    let external_id = fields.optional_str("external_id")?;
    let vars_value = fields.get("vars");

    let flow = body::outbound_flow(registry, flow)?;
    let request = CallRequest {
        flow: flow.name.clone(),
        to: body::number("to", to)?,
        caller_id: body::caller_id(caller_id, default_caller_id)?,
        vars: body::vars(vars_value)?,
        external_id: external_id.map(checked_external_id).transpose()?,
        options: body::dial_options(&fields)?,
    };
    // Each field is checked on its own first; then what the flow needs of them together.
    body::needed_vars(flow, &request.vars)?;
    Ok(request)
}

/// The client's `external_id`, as Telesign will accept it (see [`Dial::external_id`]) and not in
/// the form campaigns use (their calls are tracked through it).
fn checked_external_id(id: &str) -> Result<String, ApiError> {
    let invalid = |why: String| ApiError::new(ErrorCode::InvalidExternalId, why);
    if id.trim().starts_with(EXTERNAL_ID_PREFIX) {
        return Err(invalid(format!(
            "`external_id` may not start with `{EXTERNAL_ID_PREFIX}`, which campaigns use"
        )));
    }
    // The dial's own check of the id, on a placeholder call.
    Dial::new("15555550100", "15555550100")
        .and_then(|dial| dial.external_id(id))
        .map(|_| id.trim().to_owned())
        .map_err(|e| invalid(format!("`external_id` {e}")))
}

/// Builds the `dial` action of a call.
pub fn dial_action(placing: &Placing) -> Result<Dial, ApiError> {
    Dial::new(placing.to.digits(), placing.caller_id.digits())
        .and_then(|d| d.external_id(&placing.external_id))
        .and_then(|d| placing.options.apply(d))
        .map_err(|e| ApiError::new(ErrorCode::InvalidDialOption, e.to_string()))
}

/// Why a dial did not start a call: Telesign's answer, or no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialFailure {
    /// Telesign answered, but not `dial_accepted`.
    Telesign(DialError),
    /// No answer within `DIAL_TIMEOUT_MS`. The call may still have been placed.
    Timeout { after_ms: u64 },
    /// The request could not be sent (DNS, TLS, connection).
    Unreachable { message: String },
}

/// Telesign's documented rejection statuses, which are our stable error codes verbatim.
const TELESIGN_STATUSES: [ErrorCode; 9] = [
    ErrorCode::PremiumToNumberRejected,
    ErrorCode::ToNumberBlockedByCountry,
    ErrorCode::ToNumberBlockedByCustomer,
    ErrorCode::ToNumberBlockedByTelesign,
    ErrorCode::CallerIdNumberNotOwned,
    ErrorCode::CallerIdNumberNotProvided,
    ErrorCode::InvalidPhoneNumber,
    ErrorCode::ToNumberNotProvided,
    ErrorCode::UnsupportedCallState,
];

impl DialFailure {
    /// The `outcome` of the call record a failed dial leaves.
    pub fn outcome(&self) -> CallOutcome {
        match self {
            DialFailure::Telesign(e) => match e {
                DialError::Rejected { .. } => CallOutcome::DialRejected,
                DialError::BadRequest { .. } => CallOutcome::DialBadRequest,
                DialError::Unauthorized { .. } => CallOutcome::DialUnauthorized,
                DialError::RateLimited { .. } => CallOutcome::DialRateLimited,
                DialError::Upstream { .. } => CallOutcome::DialUpstreamError,
                DialError::InvalidResponse { .. } => CallOutcome::DialInvalidResponse,
            },
            DialFailure::Timeout { .. } => CallOutcome::DialTimeout,
            DialFailure::Unreachable { .. } => CallOutcome::DialUnreachable,
        }
    }

    /// Telesign's status string, when its answer had one.
    pub fn telesign_status(&self) -> Option<&str> {
        match self {
            DialFailure::Telesign(
                DialError::Rejected { status }
                | DialError::BadRequest { status }
                | DialError::Unauthorized { status }
                | DialError::RateLimited { status, .. },
            ) => Some(status),
            DialFailure::Telesign(DialError::Upstream { status, .. }) => status.as_deref(),
            _ => None,
        }
    }

    /// Whether the same dial may succeed later: rate limits, server errors, no answer.
    pub fn is_transient(&self) -> bool {
        match self {
            DialFailure::Telesign(DialError::RateLimited { .. }) => true,
            DialFailure::Telesign(DialError::Upstream { http_status, .. }) => *http_status >= 500,
            DialFailure::Timeout { .. } | DialFailure::Unreachable { .. } => true,
            DialFailure::Telesign(_) => false,
        }
    }

    /// `Retry-After` from a 429.
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            DialFailure::Telesign(DialError::RateLimited {
                retry_after_secs, ..
            }) => *retry_after_secs,
            _ => None,
        }
    }

    /// What `POST /calls` answers. Telesign's rejections (200 and 400) are 422 with Telesign's
    /// status as the code; our credentials refused is 502 (the client can do nothing about it);
    /// 429 is passed on with its `Retry-After`; no usable answer is 502 or, on timeout, 504.
    pub fn to_error(&self) -> ApiError {
        let telesign_code = |fallback: ErrorCode| {
            let status = self.telesign_status().unwrap_or_default();
            TELESIGN_STATUSES
                .into_iter()
                .find(|code| code.as_str() == status)
                .unwrap_or(fallback)
        };
        let code = match self {
            DialFailure::Telesign(e) => match e {
                DialError::Rejected { .. } => telesign_code(ErrorCode::DialRejected),
                DialError::BadRequest { .. } => telesign_code(ErrorCode::DialBadRequest),
                DialError::Unauthorized { .. } => ErrorCode::TelesignCredentialsRejected,
                DialError::RateLimited { .. } => ErrorCode::TelesignRateLimited,
                DialError::Upstream { http_status, .. } if *http_status >= 500 => {
                    ErrorCode::TelesignUnavailable
                }
                DialError::Upstream { .. } => ErrorCode::TelesignError,
                DialError::InvalidResponse { .. } => ErrorCode::TelesignInvalidResponse,
            },
            DialFailure::Timeout { .. } => ErrorCode::TelesignTimeout,
            DialFailure::Unreachable { .. } => ErrorCode::TelesignUnreachable,
        };
        ApiError::new(code, self.to_string()).retry_after(self.retry_after_secs())
    }
}

impl std::fmt::Display for DialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialFailure::Telesign(e) => e.fmt(f),
            DialFailure::Timeout { after_ms } => {
                write!(f, "Telesign did not answer the dial within {after_ms} ms")
            }
            DialFailure::Unreachable { message } => write!(f, "Telesign is unreachable: {message}"),
        }
    }
}

/// `GET /calls/<id>`: the live session, else the final record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "call", rename_all = "snake_case")]
pub enum CallView {
    Live(Box<Session>),
    Ended(Box<CallRecord>),
}

/// The answer to `POST /calls` when Telesign accepted the dial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted<'a> {
    pub reference_id: &'a str,
    pub external_id: &'a str,
    /// Always `dial_accepted`.
    pub status: &'static str,
}

/// What is known of a call whose dial is being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placing {
    pub flow: String,
    pub to: PhoneNumber,
    pub caller_id: PhoneNumber,
    pub vars: BTreeMap<String, String>,
    pub external_id: String,
    pub options: DialOptions,
}

/// The record of a dial that started no call. It is keyed by the `external_id` (Telesign gave
/// the call no `reference_id`), which is therefore also its `reference_id`.
pub fn failed_dial_record(placing: &Placing, failure: &DialFailure, now_ms: u64) -> CallRecord {
    CallRecord {
        reference_id: placing.external_id.clone(),
        flow: Some(placing.flow.clone()),
        direction: Some(Direction::Outbound),
        from: Some(placing.caller_id.e164()),
        to: Some(placing.to.e164()),
        external_id: Some(placing.external_id.clone()),
        created_on_utc: None,
        answered_on_utc: None,
        ended_on_utc: None,
        duration: None,
        audio_recording_file_name: None,
        vars: placing.vars.clone(),
        answers: Vec::new(),
        visits: Default::default(),
        failures: Vec::new(),
        fetches: Vec::new(),
        language: None,
        outcome: failure.outcome(),
        status: failure.telesign_status().map(str::to_owned),
        started_ms: Some(now_ms),
        ended_ms: now_ms,
    }
}

/// Call ids in paths: Telesign's reference ids (32 hex digits, sometimes UUIDs) and the
/// external ids failed dials are kept under; anything else is 404 without a KV read.
pub fn valid_call_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::flow::{say, Flow};

    fn registry() -> Registry {
        Registry::new()
            .flow(Flow::outbound("appointment_reminder").step("a", say("Hi")))
            .flow(Flow::inbound("menu").step("a", say("Hi")))
    }

    fn parse(body: serde_json::Value, default: Option<&str>) -> Result<CallRequest, ApiError> {
        parse_call_request(body.to_string().as_bytes(), &registry(), default)
    }

    fn code(e: ApiError) -> (u16, &'static str) {
        (e.status, e.code.as_str())
    }

    #[test]
    fn a_request_may_not_set_a_sensitive_entrys_variable() {
        let registry = Registry::new().flow(
            Flow::outbound("verify")
                .step(
                    "pin",
                    crate::flow::gather("PIN?", "pin").sensitive().then("ok"),
                )
                .step("ok", say("Thanks.")),
        );
        let body = json!({"to": "+15555551212", "flow": "verify", "vars": {"pin": "1234"}});
        let e = parse_call_request(body.to_string().as_bytes(), &registry, Some("15550000000"))
            .unwrap_err();
        assert_eq!(code(e.clone()), (422, "invalid_vars"));
        assert!(
            e.message
                .contains("`pin` is the variable of a sensitive entry"),
            "{}",
            e.message
        );
        let campaign =
            json!({"flow": "verify", "numbers": [{"to": "+15555551212", "vars": {"pin": "1"}}]});
        let e = crate::api::campaigns::parse_campaign_request(
            campaign.to_string().as_bytes(),
            &registry,
            Some("15550000000"),
        )
        .unwrap_err();
        assert_eq!(code(e.clone()), (422, "invalid_vars"));
        assert!(e.message.starts_with("numbers[0]: "), "{}", e.message);
    }

    #[test]
    fn a_full_request_is_read() {
        let r = parse(
            json!({"to": "+15555551212", "flow": "appointment_reminder",
                   "caller_id_number": "15554441313", "vars": {"name": "Alex"},
                   "external_id": " order-17 "}),
            Some("15550000000"),
        )
        .unwrap();
        assert_eq!(r.flow, "appointment_reminder");
        assert_eq!(r.to.digits(), "15555551212");
        assert_eq!(r.caller_id.digits(), "15554441313");
        assert_eq!(r.vars.get("name").map(String::as_str), Some("Alex"));
        assert_eq!(r.external_id.as_deref(), Some("order-17"));
        assert_eq!(r.options, DialOptions::default());
    }

    #[test]
    fn dial_options_are_read_checked_and_sent_as_asked() {
        let r = parse(
            json!({"to": "+15555551212", "flow": "appointment_reminder",
                   "record_call": true, "max_call_duration": 600.0, "send_dtmf": "ww123#",
                   "is_primary": true}),
            Some("15550000000"),
        )
        .unwrap();
        let placing = Placing {
            flow: r.flow,
            to: r.to,
            caller_id: r.caller_id,
            vars: r.vars,
            external_id: "ext-1".into(),
            options: r.options,
        };
        let dial = serde_json::to_value(dial_action(&placing).unwrap()).unwrap();
        assert_eq!(
            dial,
            json!({"to": "15555551212", "caller_id_number": "15550000000",
                   "record_call": true, "external_id": "ext-1", "max_call_duration": 600,
                   "send_dtmf": "ww123#", "is_primary": true})
        );
        let refused = [
            (
                json!({"max_call_duration": 14_401}),
                (422, "invalid_dial_option"),
            ),
            (
                json!({"max_call_duration": 0}),
                (422, "invalid_dial_option"),
            ),
            (json!({"send_dtmf": "12x"}), (422, "invalid_dial_option")),
            (json!({"max_call_duration": "60"}), (400, "invalid_field")),
            (json!({"max_call_duration": 1.5}), (400, "invalid_field")),
            (json!({"max_call_duration": -60}), (400, "invalid_field")),
            (json!({"record_call": "yes"}), (400, "invalid_field")),
        ];
        for (extra, expected) in refused {
            let mut body = json!({"to": "+15555551212", "flow": "appointment_reminder"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            assert_eq!(
                code(parse(body.clone(), Some("15550000000")).unwrap_err()),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn the_vars_a_flow_needs_are_required_before_anything_is_sent() {
        let registry = Registry::new().flow(
            Flow::outbound("remind")
                .needs(["name", "when"])
                .step("a", say("Hi {name}, {when}")),
        );
        let parse = |vars: serde_json::Value| {
            let body = json!({"to": "+15555551212", "flow": "remind", "vars": vars});
            parse_call_request(body.to_string().as_bytes(), &registry, Some("15550000000"))
        };
        let e = parse(json!({"name": "Alex", "when": "  "})).unwrap_err();
        assert_eq!(code(e.clone()), (422, "missing_vars"));
        assert!(e.message.ends_with("missing: when"), "{}", e.message);
        let e = parse(json!({})).unwrap_err();
        assert!(e.message.ends_with("missing: name, when"), "{}", e.message);
        assert!(parse(json!({"name": "Alex", "when": "Monday"})).is_ok());
    }

    #[test]
    fn the_caller_id_defaults_to_the_var() {
        let body = json!({"to": "+15555551212", "flow": "appointment_reminder"});
        let r = parse(body.clone(), Some("+15550000000")).unwrap();
        assert_eq!(r.caller_id.digits(), "15550000000");
        assert_eq!((r.external_id, r.vars.len()), (None, 0));
        assert_eq!(
            code(parse(body, None).unwrap_err()),
            (422, "missing_caller_id")
        );
    }

    #[test]
    fn every_problem_has_its_code() {
        let cases = [
            (json!({"to": "+15555551212"}), (400, "missing_field")),
            (
                json!({"flow": "appointment_reminder"}),
                (400, "missing_field"),
            ),
            (
                json!({"to": 15555551212_u64, "flow": "appointment_reminder"}),
                (400, "invalid_field"),
            ),
            (
                json!({"to": "+15555551212", "flow": "appointment_reminder", "x": 1}),
                (400, "unknown_field"),
            ),
            (
                json!({"to": "555", "flow": "appointment_reminder"}),
                (422, "invalid_number"),
            ),
            (
                json!({"to": "+15555551212", "flow": "nope"}),
                (422, "unknown_flow"),
            ),
            (
                json!({"to": "+15555551212", "flow": "menu"}),
                (422, "unknown_flow"),
            ),
            (
                json!({"to": "+15555551212", "flow": "appointment_reminder", "vars": [1]}),
                (422, "invalid_vars"),
            ),
            (
                json!({"to": "+15555551212", "flow": "appointment_reminder", "caller_id_number": "x"}),
                (422, "invalid_caller_id"),
            ),
            (
                json!({"to": "+15555551212", "flow": "appointment_reminder", "external_id": ""}),
                (422, "invalid_external_id"),
            ),
            (
                json!({"to": "+15555551212", "flow": "appointment_reminder", "external_id": "cmp_x_1"}),
                (422, "invalid_external_id"),
            ),
            (
                json!({"to": "+15555551212", "flow": "appointment_reminder", "external_id": "x".repeat(129)}),
                (422, "invalid_external_id"),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                code(parse(body.clone(), Some("15550000000")).unwrap_err()),
                expected,
                "{body}"
            );
        }
        let e = parse_call_request(b"{\"to\":", &registry(), None).unwrap_err();
        assert_eq!(code(e), (400, "invalid_json"));
    }

    fn failure(
        http_status: u16,
        body: serde_json::Value,
        retry_after: Option<&str>,
    ) -> DialFailure {
        let err = crate::telesign::interpret_dial_response(
            http_status,
            retry_after,
            body.to_string().as_bytes(),
        )
        .unwrap_err();
        DialFailure::Telesign(err)
    }

    #[test]
    fn telesign_answers_map_to_clear_responses() {
        let status = |s: &str| json!({"reference_id": "R", "status": s});
        let f = failure(200, status("to_number_blocked_by_country"), None);
        let answer = f.to_error();
        assert_eq!(code(answer.clone()), (422, "to_number_blocked_by_country"));
        assert!(answer.message.contains("to_number_blocked_by_country"));
        assert_eq!(f.outcome(), CallOutcome::DialRejected);
        assert!(!f.is_transient());

        let f = failure(200, status("some_new_rejection"), None);
        assert_eq!(code(f.to_error()), (422, "dial_rejected"));

        let f = failure(400, status("caller_id_number_not_owned"), None);
        assert_eq!(code(f.to_error()), (422, "caller_id_number_not_owned"));
        assert_eq!(
            (f.outcome().as_str(), f.telesign_status()),
            ("dial_bad_request", Some("caller_id_number_not_owned"))
        );

        let f = failure(401, status("credentials_not_authorized"), None);
        assert_eq!(code(f.to_error()), (502, "telesign_credentials_rejected"));
        assert!(!f.is_transient());

        let f = failure(429, status("rate_limit_exceeded"), Some("7"));
        let answer = f.to_error();
        assert_eq!(code(answer.clone()), (429, "telesign_rate_limited"));
        assert_eq!(answer.retry_after_secs, Some(7));
        assert!(f.is_transient());

        let f = failure(503, json!({}), None);
        assert_eq!(code(f.to_error()), (502, "telesign_unavailable"));
        assert!(f.is_transient());
        let f = failure(404, json!({}), None);
        assert_eq!(code(f.to_error()), (502, "telesign_error"));
        assert!(!f.is_transient());

        let f = failure(202, json!({"status": "dial_accepted"}), None);
        assert_eq!(code(f.to_error()), (502, "telesign_invalid_response"));
        assert!(!f.is_transient(), "the call may be under way: never redial");

        let f = DialFailure::Timeout { after_ms: 250 };
        assert_eq!(code(f.to_error()), (504, "telesign_timeout"));
        assert_eq!(f.outcome(), CallOutcome::DialTimeout);
        assert!(f.is_transient());
        let f = DialFailure::Unreachable {
            message: "dns".into(),
        };
        assert_eq!(code(f.to_error()), (502, "telesign_unreachable"));
        for f in [f, DialFailure::Timeout { after_ms: 1 }] {
            assert_eq!(f.to_error().challenge(), None);
        }
    }

    #[test]
    fn a_failed_dial_leaves_a_record_under_its_external_id() {
        let placing = Placing {
            flow: "appointment_reminder".into(),
            to: PhoneNumber::parse("15555551212").unwrap(),
            caller_id: PhoneNumber::parse("15554441313").unwrap(),
            vars: BTreeMap::from([("name".to_owned(), "Alex".to_owned())]),
            external_id: "ext-1".into(),
            options: DialOptions::default(),
        };
        let f = failure(
            200,
            json!({"reference_id": "R", "status": "to_number_blocked_by_customer"}),
            None,
        );
        let record = failed_dial_record(&placing, &f, 42);
        assert_eq!(record.reference_id, "ext-1");
        assert_eq!(record.outcome, CallOutcome::DialRejected);
        assert_eq!(
            record.status.as_deref(),
            Some("to_number_blocked_by_customer")
        );
        assert_eq!(record.to.as_deref(), Some("+15555551212"));
        assert_eq!(record.direction.map(Direction::as_str), Some("outbound"));
        assert_eq!((record.started_ms, record.ended_ms), (Some(42), 42));
        assert_eq!(record.vars, placing.vars);
    }

    #[test]
    fn call_ids() {
        assert!(valid_call_id("DF596D7B0D1800164898350B4E71B05C"));
        assert!(valid_call_id("4142b474-d65d-4265-a5fa-a581b1fe6101"));
        assert!(valid_call_id("cmp_ab12_3"));
        for bad in ["", "a/b", "a b", "a%2F", &"x".repeat(129)] {
            assert!(!valid_call_id(bad), "{bad:?}");
        }
    }
}
