//! The event pipeline after the request is verified and decoded: load the session, let the
//! engine decide, run the requests of `fetch` steps, persist, and say what to answer. Written
//! against the [`super::ports`], so it runs the same with sessions in KV or in a Durable
//! Object, and on the host against a store that fails on purpose.
//!
//! Order of writes, so a failure loses nothing: the session is saved before the answer is given
//! (a failed save is a 503 and Telesign's retry finds the old session); at the end of a call the
//! record is saved before the session is deleted (a failed record is a 503 and the retry finds the
//! session again; a failed delete only leaves a session that expires on its own).

use crate::api::campaigns;
use crate::engine::{self, Note, Outcome, Reply, Session, Write};
use crate::error::ApiError;
use crate::log::{mask_number, RequestLog};
use crate::telesign::{Action, Event, EventKind};

use super::ports::{CallRecords, Http, SessionStore};
use super::Pipeline;

/// How many `fetch` steps one event may run before the flow is considered looping.
pub const MAX_FETCHES_PER_EVENT: usize = 4;

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// Handles one verified, decoded event whose raw body is `body`. `Ok(None)` is "no action"
    /// (HTTP 204).
    pub async fn event(
        &self,
        event: &Event,
        body: &[u8],
        now_ms: u64,
        log: &mut RequestLog,
    ) -> Result<Option<Reply>, ApiError> {
        let session = match self.sessions.session(&event.reference_id).await? {
            Some(session) => Some(session),
            // An outbound call whose session is not written yet: its pending entry.
            None => match &event.external_id {
                Some(external_id) => self.records.pending(external_id).await?.map(|mut s| {
                    event.reference_id.clone_into(&mut s.reference_id);
                    s
                }),
                None => None,
            },
        };
        let had_session = session.is_some();
        if !had_session
            && matches!(event.kind, EventKind::IncomingCall(_))
            && self.records.record_exists(&event.reference_id).await?
        {
            // Only the body is signed, so anyone who once saw an incoming_call could replay
            // it: a call that is over does not start again.
            log.note = Some("replayed_call".into());
            return Ok(Some(Reply::from(&Action::Hangup)));
        }

        let (reply, write, note) = self.step(session, event, body, now_ms).await;
        log.note = Some(note_name(note).into());
        log.action = reply.as_ref().map(|r| r.method.clone());
        let progress = campaigns::progress(&event.kind, &write, had_session, now_ms);

        match write {
            Write::Nothing => {}
            Write::Session(session) => {
                log.flow = Some(session.flow.clone());
                log.step = Some(session.step.clone());
                log.from = session.from.as_deref().map(mask_number);
                self.sessions.save_session(&session).await?;
            }
            Write::Record(record) => {
                log.flow = record.flow.clone();
                log.from = record.from.as_deref().map(mask_number);
                // A redelivered call_completed finds no session: keep the record written first.
                let keep_existing =
                    !had_session && self.records.record_exists(&record.reference_id).await?;
                if !keep_existing {
                    let ttl = self.config.record_ttl_secs();
                    self.records.save_record(&record, ttl).await?;
                }
                if had_session
                    && self
                        .sessions
                        .delete_session(&record.reference_id)
                        .await
                        .is_err()
                {
                    log.warning =
                        Some("session not deleted after its record; it expires on its own".into());
                }
            }
        }

        if let Some(progress) = progress {
            // Campaign counts are bookkeeping: failing to write them must not fail the call.
            if self
                .advance_number(&progress.campaign, progress.entry)
                .await
                .is_err()
            {
                log.warning = Some("campaign progress not recorded".into());
            }
        }
        Ok(reply)
    }

    /// The engine's decision, with the HTTP requests of the flow's `fetch` steps run in between.
    async fn step(
        &self,
        session: Option<Session>,
        event: &Event,
        body: &[u8],
        now_ms: u64,
    ) -> (Option<Reply>, Write, Note) {
        let registry = self.registry;
        let fingerprint = engine::fingerprint(body);
        let mut outcome = engine::handle(registry, session, event, &fingerprint, now_ms);
        let mut fetches = 0;
        loop {
            match outcome {
                Outcome::Done { reply, write, note } => return (reply, write, note),
                Outcome::Fetch { session, .. } if fetches == MAX_FETCHES_PER_EVENT => {
                    outcome = engine::give_up(registry, *session, event, &fingerprint, now_ms);
                }
                Outcome::Fetch { session, request } => {
                    fetches += 1;
                    let result = self
                        .http
                        .send(&request, self.config.fetch_timeout_ms)
                        .await
                        .map_err(|e| e.to_string());
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
        }
    }
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
