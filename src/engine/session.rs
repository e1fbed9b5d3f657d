//! What the worker remembers about a call between two events (the session, in KV while the call
//! lasts) and after it (the call record). Both are plain serde types stored as JSON text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    pub reply: Option<String>,
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
