//! `gather`: collect a value of several digits into a variable.

use super::{retry_exits, Kind, Texts};
use crate::flow::exits::{Branch, Dest, Exit};
use crate::flow::{CheckFn, Input, Next, Prompt, Retries, Sensitive};
use crate::telesign::Method;

#[derive(Debug, Clone)]
pub struct Gather {
    pub prompt: Prompt,
    pub var: String,
    pub min_digits: u32,
    pub input: Input,
    /// Where the call goes with the entry; none: the flow said nowhere, which the checker
    /// refuses (the engine hangs up).
    pub next: Option<Next>,
    pub retries: Retries,
    /// User code that may refuse a well-formed entry (a retry, counted, with the invalid
    /// notice).
    pub check: Option<CheckFn>,
    /// A sensitive entry (an account number, a PIN): sealed while the call lives, masked in
    /// every record.
    pub sensitive: Option<Sensitive>,
}

/// Collect a value of several digits (account number, PIN, date) into the variable `var`. Say
/// where the call goes with it: `.then(step)`, or `.then_hangup()` (the checker refuses a gather
/// without either).
pub fn gather(prompt: impl Into<Prompt>, var: &str) -> Gather {
    Gather {
        prompt: prompt.into(),
        var: var.to_owned(),
        min_digits: 1,
        input: Input {
            max_digits: 10,
            timeout_ms: 8_000,
            inter_digit_timeout_ms: 3_000,
            terminators: "#".to_owned(),
        },
        next: None,
        retries: Retries {
            invalid: "Sorry, that entry is not valid.".to_owned(),
            ..Retries::default()
        },
        check: None,
        sensitive: None,
    }
}

impl Gather {
    /// Accept between `min` and `max` digits (fewer is invalid input).
    pub fn digits(mut self, min: u32, max: u32) -> Self {
        self.min_digits = min;
        self.input.max_digits = max;
        self
    }
    /// Keys that end the entry early (default `#`).
    pub fn terminators(mut self, keys: &str) -> Self {
        keys.clone_into(&mut self.input.terminators);
        self
    }
    /// Wait for the first digit, in milliseconds.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.input.timeout_ms = ms;
        self
    }
    /// Wait between digits, in milliseconds.
    pub fn inter_digit_timeout_ms(mut self, ms: u32) -> Self {
        self.input.inter_digit_timeout_ms = ms;
        self
    }
    /// Where the call goes with the entry.
    pub fn then(mut self, step: &str) -> Self {
        self.next = Some(Next::to(step));
        self
    }
    /// End the call once the entry is made (it is in the call's record).
    pub fn then_hangup(mut self) -> Self {
        self.next = Some(Next::Hangup);
        self
    }
    retry_setters!(retries);
    /// Refuse an entry `check` says is wrong (a Luhn check digit, a known PIN): the gather asks
    /// again with its invalid notice, counting a retry, and the record keeps it as `refused`.
    pub fn check(mut self, check: CheckFn) -> Self {
        self.check = Some(check);
        self
    }
    /// A sensitive entry (an account number, a card number, a PIN, a date of birth): the flow
    /// uses it while the call lives (its `fetch` requests, checks, `decide`), but it is kept
    /// sealed with the `SESSION_SEAL_KEY` secret, dropped once no later step can read it, and
    /// never written to a record, a log line or the API's answers: its answer keeps only its
    /// result and a mask of its length (`********`). A prompt may speak it only as
    /// `{var|last4}`.
    pub fn sensitive(self) -> Self {
        self.keep_last(0)
    }
    /// A sensitive entry ([`Gather::sensitive`]) whose answer in records keeps its last `n`
    /// digits (`****5674`), never more than half of them.
    pub fn keep_last(mut self, n: u8) -> Self {
        self.sensitive = Some(Sensitive { keep_last: n });
        self
    }
}

impl Kind for Gather {
    const NAME: &'static str = "gather";
    const CAN_WAIT: bool = true;
    // A check sees only the entry it checks.
    const RUNS_CODE: bool = false;
    fn exits(&self) -> Vec<Exit<'_>> {
        let then = self.next.as_ref().map_or(Dest::Hangup, Dest::from);
        let mut out = vec![Exit::new(Branch::Next, then)];
        out.extend(retry_exits(&self.retries, self.check.is_some()));
        out
    }
    fn texts(&self) -> Texts<'_> {
        Texts::asking(&self.prompt, &self.retries)
    }
    fn sets(&self) -> Vec<&str> {
        vec![&self.var]
    }
    fn answers_with(&self) -> Option<Method> {
        self.prompt.method()
    }
}
