//! Fault injection: a store and a fetcher that fail on demand, driving the real event pipeline
//! through the sample flows.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use ivr_core::config::Config;
use ivr_core::engine::{self, CallOutcome, Reply};
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::flow::{FetchRequest, FetchResponse, Registry};
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::Later;
use ivr_core::pipeline::event::MAX_FETCHES_PER_EVENT;
use ivr_core::pipeline::memory::{run, Fault, ManualClock, Memory, ScriptedHttp};
use ivr_core::pipeline::ports::{Http, HttpError, SessionStore};
use ivr_core::pipeline::Pipeline;
use ivr_core::telesign::{decode_event, Method};

/// The bank's balance API: always the same answer.
fn bank(answer: Result<&str, &str>) -> ScriptedHttp {
    ScriptedHttp::always(
        answer
            .map(|body| FetchResponse::new(200, body))
            .map_err(|message| HttpError::Failed {
                message: message.to_owned(),
            }),
    )
}

struct Harness {
    store: Memory,
    bank: ScriptedHttp,
    registry: Registry,
    config: Config,
    now: Cell<u64>,
    log: RefCell<RequestLog>,
    /// Real time, as the pipeline measures it (the event budget).
    clock: ManualClock,
    /// The work the last event asked for after its answer.
    later: RefCell<Vec<Later>>,
}

const REF: &str = "5A1E0000000000000000000000000001";

impl Harness {
    fn new(bank: ScriptedHttp) -> Self {
        Self {
            store: Memory::default(),
            bank,
            registry: test_flows::registry().with_settings(test_flows::settings),
            config: Config::from_lookup(|_| None),
            now: Cell::new(1_000_000),
            log: RefCell::new(RequestLog::default()),
            clock: ManualClock::default(),
            later: RefCell::default(),
        }
    }

    fn pipeline(&self) -> Pipeline<'_, Memory, Memory, ScriptedHttp> {
        self.pipeline_with(&self.store)
    }

    /// The pipeline with `sessions` in the place of the store's.
    fn pipeline_with<'a, S>(&'a self, sessions: &'a S) -> Pipeline<'a, S, Memory, ScriptedHttp> {
        Pipeline {
            sessions,
            records: &self.store,
            http: &self.bank,
            clock: &self.clock,
            registry: &self.registry,
            config: &self.config,
        }
    }

    fn post_body(&self, body: &str, now: u64) -> Result<Option<Reply>, ApiError> {
        let event = decode_event(body.as_bytes()).expect("a valid event");
        *self.log.borrow_mut() = RequestLog::default();
        let handled = run(self.pipeline().event(
            &event,
            body.as_bytes(),
            now,
            &mut self.log.borrow_mut(),
            &self.clock,
        ))?;
        *self.later.borrow_mut() = handled.later;
        Ok(handled.reply)
    }

    /// Runs the work the last event asked for after its answer.
    fn after_answer(&self) -> Vec<Result<(), ApiError>> {
        let later = std::mem::take(&mut *self.later.borrow_mut());
        later
            .into_iter()
            .map(|work| run(self.pipeline().later(work, &self.clock)))
            .collect()
    }

    fn post(&self, event: &str, data: serde_json::Value) -> Result<Option<Reply>, ApiError> {
        let body =
            serde_json::json!({"event": event, "reference_id": REF, "data": data}).to_string();
        self.now.set(self.now.get() + 7_000);
        self.post_body(&body, self.now.get())
    }

    fn incoming(&self) -> Result<Option<Reply>, ApiError> {
        self.post(
            "incoming_call",
            serde_json::json!({"from": "15558675309", "to": "15555551212"}),
        )
    }

    /// `speak_completed` as Telesign posts it when the speech ended, with the keys pressed.
    fn spoke(&self, digits: &str) -> Result<Option<Reply>, ApiError> {
        self.post(
            "speak_completed",
            serde_json::json!({"status": "speak_successful", "collected_digits": digits}),
        )
    }

    fn hangup(&self) -> Result<Option<Reply>, ApiError> {
        self.post(
            "call_completed",
            serde_json::json!({"status": "hangup", "direction": "inbound"}),
        )
    }

    fn session(&self) -> Option<engine::Session> {
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
    assert_eq!((e.status, e.code.as_str()), (503, "store_unavailable"));
    e
}

#[test]
fn a_failed_session_read_is_a_503_and_writes_nothing() {
    let h = Harness::new(bank(Ok("{}")));
    h.store.fail(Fault::ReadSession);
    store_error(h.incoming());
    assert!(h.session().is_none());
    assert!(h.store.records.borrow().is_empty());
}

#[test]
fn a_failed_session_write_still_answers_and_is_saved_after_the_answer() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    let welcome_done = h.session();
    h.store.fail(Fault::SaveSession);
    // The caller hears the menu although its session could not be written...
    says(h.spoke(""), "For your account balance");
    assert_eq!(h.session(), welcome_done, "not written yet");
    assert!(h.log.borrow().warning.is_some());
    // ...which is tried again after the answer, once the store is back.
    h.store.heal();
    assert_eq!(h.after_answer(), [Ok(())]);
    let saved = h.session().expect("saved");
    assert_eq!(saved.step, "main_menu");
    assert!(
        h.clock.now_ms.get() >= 1_000,
        "waited a KV write interval first"
    );
    says(h.spoke("1"), "account number");
}

#[test]
fn a_session_write_that_keeps_failing_is_given_up_and_the_next_event_is_still_answered() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    h.store.fail(Fault::SaveSession);
    says(h.spoke(""), "For your account balance");
    let tries = h.after_answer();
    assert!(matches!(tries.as_slice(), [Err(e)] if e.code == ErrorCode::StoreUnavailable));
    h.store.heal();
    // The store still holds the call at its welcome: the menu's key meets that session, stops
    // the welcome, and answers the menu it was pressed at.
    says(h.spoke("2"), "lost or stolen");
}

#[test]
fn a_retried_write_never_overwrites_a_newer_session() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    h.store.fail(Fault::SaveSession);
    says(h.spoke(""), "For your account balance");
    let later = std::mem::take(&mut *h.later.borrow_mut());
    h.store.heal();
    says(h.spoke("1"), "account number");
    says(h.spoke("2"), "account number");
    let newer = h.session();
    *h.later.borrow_mut() = later;
    assert_eq!(h.after_answer(), [Ok(())]);
    assert_eq!(h.session(), newer);
}

#[test]
fn a_failed_record_write_keeps_the_session_for_the_retry() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    says(h.spoke(""), "For your account balance");
    says(h.spoke("2"), "lost or stolen");
    h.store.fail(Fault::SaveRecord);
    store_error(h.hangup());
    assert!(
        h.session().is_some(),
        "the session (and what the caller entered) is kept"
    );
    h.store.heal();
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
    h.store.fail(Fault::DeleteSession);
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
    assert_eq!(reply.method, Method::Hangup);
    assert!(h.session().is_none());
    assert_eq!(h.log.borrow().note.as_deref(), Some("replayed_call"));
}

/// Events of one call less than a second apart, as real calls send them: the welcome's
/// `speak_completed` as soon as it was answered (a short prompt), a key pressed as the menu
/// starts, and a hang-up right after. KV takes one write a second per key; the store here
/// refuses a closer one as KV does, yet every event is answered and every write lands.
#[test]
fn events_under_a_second_apart_never_write_the_session_key_twice_within_a_second() {
    let h = Harness::new(bank(Ok("{}")));
    // `KV_WRITE_SPACING_MS`, its default (config.rs holds its value).
    let spacing = h.config.kv_write_spacing_ms;
    says(h.incoming(), "Thank you for calling");
    assert_eq!(h.log.borrow().write_wait_ms, None, "the call's first write");
    let first = h.clock.now_ms.get();
    h.clock.advance(300);
    says(h.spoke(""), "For your account balance");
    // The answer waited for the rest of the spacing, then the write landed.
    assert_eq!(h.log.borrow().write_wait_ms, Some(spacing - 300));
    assert_eq!(h.clock.now_ms.get(), first + spacing);
    h.clock.advance(200);
    says(h.spoke("1"), "account number");
    assert_eq!(h.log.borrow().write_wait_ms, Some(spacing - 200));
    // Past the spacing, nothing waits.
    h.clock.advance(spacing);
    says(h.spoke(""), "account number");
    assert_eq!(h.log.borrow().write_wait_ms, None);
    assert!(h.log.borrow().warning.is_none(), "no write was refused");
    let writes = h.store.session_writes.borrow()[REF].clone();
    assert_eq!(writes.len(), 4);
    assert!(
        writes.windows(2).all(|w| w[1] >= w[0] + 1_000),
        "{writes:?}"
    );
    // The delete at the call's end is spaced too (Telesign ignores that answer).
    let last = h.clock.now_ms.get();
    h.clock.advance(100);
    assert_eq!(h.hangup().expect("the record"), None);
    assert_eq!(h.log.borrow().write_wait_ms, Some(spacing - 100));
    assert!(h.clock.now_ms.get() >= last + spacing);
    assert!(h.session().is_none() && h.store.records.borrow().contains_key(REF));
}

/// A call's Durable Object has no such limit: nothing waits.
#[test]
fn sessions_in_a_durable_object_are_written_without_waiting() {
    let h = Harness::new(bank(Ok("{}")));
    h.store.durable.set(true);
    says(h.incoming(), "Thank you for calling");
    says(h.spoke(""), "For your account balance");
    says(h.spoke("1"), "account number");
    assert_eq!(h.log.borrow().write_wait_ms, None);
    assert_eq!(h.clock.now_ms.get(), 0, "no time passed");
}

/// `KV_WRITE_SPACING_MS=0` (load tests posting a call's events back to back): nothing waits.
#[test]
fn a_spacing_of_zero_writes_at_once() {
    let mut h = Harness::new(bank(Ok("{}")));
    h.config = Config::from_lookup(|name| (name == "KV_WRITE_SPACING_MS").then(|| "0".into()));
    says(h.incoming(), "Thank you for calling");
    h.clock.now_ms.set(1_000);
    says(h.spoke(""), "For your account balance");
    assert_eq!(h.log.borrow().write_wait_ms, None);
    assert_eq!(h.clock.now_ms.get(), 1_000, "no time passed");
}

/// The stand-in refuses what KV refuses: a second write of a key within a second.
#[test]
fn the_memory_store_refuses_a_write_within_a_second_of_the_last_as_kv_does() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    let mut session = h.session().expect("saved");
    session.saved_ms = session.saved_ms.map(|ms| ms + 999);
    let refused = run(h.store.save_session(&session)).expect_err("too soon");
    assert!(refused.message.contains("429"), "{}", refused.message);
    session.saved_ms = session.saved_ms.map(|ms| ms + 1);
    run(h.store.save_session(&session)).expect("a second later");
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
    assert_eq!(h.bank.requests.borrow().len(), 1);
}

#[test]
fn a_lookup_answers_the_balance() {
    let h = Harness::new(bank(Ok(r#"{"balance": "10.50"}"#)));
    at_account_prompt(&h);
    says(h.spoke("12345674#"), "is 10.50 dollars");
}

#[test]
fn a_looping_fetch_flow_is_cut_off_after_four_requests() {
    use ivr_core::flow::{fetch, say, Ctx, FetchRequest, Flow};
    fn again(_: &Ctx) -> FetchRequest {
        FetchRequest::get("https://example.com/again")
    }
    fn accept(_: &mut Ctx, _: &FetchResponse) -> Result<(), String> {
        Ok(())
    }
    let mut h = Harness::new(bank(Ok("{}")));
    h.registry = Registry::new()
        .flow(
            Flow::inbound("looping")
                .step(
                    "lookup",
                    fetch(again).on_ok("lookup", accept).on_error("bye"),
                )
                .step("bye", say("Bye")),
        )
        .default_inbound("looping");
    let reply = h.incoming().expect("an answer").expect("an action");
    assert_eq!(reply.method, Method::Hangup);
    assert_eq!(h.bank.requests.borrow().len(), MAX_FETCHES_PER_EVENT);
    assert_eq!(
        h.session().and_then(|s| s.outcome).map(|o| o.as_str()),
        Some("flow_error")
    );
}

#[test]
fn an_early_dial_completed_runs_the_flow_from_the_pending_entry() {
    let h = Harness::new(bank(Ok("{}")));
    let flow = h.registry.get("reminder").expect("sample flow");
    let mut vars = BTreeMap::new();
    vars.insert("name".to_owned(), "Alex".to_owned());
    vars.insert("when".to_owned(), "Monday at 9".to_owned());
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
    says(h.post_body(&body, 5), "Hello Alex");
    assert_eq!(h.session().map(|s| s.reference_id).as_deref(), Some(REF));
}

#[test]
fn a_failed_campaign_count_does_not_fail_the_call() {
    let h = Harness::new(bank(Ok("{}")));
    let flow = h.registry.get("reminder").expect("sample flow");
    let session = engine::outbound_session(
        flow,
        REF,
        "+15558675309",
        "+15555551212",
        Some("cmp_0123456789abcdef0123456789abcdef_0"),
        BTreeMap::from([
            ("name".to_owned(), "Alex".to_owned()),
            ("when".to_owned(), "Monday at 9".to_owned()),
        ]),
        0,
    );
    h.store
        .sessions
        .borrow_mut()
        .insert(REF.to_owned(), session);
    h.store.fail(Fault::SaveNumber);
    says(
        h.post("dial_completed", serde_json::json!({"status": "answered"})),
        "Example Clinic",
    );
    assert_eq!(
        h.log.borrow().warning.as_deref(),
        Some("campaign progress not recorded")
    );
}

/// Telesign's `call_completed` for the call, handled by another instance of the worker through
/// the same store (it reads the session as it is, writes the record, deletes the session).
fn hang_up_elsewhere(store: &Memory, registry: &Registry, config: &Config, clock: &ManualClock) {
    let unused = ScriptedHttp::always(Err(HttpError::Failed {
        message: "unused".into(),
    }));
    let other = Pipeline {
        sessions: store,
        records: store,
        http: &unused,
        clock,
        registry,
        config,
    };
    let body = serde_json::json!({"event": "call_completed", "reference_id": REF,
        "data": {"status": "hangup", "direction": "inbound"}})
    .to_string();
    let event = decode_event(body.as_bytes()).expect("event");
    let ended = run(other.event(
        &event,
        body.as_bytes(),
        2_000_000,
        &mut RequestLog::default(),
        clock,
    ))
    .expect("recorded");
    assert_eq!(ended.reply, None);
    assert!(store.records.borrow().contains_key(REF));
}

/// The bank's balance API, answering slowly: while it takes its time, the caller hangs up, and
/// Telesign's `call_completed` is handled before the balance comes back.
struct HangsUpDuringLookup<'a> {
    store: &'a Memory,
    registry: &'a Registry,
    config: &'a Config,
    clock: &'a ManualClock,
}

impl Http for HangsUpDuringLookup<'_> {
    async fn send(
        &self,
        _request: &FetchRequest,
        _timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        hang_up_elsewhere(self.store, self.registry, self.config, self.clock);
        self.clock.advance(1_500);
        Ok(FetchResponse::new(200, r#"{"balance": "7.00"}"#))
    }
}

/// The session store, with the caller hanging up at the worst moment for a turn that ran a
/// `fetch` step: after the turn looked for a record (none yet) and before its session is saved.
struct HangsUpBeforeSave<'a> {
    store: &'a Memory,
    registry: &'a Registry,
    config: &'a Config,
    clock: &'a ManualClock,
    hung_up: Cell<bool>,
}

impl<'a> HangsUpBeforeSave<'a> {
    /// Over the harness's store: its first save hangs up first.
    fn of(h: &'a Harness) -> Self {
        HangsUpBeforeSave {
            store: &h.store,
            registry: &h.registry,
            config: &h.config,
            clock: &h.clock,
            hung_up: Cell::new(false),
        }
    }
}

impl SessionStore for HangsUpBeforeSave<'_> {
    fn one_write_a_second_per_key(&self) -> bool {
        self.store.one_write_a_second_per_key()
    }
    async fn session(&self, reference_id: &str) -> Result<Option<engine::Session>, ApiError> {
        self.store.session(reference_id).await
    }
    async fn save_session(&self, session: &engine::Session) -> Result<(), ApiError> {
        if !self.hung_up.replace(true) {
            hang_up_elsewhere(self.store, self.registry, self.config, self.clock);
        }
        self.store.save_session(session).await
    }
    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
        self.store.delete_session(reference_id).await
    }
    async fn lookup(
        &self,
        reference_id: &str,
        index: u32,
    ) -> Result<Option<engine::LookupOutcome>, ApiError> {
        self.store.lookup(reference_id, index).await
    }
    async fn save_lookup(
        &self,
        reference_id: &str,
        outcome: &engine::LookupOutcome,
    ) -> Result<(), ApiError> {
        self.store.save_lookup(reference_id, outcome).await
    }
    async fn erase_lookups(&self, reference_id: &str) -> Result<u64, ApiError> {
        self.store.erase_lookups(reference_id).await
    }
    async fn delete_lookups(&self, reference_id: &str, indexes: &[u32]) -> Result<(), ApiError> {
        self.store.delete_lookups(reference_id, indexes).await
    }
}

/// The (step, digits, result) of each answer of the call's record.
fn recorded_answers(store: &Memory) -> Vec<(String, String, String)> {
    let records = store.records.borrow();
    let record = records.get(REF).expect("the record");
    assert_eq!(record.outcome, CallOutcome::CallerHungUp);
    record
        .answers
        .iter()
        .map(|a| {
            (
                a.step.clone(),
                a.digits.clone(),
                a.result.as_str().to_owned(),
            )
        })
        .collect()
}

/// The caller types a valid account number at the `account_number` gather.
fn type_account_number<S: SessionStore, H: Http>(
    pipeline: &Pipeline<'_, S, Memory, H>,
    clock: &ManualClock,
) -> (ivr_core::pipeline::event::Handled, RequestLog) {
    let body = serde_json::json!({"event": "speak_completed", "reference_id": REF,
        "data": {"status": "speak_successful", "collected_digits": "12345674#"}})
    .to_string();
    let event = decode_event(body.as_bytes()).expect("event");
    let mut log = RequestLog::default();
    let handled =
        run(pipeline.event(&event, body.as_bytes(), 1_900_000, &mut log, clock)).expect("handled");
    (handled, log)
}

/// No session is left, and the record has the account number's entry (masked) and the balance
/// looked up for it.
fn assert_account_number_folded(h: &Harness) {
    assert!(h.session().is_none(), "no session is left behind");
    let last = recorded_answers(&h.store).pop().expect("answers");
    // Masked: the account number is a sensitive entry.
    let expected = ("account_number", "****5674", "accepted");
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.2.as_str()),
        expected
    );
    let records = h.store.records.borrow();
    assert_eq!(
        records[REF].vars.get("balance").map(String::as_str),
        Some("7.00")
    );
}

#[test]
fn an_account_number_typed_before_a_hang_up_reaches_the_record_though_its_lookup_was_still_running()
{
    let h = Harness::new(bank(Ok("{}")));
    at_account_prompt(&h);
    let slow = HangsUpDuringLookup {
        store: &h.store,
        registry: &h.registry,
        config: &h.config,
        clock: &h.clock,
    };
    let pipeline = Pipeline {
        sessions: &h.store,
        records: &h.store,
        http: &slow,
        clock: &h.clock,
        registry: &h.registry,
        config: &h.config,
    };
    let (_, log) = type_account_number(&pipeline, &h.clock);
    assert_eq!(log.note.as_deref(), Some("folded_into_record"));
    assert_account_number_folded(&h);
}

#[test]
fn a_session_saved_just_after_the_call_ended_is_folded_into_the_record_by_its_own_turn() {
    let h = Harness::new(bank(Ok(r#"{"balance": "7.00"}"#)));
    at_account_prompt(&h);
    let sessions = HangsUpBeforeSave::of(&h);
    let pipeline = h.pipeline_with(&sessions);
    let (handled, log) = type_account_number(&pipeline, &h.clock);
    assert!(sessions.hung_up.get(), "the call ended before the save");
    assert_eq!(log.note.as_deref(), Some("folded_into_record"));
    assert_eq!(
        handled.later,
        [],
        "nothing is left to settle after the answer"
    );
    assert_account_number_folded(&h);
}

/// A key pressed at once: its turn waits for KV's spacing, and meanwhile the caller hangs up and
/// the call's record is made from the session before the key. The turn looks for the record
/// after its wait, as a turn that ran a `fetch` step does, and folds the key into it.
#[test]
fn a_turn_that_waited_for_kvs_spacing_folds_into_the_record_of_a_call_that_ended_meanwhile() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    says(h.spoke(""), "For your account balance");
    let sessions = HangsUpBeforeSave::of(&h);
    let pipeline = h.pipeline_with(&sessions);
    let body = serde_json::json!({"event": "speak_completed", "reference_id": REF,
        "data": {"status": "speak_successful", "collected_digits": "2"}})
    .to_string();
    let event = decode_event(body.as_bytes()).expect("event");
    let mut log = RequestLog::default();
    run(pipeline.event(&event, body.as_bytes(), 1_900_000, &mut log, &h.clock)).expect("handled");
    assert!(sessions.hung_up.get(), "the call ended before the write");
    assert!(log.write_wait_ms.is_some(), "the turn waited");
    assert_eq!(log.note.as_deref(), Some("folded_into_record"));
    assert!(h.session().is_none(), "no session is left");
    let answers = recorded_answers(&h.store);
    assert!(
        answers.contains(&("main_menu".into(), "2".into(), "accepted".into())),
        "{answers:?}"
    );
}

#[test]
fn a_session_saved_after_the_call_ended_is_folded_into_the_record_when_the_call_is_settled() {
    let h = Harness::new(bank(Ok("{}")));
    at_account_prompt(&h);
    let before_hangup = h.session().expect("live");
    h.hangup().expect("recorded");
    // The call's end asks to be settled once the event budget has passed.
    let later = h.later.borrow().clone();
    assert_eq!(
        later,
        [Later::Settle {
            reference_id: REF.into(),
            after_ms: 5_000
        }]
    );
    // An event that was still running (and did not see the record) saves its session late.
    let mut late = before_hangup;
    late.answers.push(ivr_core::engine::Answer {
        step: "account_number".into(),
        digits: "****5674".into(),
        result: ivr_core::engine::AnswerResult::Accepted,
        at_ms: 1,
        sensitive: true,
    });
    late.events += 1;
    h.store.sessions.borrow_mut().insert(REF.into(), late);
    assert_eq!(h.after_answer(), [Ok(())]);
    assert!(h.session().is_none());
    let records = h.store.records.borrow();
    let digits: Vec<&str> = records[REF]
        .answers
        .iter()
        .map(|a| a.digits.as_str())
        .collect();
    assert_eq!(digits, ["1", "****5674"]);
}

/// A turn without a `fetch` step that raced the call's end: it saved its session after
/// `call_completed` wrote the record and deleted the session. Only the call's settle can see it.
#[test]
fn a_plain_turn_saved_after_the_call_ended_is_folded_in_when_the_call_is_settled() {
    let h = Harness::new(bank(Ok("{}")));
    at_account_prompt(&h);
    let before_hangup = h.session().expect("live");
    // The caller's digits, handled from the session as it was before the hang-up...
    h.spoke("1234").expect("answered");
    let late = h.session().expect("the turn's session");
    h.store
        .sessions
        .borrow_mut()
        .insert(REF.into(), before_hangup);
    // ...while call_completed records the call from the older session and deletes it.
    h.hangup().expect("recorded");
    let later = std::mem::take(&mut *h.later.borrow_mut());
    // The turn's save lands after the delete.
    h.store
        .sessions
        .borrow_mut()
        .insert(REF.into(), late.clone());
    *h.later.borrow_mut() = later;
    assert_eq!(h.after_answer(), [Ok(())]);
    assert!(h.session().is_none(), "no session is left behind");
    let answers = recorded_answers(&h.store);
    assert_eq!(
        answers.len(),
        late.answers.len(),
        "the late turn's answers are in the record"
    );
}

/// A session behind the record (a write retried after the answer, landing after later events
/// and the call's end) adds no variables: the record keeps the values the call moved on to.
#[test]
fn an_older_session_saved_late_does_not_put_back_old_variables() {
    let h = Harness::new(bank(Ok(r#"{"balance": "7.00"}"#)));
    at_account_prompt(&h);
    let mut older = h.session().expect("live");
    older.vars.insert("balance".into(), "0.00".into());
    says(h.spoke("12345674#"), "7.00");
    h.hangup().expect("recorded");
    h.store.sessions.borrow_mut().insert(REF.into(), older);
    assert_eq!(h.after_answer(), [Ok(())]);
    assert!(h.session().is_none());
    let records = h.store.records.borrow();
    assert_eq!(
        records[REF].vars.get("balance").map(String::as_str),
        Some("7.00")
    );
}

#[test]
fn a_turn_that_cannot_look_for_the_record_still_answers_and_keeps_its_session() {
    let h = Harness::new(bank(Ok(r#"{"balance": "7.00"}"#)));
    at_account_prompt(&h);
    h.store.fail(Fault::ReadRecord);
    says(h.spoke("12345674#"), "7.00");
    assert_eq!(
        h.log.borrow().warning.as_deref(),
        Some("could not look for the call's record; session kept")
    );
    assert!(h.session().is_some(), "the session is saved");
}

/// An API that takes `takes_ms` of the pipeline's clock for each request, and keeps the time
/// each was allowed.
struct Slow<'a> {
    clock: &'a ManualClock,
    takes_ms: u64,
    allowed: RefCell<Vec<u64>>,
}

impl Http for Slow<'_> {
    async fn send(
        &self,
        _request: &FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        self.allowed.borrow_mut().push(timeout_ms);
        self.clock
            .now_ms
            .set(self.clock.now_ms.get() + self.takes_ms.min(timeout_ms));
        Err(HttpError::Timeout {
            after_ms: timeout_ms,
        })
    }
}

#[test]
fn the_fetch_steps_of_one_event_share_its_time_budget() {
    use ivr_core::flow::{fetch, say, Ctx, Flow};
    fn lookup(_: &Ctx) -> FetchRequest {
        FetchRequest::get("https://example.com/slow")
    }
    fn accept(_: &mut Ctx, _: &FetchResponse) -> Result<(), String> {
        Ok(())
    }
    let mut h = Harness::new(bank(Ok("{}")));
    h.registry = Registry::new()
        .flow(
            Flow::inbound("chain")
                .step(
                    "first",
                    fetch(lookup).on_ok("second", accept).on_error("second"),
                )
                // Its request is cut at the 1 s left; the third then has no time at all.
                .step(
                    "second",
                    fetch(lookup).on_ok("out_of_time", accept).on_error("third"),
                )
                .step(
                    "third",
                    fetch(lookup)
                        .on_ok("out_of_time", accept)
                        .on_error("out_of_time"),
                )
                .step("out_of_time", say("Sorry, that took too long.")),
        )
        .default_inbound("chain");
    let slow = Slow {
        clock: &h.clock,
        takes_ms: 3_000,
        allowed: RefCell::default(),
    };
    let pipeline = Pipeline {
        sessions: &h.store,
        records: &h.store,
        http: &slow,
        clock: &h.clock,
        registry: &h.registry,
        config: &h.config,
    };
    let body = serde_json::json!({"event": "incoming_call", "reference_id": REF,
        "data": {"from": "15558675309", "to": "15555551212"}})
    .to_string();
    let event = decode_event(body.as_bytes()).expect("event");
    let handled = run(pipeline.event(
        &event,
        body.as_bytes(),
        5,
        &mut RequestLog::default(),
        &h.clock,
    ))
    .unwrap();
    // 4 s for all: the first request may take its 3 s, the second what is left, the third none
    // (it is not sent).
    assert_eq!(*slow.allowed.borrow(), [3_000, 1_000]);
    says(Ok(handled.reply), "took too long");
}

/// The storage operations of one call of the benchmarks' path (bench/peers.mjs `CALL`: the bank
/// flow's welcome, cards, card activation with four digits, goodbye, the call's end), with
/// sessions in KV, as the in-memory ports count what the worker's stores would run: what
/// BENCHMARKS.md's "Storage operations and price per call" quotes.
#[test]
fn the_benchmarks_call_costs_these_storage_operations() {
    // Per event, the session read; after each event but the last, the session written; at the
    // end, the record (one D1 batch: its row, its steps, its answers) and the session deleted;
    // on incoming_call, the replay check (a D1 query, then a KV read of the records waiting for
    // D1). In KV the session is read once more when the call's end is settled (a Durable Object
    // runs a call's events one at a time: nothing to settle). An object's alarm is the shell's
    // (`src/js/io.mjs`), not counted here: one `setAlarm` per call.
    let kv = BTreeMap::from([
        ("D1 batch", 1),
        ("D1 query", 1),
        ("KV delete", 1),
        ("KV read", 9),
        ("KV write", 6),
    ]);
    assert_eq!(the_benchmarks_call(false), kv);
    let object = BTreeMap::from([
        ("D1 batch", 1),
        ("D1 query", 1),
        ("DO storage delete", 1),
        ("KV read", 1),
        ("DO storage read", 7),
        ("DO storage write", 6),
    ]);
    assert_eq!(the_benchmarks_call(true), object);
}

/// The storage operations of the benchmarks' call, with sessions in a Durable Object or in KV.
/// Its events come seconds apart, each after a prompt, as Telesign posts them: none waits for
/// KV's spacing (nor does the benchmark's, which turns it off).
fn the_benchmarks_call(durable: bool) -> BTreeMap<&'static str, u64> {
    let h = Harness::new(bank(Ok(r#"{"balance":"1.00"}"#)));
    h.store.durable.set(durable);
    // A prompt plays between two events.
    let a_prompt_later = || h.clock.advance(7_000);
    let mut replies = vec![h.incoming()];
    for digits in ["", "2", "2", "4321", ""] {
        a_prompt_later();
        replies.push(h.spoke(digits));
    }
    assert!(
        replies.iter().all(|r| matches!(r, Ok(Some(_)))),
        "{replies:?}"
    );
    a_prompt_later();
    assert_eq!(h.hangup().unwrap(), None);
    assert!(h.after_answer().iter().all(Result::is_ok));
    let ops = h.store.ops.borrow().clone();
    ops
}
