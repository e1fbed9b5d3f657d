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

pub use numbers::*;

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

/// The fields of a `POST /campaigns` body besides the dial options.
pub const CAMPAIGN_FIELDS: &[&str] = &["flow", "numbers", "vars", "caller_id_number"];

/// A valid `POST /campaigns` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRequest {
    pub flow: String,
    pub numbers: Vec<PhoneNumber>,
    pub caller_id: PhoneNumber,
    pub vars: BTreeMap<String, String>,
    pub options: DialOptions,
}

/// Reads `{"flow", "numbers": [...], "vars"?, "caller_id_number"?}` and the dial options of
/// `POST /calls` (`record_call`, `max_call_duration`, `send_dtmf`, `is_primary`), the same for
/// every number. Every number is checked
/// before anything is queued: one bad or repeated number refuses the whole campaign (422
/// `invalid_number` / `duplicate_number`, naming its position).
pub fn parse_campaign_request(
    body: &[u8],
    registry: &Registry,
    default_caller_id: Option<&str>,
) -> Result<CampaignRequest, ApiError> {
    let mut allowed = CAMPAIGN_FIELDS.to_vec();
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
    let mut numbers = Vec::with_capacity(list.len());
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    for (i, value) in list.iter().enumerate() {
        let text = value
            .as_str()
            .ok_or_else(|| body::wrong_type(&format!("numbers[{i}]"), "a string"))?;
        let number = body::number(&format!("numbers[{i}]"), text)?;
        if !seen.insert(number.digits().to_owned()) {
            return Err(ApiError::new(
                ErrorCode::DuplicateNumber,
                format!("numbers[{i}] repeats an earlier number"),
            ));
        }
        numbers.push(number);
    }
    let request = CampaignRequest {
        flow: flow.name.clone(),
        caller_id: body::caller_id(caller_id, default_caller_id)?,
        vars: body::vars(fields.get("vars"))?,
        options: body::dial_options(&fields)?,
        numbers,
    };
    body::needed_vars(flow, &request.vars)?;
    Ok(request)
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
}

/// One queue message: numbers `first..first + numbers.len()` of a campaign, at one attempt.
/// Sent as JSON text, so the queue never sees a JS `Map`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialMessage {
    pub campaign: String,
    pub first: u32,
    /// E.164.
    pub numbers: Vec<String>,
    /// 0 for the first dial; a retry message holds one number and the attempt it is.
    #[serde(default)]
    pub attempt: u32,
}

impl DialMessage {
    /// The message's numbers with their indexes in the campaign.
    pub fn indexed(&self) -> impl Iterator<Item = (u32, &str)> {
        (self.first..).zip(self.numbers.iter().map(String::as_str))
    }
}

/// The first messages of a campaign: its numbers in chunks of [`CHUNK`].
pub fn messages(campaign: &str, numbers: &[PhoneNumber]) -> Vec<DialMessage> {
    numbers
        .chunks(CHUNK)
        .zip((0u32..).step_by(CHUNK))
        .map(|(chunk, first)| DialMessage {
            campaign: campaign.to_owned(),
            first,
            numbers: chunk.iter().map(PhoneNumber::e164).collect(),
            attempt: 0,
        })
        .collect()
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
        assert_eq!(r.numbers.len(), 2);
        assert_eq!(r.caller_id.digits(), "15550000000");
        assert_eq!(r.vars.len(), 1);
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
        let numbers: Vec<PhoneNumber> = (0..(CHUNK * 2 + 3))
            .map(|i| PhoneNumber::parse(&format!("1555{i:07}")).unwrap())
            .collect();
        let msgs = messages(ID, &numbers);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[2].numbers.len(), 3);
        let all: Vec<(u32, String)> = msgs
            .iter()
            .flat_map(|m| m.indexed().map(|(i, n)| (i, n.to_owned())))
            .collect();
        assert_eq!(all.len(), numbers.len());
        for (i, (index, number)) in all.iter().enumerate() {
            assert_eq!(
                (*index as usize, number.as_str()),
                (i, numbers[i].e164().as_str())
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
