//! How a stored session and call record are read. Their types write the steps entered
//! ([`Visits`]) and the state of the step a call is at ([`Here`]) among their own fields, which
//! serde's `flatten` would read through a buffer of every field it does not know (an allocation
//! for each value, and that buffer's code in the wasm). These structs name every field instead:
//! what a version wrote, with the defaults for what it did not.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    Answer, CallOutcome, CallRecord, FetchOutcome, Held, Here, MediaFailure, Seen, Session, Visits,
    Wait,
};
use crate::flow::Direction;

/// A [`Session`] as stored.
#[derive(Deserialize)]
pub(super) struct StoredSession {
    reference_id: String,
    flow: String,
    direction: Direction,
    from: Option<String>,
    to: Option<String>,
    external_id: Option<String>,
    step: String,
    language: Option<String>,
    wait: Wait,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    sealed: BTreeMap<String, String>,
    #[serde(default)]
    answers: Vec<Answer>,
    #[serde(default)]
    visited: Vec<String>,
    #[serde(default)]
    visited_ms: Vec<u64>,
    #[serde(default)]
    retries: u32,
    #[serde(default)]
    hunt: u32,
    #[serde(default)]
    rung: Vec<String>,
    #[serde(default)]
    part: u32,
    #[serde(default)]
    media_retries: u32,
    #[serde(default)]
    spoken_fallback: bool,
    #[serde(default)]
    failures: Vec<MediaFailure>,
    #[serde(default)]
    fetches: Vec<FetchOutcome>,
    held: Option<Held>,
    input_step: Option<String>,
    outcome: Option<CallOutcome>,
    started_ms: u64,
    updated_ms: u64,
    saved_ms: Option<u64>,
    #[serde(default)]
    events: u32,
    last: Option<Seen>,
}

impl From<StoredSession> for Session {
    fn from(s: StoredSession) -> Self {
        Session {
            reference_id: s.reference_id,
            flow: s.flow,
            direction: s.direction,
            from: s.from,
            to: s.to,
            external_id: s.external_id,
            step: s.step,
            language: s.language,
            wait: s.wait,
            vars: s.vars,
            sealed: s.sealed,
            answers: s.answers,
            visits: Visits::read(s.visited, s.visited_ms),
            retries: s.retries,
            here: Here {
                hunt: s.hunt,
                rung: s.rung,
                part: s.part,
                media_retries: s.media_retries,
                spoken_fallback: s.spoken_fallback,
            },
            failures: s.failures,
            fetches: s.fetches,
            held: s.held,
            input_step: s.input_step,
            outcome: s.outcome,
            started_ms: s.started_ms,
            updated_ms: s.updated_ms,
            saved_ms: s.saved_ms,
            events: s.events,
            last: s.last,
        }
    }
}

/// A [`CallRecord`] as stored.
#[derive(Deserialize)]
pub(super) struct StoredRecord {
    reference_id: String,
    flow: Option<String>,
    #[serde(deserialize_with = "super::lenient_direction")]
    direction: Option<Direction>,
    from: Option<String>,
    to: Option<String>,
    external_id: Option<String>,
    created_on_utc: Option<String>,
    answered_on_utc: Option<String>,
    ended_on_utc: Option<String>,
    duration: Option<u64>,
    audio_recording_file_name: Option<String>,
    vars: BTreeMap<String, String>,
    answers: Vec<Answer>,
    #[serde(default)]
    visited: Vec<String>,
    #[serde(default)]
    visited_ms: Vec<u64>,
    #[serde(default)]
    failures: Vec<MediaFailure>,
    language: Option<String>,
    #[serde(default)]
    fetches: Vec<FetchOutcome>,
    outcome: CallOutcome,
    status: Option<String>,
    started_ms: Option<u64>,
    ended_ms: u64,
}

impl From<StoredRecord> for CallRecord {
    fn from(r: StoredRecord) -> Self {
        CallRecord {
            reference_id: r.reference_id,
            flow: r.flow,
            direction: r.direction,
            from: r.from,
            to: r.to,
            external_id: r.external_id,
            created_on_utc: r.created_on_utc,
            answered_on_utc: r.answered_on_utc,
            ended_on_utc: r.ended_on_utc,
            duration: r.duration,
            audio_recording_file_name: r.audio_recording_file_name,
            vars: r.vars,
            answers: r.answers,
            visits: Visits::read(r.visited, r.visited_ms),
            failures: r.failures,
            language: r.language,
            fetches: r.fetches,
            outcome: r.outcome,
            status: r.status,
            started_ms: r.started_ms,
            ended_ms: r.ended_ms,
        }
    }
}
