//! The flow engine: given a flow, the call's session and one Telesign event, it decides the next
//! action and the new session. Sans-IO in the manner of quinn-proto: no KV, no fetch, no clock (the
//! time comes in as `now_ms`); the shell in `webhook` does the I/O it asks for.
//!
//! Guarantees, each tested on the host:
//! - it never answers an event with an action the call-state rules ([`telesign::may_answer`])
//!   forbid: a flow that tries gets a `hangup` instead (or no action), and the call record's outcome
//!   says `flow_error`. One deliberate reading: Telesign documents no completion event for
//!   `send_dtmf`, so whatever event comes next (an unknown one included) is answered as a media
//!   completion would be;
//! - a redelivery of the last event (same body, and not something the call could be waiting for,
//!   see [`expects`]) gets the same answer and changes nothing;
//! - an event that does not fit where the call is (a completion of an action we did not send, a
//!   leg event while no leg rings, anything but `call_completed` after we hung up) is stale: it is
//!   answered with no action (HTTP 204) and changes nothing.
//!
//! Telesign's events carry no id, so the same key pressed again at the next menu and a redelivery
//! of the previous key press are the same bytes: the engine takes them for a new press (the
//! common case). See [`expects`].

pub mod session;

use crate::flow::{template, Registry};
use crate::flow::{
    Ctx, Direction, FetchRequest, FetchResponse, Flow, Input, Next, Prompt, Retries, Step,
};
use crate::telesign::{
    may_answer, Action, CollectDigits, Dial, DialStatus, Event, EventKind, HangupCause,
    MediaCompleted, MediaStatus, Method, Parties, Play, SendDtmf, Speak,
};
pub use session::{Answer, AnswerResult, CallOutcome, CallRecord, RawJson, Seen, Session, Wait};

/// How many steps without an action of their own (`decide`, `fetch`) one event may pass through;
/// more means the flow loops.
pub const MAX_HOPS: usize = 32;

/// What the engine asks the shell to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answer now and persist.
    Done {
        /// The JSON-RPC action to answer with (HTTP 200), or none (HTTP 204).
        reply: Option<Reply>,
        write: Write,
        note: Note,
    },
    /// Run this HTTP request for a `fetch` step, then call [`resume`] with its result.
    Fetch {
        session: Box<Session>,
        request: FetchRequest,
    },
}

/// An action to answer with, already encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub method: String,
    pub json: RawJson,
}

/// What to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Nothing changes.
    Nothing,
    /// Store the session.
    Session(Box<Session>),
    /// The call is over: store the record, then delete the session.
    Record(Box<CallRecord>),
}

/// Why the engine answered as it did, for the logs and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// A new call started its flow.
    Started,
    /// The call moved on.
    Advanced,
    /// The call is over and its record is ready.
    Finished,
    /// A redelivery of the last event: answered as before.
    Duplicate,
    /// An event that does not fit where the call is: no action, nothing changed.
    Stale,
    /// An event for a call with no session: hung up (or nothing, where no action is allowed).
    UnknownCall,
    /// An inbound call no flow answers: hung up.
    NoFlow,
    /// An event that needs no answer (an unknown event type, a bridged leg answering).
    Ignored,
}

/// A short stable hash of a raw event body, to recognise redeliveries (FNV-1a, 64 bits). Not a
/// security measure (bodies are authenticated by their signature before they get here), just a
/// cheap, stable name for "these exact bytes" that survives deploys.
pub fn fingerprint(body: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = body
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME));
    crate::hex::hex(&hash.to_be_bytes())
}

/// Handles one event for a call. `session` is what the store holds for the call, if anything.
pub fn handle(
    registry: &Registry,
    session: Option<Session>,
    event: &Event,
    fingerprint: &str,
    now_ms: u64,
) -> Outcome {
    let Some(session) = session else {
        return without_session(registry, event, fingerprint, now_ms);
    };
    if let EventKind::CallCompleted(_) = &event.kind {
        return finish(Some(session), event, now_ms);
    }
    let last = session.last.as_ref();
    // A call whose flow is gone is ended below, whatever the event.
    let expected = registry
        .get(&session.flow)
        .is_none_or(|flow| expects(flow, &session, &event.kind));
    if !expected && last.is_some_and(|seen| seen.fingerprint == fingerprint) {
        return done(last.and_then(replay), Write::Nothing, Note::Duplicate);
    }
    if !expected
        && matches!(
            event.kind,
            EventKind::SpeakCompleted(_) | EventKind::PlayCompleted(_)
        )
    {
        // A completion that cannot answer the prompt we sent (a late redelivery of an older
        // one): acting on it would skip or repeat a prompt.
        return stale();
    }
    if let EventKind::IncomingCall(_) = &event.kind {
        // incoming_call again with another body: the same call announced twice. Answer what
        // the first one got while nothing else has happened since; later, it is stale.
        return match last {
            Some(seen) if session.events == 1 && seen.event == "incoming_call" => {
                done(replay(seen), Write::Nothing, Note::Duplicate)
            }
            _ => stale(),
        };
    }
    let mut turn = match Turn::start(registry, session, event, fingerprint, now_ms) {
        Ok(turn) => turn,
        Err(ended) => return ended,
    };
    match turn.advance() {
        Some(result) => turn.conclude(result, fingerprint, Note::Advanced),
        None if turn.session.wait == Wait::Answer
            && matches!(event.kind, EventKind::DialCompleted(_)) =>
        {
            // dial_completed failed for an outbound call: it never connected.
            finish(Some(turn.session), event, now_ms)
        }
        None if matches!(event.kind, EventKind::DialCompleted(_))
            && turn.session.wait == Wait::Bridge =>
        {
            // A bridged leg answered or failed: nothing to say, but remember it was seen.
            turn.conclude(Ok(None), fingerprint, Note::Ignored)
        }
        None if matches!(event.kind, EventKind::Unknown { .. }) => {
            done(None, Write::Nothing, Note::Ignored)
        }
        None => stale(),
    }
}

/// Whether `kind` can be the answer to what the call waits for. Telesign's events carry no id of
/// their own, and consecutive events of a call often have identical bodies (the same key pressed
/// at two menus in a row, two silent prompts), so a body equal to the last one is only taken for a
/// redelivery when it could not be the next event: an `incoming_call` again, a `speak_completed`
/// while a `play` is awaited, a "successful, no digits" completion while digits are being
/// collected (Telesign reports `digit_collection_timeout` then), a completion with digits while
/// none are being collected (an entry answered by a `say`, redelivered because a slow `fetch`
/// step kept Telesign waiting, is not the end of that `say`), anything but `call_completed` after
/// a hangup.
fn expects(flow: &Flow, session: &Session, kind: &EventKind) -> bool {
    let collecting =
        session.wait != Wait::Notice && flow.get(&session.step).is_some_and(Step::is_input);
    let plausible = |m: &MediaCompleted| {
        if collecting {
            !(m.status == MediaStatus::Completed && m.collected_digits.is_empty())
        } else {
            m.collected_digits.is_empty()
        }
    };
    match (session.wait, kind) {
        (Wait::Answer, EventKind::DialCompleted(_)) => true,
        (Wait::Speak | Wait::Notice, EventKind::SpeakCompleted(m))
        | (Wait::Play, EventKind::PlayCompleted(m)) => plausible(m),
        (Wait::Bridge, EventKind::DialCompleted(_) | EventKind::CallLegCompleted(_)) => true,
        (Wait::Dtmf, kind) => !matches!(kind, EventKind::IncomingCall(_)),
        _ => false,
    }
}

/// Continues a call after the shell ran the request of a `fetch` step.
pub fn resume(
    registry: &Registry,
    session: Session,
    event: &Event,
    fingerprint: &str,
    response: Result<&FetchResponse, &str>,
    now_ms: u64,
) -> Outcome {
    let mut turn = match Turn::start(registry, session, event, fingerprint, now_ms) {
        Ok(turn) => turn,
        Err(ended) => return ended,
    };
    let next = match turn.flow.get(&turn.session.step) {
        Some(Step::Fetch {
            targets,
            response: f,
            ..
        }) => {
            let next = f(&mut turn.ctx(), response);
            checked(next, targets)
        }
        _ => Err(FlowError),
    };
    let result = next.and_then(|n| turn.follow(n));
    turn.conclude(result, fingerprint, Note::Advanced)
}

/// Ends a call whose flow keeps asking for HTTP requests within one event (a `fetch` loop), as a
/// flow error: hung up politely.
pub fn give_up(
    registry: &Registry,
    session: Session,
    event: &Event,
    fingerprint: &str,
    now_ms: u64,
) -> Outcome {
    match Turn::start(registry, session, event, fingerprint, now_ms) {
        Ok(turn) => turn.conclude(Err(FlowError), fingerprint, Note::Advanced),
        Err(ended) => ended,
    }
}

/// Starts a placed outbound call: the session waits for `dial_completed`.
pub fn outbound_session(
    flow: &Flow,
    reference_id: &str,
    to: &str,
    caller_id: &str,
    external_id: Option<&str>,
    vars: std::collections::BTreeMap<String, String>,
    now_ms: u64,
) -> Session {
    Session {
        reference_id: reference_id.to_owned(),
        flow: flow.name.clone(),
        direction: Direction::Outbound,
        from: Some(caller_id.to_owned()),
        to: Some(to.to_owned()),
        external_id: external_id.map(str::to_owned),
        step: String::new(),
        wait: Wait::Answer,
        vars,
        answers: Vec::new(),
        visited: Vec::new(),
        retries: 0,
        hunt: 0,
        rung: Vec::new(),
        input_step: None,
        outcome: None,
        started_ms: now_ms,
        updated_ms: now_ms,
        events: 0,
        last: None,
    }
}

fn without_session(registry: &Registry, event: &Event, fingerprint: &str, now_ms: u64) -> Outcome {
    match &event.kind {
        EventKind::IncomingCall(parties) => {
            let to = parties.to.as_ref().map(|p| p.e164());
            let Some(flow) = registry.inbound_for(to.as_deref()) else {
                return done(hangup_reply(), Write::Nothing, Note::NoFlow);
            };
            let mut turn = Turn {
                flow,
                session: new_inbound(flow, event, parties, now_ms),
                event,
                now_ms,
            };
            let result = match flow.start() {
                Some(start) => turn.follow(Next::to(start)),
                None => Err(FlowError),
            };
            turn.conclude(result, fingerprint, Note::Started)
        }
        EventKind::CallCompleted(_) => finish(None, event, now_ms),
        kind => {
            let reply = if may_answer(kind, Method::Hangup) {
                hangup_reply()
            } else {
                None
            };
            done(reply, Write::Nothing, Note::UnknownCall)
        }
    }
}

fn new_inbound(flow: &Flow, event: &Event, parties: &Parties, now_ms: u64) -> Session {
    let mut s = outbound_session(
        flow,
        &event.reference_id,
        "",
        "",
        event.external_id.as_deref(),
        Default::default(),
        now_ms,
    );
    s.direction = Direction::Inbound;
    s.from = parties.from.as_ref().map(|p| p.e164());
    s.to = parties.to.as_ref().map(|p| p.e164());
    s
}

/// The call is over: its record, from the session (if any) and the event.
fn finish(session: Option<Session>, event: &Event, now_ms: u64) -> Outcome {
    let mut record = CallRecord {
        reference_id: event.reference_id.clone(),
        flow: None,
        direction: None,
        from: None,
        to: None,
        external_id: event.external_id.clone(),
        created_on_utc: None,
        answered_on_utc: None,
        ended_on_utc: None,
        duration: None,
        audio_recording_file_name: None,
        vars: Default::default(),
        answers: Vec::new(),
        visited: Vec::new(),
        outcome: CallOutcome::UnknownCall,
        status: None,
        started_ms: None,
        ended_ms: now_ms,
    };
    if let Some(s) = session {
        let outcome = match (&event.kind, s.wait, s.outcome) {
            (EventKind::DialCompleted(_), _, _) => CallOutcome::DialFailed,
            (_, _, Some(o)) => o,
            (_, Wait::Hangup, None) => CallOutcome::Completed,
            _ => CallOutcome::CallerHungUp,
        };
        record.flow = Some(s.flow);
        record.direction = Some(s.direction);
        record.from = s.from;
        record.to = s.to;
        record.external_id = s.external_id.or(record.external_id);
        record.vars = s.vars;
        record.answers = s.answers;
        record.visited = s.visited;
        record.outcome = outcome;
        record.started_ms = Some(s.started_ms);
    }
    match &event.kind {
        EventKind::CallCompleted(c) => {
            record.direction = record.direction.or(c.direction);
            record.from = record.from.or(c.parties.from.as_ref().map(|p| p.e164()));
            record.to = record.to.or(c.parties.to.as_ref().map(|p| p.e164()));
            record.created_on_utc = c.created_on_utc.clone();
            record.answered_on_utc = c.answered_on_utc.clone();
            record.ended_on_utc = c.ended_on_utc.clone();
            record.duration = c.duration;
            record.audio_recording_file_name = c.audio_recording_file_name.clone();
            record.status = Some(c.status.as_str().to_owned());
        }
        EventKind::DialCompleted(d) => record.status = Some(d.status.as_str().to_owned()),
        _ => {}
    }
    done(None, Write::Record(Box::new(record)), Note::Finished)
}

/// The flow of a live call is gone: hang up politely and say so in the record.
fn ended_badly(mut session: Session, event: &Event, fingerprint: &str, now_ms: u64) -> Outcome {
    session.outcome = Some(CallOutcome::FlowError);
    let reply = if may_answer(&event.kind, Method::Hangup) {
        session.wait = Wait::Hangup;
        hangup_reply()
    } else {
        None
    };
    remember(&mut session, event, fingerprint, reply.as_ref(), now_ms);
    done(reply, Write::Session(Box::new(session)), Note::Advanced)
}

fn done(reply: Option<Reply>, write: Write, note: Note) -> Outcome {
    Outcome::Done { reply, write, note }
}

fn stale() -> Outcome {
    done(None, Write::Nothing, Note::Stale)
}

fn replay(seen: &Seen) -> Option<Reply> {
    #[derive(serde::Deserialize)]
    struct Rpc {
        method: String,
    }
    let json = seen.reply.clone()?;
    let method = serde_json::from_str::<Rpc>(&json)
        .map(|rpc| rpc.method)
        .unwrap_or_default();
    Some(Reply { method, json })
}

fn hangup_reply() -> Option<Reply> {
    Some(Reply::from(&Action::Hangup))
}

impl From<&Action> for Reply {
    fn from(action: &Action) -> Self {
        Reply {
            method: action.method().as_str().to_owned(),
            json: RawJson::encode(action),
        }
    }
}

fn remember(session: &mut Session, event: &Event, fp: &str, reply: Option<&Reply>, now_ms: u64) {
    session.last = Some(Seen {
        fingerprint: fp.to_owned(),
        event: event.kind.name().to_owned(),
        reply: reply.map(|r| r.json.clone()),
    });
    session.events = session.events.saturating_add(1);
    session.updated_ms = now_ms;
}

/// A flow did something it may not (a step that does not exist, an undeclared target, an action
/// the call state forbids, a value Telesign would refuse). The call is ended politely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowError;

/// What a turn produced: an action to send, none, or a request to run first.
enum Produced {
    Action(Action),
    Fetch(FetchRequest),
}

type TurnResult = Result<Option<Produced>, FlowError>;

/// One event being applied to one call.
struct Turn<'a> {
    flow: &'a Flow,
    session: Session,
    event: &'a Event,
    now_ms: u64,
}

impl<'a> Turn<'a> {
    /// A turn of the call's flow; a call whose flow is gone (removed by a deploy while the call
    /// was live) is ended instead.
    fn start(
        registry: &'a Registry,
        session: Session,
        event: &'a Event,
        fingerprint: &str,
        now_ms: u64,
    ) -> Result<Self, Outcome> {
        match registry.get(&session.flow) {
            Some(flow) => Ok(Turn {
                flow,
                session,
                event,
                now_ms,
            }),
            None => Err(ended_badly(session, event, fingerprint, now_ms)),
        }
    }

    /// Applies the event to where the call is. `None`: the event does not move the call.
    fn advance(&mut self) -> Option<TurnResult> {
        let wait = self.session.wait;
        match (&self.event.kind, wait) {
            (EventKind::DialCompleted(d), Wait::Answer) if d.status == DialStatus::Answered => {
                let start = self.flow.start().map(str::to_owned);
                Some(match start {
                    Some(start) => self.follow(Next::Step(start)),
                    None => Err(FlowError),
                })
            }
            (EventKind::SpeakCompleted(m), Wait::Speak | Wait::Notice)
            | (EventKind::PlayCompleted(m), Wait::Play) => Some(self.media_completed(m)),
            (EventKind::DialCompleted(d), Wait::Bridge) => {
                if d.status == DialStatus::Answered {
                    self.session.outcome = Some(CallOutcome::Bridged);
                }
                None
            }
            (EventKind::CallLegCompleted(leg), Wait::Bridge) => {
                if self.is_late_leg(&leg.parties) {
                    // A late event of a number rung before: the current leg goes on.
                    return None;
                }
                Some(self.leg_completed(&leg.hangup_cause))
            }
            (kind, Wait::Dtmf) if !matches!(kind, EventKind::CallLegCompleted(_)) => {
                // Telesign documents no completion event for send_dtmf: whatever comes next
                // continues the flow.
                let next = match self.flow.get(&self.session.step) {
                    Some(Step::SendDtmf { next, .. }) => next.clone(),
                    _ => return Some(Err(FlowError)),
                };
                Some(self.follow(next))
            }
            _ => None,
        }
    }

    /// Whether a leg event names a number this dial rang before and not the one ringing now: a
    /// late (or redelivered) event of an earlier leg. Telesign's page does not make clear which
    /// of `to`/`from` is the leg's far end, so either counts; an event naming no number of the
    /// hunt is taken for the current leg.
    fn is_late_leg(&self, parties: &Parties) -> bool {
        let Some((ringing, before)) = self.session.rung.split_last() else {
            return false;
        };
        let named: Vec<&str> = [&parties.to, &parties.from]
            .into_iter()
            .flatten()
            .map(|p| p.digits())
            .collect();
        !named.contains(&ringing.as_str()) && before.iter().any(|n| named.contains(&n.as_str()))
    }

    fn media_completed(&mut self, m: &MediaCompleted) -> TurnResult {
        let name = self.session.step.clone();
        let step = self.flow.get(&name).ok_or(FlowError)?;
        if self.session.wait == Wait::Notice {
            // The retry notice was said; now the prompt itself.
            return self.prompt_for_input(step);
        }
        let (input, retries) = match step {
            Step::Say { next, .. } => return self.follow(next.clone()),
            Step::Menu { input, retries, .. } | Step::Gather { input, retries, .. } => {
                (input, retries)
            }
            _ => return Err(FlowError),
        };
        // Only keys a phone has are kept (nothing else reaches a session or a record), without
        // the terminators that ended the entry.
        let digits: String = m
            .collected_digits
            .chars()
            .filter(|c| {
                (c.is_ascii_digit() || matches!(c, '*' | '#')) && !input.terminators.contains(*c)
            })
            .collect();
        // Digits pressed before a timeout still count; only an empty entry is "no input".
        if digits.is_empty() {
            self.answer(&name, &digits, AnswerResult::NoInput);
            return self.retry(&name, &retries.no_input, retries);
        }
        match step {
            Step::Menu {
                options,
                repeat,
                save_as,
                ..
            } => {
                if repeat.as_deref() == Some(digits.as_str()) {
                    self.answer(&name, &digits, AnswerResult::Repeat);
                    return self.prompt_for_input(step);
                }
                match options.iter().find(|(k, _)| *k == digits) {
                    Some((_, target)) => {
                        self.answer(&name, &digits, AnswerResult::Accepted);
                        if let Some(var) = save_as {
                            self.session.vars.insert(var.clone(), target.clone());
                        }
                        self.follow(Next::to(target))
                    }
                    None => {
                        self.answer(&name, &digits, AnswerResult::Invalid);
                        self.retry(&name, &retries.invalid, retries)
                    }
                }
            }
            Step::Gather {
                var,
                min_digits,
                next,
                ..
            } => {
                let len = u32::try_from(digits.len()).unwrap_or(u32::MAX);
                if len < *min_digits || len > input.max_digits {
                    self.answer(&name, &digits, AnswerResult::Invalid);
                    return self.retry(&name, &retries.invalid, retries);
                }
                self.answer(&name, &digits, AnswerResult::Accepted);
                self.session.vars.insert(var.clone(), digits);
                self.follow(next.clone())
            }
            _ => Err(FlowError),
        }
    }

    fn answer(&mut self, step: &str, digits: &str, result: AnswerResult) {
        self.session.answers.push(Answer {
            step: step.to_owned(),
            digits: digits.to_owned(),
            result,
            at_ms: self.now_ms,
        });
    }

    /// Prompts again after no input or a wrong entry, or gives up to the fallback.
    fn retry(&mut self, name: &str, notice: &str, retries: &Retries) -> TurnResult {
        self.session.retries += 1;
        if self.session.retries > retries.max {
            return self.follow(retries.fallback.as_deref().map_or(Next::Hangup, Next::to));
        }
        let step = self.flow.get(name).ok_or(FlowError)?;
        let (prompt, input) = input_prompt(step).ok_or(FlowError)?;
        let notice = notice.trim();
        match prompt {
            Prompt::Speak { text, language } if !notice.is_empty() => {
                let text = format!("{notice} {}", self.render(text));
                let speak = self.speak(&text, language.as_deref(), Some(input))?;
                self.send(Action::Speak(speak))
            }
            Prompt::Play { .. } if !notice.is_empty() => {
                let action = self.speak(notice, None, None)?;
                self.session.wait = Wait::Notice;
                self.allowed(Action::Speak(action))
                    .map(|a| Some(Produced::Action(a)))
            }
            _ => self.prompt_for_input(step),
        }
    }

    /// A bridged leg ended: answered legs go on to `after`; others try the next number.
    fn leg_completed(&mut self, cause: &HangupCause) -> TurnResult {
        let step = self.flow.get(&self.session.step).ok_or(FlowError)?;
        let Step::Dial {
            after,
            on_no_answer,
            ..
        } = step
        else {
            return Err(FlowError);
        };
        if *cause == HangupCause::CallAnswered {
            self.session.outcome = Some(CallOutcome::Bridged);
            return self.follow(after.clone());
        }
        self.session.hunt += 1;
        match self.dial_from(step, self.session.hunt)? {
            Some(action) => self.send(action),
            None => {
                if self.session.outcome.is_none() {
                    self.session.outcome = Some(CallOutcome::NoAnswer);
                }
                self.follow(on_no_answer.clone())
            }
        }
    }

    /// Moves the call along `next`, through steps without actions of their own, to the next
    /// action (or fetch).
    fn follow(&mut self, mut next: Next) -> TurnResult {
        for _ in 0..MAX_HOPS {
            let name = match next {
                Next::Hangup => return self.send(Action::Hangup),
                Next::Retry => {
                    let name = self.session.input_step.clone().ok_or(FlowError)?;
                    // User code refused the entry the input step accepted.
                    if let Some(answer) = self.session.answers.last_mut() {
                        if answer.step == name && answer.result == AnswerResult::Accepted {
                            answer.result = AnswerResult::Refused;
                        }
                    }
                    self.session.step = name.clone();
                    let step = self.flow.get(&name).ok_or(FlowError)?;
                    let retries = input_retries(step).ok_or(FlowError)?;
                    return self.retry(&name, &retries.invalid, retries);
                }
                Next::Step(name) => name,
            };
            let step = self.flow.get(&name).ok_or(FlowError)?;
            self.session.step = name.clone();
            self.session.visited.push(name.clone());
            match step {
                Step::Say { prompt, .. } => {
                    let action = self.prompt_action(prompt, None)?;
                    return self.send(action);
                }
                Step::Menu { .. } | Step::Gather { .. } => {
                    // The count starts afresh at each input step entered, and only there: a
                    // `Next::Retry` from the steps after it (a check of the entry) spends it.
                    self.session.retries = 0;
                    self.session.input_step = Some(name);
                    return self.prompt_for_input(step);
                }
                Step::Decide { targets, decide } => {
                    next = checked(decide(&mut self.ctx()), targets)?;
                }
                Step::Fetch { request, .. } => {
                    return Ok(Some(Produced::Fetch(request(&self.ctx()))));
                }
                Step::Dial { .. } => {
                    self.session.hunt = 0;
                    self.session.rung.clear();
                    return match self.dial_from(step, 0)? {
                        Some(action) => self.send(action),
                        None => Err(FlowError),
                    };
                }
                Step::SendDtmf { digits, .. } => {
                    let action = SendDtmf::new(digits).map_err(|_| FlowError)?;
                    return self.send(Action::SendDtmf(action));
                }
                Step::Hangup => return self.send(Action::Hangup),
            }
        }
        Err(FlowError)
    }

    /// The prompt of a menu or gather step, collecting digits.
    fn prompt_for_input(&mut self, step: &Step) -> TurnResult {
        let (prompt, input) = input_prompt(step).ok_or(FlowError)?;
        let action = self.prompt_action(prompt, Some(input))?;
        self.send(action)
    }

    fn prompt_action(&self, prompt: &Prompt, input: Option<&Input>) -> Result<Action, FlowError> {
        match prompt {
            Prompt::Speak { text, language } => {
                let text = self.render(text);
                Ok(Action::Speak(self.speak(
                    &text,
                    language.as_deref(),
                    input,
                )?))
            }
            Prompt::Play { url } => {
                let mut play = Play::new(url).map_err(|_| FlowError)?;
                if let Some(input) = input {
                    play = play.collect(collect_digits(input)?);
                }
                Ok(Action::Play(play))
            }
        }
    }

    fn speak(
        &self,
        text: &str,
        language: Option<&str>,
        input: Option<&Input>,
    ) -> Result<Speak, FlowError> {
        let language = language.unwrap_or(&self.flow.language);
        let mut speak = Speak::new(text, language).map_err(|_| FlowError)?;
        if let Some(input) = input {
            speak = speak.collect(collect_digits(input)?);
        }
        Ok(speak)
    }

    /// The dial action for the first number from index `from` on that renders to a valid number.
    fn dial_from(&mut self, step: &Step, from: u32) -> Result<Option<Action>, FlowError> {
        let Step::Dial {
            numbers,
            caller_id,
            record,
            ..
        } = step
        else {
            return Err(FlowError);
        };
        let caller_id = match caller_id {
            Some(c) => self.render(c),
            // Show the number the caller dialed (ours) to the agent.
            None => self.session.to.clone().unwrap_or_default(),
        };
        let start = usize::try_from(from).unwrap_or(usize::MAX);
        for (i, number) in numbers.iter().enumerate().skip(start) {
            let number = self.render(number);
            if let Ok(dial) = Dial::new(&number, &caller_id) {
                self.session.hunt = u32::try_from(i).unwrap_or(u32::MAX);
                self.session.rung.push(dial.to().digits().to_owned());
                // record_call is sent only when asked for, as in Telesign's examples.
                let dial = if *record {
                    dial.record_call(true)
                } else {
                    dial
                };
                return Ok(Some(Action::Dial(dial)));
            }
        }
        Ok(None)
    }

    /// Checks the action against the call-state rules and records what is now awaited.
    fn send(&mut self, action: Action) -> TurnResult {
        let action = self.allowed(action)?;
        self.session.wait = match &action {
            Action::Speak(_) => Wait::Speak,
            Action::Play(_) => Wait::Play,
            Action::Dial(_) => Wait::Bridge,
            Action::SendDtmf(_) => Wait::Dtmf,
            _ => {
                if self.session.outcome.is_none() {
                    self.session.outcome = Some(CallOutcome::Completed);
                }
                Wait::Hangup
            }
        };
        Ok(Some(Produced::Action(action)))
    }

    fn allowed(&self, action: Action) -> Result<Action, FlowError> {
        let kind = match (&self.event.kind, self.session.wait) {
            // After send_dtmf the next event continues the flow as a media completion would.
            (EventKind::Unknown { .. }, Wait::Dtmf) => &MEDIA_COMPLETED_STATE,
            (kind, _) => kind,
        };
        if may_answer(kind, action.method()) {
            Ok(action)
        } else {
            Err(FlowError)
        }
    }

    fn render(&self, text: &str) -> String {
        let s = &self.session;
        template::render(text, |name| match name {
            "caller" => caller(s),
            "called" => called(s),
            _ => s.vars.get(name).map(String::as_str),
        })
    }

    fn ctx(&mut self) -> Ctx<'_> {
        let s = &mut self.session;
        let (caller, called) = match s.direction {
            Direction::Inbound => (s.from.as_deref(), s.to.as_deref()),
            Direction::Outbound => (s.to.as_deref(), s.from.as_deref()),
        };
        Ctx {
            vars: &mut s.vars,
            caller,
            called,
        }
    }

    /// Finishes the turn: a flow error hangs up politely; the event is remembered.
    fn conclude(mut self, result: TurnResult, fingerprint: &str, note: Note) -> Outcome {
        let produced = match result {
            Ok(p) => p,
            Err(FlowError) => {
                self.session.outcome = Some(CallOutcome::FlowError);
                // Judged as `send` judges: after send_dtmf an unknown event may be answered.
                if self.allowed(Action::Hangup).is_ok() {
                    self.session.wait = Wait::Hangup;
                    Some(Produced::Action(Action::Hangup))
                } else {
                    None
                }
            }
        };
        let reply = match produced {
            Some(Produced::Fetch(request)) => {
                return Outcome::Fetch {
                    session: Box::new(self.session),
                    request,
                }
            }
            Some(Produced::Action(action)) => Some(Reply::from(&action)),
            None => None,
        };
        remember(
            &mut self.session,
            self.event,
            fingerprint,
            reply.as_ref(),
            self.now_ms,
        );
        done(reply, Write::Session(Box::new(self.session)), note)
    }
}

/// The call state a media completion puts the call in, used after `send_dtmf`.
static MEDIA_COMPLETED_STATE: EventKind = EventKind::SpeakCompleted(MediaCompleted {
    parties: Parties {
        to: None,
        from: None,
    },
    status: MediaStatus::Completed,
    collected_digits: String::new(),
});

fn caller(s: &Session) -> Option<&str> {
    match s.direction {
        Direction::Inbound => s.from.as_deref(),
        Direction::Outbound => s.to.as_deref(),
    }
}

fn called(s: &Session) -> Option<&str> {
    match s.direction {
        Direction::Inbound => s.to.as_deref(),
        Direction::Outbound => s.from.as_deref(),
    }
}

fn input_prompt(step: &Step) -> Option<(&Prompt, &Input)> {
    match step {
        Step::Menu { prompt, input, .. } | Step::Gather { prompt, input, .. } => {
            Some((prompt, input))
        }
        _ => None,
    }
}

fn input_retries(step: &Step) -> Option<&Retries> {
    match step {
        Step::Menu { retries, .. } | Step::Gather { retries, .. } => Some(retries),
        _ => None,
    }
}

fn collect_digits(input: &Input) -> Result<CollectDigits, FlowError> {
    let mut c = CollectDigits::new(input.max_digits)
        .and_then(|c| c.timeout_ms(input.timeout_ms))
        .and_then(|c| c.inter_digit_timeout_ms(input.inter_digit_timeout_ms))
        .map_err(|_| FlowError)?;
    if !input.terminators.is_empty() {
        c = c.terminators(&input.terminators).map_err(|_| FlowError)?;
    }
    Ok(c)
}

/// User code may only go where its step declared.
fn checked(next: Next, targets: &[String]) -> Result<Next, FlowError> {
    match &next {
        Next::Step(s) if !targets.iter().any(|t| t == s) => Err(FlowError),
        _ => Ok(next),
    }
}
