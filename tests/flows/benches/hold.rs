//! What a held lookup adds per event on the host (`cargo bench -p test-flows --bench hold`), for
//! bench/RESULTS.md: the `held` test flow's order number reaching its held `fetch` step (answered
//! with the hold, the request handed to the shell to run after the answer), the shell reading the
//! answer with the step's code after the answer, and the end of the hold going on with it. Each
//! event decoded, stepped and its session encoded as the shell does; compare with `engine`'s
//! `busiest_event`, whose lookup runs within the event.

use std::sync::OnceLock;

use divan::{black_box, Bencher};
use ivr_core::engine::{self, Lookup, LookupOutcome, Outcome, Session, Write};
use ivr_core::flow::{FetchResponse, Registry};
use ivr_core::telesign::decode_event;
use serde_json::json;

const REFERENCE_ID: &str = "4C3F5B7E1A2D4E6F8091A2B3C4D5E6F8";
const NOW_MS: u64 = 1_700_000_000_000;

fn main() {
    divan::main();
}

fn body(event: &str, data: serde_json::Value) -> Vec<u8> {
    let mut data = data;
    data["to"] = json!("15555550300");
    data["from"] = json!("15558675309");
    json!({ "event": event, "reference_id": REFERENCE_ID, "data": data })
        .to_string()
        .into_bytes()
}

struct Fixture {
    registry: Registry,
    /// The order number, at the gather.
    entry: Vec<u8>,
    at_gather: String,
    lookup: Lookup,
    /// The end of the first hold prompt.
    hold_end: Vec<u8>,
    on_hold: String,
    outcome: LookupOutcome,
}

/// One step of the engine as the shell takes it: the session read from its text, the event
/// decoded, the reply and the new session's text.
fn step(registry: &Registry, body: &[u8], stored: &str, found: Option<&LookupOutcome>) -> Outcome {
    let session: Session = ivr_core::json::read(stored.as_bytes()).expect("a session");
    let event = decode_event(body).expect("a valid event");
    let fp = engine::fingerprint(body);
    match engine::handle(registry, Some(session), &event, &fp, NOW_MS) {
        Outcome::Lookup { session, taken, .. } => {
            engine::resume_lookup(registry, *session, taken, &event, &fp, found, NOW_MS)
        }
        other => other,
    }
}

fn encoded(outcome: Outcome) -> (String, String, Option<Box<Lookup>>) {
    match outcome {
        Outcome::Done {
            reply: Some(reply),
            write: Write::Session(session),
            lookup,
            ..
        } => (
            reply.json.into_string(),
            serde_json::to_string(&session).expect("sessions encode"),
            lookup,
        ),
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = test_flows::registry().with_settings(test_flows::settings);
        let incoming = body("incoming_call", json!({}));
        let event = decode_event(&incoming).expect("valid");
        let fp = engine::fingerprint(&incoming);
        let (_, at_gather, _) = encoded(engine::handle(&registry, None, &event, &fp, NOW_MS));
        let entry = body(
            "speak_completed",
            json!({ "status": "speak_successful", "collected_digits": "1234#" }),
        );
        let (hold, on_hold, lookup) = encoded(step(&registry, &entry, &at_gather, None));
        assert!(hold.contains("One moment"), "{hold}");
        let lookup = *lookup.expect("a lookup to run after the answer");
        let session: Session = ivr_core::json::read(on_hold.as_bytes()).expect("a session");
        let answer = FetchResponse::new(200, r#"{"status": "shipped"}"#);
        let outcome = engine::read_lookup(&registry, &session, &lookup, Ok(&answer), NOW_MS);
        let hold_end = body(
            "speak_completed",
            json!({ "status": "speak_successful", "collected_digits": "" }),
        );
        Fixture {
            registry,
            entry,
            at_gather,
            lookup,
            hold_end,
            on_hold,
            outcome,
        }
    })
}

#[divan::bench]
fn hold_starts(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| encoded(step(&f.registry, black_box(&f.entry), &f.at_gather, None)));
}

#[divan::bench]
fn answer_read_after_the_answer(bencher: Bencher) {
    let f = fixture();
    let session: Session = ivr_core::json::read(f.on_hold.as_bytes()).expect("a session");
    let answer = FetchResponse::new(200, r#"{"status": "shipped"}"#);
    bencher.bench(|| {
        engine::read_lookup(
            &f.registry,
            &session,
            &f.lookup,
            Ok(black_box(&answer)),
            NOW_MS,
        )
    });
}

#[divan::bench]
fn hold_ends_with_the_answer(bencher: Bencher) {
    let f = fixture();
    let (reply, _, _) = encoded(step(&f.registry, &f.hold_end, &f.on_hold, Some(&f.outcome)));
    assert!(reply.contains("Your order is shipped"), "{reply}");
    bencher.bench(|| {
        encoded(step(
            &f.registry,
            black_box(&f.hold_end),
            &f.on_hold,
            Some(&f.outcome),
        ))
    });
}

#[divan::bench]
fn hold_ends_before_the_answer(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| encoded(step(&f.registry, black_box(&f.hold_end), &f.on_hold, None)));
}
