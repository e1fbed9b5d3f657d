//! Every way out of a step, as one list: the validator's reachability and end-of-call analysis,
//! the diagrams, the engine's trace of what a call took, and flow-test coverage all read it, so a
//! step kind's exits are written once.

use std::fmt;

use super::{Next, Step};

/// One way a step can go: the caller's choice, the answer of an HTTP request, the clock, ...
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Branch {
    /// The one way on: after a `say` or `send_dtmf`, or a `gather`'s accepted entry.
    Next,
    /// A menu option: the keys pressed.
    Key(String),
    /// The menu's repeat key: the menu again, not counted as a retry.
    Repeat,
    /// Nothing was pressed: the prompt again, counted as a retry.
    NoInput,
    /// Not an option, or a value of the wrong shape: the prompt again, counted as a retry.
    Invalid,
    /// A well-formed entry that code refused (a gather's `.check`, or `Next::Retry`).
    Refused,
    /// The retries are spent.
    Fallback,
    /// A `fetch` step's answer was read.
    Ok,
    /// A `fetch` step's request failed, or its answer was refused.
    Error,
    /// `hours`: open now.
    Open,
    /// `hours`: closed now.
    Closed,
    /// `dial`: a number answered and its leg has ended.
    After,
    /// `dial`: no number answered.
    NoAnswer,
    /// `decide`: the code chose this declared target.
    Chosen(String),
}

impl Branch {
    /// Whether the branch is one of the unhappy paths (no input, errors, no answer), drawn
    /// dotted.
    pub fn is_unhappy(&self) -> bool {
        matches!(
            self,
            Branch::NoInput
                | Branch::Invalid
                | Branch::Refused
                | Branch::Fallback
                | Branch::Error
                | Branch::NoAnswer
        )
    }

    /// A stable name, as coverage files and reports write it (`key 1`, `fallback`, ...).
    pub fn name(&self) -> String {
        match self {
            Branch::Next => "next".to_owned(),
            Branch::Key(keys) => format!("key {keys}"),
            Branch::Repeat => "repeat".to_owned(),
            Branch::NoInput => "no_input".to_owned(),
            Branch::Invalid => "invalid".to_owned(),
            Branch::Refused => "refused".to_owned(),
            Branch::Fallback => "fallback".to_owned(),
            Branch::Ok => "ok".to_owned(),
            Branch::Error => "error".to_owned(),
            Branch::Open => "open".to_owned(),
            Branch::Closed => "closed".to_owned(),
            Branch::After => "after".to_owned(),
            Branch::NoAnswer => "no_answer".to_owned(),
            Branch::Chosen(step) => format!("chosen {step}"),
        }
    }

    /// The branch [`Branch::name`] wrote.
    pub fn parse(name: &str) -> Option<Branch> {
        if let Some(keys) = name.strip_prefix("key ") {
            return Some(Branch::Key(keys.to_owned()));
        }
        if let Some(step) = name.strip_prefix("chosen ") {
            return Some(Branch::Chosen(step.to_owned()));
        }
        Some(match name {
            "next" => Branch::Next,
            "repeat" => Branch::Repeat,
            "no_input" => Branch::NoInput,
            "invalid" => Branch::Invalid,
            "refused" => Branch::Refused,
            "fallback" => Branch::Fallback,
            "ok" => Branch::Ok,
            "error" => Branch::Error,
            "open" => Branch::Open,
            "closed" => Branch::Closed,
            "after" => Branch::After,
            "no_answer" => Branch::NoAnswer,
            _ => return None,
        })
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Where a branch leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest<'a> {
    /// Another step (or this one, entered again).
    Step(&'a str),
    /// The call ends.
    Hangup,
    /// Back to the input step that collected the entry ([`Next::Retry`]).
    Retry,
    /// The same input step prompts again, without being entered anew.
    Again,
}

impl<'a> From<&'a Next> for Dest<'a> {
    fn from(next: &'a Next) -> Self {
        match next {
            Next::Step(step) => Dest::Step(step),
            Next::Hangup => Dest::Hangup,
            Next::Retry => Dest::Retry,
        }
    }
}

/// One way out of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit<'a> {
    pub branch: Branch,
    pub to: Dest<'a>,
}

impl<'a> Exit<'a> {
    pub fn new(branch: Branch, to: impl Into<Dest<'a>>) -> Self {
        Exit {
            branch,
            to: to.into(),
        }
    }
}

impl<'a> Dest<'a> {
    /// Where an input step goes when its retries are spent: its fallback, or the end of the
    /// call.
    pub fn fallback(fallback: &'a Option<String>) -> Self {
        match fallback {
            Some(step) => Dest::Step(step),
            None => Dest::Hangup,
        }
    }
}

impl Step {
    /// Every step this one can lead to, for validation and diagrams.
    pub fn targets(&self) -> Vec<&str> {
        self.exits()
            .into_iter()
            .filter_map(|e| match e.to {
                Dest::Step(step) => Some(step),
                Dest::Hangup | Dest::Retry | Dest::Again => None,
            })
            .collect()
    }

    /// Whether the step can end the call by itself (a hangup, or a way out that hangs up).
    pub fn ends_call(&self) -> bool {
        matches!(self, Step::Hangup(_)) || self.exits().iter().any(|e| e.to == Dest::Hangup)
    }
}

/// A branch a call took at a step: the engine's trace of one event, and what flow-test coverage
/// counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Taken {
    pub step: String,
    pub branch: Branch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{gather, menu, say};

    #[test]
    fn branch_names_read_back() {
        for branch in [
            Branch::Next,
            Branch::Key("*1".into()),
            Branch::Repeat,
            Branch::NoInput,
            Branch::Invalid,
            Branch::Refused,
            Branch::Fallback,
            Branch::Ok,
            Branch::Error,
            Branch::Open,
            Branch::Closed,
            Branch::After,
            Branch::NoAnswer,
            Branch::Chosen("agents".into()),
        ] {
            assert_eq!(Branch::parse(&branch.name()), Some(branch));
        }
        assert_eq!(Branch::parse("sideways"), None);
    }

    #[test]
    fn a_menu_lists_its_keys_its_reprompts_and_where_it_gives_up() {
        let step: Step = menu("Press 1.")
            .option("1", "one")
            .repeat("9")
            .fallback("bye")
            .into();
        let branches: Vec<String> = step.exits().iter().map(|e| e.branch.name()).collect();
        assert_eq!(
            branches,
            ["key 1", "repeat", "no_input", "invalid", "fallback"]
        );
        assert_eq!(step.targets(), ["one", "bye"]);
        assert!(!step.ends_call());
        let step: Step = menu("Press 1.").option("1", "one").into();
        assert!(step.ends_call(), "no fallback hangs up");
    }

    #[test]
    fn a_gather_with_a_check_can_refuse() {
        let step: Step = gather("Enter it.", "v")
            .check(|_| true)
            .then("next")
            .fallback("bye")
            .into();
        let branches: Vec<String> = step.exits().iter().map(|e| e.branch.name()).collect();
        assert_eq!(
            branches,
            ["next", "no_input", "invalid", "refused", "fallback"]
        );
        let plain: Step = say("Bye.").into();
        assert!(plain.ends_call());
    }
}
