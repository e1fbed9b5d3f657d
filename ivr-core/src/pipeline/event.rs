//! The event pipeline after the request is verified and decoded: load the session, let the
//! engine decide, run the requests of `fetch` steps, persist, and say what to answer. Written
//! against the [`super::ports`], so it runs the same with sessions in KV or in a Durable
//! Object, and on the host against a store that fails on purpose (the tests below).
//!
//! Order of writes, so a failure loses nothing: the session is saved before the answer is given
//! (a failed save is a 503 and Telesign's retry finds the old session); at the end of a call the
//! record is saved before the session is deleted (a failed record is a 503 and the retry finds the
//! session again; a failed delete only leaves a session that expires on its own).

use crate::config::Config;
use crate::engine::{self, Note, Outcome, Reply, Write};
use crate::error::ApiError;
use crate::flow::Registry;
use crate::log::{mask_number, RequestLog};
use crate::pipeline::ports::{CallRecords, Fetcher, SessionStore};
use crate::telesign::{Action, Event, EventKind};

/// How many `fetch` steps one event may run before the flow is considered looping.
pub const MAX_FETCHES_PER_EVENT: usize = 4;

/// Handles one verified, decoded event. `Ok(None)` is "no action" (HTTP 204).
#[allow(clippy::too_many_arguments)]
pub async fn process(
    sessions: &impl SessionStore,
    records: &impl CallRecords,
    fetcher: &impl Fetcher,
    registry: &Registry,
    config: &Config,
    event: &Event,
    body: &[u8],
    now_ms: u64,
    log: &mut RequestLog,
) -> Result<Option<Reply>, ApiError> {
    let session = match sessions.session(&event.reference_id).await? {
        Some(session) => Some(session),
        // An outbound call whose session is not written yet: its pending entry.
        None => match &event.external_id {
            Some(external_id) => records.pending(external_id, &event.reference_id).await?,
            None => None,
        },
    };
    let had_session = session.is_some();
    if !had_session
        && matches!(event.kind, EventKind::IncomingCall(_))
        && records.record_exists(&event.reference_id).await?
    {
        // Only the body is signed, so anyone who once saw an incoming_call could replay it:
        // a call that is over does not start again.
        log.note = Some("replayed_call".into());
        return Ok(Some(Reply::from(&Action::Hangup)));
    }

    let fingerprint = engine::fingerprint(body);
    let mut outcome = engine::handle(registry, session, event, &fingerprint, now_ms);
    let mut fetches = 0;
    let (reply, write, note) = loop {
        match outcome {
            Outcome::Done { reply, write, note } => break (reply, write, note),
            Outcome::Fetch { session, .. } if fetches == MAX_FETCHES_PER_EVENT => {
                outcome = engine::give_up(registry, *session, event, &fingerprint, now_ms);
            }
            Outcome::Fetch { session, request } => {
                fetches += 1;
                let result = fetcher.fetch(&request, config.fetch_timeout_ms).await;
                outcome = engine::resume(
                    registry,
                    *session,
                    event,
                    &fingerprint,
                    result.as_ref().map_err(String::as_str),
                    now_ms,
                );
            }
        }
    };
    log.note = Some(note_name(note).into());
    log.action = reply.as_ref().map(|r| r.method.clone());
    let progress = crate::api::campaigns::progress(&event.kind, &write, had_session, now_ms);

    match write {
        Write::Nothing => {}
        Write::Session(session) => {
            log.flow = Some(session.flow.clone());
            log.step = Some(session.step.clone());
            log.from = session.from.as_deref().map(mask_number);
            sessions.save_session(&session).await?;
        }
        Write::Record(record) => {
            log.flow = record.flow.clone();
            log.from = record.from.as_deref().map(mask_number);
            // A redelivered call_completed finds no session: keep the record written first.
            let keep_existing = !had_session && records.record_exists(&record.reference_id).await?;
            if !keep_existing {
                records
                    .save_record(&record, config.record_ttl_secs())
                    .await?;
            }
            if had_session && sessions.delete_session(&record.reference_id).await.is_err() {
                log.warning =
                    Some("session not deleted after its record; it expires on its own".into());
            }
        }
    }

    if let Some(progress) = progress {
        // Campaign counts are bookkeeping: failing to write them must not fail the call.
        let ttl = config.record_ttl_secs();
        if records.campaign_progress(progress, ttl).await.is_err() {
            log.warning = Some("campaign progress not recorded".into());
        }
    }
    Ok(reply)
}

fn note_name(note: Note) -> &'static str {
    match note {
        Note::Started => "started",
        Note::Advanced => "advanced",
        Note::Finished => "finished",
        Note::Duplicate => "duplicate",
        Note::Stale => "stale",
        Note::UnknownCall => "unknown_call",
        Note::NoFlow => "no_flow",
        Note::Ignored => "ignored",
    }
}
