//! The steps that take the caller's keys, menus and gathers, seen as one: what they share (a
//! prompt that collects digits, the collection's settings, the retries) and what each does with
//! an entry. The engine, the redelivery check and the kit read an input step through
//! [`Step::input_step`] instead of matching both kinds again.

use super::{CheckFn, Input, Next, Prompt, Retries, Step};
use super::{Gather, Menu, Say};

/// A menu or a gather.
#[derive(Debug, Clone, Copy)]
pub struct InputStep<'a> {
    pub prompt: &'a Prompt,
    pub input: &'a Input,
    pub retries: &'a Retries,
    pub takes: Takes<'a>,
}

/// A step whose prompt the call waits on: a say, or an input step. What the engine does when a
/// prompt has played, or could not be played, is one match over this.
#[derive(Debug, Clone, Copy)]
pub enum Prompted<'a> {
    Say { prompt: &'a Prompt, next: &'a Next },
    Input(InputStep<'a>),
}

/// What an input step does with an entry.
#[derive(Debug, Clone, Copy)]
pub enum Takes<'a> {
    /// A menu: a key leads to its option's step (its name saved as `save_as`, if given), the
    /// repeat keys play the menu again.
    Choice {
        options: &'a [(String, String)],
        repeat: Option<&'a str>,
        save_as: Option<&'a str>,
    },
    /// A gather: an entry of `min_digits` to the input's most digits, that `check` accepts,
    /// goes into `var`; the call goes on at `next` (none: the checker refused the flow).
    Entry {
        var: &'a str,
        min_digits: u32,
        next: Option<&'a Next>,
        check: Option<CheckFn>,
    },
}

impl Step {
    /// The step as an input step, if it takes the caller's keys.
    pub fn input_step(&self) -> Option<InputStep<'_>> {
        match self.prompted()? {
            Prompted::Input(input) => Some(input),
            Prompted::Say { .. } => None,
        }
    }

    /// Whether the step asks the caller for digits.
    pub fn is_input(&self) -> bool {
        self.input_step().is_some()
    }

    /// The step as one whose prompt the call waits on, if it has one.
    pub fn prompted(&self) -> Option<Prompted<'_>> {
        match self {
            Step::Say(Say { prompt, next }) => Some(Prompted::Say { prompt, next }),
            Step::Menu(Menu {
                prompt,
                options,
                repeat,
                save_as,
                input,
                retries,
            }) => Some(Prompted::Input(InputStep {
                prompt,
                input,
                retries,
                takes: Takes::Choice {
                    options,
                    repeat: repeat.as_deref(),
                    save_as: save_as.as_deref(),
                },
            })),
            Step::Gather(Gather {
                prompt,
                var,
                min_digits,
                input,
                next,
                retries,
                check,
                sensitive: _,
            }) => Some(Prompted::Input(InputStep {
                prompt,
                input,
                retries,
                takes: Takes::Entry {
                    var,
                    min_digits: *min_digits,
                    next: next.as_ref(),
                    check: *check,
                },
            })),
            Step::Decide(_)
            | Step::Fetch(_)
            | Step::Hours(_)
            | Step::Dial(_)
            | Step::SendDtmf(_)
            | Step::SetLanguage(_)
            | Step::Hangup(_) => None,
        }
    }
}
