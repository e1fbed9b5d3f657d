//! Property tests of everything that reads untrusted input: the event decoder on arbitrary bytes
//! and on mutations of Telesign's own examples, and the signature check on arbitrary headers.
//! Bounded (a fixed number of cases each) so they run in the normal test suite.

use std::fs;

use ivr_core::telesign::{authorization_header, decode_event, verify};
use proptest::prelude::*;

/// The documented decode error codes (README, "Protocol").
const DECODE_CODES: [&str; 4] = [
    "invalid_json",
    "invalid_event",
    "missing_field",
    "invalid_field",
];
const SIGNATURE_CODES: [&str; 5] = [
    "missing_signature",
    "malformed_signature",
    "customer_id_mismatch",
    "bad_signature",
    "invalid_api_key",
];
const KEY: &str = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";
const CUSTOMER: &str = "00000000-0000-4000-8000-000000000000";

fn fixtures() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/telesign"
    ))
    .expect("fixtures folder")
    .map(|e| fs::read(e.expect("entry").path()).expect("fixture"))
    .collect();
    bodies.sort();
    bodies
}

/// A real example with a few bytes flipped, inserted or removed.
fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
    let bodies = fixtures();
    (
        0..bodies.len(),
        prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
    )
        .prop_map(move |(i, edits)| {
            let mut body = bodies[i].clone();
            for (at, byte, op) in edits {
                let at = at % (body.len() + 1);
                match op {
                    0 if at < body.len() => body[at] = byte,
                    1 => body.insert(at, byte),
                    _ if at < body.len() => {
                        body.remove(at);
                    }
                    _ => body.push(byte),
                }
            }
            body
        })
}

fn check_decode(body: &[u8]) -> Result<(), TestCaseError> {
    match decode_event(body) {
        Ok(event) => {
            prop_assert!(!event.reference_id.is_empty());
            prop_assert!(!event.kind.name().is_empty());
        }
        Err(e) => prop_assert!(
            DECODE_CODES.contains(&e.code()),
            "undocumented code {}",
            e.code()
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_decode(&body)?;
    }

    #[test]
    fn decoder_never_panics_on_mutated_examples(body in mutated_fixture()) {
        check_decode(&body)?;
    }

    #[test]
    fn decoder_handles_arbitrary_json_shapes(
        event in prop::option::of("[a-z_]{0,20}"),
        reference in prop::option::of(".{0,40}"),
        to in prop::option::of("[+0-9a-z ]{0,20}"),
        digits in prop::option::of("[0-9*#]{0,10}"),
        duration in prop::option::of(any::<i64>()),
    ) {
        let body = serde_json::json!({
            "event": event, "reference_id": reference,
            "data": {"to": to, "from": to, "collected_digits": digits, "duration": duration,
                     "status": "speak_successful", "hangup_cause": "line_busy"}
        });
        check_decode(body.to_string().as_bytes())?;
    }

    #[test]
    fn signature_check_never_panics_and_never_accepts_garbage(
        authorization in prop::option::of(".{0,120}"),
        bare in prop::option::of(".{0,60}"),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Err(e) = verify(authorization.as_deref(), bare.as_deref(), &body, CUSTOMER, KEY) {
            prop_assert!(SIGNATURE_CODES.contains(&e.code()), "undocumented code {}", e.code());
        } else {
            // Only a correct signature may pass; random strings essentially never are one.
            let good = authorization_header(CUSTOMER, KEY, &body).expect("signing");
            prop_assert!(authorization.as_deref().map(str::trim) == Some(good.as_str())
                || bare.is_some());
        }
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_to_it_does_not(
        body in prop::collection::vec(any::<u8>(), 1..256),
        flip in any::<usize>(),
    ) {
        let header = authorization_header(CUSTOMER, KEY, &body).expect("signing");
        prop_assert!(verify(Some(&header), None, &body, CUSTOMER, KEY).is_ok());
        let mut changed = body.clone();
        let at = flip % changed.len();
        changed[at] ^= 0x01;
        prop_assert!(verify(Some(&header), None, &changed, CUSTOMER, KEY).is_err());
    }
}
