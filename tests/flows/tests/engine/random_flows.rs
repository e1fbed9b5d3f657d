//! No call can loop: random flows (not the test flows), built from every kind of prompt, including
//! prompts of several parts and the same text in steps that follow each other (so that the ends of
//! consecutive prompts are byte-identical events), driven by random callers whose every event
//! Telesign may deliver up to six times in a row. In flows whose steps only lead forward, every call
//! ends (the worker hangs up) within a bound, whatever the caller does; in any checker-valid flow,
//! every answer obeys the call-state rules and the call's end leaves a record and no session.

use serde_json::{json, Value};

use crate::caller::{Caller, Heard, BANK_LINE};
use ivr_core::engine::{Note, Wait, MAX_REDELIVERIES};
use ivr_core::flow::validate::validate;
use ivr_core::flow::*;

/// xorshift64*, as in `property`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
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
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Texts shared between steps on purpose: the same words ending two prompts in a row.
const TEXTS: &[&str] = &[
    "Hello.",
    "Hello.",
    "Press 1 or 2.",
    "Para español, oprima 2.",
];

fn prompt(rng: &mut Rng) -> Prompt {
    let text = |rng: &mut Rng| -> Prompt {
        match rng.below(4) {
            0 => speak_in("es-US", TEXTS[rng.below(TEXTS.len())]),
            1 => audio("https://cdn.example.com/a.wav").or_say(TEXTS[rng.below(TEXTS.len())]),
            _ => TEXTS[rng.below(TEXTS.len())].into(),
        }
    };
    match rng.below(3) {
        0 => Prompt::Parts((0..2 + rng.below(2)).map(|_| text(rng)).collect()),
        _ => text(rng),
    }
}

/// A random flow of `n` steps `s0..`; `forward`: each step leads only to later ones (or hangs
/// up), else anywhere.
fn random_flow(rng: &mut Rng, n: usize, forward: bool) -> Flow {
    let mut flow = Flow::inbound("random");
    let name = |i: usize| format!("s{i}");
    for i in 0..n {
        let target = |rng: &mut Rng| -> Option<String> {
            let from = if forward { i + 1 } else { 0 };
            (from < n && !rng.chance(20)).then(|| name(from + rng.below(n - from)))
        };
        let step: Step = match rng.below(5) {
            0 | 1 => match target(rng) {
                Some(t) => say(prompt(rng)).then(&t).into(),
                None => say(prompt(rng)).into(),
            },
            2 | 3 => {
                let mut m = menu(prompt(rng)).retries(u32::try_from(rng.below(3)).unwrap_or(0));
                for key in ["1", "2"] {
                    if let Some(t) = target(rng) {
                        m = m.option(key, &t);
                    }
                }
                if rng.chance(50) {
                    m = m.repeat("9");
                }
                if let Some(t) = target(rng) {
                    m = m.fallback(&t);
                }
                m.into()
            }
            _ => {
                let mut g = gather(prompt(rng), "v")
                    .digits(1, 3)
                    .retries(u32::try_from(rng.below(3)).unwrap_or(0));
                if let Some(t) = target(rng) {
                    g = g.then(&t);
                }
                if let Some(t) = target(rng) {
                    g = g.fallback(&t);
                }
                g.into()
            }
        };
        flow = flow.step(&name(i), step);
    }
    flow
}

/// Valid random flows: the checker's errors (an unreachable step, a menu without options) are
/// skipped, as they would never be deployed.
fn valid_flows(seed: u64, wanted: usize, forward: bool) -> Vec<Flow> {
    let mut rng = Rng::new(seed);
    let mut flows = Vec::new();
    for _ in 0..wanted * 40 {
        if flows.len() == wanted {
            break;
        }
        let n = 2 + rng.below(6);
        let flow = random_flow(&mut rng, n, forward);
        if validate(&flow).iter().all(|p| p.rule.is_warning()) {
            flows.push(flow);
        }
    }
    assert!(flows.len() >= wanted / 2, "too few valid random flows");
    flows
}

/// What a random caller does at the prompt `action` (the worker's last reply): a silent one
/// presses nothing; Telesign sometimes cannot play the prompt.
fn next_event(rng: &mut Rng, c: &Caller, action: &Value, silent: bool) -> Vec<u8> {
    let play = action["method"] == "play";
    let (event, ok, failed) = match play {
        true => ("play_completed", "playback_successful", "playback_failed"),
        false => ("speak_completed", "speak_successful", "speak_failed"),
    };
    let collects = action["params"]["collect_digits"].is_object();
    let (status, keys) = match (silent, collects, rng.below(10)) {
        (_, _, 0) => (failed, ""),
        (true, true, _) | (false, true, 1 | 2) => ("digit_collection_timeout", ""),
        (true, false, _) | (false, false, 1..=6) => (ok, ""),
        (false, false, _) => (ok, "2"),
        (false, true, _) => (ok, ["1", "2", "9", "7", "12#", "3#", "#"][rng.below(7)]),
    };
    c.body(event, json!({ "status": status, "collected_digits": keys }))
}

/// One call of `registry`'s flow: each event delivered one to six times in a row; returns how
/// many events it took until the worker hung up, or `None` if it had not after `limit`.
fn call(registry: &Registry, seed: u64, silent: bool, limit: usize) -> Option<usize> {
    let mut rng = Rng::new(seed);
    let mut c = Caller::dialing(registry, BANK_LINE);
    let mut body = c.body("incoming_call", json!({}));
    let mut sent = 0;
    // The answer of the last event that moved the call: what a redelivery gets again.
    let mut moved: Option<Heard> = None;
    let mut heard: Option<Heard> = None;
    while sent < limit {
        // Telesign may deliver a body again; past MAX_REDELIVERIES the worker takes it as new.
        let times = match rng.below(10) {
            0 => 2 + MAX_REDELIVERIES as usize,
            1..=3 => 2,
            _ => 1,
        };
        for _ in 0..times {
            let got = c.deliver(&body);
            sent += 1;
            if got.note == Note::Duplicate {
                let before = moved.as_ref().and_then(|m| m.reply.clone());
                assert_eq!(got.reply, before, "a redelivery got another answer");
            }
            if got.changed {
                moved = Some(got.clone());
            }
            heard = Some(got);
            if c.session().is_none_or(|s| s.wait == Wait::Hangup) {
                break;
            }
        }
        let heard = heard
            .clone()
            .unwrap_or_else(|| unreachable!("delivered at least once"));
        if c.session().is_none_or(|s| s.wait == Wait::Hangup) {
            let record = c.call_completed();
            assert!(!record.visits.is_empty());
            return Some(sent);
        }
        let Some(reply) = heard.reply.as_ref() else {
            panic!("the caller is left in silence: {heard:?}");
        };
        let action: Value = serde_json::from_str(&reply.json).unwrap_or(Value::Null);
        body = next_event(&mut rng, &c, &action, silent);
        c.wait_ms(1_000 + u64::try_from(rng.below(9_000)).unwrap_or(0));
    }
    let record = c.call_completed();
    assert!(!record.visits.is_empty());
    None
}

#[test]
fn in_flows_that_only_lead_forward_every_call_ends_whatever_the_caller_does() {
    for (i, flow) in valid_flows(7, 60, true).into_iter().enumerate() {
        let steps = flow.steps.len();
        let registry = Registry::new().flow(flow).default_inbound("random");
        // Each step: up to 3 parts, 3 tries of its prompt and a spoken fallback after a failure,
        // each event delivered up to 6 times.
        let bound = steps * 3 * 4 * 6 + 12;
        for seed in 0..6 {
            let silent = seed % 2 == 0;
            let ended = call(&registry, seed * 1_000 + i as u64, silent, bound);
            assert!(
                ended.is_some(),
                "flow {i} ({steps} steps, seed {seed}, silent {silent}) did not end within {bound} events:\n{:#?}",
                registry.flows()[0].steps
            );
        }
    }
}

#[test]
fn in_any_valid_flow_every_answer_obeys_the_rules_and_the_end_leaves_a_record() {
    for (i, flow) in valid_flows(11, 60, false).into_iter().enumerate() {
        let registry = Registry::new().flow(flow).default_inbound("random");
        for seed in 0..4 {
            // `Caller::deliver` checks each answer against the call-state rules; `call` checks
            // redeliveries, silence and the record.
            call(&registry, seed * 1_000 + i as u64, false, 120);
        }
    }
}
