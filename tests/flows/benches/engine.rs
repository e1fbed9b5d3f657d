//! Per-event cost of the pure engine on the host (`cargo bench --bench engine`), for bench/RESULTS.md.
//!
//! The event measured is the busiest one of the `bank` phone tree: the caller's account
//! number arriving at the `account_number` gather. It runs the gather with its Luhn check, the
//! `balance_lookup` fetch step (the engine hands the request to the shell and is resumed with the
//! bank's answer) and the `balance` speak with its template. The
//! session it meets is the one a real call has by then, built by walking the call from
//! `incoming_call` through the engine, and it is read and written as JSON text, as the store does.
//!
//! `busiest_event` is the figure the issue asks for (decode + step + encode); the other benches
//! split it up to show where the time goes, and `signature_check` is the HMAC the shell adds.

use std::sync::OnceLock;

use divan::{black_box, Bencher};
use ivr_core::engine::{self, Outcome, Session, Write};
use ivr_core::flow::{FetchResponse, Registry};
use serde_json::json;

use ivr_core::telesign::{decode_event, signature};

const CUSTOMER_ID: &str = "00000000-0000-4000-8000-000000000000";
const API_KEY: &str = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";
const REFERENCE_ID: &str = "4C3F5B7E1A2D4E6F8091A2B3C4D5E6F7";
const NOW_MS: u64 = 1_700_000_000_000;
const BALANCE: &str = r#"{"balance":"1234.56"}"#;

fn main() {
    divan::main();
}

/// Everything the benches share, prepared once.
struct Fixture {
    registry: Registry,
    /// The raw body of the busiest event.
    body: Vec<u8>,
    /// The session as the store holds it when that event arrives.
    stored: String,
    authorization: String,
    signature: String,
    /// The API key as the worker's configuration keeps it: decoded and keyed once.
    key: signature::SigningKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = test_flows::registry().with_settings(test_flows::settings);
        let mut stored: Option<String> = None;
        let walk = [
            event_body("incoming_call", json!({})),
            speak_completed(""),
            speak_completed("1"),
        ];
        for (i, body) in walk.iter().enumerate() {
            let session = stored.as_deref().map(parse_session);
            let event = decode_event(body).expect("the walk's events are valid");
            let fingerprint = engine::fingerprint(body);
            match engine::handle(&registry, session, &event, &fingerprint, NOW_MS + i as u64) {
                Outcome::Done {
                    write: Write::Session(session),
                    ..
                } => stored = Some(serde_json::to_string(&session).expect("sessions encode")),
                other => panic!("the walk went astray at event {i}: {other:?}"),
            }
        }
        let body = speak_completed("12345674#");
        let signature = signature::sign(API_KEY, &body).expect("the key is base64");
        Fixture {
            registry,
            key: signature::SigningKey::new(API_KEY).expect("the key is base64"),
            authorization: format!("TSA {CUSTOMER_ID}:{signature}"),
            signature,
            body,
            stored: stored.expect("the walk stored a session"),
        }
    })
}

fn event_body(event: &str, mut data: serde_json::Value) -> Vec<u8> {
    data["from"] = json!("+15558675309");
    data["to"] = json!("+15555550100");
    serde_json::to_vec(&json!({ "event": event, "reference_id": REFERENCE_ID, "data": data }))
        .expect("JSON values encode")
}

fn speak_completed(digits: &str) -> Vec<u8> {
    event_body(
        "speak_completed",
        json!({ "status": "speak_successful", "collected_digits": digits }),
    )
}

/// As the worker reads a stored session.
fn parse_session(text: &str) -> Session {
    ivr_core::json::read(text.as_bytes()).expect("stored sessions decode")
}

/// Decode, step (with the fetch step resumed by the bank's answer) and encode: what the worker
/// computes for the event between reading the session from KV and writing it back.
fn busiest(f: &Fixture, body: &[u8], stored: &str) -> (String, String) {
    let event = decode_event(body).expect("the event is valid");
    let session = parse_session(stored);
    let fingerprint = engine::fingerprint(body);
    let mut outcome = engine::handle(&f.registry, Some(session), &event, &fingerprint, NOW_MS);
    let response = FetchResponse::new(200, BALANCE.to_owned());
    loop {
        match outcome {
            Outcome::Fetch { session, taken, .. } => {
                outcome = engine::resume(
                    &f.registry,
                    *session,
                    taken,
                    &event,
                    &fingerprint,
                    Ok(&response),
                    NOW_MS,
                );
            }
            Outcome::Done {
                reply: Some(reply),
                write: Write::Session(session),
                ..
            } => {
                let text = serde_json::to_string(&session).expect("sessions encode");
                return (reply.json.into_string(), text);
            }
            other => panic!("the busiest event ended unexpectedly: {other:?}"),
        }
    }
}

#[divan::bench]
fn busiest_event(bencher: Bencher) {
    let f = fixture();
    let (reply, _) = busiest(f, &f.body, &f.stored);
    assert!(
        reply.contains("is 1234.56 dollars"),
        "unexpected reply {reply}"
    );
    bencher.bench(|| busiest(f, black_box(&f.body), black_box(&f.stored)));
}

/// The shell's signature check of the busiest event's body, with the configuration's key.
fn check_signature(f: &Fixture) -> Result<(), signature::SignatureError> {
    signature::verify_keyed(
        Some(&f.authorization),
        Some(&f.signature),
        black_box(&f.body),
        CUSTOMER_ID,
        &f.key,
    )
}

#[divan::bench]
fn busiest_event_with_signature_check(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| {
        check_signature(f).expect("the signature is valid");
        busiest(f, black_box(&f.body), black_box(&f.stored))
    });
}

#[divan::bench]
fn signature_check(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| check_signature(f));
}

#[divan::bench]
fn decode_event_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| decode_event(black_box(&f.body)));
}

#[divan::bench]
fn session_decode_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| parse_session(black_box(&f.stored)));
}

#[divan::bench]
fn session_encode_only(bencher: Bencher) {
    let session = parse_session(&fixture().stored);
    bencher.bench(|| serde_json::to_string(black_box(&session)));
}

#[divan::bench]
fn fingerprint_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench(|| engine::fingerprint(black_box(&f.body)));
}
