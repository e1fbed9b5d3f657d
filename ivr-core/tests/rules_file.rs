//! What the rules given to the call simulator say, against Telesign's pages. (That the file
//! checked in is what the protocol module writes is `test-flows rules --check`, tested in
//! tests/flows/tests/rules_file.rs.)

use ivr_core::telesign::rules::rules_document;

#[test]
fn the_rules_say_what_the_api_reference_says() {
    let doc = rules_document();
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
