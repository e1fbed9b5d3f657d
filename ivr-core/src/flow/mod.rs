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

use std::collections::BTreeMap;

mod build;
pub mod catalogue;
pub mod checks;
mod ctx;
pub mod diagram;
pub mod exits;
pub mod hours;
mod input;
pub mod lock;
mod privacy;
mod registry;
pub mod settings;
mod steps;
pub mod template;
mod texts;
pub mod validate;

pub use build::*;
pub use checks::luhn;
pub use ctx::{Ctx, FetchRequest, FetchResponse};
pub use exits::{Branch, Dest, Exit, Taken};
pub use hours::Weekday::{self, Fri, Mon, Sat, Sun, Thu, Tue, Wed};
pub use input::{InputStep, Prompted, Takes};
pub use registry::Registry;
pub use settings::Settings;
pub use steps::*;

/// Who starts the calls a flow handles: Telesign's `incoming_call` (inbound) or our own dial
/// (outbound, answered by `dial_completed`). It decides which actions the first step may send.
pub use crate::telesign::{DialOptions, Direction};

/// A named call flow. The first step added is where every call starts.
#[derive(Debug, Clone)]
pub struct Flow {
    pub name: String,
    pub direction: Direction,
    /// TTS language of every `speak` that does not name its own (default `en-US`).
    pub language: String,
    pub steps: Vec<(String, Step)>,
    /// The variables a call of this flow must be given when it is placed (outbound flows).
    pub needs: Vec<String>,
    /// The IANA time zones this outbound flow's campaigns call in (`.calls_in([..])`): the worker
    /// is built with these zones' rules.
    pub call_zones: Vec<String>,
    /// Where the call goes whenever the flow cannot go on (a flow error, a step that is gone),
    /// instead of a bare hang-up.
    pub on_error: Option<String>,
    /// Steps renamed since an earlier version (old name, new name): a live call at an old name
    /// goes on at the new one.
    pub moved: Vec<(String, String)>,
    /// The configuration and secrets the flow's code reads (`ctx.setting(name)`).
    pub settings: Settings,
    /// The other languages the flow speaks, each with its phrasebook: the flow's text (in its
    /// own language) to the text in that language.
    pub translations: BTreeMap<String, BTreeMap<String, String>>,
    /// Which sensitive variables a call waiting at each step may still read (see
    /// [`Flow::sensitive_live_at`]), worked out when first needed.
    sensitive_live: std::sync::OnceLock<privacy::Liveness>,
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
            needs: Vec::new(),
            call_zones: Vec::new(),
            on_error: None,
            moved: Vec::new(),
            settings: Settings::default(),
            translations: BTreeMap::new(),
            sensitive_live: std::sync::OnceLock::new(),
        }
    }

    /// Speaks `language` too (a TTS tag such as `es-US`): each of the flow's texts (its prompts,
    /// retry notices and holds) paired with the same text in that language. A
    /// `set_language(language)` step switches a call to it; every later prompt is then spoken in
    /// it. The checker refuses a text without its pair, and placeholders that differ.
    pub fn translations<'p>(
        mut self,
        language: &str,
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Self {
        let book = self.translations.entry(language.to_owned()).or_default();
        book.extend(pairs.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())));
        self
    }

    /// Every language the flow speaks, its own first.
    pub fn languages(&self) -> Vec<&str> {
        let mut all = vec![self.language.as_str()];
        all.extend(self.translations.keys().map(String::as_str));
        all
    }

    /// `text` (the flow's own) as said in `language`: its phrasebook's pair, else itself.
    pub fn translate<'a>(&'a self, language: &str, text: &'a str) -> &'a str {
        match self.translations.get(language) {
            Some(book) => book.get(text).map_or(text, String::as_str),
            None => text,
        }
    }

    /// The variables a call must be given when it is placed: `POST /calls` and
    /// `POST /campaigns` refuse a call without them (`422 missing_vars`).
    pub fn needs<const N: usize>(mut self, vars: [&str; N]) -> Self {
        self.needs = vars.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// The time zones its campaigns call in. A campaign's calling window (`"window"`) and a
    /// number's own `time_zone` must name a zone the worker knows: the worker is built with the
    /// rules of the zones its flows name (here and in `hours(..)` steps) and no others, which
    /// `npm run flows:lock` records.
    pub fn calls_in<const N: usize>(mut self, zones: [&str; N]) -> Self {
        self.call_zones = zones.iter().map(|z| (*z).to_owned()).collect();
        self
    }

    /// The step a call goes to whenever the flow cannot go on (an apology, a transfer), instead
    /// of a bare hang-up.
    pub fn on_error(mut self, step: &str) -> Self {
        self.on_error = Some(step.to_owned());
        self
    }

    /// `old` was renamed `new`: a live call at `old` (placed by the version before) goes on at
    /// `new`. The checker requires it for every step of `flows/flows.lock` that is gone.
    pub fn moved(mut self, old: &str, new: &str) -> Self {
        self.moved.push((old.to_owned(), new.to_owned()));
        self
    }

    /// Where a session at `step` is in this version: the step itself, or where it moved.
    pub fn resolve<'f>(&'f self, step: &'f str) -> Option<&'f str> {
        if self.get(step).is_some() {
            return Some(step);
        }
        let moved = self.moved.iter().find(|(old, _)| old == step);
        moved
            .map(|(_, new)| new.as_str())
            .filter(|n| self.get(n).is_some())
    }

    /// Configuration the flow's code reads with `ctx.setting(name)`: values of wrangler.toml
    /// `[vars]` (locally, `.dev.vars` overrides them), such as your API's base URL. The checker
    /// requires each name in wrangler.toml; a worker without a value answers the flow's calls
    /// with its `on_error` step and says so in the log and in `GET /healthz`.
    pub fn config<const N: usize>(mut self, names: [&str; N]) -> Self {
        self.settings.config = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Secrets the flow's code reads with `ctx.setting(name)`: set with `wrangler secret put
    /// NAME` (locally in `.dev.vars`), never in wrangler.toml. The checker requires each name in
    /// `.dev.vars.example`. Their values reach no session, record or log line.
    pub fn secrets<const N: usize>(mut self, names: [&str; N]) -> Self {
        for name in names {
            self.settings.declare_secret(name);
        }
        self
    }

    /// The default TTS language of this flow.
    pub fn language(mut self, tag: &str) -> Self {
        self.language = tag.to_owned();
        self
    }

    /// Adds a step. Names are unique; the validator reports a repeated name. A sensitive
    /// entry makes the flow read the secret its values are sealed with (`SESSION_SEAL_KEY`).
    pub fn step(mut self, name: &str, step: impl Into<Step>) -> Self {
        let step = step.into();
        if let Step::Gather(Gather {
            sensitive: Some(_), ..
        }) = &step
        {
            self.settings.declare_secret(crate::seal::SEAL_KEY);
        }
        self.steps.push((name.to_owned(), step));
        self.sensitive_live = std::sync::OnceLock::new();
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

/// What the caller hears: text to speak, an audio file to play, or several of them in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Text-to-speech; `{var}` placeholders are filled from the session (see [`template`]).
    Speak {
        text: String,
        language: Option<String>,
    },
    /// An https URL of a 16-bit PCM audio file allow-listed with Telesign, and the text to
    /// speak instead (in the flow's language) if Telesign reports it cannot play the file.
    Play { url: String, or_say: Option<String> },
    /// Parts played one after the other, one per event (Telesign's `play_multiple` parameters
    /// are not in any page we have, so it is not sent); a menu or gather collects digits on the
    /// last part, and keys pressed during an earlier one answer it at once.
    Parts(Vec<Prompt>),
}

impl Prompt {
    /// An audio prompt that is spoken as `text` when Telesign cannot play the file:
    /// `audio("https://example.com/menu.wav").or_say("Press 1 for sales.")`.
    pub fn or_say(self, text: &str) -> Prompt {
        match self {
            Prompt::Play { url, .. } => Prompt::Play {
                url,
                or_say: Some(text.to_owned()),
            },
            speak => speak,
        }
    }
}

impl Prompt {
    /// The action that plays the prompt first (none for empty parts).
    pub fn method(&self) -> Option<crate::telesign::Method> {
        match self {
            Prompt::Speak { .. } => Some(crate::telesign::Method::Speak),
            Prompt::Play { .. } => Some(crate::telesign::Method::Play),
            Prompt::Parts(parts) => parts.first().and_then(Prompt::method),
        }
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::Speak {
            text: text.to_owned(),
            language: None,
        }
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

impl Input {
    /// Telesign's `collect_digits` for this collection, or why Telesign would refuse it: the
    /// engine sends it, the checker reports the refusal.
    pub fn collect_digits(
        &self,
    ) -> Result<crate::telesign::CollectDigits, crate::telesign::ActionError> {
        let c = crate::telesign::CollectDigits::new(self.max_digits)?
            .timeout_ms(self.timeout_ms)?
            .inter_digit_timeout_ms(self.inter_digit_timeout_ms)?;
        match self.terminators.is_empty() {
            true => Ok(c),
            false => c.terminators(&self.terminators),
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

impl Retries {
    /// The notices that are said, trimmed.
    pub fn notices(&self) -> Vec<&str> {
        [&self.no_input, &self.invalid]
            .into_iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .collect()
    }
}

/// How a sensitive entry shows in records and tools: a `*` per digit, but its last `keep_last`
/// digits (at most half of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sensitive {
    pub keep_last: u8,
}

/// What a `fetch` step plays while its request runs: the worker answers the event at once with
/// the first prompt, runs the request after the answer, and at the end of each prompt goes on
/// with the answer if it has come, or plays the next prompt (in turn, from the first again) if
/// not. After `max_plays` prompts without an answer the step takes its error way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub prompts: Vec<Prompt>,
    pub max_plays: u32,
}

/// How many hold prompts play, by default, before a lookup that has not answered is given up.
pub const HOLD_MAX_PLAYS: u32 = 4;

/// User code that decides where the call goes next, from the session.
pub type DecideFn = fn(&mut Ctx) -> Next;
/// User code that builds an HTTP request from the session.
pub type RequestFn = fn(&Ctx) -> FetchRequest;
/// User code that reads a successful answer to that request into variables: `Err` (with why)
/// sends the call to the step's `on_error` step.
pub type ParseFn = fn(&mut Ctx, &FetchResponse) -> Result<(), String>;
/// User code that checks a gathered value (a Luhn check digit, say): `false` refuses it.
pub type CheckFn = fn(&str) -> bool;
