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

mod build;
mod ctx;
pub mod diagram;
mod registry;
pub mod template;
pub mod validate;

pub use build::*;
pub use ctx::{Ctx, FetchRequest, FetchResponse};
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
