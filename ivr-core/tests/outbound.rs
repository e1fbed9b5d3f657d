//! The dialer and the campaign consumer through the ports: the exact request Telesign gets, what
//! is stored before, during and after the dial (the pending-entry race of `POST /calls`
//! included), and how a campaign message is paced, retried and never dialled twice.
#![allow(clippy::disallowed_methods)] // a test reads JSON however is handiest

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ivr_core::api::calls::{DialFailure, Placing};
use ivr_core::api::campaigns::{
    member_external_id, Campaign, CampaignRequest, CampaignState, Control, DialMessage, Member,
    NumberState, Redial, Window,
};
use ivr_core::config::Config;
use ivr_core::engine::{CallOutcome, Wait};
use ivr_core::error::ErrorCode;
use ivr_core::flow::{menu, say, FetchRequest, FetchResponse, Flow, Registry};
use ivr_core::log::RequestLog;
use ivr_core::pipeline::campaign::{queue_redials, Consumer};
use ivr_core::pipeline::memory::{run, ManualClock, Memory, ScriptedHttp};
use ivr_core::pipeline::ports::{CallRecords, Clock, Http, HttpError, Sleep};
use ivr_core::pipeline::Pipeline;
use ivr_core::telesign::{decode_event, DialOptions, Method, PhoneNumber};

const CUSTOMER_ID: &str = "00000000-0000-4000-8000-000000000000";
const API_KEY: &str = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";
const CAMPAIGN: &str = "0123456789abcdef0123456789abcdef";

/// The webhook's clock, for the event budget: nothing here takes time but the waits for KV's
/// spacing of a key's writes.
struct Still(AtomicU64);
impl Clock for Still {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
impl Sleep for Still {
    async fn sleep_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }
}
static STILL: Still = Still(AtomicU64::new(0));

fn registry() -> Registry {
    Registry::new().flow(
        Flow::outbound("remind")
            .calls_in(["America/New_York", "America/Los_Angeles"])
            .step(
                "ask",
                menu("Hello {name}. Press 1 to confirm.")
                    .option("1", "bye")
                    .fallback("bye"),
            )
            .step("bye", say("Goodbye.")),
    )
}

fn config(extra: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        let fixed = [
            ("TELESIGN_CUSTOMER_ID", CUSTOMER_ID),
            ("TELESIGN_API_KEY", API_KEY),
            ("TELESIGN_API_URL", "http://telesign.test/v2/voice"),
            ("CAMPAIGN_DIALS_PER_SECOND", "4"),
            ("CAMPAIGN_RETRY_BASE_SECS", "30"),
            ("CAMPAIGN_MAX_ATTEMPTS", "3"),
        ];
        extra
            .iter()
            .chain(fixed.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn accepted(reference_id: &str) -> Result<FetchResponse, HttpError> {
    Ok(FetchResponse::new(
        202,
        format!(r#"{{"reference_id":"{reference_id}","status":"dial_accepted"}}"#),
    ))
}

fn placing(external_id: &str) -> Placing {
    Placing {
        flow: "remind".into(),
        to: PhoneNumber::parse("+15555550001").unwrap(),
        caller_id: PhoneNumber::parse("+15554441313").unwrap(),
        vars: BTreeMap::from([("name".to_owned(), "Alex".to_owned())]),
        external_id: external_id.into(),
        options: DialOptions::default(),
    }
}

fn pipeline<'a, H>(
    store: &'a Memory,
    http: &'a H,
    registry: &'a Registry,
    config: &'a Config,
) -> Pipeline<'a, Memory, Memory, H> {
    Pipeline {
        sessions: store,
        records: store,
        http,
        clock: &STILL,
        registry,
        config,
    }
}

#[test]
fn an_accepted_dial_sends_telesigns_request_and_leaves_the_session_under_its_reference_id() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("REF1"));
    let p = pipeline(&store, &http, &registry, &config);
    let placed = run(p.place_call(&placing("order-17"), 5))
        .expect("no error of ours")
        .expect("accepted");
    assert_eq!(placed.accepted.reference_id, "REF1");
    assert_eq!(placed.warning, None);

    let requests = http.requests.borrow();
    let [request] = requests.as_slice() else {
        panic!("{requests:?}")
    };
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", "http://telesign.test/v2/voice")
    );
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"jsonrpc": "2.0", "method": "dial", "params": {
            "to": "15555550001", "caller_id_number": "15554441313", "external_id": "order-17"}})
    );
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    // Basic base64(customer_id:api_key), the key as issued.
    let basic = format!(
        "Basic {}",
        base64_of(format!("{CUSTOMER_ID}:{API_KEY}").as_bytes())
    );
    assert_eq!(header("authorization"), Some(basic));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));

    let session = store
        .sessions
        .borrow()
        .get("REF1")
        .cloned()
        .expect("stored");
    assert_eq!(
        (session.wait, session.flow.as_str()),
        (Wait::Answer, "remind")
    );
    assert_eq!(session.external_id.as_deref(), Some("order-17"));
    assert!(
        store.pending.borrow().is_empty(),
        "the pending entry is gone"
    );
}

/// Plain base64, written out here so the test does not share the code it checks.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Telesign's `dial_completed` arrives at the webhook while the worker still waits for the
/// `202` of its dial: the event runs the flow from the pending entry, and the session the dialer
/// stores afterwards must not put the call back to "waiting for an answer".
struct EarlyAnswer<'a> {
    store: &'a Memory,
    registry: &'a Registry,
    config: &'a Config,
    reply: std::cell::RefCell<Option<String>>,
}

impl Http for EarlyAnswer<'_> {
    async fn send(
        &self,
        request: &FetchRequest,
        _timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        assert!(
            self.store.pending.borrow().contains_key("order-18"),
            "the pending entry is written before the dial"
        );
        let body = r#"{"event":"dial_completed","reference_id":"REF2","external_id":"order-18","data":{"status":"answered","to":"15555550001","from":"15554441313"}}"#;
        let event = decode_event(body.as_bytes()).unwrap();
        // The flow has no fetch steps: the webhook's own HTTP is never used.
        let unused = ScriptedHttp::always(Err(HttpError::Failed {
            message: "unused".into(),
        }));
        let webhook = pipeline(self.store, &unused, self.registry, self.config);
        let reply = webhook
            .event(
                &event,
                body.as_bytes(),
                6,
                &mut RequestLog::default(),
                &STILL,
            )
            .await
            .expect("answered")
            .reply
            .expect("an action");
        *self.reply.borrow_mut() = Some(reply.json.to_string());
        assert!(request.url.ends_with("/v2/voice"));
        accepted("REF2")
    }
}

#[test]
fn a_dial_completed_before_the_dials_answer_runs_the_flow_and_is_not_undone() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = EarlyAnswer {
        store: &store,
        registry: &registry,
        config: &config,
        reply: Default::default(),
    };
    let p = pipeline(&store, &http, &registry, &config);
    run(p.place_call(&placing("order-18"), 5))
        .expect("no error of ours")
        .expect("accepted");
    let reply = http
        .reply
        .borrow()
        .clone()
        .expect("the early event was answered");
    assert!(reply.contains("Hello Alex"), "{reply}");
    let session = store
        .sessions
        .borrow()
        .get("REF2")
        .cloned()
        .expect("stored");
    assert_eq!(
        session.wait,
        Wait::Speak,
        "still at the menu, not waiting again"
    );
    assert_eq!(session.step, "ask");
    assert!(store.pending.borrow().is_empty());
}

#[test]
fn a_dial_without_an_answer_removes_its_pending_entry_and_a_late_event_is_hung_up() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(Err(HttpError::Timeout { after_ms: 10_000 }));
    let p = pipeline(&store, &http, &registry, &config);
    let failure = run(p.place_call(&placing("order-19"), 5))
        .expect("no error of ours")
        .expect_err("timed out");
    assert_eq!(failure, DialFailure::Timeout { after_ms: 10_000 });
    assert!(store.pending.borrow().is_empty() && store.sessions.borrow().is_empty());

    let body = r#"{"event":"dial_completed","reference_id":"REF3","external_id":"order-19","data":{"status":"answered"}}"#;
    let event = decode_event(body.as_bytes()).unwrap();
    let reply = run(p.event(
        &event,
        body.as_bytes(),
        9,
        &mut RequestLog::default(),
        &STILL,
    ))
    .unwrap()
    .reply
    .expect("an action");
    assert_eq!(reply.method, Method::Hangup);
}

#[test]
fn telesigns_refusals_become_dial_failures_with_their_status() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let limited = FetchResponse {
        headers: vec![("retry-after".into(), "7".into())],
        ..FetchResponse::new(429, r#"{"reference_id":"","status":"rate_limit_exceeded"}"#)
    };
    let http = ScriptedHttp::always(Ok(limited));
    let p = pipeline(&store, &http, &registry, &config);
    let failure = run(p.place_call(&placing("order-20"), 5))
        .unwrap()
        .unwrap_err();
    assert_eq!(failure.retry_after_secs(), Some(7));
    assert_eq!(failure.outcome(), CallOutcome::DialRateLimited);
    assert!(failure.is_transient());
}

fn campaign(store: &Memory) {
    store.campaigns.borrow_mut().insert(
        CAMPAIGN.into(),
        Campaign {
            id: CAMPAIGN.into(),
            flow: "remind".into(),
            caller_id: "+15554441313".into(),
            vars: BTreeMap::new(),
            options: DialOptions {
                record_call: true,
                max_call_duration: Some(900),
                ..DialOptions::default()
            },
            total: 3,
            created_ms: 0,
            start_ms: None,
            window: None,
            end_ms: None,
            redial: Redial::default(),
        },
    );
}

fn message(attempt: u32) -> DialMessage {
    DialMessage {
        campaign: CAMPAIGN.into(),
        first: 0,
        numbers: vec![
            "+15555550001".into(),
            "+15555550002".into(),
            "+15555550003".into(),
        ],
        // The first two numbers have vars of their own.
        vars: vec![
            BTreeMap::from([("name".to_owned(), "Sam".to_owned())]),
            BTreeMap::from([("name".to_owned(), "Ana".to_owned())]),
            BTreeMap::new(),
        ],
        zones: Vec::new(),
        attempt,
    }
}

#[test]
fn a_campaign_message_is_paced_retried_and_never_dialled_twice() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    campaign(&store);
    let http = ScriptedHttp::always(accepted("never"))
        .then(accepted("R1"))
        .then(Ok(FetchResponse::new(503, "{}")))
        .then(Ok(FetchResponse::new(
            200,
            r#"{"reference_id":"R3","status":"to_number_blocked_by_country"}"#,
        )));
    let clock = ManualClock::default();
    clock.now_ms.set(1_000);
    let p = pipeline(&store, &http, &registry, &config);
    let mut consumer = Consumer::new(&p, &store, &clock);
    run(consumer.process(&message(0))).expect("processed");

    // Four dials a second: the third went out half a second after the first.
    assert_eq!(clock.now_ms.get(), 1_500);
    assert_eq!(http.requests.borrow().len(), 3);
    // Every dial asks for what the campaign asked for.
    for request in http.requests.borrow().iter() {
        let body: serde_json::Value =
            serde_json::from_str(request.body.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(body["params"]["record_call"], true, "{body}");
        assert_eq!(body["params"]["max_call_duration"], 900, "{body}");
    }
    let entry = |i: u32| store.numbers.borrow()[&(CAMPAIGN.to_owned(), i)].clone();
    assert_eq!(entry(0).state, NumberState::Dialing);
    // The call gets the number's own vars, as `POST /calls` would give them.
    let session = store.sessions.borrow()["R1"].clone();
    assert_eq!(session.vars.get("name").map(String::as_str), Some("Sam"));
    assert_eq!(entry(0).reference_id.as_deref(), Some("R1"));
    assert_eq!(
        (entry(1).state, entry(1).attempts),
        (NumberState::Queued, 1)
    );
    assert_eq!(entry(2).state, NumberState::Failed);
    assert_eq!(
        entry(2).status.as_deref(),
        Some("to_number_blocked_by_country")
    );
    let record = store.records.borrow()[&member_external_id(CAMPAIGN, 2)].clone();
    assert_eq!(record.outcome, CallOutcome::DialRejected);

    // The 503 came back as a one-number message after the base delay.
    let queued = store.queued.borrow().clone();
    let [(retry, delay)] = queued.as_slice() else {
        panic!("{queued:?}")
    };
    assert_eq!((retry.first, retry.attempt, *delay), (1, 1, 30));
    assert_eq!(retry.numbers, vec!["+15555550002".to_owned()]);
    assert_eq!(
        retry.vars[0]["name"], "Ana",
        "a retry carries the number's vars"
    );

    // The queue delivers the first message again: nobody is rung twice.
    let mut again = Consumer::new(&p, &store, &clock);
    run(again.process(&message(0))).expect("processed");
    assert_eq!(http.requests.borrow().len(), 3);
    // The retry dials only its number.
    run(again.process(retry)).expect("processed");
    assert_eq!(http.requests.borrow().len(), 4);
    assert_eq!(entry(1).state, NumberState::Dialing);
}

#[test]
fn a_campaign_whose_flow_is_gone_fails_its_numbers_without_dialling() {
    let (store, config) = (Memory::default(), config(&[]));
    let registry = Registry::new();
    campaign(&store);
    let http = ScriptedHttp::always(accepted("never"));
    let clock = ManualClock::default();
    let p = pipeline(&store, &http, &registry, &config);
    run(Consumer::new(&p, &store, &clock).process(&message(0))).expect("processed");
    assert!(http.requests.borrow().is_empty());
    let numbers = store.numbers.borrow();
    assert!(numbers
        .values()
        .all(|e| e.state == NumberState::Failed && e.outcome == Some(CallOutcome::UnknownFlow)));
    assert_eq!(numbers.len(), 3);
}

/// A campaign of `n` numbers started through the pipeline (its rows written, its messages in the
/// memory queue).
fn started(store: &Memory, p: &Pipeline<'_, Memory, Memory, ScriptedHttp>, n: u32) {
    started_with(store, p, n, Redial::default());
}

/// ... redialling numbers not answered as `redial` says.
fn started_with(
    store: &Memory,
    p: &Pipeline<'_, Memory, Memory, ScriptedHttp>,
    n: u32,
    redial: Redial,
) {
    let members = (0..n)
        .map(|i| Member {
            to: PhoneNumber::parse(&format!("+1555555{:04}", 100 + i)).unwrap(),
            vars: BTreeMap::from([("name".to_owned(), format!("N{i}"))]),
            time_zone: None,
        })
        .collect();
    let request = CampaignRequest {
        flow: "remind".into(),
        members,
        caller_id: PhoneNumber::parse("+15554441313").unwrap(),
        vars: BTreeMap::new(),
        options: DialOptions::default(),
        start_ms: None,
        end_ms: None,
        window: None,
        redial,
    };
    run(p.start_campaign(request, CAMPAIGN.into(), 0, store)).expect("started");
}

/// Runs every message the memory queue holds, in order, until it is empty.
fn drain(store: &Memory, p: &Pipeline<'_, Memory, Memory, ScriptedHttp>, clock: &ManualClock) {
    loop {
        let queued = std::mem::take(&mut *store.queued.borrow_mut());
        if queued.is_empty() {
            return;
        }
        for (message, _) in queued {
            let mut consumer = Consumer::new(p, store, clock);
            run(consumer.process(&message)).expect("processed");
        }
    }
}

#[test]
fn a_paused_campaign_dials_nobody_and_a_resumed_one_dials_each_number_once() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let clock = ManualClock::default();
    let p = pipeline(&store, &http, &registry, &config);
    started(&store, &p, 30);
    let first = store.queued.borrow().clone();
    assert_eq!(first.len(), 2, "30 numbers in messages of 25");

    // Paused before the consumer ran: its messages dial nobody.
    let (state, _) = run(p.control_campaign(CAMPAIGN, Control::Pause, 1, &store)).unwrap();
    assert_eq!(state, CampaignState::Paused);
    // Pausing again changes nothing.
    run(p.control_campaign(CAMPAIGN, Control::Pause, 2, &store)).unwrap();
    drain(&store, &p, &clock);
    assert!(http.requests.borrow().is_empty());

    // The queue delivers the first messages again while the campaign resumes: both the old
    // messages and the ones the resume queued reach the consumer, and nobody is rung twice.
    store.queued.borrow_mut().extend(first);
    let (state, requeued) = run(p.control_campaign(CAMPAIGN, Control::Resume, 3, &store)).unwrap();
    assert_eq!((state, requeued), (CampaignState::Running, 30));
    run(p.control_campaign(CAMPAIGN, Control::Resume, 4, &store)).unwrap();
    drain(&store, &p, &clock);
    let dialled: Vec<String> = http
        .requests
        .borrow()
        .iter()
        .map(|r| {
            let body: serde_json::Value =
                serde_json::from_str(r.body.as_deref().unwrap_or_default()).unwrap();
            body["params"]["to"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let distinct: std::collections::BTreeSet<&String> = dialled.iter().collect();
    assert_eq!((dialled.len(), distinct.len()), (30, 30));
    // The resumed numbers kept their own vars.
    let session = store.sessions.borrow()["R"].clone();
    assert!(session.vars["name"].starts_with('N'), "{:?}", session.vars);
}

#[test]
fn a_cancelled_campaign_fails_its_numbers_not_dialled_and_cannot_be_resumed() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let clock = ManualClock::default();
    let p = pipeline(&store, &http, &registry, &config);
    started(&store, &p, 3);
    // The first number is dialled before the cancel arrives.
    let message = store.queued.borrow()[0].0.clone();
    let one = DialMessage {
        numbers: message.numbers[..1].to_vec(),
        vars: message.vars[..1].to_vec(),
        ..message.clone()
    };
    run(Consumer::new(&p, &store, &clock).process(&one)).unwrap();
    let (state, _) = run(p.control_campaign(CAMPAIGN, Control::Cancel, 5, &store)).unwrap();
    assert_eq!(state, CampaignState::Cancelled);
    drain(&store, &p, &clock);
    assert_eq!(
        http.requests.borrow().len(),
        1,
        "only the number dialled before"
    );
    let entry = |i: u32| store.numbers.borrow()[&(CAMPAIGN.to_owned(), i)].clone();
    assert_eq!(
        entry(0).state,
        NumberState::Dialing,
        "a call already ringing goes on"
    );
    for i in [1, 2] {
        assert_eq!(
            (entry(i).state, entry(i).outcome),
            (NumberState::Failed, Some(CallOutcome::Cancelled))
        );
    }
    for control in [Control::Resume, Control::Pause] {
        let e = run(p.control_campaign(CAMPAIGN, control, 6, &store)).unwrap_err();
        assert_eq!(e.code, ErrorCode::CampaignCancelled);
    }
    let (state, _) = run(p.control_campaign(CAMPAIGN, Control::Cancel, 7, &store)).unwrap();
    assert_eq!(
        state,
        CampaignState::Cancelled,
        "cancelling again changes nothing"
    );
}

/// What starting a campaign and dialling each of its numbers costs in storage operations, per
/// number (BENCHMARKS.md, "Storage operations per campaign number", quotes this test).
#[test]
fn a_campaign_number_costs_these_storage_operations() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = (0..1_000).fold(ScriptedHttp::always(accepted("late")), |http, i| {
        http.then(accepted(&format!("R{i}")))
    });
    let clock = ManualClock::default();
    let p = pipeline(&store, &http, &registry, &config);
    started(&store, &p, 1_000);
    let start = store.ops.borrow().clone();
    store.ops.borrow_mut().clear();
    drain(&store, &p, &clock);
    let dial = store.ops.borrow().clone();
    let count = |ops: &BTreeMap<&str, u64>, kind: &str| ops.get(kind).copied().unwrap_or(0);
    // Starting: the campaign (one KV write), its numbers' rows (one D1 batch for all; 1,000 rows
    // written), and its messages (25 numbers each, 100 a send).
    assert_eq!(
        (
            count(&start, "KV write"),
            count(&start, "D1 batch"),
            count(&start, "queue send")
        ),
        (1, 1, 1)
    );
    // Dialling, per number: the claim (one D1 statement), the result (one D1 read and one D1
    // write), the call's pending entry and session (two KV writes, a KV read to find a session
    // an early event wrote, and a KV delete); per consumer invocation, the campaign (one KV
    // read: each message is its own invocation here, 40 of them).
    assert_eq!(count(&dial, "D1 query"), 2 * 1_000);
    assert_eq!(count(&dial, "D1 batch"), 1_000);
    assert_eq!(count(&dial, "KV write"), 2 * 1_000);
    assert_eq!(count(&dial, "KV delete"), 1_000);
    assert_eq!(count(&dial, "KV read"), 1_000 + 40);
    assert_eq!(http.requests.borrow().len(), 1_000, "one dial each");
}

#[test]
fn a_dial_in_flight_is_neither_queued_again_by_a_resume_nor_cancelled() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let p = pipeline(&store, &http, &registry, &config);
    started(&store, &p, 3);
    // The consumer has claimed number 0 and its dial is in flight.
    assert!(run(store.claim_number(CAMPAIGN, 0, "+15555550100", 0, 1)).unwrap());
    assert!(
        !run(store.claim_number(CAMPAIGN, 0, "+15555550100", 0, 1)).unwrap(),
        "claimed once"
    );
    run(p.control_campaign(CAMPAIGN, Control::Pause, 2, &store)).unwrap();
    let (_, requeued) = run(p.control_campaign(CAMPAIGN, Control::Resume, 3, &store)).unwrap();
    assert_eq!(requeued, 2, "numbers 1 and 2, not the one being dialled");
    // Resuming a running campaign queues nothing (its numbers are in the queue already).
    let (_, again) = run(p.control_campaign(CAMPAIGN, Control::Resume, 4, &store)).unwrap();
    assert_eq!(again, 0);
    run(p.control_campaign(CAMPAIGN, Control::Cancel, 5, &store)).unwrap();
    let entry = |i: u32| store.numbers.borrow()[&(CAMPAIGN.to_owned(), i)].clone();
    assert_eq!(entry(0).state, NumberState::Dialing, "its call goes on");
    assert_eq!(entry(1).outcome, Some(CallOutcome::Cancelled));
}

#[test]
fn an_erased_number_of_a_campaign_is_not_dialled_and_does_not_come_back() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let clock = ManualClock::default();
    let p = pipeline(&store, &http, &registry, &config);
    started(&store, &p, 2);
    let pairs = [("number".to_owned(), "+15555550100".to_owned())];
    let erasure = ivr_core::api::erase::Erasure::of_query(&pairs).unwrap();
    run(p.erase(&erasure, 1, &mut RequestLog::default())).unwrap();
    drain(&store, &p, &clock);
    let entry = |i: u32| store.numbers.borrow()[&(CAMPAIGN.to_owned(), i)].clone();
    assert_eq!(
        (entry(0).state, entry(0).outcome, entry(0).to.clone()),
        (NumberState::Failed, Some(CallOutcome::Erased), None)
    );
    assert_eq!(entry(1).state, NumberState::Dialing);
    assert_eq!(
        http.requests.borrow().len(),
        1,
        "only the number not erased"
    );
    assert!(!store
        .number_own
        .borrow()
        .contains_key(&(CAMPAIGN.to_owned(), 0)));
}

#[test]
fn a_campaign_before_its_start_dials_nobody_and_its_messages_wait_in_the_queue() {
    let (registry, config) = (registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let clock = ManualClock::default();
    clock.now_ms.set(1_000_000);
    let members = vec![Member {
        to: PhoneNumber::parse("+15555550100").unwrap(),
        vars: BTreeMap::from([("name".to_owned(), "Sam".to_owned())]),
        time_zone: None,
    }];
    for (start, delay) in [(1_000_000 + 90_500, 91), (1_000_000 + 86_400_000, 3_600)] {
        let store = Memory::default();
        let p = pipeline(&store, &http, &registry, &config);
        let request = CampaignRequest {
            flow: "remind".into(),
            members: members.clone(),
            caller_id: PhoneNumber::parse("+15554441313").unwrap(),
            vars: BTreeMap::new(),
            options: DialOptions::default(),
            start_ms: Some(start),
            end_ms: None,
            window: None,
            redial: Redial::default(),
        };
        run(p.start_campaign(request, CAMPAIGN.into(), 0, &store)).unwrap();
        let (message, _) = store.queued.borrow_mut().remove(0);
        run(Consumer::new(&p, &store, &clock).process(&message)).unwrap();
        assert!(
            http.requests.borrow().is_empty(),
            "nobody is dialled before the start"
        );
        let queued = store.queued.borrow().clone();
        assert_eq!(
            queued,
            [(message, delay)],
            "it waits, an hour at most at a time"
        );
    }
    // From its start on, it dials.
    let store = Memory::default();
    let p = pipeline(&store, &http, &registry, &config);
    let request = CampaignRequest {
        flow: "remind".into(),
        members,
        caller_id: PhoneNumber::parse("+15554441313").unwrap(),
        vars: BTreeMap::new(),
        options: DialOptions::default(),
        start_ms: Some(999_000),
        end_ms: None,
        window: None,
        redial: Redial::default(),
    };
    run(p.start_campaign(request, CAMPAIGN.into(), 0, &store)).unwrap();
    drain(&store, &p, &clock);
    assert_eq!(http.requests.borrow().len(), 1);
}

/// 2026-01-05, a Monday, at `h`:00 UTC (in ms).
fn monday(h: u64) -> u64 {
    1_767_571_200_000 + h * 3_600_000
}

/// A campaign of `zones.len()` numbers, each in its zone (none: the window's), called Monday to
/// Friday 09:00-17:00 New York time until `end_ms`.
fn windowed(zones: &[Option<&str>], end_ms: Option<u64>) -> CampaignRequest {
    let window = Window::parse(
        "Mon-Fri 09:00-17:00 America/New_York",
        &registry(),
        "window",
    );
    CampaignRequest {
        flow: "remind".into(),
        members: (0u32..)
            .zip(zones)
            .map(|(i, zone)| Member {
                to: PhoneNumber::parse(&format!("+1555555{:04}", 100 + i)).unwrap(),
                vars: BTreeMap::from([("name".to_owned(), format!("N{i}"))]),
                time_zone: zone.map(str::to_owned),
            })
            .collect(),
        caller_id: PhoneNumber::parse("+15554441313").unwrap(),
        vars: BTreeMap::new(),
        options: DialOptions::default(),
        start_ms: None,
        end_ms,
        window: Some(window.unwrap()),
        redial: Redial::default(),
    }
}

#[test]
fn numbers_wait_for_their_window_in_their_own_zone_without_spinning_the_queue() {
    let (registry, config) = (registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let clock = ManualClock::default();
    let store = Memory::default();
    let p = pipeline(&store, &http, &registry, &config);
    // Monday 08:30 in New York (13:30 UTC): nobody is called; the message comes back when New
    // York opens, half an hour later. A message that waits costs the campaign's state (one D1
    // query) and its send (one queue send), besides the campaign an invocation reads (one KV
    // read).
    clock.now_ms.set(monday(13) + 1_800_000);
    let la = Some("America/Los_Angeles");
    run(p.start_campaign(
        windowed(&[None, la, None], None),
        CAMPAIGN.into(),
        0,
        &store,
    ))
    .unwrap();
    let (message, _) = store.queued.borrow_mut().remove(0);
    store.ops.borrow_mut().clear();
    run(Consumer::new(&p, &store, &clock).process(&message)).unwrap();
    let ops = BTreeMap::from([("D1 query", 1), ("KV read", 1), ("queue send", 1)]);
    assert_eq!(store.ops.borrow().clone(), ops);
    assert!(http.requests.borrow().is_empty(), "nobody before 09:00");
    assert_eq!(store.queued.borrow().clone(), [(message.clone(), 1800)]);
    // At 09:00 in New York the two New York numbers are called; Los Angeles waits 3 hours more
    // (an hour at most at a time), as a message of its own that keeps its zone.
    clock.now_ms.set(monday(14));
    store.queued.borrow_mut().clear();
    run(Consumer::new(&p, &store, &clock).process(&message)).unwrap();
    assert_eq!(http.requests.borrow().len(), 2);
    let queued = store.queued.borrow().clone();
    assert_eq!(queued.len(), 1);
    let (later, delay) = &queued[0];
    assert_eq!(*delay, 3600);
    let numbers: Vec<_> = later.indexed().map(|n| (n.index, n.time_zone)).collect();
    assert_eq!(numbers, [(1, la)]);
    let state = |i: u32| store.numbers.borrow()[&(CAMPAIGN.to_owned(), i)].state;
    assert_eq!(
        [state(0), state(1), state(2)],
        [
            NumberState::Dialing,
            NumberState::Queued,
            NumberState::Dialing
        ]
    );
    // A far opening (Friday evening to Monday) comes back an hour at a time.
    let friday_evening = monday(24 * 5 + 2);
    clock.now_ms.set(friday_evening);
    store.queued.borrow_mut().clear();
    run(Consumer::new(&p, &store, &clock).process(later)).unwrap();
    assert_eq!(store.queued.borrow()[0].1, 3600);
    // Resumed after a pause, the number keeps its zone.
    run(p.control_campaign(CAMPAIGN, Control::Pause, 0, &store)).unwrap();
    store.queued.borrow_mut().clear();
    run(Consumer::new(&p, &store, &clock).process(later)).unwrap();
    assert!(
        store.queued.borrow().is_empty(),
        "a paused campaign's numbers do not wait in the queue"
    );
    run(p.control_campaign(CAMPAIGN, Control::Resume, 0, &store)).unwrap();
    let requeued = store.queued.borrow().clone();
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].0.indexed().next().unwrap().time_zone, la);
    clock.now_ms.set(monday(17));
    drain(&store, &p, &clock);
    assert_eq!(http.requests.borrow().len(), 3);
}

#[test]
fn a_number_whose_window_does_not_open_before_the_end_fails_as_outside_window() {
    let (registry, config) = (registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("R"));
    let clock = ManualClock::default();
    let store = Memory::default();
    let p = pipeline(&store, &http, &registry, &config);
    // The campaign ends at 17:00 UTC on Monday: New York (09:00 = 14:00 UTC) opens before it,
    // Los Angeles (09:00 = 17:00 UTC) does not.
    clock.now_ms.set(monday(11));
    let la = Some("America/Los_Angeles");
    let request = windowed(&[None, la], Some(monday(17)));
    run(p.start_campaign(request, CAMPAIGN.into(), 0, &store)).unwrap();
    clock.now_ms.set(monday(14));
    let (message, _) = store.queued.borrow_mut().remove(0);
    run(Consumer::new(&p, &store, &clock).process(&message)).unwrap();
    let entry = |i: u32| store.numbers.borrow()[&(CAMPAIGN.to_owned(), i)].clone();
    assert_eq!(entry(0).state, NumberState::Dialing);
    assert_eq!(
        (entry(1).state, entry(1).outcome),
        (NumberState::Failed, Some(CallOutcome::OutsideWindow))
    );
    assert_eq!(http.requests.borrow().len(), 1);
    // An end already past is refused.
    let e = run(p.start_campaign(
        windowed(&[None], Some(monday(14))),
        "x".into(),
        monday(15),
        &store,
    ))
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::ScheduleConflict);
}

#[test]
fn a_call_not_answered_is_redialled_by_the_cron_after_its_gap_until_its_dials_run_out() {
    let (store, registry, config) = (Memory::default(), registry(), config(&[]));
    let http = ScriptedHttp::always(accepted("REDIAL"));
    let clock = ManualClock::default();
    let p = pipeline(&store, &http, &registry, &config);
    let redial = Redial {
        attempts: 2,
        after_secs: 600,
    };
    started_with(&store, &p, 1, redial);
    drain(&store, &p, &clock);
    assert_eq!(http.requests.borrow().len(), 1);
    // Telesign's dial_completed `failed`: no answer, a busy line or a failed call.
    let not_answered = |now_ms: u64| {
        let body = format!(
            r#"{{"event":"dial_completed","reference_id":"REDIAL","external_id":"cmp_{CAMPAIGN}_0","data":{{"status":"failed","to":"15555550100","from":"15554441313"}}}}"#
        );
        let event = decode_event(body.as_bytes()).unwrap();
        run(p.event(
            &event,
            body.as_bytes(),
            now_ms,
            &mut RequestLog::default(),
            &STILL,
        ))
        .unwrap();
    };
    let entry = || store.numbers.borrow()[&(CAMPAIGN.to_owned(), 0)].clone();
    // The call's end costs what any campaign call's end costs (the session read and deleted, the
    // record written, the number's row read and written) and one KV read more: the campaign.
    let end = BTreeMap::from([
        ("D1 batch", 2),
        ("D1 query", 1),
        ("KV delete", 1),
        ("KV read", 2),
    ]);
    store.ops.borrow_mut().clear();
    not_answered(1_000);
    assert_eq!(store.ops.borrow().clone(), end);
    assert_eq!(
        (entry().state, entry().outcome, entry().attempts),
        (NumberState::Queued, Some(CallOutcome::DialFailed), 1)
    );
    // A resume does not queue a number waiting for its redial.
    run(p.control_campaign(CAMPAIGN, Control::Pause, 2_000, &store)).unwrap();
    run(p.control_campaign(CAMPAIGN, Control::Resume, 2_000, &store)).unwrap();
    assert!(store.queued.borrow().is_empty());
    // Not due before its gap; due after it, queued once. A cron run costs one D1 query, and when
    // numbers are due one queue send per 100 messages and one D1 write clearing their times.
    store.ops.borrow_mut().clear();
    assert_eq!(run(queue_redials(&store, &store, 600_999)).unwrap(), 0);
    assert_eq!(
        store.ops.borrow().clone(),
        BTreeMap::from([("D1 query", 1)])
    );
    store.ops.borrow_mut().clear();
    assert_eq!(run(queue_redials(&store, &store, 601_000)).unwrap(), 1);
    let ops = BTreeMap::from([("D1 batch", 1), ("D1 query", 1), ("queue send", 1)]);
    assert_eq!(store.ops.borrow().clone(), ops);
    assert_eq!(run(queue_redials(&store, &store, 601_000)).unwrap(), 0);
    let queued = store.queued.borrow().clone();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].0.attempt, queued[0].0.vars[0]["name"].as_str()),
        (1, "N0")
    );
    drain(&store, &p, &clock);
    assert_eq!(http.requests.borrow().len(), 2);
    assert_eq!((entry().state, entry().attempts), (NumberState::Dialing, 2));
    // The second call not answered: no dials left.
    store.ops.borrow_mut().clear();
    not_answered(700_000);
    assert_eq!(store.ops.borrow().clone(), end);
    assert_eq!(
        (entry().state, entry().outcome),
        (NumberState::Failed, Some(CallOutcome::DialFailed))
    );
    assert_eq!(run(queue_redials(&store, &store, u64::MAX / 2)).unwrap(), 0);
    assert_eq!(http.requests.borrow().len(), 2);
}
