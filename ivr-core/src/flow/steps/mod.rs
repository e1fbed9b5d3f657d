//! The step kinds, one module each, in the spirit of one file per command: a kind's data, the
//! builder a flow writes it with, and what it says about itself through [`Kind`] (its ways out,
//! its texts, the variables it sets, the action it answers with), which [`Step`] asks of its kind
//! for the validator, the diagrams, the statistics, the lock and the privacy analysis; the engine
//! dispatches on [`Step`] itself. Adding a kind is a recipe in docs/architecture.md.

/// The retry setters menus and gathers share, on the `Retries` at the given field path.
macro_rules! retry_setters {
    ($($field:ident).+) => {
        /// What is said when the caller presses nothing, before the step asks again.
        pub fn no_input(mut self, text: &str) -> Self {
            text.clone_into(&mut self.$($field).+.no_input);
            self
        }
        /// What is said after a wrong entry, before the step asks again.
        pub fn invalid(mut self, text: &str) -> Self {
            text.clone_into(&mut self.$($field).+.invalid);
            self
        }
        /// How many times the step asks again after no input or a wrong entry.
        pub fn retries(mut self, n: u32) -> Self {
            self.$($field).+.max = n;
            self
        }
        /// Where to go when the retries are spent (default: hang up).
        pub fn fallback(mut self, step: &str) -> Self {
            self.$($field).+.fallback = Some(step.to_owned());
            self
        }
    };
}

/// `then(step)`, for the kinds with one way on: where the call goes once the step is done (it
/// hangs up without one).
macro_rules! then_setter {
    () => {
        /// Where the call goes once this step is done.
        pub fn then(mut self, step: &str) -> Self {
            self.next = Next::to(step);
            self
        }
    };
}

mod decide;
mod dial;
mod fetch;
mod gather;
mod hangup;
mod hours;
mod menu;
mod say;
mod send_dtmf;
mod set_language;

pub use decide::{decide, Decide};
pub use dial::{dial, Dial};
pub use fetch::{fetch, Fetch};
pub use gather::{gather, Gather};
pub use hangup::{hangup, Hangup};
pub use hours::{hours, Hours};
pub use menu::{menu, Menu, MenuBuilder};
pub use say::{say, Say};
pub use send_dtmf::{send_dtmf, SendDtmf};
pub use set_language::{set_language, SetLanguage};

use super::exits::{Branch, Dest, Exit};
use super::{Prompt, Retries};
use crate::telesign::Method;

/// What every step kind says about itself. Nothing has a default, so a new kind answers each
/// question.
pub trait Kind {
    /// The kind's name as a flow writes it (`menu`, `send_dtmf`), as diagrams and statistics
    /// show it.
    const NAME: &'static str;
    /// Whether a call can be waiting at a step of this kind between two events: these are the
    /// steps `flows/flows.lock` keeps.
    const CAN_WAIT: bool;
    /// Whether user code runs at the step (and so may read any variable).
    const RUNS_CODE: bool;
    /// Every way out of the step, in the order the flow declares them: reachability, the
    /// end-of-call analysis, diagrams, the lock, flow-test coverage and the engine's trace read
    /// it.
    fn exits(&self) -> Vec<Exit<'_>>;
    /// What the step says and dials.
    fn texts(&self) -> Texts<'_>;
    /// The variables the step sets for the steps after it.
    fn sets(&self) -> Vec<&str>;
    /// The action the step answers an event with when entered; none for a step that only
    /// decides where the call goes, within the same event.
    fn answers_with(&self) -> Option<Method>;
}

/// The texts of a step.
#[derive(Debug, Default)]
pub struct Texts<'a> {
    /// The prompts it plays (their parts, their spoken fallbacks).
    pub prompts: Vec<&'a Prompt>,
    /// Its retry notices, spoken in the call's language.
    pub notices: Vec<&'a str>,
    /// Other templates it fills from the session (numbers to dial).
    pub templates: Vec<&'a str>,
}

impl<'a> Texts<'a> {
    /// An input step's: its prompt and its retry notices.
    fn asking(prompt: &'a Prompt, retries: &'a Retries) -> Self {
        Texts {
            prompts: vec![prompt],
            notices: retries.notices(),
            templates: Vec::new(),
        }
    }
}

/// An input step's ways out when the entry is missing or wrong: the prompt again, or its
/// fallback once the retries are spent; `refusable`, when code may refuse a well-formed entry.
fn retry_exits(retries: &Retries, refusable: bool) -> Vec<Exit<'_>> {
    let mut out = vec![
        Exit::new(Branch::NoInput, Dest::Again),
        Exit::new(Branch::Invalid, Dest::Again),
    ];
    if refusable {
        out.push(Exit::new(Branch::Refused, Dest::Again));
    }
    out.push(Exit::new(
        Branch::Fallback,
        Dest::fallback(&retries.fallback),
    ));
    out
}

/// One step of a flow.
#[derive(Debug, Clone)]
pub enum Step {
    Say(Say),
    Menu(Menu),
    Gather(Gather),
    Decide(Decide),
    Fetch(Fetch),
    Hours(Hours),
    Dial(Dial),
    SendDtmf(SendDtmf),
    SetLanguage(SetLanguage),
    Hangup(Hangup),
}

/// `each_kind!(step, s => expr)`: `expr` for the step's own kind, bound to `s`. A match rather
/// than a `dyn Kind`, so that the wasm keeps only the answers the worker asks for.
macro_rules! each_kind {
    ($step:expr, $s:ident => $e:expr) => {
        match $step {
            Step::Say($s) => $e,
            Step::Menu($s) => $e,
            Step::Gather($s) => $e,
            Step::Decide($s) => $e,
            Step::Fetch($s) => $e,
            Step::Hours($s) => $e,
            Step::Dial($s) => $e,
            Step::SendDtmf($s) => $e,
            Step::SetLanguage($s) => $e,
            Step::Hangup($s) => $e,
        }
    };
}

/// Each question of [`Kind`], asked of the step's kind.
impl Step {
    /// [`Kind::NAME`].
    pub fn kind_name(&self) -> &'static str {
        each_kind!(self, s => name_of(s))
    }

    /// Every way out of this step, in the order the flow declares them ([`Kind::exits`]).
    pub fn exits(&self) -> Vec<Exit<'_>> {
        each_kind!(self, s => Kind::exits(s))
    }

    /// [`Kind::texts`].
    pub fn own_texts(&self) -> Texts<'_> {
        each_kind!(self, s => Kind::texts(s))
    }

    /// [`Kind::sets`].
    pub fn sets(&self) -> Vec<&str> {
        each_kind!(self, s => Kind::sets(s))
    }

    /// [`Kind::answers_with`].
    pub fn answers_with(&self) -> Option<Method> {
        each_kind!(self, s => Kind::answers_with(s))
    }

    /// Whether a call can be waiting at this step between two events ([`Kind::CAN_WAIT`]).
    pub fn can_wait(&self) -> bool {
        each_kind!(self, s => can_wait_of(s))
    }

    /// [`Kind::RUNS_CODE`].
    pub fn runs_code(&self) -> bool {
        each_kind!(self, s => runs_code_of(s))
    }
}

fn name_of<K: Kind>(_: &K) -> &'static str {
    K::NAME
}

fn can_wait_of<K: Kind>(_: &K) -> bool {
    K::CAN_WAIT
}

fn runs_code_of<K: Kind>(_: &K) -> bool {
    K::RUNS_CODE
}

/// `From<Kind> for Step`, for each kind `.step(..)` takes as written.
macro_rules! into_step {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Step {
            fn from(step: $kind) -> Step {
                Step::$kind(step)
            }
        }
    )*};
}

into_step!(
    Say,
    Menu,
    Gather,
    Decide,
    Fetch,
    Hours,
    Dial,
    SendDtmf,
    SetLanguage,
    Hangup
);

fn names<const N: usize>(names: [&str; N]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}
