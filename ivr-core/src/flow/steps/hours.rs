//! `hours`: branch on whether it is open now in a time zone, within the event.

use super::{Kind, Texts};
use crate::flow::exits::{Branch, Exit};
use crate::flow::hours::OPENING_HOURS;
use crate::flow::hours::{Days, Hours as Schedule};
use crate::flow::Next;
use crate::telesign::Method;

/// When closed, the variable `opening_hours` says the weekly hours in words, for the closed
/// message.
#[derive(Debug, Clone)]
pub struct Hours {
    pub hours: Schedule,
    pub open: Next,
    pub closed: Next,
}

/// Branch on opening hours in an IANA time zone:
/// `hours("America/New_York").open(Mon..=Fri, "09:00-17:30").closed_on("2026-12-25")
/// .on_open("agents").on_closed("closed")`.
pub fn hours(zone: &str) -> Hours {
    Hours {
        hours: Schedule::new(zone),
        open: Next::Hangup,
        closed: Next::Hangup,
    }
}

impl Hours {
    /// Open on `days` (`Mon`, `Mon..=Fri`, `[Sat, Sun]`) for `ranges` (`"09:00-12:00, 13:00-17:00"`).
    pub fn open(mut self, days: impl Days, ranges: &str) -> Self {
        self.hours.open(days, ranges);
        self
    }
    /// Closed all day on `date` (`"2026-12-25"`).
    pub fn closed_on(mut self, date: &str) -> Self {
        self.hours.closed_on(date);
        self
    }
    /// Open only for `ranges` on `date`, whatever its weekday's hours are.
    pub fn special(mut self, date: &str, ranges: &str) -> Self {
        self.hours.special(date, ranges);
        self
    }
    /// Where calls go while open.
    pub fn on_open(mut self, step: &str) -> Self {
        self.open = Next::to(step);
        self
    }
    /// Where calls go while closed (the variable `opening_hours` says the hours in words).
    pub fn on_closed(mut self, step: &str) -> Self {
        self.closed = Next::to(step);
        self
    }
    #[deprecated(note = "use `.on_open(step)`: a step's outcomes are all named `on_..`")]
    pub fn then_open(self, step: &str) -> Self {
        self.on_open(step)
    }
    #[deprecated(note = "use `.on_closed(step)`: a step's outcomes are all named `on_..`")]
    pub fn then_closed(self, step: &str) -> Self {
        self.on_closed(step)
    }
}

impl Kind for Hours {
    const NAME: &'static str = "hours";
    const CAN_WAIT: bool = false;
    const RUNS_CODE: bool = false;
    fn exits(&self) -> Vec<Exit<'_>> {
        vec![
            Exit::new(Branch::Open, &self.open),
            Exit::new(Branch::Closed, &self.closed),
        ]
    }
    fn texts(&self) -> Texts<'_> {
        Texts::default()
    }
    fn sets(&self) -> Vec<&str> {
        vec![OPENING_HOURS]
    }
    fn answers_with(&self) -> Option<Method> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn the_names_before_on_open_still_route() {
        let old = hours("UTC").then_open("a").then_closed("b");
        let new = hours("UTC").on_open("a").on_closed("b");
        assert_eq!((old.open, old.closed), (new.open, new.closed));
    }
}
