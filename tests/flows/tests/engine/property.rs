//! Random calls: every sample flow driven by seeded pseudo-random event sequences (digits,
//! silences, failed prompts, leg and dial outcomes, unknown events, redeliveries of the last
//! event and of older ones, a repeated `incoming_call`), asserting on every event: no panic, a
//! reply the call-state rules allow (checked by [`Caller::deliver`]), a redelivery answered as
//! before without a change, a stale event answered with nothing and no change, nothing but
//! `call_completed` moving a hung-up call, one step of the event count per event that moves the
//! call, and a record for every call once `call_completed` arrives. Half the key presses answer
//! the prompt last heard, so that the calls reach every step (checked too). The first seeds of
//! each flow run twice, to show that the same events give the same answers.

use std::collections::BTreeSet;

use serde_json::json;

use crate::caller::{Caller, Heard, AGENT_LINE, BANK_LINE, CALLER, T0};
use ivr_core::engine::{Note, Reply, Session, Wait, MAX_REDELIVERIES};
use ivr_core::flow::{FetchResponse, Registry};
use ivr_core::telesign::{decode_event, expects_reply};

/// Seeds per flow, and events per seed (about 2,700 events in all).
const SEEDS: u64 = 6;
const EVENTS_PER_SEED: usize = 150;

/// xorshift64*: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Any non-zero state will do; spread the small seeds apart.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Copy)]
enum Sample {
    BankMenu,
    AppointmentReminder,
    AgentForwarding,
}

/// Entries that mean something to the sample flows, and some that do not.
const ENTRIES: &[&str] = &[
    "",
    "1",
    "2",
    "9",
    "*",
    "3",
    "12345674#",
    "12345674",
    "4321#",
    "12345678#",
    "12#",
    "#",
    "##",
    "1#2",
    "123456789012#",
    "12*45674#",
];

/// Keys for the prompt last heard: half the time what the prompt asks for (so that random calls
/// get deep into the flows), else anything.
fn digits(rng: &mut Rng, c: &Caller) -> String {
    let heard = c
        .session()
        .and_then(|s| s.last.as_ref()?.reply.as_deref().map(str::to_owned))
        .unwrap_or_default();
    let asked: &[&str] = if heard.contains("account number") {
        &["12345674#", "12345678#"]
    } else if heard.contains("last four digits") {
        &["4321#"]
    } else if heard.contains("press") {
        &["1", "2", "9", "*"]
    } else {
        &[""]
    };
    if rng.below(2) == 0 {
        (*rng.pick(asked)).to_owned()
    } else if rng.below(5) == 0 {
        let len = rng.below(11);
        (0..len).map(|_| *rng.pick(&KEYS)).collect()
    } else {
        (*rng.pick(ENTRIES)).to_owned()
    }
}

const KEYS: [char; 12] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];

fn fetch_answer(rng: &mut Rng) -> Result<FetchResponse, &'static str> {
    let ok = |status: u16, body: &str| Ok(FetchResponse::new(status, body));
    match rng.below(4) {
        0 => ok(200, r#"{"balance": "12.34"}"#),
        1 => ok(500, "upstream down"),
        2 => ok(200, "not json"),
        _ => Err("no answer within 3000 ms"),
    }
}

/// A random event body for `caller`, or a redelivery of one already sent.
fn random_body(rng: &mut Rng, c: &Caller) -> Vec<u8> {
    let media = |rng: &mut Rng, event: &str, statuses: [&str; 3]| {
        let status = *rng.pick(&statuses);
        c.body(
            event,
            json!({"status": status, "collected_digits": digits(rng, c)}),
        )
    };
    match rng.below(100) {
        0..=44 => media(
            rng,
            "speak_completed",
            [
                "speak_successful",
                "speak_successful",
                "digit_collection_timeout",
            ],
        ),
        45..=49 => media(
            rng,
            "speak_completed",
            ["speak_failed", "speak_failed", "digit_collection_timeout"],
        ),
        50..=53 => media(
            rng,
            "play_completed",
            [
                "playback_successful",
                "digit_collection_timeout",
                "playback_failed",
            ],
        ),
        54..=59 => {
            let cause = *rng.pick(&[
                "call_answered",
                "call_not_answered",
                "line_busy",
                "call_cancelled",
                "call_blocked_by_telesign",
                "something_new",
            ]);
            c.body("call_leg_completed", json!({ "hangup_cause": cause }))
        }
        60..=63 => {
            let status = *rng.pick(&["answered", "call_answered", "failed", "busy"]);
            c.body("dial_completed", json!({ "status": status }))
        }
        64..=66 => c.body("play_multiple_completed", json!({"n": rng.below(3)})),
        67 if rng.below(2) == 0 => c.body("call_completed", c.call_completed_data()),
        67 => c.body("hangup", json!({"status": "hangup"})),
        68..=70 => c.body(
            "incoming_call",
            json!({"from": rng.pick(&[CALLER, "15558675309"])}),
        ),
        71..=88 => match c.bodies.last() {
            Some(last) => last.clone(),
            None => c.body("incoming_call", json!({})),
        },
        _ => match c.bodies.len() {
            0 => c.body("incoming_call", json!({})),
            n => c.bodies[rng.below(n)].clone(),
        },
    }
}

/// What the random calls of one seed produced.
#[derive(Default)]
struct Run {
    /// Every answer and record, debug-printed, for the determinism check.
    transcript: Vec<String>,
    notes: BTreeSet<String>,
    /// The steps the call records list.
    visited: BTreeSet<String>,
    events: usize,
}

/// Calls of one sample flow, one after the other, driven by one seed. A call ends at random,
/// sooner once it is hung up, always with `call_completed`.
fn random_calls(registry: &Registry, sample: Sample, seed: u64) -> Run {
    let mut rng = Rng::new(seed);
    let mut run = Run::default();
    while run.events < EVENTS_PER_SEED {
        let reference = format!("ref-{sample:?}-{seed}-{}", run.events);
        let mut c = match sample {
            Sample::BankMenu => Caller::with_parties(registry, &reference, BANK_LINE, CALLER),
            Sample::AgentForwarding => {
                Caller::with_parties(registry, &reference, AGENT_LINE, CALLER)
            }
            Sample::AppointmentReminder => Caller::placed(
                registry,
                "reminder",
                &[("name", "Alex"), ("when", "Monday")],
            ),
        };
        // Each call starts at a random hour of the week, so opening hours are open or closed.
        let hour = u64::try_from(rng.below(7 * 24)).unwrap_or(0);
        c.at(T0 + hour * 3_600_000);
        // The last event that moved the call, the reply it got, and how often it came again.
        let mut moved: Option<(Vec<u8>, Option<Reply>, u32)> = None;
        let mut body = match sample {
            Sample::AppointmentReminder => c.body("dial_completed", json!({"status": "answered"})),
            _ => c.body("incoming_call", json!({})),
        };
        loop {
            if c.fetch_answers_left() == 0 {
                c.answer_fetch(fetch_answer(&mut rng));
            }
            let heard = deliver_checked(&mut c, &body, &mut moved);
            run.events += 1;
            run.notes.insert(format!("{:?}", heard.note));
            run.transcript.push(format!("{heard:?}"));
            if heard.note == Note::Finished {
                run.visited.extend(
                    c.record
                        .iter()
                        .flat_map(|r| r.visits.iter().map(|v| v.step.clone())),
                );
            }
            let over = c.session().is_none_or(|s| s.wait == Wait::Hangup);
            if run.events >= EVENTS_PER_SEED || rng.below(if over { 4 } else { 60 }) == 0 {
                break;
            }
            body = random_body(&mut rng, &c);
        }
        let record = c.call_completed();
        run.visited
            .extend(record.visits.iter().map(|v| v.step.clone()));
        run.transcript.push(format!("{record:?}"));
    }
    run
}

/// Delivers `body` and checks what the engine promises for it.
fn deliver_checked(
    c: &mut Caller,
    body: &[u8],
    moved: &mut Option<(Vec<u8>, Option<Reply>, u32)>,
) -> Heard {
    let kind = decode_event(body)
        .unwrap_or_else(|e| panic!("test body: {e}"))
        .kind;
    let before = c.session();
    let redelivery = match (&before, &*moved) {
        (Some(_), Some((last, reply, repeats)))
            if last == body && !c.could_follow_now(body) && *repeats < MAX_REDELIVERIES =>
        {
            Some(reply)
        }
        _ => None,
    };
    let expect_redelivery = redelivery.cloned();
    let heard = c.deliver(body);
    let at = before.as_ref().map(|s| (s.step.clone(), s.wait));
    let context = || format!("{} at {at:?}: {heard:?}", String::from_utf8_lossy(body));

    if let Some(reply) = expect_redelivery {
        assert_eq!(heard.note, Note::Duplicate, "{}", context());
        assert_eq!(heard.reply, reply, "{}", context());
    }
    if matches!(heard.note, Note::Duplicate | Note::Stale) {
        // Nothing changes but the count of the body's repeats.
        assert!(!heard.changed, "{}", context());
        assert_eq!(
            unrepeated(c.session()),
            unrepeated(before.clone()),
            "{}",
            context()
        );
    }
    if heard.note == Note::Stale {
        assert!(heard.reply.is_none(), "{}", context());
    }
    if let Some(s) = &before {
        // The caller hears our prompts: every event that may be answered is answered.
        let hearing = matches!(s.wait, Wait::Speak | Wait::Play | Wait::Notice);
        if hearing && expects_reply(&kind) {
            assert!(heard.reply.is_some(), "left in silence: {}", context());
        }
        if s.wait == Wait::Hangup && kind.call_ended().is_none() {
            assert!(!heard.changed, "a hung-up call moved: {}", context());
            if heard.note != Note::Duplicate {
                assert!(heard.reply.is_none(), "{}", context());
            }
        }
        if let Some(after) = c.session().filter(|_| heard.changed) {
            assert_eq!(after.events, s.events + 1, "{}", context());
        }
    }
    if heard.note == Note::Finished {
        assert!(c.record.is_some() && c.session().is_none(), "{}", context());
    }
    match c.session() {
        Some(_) if heard.changed => *moved = Some((body.to_vec(), heard.reply.clone(), 0)),
        Some(_) if heard.note == Note::Duplicate => {
            if let Some((_, _, repeats)) = moved.as_mut() {
                *repeats += 1;
            }
        }
        Some(_) => {}
        None => *moved = None,
    }
    heard
}

/// A session with its last body's repeats not counted: all a redelivery may change.
fn unrepeated(session: Option<Session>) -> Option<Session> {
    session.map(|mut s| {
        if let Some(seen) = s.last.as_mut() {
            seen.repeats = 0;
        }
        s
    })
}

const SAMPLES: [(Sample, &str); 3] = [
    (Sample::BankMenu, "bank"),
    (Sample::AppointmentReminder, "reminder"),
    (Sample::AgentForwarding, "forwarding"),
];

#[test]
fn random_calls_keep_every_promise() {
    let r = test_flows::registry().with_settings(test_flows::settings);
    let mut notes = BTreeSet::new();
    for (sample, flow) in SAMPLES {
        let mut visited = BTreeSet::new();
        for seed in 0..SEEDS {
            let run = random_calls(&r, sample, seed);
            if seed < 2 {
                assert_eq!(
                    run.transcript,
                    random_calls(&r, sample, seed).transcript,
                    "{sample:?} seed {seed}: the same events gave other answers"
                );
            }
            notes.extend(run.notes);
            visited.extend(run.visited);
        }
        // The random calls are worth something only if they go everywhere (but to the error
        // step: the samples have no flow error for a caller to find).
        let flow_def = r.get(flow);
        let on_error = flow_def.and_then(|f| f.on_error.as_deref());
        let missed: Vec<&str> = flow_def
            .map(|f| f.steps.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|s| !visited.contains(*s) && Some(*s) != on_error)
            .collect();
        assert!(
            missed.is_empty(),
            "{flow}: no random call reached {missed:?}"
        );
    }
    for note in [
        "Started",
        "Advanced",
        "Finished",
        "Duplicate",
        "Stale",
        "Ambiguous",
        "UnknownCall",
        "Ignored",
    ] {
        assert!(notes.contains(note), "no {note} among {notes:?}");
    }
}
