//! Events: what Telesign posts to our webhook.
//!
//! [`decode_event`] is lenient where Telesign's pages disagree or may grow (unknown event names
//! and status values, extra fields, numbers with or without `+`, `data` as an object or as a
//! list of objects, missing or `null` optional fields) and strict where a wrong value would make
//! us act on garbage (a body that is not JSON, a missing `event` or `reference_id`, a field of the
//! wrong JSON type). A `to`/`from`/`caller_id` string that is not a phone number (`anonymous`,
//! `restricted`: a withheld caller id) is `None`, so that such a call is answered, not refused.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::phone::PhoneNumber;

/// Longest `reference_id` we accept. Telesign documents 32 hex digits and its examples show
/// 36-character UUIDs; the cap only keeps junk out of storage keys and logs.
pub const MAX_REFERENCE_ID_LEN: usize = 128;

named_enum! {
    /// An event's name, its `event` field: the one list of the names this version knows.
    pub open enum EventName {
        IncomingCall = "incoming_call",
        DialCompleted = "dial_completed",
        PlayCompleted = "play_completed",
        SpeakCompleted = "speak_completed",
        CallCompleted = "call_completed",
        Hangup = "hangup",
        CallLegCompleted = "call_leg_completed",
    }
}

named_enum! {
    /// `dial_completed` status.
    pub open enum DialStatus {
        /// The callee picked up. The pages use both `answered` and `call_answered`.
        Answered = "answered" | "call_answered",
        /// The call never connected.
        Failed = "failed",
    }
}

named_enum! {
    /// `play_completed` / `speak_completed` status.
    ///
    /// One type serves both events, so the success and failure values are written in an
    /// event-neutral form (`successful`, `failed`); the event name says whether it was a
    /// playback or speech.
    pub open enum MediaStatus {
        /// `playback_successful` or `speak_successful`; also when a key press cut it short.
        Completed = "successful" | "playback_successful" | "speak_successful",
        /// `playback_failed` or `speak_failed`.
        Failed = "failed" | "playback_failed" | "speak_failed",
        /// Digits were requested and none arrived in time.
        DigitCollectionTimeout = "digit_collection_timeout",
    }
}

named_enum! {
    /// Which way a call goes, seen from our side: Telesign's `call_completed` direction, a
    /// flow's kind, and the direction kept in sessions and call records.
    pub enum Direction {
        /// Someone called our number.
        Inbound = "inbound",
        /// We dialled out.
        Outbound = "outbound",
    }
}

named_enum! {
    /// `call_completed` status.
    pub open enum CallStatus {
        /// The only documented value.
        Hangup = "hangup",
    }
}

named_enum! {
    /// Why a child leg of a call ended (`call_leg_completed`).
    pub open enum HangupCause {
        /// The leg was answered and later hung up.
        CallAnswered = "call_answered",
        /// The dial was cancelled before it was answered.
        CallCancelled = "call_cancelled",
        /// Nobody picked up.
        CallNotAnswered = "call_not_answered",
        /// The line was busy.
        LineBusy = "line_busy",
        /// Blocked at the customer's request.
        CallBlockedByCustomerRequest = "call_blocked_by_customer_request",
        /// Blocked by Telesign.
        CallBlockedByTelesign = "call_blocked_by_telesign",
    }
}

/// One webhook request from Telesign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Telesign's id of the call session (32 hex digits or a UUID; not validated beyond being
    /// a non-empty string of at most [`MAX_REFERENCE_ID_LEN`] bytes).
    pub reference_id: String,
    /// The `external_id` we gave `dial`, echoed on every event of that call.
    pub external_id: Option<String>,
    /// What happened, with its data.
    pub kind: EventKind,
}

/// The event types Telesign documents, plus a catch-all so that a new event type is logged
/// and ignored rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// Someone is calling one of our numbers.
    IncomingCall(Parties),
    /// An outbound dial was answered or failed.
    DialCompleted(DialCompleted),
    /// A `play` action ended.
    PlayCompleted(MediaCompleted),
    /// A `speak` action ended.
    SpeakCompleted(MediaCompleted),
    /// The call is over; Telesign ignores any reply.
    CallCompleted(CallCompleted),
    /// `hangup`: the Base Event table names it as the "call ended" event. Its data is read as
    /// `call_completed`'s (every field optional); it ends the call the same way.
    Hangup(CallCompleted),
    /// A bridged (child) leg hung up; the call itself goes on.
    CallLegCompleted(CallLegCompleted),
    /// An event name this version does not know, with its `data` exactly as sent
    /// (`Value::Null` when absent).
    Unknown {
        /// The `event` string.
        name: String,
        /// The raw `data`.
        data: Value,
    },
}

/// The two ends of a call. Telesign documents both as required; a missing, `null` or empty
/// value is `None` rather than an error so that, say, a withheld caller id cannot make us
/// drop a call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parties {
    /// The number called.
    pub to: Option<PhoneNumber>,
    /// The number calling.
    pub from: Option<PhoneNumber>,
}

/// `dial_completed` data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialCompleted {
    /// Who was dialled, from which caller id.
    pub parties: Parties,
    /// Answered or failed.
    pub status: DialStatus,
}

/// `play_completed` / `speak_completed` data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCompleted {
    /// The two ends of the call.
    pub parties: Parties,
    /// How the playback or speech ended.
    pub status: MediaStatus,
    /// Keys pressed, as sent; empty when none were requested or pressed (missing or `null`).
    pub collected_digits: String,
}

/// `call_completed` data. The timestamps are kept as sent (ISO 8601 without a zone, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCompleted {
    /// The two ends of the call.
    pub parties: Parties,
    /// Inbound or outbound (`None` when absent or another value).
    pub direction: Option<Direction>,
    /// Always `hangup` so far.
    pub status: CallStatus,
    /// When the call was created.
    pub created_on_utc: Option<String>,
    /// When it was answered; absent for calls never answered.
    pub answered_on_utc: Option<String>,
    /// When it ended.
    pub ended_on_utc: Option<String>,
    /// Billable seconds.
    pub duration: Option<u64>,
    /// The recording's file name when `record_call` was set, else `None`.
    pub audio_recording_file_name: Option<String>,
}

/// `call_leg_completed` data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLegCompleted {
    /// The two ends of the leg.
    pub parties: Parties,
    /// The caller id shown on the leg.
    pub caller_id: Option<PhoneNumber>,
    /// Why the leg ended.
    pub hangup_cause: HangupCause,
}

impl EventKind {
    /// The data of an event that says the call is over (`call_completed` or `hangup`).
    pub fn call_ended(&self) -> Option<&CallCompleted> {
        match self {
            EventKind::CallCompleted(c) | EventKind::Hangup(c) => Some(c),
            _ => None,
        }
    }

    /// The event's name.
    pub fn event_name(&self) -> EventName {
        match self {
            EventKind::IncomingCall(_) => EventName::IncomingCall,
            EventKind::DialCompleted(_) => EventName::DialCompleted,
            EventKind::PlayCompleted(_) => EventName::PlayCompleted,
            EventKind::SpeakCompleted(_) => EventName::SpeakCompleted,
            EventKind::CallCompleted(_) => EventName::CallCompleted,
            EventKind::Hangup(_) => EventName::Hangup,
            EventKind::CallLegCompleted(_) => EventName::CallLegCompleted,
            EventKind::Unknown { name, .. } => EventName::Unknown(name.clone()),
        }
    }

    /// The wire name, e.g. `play_completed`; for [`EventKind::Unknown`], the name as sent.
    pub fn name(&self) -> &str {
        match self {
            EventKind::Unknown { name, .. } => name,
            known => known.event_name().known().unwrap_or_default(),
        }
    }
}

/// Why a webhook body is not an event we can act on. Each kind has a stable
/// [`code`](DecodeError::code); [`Display`](fmt::Display) names the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DecodeErrorKind {
    /// Not UTF-8, not JSON, or JSON with a syntax error such as a trailing comma.
    InvalidJson(String),
    /// Valid JSON, but not an object.
    NotAnObject,
    /// `event` or `reference_id` absent, `null` or empty.
    MissingField(Field),
    /// A field of the wrong JSON type, or with a value we refuse.
    InvalidField { field: Field, reason: &'static str },
}

/// Where a field lives: at the top level or inside `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Top(&'static str),
    Data(&'static str),
}

impl DecodeError {
    /// The stable error code: `invalid_json`, `invalid_event`, `missing_field` or
    /// `invalid_field` (see the module documentation of [`crate::telesign`]).
    pub fn code(&self) -> &'static str {
        match self.kind {
            DecodeErrorKind::InvalidJson(_) => "invalid_json",
            DecodeErrorKind::NotAnObject => "invalid_event",
            DecodeErrorKind::MissingField(_) => "missing_field",
            DecodeErrorKind::InvalidField { .. } => "invalid_field",
        }
    }

    fn missing(field: Field) -> Self {
        DecodeError {
            kind: DecodeErrorKind::MissingField(field),
        }
    }

    fn invalid(field: Field, reason: &'static str) -> Self {
        DecodeError {
            kind: DecodeErrorKind::InvalidField { field, reason },
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DecodeErrorKind::InvalidJson(detail) => write!(f, "body is not valid JSON: {detail}"),
            DecodeErrorKind::NotAnObject => f.write_str("body is not a JSON object"),
            DecodeErrorKind::MissingField(field) => write!(f, "missing field `{field}`"),
            DecodeErrorKind::InvalidField { field, reason } => {
                write!(f, "invalid field `{field}`: {reason}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Top(key) => f.write_str(key),
            Field::Data(key) => write!(f, "data.{key}"),
        }
    }
}

/// Decodes a webhook body. Pass the raw bytes, the same ones the signature was checked over.
///
/// The body is read in one pass into borrowed fields ([`Json`]): only the fields this decoder
/// reads are kept, strings without escapes are not copied, and no `serde_json::Value` tree is
/// built (but for the `data` of an event type this version does not know, kept as sent).
pub fn decode_event(body: &[u8]) -> Result<Event, DecodeError> {
    let invalid_json = |detail: String| DecodeError {
        kind: DecodeErrorKind::InvalidJson(detail),
    };
    let Json::Object(root) = crate::json::read(body).map_err(|e| invalid_json(e.to_string()))?
    else {
        return Err(DecodeError {
            kind: DecodeErrorKind::NotAnObject,
        });
    };

    let name = required_string(&root, "event")?.to_owned();
    let reference_id = required_string(&root, "reference_id")?;
    if reference_id.len() > MAX_REFERENCE_ID_LEN {
        return Err(DecodeError::invalid(
            Field::Top("reference_id"),
            "longer than 128 bytes",
        ));
    }
    let reference_id = reference_id.to_owned();
    let external_id =
        optional_string(root.get("external_id"), Field::Top("external_id"))?.map(str::to_owned);
    let read_data = || Data::new(root.data);

    let kind = match EventName::from(name.as_str()) {
        EventName::IncomingCall => EventKind::IncomingCall(read_data()?.parties()?),
        EventName::DialCompleted => {
            let data = read_data()?;
            EventKind::DialCompleted(DialCompleted {
                parties: data.parties()?,
                status: data.string("status")?.unwrap_or_default().into(),
            })
        }
        EventName::PlayCompleted => EventKind::PlayCompleted(read_data()?.media()?),
        EventName::SpeakCompleted => EventKind::SpeakCompleted(read_data()?.media()?),
        EventName::CallCompleted => EventKind::CallCompleted(read_data()?.ended()?),
        EventName::Hangup => EventKind::Hangup(read_data()?.ended()?),
        EventName::CallLegCompleted => {
            let data = read_data()?;
            EventKind::CallLegCompleted(CallLegCompleted {
                parties: data.parties()?,
                caller_id: data.phone("caller_id")?,
                hangup_cause: data.string("hangup_cause")?.unwrap_or_default().into(),
            })
        }
        // The rare event type this version does not know: its `data` as sent, from the body
        // read again as a whole. It was just read as an object, so the `Null` of the fallback
        // arm is never taken; it only spares an `unwrap`.
        EventName::Unknown(_) => EventKind::Unknown {
            data: match crate::json::read::<Value>(body) {
                Ok(Value::Object(mut root)) => root.remove("data").unwrap_or(Value::Null),
                _ => Value::Null,
            },
            name,
        },
    };

    Ok(Event {
        reference_id,
        external_id,
        kind,
    })
}

/// One JSON value as the decoder sees it, borrowed from the body where it can (a string with
/// escapes is copied): an object's [`FIELDS`] and its `data`, a list's first element, and the
/// scalars its fields may be. Every value is read to its end, so that the syntax of the whole
/// body is checked.
#[derive(Debug)]
enum Json<'a> {
    Null,
    Str(Cow<'a, str>),
    Unsigned(u64),
    Object(Box<Object<'a>>),
    /// A list, with its first element (the others read through).
    List(Option<Box<Json<'a>>>),
    /// A negative or fractional number, or a boolean.
    Other,
}

/// The fields this decoder reads, at the top level and in `data`: one list for both, so that one
/// reader serves every object of the body.
const FIELDS: [&str; 15] = [
    "event",
    "reference_id",
    "external_id",
    "to",
    "from",
    "status",
    "collected_digits",
    "caller_id",
    "hangup_cause",
    "direction",
    "created_on_utc",
    "answered_on_utc",
    "ended_on_utc",
    "duration",
    "audio_recording_file_name",
];

/// One JSON object: the [`FIELDS`] it has, the last of a repeated key winning (as in a map), and
/// its `data`. Every other key is read and dropped.
#[derive(Debug)]
struct Object<'a> {
    values: [Option<Json<'a>>; FIELDS.len()],
    data: Option<Json<'a>>,
}

impl<'a> Object<'a> {
    fn get(&self, key: &str) -> Option<&Json<'a>> {
        let at = FIELDS.iter().position(|name| *name == key)?;
        self.values[at].as_ref()
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(text)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Unsigned(n))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(u64::try_from(n).map_or(Json::Other, Json::Unsigned))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Json<'de>, E> {
        Ok(Json::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Json<'de>, E> {
        Ok(Json::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let first = seq.next_element::<Json<'de>>()?.map(Box::new);
        while seq.next_element::<Json>()?.is_some() {}
        Ok(Json::List(first))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut object = Object {
            values: [const { None }; FIELDS.len()],
            data: None,
        };
        while let Some(key) = map.next_key::<Json<'de>>()? {
            let value = map.next_value::<Json<'de>>()?;
            // JSON keys are strings; a key of any other kind is dropped with its value.
            let Json::Str(key) = key else { continue };
            if key == "data" {
                object.data = Some(value);
            } else if let Some(at) = FIELDS.iter().position(|name| *name == key) {
                object.values[at] = Some(value);
            }
        }
        Ok(Json::Object(Box::new(object)))
    }
}

/// A top-level string that must be present and non-empty.
fn required_string<'v>(root: &'v Object<'_>, key: &'static str) -> Result<&'v str, DecodeError> {
    optional_string(root.get(key), Field::Top(key))?.ok_or(DecodeError::missing(Field::Top(key)))
}

/// Missing, `null` and `""` are all "not given"; any other non-string is an error.
fn optional_string<'v>(
    value: Option<&'v Json<'_>>,
    field: Field,
) -> Result<Option<&'v str>, DecodeError> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Str(text)) if text.is_empty() => Ok(None),
        Some(Json::Str(text)) => Ok(Some(text)),
        Some(_) => Err(DecodeError::invalid(field, "expected a string")),
    }
}

/// The `data` dictionary of a known event.
///
/// Telesign's Base Event table types `data` as "Dictionary, List" and the incoming_call table
/// as a "list of dictionaries", while every example sends one object: we take an object, or
/// the first element of a list, and read a missing or `null` `data` as empty.
struct Data<'a>(Option<Box<Object<'a>>>);

impl<'a> Data<'a> {
    fn new(data: Option<Json<'a>>) -> Result<Self, DecodeError> {
        match data {
            None | Some(Json::Null) | Some(Json::List(None)) => Ok(Data(None)),
            Some(Json::Object(fields)) => Ok(Data(Some(fields))),
            Some(Json::List(Some(first))) => match *first {
                Json::Object(fields) => Ok(Data(Some(fields))),
                _ => Err(DecodeError::invalid(
                    Field::Top("data"),
                    "expected a list of objects",
                )),
            },
            Some(_) => Err(DecodeError::invalid(
                Field::Top("data"),
                "expected an object or a list of objects",
            )),
        }
    }

    fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0.as_ref().and_then(|fields| fields.get(key))
    }

    fn string(&self, key: &'static str) -> Result<Option<&str>, DecodeError> {
        optional_string(self.get(key), Field::Data(key))
    }

    fn owned_string(&self, key: &'static str) -> Result<Option<String>, DecodeError> {
        Ok(self.string(key)?.map(str::to_owned))
    }

    fn phone(&self, key: &'static str) -> Result<Option<PhoneNumber>, DecodeError> {
        Ok(self
            .string(key)?
            .and_then(|text| PhoneNumber::parse(text).ok()))
    }

    fn unsigned(&self, key: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Unsigned(n)) => Ok(Some(*n)),
            Some(_) => Err(DecodeError::invalid(
                Field::Data(key),
                "expected a non-negative integer",
            )),
        }
    }

    fn parties(&self) -> Result<Parties, DecodeError> {
        Ok(Parties {
            to: self.phone("to")?,
            from: self.phone("from")?,
        })
    }

    /// The data of an event that ends the call (`call_completed`, `hangup`).
    fn ended(&self) -> Result<CallCompleted, DecodeError> {
        Ok(CallCompleted {
            parties: self.parties()?,
            direction: self.string("direction")?.and_then(Direction::parse),
            status: self.string("status")?.unwrap_or_default().into(),
            created_on_utc: self.owned_string("created_on_utc")?,
            answered_on_utc: self.owned_string("answered_on_utc")?,
            ended_on_utc: self.owned_string("ended_on_utc")?,
            duration: self.unsigned("duration")?,
            audio_recording_file_name: self.owned_string("audio_recording_file_name")?,
        })
    }

    fn media(&self) -> Result<MediaCompleted, DecodeError> {
        Ok(MediaCompleted {
            parties: self.parties()?,
            status: self.string("status")?.unwrap_or_default().into(),
            collected_digits: self.owned_string("collected_digits")?.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decode(value: Value) -> Result<Event, DecodeError> {
        decode_event(value.to_string().as_bytes())
    }

    fn code(value: Value) -> &'static str {
        decode(value).unwrap_err().code()
    }

    fn number(text: &str) -> Option<PhoneNumber> {
        Some(PhoneNumber::parse(text).unwrap())
    }

    #[test]
    fn incoming_call_with_and_without_plus() {
        for (to, from) in [
            ("+15555551212", "+15558675309"),
            ("15555551212", "15558675309"),
        ] {
            let event = decode(json!({
                "event": "incoming_call",
                "reference_id": "534e1848-235f-482d-983d-e3e11a04f58a",
                "data": {"to": to, "from": from}
            }))
            .unwrap();
            assert_eq!(event.reference_id, "534e1848-235f-482d-983d-e3e11a04f58a");
            assert_eq!(event.external_id, None);
            assert_eq!(
                event.kind,
                EventKind::IncomingCall(Parties {
                    to: number("15555551212"),
                    from: number("15558675309"),
                })
            );
        }
    }

    #[test]
    fn dial_completed_statuses() {
        for (wire, status) in [
            ("answered", DialStatus::Answered),
            ("call_answered", DialStatus::Answered),
            ("failed", DialStatus::Failed),
            ("busy", DialStatus::Unknown("busy".into())),
        ] {
            let event = decode(json!({
                "event": "dial_completed", "reference_id": "R", "external_id": "ext-1",
                "data": {"to": "15558675309", "from": "15555551212", "status": wire}
            }))
            .unwrap();
            assert_eq!(event.external_id.as_deref(), Some("ext-1"));
            let EventKind::DialCompleted(dial) = event.kind else {
                panic!("not dial_completed")
            };
            assert_eq!(dial.status, status);
        }
    }

    #[test]
    fn media_statuses_and_collected_digits() {
        for (event, wire, status) in [
            (
                "play_completed",
                "playback_successful",
                MediaStatus::Completed,
            ),
            ("play_completed", "playback_failed", MediaStatus::Failed),
            (
                "speak_completed",
                "speak_successful",
                MediaStatus::Completed,
            ),
            ("speak_completed", "speak_failed", MediaStatus::Failed),
            (
                "speak_completed",
                "digit_collection_timeout",
                MediaStatus::DigitCollectionTimeout,
            ),
            (
                "play_completed",
                "new_status",
                MediaStatus::Unknown("new_status".into()),
            ),
        ] {
            let decoded = decode(json!({
                "event": event, "reference_id": "R",
                "data": {"status": wire, "collected_digits": "09#"}
            }))
            .unwrap();
            assert_eq!(decoded.kind.name(), event);
            let (EventKind::PlayCompleted(media) | EventKind::SpeakCompleted(media)) = decoded.kind
            else {
                panic!("not a media event")
            };
            assert_eq!(media.status, status);
            assert_eq!(media.collected_digits, "09#");
        }
    }

    #[test]
    fn collected_digits_missing_empty_or_null_is_empty() {
        for digits in [None, Some(json!("")), Some(Value::Null)] {
            let mut data = json!({"status": "speak_successful"});
            if let Some(digits) = digits {
                data["collected_digits"] = digits;
            }
            let event =
                decode(json!({"event": "speak_completed", "reference_id": "R", "data": data}))
                    .unwrap();
            let EventKind::SpeakCompleted(media) = event.kind else {
                panic!("not speak_completed")
            };
            assert_eq!(media.collected_digits, "");
        }
        assert_eq!(
            code(
                json!({"event": "play_completed", "reference_id": "R", "data": {"collected_digits": 923}})
            ),
            "invalid_field"
        );
    }

    #[test]
    fn call_completed_fields() {
        let event = decode(json!({
            "event": "call_completed", "reference_id": "R",
            "data": {
                "to": "15558675309", "from": "15555551212", "direction": "outbound",
                "created_on_utc": "2018-08-07T20:33:38.003718", "answered_on_utc": null,
                "ended_on_utc": "2018-08-07T20:33:44.003718", "status": "hangup",
                "duration": 0, "audio_recording_file_name": null
            }
        }))
        .unwrap();
        assert_eq!(
            event.kind,
            EventKind::CallCompleted(CallCompleted {
                parties: Parties {
                    to: number("15558675309"),
                    from: number("15555551212")
                },
                direction: Some(Direction::Outbound),
                status: CallStatus::Hangup,
                created_on_utc: Some("2018-08-07T20:33:38.003718".into()),
                answered_on_utc: None,
                ended_on_utc: Some("2018-08-07T20:33:44.003718".into()),
                duration: Some(0),
                audio_recording_file_name: None,
            })
        );
        for duration in [json!(-1), json!(1.5), json!("4")] {
            assert_eq!(
                code(
                    json!({"event": "call_completed", "reference_id": "R", "data": {"duration": duration}})
                ),
                "invalid_field"
            );
        }
    }

    #[test]
    fn call_leg_completed_fields() {
        let event = decode(json!({
            "event": "call_leg_completed", "reference_id": "R",
            "data": {"to": "15551234567", "from": "12224395109", "caller_id": "15552221414",
                     "hangup_cause": "line_busy"}
        }))
        .unwrap();
        assert_eq!(
            event.kind,
            EventKind::CallLegCompleted(CallLegCompleted {
                parties: Parties {
                    to: number("15551234567"),
                    from: number("12224395109")
                },
                caller_id: number("15552221414"),
                hangup_cause: HangupCause::LineBusy,
            })
        );
        for (wire, cause) in [
            ("call_answered", HangupCause::CallAnswered),
            ("call_cancelled", HangupCause::CallCancelled),
            ("call_not_answered", HangupCause::CallNotAnswered),
            (
                "call_blocked_by_customer_request",
                HangupCause::CallBlockedByCustomerRequest,
            ),
            (
                "call_blocked_by_telesign",
                HangupCause::CallBlockedByTelesign,
            ),
            ("", HangupCause::Unknown(String::new())),
        ] {
            assert_eq!(HangupCause::from(wire), cause);
            assert_eq!(cause.as_str(), wire);
        }
    }

    #[test]
    fn unknown_event_keeps_name_and_raw_data() {
        let event = decode(json!({
            "event": "play_multiple_completed", "reference_id": "R", "data": [1, "two"]
        }))
        .unwrap();
        assert_eq!(
            event.kind,
            EventKind::Unknown {
                name: "play_multiple_completed".into(),
                data: json!([1, "two"])
            }
        );
        assert_eq!(event.kind.name(), "play_multiple_completed");
        let bare = decode(json!({"event": "x", "reference_id": "R"})).unwrap();
        assert_eq!(
            bare.kind,
            EventKind::Unknown {
                name: "x".into(),
                data: Value::Null
            }
        );
    }

    #[test]
    fn data_shapes() {
        let listed = decode(json!({
            "event": "incoming_call", "reference_id": "R",
            "data": [{"to": "15555551212"}, {"to": "19999999999"}]
        }))
        .unwrap();
        assert_eq!(
            listed.kind,
            EventKind::IncomingCall(Parties {
                to: number("15555551212"),
                from: None
            })
        );
        for empty in [json!(null), json!([]), json!({})] {
            let event =
                decode(json!({"event": "incoming_call", "reference_id": "R", "data": empty}))
                    .unwrap();
            assert_eq!(event.kind, EventKind::IncomingCall(Parties::default()));
        }
        let missing = decode(json!({"event": "dial_completed", "reference_id": "R"})).unwrap();
        assert_eq!(
            missing.kind,
            EventKind::DialCompleted(DialCompleted {
                parties: Parties::default(),
                status: DialStatus::Unknown(String::new()),
            })
        );
        for bad in [json!("data"), json!(7), json!([7]), json!([[{}]])] {
            assert_eq!(
                code(json!({"event": "incoming_call", "reference_id": "R", "data": bad})),
                "invalid_field"
            );
        }
    }

    #[test]
    fn extra_fields_are_ignored() {
        let event = decode(json!({
            "event": "incoming_call", "reference_id": "R", "jsonrpc": "2.0", "extra": {"a": 1},
            "data": {"to": "15555551212", "from": "15558675309", "session_info": {}}
        }))
        .unwrap();
        assert_eq!(event.kind.name(), "incoming_call");
    }

    #[test]
    fn a_repeated_key_takes_its_last_value() {
        let body = br#"{"event":"incoming_call","reference_id":"R","event":"dial_completed",
            "data":{"status":"answered"},"data":{"status":"answered","status":"failed"}}"#;
        let event = decode_event(body).unwrap();
        assert_eq!(
            event.kind,
            EventKind::DialCompleted(DialCompleted {
                parties: Parties::default(),
                status: DialStatus::Failed,
            })
        );
    }

    #[test]
    fn not_json() {
        for body in [
            &b""[..],
            b"   ",
            b"not json",
            b"{\"event\": \"incoming_call\",}",
            b"{'test': 123}",
            b"{\"event\":\"x\",\"reference_id\":\"R\"} trailing",
            b"\xff\xfe{}",
            // Invalid JSON in a field the decoder does not use, or before a field it misses, is
            // still invalid JSON: a lone surrogate, a number out of range, bytes not UTF-8.
            br#"{"event":"incoming_call","reference_id":"R","x":"\ud800"}"#,
            br#"{"event":"incoming_call","reference_id":"R","x":[1e999]}"#,
            b"{\"event\":\"incoming_call\",\"reference_id\":\"R\",\"x\":{\"y\":\"\xff\"}}",
            br#"{"event":"incoming_call","data":{"to":"\ud800"}}"#,
            br#"{"event":"new_thing","reference_id":"R","data":{"n":-1e999}}"#,
        ] {
            let err = decode_event(body).unwrap_err();
            assert_eq!(err.code(), "invalid_json", "{body:?}");
            assert!(err.to_string().starts_with("body is not valid JSON"));
        }
    }

    #[test]
    fn not_an_object() {
        for value in [json!([]), json!("incoming_call"), json!(null), json!(1)] {
            assert_eq!(code(value), "invalid_event");
        }
    }

    #[test]
    fn missing_event_or_reference_id() {
        for (value, field) in [
            (json!({"reference_id": "R"}), "event"),
            (json!({"event": null, "reference_id": "R"}), "event"),
            (json!({"event": "", "reference_id": "R"}), "event"),
            (json!({"event": "incoming_call"}), "reference_id"),
            (
                json!({"event": "incoming_call", "reference_id": ""}),
                "reference_id",
            ),
        ] {
            let err = decode(value).unwrap_err();
            assert_eq!(err.code(), "missing_field");
            assert_eq!(err.to_string(), format!("missing field `{field}`"));
        }
    }

    #[test]
    fn wrong_types_and_values() {
        for (value, field) in [
            (json!({"event": 1, "reference_id": "R"}), "event"),
            (json!({"event": "x", "reference_id": ["R"]}), "reference_id"),
            (
                json!({"event": "x", "reference_id": "R", "external_id": 5}),
                "external_id",
            ),
            (
                json!({"event": "x", "reference_id": "R".repeat(129)}),
                "reference_id",
            ),
            (
                json!({"event": "incoming_call", "reference_id": "R", "data": {"to": 15555551212_u64}}),
                "data.to",
            ),
            (
                json!({"event": "dial_completed", "reference_id": "R", "data": {"status": true}}),
                "data.status",
            ),
            (
                json!({"event": "call_completed", "reference_id": "R", "data": {"direction": {}}}),
                "data.direction",
            ),
        ] {
            let err = decode(value).unwrap_err();
            assert_eq!(err.code(), "invalid_field");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid field `{field}`: ")),
                "{err}"
            );
        }
        assert!(decode(json!({"event": "x", "reference_id": "R".repeat(128)})).is_ok());
    }

    #[test]
    fn withheld_numbers_are_none_not_errors() {
        let event = decode(json!({"event": "incoming_call", "reference_id": "R",
            "data": {"from": "anonymous", "to": "+15555551212"}}))
        .unwrap();
        let EventKind::IncomingCall(parties) = event.kind else {
            panic!("not an incoming call: {event:?}");
        };
        assert_eq!(parties.from, None);
        assert_eq!(parties.to.unwrap().digits(), "15555551212");
        let leg = decode(json!({"event": "call_leg_completed", "reference_id": "R",
            "data": {"caller_id": "1", "hangup_cause": "line_busy"}}))
        .unwrap();
        let EventKind::CallLegCompleted(leg) = leg.kind else {
            panic!("not a leg event");
        };
        assert_eq!(leg.caller_id, None);
    }

    #[test]
    fn empty_optional_values_are_absent() {
        let event = decode(json!({
            "event": "incoming_call", "reference_id": "R", "external_id": "",
            "data": {"to": "", "from": null}
        }))
        .unwrap();
        assert_eq!(event.external_id, None);
        assert_eq!(event.kind, EventKind::IncomingCall(Parties::default()));
    }

    #[test]
    fn enums_serialize_to_wire_strings() {
        assert_eq!(
            serde_json::to_string(&DialStatus::Answered).unwrap(),
            r#""answered""#
        );
        assert_eq!(
            serde_json::to_string(&MediaStatus::Completed).unwrap(),
            r#""successful""#
        );
        assert_eq!(
            serde_json::to_string(&Direction::Inbound).unwrap(),
            r#""inbound""#
        );
        assert_eq!(
            serde_json::to_string(&CallStatus::Hangup).unwrap(),
            r#""hangup""#
        );
        assert_eq!(
            serde_json::to_string(&HangupCause::Unknown("odd".into())).unwrap(),
            r#""odd""#
        );
        let read: MediaStatus = serde_json::from_str(r#""speak_failed""#).unwrap();
        assert_eq!(read, MediaStatus::Failed);
        let read: DialStatus = serde_json::from_str(r#""call_answered""#).unwrap();
        assert_eq!(read, DialStatus::Answered);
    }
}
