//! The call record: what is kept of a call once it is over, from its session (if any) and the
//! event that ended it.

use crate::telesign::{Event, EventKind};

use super::{done, CallOutcome, CallRecord, Note, Outcome, Session, Wait, Write};

/// The call is over: its record, from the session (if any) and the event.
pub(super) fn finish(session: Option<Session>, event: &Event, now_ms: u64) -> Outcome {
    let mut record = CallRecord {
        reference_id: event.reference_id.clone(),
        flow: None,
        direction: None,
        from: None,
        to: None,
        external_id: event.external_id.clone(),
        created_on_utc: None,
        answered_on_utc: None,
        ended_on_utc: None,
        duration: None,
        audio_recording_file_name: None,
        vars: Default::default(),
        answers: Vec::new(),
        visits: Default::default(),
        failures: Vec::new(),
        language: None,
        fetches: Vec::new(),
        outcome: CallOutcome::UnknownCall,
        status: None,
        started_ms: None,
        ended_ms: now_ms,
    };
    if let Some(s) = session {
        let outcome = match (&event.kind, s.wait, s.outcome) {
            (EventKind::DialCompleted(_), _, _) => CallOutcome::DialFailed,
            (_, _, Some(o)) => o,
            (_, Wait::Hangup, None) => CallOutcome::Completed,
            _ => CallOutcome::CallerHungUp,
        };
        record.flow = Some(s.flow);
        record.direction = Some(s.direction);
        record.from = s.from;
        record.to = s.to;
        record.external_id = s.external_id.or(record.external_id);
        record.vars = s.vars;
        record.answers = s.answers;
        record.visits = s.visits;
        record.failures = s.failures;
        record.language = s.language;
        record.fetches = s.fetches;
        record.outcome = outcome;
        record.started_ms = Some(s.started_ms);
    }
    if let Some(c) = event.kind.call_ended() {
        record.direction = record.direction.or(c.direction);
        record.from = record.from.or(c.parties.from.as_ref().map(|p| p.e164()));
        record.to = record.to.or(c.parties.to.as_ref().map(|p| p.e164()));
        record.created_on_utc = c.created_on_utc.clone();
        record.answered_on_utc = c.answered_on_utc.clone();
        record.ended_on_utc = c.ended_on_utc.clone();
        record.duration = c.duration;
        record.audio_recording_file_name = c.audio_recording_file_name.clone();
        record.status = Some(c.status.as_str().to_owned());
    } else if let EventKind::DialCompleted(d) = &event.kind {
        record.status = Some(d.status.as_str().to_owned());
    }
    done(None, Write::Record(Box::new(record)), Note::Finished)
}
