//! The Telesign wire contract against every JSON example in Telesign's pages.
//!
//! Each example is kept verbatim in `tests/fixtures/telesign/<page>_<what>.json` and has exactly
//! one expectation in [`expectations`]: a fixture without one, or an expectation without a
//! fixture, fails the test, so an example cannot be added and forgotten.
#![allow(clippy::disallowed_methods)] // a test reads JSON however is handiest

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ivr_core::telesign::{
    decode_event, expects_reply, interpret_dial_response, may_answer, verify, Action,
    CallCompleted, CallStatus, CollectDigits, DecodeError, Dial, DialAccepted, DialCompleted,
    DialError, DialStatus, Direction, Event, EventKind, MediaCompleted, MediaStatus, Method,
    Parties, PhoneNumber, Play, SendDtmf, Speak,
};
use serde_json::Value;

const FIXTURES: &str = "../tests/fixtures/telesign";

/// What a fixture must do.
enum Expect {
    /// Decode with [`decode_event`] and pass the check.
    Event(fn(Result<Event, DecodeError>)),
    /// Be refused by [`decode_event`] as `invalid_json` because of a trailing comma, and pass
    /// the check once that comma is removed (so the rest of the example is still covered).
    EventWithTrailingComma(fn(Result<Event, DecodeError>)),
    /// Be the page's form of the action built by `build`, whose exact text is `json`
    /// (see [`page_shape`] for how a page example is compared).
    Action {
        build: fn() -> Action,
        json: &'static str,
        trailing_comma: bool,
    },
    /// Be read by [`interpret_dial_response`] with this HTTP status, passing the check.
    DialAnswer {
        http_status: u16,
        check: fn(Result<DialAccepted, DialError>),
    },
}

fn expectations() -> Vec<(&'static str, Expect)> {
    vec![
        // api-reference.txt
        (
            "api-reference_incoming_call_trailing_comma.json",
            Expect::EventWithTrailingComma(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "534e1848-235f-482d-983d-e3e11a04f58a");
                assert_eq!(event.external_id, None);
                assert_eq!(
                    event.kind,
                    EventKind::IncomingCall(parties("+15555551212", "+15558675309"))
                );
            }),
        ),
        (
            "api-reference_dial_completed.json",
            Expect::Event(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "DF596D7B0D1800164898350B4E71B05C");
                assert_eq!(
                    event.kind,
                    EventKind::DialCompleted(DialCompleted {
                        parties: parties("15558675309", "15555551212"),
                        status: DialStatus::Answered,
                    })
                );
            }),
        ),
        (
            "api-reference_play_completed.json",
            Expect::Event(|event| assert_play_completed_923(event.unwrap())),
        ),
        (
            "api-reference_speak_completed.json",
            Expect::Event(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "B596D7B0D1800164898350B4E71B005C");
                assert_eq!(
                    event.kind,
                    EventKind::SpeakCompleted(MediaCompleted {
                        parties: parties("15558675309", "15555551212"),
                        status: MediaStatus::Completed,
                        collected_digits: "923".into(),
                    })
                );
            }),
        ),
        (
            "api-reference_call_completed.json",
            Expect::Event(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "B596D7B0D1800164898350B4E71B005C");
                assert_eq!(event.external_id, None);
                assert_eq!(
                    event.kind,
                    EventKind::CallCompleted(CallCompleted {
                        parties: parties("15558675309", "15555551212"),
                        direction: Some(Direction::Inbound),
                        status: CallStatus::Hangup,
                        created_on_utc: Some("2018-08-07T20:33:38.003718".into()),
                        answered_on_utc: Some("2018-08-07T20:33:40.003718".into()),
                        ended_on_utc: Some("2018-08-07T20:33:44.003718".into()),
                        duration: Some(4),
                        audio_recording_file_name: Some(
                            "dfb2c74f-68b5-4039-9bbc-e8e32ae937c9.wav".into()
                        ),
                    })
                );
            }),
        ),
        (
            "api-reference_dial_action_in_array.json",
            Expect::Action {
                build: || Dial::new("+15555551212", "+15554441313").unwrap().into(),
                json: r#"{"jsonrpc":"2.0","method":"dial","params":{"to":"15555551212","caller_id_number":"15554441313"}}"#,
                trailing_comma: false,
            },
        ),
        (
            "api-reference_play_action.json",
            Expect::Action {
                build: || {
                    Play::new("https://url-pointing-to-audio-file.com")
                        .unwrap()
                        .into()
                },
                json: r#"{"jsonrpc":"2.0","method":"play","params":{"url":"https://url-pointing-to-audio-file.com"}}"#,
                trailing_comma: false,
            },
        ),
        (
            "api-reference_play_action_collect_digits_trailing_comma.json",
            Expect::Action {
                build: || {
                    Play::new("https://url-pointing-to-audio-file.com")
                        .unwrap()
                        .collect(CollectDigits::new(5).unwrap())
                        .into()
                },
                json: r#"{"jsonrpc":"2.0","method":"play","params":{"url":"https://url-pointing-to-audio-file.com","collect_digits":{"max":5}}}"#,
                trailing_comma: true,
            },
        ),
        // get-started.txt: the whole round trip of an outbound call.
        (
            "get-started_dial_request.json",
            Expect::Action {
                build: || {
                    Dial::new("15555551212", "15554441313")
                        .unwrap()
                        .external_id("4142b474-d65d-4265-a5fa-a581b1fe6101")
                        .unwrap()
                        .into()
                },
                json: r#"{"jsonrpc":"2.0","method":"dial","params":{"to":"15555551212","caller_id_number":"15554441313","external_id":"4142b474-d65d-4265-a5fa-a581b1fe6101"}}"#,
                trailing_comma: false,
            },
        ),
        (
            "get-started_dial_accepted_response.json",
            Expect::DialAnswer {
                http_status: 202,
                check: |answer| {
                    assert_eq!(
                        answer,
                        Ok(DialAccepted {
                            reference_id: "DF596D7B0D1800164898350B4E71B05C".into(),
                            external_id: Some("4142b474-d65d-4265-a5fa-a581b1fe6101".into()),
                        })
                    );
                },
            },
        ),
        (
            "get-started_dial_completed.json",
            Expect::Event(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "DF596D7B0D1800164898350B4E71B05C");
                assert_eq!(
                    event.external_id.as_deref(),
                    Some("4142b474-d65d-4265-a5fa-a581b1fe6101")
                );
                assert_eq!(
                    event.kind,
                    EventKind::DialCompleted(DialCompleted {
                        parties: parties("15555551212", "15554441313"),
                        status: DialStatus::Answered,
                    })
                );
            }),
        ),
        (
            "get-started_hangup_action.json",
            Expect::Action {
                build: || Action::Hangup,
                json: r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#,
                trailing_comma: false,
            },
        ),
        (
            "get-started_call_completed.json",
            Expect::Event(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "DF596D7B0D1800164898350B4E71B05C");
                assert_eq!(
                    event.external_id.as_deref(),
                    Some("4142b474-d65d-4265-a5fa-a581b1fe6101")
                );
                assert_eq!(
                    event.kind,
                    EventKind::CallCompleted(CallCompleted {
                        parties: parties("15555551212", "15554441313"),
                        direction: Some(Direction::Inbound),
                        status: CallStatus::Hangup,
                        created_on_utc: Some("2018-08-07T20:33:38.003718".into()),
                        answered_on_utc: Some("2018-08-07T20:33:40.003718".into()),
                        ended_on_utc: Some("2018-08-07T20:33:44.003718".into()),
                        duration: Some(1),
                        audio_recording_file_name: None,
                    })
                );
            }),
        ),
        // ivr-guide.txt
        (
            // A Phone Numbers API body, not a Voice event: refused either way.
            "ivr-guide_phone_number_lease_not_voice_trailing_comma.json",
            Expect::EventWithTrailingComma(|event| {
                assert_eq!(event.unwrap_err().code(), "missing_field");
            }),
        ),
        (
            "ivr-guide_incoming_call_trailing_comma.json",
            Expect::EventWithTrailingComma(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "534e1848-235f-482d-983d-e3e11a04f58a");
                assert_eq!(
                    event.kind,
                    EventKind::IncomingCall(parties("15555551212", "15558675309"))
                );
            }),
        ),
        (
            "ivr-guide_play_action_collect_digits.json",
            Expect::Action {
                build: || {
                    let digits = CollectDigits::new(5)
                        .and_then(|c| c.timeout_ms(10_000))
                        .and_then(|c| c.inter_digit_timeout_ms(3_000))
                        .unwrap();
                    Play::new("https://url-pointing-to-audio-file.com")
                        .unwrap()
                        .collect(digits)
                        .into()
                },
                json: r#"{"jsonrpc":"2.0","method":"play","params":{"url":"https://url-pointing-to-audio-file.com","collect_digits":{"max":5,"timeout":10000,"inter_digit_timeout":3000}}}"#,
                trailing_comma: false,
            },
        ),
        (
            "ivr-guide_play_completed.json",
            Expect::Event(|event| assert_play_completed_923(event.unwrap())),
        ),
        // play-and-collect-digits.txt (the later revision lost the example's braces).
        (
            "play-and-collect-digits_play_action_collect_digits.json",
            Expect::Action {
                build: || {
                    let digits = CollectDigits::new(5)
                        .and_then(|c| c.timeout_ms(10_000))
                        .and_then(|c| c.inter_digit_timeout_ms(3_000))
                        .and_then(|c| c.terminators("*"))
                        .unwrap();
                    Play::new("https://url-pointing-to-audio-file.com")
                        .unwrap()
                        .collect(digits)
                        .into()
                },
                json: r#"{"jsonrpc":"2.0","method":"play","params":{"url":"https://url-pointing-to-audio-file.com","collect_digits":{"max":5,"timeout":10000,"inter_digit_timeout":3000,"terminators":"*"}}}"#,
                trailing_comma: false,
            },
        ),
        // README.md, the second signature test vector (byte-exact, no final newline).
        (
            "readme_signature_vector_incoming_call.json",
            Expect::Event(|event| {
                let event = event.unwrap();
                assert_eq!(event.reference_id, "534E1848235F482D983DE3E11A04F58A");
                assert_eq!(
                    event.kind,
                    EventKind::IncomingCall(parties("15555551212", "15558675309"))
                );
            }),
        ),
    ]
}

#[test]
fn every_fixture_has_an_expectation_and_meets_it() {
    let listed = expectations();
    let count = listed.len();
    let mut expectations: BTreeMap<&str, Expect> = listed.into_iter().collect();
    assert_eq!(expectations.len(), count, "a fixture is listed twice");

    let mut files: Vec<_> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures found");
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let expect = expectations
            .remove(name.as_str())
            .unwrap_or_else(|| panic!("fixture {name} has no expectation in tests/protocol.rs"));
        eprintln!("checking {name}");
        check(&name, &fs::read(&path).unwrap(), expect);
    }
    let orphans: Vec<_> = expectations.keys().collect();
    assert!(
        orphans.is_empty(),
        "expectations without a fixture: {orphans:?}"
    );
}

fn check(name: &str, bytes: &[u8], expect: Expect) {
    match expect {
        Expect::Event(check) => check(decode_event(bytes)),
        Expect::EventWithTrailingComma(check) => {
            assert!(
                name.contains("trailing_comma"),
                "{name}: name should say so"
            );
            assert_eq!(decode_event(bytes).unwrap_err().code(), "invalid_json");
            check(decode_event(remove_trailing_commas(bytes).as_bytes()));
        }
        Expect::Action {
            build,
            json,
            trailing_comma,
        } => {
            let page: Value = if trailing_comma {
                assert!(
                    name.contains("trailing_comma"),
                    "{name}: name should say so"
                );
                assert!(serde_json::from_slice::<Value>(bytes).is_err());
                serde_json::from_str(&remove_trailing_commas(bytes)).unwrap()
            } else {
                serde_json::from_slice(bytes).unwrap()
            };
            let ours = build().to_json();
            assert_eq!(ours, json, "{name}: exact text");
            assert_eq!(
                serde_json::from_str::<Value>(&ours).unwrap(),
                page_shape(page),
                "{name}: shape"
            );
        }
        Expect::DialAnswer { http_status, check } => {
            check(interpret_dial_response(http_status, None, bytes))
        }
    }
}

/// A page's action example, brought to the form we send. The pages are inconsistent; we are
/// exact in what we send:
/// - the API reference wraps `dial` in a one-element list; we send the bare object;
/// - only one page writes `"jsonrpc": "2.0"`; we always do (JSON-RPC 2.0);
/// - the hangup example has no `params`; the base action structure requires it, so `{}`;
/// - the API reference writes `+` before dial numbers; we send bare digits like the other
///   pages, Telesign's OpenAPI example and its own events.
fn page_shape(page: Value) -> Value {
    let mut action = match page {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    };
    let object = action.as_object_mut().unwrap();
    object
        .entry("jsonrpc")
        .or_insert_with(|| Value::from("2.0"));
    let params = object
        .entry("params")
        .or_insert_with(|| Value::Object(Default::default()));
    for key in ["to", "caller_id_number"] {
        if let Some(Value::String(number)) = params.get_mut(key) {
            *number = number.trim_start_matches('+').to_owned();
        }
    }
    action
}

/// Drops each `,` that only whitespace separates from a closing `}` or `]`. Good enough for
/// the fixtures, none of which has such a sequence inside a string.
fn remove_trailing_commas(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut out = String::with_capacity(text.len());
    for (index, c) in text.char_indices() {
        let dangling = c == ',' && {
            let rest = text[index + 1..].trim_start();
            rest.starts_with('}') || rest.starts_with(']')
        };
        if !dangling {
            out.push(c);
        }
    }
    out
}

fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES)
}

fn parties(to: &str, from: &str) -> Parties {
    Parties {
        to: Some(PhoneNumber::parse(to).unwrap()),
        from: Some(PhoneNumber::parse(from).unwrap()),
    }
}

fn assert_play_completed_923(event: Event) {
    assert_eq!(event.reference_id, "Q772E290BG4C01648984EAD7EA1D0021");
    assert_eq!(
        event.kind,
        EventKind::PlayCompleted(MediaCompleted {
            parties: parties("15558675309", "15555551212"),
            status: MediaStatus::Completed,
            collected_digits: "923".into(),
        })
    );
}

#[test]
fn trailing_comma_helper_only_drops_dangling_commas() {
    assert_eq!(
        remove_trailing_commas(b"{\"a\": [1, 2,], \"b\": {\"c\": 3,\n }}"),
        "{\"a\": [1, 2], \"b\": {\"c\": 3\n }}"
    );
}

/// The README's signature vector holds for the fixture's bytes, so the fixture is verbatim.
#[test]
fn readme_vector_fixture_is_signed_by_telesign() {
    let body = fs::read(fixtures_dir().join("readme_signature_vector_incoming_call.json")).unwrap();
    let signature = "TSWNgQblQhkMknySdt0VO61j4zKo8HC5HZzVRJBuVlc=";
    let key = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";
    let customer = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";
    assert_eq!(
        verify(
            Some(&format!("TSA {customer}:{signature}")),
            None,
            &body,
            customer,
            key
        ),
        Ok(())
    );
    assert_eq!(verify(None, Some(signature), &body, customer, key), Ok(()));
}

/// get-started.txt's round trip: dial_completed (answered) is answered with hangup, and
/// call_completed expects nothing.
#[test]
fn get_started_round_trip_follows_the_rules() {
    let read = |name: &str| decode_event(&fs::read(fixtures_dir().join(name)).unwrap()).unwrap();
    let answered = read("get-started_dial_completed.json");
    assert!(may_answer(&answered.kind, Method::Hangup));
    assert!(!may_answer(&answered.kind, Method::Dial));
    let completed = read("get-started_call_completed.json");
    assert!(!expects_reply(&completed.kind));
    for &method in Method::ALL {
        assert!(!may_answer(&completed.kind, method));
    }
}

/// Actions the pages describe but show no complete example of.
#[test]
fn golden_actions_without_page_examples() {
    let speak = Speak::new("This message is in English.", "en-us").unwrap();
    assert_eq!(
        Action::from(speak).to_json(),
        r#"{"jsonrpc":"2.0","method":"speak","params":{"tts":{"message":"This message is in English.","language":"en-US"}}}"#
    );
    let speak = Speak::new("Press 1 for sales.", "EN-GB").unwrap().collect(
        CollectDigits::new(1)
            .and_then(|c| c.timeout_ms(10_000))
            .and_then(|c| c.terminators("#"))
            .unwrap(),
    );
    assert_eq!(
        Action::from(speak).to_json(),
        r##"{"jsonrpc":"2.0","method":"speak","params":{"tts":{"message":"Press 1 for sales.","language":"en-GB"},"collect_digits":{"max":1,"timeout":10000,"terminators":"#"}}}"##
    );
    assert_eq!(
        Action::from(SendDtmf::new("6458").unwrap()).to_json(),
        r#"{"jsonrpc":"2.0","method":"send_dtmf","params":{"digits":"6458"}}"#
    );
    // The OpenAPI document's dial example, every parameter set.
    let dial = Dial::new("15555551212", "15554441313")
        .unwrap()
        .record_call(true)
        .external_id("4142b474-d65d-4265-a5fa-a581b1fe6101")
        .and_then(|d| d.max_call_duration(3_600))
        .and_then(|d| d.send_dtmf("6458"))
        .unwrap()
        .is_primary(true);
    assert_eq!(
        Action::from(dial).to_json(),
        r#"{"jsonrpc":"2.0","method":"dial","params":{"to":"15555551212","caller_id_number":"15554441313","record_call":true,"external_id":"4142b474-d65d-4265-a5fa-a581b1fe6101","max_call_duration":3600,"send_dtmf":"6458","is_primary":true}}"#
    );
}
