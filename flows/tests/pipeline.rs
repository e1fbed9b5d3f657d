//! Fault injection: a store and a fetcher that fail on demand, driving the real event pipeline
//! through the sample flows.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use ivr_core::config::Config;
use ivr_core::engine::{self, Reply};
use ivr_core::error::ApiError;
use ivr_core::flow::{FetchResponse, Registry};
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::MAX_FETCHES_PER_EVENT;
use ivr_core::pipeline::memory::{run, Fault, Memory, ScriptedHttp};
use ivr_core::pipeline::ports::HttpError;
use ivr_core::pipeline::Pipeline;
use ivr_core::telesign::decode_event;

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
}

const REF: &str = "5A1E0000000000000000000000000001";

impl Harness {
    fn new(bank: ScriptedHttp) -> Self {
        Self {
            store: Memory::default(),
            bank,
            registry: flows::registry(),
            config: Config::from_lookup(|_| None),
            now: Cell::new(1_000_000),
            log: RefCell::new(RequestLog::default()),
        }
    }

    fn pipeline(&self) -> Pipeline<'_, Memory, Memory, ScriptedHttp> {
        Pipeline {
            sessions: &self.store,
            records: &self.store,
            http: &self.bank,
            registry: &self.registry,
            config: &self.config,
        }
    }

    fn post_body(&self, body: &str, now: u64) -> Result<Option<Reply>, ApiError> {
        let event = decode_event(body.as_bytes()).expect("a valid event");
        *self.log.borrow_mut() = RequestLog::default();
        run(self
            .pipeline()
            .event(&event, body.as_bytes(), now, &mut self.log.borrow_mut()))
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
fn a_failed_session_write_loses_nothing_and_the_retry_gets_the_same_answer() {
    let h = Harness::new(bank(Ok("{}")));
    says(h.incoming(), "Thank you for calling");
    let welcome_done = h.session();
    h.store.fail(Fault::SaveSession);
    store_error(h.spoke(""));
    assert_eq!(h.session(), welcome_done, "nothing advanced");
    h.store.heal();
    says(h.spoke(""), "For your account balance");
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
    use ivr_core::flow::{fetch, say, Ctx, FetchRequest, Flow, Next};
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
    assert_eq!(h.bank.requests.borrow().len(), MAX_FETCHES_PER_EVENT);
    assert_eq!(
        h.session().and_then(|s| s.outcome).map(|o| o.as_str()),
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
    says(h.post_body(&body, 5), "Hello Alex");
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
