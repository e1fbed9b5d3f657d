//! Campaigns: one flow dialled to many numbers through a Cloudflare Queue. Pure bookkeeping: the
//! request, the queue messages, each number's result and how it may change, the counts, and
//! the pacing and retry arithmetic of the consumer.
//!
//! Each campaign dial carries the external id `cmp_<campaign>_<index>`, which Telesign echoes on
//! every event of the call; that is how `/webhook` finds the number a call belongs to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::flow::Registry;
use crate::telesign::{DialOptions, PhoneNumber};

use super::body::{self, Fields};

mod numbers;
mod results;
mod upload;
mod window;

pub use numbers::*;
pub use results::*;
pub use upload::parse_campaign_csv;
pub use window::{pattern as window_pattern, WaitingFor, When, Window};

/// The largest `POST /campaigns` body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Numbers per campaign. Counting a campaign lists its result keys, 1000 per KV call, so this
/// keeps `GET /campaigns/<id>` within 50 listings; bigger lists are split into campaigns.
pub const MAX_NUMBERS: usize = 50_000;
/// Numbers per queue message. With the consumer's `max_batch_size` of 4 one invocation dials at
/// most 100 numbers, well within the Workers subrequest limit.
pub const CHUNK: usize = 25;
/// Queue messages per `sendBatch` call (Cloudflare's limit).
pub const SEND_BATCH: usize = 100;
/// The prefix of the external ids of campaign calls, refused in `POST /calls`.
pub const EXTERNAL_ID_PREFIX: &str = "cmp_";

/// The fields of a `POST /campaigns` body besides its schedule and the dial options.
pub const CAMPAIGN_FIELDS: &[&str] = &["flow", "numbers", "vars", "caller_id_number"];
/// When a campaign dials: fields of a `POST /campaigns` body, and parameters of the query of a
/// `POST /campaigns.csv`.
pub const SCHEDULE_FIELDS: &[&str] = &[
    "start_at",
    "end_at",
    "window",
    "redial_attempts",
    "redial_after_secs",
];

/// A valid `POST /campaigns` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRequest {
    pub flow: String,
    pub members: Vec<Member>,
    pub caller_id: PhoneNumber,
    /// The vars every number's call gets (a number's own win).
    pub vars: BTreeMap<String, String>,
    pub options: DialOptions,
    /// When dialling may start (ms since the epoch); none: at once.
    pub start_ms: Option<u64>,
    /// When dialling stops: a number not dialled by then fails as `outside_window`.
    pub end_ms: Option<u64>,
    /// The days and hours numbers may be called.
    pub window: Option<Window>,
    pub redial: Redial,
}

/// How a campaign dials again a number whose call was not answered: Telesign's `dial_completed`
/// says `failed` for no answer, a busy line and a failed call alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redial {
    /// Dials of a number in all, retries after a dial error included (1: no redial).
    pub attempts: u32,
    /// From a call not answered to the next dial.
    pub after_secs: u32,
}

/// The most dials of a number (`redial_attempts`).
pub const MAX_REDIAL_ATTEMPTS: u32 = 10;
/// The longest time between a call not answered and its redial (`redial_after_secs`): a week.
pub const MAX_REDIAL_AFTER_SECS: u32 = 7 * 86_400;

impl Default for Redial {
    fn default() -> Self {
        Redial {
            attempts: 1,
            after_secs: 3_600,
        }
    }
}

impl Redial {
    /// `redial_attempts` (1 to [`MAX_REDIAL_ATTEMPTS`]) and `redial_after_secs` (1 to
    /// [`MAX_REDIAL_AFTER_SECS`]), each optional.
    pub(crate) fn of(attempts: Option<u32>, after_secs: Option<u32>) -> Result<Redial, ApiError> {
        let default = Redial::default();
        let out_of = |name: &str, max: u32| {
            ApiError::new(
                ErrorCode::InvalidField,
                format!("`{name}` must be 1 to {max}"),
            )
        };
        let attempts = attempts.unwrap_or(default.attempts);
        if !(1..=MAX_REDIAL_ATTEMPTS).contains(&attempts) {
            return Err(out_of("redial_attempts", MAX_REDIAL_ATTEMPTS));
        }
        let after_secs = after_secs.unwrap_or(default.after_secs);
        if !(1..=MAX_REDIAL_AFTER_SECS).contains(&after_secs) {
            return Err(out_of("redial_after_secs", MAX_REDIAL_AFTER_SECS));
        }
        Ok(Redial {
            attempts,
            after_secs,
        })
    }

    fn is_default(&self) -> bool {
        *self == Redial::default()
    }
}

/// One number of a campaign, with the vars of its own (a name, an appointment time) and the
/// time zone its window is read in, when not the campaign's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub to: PhoneNumber,
    pub vars: BTreeMap<String, String>,
    pub time_zone: Option<String>,
}

/// Reads `{"flow", "numbers": [...], "vars"?, "caller_id_number"?}`, the schedule's
/// [`SCHEDULE_FIELDS`] and the dial options of `POST /calls` (`record_call`, `max_call_duration`,
/// `send_dtmf`, `is_primary`), the same for every number. A number is a string, or
/// `{"to": "+1...", "vars": {..}, "time_zone": ".."}` with vars of its own, which win over the
/// campaign's `vars`, and its own zone for the window. Every number is checked before anything
/// is queued: one bad or repeated number, one whose call would lack a var the flow needs, or one
/// in a zone the worker does not know refuses the whole campaign (422 `invalid_number`, `duplicate_number`, `missing_vars`,
/// `unknown_time_zone`, naming its position).
pub fn parse_campaign_request(
    body: &[u8],
    registry: &Registry,
    default_caller_id: Option<&str>,
) -> Result<CampaignRequest, ApiError> {
    let mut allowed = [CAMPAIGN_FIELDS, SCHEDULE_FIELDS].concat();
    allowed.extend(body::DIAL_OPTION_FIELDS);
    let fields = Fields::parse(body, &allowed)?;
    let flow = fields.required_str("flow")?;
    let caller_id = fields.optional_str("caller_id_number")?;
    let list = match fields.get("numbers") {
        None => {
            return Err(ApiError::new(
                ErrorCode::MissingField,
                "`numbers` is required",
            ))
        }
        Some(serde_json::Value::Array(list)) => list,
        Some(_) => return Err(body::wrong_type("numbers", "an array of strings")),
    };
    let flow = body::outbound_flow(registry, flow)?;
    if list.is_empty() || list.len() > MAX_NUMBERS {
        return Err(ApiError::new(
            ErrorCode::InvalidNumbers,
            format!("`numbers` must hold 1 to {MAX_NUMBERS} numbers"),
        ));
    }
    let members = list
        .iter()
        .enumerate()
        .map(|(i, value)| member(&format!("numbers[{i}]"), value))
        .collect::<Result<Vec<_>, _>>()?;
    let vars = body::vars(fields.get("vars"))?;
    let window = fields
        .optional_str("window")?
        .map(|text| Window::parse(text, registry, "window"))
        .transpose()?;
    let checks = MemberChecks {
        registry,
        flow,
        shared: &vars,
        window: window.as_ref(),
    };
    checks.check(&members, |i| format!("numbers[{i}]"))?;
    let (start_ms, end_ms) = schedule(
        fields.optional_str("start_at")?,
        fields.optional_str("end_at")?,
    )?;
    let redial = Redial::of(
        fields.optional_u32("redial_attempts")?,
        fields.optional_u32("redial_after_secs")?,
    )?;
    Ok(CampaignRequest {
        flow: flow.name.clone(),
        caller_id: body::caller_id(caller_id, default_caller_id)?,
        vars,
        options: body::dial_options(&fields)?,
        start_ms,
        end_ms,
        window,
        redial,
        members,
    })
}

/// `start_at` and `end_at`: each an RFC 3339 date-time (`2026-12-07T09:00:00-05:00`) or a date
/// (midnight UTC). A start in the past starts at once; the end must come after the start (409
/// `schedule_conflict`: both read, but together they dial nobody).
pub(crate) fn schedule(
    start: Option<&str>,
    end: Option<&str>,
) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let (start, end) = (moment("start_at", start)?, moment("end_at", end)?);
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            return Err(ApiError::new(
                ErrorCode::ScheduleConflict,
                "`end_at` must come after `start_at`: the campaign would dial nobody",
            ));
        }
    }
    Ok((start, end))
}

fn moment(field: &str, value: Option<&str>) -> Result<Option<u64>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    crate::iso::iso_ms(value.trim())
        .map(|ms| Some(u64::try_from(ms).unwrap_or(0)))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidField,
                format!(
                    "`{field}` must be an RFC 3339 date-time (2026-12-07T09:00:00-05:00) or a date"
                ),
            )
        })
}

/// One item of `numbers`: a number, or `{"to", "vars"}`.
fn member(name: &str, value: &serde_json::Value) -> Result<Member, ApiError> {
    use serde_json::Value;
    match value {
        Value::String(text) => Ok(Member {
            to: body::number(name, text)?,
            vars: BTreeMap::new(),
            time_zone: None,
        }),
        Value::Object(map) => {
            let fields = ["to", "vars", "time_zone"];
            if let Some(other) = map.keys().find(|k| !fields.contains(&k.as_str())) {
                return Err(ApiError::new(
                    ErrorCode::UnknownField,
                    format!("`{name}.{other}` is not a field (`to`, `vars`, `time_zone`)"),
                ));
            }
            let to = match map.get("to") {
                Some(Value::String(text)) => body::number(&format!("{name}.to"), text)?,
                Some(_) => return Err(body::wrong_type(&format!("{name}.to"), "a string")),
                None => {
                    return Err(ApiError::new(
                        ErrorCode::MissingField,
                        format!("`{name}.to` is required"),
                    ))
                }
            };
            let vars = body::vars(map.get("vars")).map_err(|e| e.prefixed(name))?;
            let time_zone = match map.get("time_zone") {
                None | Some(Value::Null) => None,
                Some(Value::String(zone)) => Some(zone.trim().to_owned()),
                Some(_) => return Err(body::wrong_type(&format!("{name}.time_zone"), "a string")),
            };
            Ok(Member {
                to,
                vars,
                time_zone,
            })
        }
        _ => Err(body::wrong_type(
            name,
            "a string, or an object {\"to\", \"vars\", \"time_zone\"}",
        )),
    }
}

/// What a campaign's numbers are checked against.
pub(crate) struct MemberChecks<'a> {
    pub registry: &'a Registry,
    pub flow: &'a crate::flow::Flow,
    /// The campaign's vars.
    pub shared: &'a BTreeMap<String, String>,
    pub window: Option<&'a Window>,
}

impl MemberChecks<'_> {
    /// Refuses a number given twice, one whose call would lack a var the flow needs (the
    /// campaign's vars and its own together), and one with a time zone of its own that the
    /// worker does not know or without a window to read it in; `name` names a number by its
    /// position.
    pub(crate) fn check(
        &self,
        members: &[Member],
        name: impl Fn(usize) -> String,
    ) -> Result<(), ApiError> {
        let MemberChecks {
            registry,
            flow,
            shared,
            window,
        } = *self;
        if members.is_empty() || members.len() > MAX_NUMBERS {
            return Err(ApiError::new(
                ErrorCode::InvalidNumbers,
                format!("a campaign holds 1 to {MAX_NUMBERS} numbers"),
            ));
        }
        // The zones the worker knows, worked out once, when a number names one.
        let mut known = None;
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        for (i, member) in members.iter().enumerate() {
            if !seen.insert(member.to.digits()) {
                return Err(ApiError::new(
                    ErrorCode::DuplicateNumber,
                    format!("{} repeats an earlier number", name(i)),
                ));
            }
        }
        for (i, member) in members.iter().enumerate() {
            if let Some(zone) = &member.time_zone {
                if window.is_none() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidField,
                        format!(
                            "{}: a number's `time_zone` needs the campaign's `window`",
                            name(i)
                        ),
                    ));
                }
                let known = known.get_or_insert_with(|| crate::flow::lock::zones(registry));
                window::check_zone(known, zone, &format!("{}.time_zone", name(i)))?;
            }
            let missing = flow
                .needs
                .iter()
                .any(|v| !member.vars.contains_key(v) && !shared.contains_key(v));
            let sensitive = flow
                .sensitive_names()
                .iter()
                .any(|v| member.vars.contains_key(v) || shared.contains_key(v));
            if missing || sensitive {
                let mut merged = shared.clone();
                merged.extend(member.vars.clone());
                body::needed_vars(flow, &merged).map_err(|e| e.prefixed(&name(i)))?;
            }
        }
        Ok(())
    }
}

/// A campaign as stored (`campaign:<id>`): what each of its dials needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub flow: String,
    /// E.164.
    pub caller_id: String,
    pub vars: BTreeMap<String, String>,
    /// The dial options of every number (absent in campaigns stored before they existed).
    #[serde(default)]
    pub options: DialOptions,
    pub total: u32,
    pub created_ms: u64,
    /// When dialling may start; none: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// The days and hours numbers may be called; none: any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// When dialling stops; none: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Redial::is_default")]
    pub redial: Redial,
}

/// One queue message: numbers `first..first + numbers.len()` of a campaign, at one attempt.
/// Sent as JSON text, so the queue never sees a JS `Map`. Each number's own vars travel with it:
/// they cost no storage operation, and a retry message carries them on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialMessage {
    pub campaign: String,
    pub first: u32,
    /// E.164.
    pub numbers: Vec<String>,
    /// Each number's own vars, in the order of `numbers`; empty when none has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<BTreeMap<String, String>>,
    /// Each number's own time zone, in the order of `numbers` (`""`: the window's); empty when
    /// none has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// 0 for the first dial; a retry message holds one number and the attempt it is.
    #[serde(default)]
    pub attempt: u32,
}

/// One number of a queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageNumber<'m> {
    /// Its index in the campaign.
    pub index: u32,
    /// E.164.
    pub to: &'m str,
    pub vars: &'m BTreeMap<String, String>,
    /// Its own zone, if it has one.
    pub time_zone: Option<&'m str>,
}

/// The vars of a number that has none of its own.
static NO_VARS: BTreeMap<String, String> = BTreeMap::new();

impl DialMessage {
    /// The message's numbers with their indexes in the campaign, their vars and zones.
    pub fn indexed(&self) -> impl Iterator<Item = MessageNumber<'_>> {
        (self.first..)
            .zip(&self.numbers)
            .enumerate()
            .map(|(i, (index, to))| MessageNumber {
                index,
                to,
                vars: self.vars.get(i).unwrap_or(&NO_VARS),
                time_zone: self
                    .zones
                    .get(i)
                    .map(String::as_str)
                    .filter(|z| !z.is_empty()),
            })
    }
}

/// The messages that carry `numbers` (in the order of their indexes), each with its attempt:
/// runs of consecutive indexes at the same attempt, [`CHUNK`] numbers at most each. A number's
/// vars and zone travel with it; a message whose numbers have none leaves them out.
pub fn pack<'m>(
    campaign: &str,
    numbers: impl IntoIterator<Item = (u32, MessageNumber<'m>)>,
) -> Vec<DialMessage> {
    let mut messages: Vec<DialMessage> = Vec::new();
    for (attempt, number) in numbers {
        let joins = messages.last().is_some_and(|m| {
            m.attempt == attempt
                && m.numbers.len() < CHUNK
                && m.first + u32::try_from(m.numbers.len()).unwrap_or(u32::MAX) == number.index
        });
        if !joins {
            messages.push(DialMessage {
                campaign: campaign.to_owned(),
                first: number.index,
                numbers: Vec::new(),
                vars: Vec::new(),
                zones: Vec::new(),
                attempt,
            });
        }
        if let Some(message) = messages.last_mut() {
            message.numbers.push(number.to.to_owned());
            message.vars.push(number.vars.clone());
            message
                .zones
                .push(number.time_zone.unwrap_or_default().to_owned());
        }
    }
    for message in &mut messages {
        if message.vars.iter().all(BTreeMap::is_empty) {
            message.vars.clear();
        }
        if message.zones.iter().all(String::is_empty) {
            message.zones.clear();
        }
    }
    messages
}

/// The first messages of a campaign: its numbers in chunks of [`CHUNK`].
pub fn messages(campaign: &str, members: &[Member]) -> Vec<DialMessage> {
    let numbers: Vec<String> = members.iter().map(|m| m.to.e164()).collect();
    let numbered = (0u32..).zip(members.iter().zip(&numbers));
    pack(
        campaign,
        numbered.map(|(index, (member, to))| {
            let number = MessageNumber {
                index,
                to,
                vars: &member.vars,
                time_zone: member.time_zone.as_deref(),
            };
            (0, number)
        }),
    )
}

/// The messages that queue a resumed campaign's numbers again.
pub fn requeue_messages(campaign: &str, numbers: &[QueuedNumber]) -> Vec<DialMessage> {
    let vars: Vec<BTreeMap<String, String>> = numbers
        .iter()
        .map(|n| {
            n.vars
                .as_deref()
                .and_then(|v| crate::json::read(v.as_bytes()).ok())
                .unwrap_or_default()
        })
        .collect();
    pack(
        campaign,
        numbers.iter().zip(&vars).map(|(n, vars)| {
            let number = MessageNumber {
                index: n.index,
                to: &n.to,
                vars,
                time_zone: n.time_zone.as_deref(),
            };
            (n.attempts, number)
        }),
    )
}

/// The external id of the dial of number `index` of `campaign`.
pub fn member_external_id(campaign: &str, index: u32) -> String {
    format!("{EXTERNAL_ID_PREFIX}{campaign}_{index}")
}

/// The campaign and index an external id names, if it is a campaign's.
pub fn parse_member(external_id: &str) -> Option<(&str, u32)> {
    let rest = external_id.strip_prefix(EXTERNAL_ID_PREFIX)?;
    let (campaign, index) = rest.rsplit_once('_')?;
    let valid = valid_campaign_id(campaign) && index.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(())?;
    Some((campaign, index.parse().ok()?))
}

/// Campaign ids are 32 lowercase hex digits (a UUID without dashes).
pub fn valid_campaign_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::flow::{say, Flow};

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn registry() -> Registry {
        Registry::new().flow(Flow::outbound("remind").step("a", say("Hi")))
    }

    fn parse(body: serde_json::Value) -> Result<CampaignRequest, ApiError> {
        parse_campaign_request(
            body.to_string().as_bytes(),
            &registry(),
            Some("15550000000"),
        )
    }

    fn code(e: ApiError) -> (u16, &'static str) {
        (e.status, e.code.as_str())
    }

    #[test]
    fn a_campaign_request_is_read() {
        let r = parse(
            json!({"flow": "remind", "numbers": ["+15555550001", "15555550002"],
                             "vars": {"when": "Monday"}}),
        )
        .unwrap();
        assert_eq!(r.members.len(), 2);
        assert_eq!(r.caller_id.digits(), "15550000000");
        assert_eq!(r.vars.len(), 1);
        assert_eq!(r.start_ms, None);
    }

    #[test]
    fn a_campaign_may_say_when_it_starts() {
        let body =
            |start: &str| json!({"flow": "remind", "numbers": ["+15555550001"], "start_at": start});
        let r = parse(body("2026-12-07T09:00:00-05:00")).unwrap();
        assert_eq!(r.start_ms, Some(1_796_652_000_000));
        assert_eq!(
            parse(body("2026-12-07")).unwrap().start_ms,
            Some(1_796_601_600_000)
        );
        for bad in ["next monday", ""] {
            let e = parse(body(bad)).unwrap_err();
            assert_eq!(
                (code(e.clone()), e.message.contains("start_at")),
                ((400, "invalid_field"), true)
            );
        }
    }

    #[test]
    fn a_number_may_bring_its_own_vars_and_each_is_checked_against_the_flow() {
        let registry = Registry::new().flow(
            Flow::outbound("remind")
                .needs(["name", "when"])
                .step("a", say("Hi {name}, {when}")),
        );
        let parse = |body: serde_json::Value| {
            parse_campaign_request(body.to_string().as_bytes(), &registry, Some("15550000000"))
        };
        let r = parse(
            json!({"flow": "remind", "vars": {"when": "Monday"}, "numbers": [
                {"to": "+15555550001", "vars": {"name": "Sam"}},
                {"to": "+15555550002", "vars": {"name": "Ana", "when": "Friday"}},
            ]}),
        )
        .unwrap();
        assert_eq!(r.members[0].vars["name"], "Sam");
        assert_eq!(r.members[1].vars["when"], "Friday");
        let msgs = messages(ID, &r.members);
        let vars: Vec<_> = msgs[0].indexed().map(|n| n.vars["name"].clone()).collect();
        assert_eq!(vars, ["Sam", "Ana"]);
        let cases = [
            (
                json!({"flow": "remind", "vars": {"when": "Monday"}, "numbers": [
                {"to": "+15555550001", "vars": {"name": "Sam"}}, "+15555550002"]}),
                "missing_vars",
                "numbers[1]: ",
            ),
            (
                json!({"flow": "remind", "numbers": [{"vars": {"name": "Sam"}}]}),
                "missing_field",
                "numbers[0].to",
            ),
            (
                json!({"flow": "remind", "numbers": [{"to": "+15555550001", "name": "Sam"}]}),
                "unknown_field",
                "numbers[0].name",
            ),
            (
                json!({"flow": "remind", "numbers": [{"to": "+15555550001", "vars": {"name": 3}}]}),
                "invalid_vars",
                "numbers[0]: ",
            ),
            (
                json!({"flow": "remind", "numbers": [{"to": 15555550001_u64}]}),
                "invalid_field",
                "numbers[0].to",
            ),
        ];
        for (body, code, says) in cases {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!(e.code.as_str(), code, "{body}: {}", e.message);
            assert!(e.message.contains(says), "{body}: {}", e.message);
        }
    }

    #[test]
    fn numbers_are_validated_up_front() {
        let cases = [
            (json!({"flow": "remind"}), (400, "missing_field")),
            (
                json!({"flow": "remind", "numbers": "15555550001"}),
                (400, "invalid_field"),
            ),
            (
                json!({"flow": "remind", "numbers": [15555550001_u64]}),
                (400, "invalid_field"),
            ),
            (
                json!({"flow": "remind", "numbers": []}),
                (422, "invalid_numbers"),
            ),
            (
                json!({"flow": "remind", "numbers": ["+15555550001", "12"]}),
                (422, "invalid_number"),
            ),
            (
                json!({"flow": "remind", "numbers": ["+15555550001", "15555550001"]}),
                (422, "duplicate_number"),
            ),
            (
                json!({"flow": "nope", "numbers": ["+15555550001"]}),
                (422, "unknown_flow"),
            ),
            (
                json!({"flow": "remind", "numbers": ["+15555550001"], "to": "x"}),
                (400, "unknown_field"),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(code(parse(body.clone()).unwrap_err()), expected, "{body}");
        }
        let e = parse(json!({"flow": "remind", "numbers": ["+15555550001", "12"]})).unwrap_err();
        assert!(e.message.contains("numbers[1]"), "{}", e.message);
        let too_many: Vec<String> = (0..=MAX_NUMBERS).map(|i| format!("1555{i:07}")).collect();
        let e = parse(json!({"flow": "remind", "numbers": too_many})).unwrap_err();
        assert_eq!(code(e), (422, "invalid_numbers"));
    }

    #[test]
    fn numbers_are_chunked_in_order() {
        let numbers: Vec<Member> = (0..(CHUNK * 2 + 3))
            .map(|i| Member {
                to: PhoneNumber::parse(&format!("1555{i:07}")).unwrap(),
                vars: BTreeMap::new(),
                time_zone: None,
            })
            .collect();
        let msgs = messages(ID, &numbers);
        assert!(msgs[0].vars.is_empty(), "no number has vars of its own");
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[2].numbers.len(), 3);
        let all: Vec<(u32, String)> = msgs
            .iter()
            .flat_map(|m| m.indexed().map(|n| (n.index, n.to.to_owned())))
            .collect();
        assert_eq!(all.len(), numbers.len());
        for (i, (index, number)) in all.iter().enumerate() {
            assert_eq!(
                (*index as usize, number.as_str()),
                (i, numbers[i].to.e164().as_str())
            );
        }
        let text = serde_json::to_string(&msgs[0]).unwrap();
        assert_eq!(serde_json::from_str::<DialMessage>(&text).unwrap(), msgs[0]);
    }

    #[test]
    fn member_ids_round_trip_and_nothing_else_parses() {
        let ext = member_external_id(ID, 1234);
        assert_eq!(ext, format!("cmp_{ID}_1234"));
        assert_eq!(parse_member(&ext), Some((ID, 1234)));
        for other in [
            "order-17",
            "cmp_",
            "cmp_x_1",
            &format!("cmp_{ID}_"),
            &format!("cmp_{ID}_-1"),
            &format!("cmp_{ID}"),
        ] {
            assert_eq!(parse_member(other), None, "{other}");
        }
        assert!(!valid_campaign_id(&ID.to_uppercase()));
    }
}
