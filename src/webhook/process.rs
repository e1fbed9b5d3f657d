//! The event pipeline after the request is verified and decoded: load the session, let the
//! engine decide, run the requests of `fetch` steps, persist, and say what to answer. Written
//! against the [`crate::storage`] traits, so it runs the same with sessions in KV or in a Durable
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
use crate::storage::{CallRecords, Fetcher, SessionStore};
use crate::telesign::{Action, Event, EventKind};

/// How many `fetch` steps one event may run before the flow is considered looping.
const MAX_FETCHES_PER_EVENT: usize = 4;

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

#[cfg(test)]
mod tests {
    //! Fault injection: a store and a fetcher that fail on demand, driving the real pipeline.

    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;
    use crate::api::campaigns::Progress;
    use crate::engine::{CallRecord, Session};
    use crate::flow::{FetchRequest, FetchResponse};
    use crate::telesign::decode_event;

    /// Runs a future whose I/O is all in memory: it never waits.
    fn run<T>(future: impl Future<Output = T>) -> T {
        match pin!(future)
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("in-memory I/O never waits"),
        }
    }

    #[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
    enum Fault {
        #[default]
        None,
        ReadSession,
        SaveSession,
        SaveRecord,
        DeleteSession,
        CampaignProgress,
    }

    #[derive(Default)]
    struct MemoryStore {
        sessions: RefCell<BTreeMap<String, Session>>,
        pending: RefCell<BTreeMap<String, Session>>,
        records: RefCell<BTreeMap<String, CallRecord>>,
        fault: Cell<Fault>,
    }

    fn unavailable() -> ApiError {
        ApiError::new(503, "store_unavailable", "injected fault")
    }

    impl MemoryStore {
        fn fails(&self, fault: Fault) -> Result<(), ApiError> {
            if self.fault.get() == fault {
                Err(unavailable())
            } else {
                Ok(())
            }
        }
    }

    impl SessionStore for MemoryStore {
        async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError> {
            self.fails(Fault::ReadSession)?;
            Ok(self.sessions.borrow().get(reference_id).cloned())
        }
        async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
            self.fails(Fault::SaveSession)?;
            let mut sessions = self.sessions.borrow_mut();
            sessions.insert(session.reference_id.clone(), session.clone());
            Ok(())
        }
        async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
            self.fails(Fault::DeleteSession)?;
            self.sessions.borrow_mut().remove(reference_id);
            Ok(())
        }
    }

    impl CallRecords for MemoryStore {
        async fn pending(
            &self,
            external_id: &str,
            reference_id: &str,
        ) -> Result<Option<Session>, ApiError> {
            Ok(self
                .pending
                .borrow()
                .get(external_id)
                .cloned()
                .map(|mut s| {
                    s.reference_id = reference_id.to_owned();
                    s
                }))
        }
        async fn record_exists(&self, reference_id: &str) -> Result<bool, ApiError> {
            Ok(self.records.borrow().contains_key(reference_id))
        }
        async fn save_record(&self, record: &CallRecord, _ttl_secs: u64) -> Result<(), ApiError> {
            self.fails(Fault::SaveRecord)?;
            let mut records = self.records.borrow_mut();
            records.insert(record.reference_id.clone(), record.clone());
            Ok(())
        }
        async fn campaign_progress(&self, _progress: Progress, _ttl: u64) -> Result<(), ApiError> {
            self.fails(Fault::CampaignProgress)
        }
    }

    /// The bank's balance API: answers from a script, counting requests.
    struct Bank {
        answer: Result<FetchResponse, String>,
        requests: Cell<usize>,
    }

    impl Fetcher for Bank {
        async fn fetch(
            &self,
            _request: &FetchRequest,
            _timeout_ms: u64,
        ) -> Result<FetchResponse, String> {
            self.requests.set(self.requests.get() + 1);
            self.answer.clone()
        }
    }

    fn bank(answer: Result<&str, &str>) -> Bank {
        Bank {
            answer: answer
                .map(|body| FetchResponse {
                    status: 200,
                    body: body.to_owned(),
                })
                .map_err(str::to_owned),
            requests: Cell::new(0),
        }
    }

    struct Harness {
        store: MemoryStore,
        bank: Bank,
        registry: Registry,
        config: Config,
        now: Cell<u64>,
        log: RefCell<RequestLog>,
    }

    const REF: &str = "5A1E0000000000000000000000000001";

    impl Harness {
        fn new(bank: Bank) -> Self {
            Self {
                store: MemoryStore::default(),
                bank,
                registry: crate::flows::registry(),
                config: Config::from_lookup(|_| None),
                now: Cell::new(1_000_000),
                log: RefCell::new(RequestLog::default()),
            }
        }

        fn post(&self, event: &str, data: serde_json::Value) -> Result<Option<Reply>, ApiError> {
            let body =
                serde_json::json!({"event": event, "reference_id": REF, "data": data}).to_string();
            let event = decode_event(body.as_bytes()).expect("a valid event");
            self.now.set(self.now.get() + 7_000);
            *self.log.borrow_mut() = RequestLog::default();
            run(process(
                &self.store,
                &self.store,
                &self.bank,
                &self.registry,
                &self.config,
                &event,
                body.as_bytes(),
                self.now.get(),
                &mut self.log.borrow_mut(),
            ))
        }

        fn incoming(&self) -> Result<Option<Reply>, ApiError> {
            self.post(
                "incoming_call",
                serde_json::json!({"from": "15558675309", "to": "15555551212"}),
            )
        }

        fn spoke(&self, digits: &str) -> Result<Option<Reply>, ApiError> {
            let status = if digits.is_empty() {
                "digit_collection_timeout"
            } else {
                "speak_successful"
            };
            self.post(
                "speak_completed",
                serde_json::json!({"status": status, "collected_digits": digits}),
            )
        }

        fn hangup(&self) -> Result<Option<Reply>, ApiError> {
            self.post(
                "call_completed",
                serde_json::json!({"status": "hangup", "direction": "inbound"}),
            )
        }

        fn session(&self) -> Option<Session> {
            self.store.sessions.borrow().get(REF).cloned()
        }
    }

    fn says(reply: Result<Option<Reply>, ApiError>, fragment: &str) -> Reply {
        let reply = reply.expect("an answer").expect("an action");
        assert!(
            reply.json.contains(fragment),
            "{fragment:?} not in {}",
            reply.json
        );
        reply
    }

    fn store_error(result: Result<Option<Reply>, ApiError>) -> ApiError {
        let e = result.expect_err("a store failure");
        assert_eq!((e.status, e.code), (503, "store_unavailable"));
        e
    }

    #[test]
    fn a_failed_session_read_is_a_503_and_writes_nothing() {
        let h = Harness::new(bank(Ok("{}")));
        h.store.fault.set(Fault::ReadSession);
        store_error(h.incoming());
        assert!(h.session().is_none());
        assert!(h.store.records.borrow().is_empty());
    }

    #[test]
    fn a_failed_session_write_loses_nothing_and_the_retry_gets_the_same_answer() {
        let h = Harness::new(bank(Ok("{}")));
        says(h.incoming(), "Thank you for calling");
        let welcome_done = h.session();
        h.store.fault.set(Fault::SaveSession);
        store_error(h.spoke(""));
        assert_eq!(h.session(), welcome_done, "nothing advanced");
        h.store.fault.set(Fault::None);
        says(h.spoke(""), "For your account balance");
    }

    #[test]
    fn a_failed_record_write_keeps_the_session_for_the_retry() {
        let h = Harness::new(bank(Ok("{}")));
        says(h.incoming(), "Thank you for calling");
        says(h.spoke(""), "For your account balance");
        says(h.spoke("2"), "lost or stolen");
        h.store.fault.set(Fault::SaveRecord);
        store_error(h.hangup());
        assert!(
            h.session().is_some(),
            "the session (and what the caller entered) is kept"
        );
        h.store.fault.set(Fault::None);
        assert_eq!(h.hangup().expect("stored"), None);
        assert!(h.session().is_none());
        let records = h.store.records.borrow();
        let record = records.get(REF).expect("the record");
        assert_eq!(record.answers.len(), 1);
        assert_eq!(record.answers[0].digits, "2");
    }

    #[test]
    fn a_failed_session_delete_after_the_record_is_only_a_warning() {
        let h = Harness::new(bank(Ok("{}")));
        says(h.incoming(), "Thank you for calling");
        h.store.fault.set(Fault::DeleteSession);
        assert_eq!(h.hangup().expect("the record is stored"), None);
        assert!(h.store.records.borrow().contains_key(REF));
        assert!(h.log.borrow().warning.is_some());
    }

    #[test]
    fn a_replayed_incoming_call_of_a_finished_call_is_hung_up_and_starts_nothing() {
        let h = Harness::new(bank(Ok("{}")));
        says(h.incoming(), "Thank you for calling");
        h.hangup().expect("the record");
        let reply = h.incoming().expect("an answer").expect("an action");
        assert_eq!(reply.method, "hangup");
        assert!(h.session().is_none());
        assert_eq!(h.log.borrow().note.as_deref(), Some("replayed_call"));
    }

    fn at_account_prompt(h: &Harness) {
        says(h.incoming(), "Thank you for calling");
        says(h.spoke(""), "For your account balance");
        says(h.spoke("1"), "account number");
    }

    #[test]
    fn a_timed_out_lookup_is_told_to_the_caller() {
        let h = Harness::new(bank(Err("no answer within 3000 ms")));
        at_account_prompt(&h);
        says(h.spoke("12345674#"), "cannot look up your balance");
        assert_eq!(h.bank.requests.get(), 1);
    }

    #[test]
    fn a_lookup_answers_the_balance() {
        let h = Harness::new(bank(Ok(r#"{"balance": "10.50"}"#)));
        at_account_prompt(&h);
        says(h.spoke("12345674#"), "is 10.50 dollars");
    }

    #[test]
    fn a_looping_fetch_flow_is_cut_off_after_four_requests() {
        use crate::flow::{fetch, say, Ctx, Flow, Next};
        fn again(_: &Ctx) -> FetchRequest {
            FetchRequest::get("https://example.com/again")
        }
        fn loop_back(_: &mut Ctx, _: Result<&FetchResponse, &str>) -> Next {
            Next::to("lookup")
        }
        let mut h = Harness::new(bank(Ok("{}")));
        h.registry = Registry::new()
            .flow(
                Flow::inbound("looping")
                    .step("lookup", fetch(["lookup", "bye"], again, loop_back))
                    .step("bye", say("Bye")),
            )
            .default_inbound("looping");
        let reply = h.incoming().expect("an answer").expect("an action");
        assert_eq!(reply.method, "hangup");
        assert_eq!(h.bank.requests.get(), MAX_FETCHES_PER_EVENT);
        assert_eq!(
            h.session().and_then(|s| s.outcome).as_deref(),
            Some("flow_error")
        );
    }

    #[test]
    fn an_early_dial_completed_runs_the_flow_from_the_pending_entry() {
        let h = Harness::new(bank(Ok("{}")));
        let flow = h.registry.get("appointment_reminder").expect("sample flow");
        let mut vars = BTreeMap::new();
        vars.insert("name".to_owned(), "Alex".to_owned());
        let pending = engine::outbound_session(
            flow,
            "",
            "+15558675309",
            "+15555551212",
            Some("ext-1"),
            vars,
            0,
        );
        h.store
            .pending
            .borrow_mut()
            .insert("ext-1".to_owned(), pending);
        let body = serde_json::json!({"event": "dial_completed", "reference_id": REF,
            "external_id": "ext-1", "data": {"status": "answered"}})
        .to_string();
        let event = decode_event(body.as_bytes()).expect("event");
        let reply = run(process(
            &h.store,
            &h.store,
            &h.bank,
            &h.registry,
            &h.config,
            &event,
            body.as_bytes(),
            5,
            &mut RequestLog::default(),
        ));
        says(reply, "Hello Alex");
        assert_eq!(h.session().map(|s| s.reference_id).as_deref(), Some(REF));
    }

    #[test]
    fn a_failed_campaign_count_does_not_fail_the_call() {
        let h = Harness::new(bank(Ok("{}")));
        let flow = h.registry.get("appointment_reminder").expect("sample flow");
        let session = engine::outbound_session(
            flow,
            REF,
            "+15558675309",
            "+15555551212",
            Some("cmp_0123456789abcdef0123456789abcdef_0"),
            BTreeMap::new(),
            0,
        );
        h.store
            .sessions
            .borrow_mut()
            .insert(REF.to_owned(), session);
        h.store.fault.set(Fault::CampaignProgress);
        says(
            h.post("dial_completed", serde_json::json!({"status": "answered"})),
            "Example Clinic",
        );
        assert_eq!(
            h.log.borrow().warning.as_deref(),
            Some("campaign progress not recorded")
        );
    }
}
