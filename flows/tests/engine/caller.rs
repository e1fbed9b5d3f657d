//! A test telephone: it plays Telesign's part against the engine the way the `webhook` shell
//! does. Events are JSON bodies decoded with [`decode_event`] and fingerprinted with
//! [`fingerprint`]; the session is kept as JSON text, as the store keeps it; `fetch` steps are
//! answered from a script. Every reply is checked against the call-state rules, so each walk
//! written with a `Caller` also proves that guarantee along its whole path.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};

use ivr_core::engine::{
    fingerprint, handle, outbound_session, resume, CallRecord, Note, Outcome, Reply, Session, Wait,
    Write,
};
use ivr_core::flow::{FetchRequest, FetchResponse, Registry};
use ivr_core::telesign::{
    decode_event, may_answer, Event, EventKind, MediaCompleted, MediaStatus, Method,
};

/// The number a caller dials when no route applies (so `bank_menu` answers).
pub const BANK_LINE: &str = "+15555550100";
/// The number routed to `agent_forwarding`.
pub const AGENT_LINE: &str = "+15555550200";
/// The person on the other end.
pub const CALLER: &str = "+15558675309";

/// The engine's first clock reading; each event comes one second after the previous one.
pub const T0: u64 = 1_700_000_000_000;

/// More `fetch` steps for one event than this and the walk is declared looping (the shell
/// gives up after 4).
const MAX_FETCHES: usize = 8;

/// What came back for one event.
#[derive(Debug, Clone)]
pub struct Heard {
    pub reply: Option<Reply>,
    pub note: Note,
    /// Whether the event changed what the store holds.
    pub changed: bool,
}

impl Heard {
    /// The JSON-RPC method answered, if any.
    pub fn method(&self) -> Option<&str> {
        self.reply.as_ref().map(|r| r.method.as_str())
    }

    /// The `params` of the reply (`Null` when there is no reply).
    pub fn params(&self) -> Value {
        self.reply
            .as_ref()
            .map(|r| parse(&r.json)["params"].clone())
            .unwrap_or(Value::Null)
    }

    /// The text of a `speak` reply.
    pub fn said(&self) -> String {
        assert_eq!(self.method(), Some("speak"), "expected a speak: {self:?}");
        self.params()["tts"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `collect_digits` of a `speak` or `play` reply (`Null` when it collects nothing).
    pub fn collect(&self) -> Value {
        self.params()["collect_digits"].clone()
    }

    /// The number a `dial` reply rings (digits only, as sent).
    pub fn dialed(&self) -> String {
        assert_eq!(self.method(), Some("dial"), "expected a dial: {self:?}");
        self.params()["to"].as_str().unwrap_or_default().to_owned()
    }

    /// Asserts a `speak` that says `text` and collects digits.
    pub fn prompts(&self, text: &str) {
        let said = self.said();
        assert!(said.contains(text), "{said:?} does not say {text:?}");
        assert!(self.collect().is_object(), "{said:?} collects no digits");
    }

    /// Asserts a `speak` that says `text` and collects nothing.
    pub fn says(&self, text: &str) {
        let said = self.said();
        assert!(said.contains(text), "{said:?} does not say {text:?}");
        assert!(self.collect().is_null(), "{said:?} collects digits");
    }

    /// Asserts a `hangup`.
    pub fn hangs_up(&self) {
        assert_eq!(self.method(), Some("hangup"), "{self:?}");
    }

    /// Asserts an event that was answered with nothing and changed nothing.
    pub fn is_stale(&self) {
        assert_eq!(self.note, Note::Stale, "{self:?}");
        assert!(self.reply.is_none() && !self.changed, "{self:?}");
    }
}

/// One call, from Telesign's side.
pub struct Caller<'r> {
    registry: &'r Registry,
    pub reference_id: String,
    /// `data.to` and `data.from` of every event sent.
    to: String,
    from: String,
    /// The session as the store holds it (JSON text), if any, and decoded from that text.
    stored: Option<(String, Session)>,
    /// The call record, once written.
    pub record: Option<CallRecord>,
    now_ms: u64,
    fetch_answers: VecDeque<Result<FetchResponse, String>>,
    /// Every request a `fetch` step made, in order.
    pub requests: Vec<FetchRequest>,
    /// Every body delivered, in order (redeliveries included).
    pub bodies: Vec<Vec<u8>>,
    /// The fingerprint of the last event that moved the call, and what the call waited for
    /// then: a redelivery of it is answered as it was, in that state.
    answered: Option<(String, Option<Wait>)>,
}

impl<'r> Caller<'r> {
    /// A call from [`CALLER`] to `to`; nothing is sent yet.
    pub fn dialing(registry: &'r Registry, to: &str) -> Self {
        Self::with_parties(registry, "ref-test-0001", to, CALLER)
    }

    pub fn with_parties(registry: &'r Registry, reference_id: &str, to: &str, from: &str) -> Self {
        Caller {
            registry,
            reference_id: reference_id.to_owned(),
            to: to.to_owned(),
            from: from.to_owned(),
            stored: None,
            record: None,
            now_ms: T0,
            fetch_answers: VecDeque::new(),
            requests: Vec::new(),
            bodies: Vec::new(),
            answered: None,
        }
    }

    /// An outbound call of `flow` placed to [`CALLER`] from [`BANK_LINE`], as `POST /calls`
    /// stores it: the session waits for `dial_completed`.
    pub fn placed(registry: &'r Registry, flow: &str, vars: &[(&str, &str)]) -> Self {
        let mut caller = Self::with_parties(registry, "ref-test-0002", CALLER, BANK_LINE);
        let flow = registry
            .outbound(flow)
            .unwrap_or_else(|| panic!("no outbound flow {flow}"));
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let session = outbound_session(
            flow,
            &caller.reference_id,
            CALLER,
            BANK_LINE,
            Some("ext-42"),
            vars,
            T0,
        );
        caller.stored = Some(store(&session));
        caller
    }

    /// Queues the answer the next `fetch` step gets (an `Err` is a failure such as a timeout).
    pub fn answer_fetch(&mut self, answer: Result<FetchResponse, &str>) {
        self.fetch_answers.push_back(answer.map_err(str::to_owned));
    }

    /// How many queued fetch answers are still unused.
    pub fn fetch_answers_left(&self) -> usize {
        self.fetch_answers.len()
    }

    /// The session as stored now.
    pub fn session(&self) -> Option<Session> {
        self.stored.as_ref().map(|(_, session)| session.clone())
    }

    /// The session as stored now (JSON text), to compare before and after an event.
    pub fn stored(&self) -> Option<&str> {
        self.stored.as_ref().map(|(text, _)| text.as_str())
    }

    pub fn wait(&self) -> Option<Wait> {
        self.session().map(|s| s.wait)
    }

    // ---- Events, each delivered and then redelivered (see `event`). -----------------------

    pub fn incoming_call(&mut self) -> Heard {
        self.event("incoming_call", json!({}))
    }

    /// `speak_completed` with the keys pressed (empty: none, but the speech ended normally).
    pub fn speak_completed(&mut self, digits: &str) -> Heard {
        self.media("speak_completed", "speak_successful", digits)
    }

    /// `speak_completed` after the caller pressed nothing in time.
    pub fn speak_timeout(&mut self) -> Heard {
        self.media("speak_completed", "digit_collection_timeout", "")
    }

    pub fn play_completed(&mut self, digits: &str) -> Heard {
        self.media("play_completed", "playback_successful", digits)
    }

    pub fn play_timeout(&mut self) -> Heard {
        self.media("play_completed", "digit_collection_timeout", "")
    }

    pub fn dial_completed(&mut self, status: &str) -> Heard {
        self.event("dial_completed", json!({ "status": status }))
    }

    pub fn leg_completed(&mut self, hangup_cause: &str) -> Heard {
        self.event(
            "call_leg_completed",
            json!({ "hangup_cause": hangup_cause, "caller_id": self.to }),
        )
    }

    /// An event type this version does not know.
    pub fn unknown(&mut self, name: &str) -> Heard {
        self.event(name, json!({ "detail": "x" }))
    }

    /// `call_completed`: the call must end in a record, which is returned.
    pub fn call_completed(&mut self) -> CallRecord {
        let body = self.body("call_completed", self.call_completed_data());
        let heard = self.deliver(&body);
        assert_eq!(heard.note, Note::Finished, "{heard:?}");
        assert!(heard.reply.is_none(), "call_completed answered: {heard:?}");
        assert!(self.stored.is_none(), "the session outlived call_completed");
        self.record
            .clone()
            .unwrap_or_else(|| panic!("call_completed wrote no record"))
    }

    pub fn call_completed_data(&self) -> Value {
        json!({
            "direction": if self.to == CALLER { "outbound" } else { "inbound" },
            "status": "hangup",
            "created_on_utc": "2024-05-01T10:00:00.000000",
            "answered_on_utc": "2024-05-01T10:00:02.000000",
            "ended_on_utc": "2024-05-01T10:01:00.000000",
            "duration": 58,
        })
    }

    fn media(&mut self, event: &str, status: &str, digits: &str) -> Heard {
        self.event(
            event,
            json!({ "status": status, "collected_digits": digits }),
        )
    }

    /// Delivers an event, then delivers the very same body again, as Telesign may, unless
    /// that body could also be the next event of the call (see [`could_follow`]): the second
    /// delivery must get the same reply and change nothing. Returns what the first got.
    pub fn event(&mut self, name: &str, data: Value) -> Heard {
        let body = self.body(name, data);
        let first = self.deliver(&body);
        let kind = decode_event(&body).map(|e| e.kind);
        if let (Some(session), Ok(kind)) = (self.session(), &kind) {
            if could_follow(&session, kind) {
                return first;
            }
        }
        let before = self.stored().map(str::to_owned);
        let again = self.deliver(&body);
        assert_eq!(
            again.reply, first.reply,
            "a redelivery of {name} got another reply"
        );
        assert!(!again.changed, "a redelivery of {name} changed the session");
        assert_eq!(self.stored(), before.as_deref());
        let expected = match first.note {
            Note::Finished => Note::UnknownCall,
            _ if first.changed => Note::Duplicate,
            note => note,
        };
        assert_eq!(again.note, expected, "a redelivery of {name}");
        first
    }

    /// The body Telesign would post: `event`, `reference_id`, and `data` with both parties.
    pub fn body(&self, name: &str, mut data: Value) -> Vec<u8> {
        if let Value::Object(map) = &mut data {
            map.entry("to").or_insert_with(|| json!(self.to));
            map.entry("from").or_insert_with(|| json!(self.from));
        }
        json!({ "event": name, "reference_id": self.reference_id, "data": data })
            .to_string()
            .into_bytes()
    }

    /// Delivers one body exactly as the shell does, checks the reply against the call-state
    /// rules, and stores what the engine asks to store.
    pub fn deliver(&mut self, body: &[u8]) -> Heard {
        let event = decode_event(body).unwrap_or_else(|e| panic!("undecodable test event: {e}"));
        let fp = fingerprint(body);
        self.bodies.push(body.to_vec());
        let session = self.session();
        let waited = session.as_ref().map(|s| s.wait);
        let mut outcome = handle(self.registry, session, &event, &fp, self.now_ms);
        let mut fetches = 0;
        let (reply, write, note) = loop {
            match outcome {
                Outcome::Done { reply, write, note } => break (reply, write, note),
                Outcome::Fetch { session, request } => {
                    fetches += 1;
                    assert!(fetches <= MAX_FETCHES, "fetch steps loop");
                    self.requests.push(request);
                    let answer = self
                        .fetch_answers
                        .pop_front()
                        .unwrap_or_else(|| panic!("a fetch step ran that the test did not expect"));
                    outcome = resume(
                        self.registry,
                        *session,
                        &event,
                        &fp,
                        answer.as_ref().map_err(String::as_str),
                        self.now_ms,
                    );
                }
            }
        };
        if let Some(reply) = &reply {
            let waited = match &self.answered {
                Some((answered, then)) if note == Note::Duplicate && *answered == fp => *then,
                _ => waited,
            };
            check_rules(&event, waited, reply);
        }
        let changed = !matches!(write, Write::Nothing);
        if changed {
            self.answered = Some((fp, waited));
        }
        match write {
            Write::Nothing => {}
            Write::Session(session) => {
                assert_eq!(session.reference_id, self.reference_id);
                assert_eq!(
                    session.updated_ms, self.now_ms,
                    "the session has its own clock"
                );
                self.stored = Some(store(&session));
            }
            Write::Record(record) => {
                assert_eq!(record.reference_id, self.reference_id);
                assert_eq!(record.ended_ms, self.now_ms, "the record has its own clock");
                self.record = Some(*record);
                self.stored = None;
            }
        }
        self.now_ms += 1_000;
        Heard {
            reply,
            note,
            changed,
        }
    }
}

/// The session as the store writes it, and as it reads it back, which must be the same.
fn store(session: &Session) -> (String, Session) {
    let text = serde_json::to_string(session).unwrap_or_else(|e| panic!("session JSON: {e}"));
    let back: Session = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(&back, session, "the session does not survive the store");
    (text, back)
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("reply is not JSON: {e}: {json}"))
}

/// Asserts that `reply` is a well-formed JSON-RPC action that Telesign accepts in answer to
/// `event`. One exception, by design: after `send_dtmf` (for which Telesign documents no
/// completion event) the next event, whatever its type, continues the flow from the state a
/// media completion leaves the call in, so an unknown event may be answered as
/// `speak_completed` would be.
pub fn check_rules(event: &Event, waited: Option<Wait>, reply: &Reply) {
    let json = parse(&reply.json);
    assert_eq!(json["jsonrpc"], "2.0", "{}", reply.json);
    assert_eq!(json["method"], reply.method.as_str(), "{}", reply.json);
    assert!(json["params"].is_object(), "{}", reply.json);
    let method = Method::ALL
        .into_iter()
        .find(|m| m.as_str() == reply.method)
        .unwrap_or_else(|| panic!("unknown method {}", reply.method));
    let state = match (&event.kind, waited) {
        (EventKind::Unknown { .. }, Some(Wait::Dtmf)) => {
            decode_event(br#"{"event":"speak_completed","reference_id":"r"}"#)
                .map(|e| e.kind)
                .unwrap_or_else(|e| panic!("{e}"))
        }
        (kind, _) => kind.clone(),
    };
    assert!(
        may_answer(&state, method),
        "{} answered with {} (waiting for {waited:?})",
        event.kind.name(),
        reply.method
    );
}

/// Whether Telesign could post an event of `kind` next in a call where `session` is stored. A
/// body equal to the last one's is then a new event, not a redelivery: Telesign's events carry
/// no id, and consecutive events often have the same bytes (two say steps in a row, two silent
/// prompts). This is the engine's documented rule stated from Telesign's side, from the action
/// it last got: it answers a `speak` with `speak_completed` (digits, or a
/// `digit_collection_timeout`, when the speak collected digits; no digits when it did not), a
/// `play` likewise, a `dial` with `dial_completed` and `call_leg_completed`, `send_dtmf` with
/// anything.
pub fn could_follow(session: &Session, kind: &EventKind) -> bool {
    let collecting = session
        .last
        .as_ref()
        .and_then(|seen| seen.reply.as_deref())
        .is_some_and(|json| parse(json)["params"]["collect_digits"].is_object());
    let reported = |m: &MediaCompleted| {
        if collecting {
            !(m.status == MediaStatus::Completed && m.collected_digits.is_empty())
        } else {
            m.collected_digits.is_empty()
        }
    };
    match (session.wait, kind) {
        (Wait::Answer, EventKind::DialCompleted(_)) => true,
        (Wait::Speak | Wait::Notice, EventKind::SpeakCompleted(m))
        | (Wait::Play, EventKind::PlayCompleted(m)) => reported(m),
        (Wait::Bridge, EventKind::DialCompleted(_) | EventKind::CallLegCompleted(_)) => true,
        (Wait::Dtmf, kind) => !matches!(kind, EventKind::IncomingCall(_)),
        _ => false,
    }
}
