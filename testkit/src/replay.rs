//! Recorded calls replayed against the flows as they are now (`npm run flows:replay`): each
//! caller's entries, each prompt Telesign could not play and each `fetch` step's outcome, as the
//! call record keeps them, fed to the engine again; the calls whose path would now differ are
//! reported with the step where they part and what the caller would hear instead.
//!
//! What a replay assumes, because a record does not keep it: a `fetch` step's answer is not
//! kept, only its outcome, so a replayed `on_ok` takes the variables the step declares
//! (`.sets([..])`) from the record's final values; a dial's legs are not kept, so a bridged call
//! is replayed as its first number answering and a call no agent answered as none answering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use ivr_core::engine::{
    fingerprint, handle, outbound_session, resume_lookup, resume_replayed, AnswerResult,
    CallOutcome, CallRecord, LookupOutcome, Outcome, Session, Visit, Write,
};
use ivr_core::flow::{Fetch, Flow, Gather, Registry, Step};
use ivr_core::telesign::{decode_event, Direction};

use crate::call::{placeholder, Heard};

/// How a recorded call fares against the flows of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It would take the same steps.
    Same,
    /// It would part from the recorded path.
    Parted(Parting),
    /// The record lacks what a replay needs.
    NotReplayable(String),
}

/// Where a replayed call leaves its recorded path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parting {
    /// The last step both paths share, if any.
    pub after: Option<String>,
    /// Where the recorded call went next (`None`: it ended there).
    pub recorded: Option<String>,
    /// Where the replayed call goes next (`None`: it ends there).
    pub replayed: Option<String>,
    /// What the caller would hear there instead.
    pub hears: Option<String>,
    /// The flow that answers the recorded call's number now, when it is another one.
    pub flow_now: Option<String>,
}

/// One recorded call, replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub reference_id: String,
    pub flow: Option<String>,
    pub verdict: Verdict,
}

/// The call records in `text`: a `GET /calls` page (`{"calls": [...]}`), a JSON array of
/// records, one record, or records one per line (JSON Lines).
pub fn read_records(text: &str) -> Result<Vec<CallRecord>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let records = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut page)) if page.contains_key("calls") => {
            page.remove("calls").unwrap_or(Value::Null)
        }
        Ok(Value::Object(record)) => Value::Array(vec![Value::Object(record)]),
        Ok(array @ Value::Array(_)) => array,
        Ok(other) => return Err(format!("not call records: {other}")),
        Err(_) => {
            let lines: Result<Vec<Value>, _> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect();
            Value::Array(lines.map_err(|e| format!("neither JSON nor JSON Lines: {e}"))?)
        }
    };
    serde_json::from_value(records).map_err(|e| format!("not call records: {e}"))
}

/// Replays every record.
pub fn replay_all(registry: &Registry, records: &[CallRecord]) -> Vec<Replay> {
    let registry = with_placeholders(registry);
    records.iter().map(|r| replay_with(&registry, r)).collect()
}

/// Replays one record.
pub fn replay(registry: &Registry, record: &CallRecord) -> Replay {
    replay_with(&with_placeholders(registry), record)
}

/// The flows with a stand-in for each setting without a value: a replay sends no request.
fn with_placeholders(registry: &Registry) -> Registry {
    registry.clone().with_missing_settings(placeholder)
}

fn replay_with(registry: &Registry, record: &CallRecord) -> Replay {
    let verdict = match replayable(registry, record) {
        Err(why) => Verdict::NotReplayable(why),
        Ok(flow) => Driver::new(registry, flow, record).run(),
    };
    // A number routed to another flow since: the paths part at the start, and the report says
    // which flow answers now.
    let verdict = match verdict {
        Verdict::Parted(mut p) => {
            p.flow_now = now_answering(registry, record)
                .filter(|f| Some(f.name.as_str()) != record.flow.as_deref())
                .map(|f| f.name.clone());
            Verdict::Parted(p)
        }
        other => other,
    };
    Replay {
        reference_id: record.reference_id.clone(),
        flow: record.flow.clone(),
        verdict,
    }
}

/// The report `npm run flows:replay` prints: a line per call that parts or cannot be replayed,
/// then the counts.
pub fn report(replays: &[Replay]) -> String {
    let mut out = String::new();
    let (mut same, mut parted, mut skipped) = (0, 0, 0);
    for r in replays {
        let flow = r.flow.as_deref().unwrap_or("?");
        match &r.verdict {
            Verdict::Same => same += 1,
            Verdict::Parted(p) => {
                parted += 1;
                let after = p
                    .after
                    .as_deref()
                    .map_or("at the start".to_owned(), |s| format!("after `{s}`"));
                let went = p
                    .recorded
                    .as_deref()
                    .map_or("ended".to_owned(), |s| format!("went to `{s}`"));
                let goes = p
                    .replayed
                    .as_deref()
                    .map_or("ends".to_owned(), |s| format!("goes to `{s}`"));
                let _ = writeln!(
                    out,
                    "parts  {} ({flow}): {after} the recorded call {went}; now it {goes}",
                    r.reference_id
                );
                if let Some(flow) = &p.flow_now {
                    let _ = writeln!(
                        out,
                        "       the number is answered by the flow `{flow}` now"
                    );
                }
                if let Some(hears) = &p.hears {
                    let _ = writeln!(out, "       the caller would hear: {hears}");
                }
            }
            Verdict::NotReplayable(why) => {
                skipped += 1;
                let _ = writeln!(
                    out,
                    "skip   {} ({flow}): not replayable: {why}",
                    r.reference_id
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "{} calls replayed: {same} take the same path, {parted} part from it, {skipped} not replayable",
        replays.len()
    );
    out
}

/// The flow that answers the recorded call now: the one its number reaches (inbound), or its
/// own (outbound).
fn now_answering<'r>(registry: &'r Registry, record: &CallRecord) -> Option<&'r Flow> {
    match record.direction {
        Some(Direction::Outbound) => registry.get(record.flow.as_deref()?),
        _ => registry.inbound_for(record.to.as_deref()),
    }
}

/// The record's flow as it is now, when the record holds what a replay needs.
fn replayable<'r>(registry: &'r Registry, record: &CallRecord) -> Result<&'r Flow, String> {
    let name = record
        .flow
        .as_deref()
        .ok_or("the record names no flow (an event of an unknown call)")?;
    let flow = registry
        .get(name)
        .ok_or_else(|| format!("the flow `{name}` is not in the flows any more"))?;
    if now_answering(registry, record).is_none() {
        let to = record.to.as_deref().unwrap_or("?");
        return Err(format!("no flow answers {to} any more"));
    }
    if record.visits.is_empty() {
        return Err(format!(
            "the call never reached a step (outcome {})",
            record.outcome.as_str()
        ));
    }
    if let Some(a) = record.answers.iter().find(|a| {
        !a.digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    }) {
        return Err(format!("the entry at step `{}` is not kept", a.step));
    }
    let fetch_visits: Vec<&str> = record
        .visits
        .steps()
        .into_iter()
        .filter(|s| matches!(flow.get(flow.resolve(s).unwrap_or(s)), Some(Step::Fetch(_))))
        .collect();
    if fetch_visits.len() > record.fetches.len() {
        let step = fetch_visits[record.fetches.len()];
        return Err(format!(
            "the record keeps no outcome of the fetch step `{step}` (its request never ran, or \
             the record was written before records kept outcomes)"
        ));
    }
    Ok(flow)
}

/// What the recorded caller (or Telesign) did next: an entry or a prompt that failed.
enum Input<'a> {
    Entry(&'a ivr_core::engine::Answer),
    Failure(&'a ivr_core::engine::MediaFailure),
}

/// Feeds one record to the engine.
struct Driver<'r> {
    registry: &'r Registry,
    flow: &'r Flow,
    record: &'r CallRecord,
    session: Option<Session>,
    reference_id: String,
    to: String,
    from: String,
    now_ms: u64,
    answers: usize,
    failures: usize,
    fetches: usize,
    /// The worker's last action, and what the caller hears in it.
    action: Option<Value>,
    ended: bool,
}

/// More events than this and the replay stops (a flow that loops on the recorded entries).
const MAX_EVENTS: usize = 500;

impl<'r> Driver<'r> {
    fn new(registry: &'r Registry, flow: &'r Flow, record: &'r CallRecord) -> Self {
        let digits = |n: &Option<String>| -> String {
            n.as_deref()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect()
        };
        Driver {
            registry,
            flow,
            record,
            session: None,
            reference_id: record.reference_id.clone(),
            to: digits(&record.to),
            from: digits(&record.from),
            now_ms: record.started_ms.unwrap_or(record.ended_ms),
            answers: 0,
            failures: 0,
            fetches: 0,
            action: None,
            ended: false,
        }
    }

    fn run(mut self) -> Verdict {
        match self.record.direction {
            Some(Direction::Outbound) => {
                let vars: BTreeMap<String, String> = self
                    .flow
                    .needs
                    .iter()
                    .filter_map(|v| Some((v.clone(), self.record.vars.get(v)?.clone())))
                    .collect();
                let (to, from) = (
                    self.record.to.clone().unwrap_or_default(),
                    self.record.from.clone().unwrap_or_default(),
                );
                let session = outbound_session(
                    self.flow,
                    &self.reference_id,
                    &to,
                    &from,
                    None,
                    vars,
                    self.now_ms,
                );
                self.session = Some(session);
                if let Err(v) = self.post("dial_completed", json!({ "status": "answered" })) {
                    return v;
                }
            }
            _ => {
                if let Err(v) = self.post("incoming_call", json!({})) {
                    return v;
                }
            }
        }
        for _ in 0..MAX_EVENTS {
            if let Some(verdict) = self.compare(false) {
                return verdict;
            }
            let next = match self.next_event() {
                Some(next) => next,
                None => return self.compare(true).unwrap_or(Verdict::Same),
            };
            if let Err(verdict) = self.post(next.0, next.1) {
                return verdict;
            }
        }
        Verdict::NotReplayable(format!(
            "the replay took more than {MAX_EVENTS} events (the flow loops on these entries)"
        ))
    }

    /// A recorded step's name as the flow names it now: the step it moved to, if it did.
    fn now_named<'s>(&'s self, step: &'s str) -> &'s str {
        self.flow.resolve(step).unwrap_or(step)
    }

    fn visited(&self) -> &[Visit] {
        self.session.as_ref().map_or(&[], |s| &s.visits)
    }

    /// Whether the paths part: at a step where they differ, or (at the end, `done`) where one
    /// stops and the other goes on.
    fn compare(&self, done: bool) -> Option<Verdict> {
        let ours: Vec<&str> = self.visited().iter().map(|v| v.step.as_str()).collect();
        // The recorded steps by the names they have now (`.moved(old, new)`).
        let theirs: Vec<&str> = self
            .record
            .visits
            .iter()
            .map(|v| self.now_named(&v.step))
            .collect();
        let shared = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
        let parted = shared < ours.len().min(theirs.len())
            || ours.len() > theirs.len()
            || (done && ours.len() != theirs.len());
        parted.then(|| {
            Verdict::Parted(Parting {
                after: shared.checked_sub(1).map(|i| ours[i].to_owned()),
                recorded: theirs.get(shared).map(|s| (*s).to_owned()),
                replayed: ours.get(shared).map(|s| (*s).to_owned()),
                hears: self
                    .action
                    .as_ref()
                    .and_then(Heard::of)
                    .map(|h| h.describe()),
                flow_now: None,
            })
        })
    }

    /// The next thing the recorded caller did, by time: an entry or a failed prompt.
    fn next_input(&self) -> Option<Input<'r>> {
        let answer = self.record.answers.get(self.answers);
        let failure = self.record.failures.get(self.failures);
        match (answer, failure) {
            (Some(a), Some(f)) if f.at_ms < a.at_ms => Some(Input::Failure(f)),
            (Some(a), _) => Some(Input::Entry(a)),
            (None, Some(f)) => Some(Input::Failure(f)),
            (None, None) => None,
        }
    }

    /// The event Telesign posts next, given the worker's last action and what the record says
    /// the caller did; `None` when the recorded call ends here.
    fn next_event(&mut self) -> Option<(&'static str, Value)> {
        if self.ended {
            return None;
        }
        let action = self.action.clone()?;
        let step = self.session.as_ref()?.step.clone();
        let more_steps = self.record.visits.len() > self.visited().len();
        let heard = Heard::of(&action)?;
        match heard {
            Heard::HungUp => None,
            Heard::Speech { collects, .. } | Heard::Audio { collects, .. } => {
                let event = match heard {
                    Heard::Audio { .. } => "play_completed",
                    _ => "speak_completed",
                };
                let ok = match event {
                    "play_completed" => "playback_successful",
                    _ => "speak_successful",
                };
                let failed = match event {
                    "play_completed" => "playback_failed",
                    _ => "speak_failed",
                };
                match self.next_input() {
                    Some(Input::Failure(f)) if self.now_named(&f.step) == step => {
                        self.failures += 1;
                        Some((event, json!({ "status": failed, "collected_digits": "" })))
                    }
                    Some(Input::Entry(a)) if collects && self.now_named(&a.step) == step => {
                        self.answers += 1;
                        if a.result == AnswerResult::NoInput {
                            self.now_ms += self.timeout_ms(&step);
                            let status = "digit_collection_timeout";
                            return Some((
                                event,
                                json!({ "status": status, "collected_digits": "" }),
                            ));
                        }
                        let digits = match a.sensitive {
                            true => self.stand_in(&step, &a.digits, a.result),
                            false => a.digits.clone(),
                        };
                        let keys = self.entry_keys(&step, &digits);
                        Some((event, json!({ "status": ok, "collected_digits": keys })))
                    }
                    Some(Input::Entry(a))
                        if !collects
                            && self.now_named(&a.step) == step
                            && a.result == AnswerResult::Interrupted =>
                    {
                        self.answers += 1;
                        let digits = match a.sensitive {
                            true => self.stand_in(&step, &a.digits, a.result),
                            false => a.digits.clone(),
                        };
                        Some((event, json!({ "status": ok, "collected_digits": digits })))
                    }
                    // Collecting, and the recorded caller's next entry is elsewhere (or none):
                    // the call hung up here, or went elsewhere (which `compare` tells).
                    _ if collects => None,
                    Some(_) => Some((event, json!({ "status": ok, "collected_digits": "" }))),
                    None if more_steps => {
                        Some((event, json!({ "status": ok, "collected_digits": "" })))
                    }
                    None => None,
                }
            }
            Heard::Ringing { .. } => match self.record.outcome {
                CallOutcome::Bridged => {
                    self.ended = !more_steps;
                    Some((
                        "call_leg_completed",
                        json!({ "hangup_cause": "call_answered" }),
                    ))
                }
                CallOutcome::NoAnswer => Some((
                    "call_leg_completed",
                    json!({ "hangup_cause": "call_not_answered" }),
                )),
                _ => None,
            },
            // Telesign documents no completion of send_dtmf: the next event continues.
            Heard::Tones { .. } => Some((
                "speak_completed",
                json!({ "status": "speak_successful", "collected_digits": "" }),
            )),
        }
    }

    /// The next `fetch` outcome the record keeps, for the step `session` is at: its way, and the
    /// variables the step declares with the record's values. None left: the replayed call runs
    /// a request the recorded one did not, and parts here.
    fn recorded_fetch(&mut self, session: Session) -> Result<(Session, LookupOutcome), Verdict> {
        let Some(recorded) = self.record.fetches.get(self.fetches) else {
            let step = session.step.clone();
            self.session = Some(session);
            return Err(Verdict::Parted(Parting {
                after: self.visited().iter().rev().nth(1).map(|v| v.step.clone()),
                recorded: None,
                replayed: Some(step),
                hears: None,
                flow_now: None,
            }));
        };
        self.fetches += 1;
        let sets: &[String] = match self.flow.get(&session.step) {
            Some(Step::Fetch(Fetch { sets, .. })) => sets,
            _ => &[],
        };
        let vars = sets
            .iter()
            .filter_map(|v| Some((v.clone(), self.record.vars.get(v)?.clone())))
            .collect();
        let lookup = LookupOutcome {
            step: recorded.step.clone(),
            index: u32::try_from(self.fetches - 1).unwrap_or(u32::MAX),
            status: recorded.status,
            ok: recorded.ok,
            vars,
            sealed: Default::default(),
            at_ms: recorded.at_ms,
        };
        Ok((session, lookup))
    }

    /// A stand-in for a sensitive entry, whose record keeps only its mask (`****5674`): digits of
    /// its length, ending in those the mask kept, that the step's check takes as the caller's
    /// entry was taken (accepted, or refused).
    fn stand_in(&self, step: &str, mask: &str, result: AnswerResult) -> String {
        let hidden = mask.chars().take_while(|c| *c == '*').count();
        let kept = &mask[hidden..];
        let check = match self.flow.get(step) {
            Some(Step::Gather(Gather { check, .. })) => *check,
            _ => None,
        };
        let wanted = result != AnswerResult::Refused;
        let limit = 10u64.saturating_pow(u32::try_from(hidden).unwrap_or(0).min(6));
        let candidates = (0..limit).map(|n| format!("{n:0hidden$}{kept}"));
        candidates
            .map(|c| c[c.len() - mask.len()..].to_owned())
            .find(|c| check.is_none_or(|check| check(c) == wanted))
            .unwrap_or_else(|| format!("{}{kept}", "0".repeat(hidden)))
    }

    /// An entry as the caller typed it: its digits, and the step's terminator when it ended
    /// before the maximum.
    fn entry_keys(&self, step: &str, digits: &str) -> String {
        let input = self
            .flow
            .get(step)
            .and_then(Step::input_step)
            .map(|s| s.input);
        match input {
            Some(input)
                if !input.terminators.is_empty()
                    && u32::try_from(digits.len()).unwrap_or(u32::MAX) < input.max_digits =>
            {
                let terminator = input.terminators.chars().next().unwrap_or('#');
                format!("{digits}{terminator}")
            }
            Some(_) | None => digits.to_owned(),
        }
    }

    fn timeout_ms(&self, step: &str) -> u64 {
        let input = self
            .flow
            .get(step)
            .and_then(Step::input_step)
            .map(|s| s.input);
        input.map_or(1_000, |input| u64::from(input.timeout_ms) + 500)
    }

    /// Posts one event to the engine, running the step's `fetch` outcomes from the record.
    fn post(&mut self, name: &str, mut data: Value) -> Result<(), Verdict> {
        if let Value::Object(map) = &mut data {
            map.insert("to".into(), json!(self.to));
            map.insert("from".into(), json!(self.from));
        }
        let body = json!({ "event": name, "reference_id": self.reference_id, "data": data })
            .to_string()
            .into_bytes();
        let event = decode_event(&body)
            .map_err(|e| Verdict::NotReplayable(format!("an event could not be built: {e}")))?;
        let fp = fingerprint(&body);
        // The time: when the recorded call entered its next step, if it did.
        let next_visit = self
            .record
            .visits
            .get(self.visited().len())
            .and_then(|v| v.entered_ms);
        self.now_ms = next_visit
            .unwrap_or(self.now_ms + 1_000)
            .max(self.now_ms + 1);
        let mut outcome = handle(
            self.registry,
            self.session.clone(),
            &event,
            &fp,
            self.now_ms,
        );
        loop {
            match outcome {
                Outcome::Done { reply, write, .. } => {
                    if let Some(reply) = reply {
                        self.action = serde_json::from_str(&reply.json).ok();
                    }
                    match write {
                        Write::Nothing => {}
                        Write::Session(s) => self.session = Some(*s),
                        Write::Record(_) => self.ended = true,
                    }
                    return Ok(());
                }
                Outcome::Fetch { session, taken, .. } => {
                    let (session, lookup) = self.recorded_fetch(*session)?;
                    outcome = resume_replayed(
                        self.registry,
                        session,
                        taken,
                        &event,
                        &fp,
                        &lookup,
                        self.now_ms,
                    );
                }
                Outcome::Lookup { session, taken, .. } => {
                    let (session, lookup) = self.recorded_fetch(*session)?;
                    outcome = resume_lookup(
                        self.registry,
                        session,
                        taken,
                        &event,
                        &fp,
                        Some(&lookup),
                        self.now_ms,
                    );
                }
            }
        }
    }
}
