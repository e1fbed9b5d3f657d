//! Sensitive entries through the real event pipeline, over the in-memory stores: a PIN gathered
//! as `sensitive()` reaches the API that checks it, and nothing the stores hold, nor the record,
//! nor the log line, has it.

use ivr_core::api::erase::{Erased, Erasure};
use ivr_core::config::Config;
use ivr_core::engine::{AnswerResult, Reply};
use ivr_core::flow::*;
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::Later;
use ivr_core::pipeline::memory::{run, ManualClock, Memory, ScriptedHttp};
use ivr_core::pipeline::Pipeline;
use ivr_core::telesign::decode_event;

const REF: &str = "5EA10000000000000000000000000001";
const PIN: &str = "97531864";
const KEY: &str = "cHJpdmFjeS10ZXN0LWtleS1vZi0zMi1ieXRlcy0wMDE=";

/// A flow of this test's own: a PIN, checked by an API while the caller holds, then a menu.
fn flow() -> Flow {
    Flow::inbound("pin")
        .config(["PIN_API_URL"])
        .on_error("sorry")
        .step("welcome", say("Welcome.").then("pin"))
        .step(
            "pin",
            gather("Enter your PIN, then pound.", "pin")
                .digits(8, 8)
                .keep_last(2)
                .fallback("sorry")
                .then("verify"),
        )
        .step(
            "verify",
            fetch(|ctx| {
                let api = ctx.setting("PIN_API_URL").unwrap_or_default();
                let pin = ctx.var("pin").unwrap_or_default();
                FetchRequest::post_json(format!("{api}/verify"), format!(r#"{{"pin":"{pin}"}}"#))
            })
            .hold("One moment.")
            .on_ok("verified", |ctx, r| {
                ctx.set_var("holder", r.body.clone());
                Ok(())
            })
            .sets(["holder"])
            .on_error("sorry"),
        )
        .step(
            "verified",
            say("Thank you {holder}, PIN ending {pin|last4} verified.").then("menu"),
        )
        .step(
            "menu",
            menu("Press 1 to start over.")
                .option("1", "welcome")
                .fallback("sorry"),
        )
        .step("sorry", say("Sorry."))
}

struct Harness {
    store: Memory,
    api: ScriptedHttp,
    registry: Registry,
    config: Config,
    clock: ManualClock,
    now: std::cell::Cell<u64>,
    later: std::cell::RefCell<Vec<Later>>,
    logs: std::cell::RefCell<Vec<String>>,
}

impl Harness {
    fn new(key: Option<&str>) -> Self {
        let key = key.map(str::to_owned);
        Harness {
            store: Memory::default(),
            api: ScriptedHttp::always(Ok(FetchResponse::new(200, "Sam"))),
            registry: Registry::new()
                .flow(flow())
                .default_inbound("pin")
                .with_settings(|name| match name {
                    "PIN_API_URL" => Some("https://pins.example.com".to_owned()),
                    "SESSION_SEAL_KEY" => key.clone(),
                    _ => None,
                }),
            config: Config::from_lookup(|_| None),
            clock: ManualClock::default(),
            now: std::cell::Cell::new(1_000_000),
            later: Default::default(),
            logs: Default::default(),
        }
    }

    fn post(&self, event: &str, data: serde_json::Value) -> Option<Reply> {
        let body =
            serde_json::json!({"event": event, "reference_id": REF, "data": data}).to_string();
        self.post_body(&body)
    }

    fn pipeline(&self) -> Pipeline<'_, Memory, Memory, ScriptedHttp> {
        Pipeline {
            sessions: &self.store,
            records: &self.store,
            http: &self.api,
            clock: &self.clock,
            registry: &self.registry,
            config: &self.config,
        }
    }

    fn erase(&self, erasure: &Erasure) -> Erased {
        let mut log = RequestLog::default();
        let erased = run(self.pipeline().erase(erasure, self.now.get(), &mut log)).expect("erased");
        self.logs.borrow_mut().push(log.line());
        erased
    }

    fn call(&self, id: &str, from: &str) {
        let post = |event: &str, data: serde_json::Value| {
            let body = serde_json::json!({"event": event, "reference_id": id, "data": data});
            self.post_body(&body.to_string())
        };
        post(
            "incoming_call",
            serde_json::json!({"from": from, "to": "15555551212"}),
        );
        post(
            "call_completed",
            serde_json::json!({"status": "hangup", "direction": "inbound",
            "from": from, "to": "15555551212"}),
        );
    }

    fn post_body(&self, body: &str) -> Option<Reply> {
        self.now.set(self.now.get() + 3_000);
        let pipeline = self.pipeline();
        let event = decode_event(body.as_bytes()).expect("a valid event");
        let mut log = RequestLog::default();
        let handled = run(pipeline.event(
            &event,
            body.as_bytes(),
            self.now.get(),
            &mut log,
            &self.clock,
        ))
        .expect("handled");
        self.logs.borrow_mut().push(log.line());
        for work in handled.later {
            run(pipeline.later(work, &self.clock)).expect("work after the answer");
        }
        *self.later.borrow_mut() = Vec::new();
        handled.reply
    }

    fn spoke(&self, digits: &str) -> String {
        let reply = self.post(
            "speak_completed",
            serde_json::json!({"status": "speak_successful", "collected_digits": digits}),
        );
        reply.map(|r| r.json.to_string()).unwrap_or_default()
    }

    /// Everything the stores hold, and every log line so far, as text.
    fn at_rest(&self) -> String {
        let mut all = Vec::new();
        for s in self.store.sessions.borrow().values() {
            all.push(serde_json::to_string(s).unwrap());
        }
        for l in self.store.lookups.borrow().values() {
            all.push(serde_json::to_string(l).unwrap());
        }
        for r in self.store.records.borrow().values() {
            all.push(serde_json::to_string(r).unwrap());
        }
        all.extend(self.logs.borrow().iter().cloned());
        all.join("\n")
    }

    fn session_json(&self) -> serde_json::Value {
        let sessions = self.store.sessions.borrow();
        serde_json::to_value(sessions.get(REF).expect("live")).unwrap()
    }
}

#[test]
fn a_sensitive_entry_reaches_the_api_and_nothing_at_rest_or_in_the_log() {
    let h = Harness::new(Some(KEY));
    h.post(
        "incoming_call",
        serde_json::json!({"from": "15558675309", "to": "15555551212"}),
    );
    assert!(h.spoke("").contains("Enter your PIN"));
    assert!(h.spoke(&format!("{PIN}#")).contains("One moment."));
    // While the lookup may still need it, the session keeps it sealed.
    let session = h.session_json();
    let sealed = session["sealed"]["pin"].as_str().expect("sealed");
    assert!(sealed.starts_with("s1."), "{sealed}");
    assert_eq!(session["vars"].get("pin"), None);
    assert!(!h.at_rest().contains(PIN), "{}", h.at_rest());
    // The API got it.
    let requests = h.api.requests.borrow().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body.as_deref(), Some(r#"{"pin":"97531864"}"#));
    // The hold ends with the answer; the prompt speaks its last four digits only.
    let said = h.spoke("");
    assert!(
        said.contains("Thank you Sam, PIN ending 1864 verified."),
        "{said}"
    );
    // From the menu on, no step can read it: it is gone, sealed or not.
    assert!(h.spoke("").contains("Press 1"));
    assert_eq!(h.session_json().get("sealed"), None);
    h.post(
        "call_completed",
        serde_json::json!({"status": "hangup", "direction": "inbound"}),
    );
    let at_rest = h.at_rest();
    assert!(!at_rest.contains(PIN), "{at_rest}");
    assert!(!at_rest.contains("1864"), "{at_rest}");
    let records = h.store.records.borrow();
    let record = &records[REF];
    let pin = record.answers.iter().find(|a| a.step == "pin").unwrap();
    assert_eq!(
        (pin.digits.as_str(), pin.result, pin.sensitive),
        ("******64", AnswerResult::Accepted, true)
    );
    assert_eq!(record.vars.get("holder").map(String::as_str), Some("Sam"));
    assert_eq!(record.vars.get("pin"), None);
}

#[test]
fn keys_pressed_ahead_of_a_sensitive_entry_are_masked_where_they_were_pressed() {
    let h = Harness::new(Some(KEY));
    h.post(
        "incoming_call",
        serde_json::json!({"from": "15558675309", "to": "15555551212"}),
    );
    // The caller types the PIN during the welcome: the keys answer the PIN's gather.
    assert!(h.spoke(&format!("{PIN}#")).contains("One moment."));
    assert!(!h.at_rest().contains(PIN), "{}", h.at_rest());
    let session = h.session_json();
    let answers: Vec<(&str, &str)> = session["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["step"].as_str().unwrap(), a["digits"].as_str().unwrap()))
        .collect();
    assert_eq!(answers, [("welcome", "********#"), ("pin", "******64")]);
}

#[test]
fn a_redelivered_key_press_is_still_recognised_though_its_fingerprint_is_keyed() {
    let h = Harness::new(Some(KEY));
    h.post(
        "incoming_call",
        serde_json::json!({"from": "15558675309", "to": "15555551212"}),
    );
    h.spoke("");
    let body = serde_json::json!({"event": "speak_completed", "reference_id": REF,
        "data": {"status": "speak_successful", "collected_digits": format!("{PIN}#")}})
    .to_string();
    let first = h.post_body(&body);
    let again = h.post_body(&body);
    assert_eq!(first, again);
    assert_eq!(h.api.requests.borrow().len(), 1, "one lookup");
    let kept = h.session_json()["last"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(kept, ivr_core::engine::fingerprint(body.as_bytes()));
}

#[test]
fn without_a_seal_key_the_flow_is_misconfigured_and_keeps_nothing() {
    for key in [None, Some("too short to be a key")] {
        let h = Harness::new(key);
        assert_eq!(h.registry.missing_settings(), [("pin", "SESSION_SEAL_KEY")]);
        h.post(
            "incoming_call",
            serde_json::json!({"from": "15558675309", "to": "15555551212"}),
        );
        h.spoke("");
        // The entry is taken, but the flow's code does not run: its apology.
        assert!(h.spoke(&format!("{PIN}#")).contains("Sorry."));
        assert!(h.api.requests.borrow().is_empty());
        assert!(!h.at_rest().contains(PIN), "{}", h.at_rest());
        assert!(h
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains("SESSION_SEAL_KEY")));
    }
}

#[test]
fn erasing_a_call_deletes_its_record_and_a_live_one_is_not_kept_when_it_ends() {
    let h = Harness::new(Some(KEY));
    h.call("AAA1", "15558675309");
    h.call("AAA2", "15558675300");
    assert_eq!(h.store.records.borrow().len(), 2);
    let erasure = Erasure::call("AAA1").unwrap();
    let erased = h.erase(&erasure);
    assert_eq!((erased.records, erased.live), (1, Some(false)));
    assert!(h.store.records.borrow().get("AAA1").is_none());
    // Idempotent: nothing more to delete.
    assert_eq!(h.erase(&erasure).records, 0);

    // A live call, on hold for its lookup: it goes on, and nothing of it is kept at its end.
    h.post(
        "incoming_call",
        serde_json::json!({"from": "15558675309", "to": "15555551212"}),
    );
    h.spoke("");
    h.spoke(&format!("{PIN}#"));
    assert_eq!(h.store.lookups.borrow().len(), 1);
    let erased = h.erase(&Erasure::call(REF).unwrap());
    // Its lookup's outcome is its own until it ends.
    assert_eq!((erased.live, erased.lookups), (Some(true), 0));
    assert!(h.spoke("").contains("verified"), "the call goes on");
    h.post(
        "call_completed",
        serde_json::json!({"status": "hangup", "direction": "inbound"}),
    );
    assert!(h.store.records.borrow().get(REF).is_none());
    assert!(h.store.sessions.borrow().is_empty());
    assert!(h.store.lookups.borrow().is_empty());
    // A later call of the same number is kept: an erasure is not a block.
    h.call("AAA3", "15558675309");
    assert!(h.store.records.borrow().get("AAA3").is_some());
    let log = h.logs.borrow().join("\n");
    assert!(log.contains(r#""note":"erased""#), "{log}");
}

#[test]
fn erasing_a_number_deletes_every_call_from_or_to_it_and_logs_no_number() {
    let h = Harness::new(Some(KEY));
    h.call("BBB1", "15558675309");
    h.call("BBB2", "15558675309");
    h.call("BBB3", "15558675300");
    // Live during the erasure.
    h.post(
        "incoming_call",
        serde_json::json!({"from": "15558675309", "to": "15555551212"}),
    );
    let pairs = [("number".to_owned(), "+15558675309".to_owned())];
    let erasure = Erasure::of_query(&pairs).unwrap();
    assert_eq!(h.erase(&erasure).records, 2);
    h.post(
        "call_completed",
        serde_json::json!({"status": "hangup", "direction": "inbound"}),
    );
    let records = h.store.records.borrow();
    assert_eq!(records.keys().collect::<Vec<_>>(), ["BBB3"]);
    drop(records);
    assert_eq!(h.erase(&erasure).records, 0);
    let erasure_logs: Vec<String> = h
        .logs
        .borrow()
        .iter()
        .filter(|l| l.contains("erased"))
        .cloned()
        .collect();
    assert_eq!(erasure_logs.len(), 2);
    assert!(
        erasure_logs.iter().all(|l| !l.contains("8675309")),
        "{erasure_logs:?}"
    );
}
