//! `decide`: user code picks the next step, within the event.

use super::{names, Kind, Texts};
use crate::flow::exits::{Branch, Dest, Exit};
use crate::flow::DecideFn;
use crate::telesign::Method;

#[derive(Debug, Clone)]
pub struct Decide {
    /// The steps the code may choose (a step not declared here is refused at run time).
    pub targets: Vec<String>,
    pub decide: DecideFn,
    /// The variables the code may set (for the checker).
    pub sets: Vec<String>,
}

/// Run `decide` to choose the next step among `targets` (declared so flows can be validated; a
/// step not declared here is refused at run time and the call ends politely).
pub fn decide<const N: usize>(targets: [&str; N], decide: DecideFn) -> Decide {
    Decide {
        targets: names(targets),
        decide,
        sets: Vec::new(),
    }
}

impl Decide {
    /// The variables the code may set, so that later prompts may name them.
    pub fn sets<const N: usize>(mut self, vars: [&str; N]) -> Self {
        self.sets = names(vars);
        self
    }
}

impl Kind for Decide {
    const NAME: &'static str = "decide";
    const CAN_WAIT: bool = false;
    const RUNS_CODE: bool = true;
    fn exits(&self) -> Vec<Exit<'_>> {
        self.targets
            .iter()
            .map(|t| Exit::new(Branch::Chosen(t.clone()), Dest::Step(t)))
            .collect()
    }
    fn texts(&self) -> Texts<'_> {
        Texts::default()
    }
    fn sets(&self) -> Vec<&str> {
        self.sets.iter().map(String::as_str).collect()
    }
    fn answers_with(&self) -> Option<Method> {
        None
    }
}
