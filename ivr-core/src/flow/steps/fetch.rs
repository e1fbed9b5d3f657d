//! `fetch`: call an HTTP API and go on with its answer, or its failure.

use super::{names, Kind, Texts};
use crate::flow::exits::{Branch, Exit};
use crate::flow::{Hold, Next, ParseFn, Prompt, RequestFn, HOLD_MAX_PLAYS};
use crate::telesign::Method;

/// User code reads a successful answer, then the call goes on at `ok`, or at `error` when the
/// request failed (no answer, a status other than 2xx, the event's time budget spent) or the
/// code refused the answer.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub request: RequestFn,
    pub parse: ParseFn,
    pub ok: Next,
    pub error: Next,
    /// The variables the code may set (for the checker).
    pub sets: Vec<String>,
    /// What the caller hears while the request runs; without one the request runs within the
    /// event and the caller hears nothing until it answers.
    pub hold: Option<Hold>,
}

/// Call an HTTP API: `request` builds the request from the session; `.on_ok(step, parse)` reads
/// a successful answer into variables and goes on at `step`; `.on_error(step)` is where a failed
/// request (or an answer `parse` refused) goes.
pub fn fetch(request: RequestFn) -> Fetch {
    Fetch {
        request,
        parse: |_, _| Ok(()),
        ok: Next::Hangup,
        error: Next::Hangup,
        sets: Vec::new(),
        hold: None,
    }
}

impl Fetch {
    /// A 2xx answer is read by `parse`; if it accepts it, the call goes on at `step`.
    pub fn on_ok(mut self, step: &str, parse: ParseFn) -> Self {
        self.parse = parse;
        self.ok = Next::to(step);
        self
    }
    /// Where the call goes when the request fails or its answer is refused.
    pub fn on_error(mut self, step: &str) -> Self {
        self.error = Next::to(step);
        self
    }
    /// The variables `parse` may set, so that later prompts may name them.
    pub fn sets<const N: usize>(mut self, vars: [&str; N]) -> Self {
        self.sets = names(vars);
        self
    }
    /// What the caller hears while the request runs: text (in the flow's language), audio (hold
    /// music), or both. Called again, it adds a prompt: they play in turn until the answer comes.
    pub fn hold(mut self, prompt: impl Into<Prompt>) -> Self {
        let hold = self.hold.get_or_insert_with(|| Hold {
            prompts: Vec::new(),
            max_plays: HOLD_MAX_PLAYS,
        });
        hold.prompts.push(prompt.into());
        self
    }
    /// How many hold prompts play before a request that has not answered is given up (the
    /// step's error way); default 4.
    pub fn hold_at_most(mut self, plays: u32) -> Self {
        if let Some(hold) = &mut self.hold {
            hold.max_plays = plays;
        }
        self
    }
}

impl Kind for Fetch {
    const NAME: &'static str = "fetch";
    // At a hold, while its request runs.
    const CAN_WAIT: bool = true;
    const RUNS_CODE: bool = true;
    fn exits(&self) -> Vec<Exit<'_>> {
        vec![
            Exit::new(Branch::Ok, &self.ok),
            Exit::new(Branch::Error, &self.error),
        ]
    }
    fn texts(&self) -> Texts<'_> {
        Texts {
            prompts: self.hold.iter().flat_map(|h| &h.prompts).collect(),
            ..Texts::default()
        }
    }
    fn sets(&self) -> Vec<&str> {
        self.sets.iter().map(String::as_str).collect()
    }
    fn answers_with(&self) -> Option<Method> {
        // A held request answers the event with its first hold and runs after the answer.
        self.hold.as_ref()?.prompts.first()?.method()
    }
}
