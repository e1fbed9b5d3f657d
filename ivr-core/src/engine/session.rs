//! What the worker remembers about a call between two events (the session, in KV while the call
//! lasts) and after it (the call record). Both are plain serde types stored as JSON text.

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::{to_raw_value, RawValue};

use crate::flow::Direction;
use crate::telesign::EventName;

mod read;

/// The state of a call in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "read::StoredSession")]
pub struct Session {
    pub reference_id: String,
    pub flow: String,
    pub direction: Direction,
    /// The caller (inbound) or our caller id (outbound), E.164.
    pub from: Option<String>,
    /// The number called, E.164.
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The step the call is at.
    pub step: String,
    /// The language the call is spoken in: the flow's own until a `set_language` step
    /// switches it (`None` in sessions of versions before languages: the flow's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// What the worker is waiting for from Telesign.
    pub wait: Wait,
    /// Values collected from the caller, passed when the call was placed, or set by user code.
    /// While the engine runs a turn, the sensitive ones are here too, opened; stored, they are
    /// in `sealed`.
    pub vars: BTreeMap<String, String>,
    /// The sensitive variables (`gather(..).sensitive()`) a later step may still read, sealed
    /// (see [`crate::seal`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sealed: BTreeMap<String, String>,
    /// Every entry the caller made, in order.
    pub answers: Vec<Answer>,
    /// Every step entered, in order, and when.
    #[serde(flatten)]
    pub visits: Visits,
    /// Retries used at the last input step: a `Next::Retry` from the steps after it spends
    /// them too, so they outlive the step (with `input_step`), unlike [`Here`].
    pub retries: u32,
    /// The state of the step the call is at, written among the session's own fields.
    #[serde(flatten)]
    pub here: Here,
    /// Prompts Telesign could not play (`speak_failed`, `playback_failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<MediaFailure>,
    /// What each `fetch` step's request came to, in order (what `npm run flows:replay` replays).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fetches: Vec<FetchOutcome>,
    /// A `fetch` step with a hold whose request runs after the answer: the call waits for it
    /// while the hold plays. Not part of [`Here`]: a call that leaves the step before the
    /// outcome is read (to the flow's error step) still has the lookup under way, whose outcome
    /// goes into the record and whose stored entry is removed when the call ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// The last menu or gather step, where `Next::Retry` goes back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_step: Option<String>,
    /// How the call is going so far (see [`CallRecord::outcome`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CallOutcome>,
    pub started_ms: u64,
    pub updated_ms: u64,
    /// When the store last wrote this session, by the runtime's clock (not the event's time,
    /// which tests may set): the call's next write is spaced from it, since KV takes one write a
    /// second per key (see [`crate::pipeline::ports::SessionStore::one_write_a_second_per_key`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_ms: Option<u64>,
    /// Events handled so far.
    pub events: u32,
    /// The last event handled and what was answered: a redelivery is compared with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Seen>,
}

/// A step a call entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub step: String,
    /// When (ms); `None` in sessions written before steps were timed.
    pub entered_ms: Option<u64>,
}

/// Every step a call entered, in order. Written as sessions and records always have: `visited`,
/// the steps, and `visited_ms`, when each was entered (left out when a time is unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visits(Vec<Visit>);

impl Visits {
    /// `step` entered at `now_ms`.
    pub fn enter(&mut self, step: &str, now_ms: u64) {
        self.0.push(Visit {
            step: step.to_owned(),
            entered_ms: Some(now_ms),
        });
    }

    /// The steps, in order.
    pub fn steps(&self) -> Vec<&str> {
        self.0.iter().map(|v| v.step.as_str()).collect()
    }
}

impl Deref for Visits {
    type Target = [Visit];

    fn deref(&self) -> &[Visit] {
        &self.0
    }
}

impl<'a> FromIterator<&'a str> for Visits {
    /// Steps whose times are unknown.
    fn from_iter<I: IntoIterator<Item = &'a str>>(steps: I) -> Self {
        let visit = |step: &str| Visit {
            step: step.to_owned(),
            entered_ms: None,
        };
        Visits(steps.into_iter().map(visit).collect())
    }
}

/// [`Visits`] as written.
#[derive(Serialize)]
struct VisitsWire<'a> {
    visited: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    visited_ms: Vec<u64>,
}

impl Serialize for Visits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let times: Option<Vec<u64>> = self.0.iter().map(|v| v.entered_ms).collect();
        VisitsWire {
            visited: self.steps(),
            visited_ms: times.unwrap_or_default(),
        }
        .serialize(serializer)
    }
}

impl Visits {
    /// The steps and their times as written (see [`read`]). Times count only when there is one
    /// per step.
    fn read(steps: Vec<String>, times: Vec<u64>) -> Self {
        let timed = times.len() == steps.len();
        let visits = steps.into_iter().enumerate().map(|(i, step)| Visit {
            step,
            entered_ms: timed.then(|| times[i]),
        });
        Visits(visits.collect())
    }
}

/// What belongs to the step the call is at: entering a step starts it afresh
/// (`Here::default()`), so none of it can outlive its step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Here {
    /// Which number of the current dial step is ringing (0-based).
    pub hunt: u32,
    /// The numbers the current dial step has rung (digits), the one ringing last: a late leg
    /// event of an earlier one must not move the hunt on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rung: Vec<String>,
    /// Which part of the current step's prompt of several parts plays (0-based).
    #[serde(skip_serializing_if = "is_zero")]
    pub part: u32,
    /// Prompts of the current step played again after Telesign reported them failed.
    #[serde(skip_serializing_if = "is_zero")]
    pub media_retries: u32,
    /// The current step's audio failed: its spoken fallback (`or_say`) is played instead.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub spoken_fallback: bool,
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
    /// The digits pressed, terminators removed; empty when nothing was pressed. A sensitive
    /// entry's mask instead (`****5674`: its length, and the digits the flow keeps).
    pub digits: String,
    pub result: AnswerResult,
    pub at_ms: u64,
    /// Whether `digits` is the mask of a sensitive entry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// A prompt Telesign reported it could not play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFailure {
    pub step: String,
    pub status: MediaFailed,
    pub at_ms: u64,
}

named_enum! {
    /// Telesign's status of a prompt that could not be played.
    pub enum MediaFailed {
        /// `speak_completed` with `speak_failed`.
        SpeakFailed = "speak_failed",
        /// `play_completed` with `playback_failed`.
        PlaybackFailed = "playback_failed",
    }
}

/// A held `fetch` step waiting for its request's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// Which lookup of the call it is (the key of its outcome in the store): how many `fetch`
    /// outcomes the call had when it started.
    pub index: u32,
    /// Hold prompts played so far, the one playing included.
    pub plays: u32,
    /// When the request was handed to the shell.
    pub since_ms: u64,
}

/// What the request of a held `fetch` step came to, read by the step's code after the answer and
/// kept in the store until the hold ends (or a replay's recorded outcome): the variables the code
/// set, and which way the step goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupOutcome {
    pub step: String,
    pub index: u32,
    /// The answer's HTTP status; `None` when none came.
    pub status: Option<u16>,
    /// Whether the step goes on at `on_ok`.
    pub ok: bool,
    /// The variables the step's code set (none when it refused the answer).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// ... those of them that are sensitive, sealed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sealed: BTreeMap<String, String>,
    pub at_ms: u64,
}

impl LookupOutcome {
    /// As the call record keeps it.
    pub fn fetch_outcome(&self) -> FetchOutcome {
        FetchOutcome {
            step: self.step.clone(),
            status: self.status,
            ok: self.ok,
            at_ms: self.at_ms,
        }
    }
}

/// What one `fetch` step's request came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchOutcome {
    pub step: String,
    /// The answer's HTTP status; `None` when none came (a timeout, a failed connection).
    pub status: Option<u16>,
    /// Whether the call went on at the step's `on_ok` (a 2xx answer its code accepted).
    pub ok: bool,
    pub at_ms: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

named_enum! {
    /// What became of one entry of the caller's.
    pub enum AnswerResult {
        /// A menu option or a valid gathered value.
        Accepted = "accepted",
        /// Well-formed, then refused by user code (a gather's `.check`, or a `decide` step
        /// answering `Next::Retry`).
        Refused = "refused",
        /// Not an option of the menu, or a value of the wrong length.
        Invalid = "invalid",
        /// Nothing was pressed before the timeout.
        NoInput = "no_input",
        /// The menu's repeat key.
        Repeat = "repeat",
        /// Keys pressed during a plain prompt, which stopped it; they are also the answer of
        /// the input step that follows, if one does.
        Interrupted = "interrupted",
    }
}

named_enum! {
    /// How a call ended (or, in a live session, how it is going so far), as kept in call
    /// records and campaign results.
    pub enum CallOutcome {
        /// The flow ended the call.
        Completed = "completed",
        /// The caller hung up before the flow ended the call.
        CallerHungUp = "caller_hung_up",
        /// A `dial` step bridged the caller to a number that answered.
        Bridged = "bridged",
        /// No number of a `dial` step answered.
        NoAnswer = "no_answer",
        /// An outbound call was placed but not answered (`dial_completed` failed).
        DialFailed = "dial_failed",
        /// The flow did something it may not; the call was hung up politely.
        FlowError = "flow_error",
        /// No session was found for the call.
        UnknownCall = "unknown_call",
        /// The dial of an outbound call got a 200 rejection from Telesign.
        DialRejected = "dial_rejected",
        /// ... a 400.
        DialBadRequest = "dial_bad_request",
        /// ... a 401 (our credentials).
        DialUnauthorized = "dial_unauthorized",
        /// ... a 429.
        DialRateLimited = "dial_rate_limited",
        /// ... a 5xx or an undocumented status.
        DialUpstreamError = "dial_upstream_error",
        /// ... an answer that could not be read.
        DialInvalidResponse = "dial_invalid_response",
        /// ... no answer within `DIAL_TIMEOUT_MS`.
        DialTimeout = "dial_timeout",
        /// ... no connection to Telesign.
        DialUnreachable = "dial_unreachable",
        /// A campaign number that was not dialled: it is not a phone number.
        InvalidNumber = "invalid_number",
        /// A campaign number that was not dialled: its flow was removed by a deploy.
        UnknownFlow = "unknown_flow",
        /// A campaign number that was not dialled: its campaign was cancelled.
        Cancelled = "cancelled",
        /// A campaign number that was not dialled: its calling window did not open before the
        /// campaign's end.
        OutsideWindow = "outside_window",
        /// A campaign number that was not dialled: the number was erased.
        Erased = "erased",
    }
}

/// An event handled and the answer given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Hash of the raw body (see [`super::fingerprint`]).
    pub fingerprint: String,
    pub event: EventName,
    /// The JSON-RPC action answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<RawJson>,
    /// How many times this body has come again and been answered as a redelivery.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeats: u32,
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
        let text: String = crate::json::read(raw.get().as_bytes()).map_err(D::Error::custom)?;
        RawValue::from_string(text)
            .map(RawJson)
            .map_err(D::Error::custom)
    }
}

/// The lasting record of a finished call, kept for the configured retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "read::StoredRecord")]
pub struct CallRecord {
    pub reference_id: String,
    pub flow: Option<String>,
    /// An earlier version wrote Telesign's direction verbatim, `""` when the event had none:
    /// anything but `inbound` / `outbound` reads as `None`.
    pub direction: Option<Direction>,
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
    /// Every step entered, in order, and when, for the time spent in each step.
    #[serde(flatten)]
    pub visits: Visits,
    /// Prompts Telesign could not play.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<MediaFailure>,
    /// The language the call was spoken in last (see [`Session::language`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// What each `fetch` step's request came to, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fetches: Vec<FetchOutcome>,
    pub outcome: CallOutcome,
    /// Telesign's final status (`hangup`, `failed`, ...).
    pub status: Option<String>,
    pub started_ms: Option<u64>,
    pub ended_ms: u64,
}

impl CallRecord {
    /// Takes in what a session saved after this record was written adds: the entries, steps,
    /// variables and failures of an event that was still running when the call ended. A session
    /// behind the record (fewer steps visited: a write retried after a later event's) adds no
    /// variables, so it cannot put back values the call had moved past.
    pub fn absorb(&mut self, late: &Session) {
        if late.visits.len() >= self.visits.len() {
            self.vars
                .extend(late.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if late.answers.len() > self.answers.len() {
            self.answers.clone_from(&late.answers);
        }
        if late.visits.len() > self.visits.len() {
            self.visits.clone_from(&late.visits);
        }
        if late.failures.len() > self.failures.len() {
            self.failures.clone_from(&late.failures);
        }
        if late.fetches.len() > self.fetches.len() {
            self.fetches.clone_from(&late.fetches);
        }
    }
}

fn lenient_direction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Direction>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text.as_deref().and_then(Direction::parse))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANGUP: &str = r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#;

    /// A session as the version before typed outcomes wrote it (every optional field set).
    const STORED_SESSION: &str = concat!(
        r#"{"reference_id":"4C2E0000000000000000000000000001","flow":"bank_menu","#,
        r#""direction":"outbound","from":"+15554441313","to":"+15558675309","#,
        r#""external_id":"cmp_0123456789abcdef0123456789abcdef_4","step":"account_number","#,
        r#""wait":"speak","vars":{"account":"12345678"},"answers":["#,
        r#"{"step":"main_menu","digits":"1","result":"accepted","at_ms":1},"#,
        r#"{"step":"account_number","digits":"12345678","result":"refused","at_ms":2},"#,
        r#"{"step":"account_number","digits":"","result":"no_input","at_ms":3},"#,
        r#"{"step":"main_menu","digits":"5","result":"invalid","at_ms":4},"#,
        r#"{"step":"main_menu","digits":"9","result":"repeat","at_ms":5}],"#,
        r#""visited":["welcome","main_menu","account_number"],"retries":1,"hunt":0,"#,
        r#""rung":["15555550101"],"input_step":"account_number","outcome":"bridged","#,
        r#""started_ms":1,"updated_ms":5,"events":6,"last":{"fingerprint":"00ff","#,
        r#""event":"speak_completed","reply":{"jsonrpc":"2.0","method":"hangup","params":{}}}}"#
    );

    /// A call record as the version before typed outcomes wrote it.
    const STORED_RECORD: &str = concat!(
        r#"{"reference_id":"4C2E0000000000000000000000000001","flow":"bank_menu","#,
        r#""direction":"inbound","from":"+15558675309","to":"+15555551212","external_id":null,"#,
        r#""created_on_utc":"2026-11-21T10:00:00.000000","answered_on_utc":null,"#,
        r#""ended_on_utc":"2026-11-21T10:01:00.000000","duration":59,"#,
        r#""audio_recording_file_name":null,"vars":{"account":"12345674","balance":"1.00"},"#,
        r#""answers":[{"step":"main_menu","digits":"1","result":"accepted","at_ms":1763719200000}],"#,
        r#""visited":["welcome","main_menu"],"outcome":"caller_hung_up","status":"hangup","#,
        r#""started_ms":1763719199000,"ended_ms":1763719260000}"#
    );

    #[test]
    fn sessions_and_records_stored_by_the_string_typed_version_read_and_write_the_same() {
        let session: Session = serde_json::from_str(STORED_SESSION).unwrap();
        assert_eq!(session.outcome, Some(CallOutcome::Bridged));
        assert_eq!(session.direction, Direction::Outbound);
        let results: Vec<AnswerResult> = session.answers.iter().map(|a| a.result).collect();
        assert_eq!(
            results,
            [
                AnswerResult::Accepted,
                AnswerResult::Refused,
                AnswerResult::NoInput,
                AnswerResult::Invalid,
                AnswerResult::Repeat
            ]
        );
        assert_eq!(serde_json::to_string(&session).unwrap(), STORED_SESSION);

        let record: CallRecord = serde_json::from_str(STORED_RECORD).unwrap();
        assert_eq!(record.outcome, CallOutcome::CallerHungUp);
        assert_eq!(record.direction, Some(Direction::Inbound));
        assert_eq!(serde_json::to_string(&record).unwrap(), STORED_RECORD);

        // A prompt that could not be played, as the version before typed statuses wrote it.
        let failure = r#""failures":[{"step":"welcome","status":"playback_failed","at_ms":2}]"#;
        let failed = STORED_RECORD.replace(r#""visited""#, &format!(r#"{failure},"visited""#));
        let record: CallRecord = serde_json::from_str(&failed).unwrap();
        assert_eq!(record.failures[0].status, MediaFailed::PlaybackFailed);
        assert!(serde_json::to_string(&record).unwrap().contains(failure));
        // An unknown call's record, whose call_completed named no direction.
        let unknown = STORED_RECORD.replace(r#""direction":"inbound""#, r#""direction":"""#);
        let record: CallRecord = serde_json::from_str(&unknown).unwrap();
        assert_eq!(record.direction, None);
    }

    #[test]
    fn the_state_of_the_step_reads_from_and_writes_to_the_sessions_own_fields() {
        // Fields a session of an earlier version wrote among its own, in the middle of a hold
        // whose audio failed, at its second part.
        let here = concat!(
            r#""hunt":0,"rung":["15555550101"],"part":1,"media_retries":1,"#,
            r#""spoken_fallback":true"#
        );
        let held = r#""held":{"index":2,"plays":3,"since_ms":4}"#;
        let stored = STORED_SESSION.replace(
            r#""hunt":0,"rung":["15555550101"]"#,
            &format!("{here},{held}"),
        );
        let session: Session = serde_json::from_str(&stored).unwrap();
        assert_eq!(
            session.here,
            Here {
                hunt: 0,
                rung: vec!["15555550101".into()],
                part: 1,
                media_retries: 1,
                spoken_fallback: true,
            }
        );
        assert_eq!(
            session.held,
            Some(Held {
                index: 2,
                plays: 3,
                since_ms: 4
            })
        );
        let written = serde_json::to_string(&session).unwrap();
        assert!(
            written.contains(here) && written.contains(held),
            "{written}"
        );
        assert_eq!(serde_json::from_str::<Session>(&written).unwrap(), session);
    }

    #[test]
    fn visits_are_written_as_the_steps_and_their_times() {
        // STORED_SESSION is from before steps were timed.
        let mut session: Session = serde_json::from_str(STORED_SESSION).unwrap();
        assert_eq!(
            session.visits.steps(),
            ["welcome", "main_menu", "account_number"]
        );
        assert!(session.visits.iter().all(|v| v.entered_ms.is_none()));
        // A step entered now has a time, the earlier ones still none: no times are written
        // rather than times that belong to other steps.
        session.visits.enter("goodbye", 7);
        let written = serde_json::to_string(&session).unwrap();
        assert!(
            written.contains(
                r#""visited":["welcome","main_menu","account_number","goodbye"],"retries""#
            ),
            "{written}"
        );
        // Every step timed: both lists.
        let timed = STORED_SESSION.replace(
            r#""visited":["welcome","main_menu","account_number"],"#,
            r#""visited":["welcome","main_menu"],"visited_ms":[1,2],"#,
        );
        let session: Session = serde_json::from_str(&timed).unwrap();
        let times: Vec<Option<u64>> = session.visits.iter().map(|v| v.entered_ms).collect();
        assert_eq!(times, [Some(1), Some(2)]);
        assert_eq!(serde_json::to_string(&session).unwrap(), timed);
    }

    #[test]
    fn outcome_names_are_distinct_and_unknown_ones_are_refused() {
        let names: std::collections::BTreeSet<&str> =
            CallOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(names.len(), CallOutcome::ALL.len());
        for &outcome in CallOutcome::ALL {
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(serde_json::from_str::<CallOutcome>(&json).unwrap(), outcome);
        }
        let e = serde_json::from_str::<CallOutcome>(r#""hung_up_twice""#).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown CallOutcome `hung_up_twice`"),
            "{e}"
        );
        assert!(serde_json::from_str::<AnswerResult>("1").is_err());
    }

    #[test]
    fn the_last_events_name_reads_as_its_enum_and_is_written_as_before() {
        for (name, read) in [
            ("speak_completed", EventName::SpeakCompleted),
            ("a_later_event", EventName::Unknown("a_later_event".into())),
        ] {
            let stored = format!(r#"{{"fingerprint":"f","event":"{name}"}}"#);
            let seen: Seen = serde_json::from_str(&stored).unwrap();
            assert_eq!(seen.event, read);
            assert_eq!(serde_json::to_string(&seen).unwrap(), stored);
        }
    }

    #[test]
    fn a_reply_is_nested_as_json_not_as_a_string() {
        let seen = Seen {
            fingerprint: "f".into(),
            event: EventName::SpeakCompleted,
            reply: Some(RawJson::encode(
                &serde_json::json!({"jsonrpc": "2.0", "method": "hangup", "params": {}}),
            )),
            repeats: 0,
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
