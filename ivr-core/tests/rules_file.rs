//! The call simulator plays by `scripts/simulator/telesign-rules.json`, which the protocol
//! module writes (`npm run flows:rules`): a rule changed without refreshing the file fails here.

use std::path::Path;

use ivr_core::telesign::rules::{rules_file, RULES_FILE};

#[test]
fn the_simulators_rules_are_the_protocol_modules() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(RULES_FILE);
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == rules_file(),
        "{RULES_FILE} is out of date with ivr-core/src/telesign/rules.rs: run `npm run flows:rules`"
    );
}

#[test]
fn the_rules_say_what_the_api_reference_says() {
    let doc: serde_json::Value = serde_json::from_str(&rules_file()).unwrap();
    let events = &doc["events"];
    assert_eq!(
        events["incoming_call"]["any"],
        // The fact sheet: `incoming_call` may also be answered with `play_multiple`.
        serde_json::json!(["hangup", "speak", "play", "dial", "play_multiple"])
    );
    assert_eq!(
        events["dial_completed"]["by_value"]["answered"],
        serde_json::json!(["speak", "play", "hangup", "send_dtmf"])
    );
    assert_eq!(
        events["dial_completed"]["by_value"]["failed"],
        serde_json::json!([])
    );
    assert_eq!(
        events["speak_completed"]["otherwise"],
        serde_json::json!(["speak", "play", "hangup"])
    );
    assert_eq!(events["call_completed"]["any"], serde_json::json!([]));
    assert_eq!(
        doc["completions"]["speak"][0]["when_collecting"],
        serde_json::json!(["digit_collection_timeout"])
    );
}
