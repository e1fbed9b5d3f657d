//! The event pipeline after the request is verified and decoded: load the session, let the
//! engine decide, run the requests of `fetch` steps (within the event's time budget), persist,
//! and say what to answer and what to do after answering. Written against the
//! [`super::ports`], so it runs the same with sessions in KV or in a Durable Object, and on the
//! host against a store that fails on purpose.
//!
//! What is kept when something fails, or arrives out of turn:
//! - **A session write that fails** does not take the answer away: the caller is on the line,
//!   and no Telesign page says that a voice event answered `5xx` is sent again, so the action
//!   is answered and the write is tried again after the answer ([`Later::SaveSession`]). Were
//!   it never to succeed, the next event meets the session before, and the engine answers it
//!   with the prompt the call waits on rather than nothing.
//! - **At the end of a call** the record is saved before the session is deleted: a failed record
//!   write is a `503` (Telesign ignores the answer to `call_completed` anyway) and the session,
//!   with everything the caller entered, stays for a retry; a failed delete only leaves a
//!   session that expires on its own.
//! - **An event still running when the call ends** (`call_completed` arriving while another event
//!   of the call is being handled, and writing the record from the session as it was): with
//!   sessions in KV, a turn that ran a `fetch` step (the slow ones) looks for the record before it
//!   saves its session and again just after, and folds what it added into the record instead of
//!   leaving a session; and the call's end is settled again once the event budget has passed
//!   ([`Later::Settle`]), which folds any session that any turn saved after the record was
//!   written. A failure of those checks never takes the caller's answer away: the session is
//!   saved, and the settle looks again. A Durable Object runs a call's events one at a time, so
//!   there it cannot happen.

use crate::api::campaigns;
use crate::engine::{
    self, CallRecord, Lookup, LookupOutcome, Note, Outcome, Reply, Session, Write,
};
use crate::error::ApiError;
use crate::flow::Fetch;
use crate::flow::Taken;
use crate::log::{mask_number, RequestLog};
use crate::telesign::{Action, Event, EventKind};

use super::ports::{CallRecords, Http, SessionStore, Sleep};
use super::Pipeline;

/// How many `fetch` steps one event may run before the flow is considered looping.
pub const MAX_FETCHES_PER_EVENT: usize = 4;
/// How long after a call's end it is settled again: past the event budget, with room for the
/// store's own latency.
pub const SETTLE_MARGIN_MS: u64 = 1_000;
/// Tries of a session write after the answer, waiting 1, 2, then 4 s (KV takes one write a
/// second per key).
pub const SAVE_RETRIES: u32 = 3;

/// What the pipeline did with an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The action to answer with (HTTP 200), or none (HTTP 204).
    pub reply: Option<Reply>,
    /// Work to do after the answer has gone (`waitUntil`).
    pub later: Vec<Later>,
    /// The branches the call took (for flow tests' coverage; the worker does not keep them).
    pub taken: Vec<Taken>,
}

/// Work the pipeline asks for after the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Later {
    /// The session could not be saved before the answer: save it, unless a later event saved
    /// a newer one meanwhile.
    SaveSession(Box<Session>),
    /// The call ended: once `after_ms` has passed, fold into its record any session that an
    /// event still running then saved.
    Settle { reference_id: String, after_ms: u64 },
    /// A held `fetch` step's request: run it, read its answer with the step's code (on the
    /// session as the hold started), keep the outcome for the end of the hold, and put it in the
    /// call's record if the call has ended meanwhile.
    Lookup {
        session: Box<Session>,
        lookup: Box<Lookup>,
        /// The real time when it was handed over, to date its outcome on the call's clock.
        handed_ms: u64,
    },
}

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// Handles one verified, decoded event whose raw body is `body`, at `now_ms` (the event's
    /// time: the engine's clock); `sleep` waits out KV's spacing of a key's writes
    /// ([`SessionStore::one_write_a_second_per_key`]).
    pub async fn event(
        &self,
        event: &Event,
        body: &[u8],
        now_ms: u64,
        log: &mut RequestLog,
        sleep: &impl Sleep,
    ) -> Result<Handled, ApiError> {
        let session = match self.sessions.session(&event.reference_id).await? {
            Some(session) => Some(session),
            // An outbound call whose session is not written yet: its pending entry. The dialer
            // writes that session about now, so it is taken as written now (KV's spacing).
            None => match &event.external_id {
                Some(external_id) => self.records.pending(external_id).await?.map(|mut s| {
                    event.reference_id.clone_into(&mut s.reference_id);
                    s.saved_ms = Some(self.clock.now_ms());
                    s
                }),
                None => None,
            },
        };
        let had_session = session.is_some();
        let saved_ms = session.as_ref().and_then(|s| s.saved_ms);
        self.note_missing_settings(session.as_ref(), event, log);
        if !had_session
            && matches!(event.kind, EventKind::IncomingCall(_))
            && self.records.record_exists(&event.reference_id).await?
        {
            // Only the body is signed, so anyone who once saw an incoming_call could replay
            // it: a call that is over does not start again.
            log.note = Some("replayed_call".into());
            return Ok(answered(Some(Reply::from(&Action::Hangup))));
        }

        let held_before = session.as_ref().and_then(|s| s.held.clone());
        let (reply, write, note, taken, fetched, lookup) =
            self.step(session, event, body, now_ms, log).await;
        log.note = Some(note_name(note).into());
        log.action = reply.as_ref().map(|r| r.method.as_str().to_owned());
        let progress = campaigns::progress(&event.kind, &write, had_session, now_ms);
        let mut handled = answered(reply);
        handled.taken = taken;
        let held_lookup = match (lookup, &write) {
            (Some(lookup), Write::Session(session)) => Some((session.clone(), lookup)),
            _ => None,
        };

        match write {
            Write::Nothing => {}
            Write::Session(mut session) => {
                log.flow = Some(session.flow.clone());
                log.step = Some(session.step.clone());
                log.from = session.from.as_deref().map(mask_number);
                let waited = self.space_write(saved_ms, sleep, log).await;
                // A turn that waited, on a `fetch` step or for KV's spacing, may have outlived
                // its call: it looks for the record before saving and again after (the call may
                // end in between, its record made from the session before this turn's).
                let in_flight = (fetched || waited) && !self.sessions.one_event_at_a_time();
                if in_flight && self.folded(&session, sleep, log).await {
                    log.note = Some("folded_into_record".into());
                } else {
                    session.saved_ms = Some(self.clock.now_ms());
                    if self.sessions.save_session(&session).await.is_err() {
                        log.warning =
                            Some("session not saved; tried again after the answer".into());
                        handled.later.push(Later::SaveSession(session));
                    } else if in_flight && self.folded(&session, sleep, log).await {
                        log.note = Some("folded_into_record".into());
                    }
                }
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
                    // The caller hung up during a hold: the request's outcome, if it came,
                    // goes into the record (saved first: a request finishing now finds it).
                    if let Some(held) = &held_before {
                        self.fold_lookup(&record.reference_id, held.index, log)
                            .await;
                    }
                }
                if had_session {
                    // Held lookups' outcomes do not outlive their call.
                    let held = self.held_lookups(&record, held_before.as_ref());
                    if !held.is_empty() {
                        let deleted = self.sessions.delete_lookups(&record.reference_id, &held);
                        if deleted.await.is_err() {
                            log.warning =
                                Some("held lookups not deleted; they expire on their own".into());
                        }
                    }
                    self.space_write(saved_ms, sleep, log).await;
                    let deleted = self.sessions.delete_session(&record.reference_id).await;
                    if deleted.is_err() {
                        log.warning = Some(
                            "session not deleted after its record; it expires on its own".into(),
                        );
                    }
                    if !self.sessions.one_event_at_a_time() {
                        handled.later.push(Later::Settle {
                            reference_id: record.reference_id.clone(),
                            after_ms: self.config.event_budget_ms + SETTLE_MARGIN_MS,
                        });
                    }
                }
            }
        }

        if let Some((session, lookup)) = held_lookup {
            // First of the work after the answer; its time runs from the answer, after any wait
            // for the session's write.
            let handed_ms = self.clock.now_ms();
            handled.later.insert(
                0,
                Later::Lookup {
                    session,
                    lookup,
                    handed_ms,
                },
            );
        }
        if let Some(progress) = progress {
            // Campaign counts are bookkeeping: failing to write them must not fail the call.
            if self.progress_number(progress, now_ms).await.is_err() {
                log.warning = Some("campaign progress not recorded".into());
            }
        }
        Ok(handled)
    }

    /// With a store that takes one write a second per key
    /// ([`SessionStore::one_write_a_second_per_key`]), waits until `KV_WRITE_SPACING_MS` has
    /// passed since the call's session was last written at `saved_ms`, before it is written or
    /// deleted again. Two events of a call can come less than a second apart (a key pressed as a
    /// prompt starts, a dialled number failing at once). The answer waits with the write, a
    /// fraction of a second when it does: a write refused would leave the call's next event to
    /// meet the session a step behind. Whether it waited; the log line says how long.
    async fn space_write(
        &self,
        saved_ms: Option<u64>,
        sleep: &impl Sleep,
        log: &mut RequestLog,
    ) -> bool {
        let wait = self.wait_out_spacing(saved_ms, sleep).await;
        if wait > 0 {
            log.write_wait_ms = Some(wait);
        }
        wait > 0
    }

    /// Sleeps until a write (or delete) of a call's session last written at `saved_ms` is
    /// within KV's spacing ([`Self::space_write`]); how long it slept.
    async fn wait_out_spacing(&self, saved_ms: Option<u64>, sleep: &impl Sleep) -> u64 {
        let spacing = if self.sessions.one_write_a_second_per_key() {
            self.config.kv_write_spacing_ms
        } else {
            0
        };
        let Some(saved_ms) = saved_ms.filter(|_| spacing > 0) else {
            return 0;
        };
        // At most the spacing, whatever a clock that went back (or a stored time) says.
        let wait = saved_ms
            .saturating_add(spacing)
            .saturating_sub(self.clock.now_ms())
            .min(spacing);
        if wait > 0 {
            sleep.sleep_ms(wait).await;
        }
        wait
    }

    /// A flow without a value for a setting it declares cannot run its code: its calls go to
    /// its `on_error` step, and each event's log line says which settings are missing.
    fn note_missing_settings(
        &self,
        session: Option<&Session>,
        event: &Event,
        log: &mut RequestLog,
    ) {
        let flow = match (session, &event.kind) {
            (Some(s), _) => self.registry.get(&s.flow),
            (None, EventKind::IncomingCall(parties)) => {
                let to = parties.to.as_ref().map(|p| p.e164());
                self.registry.inbound_for(to.as_deref())
            }
            _ => None,
        };
        let Some(flow) = flow else {
            return;
        };
        let missing = flow.settings.missing();
        if !missing.is_empty() {
            log.warning = Some(
                format!(
                "flow `{}` has no value for {}: set it in wrangler.toml [vars] or with `wrangler \
                 secret put` (locally, .dev.vars); its code does not run, and its calls end in its \
                 on_error step",
                flow.name,
                missing.join(", ")
            )
                .into(),
            );
        }
    }

    /// Does the work asked for after an answer. An error is logged by the caller; nothing is
    /// left half-done by it.
    pub async fn later(&self, later: Later, sleep: &impl Sleep) -> Result<(), ApiError> {
        match later {
            Later::SaveSession(mut session) => {
                let mut last = Ok(());
                for attempt in 0..SAVE_RETRIES {
                    // A second or more after the write that failed: within KV's spacing.
                    sleep.sleep_ms(1_000 << attempt).await;
                    let stored = self.sessions.session(&session.reference_id).await?;
                    if stored.is_some_and(|s| s.events >= session.events) {
                        // A later event of the call was saved: ours is out of date.
                        return Ok(());
                    }
                    session.saved_ms = Some(self.clock.now_ms());
                    last = self.sessions.save_session(&session).await;
                    if last.is_ok() {
                        // The call may have ended while the write waited (in a Durable Object
                        // too: this runs after the object's turn).
                        self.fold_if_ended(&session, sleep).await?;
                        break;
                    }
                }
                last
            }
            Later::Settle {
                reference_id,
                after_ms,
            } => {
                sleep.sleep_ms(after_ms).await;
                if let Some(session) = self.sessions.session(&reference_id).await? {
                    self.fold_if_ended(&session, sleep).await?;
                }
                Ok(())
            }
            Later::Lookup {
                session,
                lookup,
                handed_ms,
            } => {
                let timeout = self.config.held_fetch_timeout_ms;
                let sent = self.http.send(&lookup.request, timeout).await;
                let response = sent.map_err(|e| e.to_string());
                let response = response.as_ref().map_err(String::as_str);
                // On the call's clock (the events' time, which tests may set): when the hold
                // started, plus the time the request took.
                let took = self.clock.now_ms().saturating_sub(handed_ms);
                let started = session
                    .held
                    .as_ref()
                    .map_or(session.updated_ms, |h| h.since_ms);
                let now = started + took;
                let outcome = engine::read_lookup(self.registry, &session, &lookup, response, now);
                let reference_id = &session.reference_id;
                self.sessions.save_lookup(reference_id, &outcome).await?;
                // The call may have ended during the hold: its record gets the outcome, and the
                // outcome goes (held lookups do not outlive their call, nor an erased call).
                if self.sessions.session(reference_id).await?.is_none() {
                    if let Some(mut record) = self.records.record(reference_id).await? {
                        if awaits(&record, &outcome) {
                            record.fetches.push(outcome.fetch_outcome());
                            let ttl = self.config.record_ttl_secs();
                            self.records.save_record(&record, ttl).await?;
                        }
                    }
                    self.sessions
                        .delete_lookups(reference_id, &[outcome.index])
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// The indexes of the held lookups a call that ended made: those of its `fetch` steps with a
    /// hold, and the hold under way when it ended.
    fn held_lookups(&self, record: &CallRecord, held: Option<&engine::Held>) -> Vec<u32> {
        let flow = record.flow.as_deref().and_then(|f| self.registry.get(f));
        let is_held = |step: &str| {
            matches!(
                flow.and_then(|f| f.get(step)),
                Some(crate::flow::Step::Fetch(Fetch { hold: Some(_), .. }))
            )
        };
        let mut indexes: Vec<u32> = record
            .fetches
            .iter()
            .enumerate()
            .filter(|(_, f)| is_held(&f.step))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        if let Some(held) = held {
            if !indexes.contains(&held.index) {
                indexes.push(held.index);
            }
        }
        indexes
    }

    /// Puts the outcome of the held lookup `index`, if it has come, into the call's record. A
    /// failure only leaves the record without it (a warning).
    async fn fold_lookup(&self, reference_id: &str, index: u32, log: &mut RequestLog) {
        let folded = async {
            let Some(outcome) = self.sessions.lookup(reference_id, index).await? else {
                return Ok(());
            };
            let Some(mut record) = self.records.record(reference_id).await? else {
                return Ok(());
            };
            if awaits(&record, &outcome) {
                record.fetches.push(outcome.fetch_outcome());
                let ttl = self.config.record_ttl_secs();
                self.records.save_record(&record, ttl).await?;
            }
            Ok::<(), ApiError>(())
        };
        if folded.await.is_err() {
            log.warning = Some("the outcome of the lookup under way is not in the record".into());
        }
    }

    /// [`Self::fold_if_ended`] for a turn about to answer: a store failure is a warning, not a
    /// lost answer (the session is saved or kept, and the call's settle looks again).
    async fn folded(&self, session: &Session, sleep: &impl Sleep, log: &mut RequestLog) -> bool {
        match self.fold_if_ended(session, sleep).await {
            Ok(folded) => folded,
            Err(_) => {
                log.warning = Some("could not look for the call's record; session kept".into());
                false
            }
        }
    }

    /// If the call of `session` has a record (it ended while this event ran), folds what the
    /// session adds into the record and deletes the session, spaced from its last write as any
    /// (the call is over: no caller waits). Whether it did.
    async fn fold_if_ended(&self, session: &Session, sleep: &impl Sleep) -> Result<bool, ApiError> {
        let Some(mut record) = self.records.record(&session.reference_id).await? else {
            return Ok(false);
        };
        record.absorb(session);
        let ttl = self.config.record_ttl_secs();
        self.records.save_record(&record, ttl).await?;
        self.wait_out_spacing(session.saved_ms, sleep).await;
        self.sessions.delete_session(&session.reference_id).await?;
        Ok(true)
    }

    /// The engine's decision, with the HTTP requests of the flow's `fetch` steps run in between,
    /// all of them within `EVENT_BUDGET_MS`; whether any ran.
    #[allow(clippy::type_complexity)]
    async fn step(
        &self,
        session: Option<Session>,
        event: &Event,
        body: &[u8],
        now_ms: u64,
        log: &mut RequestLog,
    ) -> (
        Option<Reply>,
        Write,
        Note,
        Vec<Taken>,
        bool,
        Option<Box<Lookup>>,
    ) {
        let registry = self.registry;
        let fingerprint = engine::fingerprint(body);
        let deadline = self.clock.now_ms() + self.config.event_budget_ms;
        let mut outcome = engine::handle(registry, session, event, &fingerprint, now_ms);
        let mut fetches = 0;
        loop {
            match outcome {
                Outcome::Done {
                    reply,
                    write,
                    note,
                    taken,
                    lookup,
                } => return (reply, write, note, taken, fetches > 0, lookup),
                Outcome::Lookup {
                    session,
                    taken,
                    index,
                } => {
                    // Not there yet (or not readable): the hold plays on.
                    let found = self.sessions.lookup(&session.reference_id, index).await;
                    if found.is_err() {
                        log.warning = Some("the outcome of the lookup could not be read".into());
                    }
                    let found = found.ok().flatten();
                    outcome = engine::resume_lookup(
                        registry,
                        *session,
                        taken,
                        event,
                        &fingerprint,
                        found.as_ref(),
                        now_ms,
                    );
                }
                Outcome::Fetch { session, .. } if fetches == MAX_FETCHES_PER_EVENT => {
                    outcome = engine::give_up(registry, *session, event, &fingerprint, now_ms);
                }
                Outcome::Fetch {
                    session,
                    request,
                    taken,
                } => {
                    fetches += 1;
                    let left = deadline.saturating_sub(self.clock.now_ms());
                    let result = if left == 0 {
                        Err("the event's time budget (EVENT_BUDGET_MS) is spent".to_owned())
                    } else {
                        let timeout = self.config.fetch_timeout_ms.min(left);
                        let sent = self.http.send(&request, timeout).await;
                        sent.map_err(|e| e.to_string())
                    };
                    outcome = engine::resume(
                        registry,
                        *session,
                        taken,
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

/// Whether `record` still waits for the held lookup `outcome` came to: the call ended during its
/// hold, and neither the hold (which gives up after its most plays) nor another turn put an
/// outcome in its place.
fn awaits(record: &CallRecord, outcome: &LookupOutcome) -> bool {
    u32::try_from(record.fetches.len()).is_ok_and(|n| n == outcome.index)
}

fn answered(reply: Option<Reply>) -> Handled {
    Handled {
        reply,
        later: Vec::new(),
        taken: Vec::new(),
    }
}

fn note_name(note: Note) -> &'static str {
    match note {
        Note::Started => "started",
        Note::Advanced => "advanced",
        Note::Finished => "finished",
        Note::Duplicate => "duplicate",
        Note::Stale => "stale",
        Note::Ambiguous => "ambiguous",
        Note::UnknownCall => "unknown_call",
        Note::NoFlow => "no_flow",
        Note::Ignored => "ignored",
    }
}
