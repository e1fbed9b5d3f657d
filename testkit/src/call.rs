//! [`Call`]: one phone call, scripted by a test, played against the flows on the host.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::DateTime;
use serde_json::{json, Value};

use ivr_core::api::calls::{parse_call_request, Placing};
use ivr_core::config::Config;
use ivr_core::engine::{CallRecord, Session, Wait};
use ivr_core::flow::{FetchRequest, Registry, Taken};
use ivr_core::log::RequestLog;
use ivr_core::pipeline::event::Later;
use ivr_core::pipeline::memory::{run, Memory};
use ivr_core::pipeline::Pipeline;
use ivr_core::telesign::{decode_event, may_answer, EventKind, Method};

use crate::coverage;
use crate::stand_in::{shorten, Answer, KitClock, StandIns};

/// The person on the other end of a test call, unless the test says otherwise.
pub const CALLER: &str = "+15558675309";
/// The number outbound test calls come from (their caller id), unless the test says otherwise.
pub const CALLER_ID: &str = "+15554441313";
/// Where a test call's clock starts: 2026-12-01 15:00 UTC, a Tuesday, 10 AM in New York.
pub const START_MS: u64 = 1_796_137_200_000;
/// How long each prompt takes to play, and each key press, on the kit's clock.
const STEP_MS: u64 = 1_000;

/// What the caller hears (or what else the worker asked Telesign to do) now.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// Text to speech, in a language, maybe collecting digits.
    Speech {
        text: String,
        language: String,
        collects: bool,
    },
    /// An audio file, maybe collecting digits.
    Audio { url: String, collects: bool },
    /// A number is rung to bridge the caller.
    Ringing { number: String },
    /// Tones sent into the call.
    Tones { digits: String },
    /// The worker hung up.
    HungUp,
}

impl Heard {
    pub(crate) fn of(action: &Value) -> Option<Heard> {
        let params = &action["params"];
        let collects = params["collect_digits"].is_object();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Some(match action["method"].as_str()? {
            "speak" => Heard::Speech {
                text: text(&params["tts"]["message"]),
                language: text(&params["tts"]["language"]),
                collects,
            },
            "play" => Heard::Audio {
                url: text(&params["url"]),
                collects,
            },
            "dial" => Heard::Ringing {
                number: format!("+{}", text(&params["to"])),
            },
            "send_dtmf" => Heard::Tones {
                digits: text(&params["digits"]),
            },
            "hangup" => Heard::HungUp,
            _ => return None,
        })
    }

    fn collects(&self) -> bool {
        matches!(
            self,
            Heard::Speech { collects: true, .. } | Heard::Audio { collects: true, .. }
        )
    }

    fn is_prompt(&self) -> bool {
        matches!(self, Heard::Speech { .. } | Heard::Audio { .. })
    }

    pub(crate) fn describe(&self) -> String {
        let collect = |c: bool| if c { ", collecting digits" } else { "" };
        match self {
            Heard::Speech {
                text,
                language,
                collects,
            } => format!("speak ({language}{}): \"{text}\"", collect(*collects)),
            Heard::Audio { url, collects } => format!("play{}: {url}", collect(*collects)),
            Heard::Ringing { number } => format!("dial {number}"),
            Heard::Tones { digits } => format!("send_dtmf {digits}"),
            Heard::HungUp => "hangup".to_owned(),
        }
    }
}

/// One phone call to or from your flows, played the way Telesign plays it: each step of the test
/// posts the event Telesign would post, through the worker's own event pipeline (in memory, with
/// a clock the test sets and stand-ins for your HTTP services), and checks the answer against
/// Telesign's call-state rules. An expectation that fails prints the call so far.
///
/// ```
/// use ivr_core::flow::*;
/// use ivr_testkit::Call;
///
/// let flows = Registry::new()
///     .flow(
///         Flow::inbound("hello")
///             .step("menu", menu("Press 1 for sales.").option("1", "sales"))
///             .step("sales", say("Connecting you to sales.")),
///     )
///     .default_inbound("hello");
/// let mut call = Call::dial(flows, "+15555551212");
/// call.hears("Press 1").press("1").hears("sales").hangs_up();
/// assert_eq!(call.record().visits.steps(), ["menu", "sales"]);
/// ```
pub struct Call {
    registry: Registry,
    config: Config,
    store: Memory,
    http: StandIns,
    clock: KitClock,
    reference_id: String,
    external_id: Option<String>,
    /// `data.to` and `data.from` of every event, as Telesign writes numbers (digits only).
    to: String,
    from: String,
    outbound: bool,
    /// The worker's last action, and whether the test has heard it yet.
    current: Option<Heard>,
    heard: bool,
    /// When the last action was answered (for digit timeouts).
    answered_ms: u64,
    events: u32,
    transcript: String,
    record: Option<CallRecord>,
    taken: Vec<Taken>,
    flow: Option<String>,
    /// Held requests under way: (when the answer comes, when it started, the work).
    background: Vec<(u64, u64, Later)>,
    /// The last body posted, and its transcript label.
    last_body: Option<(String, String)>,
}

/// Where a test call starts from: the flows, the clock, the caller's number. [`Call::dial`] and
/// [`Call::place`] are the short ways; a `Phone` sets more first:
///
/// ```
/// # use ivr_core::flow::*;
/// # let flows = Registry::new()
/// #     .flow(Flow::inbound("hello").step("hi", say("Hello.")))
/// #     .default_inbound("hello");
/// use ivr_testkit::Phone;
///
/// let mut call = Phone::new(flows)
///     .at("2026-12-25T10:00:00-05:00")
///     .from("+15550001111")
///     .dial("+15555551212");
/// call.hears("Hello.").hangs_up();
/// ```
pub struct Phone {
    registry: Registry,
    start_ms: u64,
    from: String,
    settings: BTreeMap<String, String>,
}

impl Phone {
    /// A phone for calls to and from `registry`'s flows, at [`START_MS`], from [`CALLER`].
    pub fn new(registry: Registry) -> Phone {
        Phone {
            registry,
            start_ms: START_MS,
            from: CALLER.to_owned(),
            settings: BTreeMap::new(),
        }
    }

    /// The value of a setting the flows declare (`Flow::config`, `Flow::secrets`). One not
    /// given is `test:NAME`, so that the flows' code runs.
    pub fn setting(mut self, name: &str, value: &str) -> Phone {
        self.settings.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Calls start at this moment (RFC 3339, e.g. `"2026-12-25T10:00:00-05:00"`): opening hours
    /// and holidays are judged by it.
    #[track_caller]
    pub fn at(mut self, moment: &str) -> Phone {
        self.start_ms = match parse_moment(moment) {
            Ok(ms) => ms,
            Err(e) => panic!("{e}"),
        };
        self
    }

    /// Inbound calls come from `number` (E.164).
    pub fn from(mut self, number: &str) -> Phone {
        number.clone_into(&mut self.from);
        self
    }

    /// A call to `number`, answered by the flow the registry routes it to: Telesign posts
    /// `incoming_call` at once.
    #[track_caller]
    pub fn dial(self, number: &str) -> Call {
        let from = digits(&self.from);
        let mut call = Call::new(self, digits(number), from, false);
        call.post("incoming_call", json!({}), "incoming_call".to_owned());
        call
    }

    /// An outbound call of the flow `flow` to [`CALLER`], placed as `POST /calls` places it, with
    /// `vars`: the vars are checked against what the flow needs, the dial goes to (a stand-in
    /// for) Telesign, and the call waits for the callee to answer ([`Call::answers`]).
    #[track_caller]
    pub fn place(self, flow: &str, vars: &[(&str, &str)]) -> Call {
        self.place_to(flow, CALLER, vars)
    }

    /// An outbound call of `flow` to `number`.
    #[track_caller]
    pub fn place_to(self, flow: &str, number: &str, vars: &[(&str, &str)]) -> Call {
        let mut call = Call::new(self, digits(number), digits(CALLER_ID), true);
        let vars: BTreeMap<&str, &str> = vars.iter().copied().collect();
        let body = json!({ "to": number, "flow": flow, "vars": vars }).to_string();
        let request = match parse_call_request(body.as_bytes(), &call.registry, Some(CALLER_ID)) {
            Ok(request) => request,
            Err(e) => call.fail(&format!("POST /calls refused the call: {e}")),
        };
        let external_id = "kit-call-1".to_owned();
        let placing = Placing {
            flow: request.flow,
            to: request.to,
            caller_id: request.caller_id,
            vars: request.vars,
            external_id: external_id.clone(),
            options: request.options,
        };
        let now = call.clock.now();
        let placed = run(call.pipeline().place_call(&placing, now));
        match placed {
            Ok(Ok(_)) => {}
            Ok(Err(failure)) => call.fail(&format!("the dial failed: {failure:?}")),
            Err(e) => call.fail(&format!("the call could not be placed: {e}")),
        }
        call.external_id = Some(external_id);
        call.flow = Some(placing.flow.clone());
        let _ = writeln!(
            call.transcript,
            "    placed: flow {} to {number} with {} var(s)",
            placing.flow,
            placing.vars.len()
        );
        call
    }
}

impl Call {
    /// A call from [`CALLER`] to `number` (`Phone::new(registry).dial(number)`).
    #[track_caller]
    pub fn dial(registry: Registry, number: &str) -> Call {
        Phone::new(registry).dial(number)
    }

    /// An outbound call of `flow` to [`CALLER`] with `vars`
    /// (`Phone::new(registry).place(flow, vars)`).
    #[track_caller]
    pub fn place(registry: Registry, flow: &str, vars: &[(&str, &str)]) -> Call {
        Phone::new(registry).place(flow, vars)
    }

    fn new(phone: Phone, to: String, from: String, outbound: bool) -> Call {
        let Phone {
            registry,
            start_ms,
            settings,
            ..
        } = phone;
        let registry = registry
            .with_settings(|name| settings.get(name).cloned())
            .with_missing_settings(placeholder);
        let clock = KitClock::new(start_ms);
        let config = kit_config();
        let reference_id = "4B17C0000000000000000000000000A1".to_owned();
        let http = StandIns {
            telesign_url: ivr_core::telesign::dial::DEFAULT_API_URL.to_owned(),
            queued: Default::default(),
            sent: Default::default(),
            clock: clock.clone(),
            next_reference: std::cell::RefCell::new(reference_id.clone()),
        };
        Call {
            registry,
            config,
            store: Memory::default(),
            http,
            clock,
            reference_id,
            external_id: None,
            to,
            from,
            outbound,
            current: None,
            heard: false,
            answered_ms: start_ms,
            events: 0,
            transcript: String::new(),
            record: None,
            taken: Vec::new(),
            flow: None,
            background: Vec::new(),
            last_body: None,
        }
    }

    fn pipeline(&self) -> Pipeline<'_, Memory, Memory, StandIns> {
        Pipeline {
            sessions: &self.store,
            records: &self.store,
            http: &self.http,
            clock: &self.clock,
            registry: &self.registry,
            config: &self.config,
        }
    }

    // ---- The clock and the stand-ins ----------------------------------------------------------

    /// Sets the clock to a moment, e.g. `"2026-12-25T10:00:00-05:00"` (RFC 3339): opening
    /// hours and holidays are judged by it.
    pub fn at(&mut self, moment: &str) -> &mut Self {
        match parse_moment(moment) {
            Ok(ms) => {
                self.clock.set(ms);
                self
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Moves the clock on by `ms`, as if the caller took that long.
    pub fn wait_ms(&mut self, ms: u64) -> &mut Self {
        self.clock.advance(ms);
        self
    }

    /// Queues the answer the next HTTP request of a `fetch` step gets (in order).
    pub fn answer_fetch(&mut self, answer: Answer) -> &mut Self {
        self.http.queued.borrow_mut().push_back(answer);
        self
    }

    /// Every request the flow's `fetch` steps sent so far, in order.
    pub fn requests(&self) -> Vec<FetchRequest> {
        let sent = self.http.sent.borrow();
        sent.iter().map(|s| s.request.clone()).collect()
    }

    // ---- What the caller hears -----------------------------------------------------------------

    /// Expects the caller to hear speech containing `text` now. A prompt already heard that
    /// collects no digits plays through first: `call.hears("Welcome.").hears("Press 1")`.
    #[track_caller]
    pub fn hears(&mut self, text: &str) -> &mut Self {
        self.next_prompt(&format!("speech containing \"{text}\""));
        match &self.current {
            Some(Heard::Speech { text: said, .. }) if said.contains(text) => self,
            _ => self.fail(&format!("expected to hear \"{text}\"")),
        }
    }

    /// Expects speech that matches the regular expression `pattern` (`regex-lite` syntax).
    #[track_caller]
    pub fn hears_matching(&mut self, pattern: &str) -> &mut Self {
        let re = match regex_lite::Regex::new(pattern) {
            Ok(re) => re,
            Err(e) => self.fail(&format!("`{pattern}` is not a regular expression: {e}")),
        };
        self.next_prompt(&format!("speech matching /{pattern}/"));
        match &self.current {
            Some(Heard::Speech { text, .. }) if re.is_match(text) => self,
            _ => self.fail(&format!("expected to hear speech matching /{pattern}/")),
        }
    }

    /// Expects the prompt heard last to say `text` as well: `call.hears("Hello Sam.")
    /// .also_hears("Friday at 9 AM")`.
    #[track_caller]
    pub fn also_hears(&mut self, text: &str) -> &mut Self {
        match &self.current {
            Some(Heard::Speech { text: said, .. }) if self.heard && said.contains(text) => self,
            _ => self.fail(&format!(
                "expected the prompt heard last to say \"{text}\" too"
            )),
        }
    }

    /// Expects the audio file at `url` to play now.
    #[track_caller]
    pub fn hears_audio(&mut self, url: &str) -> &mut Self {
        self.next_prompt(&format!("audio {url}"));
        match &self.current {
            Some(Heard::Audio { url: playing, .. }) if playing == url => self,
            _ => self.fail(&format!("expected the audio {url}")),
        }
    }

    /// Expects the speech heard now to be in `language` (a TTS tag such as `es-US`).
    #[track_caller]
    pub fn in_language(&mut self, language: &str) -> &mut Self {
        match &self.current {
            Some(Heard::Speech { language: l, .. }) if l == language => self,
            _ => self.fail(&format!("expected speech in {language}")),
        }
    }

    /// The caller waits on hold: the hold prompts of a `fetch` step play through, one after the
    /// other, until the call goes on with the request's outcome (or gives up on it). Fails when
    /// no hold plays.
    #[track_caller]
    pub fn on_hold(&mut self) -> &mut Self {
        let held = |call: &Call| call.session().is_some_and(|s| s.held.is_some());
        if !held(self) {
            self.fail("expected the caller to be on hold while a request runs");
        }
        let mut plays = 0;
        while held(self) {
            let Some(current) = self.current.clone().filter(Heard::is_prompt) else {
                self.fail("expected a hold prompt");
            };
            plays += 1;
            let event = media_event(&current);
            let status = media_status(&current, "successful");
            let _ = writeln!(self.transcript, "    (hold {plays})");
            self.media(event, status, "", format!("{event} ({status})"));
        }
        self
    }

    /// What the caller hears (or what the worker asked for) now, if anything.
    pub fn now_hearing(&self) -> Option<&Heard> {
        self.current.as_ref()
    }

    /// The prompt already heard plays through (when it collects nothing), so that the next
    /// expectation is about what comes after it.
    #[track_caller]
    fn next_prompt(&mut self, wanted: &str) {
        if !self.heard {
            self.heard = true;
            return;
        }
        match &self.current {
            Some(h) if h.is_prompt() && !h.collects() => {
                let event = media_event(h);
                let status = media_status(h, "successful");
                self.media(event, status, "", format!("{event} ({status})"));
                self.heard = true;
            }
            Some(h) if h.collects() => self.fail(&format!(
                "expected {wanted}, but the caller is still at a prompt that waits for keys: \
                 call `.press(..)` or `.silence()` first"
            )),
            _ => self.fail(&format!("expected {wanted}")),
        }
    }

    // ---- What the caller does ------------------------------------------------------------------

    /// The caller presses `keys` at the prompt playing now. At a prompt that collects digits
    /// they are the entry (a terminator such as `#` ends it); at a plain prompt the first key
    /// stops it, so only one key can be pressed there.
    #[track_caller]
    pub fn press(&mut self, keys: &str) -> &mut Self {
        if keys.is_empty()
            || !keys
                .chars()
                .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            self.fail(&format!("`{keys}` is not a key press: use 0-9, * and #"));
        }
        let Some(current) = self.current.clone().filter(Heard::is_prompt) else {
            self.fail(&format!("the caller pressed {keys}, but no prompt plays"));
        };
        if !current.collects() && keys.chars().count() > 1 {
            self.fail(&format!(
                "the caller pressed {keys} during a prompt that collects no digits: the first \
                 key stops it, so press one key there"
            ));
        }
        let event = media_event(&current);
        let status = media_status(&current, "successful");
        // A sensitive entry shows masked, as everywhere else.
        let shown = match self.at_sensitive_entry() {
            true => ivr_core::mask::mask_keys(keys),
            false => keys.to_owned(),
        };
        let _ = writeln!(self.transcript, "    caller presses {shown}");
        self.media(event, status, keys, format!("{event} ({status}, {shown})"));
        self
    }

    /// Whether the call waits at a sensitive entry (`gather(..).sensitive()`).
    fn at_sensitive_entry(&self) -> bool {
        let (Some(flow), Some(step)) = (self.flow.as_deref(), self.step()) else {
            return false;
        };
        self.registry
            .get(flow)
            .is_some_and(|f| f.sensitive_entry(&step).is_some())
    }

    /// The caller presses nothing: a prompt that collects digits times out; a plain prompt plays
    /// through.
    #[track_caller]
    pub fn silence(&mut self) -> &mut Self {
        let Some(current) = self.current.clone().filter(Heard::is_prompt) else {
            self.fail("the caller stays silent, but no prompt plays");
        };
        let event = media_event(&current);
        if current.collects() {
            let _ = writeln!(self.transcript, "    caller presses nothing");
            // Telesign reports the timeout once the prompt's first-digit timeout has passed.
            let waited = self.collect_timeout_ms().unwrap_or(STEP_MS);
            let due = self.answered_ms + waited + 500;
            self.clock.set(self.clock.now().max(due));
            let status = "digit_collection_timeout";
            self.media(event, status, "", format!("{event} ({status})"));
        } else {
            let status = media_status(&current, "successful");
            self.media(event, status, "", format!("{event} ({status})"));
        }
        self
    }

    /// Telesign cannot play the prompt playing now (`speak_failed` / `playback_failed`).
    #[track_caller]
    pub fn prompt_fails(&mut self) -> &mut Self {
        let Some(current) = self.current.clone().filter(Heard::is_prompt) else {
            self.fail("a prompt failed, but no prompt plays");
        };
        let event = media_event(&current);
        let status = match current {
            Heard::Audio { .. } => "playback_failed",
            _ => "speak_failed",
        };
        self.media(event, status, "", format!("{event} ({status})"));
        self
    }

    /// The caller hangs up now: Telesign posts `call_completed`, and the call's record is
    /// written.
    #[track_caller]
    pub fn hang_up(&mut self) -> &mut Self {
        let _ = writeln!(self.transcript, "    caller hangs up");
        self.end_call();
        self
    }

    /// Expects the worker to have hung up (after the prompt heard last plays through, if one
    /// is playing); Telesign then posts `call_completed` and the record is written.
    #[track_caller]
    pub fn hangs_up(&mut self) -> &mut Self {
        if self.current.as_ref().is_some_and(|h| h.is_prompt()) {
            self.next_prompt("a hangup");
        }
        if self.current != Some(Heard::HungUp) {
            self.fail("expected the worker to hang up");
        }
        self.end_call();
        self
    }

    /// Expects the worker to ring `number` to bridge the caller (E.164).
    #[track_caller]
    pub fn rings(&mut self, number: &str) -> &mut Self {
        if self.current.as_ref().is_some_and(|h| h.is_prompt()) {
            self.next_prompt(&format!("a dial to {number}"));
        }
        match &self.current {
            Some(Heard::Ringing { number: n }) if *n == number => self,
            _ => self.fail(&format!("expected a dial to {number}")),
        }
    }

    /// The number being rung answers, and the agent later hangs up with the caller still on the
    /// line (`dial_completed` answered, then `call_leg_completed` with `call_answered`).
    #[track_caller]
    pub fn agent_answers_then_hangs_up(&mut self) -> &mut Self {
        self.expect_ringing();
        self.post(
            "dial_completed",
            json!({ "status": "answered" }),
            "dial_completed (answered)".to_owned(),
        );
        self.post(
            "call_leg_completed",
            json!({ "hangup_cause": "call_answered" }),
            "call_leg_completed (call_answered)".to_owned(),
        );
        self
    }

    /// The number being rung does not answer (`call_leg_completed` with `call_not_answered`,
    /// or `line_busy` with `busy`).
    #[track_caller]
    pub fn no_answer(&mut self) -> &mut Self {
        self.expect_ringing();
        self.post(
            "call_leg_completed",
            json!({ "hangup_cause": "call_not_answered" }),
            "call_leg_completed (call_not_answered)".to_owned(),
        );
        self
    }

    /// The callee of an outbound call answers (`dial_completed` with `answered`).
    #[track_caller]
    pub fn answers(&mut self) -> &mut Self {
        if !self.outbound || self.events > 0 {
            self.fail("only a placed call that has not started can be answered");
        }
        self.post(
            "dial_completed",
            json!({ "status": "answered" }),
            "dial_completed (answered)".to_owned(),
        );
        self
    }

    /// The callee of an outbound call does not answer: the dial fails and the call ends.
    #[track_caller]
    pub fn is_not_answered(&mut self) -> &mut Self {
        if !self.outbound || self.events > 0 {
            self.fail("only a placed call that has not started can go unanswered");
        }
        self.post(
            "dial_completed",
            json!({ "status": "failed" }),
            "dial_completed (failed)".to_owned(),
        );
        self.end_call();
        self
    }

    // ---- What the worker keeps -----------------------------------------------------------------

    /// A variable of the call as the worker holds it now (live session, or the record once the
    /// call ended).
    pub fn var(&self, name: &str) -> Option<String> {
        match (&self.record, self.session()) {
            (_, Some(s)) => s.vars.get(name).cloned(),
            (Some(r), None) => r.vars.get(name).cloned(),
            (None, None) => None,
        }
    }

    /// The step the call is at (while it lasts).
    pub fn step(&self) -> Option<String> {
        self.session().map(|s| s.step)
    }

    /// The call's live session, as the worker would store it.
    pub fn session(&self) -> Option<Session> {
        self.store
            .sessions
            .borrow()
            .get(&self.reference_id)
            .cloned()
    }

    /// The call record, once the call has ended.
    #[track_caller]
    pub fn record(&self) -> &CallRecord {
        match &self.record {
            Some(record) => record,
            None => self.fail("the call has not ended: it has no record yet"),
        }
    }

    /// Everything that happened so far: each event posted, the worker's answer, what the caller
    /// did, and each HTTP request a `fetch` step sent.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// The branches the call took so far, step by step.
    pub fn taken(&self) -> &[Taken] {
        &self.taken
    }

    // ---- The wire ------------------------------------------------------------------------------

    #[track_caller]
    fn expect_ringing(&self) {
        if !matches!(self.current, Some(Heard::Ringing { .. })) {
            self.fail("expected a number to be ringing");
        }
    }

    fn collect_timeout_ms(&self) -> Option<u64> {
        let session = self.session()?;
        let flow = self.registry.get(&session.flow)?;
        let step = flow.get(&session.step)?.input_step()?;
        Some(u64::from(step.input.timeout_ms))
    }

    #[track_caller]
    fn media(&mut self, event: &str, status: &str, keys: &str, label: String) {
        self.post(
            event,
            json!({ "status": status, "collected_digits": keys }),
            label,
        );
    }

    #[track_caller]
    fn end_call(&mut self) {
        if self.record.is_some() {
            return;
        }
        let status = if self.outbound && self.events <= 1 {
            "failed"
        } else {
            "hangup"
        };
        let data = json!({
            "direction": if self.outbound { "outbound" } else { "inbound" },
            "status": status,
            "created_on_utc": "2026-12-01T15:00:00.000000",
            "answered_on_utc": "2026-12-01T15:00:01.000000",
            "ended_on_utc": "2026-12-01T15:01:00.000000",
            "duration": 59,
        });
        self.post("call_completed", data, "call_completed".to_owned());
        // Requests still under way finish after the call, as on Cloudflare.
        self.run_background(u64::MAX);
        let record = self.store.records.borrow().get(&self.reference_id).cloned();
        match record {
            Some(record) => self.record = Some(record),
            None => self.fail("call_completed left no call record"),
        }
        if self.session().is_some() {
            self.fail("the call's session outlived call_completed");
        }
    }

    /// Runs the held requests whose answers have come by `until_ms`, each on the clock as it was
    /// when it started, so that its outcome carries the time its answer came.
    fn run_background(&mut self, until_ms: u64) {
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.background)
            .into_iter()
            .partition(|(at, _, _)| *at <= until_ms);
        self.background = waiting;
        for (at, started, later) in due {
            let now = self.clock.now();
            let sent_before = self.http.sent.borrow().len();
            self.clock.set(started);
            let _ = run(self.pipeline().later(later, &self.clock));
            self.clock.set(now.max(at));
            let _ = writeln!(self.transcript, "    (a held request, after the answer)");
            self.note_requests(sent_before);
            let unanswered = self.http.sent.borrow()[sent_before..]
                .iter()
                .any(|s| s.answer.is_none());
            if unanswered {
                self.fail(
                    "a held fetch step sent a request the test gave no answer for: queue one \
                     with `.answer_fetch(Answer::json(..))` before the event that reaches the step",
                );
            }
        }
    }

    /// Telesign delivers the last event again, byte for byte (its events carry no id): the
    /// worker must answer it as it did (a redelivery), or take it as the call's next event when
    /// that event could be the same bytes; either way nothing is lost.
    #[track_caller]
    pub fn redelivers(&mut self) -> &mut Self {
        let Some((body, label)) = self.last_body.clone() else {
            self.fail("Telesign has delivered no event to deliver again");
        };
        self.deliver(body, format!("{label}, again"));
        self
    }

    /// Posts one event as Telesign would and takes the worker's answer.
    #[track_caller]
    fn post(&mut self, name: &str, mut data: Value, label: String) {
        if let Value::Object(map) = &mut data {
            map.insert("to".into(), json!(self.to));
            map.insert("from".into(), json!(self.from));
        }
        let mut body = json!({ "event": name, "reference_id": self.reference_id, "data": data });
        if let Some(external_id) = &self.external_id {
            body["external_id"] = json!(external_id);
        }
        self.deliver(body.to_string(), label);
    }

    #[track_caller]
    fn deliver(&mut self, body: String, label: String) {
        self.run_background(self.clock.now());
        self.last_body = Some((body.clone(), label.clone()));
        let event = match decode_event(body.as_bytes()) {
            Ok(event) => event,
            Err(e) => self.fail(&format!("the kit built an event the worker refuses: {e}")),
        };
        let before = self.session();
        let waited = before.as_ref().map(|s| s.wait);
        self.events += 1;
        let now = self.clock.now();
        let sent_before = self.http.sent.borrow().len();
        let mut log = RequestLog::default();
        let handled =
            run(self
                .pipeline()
                .event(&event, body.as_bytes(), now, &mut log, &self.clock));
        let handled = match handled {
            Ok(handled) => handled,
            Err(e) => self.fail(&format!("the worker failed {label}: {e}")),
        };
        let reply: Option<Value> = handled
            .reply
            .as_ref()
            .and_then(|r| serde_json::from_str(&r.json).ok());
        let heard = reply.as_ref().and_then(Heard::of);
        let answer = match &heard {
            Some(h) => h.describe(),
            None => "no action (204)".to_owned(),
        };
        let _ = writeln!(self.transcript, "[{}] {label:<44} -> {answer}", self.events);
        self.note_requests(sent_before);
        if let Some(flow) = before
            .as_ref()
            .map(|s| s.flow.clone())
            .or_else(|| self.session().map(|s| s.flow))
        {
            self.flow = Some(flow);
        }
        self.taken.extend(handled.taken);
        if let Some(reply) = &reply {
            if let Err(why) = check_reply(&event.kind, waited, reply) {
                self.fail(&format!("the worker broke Telesign's rules: {why}"));
            }
        }
        for later in handled.later {
            match later {
                // A held request runs beside the call: its answer comes when the stand-in says.
                Later::Lookup { .. } => {
                    let started = self.clock.now();
                    let took = self.http.next_delay_ms(self.config.held_fetch_timeout_ms);
                    self.background.push((started + took, started, later));
                }
                later => {
                    let _ = run(self.pipeline().later(later, &self.clock));
                }
            }
        }
        let live = self.session().is_some_and(|s| s.wait != Wait::Hangup);
        let ends = event.kind.call_ended().is_some();
        if reply.is_none() && live && !ends && !matches!(waited, Some(Wait::Bridge)) {
            self.fail(&format!(
                "the worker answered {label} with no action while the caller is on the line: \
                 the caller would hear silence"
            ));
        }
        if self
            .http
            .sent
            .borrow()
            .iter()
            .skip(sent_before)
            .any(|s| s.answer.is_none())
        {
            self.fail(
                "a fetch step sent a request the test gave no answer for: queue one with \
                 `.answer_fetch(Answer::json(..))` before the event that reaches the step",
            );
        }
        if reply.is_some() {
            self.current = heard;
            self.heard = false;
            self.answered_ms = self.clock.now();
        }
        self.clock.advance(STEP_MS);
    }

    fn note_requests(&mut self, from: usize) {
        let sent = self.http.sent.borrow();
        for s in sent.iter().skip(from) {
            let answer = s
                .answer
                .as_ref()
                .map_or("no answer queued".to_owned(), Answer::describe);
            let _ = writeln!(
                self.transcript,
                "    {} {} -> {answer}",
                s.request.method,
                shorten(&s.request.url, 80)
            );
        }
    }

    /// Fails the test with `message` and the call so far.
    #[track_caller]
    fn fail(&self, message: &str) -> ! {
        let now = match &self.current {
            Some(h) if self.record.is_none() => format!("\nnow: {}", h.describe()),
            _ => String::new(),
        };
        let flow = self.flow.as_deref().unwrap_or("?");
        let step = self
            .step()
            .map_or(String::new(), |s| format!(", step `{s}`"));
        panic!(
            "{message}{now}\n(flow `{flow}`{step})\n\nthe call so far:\n{}",
            self.transcript
        );
    }

    pub(crate) fn flow_name(&self) -> Option<&str> {
        self.flow.as_deref()
    }

    /// The steps the call entered so far, in order.
    pub fn visited(&self) -> Vec<String> {
        match (self.session(), &self.record) {
            (Some(s), _) => s.visits.iter().map(|v| v.step.clone()).collect(),
            (None, Some(r)) => r.visits.iter().map(|v| v.step.clone()).collect(),
            (None, None) => Vec::new(),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        coverage::note_call(self);
    }
}

impl KitClock {
    fn now(&self) -> u64 {
        use ivr_core::pipeline::ports::Clock as _;
        self.now_ms()
    }
}

/// The configuration of a test call: the worker's defaults, with credentials so that outbound
/// calls can be placed (to the kit's stand-in for Telesign).
fn kit_config() -> Config {
    Config::from_lookup(|name| match name {
        "TELESIGN_CUSTOMER_ID" => Some("00000000-0000-4000-8000-000000000000".to_owned()),
        "TELESIGN_API_KEY" => Some("a2l0LXRlc3Qta2V5".to_owned()),
        _ => None,
    })
}

/// The value of a setting a test does not give (`flow-test stand-in value of NAME`), so that the
/// flows' code runs.
pub(crate) fn placeholder(name: &str) -> Option<String> {
    // Long enough to be a key, for the secret sensitive entries are sealed with.
    Some(format!("flow-test stand-in value of {name}"))
}

/// Milliseconds since the epoch of an RFC 3339 date-time.
fn parse_moment(moment: &str) -> Result<u64, String> {
    DateTime::parse_from_rfc3339(moment)
        .ok()
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
        .ok_or_else(|| format!("`{moment}` is not an RFC 3339 date-time after 1970"))
}

fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

fn media_event(h: &Heard) -> &'static str {
    match h {
        Heard::Audio { .. } => "play_completed",
        _ => "speak_completed",
    }
}

fn media_status(h: &Heard, outcome: &str) -> &'static str {
    match (h, outcome) {
        (Heard::Audio { .. }, _) => "playback_successful",
        _ => "speak_successful",
    }
}

/// Whether `reply` is a well-formed JSON-RPC action that Telesign accepts in answer to `event`
/// (Telesign's call-state rules, `ivr_core::telesign::rules`). After `send_dtmf`, for which
/// Telesign documents no completion, the next event continues the call as a media completion
/// would.
pub fn check_reply(event: &EventKind, waited: Option<Wait>, reply: &Value) -> Result<(), String> {
    if reply["jsonrpc"] != "2.0" || !reply["params"].is_object() {
        return Err(format!("not a JSON-RPC 2.0 action: {reply}"));
    }
    let name = reply["method"].as_str().unwrap_or_default();
    let Some(method) = Method::parse(name) else {
        return Err(format!("unknown method `{name}`"));
    };
    let after_dtmf = matches!(event, EventKind::Unknown { .. }) && waited == Some(Wait::Dtmf);
    let allowed = if after_dtmf {
        matches!(method, Method::Speak | Method::Play | Method::Hangup)
    } else {
        may_answer(event, method)
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "`{name}` answered {} (Telesign answers unsupported_call_state)",
            event.name()
        ))
    }
}
