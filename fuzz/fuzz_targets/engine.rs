//! The engine on arbitrary event sequences against every sample flow: no panic, and every answer
//! allowed by the call-state rules for the event it answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ivr_core::engine::{self, Outcome, Write};
use ivr_core::telesign::{decode_event, may_answer, Method};

const EVENTS: [&str; 7] = [
    r#"{"event":"incoming_call","reference_id":"F","data":{"from":"15558675309","to":"TO"}}"#,
    r#"{"event":"speak_completed","reference_id":"F","data":{"status":"speak_successful","collected_digits":"DIGITS"}}"#,
    r#"{"event":"speak_completed","reference_id":"F","data":{"status":"digit_collection_timeout","collected_digits":""}}"#,
    r#"{"event":"play_completed","reference_id":"F","data":{"status":"playback_successful","collected_digits":"DIGITS"}}"#,
    r#"{"event":"dial_completed","reference_id":"F","data":{"status":"answered"}}"#,
    r#"{"event":"call_leg_completed","reference_id":"F","data":{"hangup_cause":"call_not_answered"}}"#,
    r#"{"event":"call_completed","reference_id":"F","data":{"status":"hangup","direction":"inbound"}}"#,
];
const NUMBERS: [&str; 2] = ["15555551212", "15555550200"];
const KEYS: &[u8] = b"0123456789*#";

fuzz_target!(|data: &[u8]| {
    let registry = flows::registry();
    let mut session = None;
    let mut now = 1_000_000u64;
    for chunk in data.chunks(3) {
        let [kind, a, b] = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let digits: String = (0..a % 10)
            .map(|i| KEYS[usize::from(b.wrapping_add(i)) % KEYS.len()] as char)
            .collect();
        let body = EVENTS[usize::from(kind) % EVENTS.len()]
            .replace("TO", NUMBERS[usize::from(a) % NUMBERS.len()])
            .replace("DIGITS", &digits);
        let event = decode_event(body.as_bytes()).expect("the templates are valid events");
        now += u64::from(b) * 100;
        let mut outcome = engine::handle(
            &registry,
            session.take(),
            &event,
            &engine::fingerprint(body.as_bytes()),
            now,
        );
        let mut fetches = 0;
        while let Outcome::Fetch { session, .. } = outcome {
            fetches += 1;
            outcome = if fetches > 4 {
                engine::give_up(&registry, *session, &event, "f", now)
            } else {
                engine::resume(&registry, *session, &event, "f", Err("fuzz"), now)
            };
        }
        let Outcome::Done { reply, write, .. } = outcome else {
            unreachable!()
        };
        if let Some(reply) = reply {
            let method = Method::ALL
                .iter()
                .find(|m| m.as_str() == reply.method)
                .copied();
            assert!(
                method.is_some_and(|m| may_answer(&event.kind, m)),
                "{} answered {}",
                event.kind.name(),
                reply.method
            );
        }
        session = match write {
            Write::Session(s) => Some(*s),
            Write::Record(_) => None,
            Write::Nothing => session,
        };
    }
});
