//! What the worker remembers about a call between two events (the session, in KV while the call
//! lasts) and after it (the call record). Both are plain serde types stored as JSON text.

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::{to_raw_value, RawValue};

use crate::flow::Direction;

/// The state of a call in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub reference_id: String,
    pub flow: String,
    pub direction: Direction,
    /// The caller (inbound) or our caller id (outbound), E.164.
    pub from: Option<String>,
    /// The number called, E.164.
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The step the call is at.
    pub step: String,
    /// What the worker is waiting for from Telesign.
    pub wait: Wait,
    /// Values collected from the caller, passed when the call was placed, or set by user code.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Every entry the caller made, in order.
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// Every step entered, in order.
    #[serde(default)]
    pub visited: Vec<String>,
    /// Retries used at the current input step.
    #[serde(default)]
    pub retries: u32,
    /// Which number of the current dial step is ringing (0-based).
    #[serde(default)]
    pub hunt: u32,
    /// The numbers the current dial step has rung (digits), the one ringing last: a late leg
    /// event of an earlier one must not move the hunt on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rung: Vec<String>,
    /// The last menu or gather step, where `Next::Retry` goes back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_step: Option<String>,
    /// How the call is going so far (see [`CallRecord::outcome`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    pub started_ms: u64,
    pub updated_ms: u64,
    /// Events handled so far.
    #[serde(default)]
    pub events: u32,
    /// The last event handled and what was answered: a redelivery is compared with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Seen>,
}

/// What the worker waits for after its last answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Outbound call placed: waiting for `dial_completed`.
    Answer,
    /// A `speak` was sent: waiting for `speak_completed`.
    Speak,
    /// A `play` was sent: waiting for `play_completed`.
    Play,
    /// A retry notice was spoken before an audio prompt: waiting for `speak_completed`.
    Notice,
    /// A `dial` bridge was sent: waiting for `dial_completed` / `call_leg_completed`.
    Bridge,
    /// `send_dtmf` was sent: the next event continues the flow.
    Dtmf,
    /// `hangup` was sent (or nothing more can be sent): waiting for `call_completed`.
    Hangup,
}

/// One entry made by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub step: String,
    /// The digits pressed, terminators removed; empty when nothing was pressed.
    pub digits: String,
    /// `accepted`, `refused` (accepted, then refused by a `decide` step with `Next::Retry`),
    /// `invalid`, `no_input` or `repeat`.
    pub result: String,
    pub at_ms: u64,
}

/// An event handled and the answer given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Hash of the raw body (see [`super::fingerprint`]).
    pub fingerprint: String,
    pub event: String,
    /// The JSON-RPC action answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<RawJson>,
}

/// A JSON text kept as it is: nested verbatim in the session's JSON (`"reply":{"jsonrpc":...}`)
/// rather than as a string. As a string it was escaped on every write and unescaped on every
/// read, which cost more than all the rest of the session's encoding. Sessions written as a
/// string (before this) still decode.
#[derive(Debug, Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text of `value`. Plain data types cannot fail to encode; were one to, the text is
    /// `null`.
    pub fn encode<T: Serialize>(value: &T) -> Self {
        RawJson(to_raw_value(value).unwrap_or_default())
    }

    pub fn into_string(self) -> String {
        Box::<str>::from(self.0).into_string()
    }
}

impl Deref for RawJson {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.get()
    }
}

impl std::fmt::Display for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for RawJson {}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('"') {
            return Ok(RawJson(raw));
        }
        // Written by an earlier version, as an escaped string.
        let text: String = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        RawValue::from_string(text)
            .map(RawJson)
            .map_err(D::Error::custom)
    }
}

/// The lasting record of a finished call, kept for the configured retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub reference_id: String,
    pub flow: Option<String>,
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub external_id: Option<String>,
    pub created_on_utc: Option<String>,
    pub answered_on_utc: Option<String>,
    pub ended_on_utc: Option<String>,
    pub duration: Option<u64>,
    pub audio_recording_file_name: Option<String>,
    pub vars: BTreeMap<String, String>,
    pub answers: Vec<Answer>,
    pub visited: Vec<String>,
    /// `completed` (the flow ended the call), `caller_hung_up`, `bridged`, `no_answer`,
    /// `dial_failed` (outbound call not answered), `flow_error`, or `unknown_call` (no session
    /// was found for the call).
    pub outcome: String,
    /// Telesign's final status (`hangup`, `failed`, ...).
    pub status: Option<String>,
    pub started_ms: Option<u64>,
    pub ended_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANGUP: &str = r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#;

    #[test]
    fn a_reply_is_nested_as_json_not_as_a_string() {
        let seen = Seen {
            fingerprint: "f".into(),
            event: "speak_completed".into(),
            reply: Some(RawJson::encode(
                &serde_json::json!({"jsonrpc": "2.0", "method": "hangup", "params": {}}),
            )),
        };
        let text = serde_json::to_string(&seen).unwrap();
        assert_eq!(
            text,
            format!(r#"{{"fingerprint":"f","event":"speak_completed","reply":{HANGUP}}}"#)
        );
        assert_eq!(serde_json::from_str::<Seen>(&text).unwrap(), seen);
    }

    #[test]
    fn a_reply_stored_as_a_string_by_an_earlier_version_still_decodes() {
        let old = format!(
            r#"{{"fingerprint":"f","event":"e","reply":{}}}"#,
            serde_json::to_string(HANGUP).unwrap()
        );
        let seen: Seen = serde_json::from_str(&old).unwrap();
        assert_eq!(seen.reply.as_deref(), Some(HANGUP));
        let not_json = r#"{"fingerprint":"f","event":"e","reply":"{not json"}"#;
        assert!(serde_json::from_str::<Seen>(not_json).is_err());
    }
}
