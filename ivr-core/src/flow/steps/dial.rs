//! `dial`: bridge the caller to a number, trying each in turn until one answers.

use super::{Kind, Texts};
use crate::flow::exits::{Branch, Exit};
use crate::flow::{DialOptions, Next};
use crate::telesign::Method;

#[derive(Debug, Clone)]
pub struct Dial {
    /// Numbers, or templates of them (`"{agent}"`), rung in turn.
    pub numbers: Vec<String>,
    pub caller_id: Option<String>,
    pub options: DialOptions,
    /// After a bridged leg that was answered has ended.
    pub after: Next,
    /// When no number answered.
    pub on_no_answer: Next,
}

/// Bridge the caller to the first number that answers. Numbers may be templates (`"{agent}"`).
pub fn dial<const N: usize>(numbers: [&str; N]) -> Dial {
    Dial {
        numbers: super::names(numbers),
        caller_id: None,
        options: DialOptions::default(),
        after: Next::Hangup,
        on_no_answer: Next::Hangup,
    }
}

impl Dial {
    /// The caller id shown to the called party (default: the number the caller dialed).
    pub fn caller_id(mut self, number: &str) -> Self {
        self.caller_id = Some(number.to_owned());
        self
    }
    /// Record the bridged call (the file name arrives in the call record).
    pub fn record(mut self) -> Self {
        self.options.record_call = true;
        self
    }
    /// End the bridged call after `seconds` (Telesign's limit is 14400, four hours).
    pub fn max_call_duration(mut self, seconds: u32) -> Self {
        self.options.max_call_duration = Some(seconds);
        self
    }
    /// Tones sent once the number answers (`0-9A-D*#`, `w` a half-second pause): an extension.
    pub fn send_dtmf(mut self, tones: &str) -> Self {
        self.options.send_dtmf = Some(tones.to_owned());
        self
    }
    /// Mark the dialled leg as the primary one (Telesign's `is_primary`).
    pub fn primary(mut self) -> Self {
        self.options.is_primary = true;
        self
    }
    /// Where to go when no number answered (default: hang up).
    pub fn on_no_answer(mut self, step: &str) -> Self {
        self.on_no_answer = Next::to(step);
        self
    }
    /// Where to go when an answered leg has ended and the caller is still there (default: hang up).
    pub fn on_bridge_ended(mut self, step: &str) -> Self {
        self.after = Next::to(step);
        self
    }
    #[deprecated(note = "use `.on_bridge_ended(step)`: a step's outcomes are all named `on_..`")]
    pub fn after(self, step: &str) -> Self {
        self.on_bridge_ended(step)
    }
}

impl Kind for Dial {
    const NAME: &'static str = "dial";
    const CAN_WAIT: bool = true;
    const RUNS_CODE: bool = false;
    fn exits(&self) -> Vec<Exit<'_>> {
        vec![
            Exit::new(Branch::After, &self.after),
            Exit::new(Branch::NoAnswer, &self.on_no_answer),
        ]
    }
    fn texts(&self) -> Texts<'_> {
        Texts {
            templates: self
                .numbers
                .iter()
                .map(String::as_str)
                .chain(self.caller_id.as_deref())
                .collect(),
            ..Texts::default()
        }
    }
    fn sets(&self) -> Vec<&str> {
        Vec::new()
    }
    fn answers_with(&self) -> Option<Method> {
        Some(Method::Dial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn after_still_routes_the_end_of_a_bridge() {
        assert_eq!(
            dial(["+15555550100"]).after("survey").after,
            dial(["+15555550100"]).on_bridge_ended("survey").after
        );
    }
}
