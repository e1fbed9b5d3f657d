//! The call-flow language: a flow is a list of named steps, written in Rust in `flows/` and compiled
//! into the worker. Steps are plain data (plus `fn` pointers for user code), so the engine can walk
//! them without I/O and the validator can check every path before a call ever reaches them.
//!
//! ```
//! use ivr_core::flow::*;
//!
//! let flow = Flow::inbound("hello")
//!     .step("welcome", say("Hello {caller|digits}.").then("menu"))
//!     .step(
//!         "menu",
//!         menu("Press 1 for sales. Press 9 to hear this again.")
//!             .option("1", "sales")
//!             .repeat("9")
//!             .fallback("goodbye"),
//!     )
//!     .step("sales", dial(["+15555550100"]).on_no_answer("goodbye"))
//!     .step("goodbye", say("Goodbye."));
//! assert_eq!(flow.start(), Some("welcome"));
//! ```

pub mod diagram;
mod registry;
pub mod template;
pub mod validate;

use std::collections::BTreeMap;

pub use registry::Registry;

/// Who starts the calls a flow handles: Telesign's `incoming_call` (inbound) or our own dial
/// (outbound, answered by `dial_completed`). It decides which actions the first step may send.
pub use crate::telesign::Direction;

/// A named call flow. The first step added is where every call starts.
#[derive(Debug, Clone)]
pub struct Flow {
    pub name: String,
    pub direction: Direction,
    /// TTS language of every `speak` that does not name its own (default `en-US`).
    pub language: String,
    pub steps: Vec<(String, Step)>,
}

impl Flow {
    /// A flow for calls that come in to one of your Telesign numbers.
    pub fn inbound(name: &str) -> Self {
        Self::new(name, Direction::Inbound)
    }

    /// A flow for calls the worker places (`POST /calls`, campaigns).
    pub fn outbound(name: &str) -> Self {
        Self::new(name, Direction::Outbound)
    }

    fn new(name: &str, direction: Direction) -> Self {
        Self {
            name: name.to_owned(),
            direction,
            language: "en-US".to_owned(),
            steps: Vec::new(),
        }
    }

    /// The default TTS language of this flow.
    pub fn language(mut self, tag: &str) -> Self {
        self.language = tag.to_owned();
        self
    }

    /// Adds a step. Names are unique; the validator reports a repeated name.
    pub fn step(mut self, name: &str, step: impl Into<Step>) -> Self {
        self.steps.push((name.to_owned(), step.into()));
        self
    }

    /// The step every call starts at.
    pub fn start(&self) -> Option<&str> {
        self.steps.first().map(|(n, _)| n.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// What the caller hears: text to speak, or an audio file to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Text-to-speech; `{var}` placeholders are filled from the session (see [`template`]).
    Speak {
        text: String,
        language: Option<String>,
    },
    /// An https URL of a 16-bit PCM audio file allow-listed with Telesign.
    Play { url: String },
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::Speak {
            text: text.to_owned(),
            language: None,
        }
    }
}

/// An audio file prompt: `say(audio("https://example.com/welcome.wav"))`.
pub fn audio(url: &str) -> Prompt {
    Prompt::Play {
        url: url.to_owned(),
    }
}

/// Text spoken in another language than the flow's: `say(speak_in("es-US", "Hola"))`.
pub fn speak_in(language: &str, text: &str) -> Prompt {
    Prompt::Speak {
        text: text.to_owned(),
        language: Some(language.to_owned()),
    }
}

/// Where a step goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Continue at the named step.
    Step(String),
    /// End the call.
    Hangup,
    /// The input just collected was not acceptable: prompt for it again (counting a retry) at
    /// the input step that collected it, or go to its fallback when the retries are spent.
    Retry,
}

impl Next {
    pub fn to(step: &str) -> Self {
        Next::Step(step.to_owned())
    }
}

/// How digits are collected while a prompt plays (Telesign's `collect_digits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub max_digits: u32,
    /// Wait for the first digit, in milliseconds.
    pub timeout_ms: u32,
    /// Wait between digits once the first was pressed, in milliseconds.
    pub inter_digit_timeout_ms: u32,
    /// Keys that end the entry early (not part of the value), e.g. `#`.
    pub terminators: String,
}

impl Default for Input {
    fn default() -> Self {
        Self {
            max_digits: 1,
            timeout_ms: 5_000,
            inter_digit_timeout_ms: 3_000,
            terminators: String::new(),
        }
    }
}

/// What happens when input is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retries {
    /// Said before the prompt again when nothing was pressed.
    pub no_input: String,
    /// Said before the prompt again when the entry was not acceptable.
    pub invalid: String,
    /// How many times the prompt is repeated before giving up.
    pub max: u32,
    /// Where to go when the retries are spent; `None` hangs up.
    pub fallback: Option<String>,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            no_input: "Sorry, I didn't get that.".to_owned(),
            invalid: "Sorry, that is not a valid choice.".to_owned(),
            max: 2,
            fallback: None,
        }
    }
}

/// User code that decides where the call goes next, from the session.
pub type DecideFn = fn(&mut Ctx) -> Next;
/// User code that builds an HTTP request from the session.
pub type RequestFn = fn(&Ctx) -> FetchRequest;
/// User code that reads the answer to that request (or its failure) and decides where to go.
pub type ResponseFn = fn(&mut Ctx, Result<&FetchResponse, &str>) -> Next;

/// One step of a flow.
#[derive(Debug, Clone)]
pub enum Step {
    /// Speak or play a prompt, then go on.
    Say { prompt: Prompt, next: Next },
    /// Speak or play a menu and branch on the key pressed.
    Menu {
        prompt: Prompt,
        options: Vec<(String, String)>,
        repeat: Option<String>,
        /// Variable that keeps the name of the option chosen (e.g. `choice` = `confirmed`).
        save_as: Option<String>,
        input: Input,
        retries: Retries,
    },
    /// Collect a multi-digit value into a session variable.
    Gather {
        prompt: Prompt,
        var: String,
        min_digits: u32,
        input: Input,
        next: Next,
        retries: Retries,
    },
    /// Run user code to pick the next step (no action of its own).
    Decide {
        targets: Vec<String>,
        decide: DecideFn,
    },
    /// Call an HTTP API, then run user code on the answer to pick the next step.
    Fetch {
        targets: Vec<String>,
        request: RequestFn,
        response: ResponseFn,
    },
    /// Bridge the caller to a number, trying each in turn until one answers.
    Dial {
        numbers: Vec<String>,
        caller_id: Option<String>,
        record: bool,
        /// After a bridged leg that was answered has ended.
        after: Next,
        /// When no number answered.
        on_no_answer: Next,
    },
    /// Send DTMF tones into an answered outbound call (e.g. an extension), then go on.
    SendDtmf { digits: String, next: Next },
    /// End the call.
    Hangup,
}

impl Step {
    /// Every step this one can lead to, for validation and diagrams.
    pub fn targets(&self) -> Vec<&str> {
        fn next(n: &Next) -> Option<&str> {
            match n {
                Next::Step(s) => Some(s),
                _ => None,
            }
        }
        let mut out: Vec<&str> = Vec::new();
        match self {
            Step::Say { next: n, .. } | Step::SendDtmf { next: n, .. } => out.extend(next(n)),
            Step::Menu {
                options, retries, ..
            } => {
                out.extend(options.iter().map(|(_, t)| t.as_str()));
                out.extend(retries.fallback.as_deref());
            }
            Step::Gather {
                next: n, retries, ..
            } => {
                out.extend(next(n));
                out.extend(retries.fallback.as_deref());
            }
            Step::Decide { targets, .. } | Step::Fetch { targets, .. } => {
                out.extend(targets.iter().map(String::as_str))
            }
            Step::Dial {
                after,
                on_no_answer,
                ..
            } => {
                out.extend(next(after));
                out.extend(next(on_no_answer));
            }
            Step::Hangup => {}
        }
        out
    }

    /// Whether the step asks the caller for digits.
    pub fn is_input(&self) -> bool {
        matches!(self, Step::Menu { .. } | Step::Gather { .. })
    }
}

// ---- Builders: each reads like the call it describes. --------------------------------------

/// Speak or play a prompt; the call hangs up after it unless `.then(..)` names a next step.
pub fn say(prompt: impl Into<Prompt>) -> Then {
    Then(Step::Say {
        prompt: prompt.into(),
        next: Next::Hangup,
    })
}

/// A step with one way on (`say`, `send_dtmf`): it hangs up after itself unless `.then(..)`
/// names the next step.
pub struct Then(Step);

impl Then {
    pub fn then(mut self, step: &str) -> Self {
        if let Step::Say { next, .. } | Step::SendDtmf { next, .. } = &mut self.0 {
            *next = Next::to(step);
        }
        self
    }
}

impl From<Then> for Step {
    fn from(b: Then) -> Step {
        b.0
    }
}

/// A menu: the caller presses a key and the call branches.
pub fn menu(prompt: impl Into<Prompt>) -> MenuBuilder {
    MenuBuilder {
        prompt: prompt.into(),
        options: Vec::new(),
        repeat: None,
        save_as: None,
        input: Input::default(),
        retries: Retries::default(),
        max_digits: None,
    }
}

pub struct MenuBuilder {
    prompt: Prompt,
    options: Vec<(String, String)>,
    repeat: Option<String>,
    save_as: Option<String>,
    input: Input,
    retries: Retries,
    max_digits: Option<u32>,
}

impl MenuBuilder {
    /// Pressing `keys` goes to `step`.
    pub fn option(mut self, keys: &str, step: &str) -> Self {
        self.options.push((keys.to_owned(), step.to_owned()));
        self
    }
    /// Pressing `keys` plays the menu again (not counted as a retry).
    pub fn repeat(mut self, keys: &str) -> Self {
        self.repeat = Some(keys.to_owned());
        self
    }
    /// Keeps the chosen option's step name in the variable `var` (and so in the call record).
    pub fn save_as(mut self, var: &str) -> Self {
        self.save_as = Some(var.to_owned());
        self
    }
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.input.timeout_ms = ms;
        self
    }
    /// How many keys a choice has (default: the longest option).
    pub fn max_digits(mut self, n: u32) -> Self {
        self.max_digits = Some(n);
        self
    }
    pub fn no_input(mut self, text: &str) -> Self {
        self.retries.no_input = text.to_owned();
        self
    }
    pub fn invalid(mut self, text: &str) -> Self {
        self.retries.invalid = text.to_owned();
        self
    }
    /// How many times the menu is repeated after no input or a wrong key.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries.max = n;
        self
    }
    /// Where to go when the retries are spent (default: hang up).
    pub fn fallback(mut self, step: &str) -> Self {
        self.retries.fallback = Some(step.to_owned());
        self
    }
}

impl From<MenuBuilder> for Step {
    fn from(b: MenuBuilder) -> Step {
        let longest = b
            .options
            .iter()
            .map(|(k, _)| k.len())
            .chain(b.repeat.as_ref().map(String::len))
            .max()
            .unwrap_or(1);
        let max_digits = b.max_digits.unwrap_or(u32::try_from(longest).unwrap_or(1));
        Step::Menu {
            prompt: b.prompt,
            options: b.options,
            repeat: b.repeat,
            save_as: b.save_as,
            input: Input {
                max_digits,
                ..b.input
            },
            retries: b.retries,
        }
    }
}

/// Collect a value of several digits (account number, PIN, date) into the variable `var`.
pub fn gather(prompt: impl Into<Prompt>, var: &str) -> GatherBuilder {
    GatherBuilder(Step::Gather {
        prompt: prompt.into(),
        var: var.to_owned(),
        min_digits: 1,
        input: Input {
            max_digits: 10,
            timeout_ms: 8_000,
            inter_digit_timeout_ms: 3_000,
            terminators: "#".to_owned(),
        },
        next: Next::Hangup,
        retries: Retries {
            invalid: "Sorry, that entry is not valid.".to_owned(),
            ..Retries::default()
        },
    })
}

pub struct GatherBuilder(Step);

impl GatherBuilder {
    fn with(mut self, f: impl FnOnce(&mut u32, &mut Input, &mut Next, &mut Retries)) -> Self {
        if let Step::Gather {
            min_digits,
            input,
            next,
            retries,
            ..
        } = &mut self.0
        {
            f(min_digits, input, next, retries);
        }
        self
    }
    /// Accept between `min` and `max` digits (fewer is invalid input).
    pub fn digits(self, min: u32, max: u32) -> Self {
        self.with(|lo, input, _, _| {
            *lo = min;
            input.max_digits = max;
        })
    }
    /// Keys that end the entry early (default `#`).
    pub fn terminators(self, keys: &str) -> Self {
        self.with(|_, input, _, _| input.terminators = keys.to_owned())
    }
    /// Wait for the first digit, in milliseconds.
    pub fn timeout_ms(self, ms: u32) -> Self {
        self.with(|_, input, _, _| input.timeout_ms = ms)
    }
    /// Wait between digits, in milliseconds.
    pub fn inter_digit_timeout_ms(self, ms: u32) -> Self {
        self.with(|_, input, _, _| input.inter_digit_timeout_ms = ms)
    }
    pub fn then(self, step: &str) -> Self {
        self.with(|_, _, next, _| *next = Next::to(step))
    }
    pub fn no_input(self, text: &str) -> Self {
        self.with(|_, _, _, r| r.no_input = text.to_owned())
    }
    pub fn invalid(self, text: &str) -> Self {
        self.with(|_, _, _, r| r.invalid = text.to_owned())
    }
    pub fn retries(self, n: u32) -> Self {
        self.with(|_, _, _, r| r.max = n)
    }
    pub fn fallback(self, step: &str) -> Self {
        self.with(|_, _, _, r| r.fallback = Some(step.to_owned()))
    }
}

impl From<GatherBuilder> for Step {
    fn from(b: GatherBuilder) -> Step {
        b.0
    }
}

/// Run `decide` to choose the next step among `targets` (declared so flows can be validated; a
/// step not declared here is refused at run time and the call ends politely).
pub fn decide<const N: usize>(targets: [&str; N], decide: DecideFn) -> Step {
    Step::Decide {
        targets: targets.iter().map(|s| (*s).to_owned()).collect(),
        decide,
    }
}

/// Call an HTTP API: `request` builds the request from the session, `response` reads the answer
/// (or the failure, e.g. a timeout) and picks the next step among `targets`.
pub fn fetch<const N: usize>(targets: [&str; N], request: RequestFn, response: ResponseFn) -> Step {
    Step::Fetch {
        targets: targets.iter().map(|s| (*s).to_owned()).collect(),
        request,
        response,
    }
}

/// Bridge the caller to the first number that answers. Numbers may be templates (`"{agent}"`).
pub fn dial<const N: usize>(numbers: [&str; N]) -> DialBuilder {
    DialBuilder(Step::Dial {
        numbers: numbers.iter().map(|s| (*s).to_owned()).collect(),
        caller_id: None,
        record: false,
        after: Next::Hangup,
        on_no_answer: Next::Hangup,
    })
}

pub struct DialBuilder(Step);

impl DialBuilder {
    fn with(
        mut self,
        f: impl FnOnce(&mut Option<String>, &mut bool, &mut Next, &mut Next),
    ) -> Self {
        if let Step::Dial {
            caller_id,
            record,
            after,
            on_no_answer,
            ..
        } = &mut self.0
        {
            f(caller_id, record, after, on_no_answer);
        }
        self
    }
    /// The caller id shown to the called party (default: the number the caller dialed).
    pub fn caller_id(self, number: &str) -> Self {
        self.with(|c, _, _, _| *c = Some(number.to_owned()))
    }
    /// Record the bridged call (the file name arrives in the call record).
    pub fn record(self) -> Self {
        self.with(|_, r, _, _| *r = true)
    }
    /// Where to go when no number answered (default: hang up).
    pub fn on_no_answer(self, step: &str) -> Self {
        self.with(|_, _, _, n| *n = Next::to(step))
    }
    /// Where to go when an answered leg has ended and the caller is still there (default: hang up).
    pub fn after(self, step: &str) -> Self {
        self.with(|_, _, a, _| *a = Next::to(step))
    }
}

impl From<DialBuilder> for Step {
    fn from(b: DialBuilder) -> Step {
        b.0
    }
}

/// Send DTMF tones (`0-9A-D*#`, `w` a half-second pause) into an answered outbound call.
pub fn send_dtmf(digits: &str) -> Then {
    Then(Step::SendDtmf {
        digits: digits.to_owned(),
        next: Next::Hangup,
    })
}

/// End the call.
pub fn hangup() -> Step {
    Step::Hangup
}

// ---- What user code sees. ---------------------------------------------------------------------

/// The view of a call that user code (`decide`, `fetch`) gets: variables to read and write, and
/// who is calling.
pub struct Ctx<'a> {
    pub(crate) vars: &'a mut BTreeMap<String, String>,
    pub(crate) caller: Option<&'a str>,
    pub(crate) called: Option<&'a str>,
}

impl Ctx<'_> {
    /// A session variable (collected digits, values passed when the call was placed, ...).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
    pub fn set_var(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_owned(), value.into());
    }
    /// The caller's number in E.164 form (the called party's, for outbound calls).
    pub fn caller(&self) -> Option<&str> {
        self.caller
    }
    /// The number that was called, in E.164 form.
    pub fn called(&self) -> Option<&str> {
        self.called
    }
}

/// An HTTP request built by a `fetch` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl FetchRequest {
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
    pub fn post_json(url: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            method: "POST".to_owned(),
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(body.into()),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The answer to a [`FetchRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl FetchResponse {
    /// An answer with this status and body, and no headers.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The value of the header `name` (any case), if the answer has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
