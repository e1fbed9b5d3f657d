//! The flow engine: given a flow, the call's session and one Telesign event, it decides the next
//! action and the new session. Sans-IO in the manner of quinn-proto: no KV, no fetch, no clock (the
//! time comes in as `now_ms`); the event pipeline ([`crate::pipeline::event`]) does the I/O it
//! asks for, over the ports the worker's shell supplies.
//!
//! Guarantees, each tested on the host:
//! - it never answers an event with an action the call-state rules ([`telesign::may_answer`])
//!   forbid: a flow that tries gets a `hangup` instead (or no action), and the call record's outcome
//!   says `flow_error`. One deliberate reading: Telesign documents no completion event for
//!   `send_dtmf`, so whatever event comes next (an unknown one included) is answered as a media
//!   completion would be;
//! - a redelivery of the last event (same body, and not something the call could be waiting for,
//!   see [`fit`]) gets the same answer and changes nothing;
//! - an event that does not fit where the call is (a completion of an action we did not send, a
//!   leg event while no leg rings, anything but `call_completed` after we hung up) is stale: it is
//!   answered with no action (HTTP 204) and changes nothing.
//!
//! Telesign's events carry no id, so the same key pressed again at the next menu and a redelivery
//! of the previous key press are the same bytes: the engine takes them for a new press (the
//! common case). See [`fit`].

mod fit;
mod privacy;
mod record;
pub mod session;
mod turn;

use crate::flow::Fetch;
use crate::flow::{
    Branch, Ctx, Direction, FetchRequest, FetchResponse, Flow, Next, ParseFn, Registry, Step, Taken,
};
use crate::telesign::{may_answer, Action, Event, EventKind, Method, Parties};
pub use fit::fingerprint;
use fit::{replay, Fit};
use record::finish;
pub use session::{
    Answer, AnswerResult, CallOutcome, CallRecord, FetchOutcome, Held, Here, LookupOutcome,
    MediaFailed, MediaFailure, RawJson, Seen, Session, Visit, Visits, Wait,
};
use turn::{ended_badly, FlowError, Turn};

/// How many steps without an action of their own (`decide`, `fetch`) one event may pass through;
/// more means the flow loops.
pub const MAX_HOPS: usize = 32;

/// How many times in a row the same body is answered as a redelivery (Telesign's other webhooks
/// retry up to 4 times). The same body once more is judged as another body would be (the next
/// event, or one the call does not wait for): whatever the flow, no body brings back the same
/// answer as a redelivery without bound.
pub const MAX_REDELIVERIES: u32 = 4;

/// What the engine asks the shell to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answer now and persist.
    Done {
        /// The JSON-RPC action to answer with (HTTP 200), or none (HTTP 204).
        reply: Option<Reply>,
        write: Write,
        note: Note,
        /// The branches the call took in this event, in order (for flow tests' coverage).
        taken: Vec<Taken>,
        /// The request of a held `fetch` step, to run after the answer: its outcome goes to the
        /// store ([`read_lookup`]), where the end of the hold looks for it.
        lookup: Option<Box<Lookup>>,
    },
    /// Run this HTTP request for a `fetch` step, then call [`resume`] with its result (and
    /// `taken`, the branches taken so far).
    Fetch {
        session: Box<Session>,
        request: FetchRequest,
        taken: Vec<Taken>,
    },
    /// A hold prompt ended: read the outcome of the call's lookup `index` from the store (if it
    /// has come), then call [`resume_lookup`] with it.
    Lookup {
        session: Box<Session>,
        taken: Vec<Taken>,
        index: u32,
    },
}

/// The request of a held `fetch` step, run after the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Which lookup of the call it is ([`Held::index`]).
    pub index: u32,
    pub step: String,
    pub request: FetchRequest,
}

/// An action to answer with, already encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub method: Method,
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
    /// An event that does not fit where the call is, while the caller is not waiting on us: no
    /// action, nothing changed.
    Stale,
    /// An event the call does not wait for while the caller hears our prompts: the prompt the
    /// call waits on is issued again, nothing changed.
    Ambiguous,
    /// An event for a call with no session: hung up (or nothing, where no action is allowed).
    UnknownCall,
    /// An inbound call no flow answers: hung up.
    NoFlow,
    /// An event that needs no answer (an unknown event type, a bridged leg answering).
    Ignored,
}

/// Handles one event for a call. `session` is what the store holds for the call, if anything.
pub fn handle(
    registry: &Registry,
    session: Option<Session>,
    event: &Event,
    fingerprint: &str,
    now_ms: u64,
) -> Outcome {
    let Some(mut session) = session else {
        return without_session(registry, event, fingerprint, now_ms);
    };
    if event.kind.call_ended().is_some() {
        return finish(Some(session), event, now_ms);
    }
    let Some(flow) = registry.get(&session.flow) else {
        // A call whose flow is gone (removed by a deploy) is ended, whatever the event.
        return ended_badly(session, event, now_ms);
    };
    // A call placed by the version before may wait at a step that was renamed since.
    if let Some(step) = flow.resolve(&session.step).filter(|s| *s != session.step) {
        session.step = step.to_owned();
    }
    let last = session.last.as_ref();
    // The same body once more than a redelivery comes is judged as another body would be.
    let kept = privacy::fingerprint(flow, fingerprint);
    let same_body = !kept.as_str().is_empty()
        && last.is_some_and(|seen| {
            seen.fingerprint == kept.as_str() && seen.repeats < MAX_REDELIVERIES
        });
    match fit::classify(flow, &session, &event.kind, same_body, now_ms) {
        Fit::Apply => {}
        Fit::Redelivery => {
            let reply = last.and_then(replay);
            if let Some(seen) = session.last.as_mut() {
                seen.repeats += 1;
            }
            return done(reply, Write::Session(Box::new(session)), Note::Duplicate);
        }
        Fit::Ambiguous => {
            // The prompt the call waits on, again, if the event may be answered with it.
            let reply = last
                .and_then(replay)
                .filter(|r| may_answer(&event.kind, r.method));
            return done(reply, Write::Nothing, Note::Ambiguous);
        }
        Fit::Stale => {
            let note = match event.kind {
                EventKind::Unknown { .. } => Note::Ignored,
                _ => Note::Stale,
            };
            return done(None, Write::Nothing, note);
        }
    }
    let mut turn = Turn::new(flow, session, event, kept, now_ms);
    match turn.advance() {
        Some(result) => turn.conclude(result, Note::Advanced),
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
            turn.conclude(Ok(None), Note::Ignored)
        }
        None => stale(),
    }
}

/// Continues a call after the shell ran the request of a `fetch` step.
pub fn resume(
    registry: &Registry,
    session: Session,
    taken: Vec<Taken>,
    event: &Event,
    fingerprint: &str,
    response: Result<&FetchResponse, &str>,
    now_ms: u64,
) -> Outcome {
    let status = response.ok().map(|r| r.status);
    // A 2xx answer the step's code accepts goes on; anything else takes the error way.
    let read = |parse: ParseFn, ctx: &mut Ctx| match response {
        Ok(r) if (200..300).contains(&r.status) => parse(ctx, r),
        Ok(r) => Err(format!("HTTP {}", r.status)),
        Err(e) => Err(e.to_owned()),
    };
    resume_with(
        registry,
        session,
        taken,
        event,
        fingerprint,
        status,
        read,
        now_ms,
    )
}

/// [`resume`] with an outcome known beforehand (a recorded call's, `npm run flows:replay`)
/// instead of an answer: its variables are set and its way taken, without the step's code.
pub fn resume_replayed(
    registry: &Registry,
    session: Session,
    taken: Vec<Taken>,
    event: &Event,
    fingerprint: &str,
    outcome: &LookupOutcome,
    now_ms: u64,
) -> Outcome {
    let read = |_: ParseFn, ctx: &mut Ctx| {
        if !outcome.ok {
            return Err("replayed failure".to_owned());
        }
        for (name, value) in &outcome.vars {
            ctx.set_var(name, value.clone());
        }
        Ok(())
    };
    let status = outcome.status;
    resume_with(
        registry,
        session,
        taken,
        event,
        fingerprint,
        status,
        read,
        now_ms,
    )
}

#[allow(clippy::too_many_arguments)]
fn resume_with(
    registry: &Registry,
    session: Session,
    taken: Vec<Taken>,
    event: &Event,
    fingerprint: &str,
    status: Option<u16>,
    read: impl FnOnce(ParseFn, &mut Ctx) -> Result<(), String>,
    now_ms: u64,
) -> Outcome {
    let mut turn = match Turn::start(registry, session, event, fingerprint, now_ms) {
        Ok(turn) => turn,
        Err(ended) => return *ended,
    };
    turn.taken = taken;
    let next = match turn.flow.get(&turn.session.step) {
        Some(Step::Fetch(Fetch {
            parse, ok, error, ..
        })) => {
            let accepted = read(*parse, &mut turn.ctx()).is_ok();
            turn.session.fetches.push(FetchOutcome {
                step: turn.session.step.clone(),
                status,
                ok: accepted,
                at_ms: now_ms,
            });
            let (branch, next) = match accepted {
                true => (Branch::Ok, ok.clone()),
                false => (Branch::Error, error.clone()),
            };
            turn.took_here(branch);
            Ok(next)
        }
        _ => Err(FlowError),
    };
    let result = next.and_then(|n| turn.follow(n));
    turn.conclude(result, Note::Advanced)
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
        Ok(turn) => turn.conclude(Err(FlowError), Note::Advanced),
        Err(ended) => *ended,
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
        language: Some(flow.language.clone()),
        wait: Wait::Answer,
        vars,
        sealed: Default::default(),
        answers: Vec::new(),
        visits: Visits::default(),
        retries: 0,
        here: Here::default(),
        held: None,
        failures: Vec::new(),
        fetches: Vec::new(),
        input_step: None,
        outcome: None,
        started_ms: now_ms,
        updated_ms: now_ms,
        saved_ms: None,
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
            let session = new_inbound(flow, event, parties, now_ms);
            let kept = privacy::fingerprint(flow, fingerprint);
            let mut turn = Turn::new(flow, session, event, kept, now_ms);
            let result = match flow.start() {
                Some(start) => turn.follow(Next::to(start)),
                None => Err(FlowError),
            };
            turn.conclude(result, Note::Started)
        }
        kind if kind.call_ended().is_some() => finish(None, event, now_ms),
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

pub(crate) fn done(reply: Option<Reply>, write: Write, note: Note) -> Outcome {
    Outcome::Done {
        reply,
        write,
        note,
        taken: Vec::new(),
        lookup: None,
    }
}

/// What the request of a held lookup came to, read by its step's code as [`resume`] would read
/// it, but on a copy of the call's variables: the shell runs this after the answer and keeps the
/// outcome until the hold ends.
pub fn read_lookup(
    registry: &Registry,
    session: &Session,
    lookup: &Lookup,
    response: Result<&FetchResponse, &str>,
    now_ms: u64,
) -> LookupOutcome {
    let status = response.ok().map(|r| r.status);
    let flow = registry.get(&session.flow);
    let parse = match flow.and_then(|f| f.get(&lookup.step)) {
        Some(Step::Fetch(Fetch { parse, .. })) => Some(*parse),
        _ => None,
    };
    let mut vars = session.vars.clone();
    if let Some(flow) = flow {
        vars.extend(privacy::opened(
            flow,
            &session.reference_id,
            &session.sealed,
        ));
    }
    let before = vars.clone();
    let read = match (parse, flow, response) {
        (Some(parse), Some(flow), Ok(r)) if (200..300).contains(&r.status) => {
            let (caller, called) = turn::parties(session);
            let mut ctx = Ctx {
                vars: &mut vars,
                caller,
                called,
                settings: flow.settings.values(),
            };
            parse(&mut ctx, r)
        }
        _ => Err(String::new()),
    };
    let ok = read.is_ok();
    let changed = crate::sort::collected(
        vars.into_iter()
            .filter(|(k, v)| ok && before.get(k) != Some(v)),
    );
    let mut outcome = LookupOutcome {
        step: lookup.step.clone(),
        index: lookup.index,
        status,
        ok,
        vars: changed,
        sealed: Default::default(),
        at_ms: now_ms,
    };
    if let Some(flow) = flow {
        privacy::seal_outcome(flow, &session.reference_id, &mut outcome);
    }
    outcome
}

/// Continues a call at the end of a hold prompt, with the outcome of its held request if it has
/// come (`None`: not yet).
pub fn resume_lookup(
    registry: &Registry,
    session: Session,
    taken: Vec<Taken>,
    event: &Event,
    fingerprint: &str,
    outcome: Option<&LookupOutcome>,
    now_ms: u64,
) -> Outcome {
    let mut turn = match Turn::start(registry, session, event, fingerprint, now_ms) {
        Ok(turn) => turn,
        Err(ended) => return *ended,
    };
    turn.taken = taken;
    let result = turn.lookup_read(outcome);
    turn.conclude(result, Note::Advanced)
}

pub(crate) fn stale() -> Outcome {
    done(None, Write::Nothing, Note::Stale)
}

pub(crate) fn hangup_reply() -> Option<Reply> {
    Some(Reply::from(&Action::Hangup))
}

impl From<&Action> for Reply {
    fn from(action: &Action) -> Self {
        Reply {
            method: action.method(),
            json: RawJson::encode(action),
        }
    }
}
