//! Where each number of a campaign is: its result and how it may change, what a webhook event
//! does to it, the counts of `GET /campaigns/<id>`, and the consumer's pacing and retry
//! arithmetic.

use serde::{Deserialize, Serialize};

use crate::engine::{CallOutcome, Write};
use crate::telesign::EventKind;

use super::parse_member;

/// The longest retry delay, whatever the backoff or `Retry-After` says.
pub const MAX_RETRY_DELAY_SECS: u64 = 3_600;

named_enum! {
    /// Where one number of a campaign is. Numbers move forward only (see [`NumberState::rank`]).
    pub enum NumberState {
        /// Waiting for its dial (or its retry).
        Queued = "queued",
        /// Telesign accepted the dial; the phone is ringing.
        Dialing = "dialing",
        /// The call was answered and runs its flow.
        Answered = "answered",
        /// The answered call ended.
        Completed = "completed",
        /// The number was not reached: a rejected or failed dial, or no answer.
        Failed = "failed",
    }
}

named_enum! {
    /// Whether a campaign dials: a paused one dials nobody until it is resumed; a cancelled one
    /// never again (its numbers not dialled yet fail as `cancelled`). Calls already ringing
    /// finish either way.
    pub enum CampaignState {
        Running = "running",
        Paused = "paused",
        Cancelled = "cancelled",
    }
}

named_enum! {
    /// What `POST /campaigns/<id>/<action>` asks of a campaign.
    pub enum Control {
        Pause = "pause",
        Resume = "resume",
        Cancel = "cancel",
    }
}

impl Control {
    /// The state the campaign is in after it.
    pub fn target(self) -> CampaignState {
        match self {
            Control::Pause => CampaignState::Paused,
            Control::Resume => CampaignState::Running,
            Control::Cancel => CampaignState::Cancelled,
        }
    }
}

/// A number still to dial, as a resumed campaign or a due redial queues it again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueuedNumber {
    pub campaign: String,
    pub index: u32,
    pub to: String,
    /// Its own vars, as JSON text (none: null).
    pub vars: Option<String>,
    /// Its own time zone (none: the window's).
    #[serde(default)]
    pub time_zone: Option<String>,
    pub attempts: u32,
}

impl NumberState {
    pub(crate) fn rank(self) -> u8 {
        match self {
            NumberState::Queued => 0,
            NumberState::Dialing => 1,
            NumberState::Answered => 2,
            NumberState::Completed | NumberState::Failed => 3,
        }
    }

    pub fn is_final(self) -> bool {
        self.rank() == 3
    }
}

/// The result of one number (`campaign:<id>:n:<index>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberEntry {
    pub index: u32,
    /// E.164, when known (the webhook may write first and knows it from the session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub state: NumberState,
    /// Dials sent so far.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// The call record's outcome, or the failed dial's (of the last attempt), or why the number
    /// was not dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CallOutcome>,
    /// Telesign's status, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub updated_ms: u64,
}

impl NumberEntry {
    /// Number `index` (`to`, E.164) waiting for its first dial.
    pub fn queued(index: u32, to: &str, now_ms: u64) -> Self {
        NumberEntry {
            index,
            to: Some(to.to_owned()),
            state: NumberState::Queued,
            attempts: 0,
            reference_id: None,
            outcome: None,
            status: None,
            updated_ms: now_ms,
        }
    }
}

/// Whether the consumer may dial number `entry` at `attempt`. A redelivered message finds its
/// number already dialled (or rescheduled, with a higher attempt) and is skipped, so queue
/// redeliveries do not ring anyone twice.
pub fn should_dial(entry: Option<&NumberEntry>, attempt: u32) -> bool {
    match entry {
        None => attempt == 0,
        Some(e) => e.state == NumberState::Queued && e.attempts == attempt,
    }
}

/// `update` applied over `existing`: `None` when it would move the number backwards or change
/// a final result (an event racing the consumer's own write, a redelivery).
pub fn advance(existing: Option<&NumberEntry>, update: NumberEntry) -> Option<NumberEntry> {
    let Some(existing) = existing else {
        return Some(update);
    };
    if existing.state.is_final() || update.state.rank() < existing.state.rank() {
        return None;
    }
    Some(NumberEntry {
        // The row's own number: written when the campaign started, and cleared by an erasure.
        to: existing.to.clone(),
        attempts: update.attempts.max(existing.attempts),
        reference_id: update
            .reference_id
            .or_else(|| existing.reference_id.clone()),
        status: update.status.or_else(|| existing.status.clone()),
        ..update
    })
}

/// What an event did to a campaign call, for its number's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub campaign: String,
    pub entry: NumberEntry,
}

/// Reads the engine's decision for a webhook event: an outbound campaign call answered
/// (`dial_completed` moving its session on) or ended (its record written from a session).
/// Anything else (redeliveries, unknown calls, calls that are not a campaign's) is `None`.
pub fn progress(
    kind: &EventKind,
    write: &Write,
    had_session: bool,
    now_ms: u64,
) -> Option<Progress> {
    let (external_id, entry) = match (kind, write) {
        (EventKind::DialCompleted(_), Write::Session(s)) => (
            s.external_id.as_deref()?,
            (
                NumberState::Answered,
                s.to.clone(),
                s.reference_id.clone(),
                None,
                None,
            ),
        ),
        (_, Write::Record(r)) if had_session => {
            let state = if r.outcome == CallOutcome::DialFailed {
                NumberState::Failed
            } else {
                NumberState::Completed
            };
            (
                r.external_id.as_deref()?,
                (
                    state,
                    r.to.clone(),
                    r.reference_id.clone(),
                    Some(r.outcome),
                    r.status.clone(),
                ),
            )
        }
        _ => return None,
    };
    let (campaign, index) = parse_member(external_id)?;
    let (state, to, reference_id, outcome, status) = entry;
    Some(Progress {
        campaign: campaign.to_owned(),
        entry: NumberEntry {
            index,
            to,
            state,
            attempts: 0,
            reference_id: Some(reference_id),
            outcome,
            status,
            updated_ms: now_ms,
        },
    })
}

/// `GET /campaigns/<id>` counts. Every number is in exactly one bucket; numbers without a
/// result yet (and those waiting for a retry) are `queued`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: u32,
    pub queued: u32,
    pub dialing: u32,
    pub answered: u32,
    pub failed: u32,
    pub completed: u32,
}

/// Counts the states of the numbers that have a result.
pub fn counts(total: u32, states: impl IntoIterator<Item = NumberState>) -> Counts {
    let mut c = Counts {
        total,
        ..Counts::default()
    };
    for state in states {
        match state {
            NumberState::Queued => {}
            NumberState::Dialing => c.dialing += 1,
            NumberState::Answered => c.answered += 1,
            NumberState::Completed => c.completed += 1,
            NumberState::Failed => c.failed += 1,
        }
    }
    c.queued = total.saturating_sub(c.dialing + c.answered + c.completed + c.failed);
    c
}

/// How long to wait before retrying a dial that failed at `attempt` (0-based): `base` doubled
/// per attempt, at least Telesign's `Retry-After`, at most [`MAX_RETRY_DELAY_SECS`].
pub fn retry_delay_secs(attempt: u32, base_secs: u64, retry_after_secs: Option<u32>) -> u32 {
    let backoff = base_secs.saturating_mul(1u64 << attempt.min(20));
    let delay = backoff
        .max(retry_after_secs.map_or(0, u64::from))
        .min(MAX_RETRY_DELAY_SECS);
    // Bounded by MAX_RETRY_DELAY_SECS above.
    u32::try_from(delay).unwrap_or(u32::MAX)
}

/// When (ms after the batch started) the `n`th dial of a consumer invocation may be sent, to keep
/// to `per_second` dials a second.
pub fn dial_slot_ms(n: u64, per_second: u64) -> u64 {
    n.saturating_mul(1_000) / per_second.max(1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use std::collections::BTreeMap;

    use super::*;
    use crate::api::campaigns::member_external_id;
    use crate::engine::{CallRecord, Session, Wait};
    use crate::flow::{say, Flow};

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn entry(state: NumberState, attempts: u32) -> NumberEntry {
        NumberEntry {
            index: 3,
            to: Some("+15555550001".into()),
            state,
            attempts,
            reference_id: None,
            outcome: None,
            status: None,
            updated_ms: 1,
        }
    }

    #[test]
    fn redelivered_and_stale_dials_are_skipped() {
        assert!(should_dial(None, 0));
        assert!(!should_dial(None, 1));
        assert!(should_dial(Some(&entry(NumberState::Queued, 2)), 2));
        assert!(!should_dial(Some(&entry(NumberState::Queued, 2)), 1));
        assert!(!should_dial(Some(&entry(NumberState::Dialing, 1)), 0));
        assert!(!should_dial(Some(&entry(NumberState::Failed, 1)), 1));
    }

    #[test]
    fn numbers_only_move_forward() {
        use NumberState::*;
        let answered = NumberEntry {
            to: None,
            reference_id: Some("R".into()),
            ..entry(Answered, 0)
        };
        // The consumer's "dialing" arriving after the webhook's "answered" changes nothing.
        assert_eq!(advance(Some(&answered), entry(Dialing, 1)), None);
        let merged = advance(Some(&entry(Dialing, 1)), answered.clone()).unwrap();
        assert_eq!((merged.state, merged.attempts), (Answered, 1));
        assert_eq!(merged.to.as_deref(), Some("+15555550001"));
        assert_eq!(merged.reference_id.as_deref(), Some("R"));
        assert_eq!(advance(Some(&entry(Completed, 1)), entry(Failed, 1)), None);
        assert_eq!(advance(Some(&entry(Failed, 1)), entry(Completed, 1)), None);
        assert_eq!(advance(None, entry(Answered, 0)).unwrap().state, Answered);
        assert_eq!(
            advance(Some(&entry(Queued, 1)), entry(Queued, 2))
                .unwrap()
                .attempts,
            2
        );
    }

    fn session(external_id: Option<&str>) -> Session {
        let flow = Flow::outbound("remind").step("a", say("Hi"));
        let mut s = crate::engine::outbound_session(
            &flow,
            "R1",
            "+15555550001",
            "+15550000000",
            external_id,
            BTreeMap::new(),
            5,
        );
        s.wait = Wait::Speak;
        s
    }

    fn record(outcome: &str, external_id: Option<&str>) -> CallRecord {
        CallRecord {
            reference_id: "R1".into(),
            flow: Some("remind".into()),
            direction: Some(crate::telesign::Direction::Outbound),
            from: None,
            to: Some("+15555550001".into()),
            external_id: external_id.map(str::to_owned),
            created_on_utc: None,
            answered_on_utc: None,
            ended_on_utc: None,
            duration: None,
            audio_recording_file_name: None,
            vars: BTreeMap::new(),
            answers: vec![],
            visits: Default::default(),
            failures: vec![],
            fetches: vec![],
            language: None,
            outcome: serde_json::from_value(json!(outcome)).unwrap(),
            status: Some("failed".into()),
            started_ms: None,
            ended_ms: 9,
        }
    }

    fn kind(event: &str) -> EventKind {
        let body = json!({"event": event, "reference_id": "R1", "data": {"status": "answered", "to": "15555550001", "from": "15550000000"}});
        crate::telesign::decode_event(body.to_string().as_bytes())
            .unwrap()
            .kind
    }

    #[test]
    fn webhook_progress_of_campaign_calls() {
        let ext = member_external_id(ID, 7);
        let answered = progress(
            &kind("dial_completed"),
            &Write::Session(Box::new(session(Some(&ext)))),
            true,
            10,
        )
        .unwrap();
        assert_eq!(answered.campaign, ID);
        assert_eq!(
            (answered.entry.index, answered.entry.state),
            (7, NumberState::Answered)
        );
        assert_eq!(answered.entry.reference_id.as_deref(), Some("R1"));

        let failed = progress(
            &kind("dial_completed"),
            &Write::Record(Box::new(record("dial_failed", Some(&ext)))),
            true,
            10,
        )
        .unwrap();
        assert_eq!(failed.entry.state, NumberState::Failed);
        assert_eq!(
            failed.entry.outcome.map(CallOutcome::as_str),
            Some("dial_failed")
        );
        let done = progress(
            &kind("call_completed"),
            &Write::Record(Box::new(record("completed", Some(&ext)))),
            true,
            10,
        )
        .unwrap();
        assert_eq!(done.entry.state, NumberState::Completed);

        // Not a campaign call, a redelivery, or a call we had no session for.
        assert_eq!(
            progress(
                &kind("dial_completed"),
                &Write::Session(Box::new(session(Some("order-1")))),
                true,
                10
            ),
            None
        );
        assert_eq!(
            progress(
                &kind("dial_completed"),
                &Write::Session(Box::new(session(None))),
                true,
                10
            ),
            None
        );
        assert_eq!(
            progress(&kind("dial_completed"), &Write::Nothing, true, 10),
            None
        );
        assert_eq!(
            progress(
                &kind("call_completed"),
                &Write::Record(Box::new(record("unknown_call", Some(&ext)))),
                false,
                10
            ),
            None
        );
        assert_eq!(
            progress(
                &kind("speak_completed"),
                &Write::Session(Box::new(session(Some(&ext)))),
                true,
                10
            ),
            None
        );
    }

    #[test]
    fn counts_put_every_number_in_one_bucket() {
        use NumberState::*;
        let c = counts(10, [Dialing, Answered, Answered, Failed, Completed, Queued]);
        assert_eq!(
            c,
            Counts {
                total: 10,
                queued: 5,
                dialing: 1,
                answered: 2,
                failed: 1,
                completed: 1
            }
        );
        assert_eq!(counts(1, [Failed, Failed]).queued, 0, "never negative");
        assert_eq!(
            serde_json::to_value(counts(0, [])).unwrap(),
            json!({"total": 0, "queued": 0, "dialing": 0, "answered": 0, "failed": 0, "completed": 0})
        );
    }

    #[test]
    fn retries_back_off_and_respect_retry_after() {
        assert_eq!(retry_delay_secs(0, 30, None), 30);
        assert_eq!(retry_delay_secs(1, 30, None), 60);
        assert_eq!(retry_delay_secs(2, 30, Some(300)), 300);
        assert_eq!(retry_delay_secs(0, 1, Some(2)), 2);
        assert_eq!(retry_delay_secs(19, 30, None), MAX_RETRY_DELAY_SECS as u32);
        assert_eq!(
            retry_delay_secs(u32::MAX, u64::MAX, Some(u32::MAX)),
            MAX_RETRY_DELAY_SECS as u32
        );
    }

    #[test]
    fn dials_are_paced() {
        assert_eq!(dial_slot_ms(0, 5), 0);
        assert_eq!(dial_slot_ms(1, 5), 200);
        assert_eq!(dial_slot_ms(10, 5), 2_000);
        assert_eq!(dial_slot_ms(3, 1_000), 3);
        assert_eq!(dial_slot_ms(3, 0), 3_000);
    }
}
