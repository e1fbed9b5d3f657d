//! Which action may answer which event.
//!
//! Telesign refuses an action sent in the wrong call state with `unsupported_call_state`, and
//! by then the caller is left in silence; everything that replies to an event asks here first.
//!
//! | event | allowed replies |
//! | --- | --- |
//! | `incoming_call` | `hangup`, `speak`, `play`, `dial`, `play_multiple` |
//! | `dial_completed`, answered | `speak`, `play`, `hangup`, `send_dtmf` |
//! | `dial_completed`, failed or unknown status | none: the call never connected |
//! | `play_completed`, `speak_completed` | `speak`, `play`, `hangup` |
//! | `call_leg_completed` | `dial` (the next number), `speak`, `play`, `hangup` |
//! | `call_completed`, `hangup` | none: the call is over (Telesign ignores the reply) |
//! | unknown event | none: we cannot know the call state |
//!
//! `play_completed` and `speak_completed` allow the same replies whatever their status: a
//! failed playback or a digit timeout leaves the call up. An unknown `dial_completed` status is
//! treated as not connected, since any reply might be refused.

use super::action::{self, Method};
use super::event::{DialStatus, EventKind, EventName};
use super::language::Language;

/// The methods that may answer `event`, in no particular order; empty when no reply is
/// expected.
pub fn allowed_methods(event: &EventKind) -> &'static [Method] {
    match event {
        EventKind::IncomingCall(_) => &[
            Method::Hangup,
            Method::Speak,
            Method::Play,
            Method::Dial,
            Method::PlayMultiple,
        ],
        EventKind::DialCompleted(dial) if dial.status == DialStatus::Answered => &[
            Method::Speak,
            Method::Play,
            Method::Hangup,
            Method::SendDtmf,
        ],
        EventKind::PlayCompleted(_) | EventKind::SpeakCompleted(_) => {
            &[Method::Speak, Method::Play, Method::Hangup]
        }
        EventKind::CallLegCompleted(_) => {
            &[Method::Dial, Method::Speak, Method::Play, Method::Hangup]
        }
        EventKind::DialCompleted(_)
        | EventKind::CallCompleted(_)
        | EventKind::Hangup(_)
        | EventKind::Unknown { .. } => &[],
    }
}

/// An event Telesign posts when an action is done, with the statuses it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The event name, e.g. `speak_completed`.
    pub event: &'static str,
    /// The data field holding the outcome: `status`, or `hangup_cause` for legs.
    pub field: &'static str,
    /// Every value the pages list for that field.
    pub values: &'static [&'static str],
    /// Of those, the ones that only come when the action collected digits.
    pub when_collecting: &'static [&'static str],
    /// Of those, the ones that say the action failed (a prompt not played, a call not answered).
    pub failures: &'static [&'static str],
}

impl Completion {
    /// The value that says the action went as asked: the first that is neither a failure nor
    /// a collection's.
    pub fn success(&self) -> Option<&'static str> {
        self.values
            .iter()
            .copied()
            .find(|v| !self.failures.contains(v) && !self.when_collecting.contains(v))
    }
}

/// What Telesign posts after each action, as its pages list it: `speak` ends in
/// `speak_completed` and `play` in `play_completed` (a digit timeout only when digits are
/// collected); a `dial` is answered or fails (`dial_completed`) and each bridged leg ends with
/// `call_leg_completed`; `hangup` ends the call (`call_completed`, or `hangup` as the Base
/// Event table names it). No completion is documented for `send_dtmf` or `play_multiple`.
pub fn completions(method: Method) -> &'static [Completion] {
    const SPEAK: Completion = Completion {
        event: "speak_completed",
        field: "status",
        values: &[
            "speak_successful",
            "speak_failed",
            "digit_collection_timeout",
        ],
        when_collecting: &["digit_collection_timeout"],
        failures: &["speak_failed"],
    };
    const PLAY: Completion = Completion {
        event: "play_completed",
        field: "status",
        values: &[
            "playback_successful",
            "playback_failed",
            "digit_collection_timeout",
        ],
        when_collecting: &["digit_collection_timeout"],
        failures: &["playback_failed"],
    };
    const DIAL: Completion = Completion {
        event: "dial_completed",
        field: "status",
        // `call_answered` as well: the API reference's play and speak sections name both.
        values: &["answered", "call_answered", "failed"],
        when_collecting: &[],
        failures: &["failed"],
    };
    const LEG: Completion = Completion {
        event: "call_leg_completed",
        field: "hangup_cause",
        values: &[
            "call_answered",
            "call_cancelled",
            "call_not_answered",
            "line_busy",
            "call_blocked_by_customer_request",
            "call_blocked_by_telesign",
        ],
        when_collecting: &[],
        failures: &[
            "call_cancelled",
            "call_not_answered",
            "line_busy",
            "call_blocked_by_customer_request",
            "call_blocked_by_telesign",
        ],
    };
    const ENDED: Completion = Completion {
        event: "call_completed",
        field: "status",
        values: &["hangup"],
        when_collecting: &[],
        failures: &[],
    };
    const HANGUP: Completion = Completion {
        event: "hangup",
        field: "status",
        values: &["hangup"],
        when_collecting: &[],
        failures: &[],
    };
    match method {
        Method::Speak => &[SPEAK],
        Method::Play => &[PLAY],
        Method::Dial => &[DIAL, LEG],
        Method::Hangup => &[ENDED, HANGUP],
        Method::SendDtmf | Method::PlayMultiple => &[],
    }
}

/// The rules above as JSON, for the call simulator (`scripts/simulator/telesign-rules.json`,
/// written by `npm run flows:rules`): for every event name, the methods that may answer it (by
/// the value of its outcome field where that matters), and for every method, what Telesign
/// posts once it is done, and the limits a well-formed action keeps to. Generated from
/// [`allowed_methods`], [`completions`] and the action checks, so the simulator plays by the same
/// rules without a copy of them.
pub fn rules_document() -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let names = |methods: &[Method]| -> Vec<&str> { methods.iter().map(|m| m.as_str()).collect() };
    let allowed = |body: Value| -> Vec<&'static str> {
        let event = super::decode_event(body.to_string().as_bytes());
        event.map_or_else(|_| Vec::new(), |e| names(allowed_methods(&e.kind)))
    };
    let mut events = Map::new();
    for name in ["incoming_call", "call_completed", "hangup"] {
        let methods = allowed(json!({"event": name, "reference_id": "r"}));
        events.insert(name.to_owned(), json!({ "any": methods }));
    }
    for completion in Method::ALL.iter().flat_map(|m| completions(*m)) {
        if events.contains_key(completion.event) {
            continue;
        }
        let of = |value: &str| {
            allowed(json!({"event": completion.event, "reference_id": "r",
                "data": { completion.field: value }}))
        };
        let by_value: Map<String, Value> = completion
            .values
            .iter()
            .map(|v| ((*v).to_owned(), json!(of(v))))
            .collect();
        let entry = json!({
            "field": completion.field,
            "by_value": by_value,
            "otherwise": of("a_value_telesign_has_not_documented"),
        });
        events.insert(completion.event.to_owned(), entry);
    }
    let completions: Map<String, Value> = Method::ALL
        .iter()
        .map(|m| {
            let list: Vec<Value> = completions(*m)
                .iter()
                .map(|c| {
                    json!({"event": c.event, "field": c.field, "values": c.values,
                        "when_collecting": c.when_collecting, "failures": c.failures,
                        "success": c.success()})
                })
                .collect();
            (m.as_str().to_owned(), Value::Array(list))
        })
        .collect();
    // For each last action, the events that may go unanswered ([`silence_expected`]).
    let silence: Map<String, Value> = Method::ALL
        .iter()
        .map(|m| {
            let quiet: Vec<&str> = events
                .keys()
                .map(String::as_str)
                .filter(|name| silence_expected(*m, &EventName::from(*name)))
                .collect();
            (m.as_str().to_owned(), json!(quiet))
        })
        .collect();
    json!({
        "events": events,
        "completions": completions,
        "silence_after": silence,
        "params": params(),
    })
}

/// What a well-formed action carries, as the worker's own checks ([`super::action`]) have it:
/// the simulator refuses an action these refuse.
fn params() -> serde_json::Value {
    use serde_json::json;
    let range = |r: &std::ops::RangeInclusive<u32>| json!([r.start(), r.end()]);
    let languages: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
    json!({
        "collect_digits": {
            "max": range(&action::MAX_DIGITS_RANGE),
            "timeout": range(&action::TIMEOUT_MS_RANGE),
            "inter_digit_timeout": range(&action::INTER_DIGIT_TIMEOUT_MS_RANGE),
            "terminator_keys": action::TERMINATOR_KEYS,
        },
        "speak": {"max_message_chars": action::MAX_MESSAGE_CHARS, "languages": languages},
        "play": {"max_url_len": action::MAX_URL_LEN},
        "dial": {
            "max_call_duration": range(&action::MAX_CALL_DURATION_SECS_RANGE),
            "max_external_id_len": action::MAX_EXTERNAL_ID_LEN,
        },
        "dtmf": {"keys": action::DTMF_CHARS, "max_len": action::MAX_DTMF_LEN},
    })
}

/// [`rules_document`] as the text of a file, with a note (`generated_from`) on where it comes
/// from and what writes it.
pub fn rules_file(generated_from: &str) -> String {
    let mut doc = rules_document();
    if let Some(fields) = doc.as_object_mut() {
        fields.insert("generated_from".to_owned(), generated_from.into());
    }
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text + "\n"
}

/// Whether Telesign accepts `method` as the reply to `event`.
pub fn may_answer(event: &EventKind, method: Method) -> bool {
    allowed_methods(event).contains(&method)
}

/// Whether a caller still on the line may get no action in reply to `event` when `after` was the
/// last action Telesign got (docs/call-behaviour.md): any event after a `hangup` we sent, and a
/// `dial_completed` while a dial rings or bridges (the caller hears the ringing, or talks to the
/// agent). Anywhere else, no action leaves the caller in silence.
pub fn silence_expected(after: Method, event: &EventName) -> bool {
    match after {
        Method::Hangup => true,
        Method::Dial => *event == EventName::DialCompleted,
        Method::Play | Method::Speak | Method::SendDtmf | Method::PlayMultiple => false,
    }
}

/// Whether `event` is waiting for an action; when not, reply with an empty 200.
pub fn expects_reply(event: &EventKind) -> bool {
    !allowed_methods(event).is_empty()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::telesign::event::{
        CallCompleted, CallLegCompleted, CallStatus, DialCompleted, Direction, HangupCause,
        MediaCompleted, MediaStatus, Parties,
    };

    #[test]
    fn only_a_hangup_or_a_ringing_dial_may_be_followed_by_no_action() {
        let names = [
            "incoming_call",
            "speak_completed",
            "dial_completed",
            "call_completed",
        ];
        for name in names.map(EventName::from) {
            assert!(silence_expected(Method::Hangup, &name), "{name:?}");
            let after_dial = name == EventName::DialCompleted;
            assert_eq!(
                silence_expected(Method::Dial, &name),
                after_dial,
                "{name:?}"
            );
            assert!(!silence_expected(Method::Speak, &name), "{name:?}");
            assert!(!silence_expected(Method::Play, &name), "{name:?}");
        }
    }

    #[test]
    fn each_completion_says_which_of_its_values_succeed_and_which_fail_as_the_events_read_them() {
        for &method in Method::ALL {
            for c in completions(method) {
                assert!(
                    c.failures.iter().all(|f| c.values.contains(f)),
                    "{}",
                    c.event
                );
                let success = c.success().unwrap_or_else(|| panic!("{}", c.event));
                match c.event {
                    "speak_completed" | "play_completed" => {
                        assert_eq!(MediaStatus::from(success), MediaStatus::Completed);
                        for &failure in c.failures {
                            assert_eq!(MediaStatus::from(failure), MediaStatus::Failed);
                        }
                    }
                    "dial_completed" => {
                        assert_eq!(DialStatus::from(success), DialStatus::Answered);
                        assert_eq!(c.failures, [DialStatus::Failed.as_str()]);
                    }
                    _ => {}
                }
            }
        }
    }

    fn dial_completed(status: DialStatus) -> EventKind {
        EventKind::DialCompleted(DialCompleted {
            parties: Parties::default(),
            status,
        })
    }

    fn media(status: MediaStatus) -> MediaCompleted {
        MediaCompleted {
            parties: Parties::default(),
            status,
            collected_digits: String::new(),
        }
    }

    /// The whole matrix, written out as the allowed set per event so that any change to
    /// the table above shows up here.
    #[test]
    fn matrix() {
        use Method::*;
        let cases: Vec<(EventKind, &[Method])> = vec![
            (
                EventKind::IncomingCall(Parties::default()),
                &[Hangup, Speak, Play, Dial, PlayMultiple],
            ),
            (
                dial_completed(DialStatus::Answered),
                &[Speak, Play, Hangup, SendDtmf],
            ),
            (dial_completed(DialStatus::Failed), &[]),
            (dial_completed(DialStatus::Unknown("busy".into())), &[]),
            (dial_completed(DialStatus::Unknown(String::new())), &[]),
            (
                EventKind::PlayCompleted(media(MediaStatus::Completed)),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::PlayCompleted(media(MediaStatus::Failed)),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::SpeakCompleted(media(MediaStatus::DigitCollectionTimeout)),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::SpeakCompleted(media(MediaStatus::Unknown("x".into()))),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::CallLegCompleted(CallLegCompleted {
                    parties: Parties::default(),
                    caller_id: None,
                    hangup_cause: HangupCause::LineBusy,
                }),
                &[Dial, Speak, Play, Hangup],
            ),
            (
                EventKind::CallCompleted(CallCompleted {
                    parties: Parties::default(),
                    direction: Some(Direction::Inbound),
                    status: CallStatus::Hangup,
                    created_on_utc: None,
                    answered_on_utc: None,
                    ended_on_utc: None,
                    duration: None,
                    audio_recording_file_name: None,
                }),
                &[],
            ),
            (
                EventKind::Unknown {
                    name: "play_multiple_completed".into(),
                    data: Value::Null,
                },
                &[],
            ),
        ];
        for (event, allowed) in cases {
            for &method in Method::ALL {
                assert_eq!(
                    may_answer(&event, method),
                    allowed.contains(&method),
                    "{} ({event:?}) answered by {}",
                    event.name(),
                    method.as_str()
                );
            }
            assert_eq!(expects_reply(&event), !allowed.is_empty(), "{event:?}");
        }
    }
}
