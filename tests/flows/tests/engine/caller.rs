//! A test telephone: it plays Telesign's part against the engine the way the `webhook` shell
//! does. Events are JSON bodies decoded with [`decode_event`] and fingerprinted with
//! [`fingerprint`]; the session is kept as JSON text, as the store keeps it; `fetch` steps are
//! answered from a script. Every reply is checked against the call-state rules, so each walk
//! written with a `Caller` also proves that guarantee along its whole path.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};

use ivr_core::engine::{
    fingerprint, handle, outbound_session, read_lookup, resume, resume_lookup, CallRecord,
    LookupOutcome, Note, Outcome, Reply, Session, Wait, Write,
};
use ivr_core::flow::{FetchRequest, FetchResponse, Registry};
use ivr_core::telesign::{completions, decode_event, may_answer, Event, EventKind, Method};

/// The number a caller dials when no route applies (so `bank` answers).
pub const BANK_LINE: &str = "+15555550100";
/// The number routed to `forwarding`.
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
    pub fn method(&self) -> Option<Method> {
        self.reply.as_ref().map(|r| r.method)
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
        assert_eq!(
            self.method(),
            Some(Method::Speak),
            "expected a speak: {self:?}"
        );
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
        assert_eq!(
            self.method(),
            Some(Method::Dial),
            "expected a dial: {self:?}"
        );
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
        assert_eq!(self.method(), Some(Method::Hangup), "{self:?}");
    }

    /// Asserts an event the call did not wait for, answered with `waited_on` (the prompt the
    /// call waits on) again and changing nothing.
    pub fn reissues(&self, waited_on: &Heard) {
        assert_eq!(self.note, Note::Ambiguous, "{self:?}");
        assert!(waited_on.reply.is_some(), "{waited_on:?}");
        assert_eq!(self.reply, waited_on.reply, "{self:?}");
        assert!(!self.changed, "{self:?}");
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
    /// The last action Telesign got (as JSON) and when: what it may post next, and when.
    last_action: Option<(Value, u64)>,
    /// The outcomes of the call's held requests, by index.
    lookups: BTreeMap<u32, LookupOutcome>,
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
            last_action: None,
            lookups: BTreeMap::new(),
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

    /// Whether Telesign could post `body` as the next event now (see [`could_follow`]).
    pub fn could_follow_now(&self, body: &[u8]) -> bool {
        let last = self.last_action.as_ref().map(|(action, _)| action);
        let elapsed = self
            .last_action
            .as_ref()
            .map_or(0, |(_, sent)| self.now_ms - sent);
        could_follow(last, elapsed, body)
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

    /// `speak_completed` with `speak_failed`: Telesign could not say the text.
    pub fn speak_failed(&mut self) -> Heard {
        self.media("speak_completed", "speak_failed", "")
    }

    /// `play_completed` with `playback_failed`: Telesign could not play the file.
    pub fn play_failed(&mut self) -> Heard {
        self.media("play_completed", "playback_failed", "")
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

    /// The `hangup` event (the Base Event table's "call ended"): the call must end in a record.
    pub fn hangup_event(&mut self) -> CallRecord {
        let body = self.body("hangup", json!({}));
        let heard = self.deliver(&body);
        assert_eq!(heard.note, Note::Finished, "{heard:?}");
        assert!(heard.reply.is_none(), "hangup answered: {heard:?}");
        assert!(
            self.stored.is_none(),
            "the session outlived the hangup event"
        );
        self.record
            .clone()
            .unwrap_or_else(|| panic!("hangup wrote no record"))
    }

    /// A deploy while the call is live: the next events reach `registry`'s flows.
    pub fn deploy(&mut self, registry: &'r Registry) {
        self.registry = registry;
    }

    /// Sets the clock to `utc_ms` (for opening hours).
    pub fn at(&mut self, utc_ms: u64) {
        self.now_ms = utc_ms;
    }

    /// Moves the clock on, as if the caller took `ms` to do something.
    pub fn wait_ms(&mut self, ms: u64) {
        self.now_ms += ms;
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
        if status == "digit_collection_timeout" {
            // Telesign reports a timeout once the prompt's first-digit timeout has passed.
            let timeout = self
                .last_action
                .as_ref()
                .and_then(|(action, _)| action["params"]["collect_digits"]["timeout"].as_u64());
            if let (Some(timeout), Some((_, sent))) = (timeout, &self.last_action) {
                self.now_ms = self.now_ms.max(sent + timeout + 500);
            }
        }
        self.event(
            event,
            json!({ "status": status, "collected_digits": digits }),
        )
    }

    /// Delivers an event, then delivers the very same body again a tenth of a second later,
    /// as Telesign may, unless Telesign could also post that body as the next event of the call
    /// (see [`could_follow`]): the second delivery must get the same reply and change nothing.
    /// Returns what the first got.
    pub fn event(&mut self, name: &str, data: Value) -> Heard {
        let body = self.body(name, data);
        let first = self.deliver(&body);
        if self.session().is_none() {
            return first;
        }
        let redelivered_ms = self.now_ms - 1_000 + 100;
        let last = self.last_action.as_ref().map(|(action, _)| action);
        let elapsed = self
            .last_action
            .as_ref()
            .map_or(0, |(_, sent)| redelivered_ms - sent);
        if could_follow(last, elapsed, &body) {
            return first;
        }
        let before = self.session();
        let later = self.now_ms;
        self.now_ms = redelivered_ms;
        let again = self.deliver(&body);
        self.now_ms = later;
        assert_eq!(
            again.reply, first.reply,
            "a redelivery of {name} got another reply"
        );
        // A redelivery changes nothing but the count of its repeats.
        let unrepeated = |s: Option<Session>| {
            s.map(|mut s| {
                if let Some(seen) = s.last.as_mut() {
                    seen.repeats = 0;
                }
                s
            })
        };
        assert_eq!(
            unrepeated(self.session()),
            unrepeated(before),
            "a redelivery of {name} changed the session"
        );
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
                Outcome::Done {
                    reply,
                    write,
                    note,
                    lookup,
                    ..
                } => {
                    // A held request runs after the answer: here at once, so that its outcome
                    // is there when the hold ends.
                    if let (Some(lookup), Write::Session(session)) = (lookup, &write) {
                        self.requests.push(lookup.request.clone());
                        let answer = self.fetch_answers.pop_front().unwrap_or_else(|| {
                            panic!("a held fetch step ran that the test did not expect")
                        });
                        let answer = answer.as_ref().map_err(String::as_str);
                        let outcome =
                            read_lookup(self.registry, session, &lookup, answer, self.now_ms);
                        self.lookups.insert(lookup.index, outcome);
                    }
                    break (reply, write, note);
                }
                Outcome::Lookup {
                    session,
                    taken,
                    index,
                } => {
                    let found = self.lookups.get(&index);
                    outcome = resume_lookup(
                        self.registry,
                        *session,
                        taken,
                        &event,
                        &fp,
                        found,
                        self.now_ms,
                    );
                }
                Outcome::Fetch {
                    session,
                    request,
                    taken,
                } => {
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
                        taken,
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
        // A redelivery writes only the count of its repeats: the call did not move.
        let changed = !matches!(write, Write::Nothing) && note != Note::Duplicate;
        if changed {
            self.answered = Some((fp, waited));
            self.last_action = reply.as_ref().map(|r| (parse(&r.json), self.now_ms));
        }
        match write {
            Write::Nothing => {}
            Write::Session(session) => {
                assert_eq!(session.reference_id, self.reference_id);
                if note != Note::Duplicate {
                    assert_eq!(
                        session.updated_ms, self.now_ms,
                        "the session has its own clock"
                    );
                }
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
    let method = reply.method;
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

/// Whether Telesign could post `event` next, `elapsed_ms` after it got `last` (the last action,
/// as JSON; `None` when the last event needed none, such as a bridged leg answering). Stated
/// from Telesign's side, from its pages' list of what follows each action
/// ([`completions`]), plus the two readings the engine documents: a digit timeout comes no
/// sooner than the prompt's `timeout`, and a plain prompt stops at its first key. A body that
/// could follow is not redelivered by [`Caller::event`]: it could be a new event.
pub fn could_follow(last: Option<&Value>, elapsed_ms: u64, body: &[u8]) -> bool {
    let body = parse(&String::from_utf8_lossy(body));
    let name = body["event"].as_str().unwrap_or_default();
    let Some(action) = last else {
        return matches!(name, "dial_completed" | "call_leg_completed");
    };
    let method = action["method"].as_str().and_then(Method::parse);
    let Some(method) = method else {
        return false;
    };
    if method == Method::SendDtmf {
        return name != "incoming_call";
    }
    let collect = &action["params"]["collect_digits"];
    let Some(completion) = completions(method).iter().find(|c| c.event == name) else {
        return false;
    };
    let data = &body["data"];
    let value = data[completion.field].as_str().unwrap_or_default();
    // A value the pages do not list could be one Telesign added: it could be new.
    if completion.when_collecting.contains(&value) && !collect.is_object() {
        return false;
    }
    let keys = data["collected_digits"].as_str().unwrap_or_default();
    match value {
        "digit_collection_timeout" => collect["timeout"]
            .as_u64()
            .is_some_and(|timeout| elapsed_ms >= timeout),
        // Nothing entered ends a collecting prompt only with a terminator.
        "speak_successful" | "playback_successful" if collect.is_object() => {
            !keys.is_empty() || collect["terminators"].is_string()
        }
        // At a plain prompt, the first key stops it: one key at most.
        "speak_successful" | "playback_successful" => keys.chars().count() <= 1,
        _ => true,
    }
}
