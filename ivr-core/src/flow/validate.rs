//! Checks flows before any call reaches them: every referenced step exists, every step is
//! reachable and can reach the end of the call, every prompt, number and digit setting is one
//! Telesign accepts, and every step's action is allowed in every call state it can be entered in
//! (Telesign answers `unsupported_call_state` otherwise; a `dial` after a menu is the classic).

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use super::template::placeholders;
use super::{Direction, Flow, Input, Next, Prompt, Registry, Step};
use crate::telesign::{
    may_answer, CallLegCompleted, CollectDigits, Dial, DialCompleted, DialStatus, EventKind,
    HangupCause, Language, MediaCompleted, MediaStatus, Method, Parties, PhoneNumber, Play,
    SendDtmf,
};

/// One problem found in a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub flow: String,
    /// The step at fault, when the problem is in one step.
    pub step: Option<String>,
    /// A stable name of the rule broken, e.g. `missing_step`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(
                f,
                "flow `{}`, step `{step}`: [{}] {}",
                self.flow, self.rule, self.message
            ),
            None => write!(f, "flow `{}`: [{}] {}", self.flow, self.rule, self.message),
        }
    }
}

/// The call states a step can be entered in, named by the event that led there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    IncomingCall,
    DialAnswered,
    MediaCompleted,
    LegCompleted,
}

impl Entry {
    fn event(self) -> EventKind {
        let parties = Parties::default();
        match self {
            Entry::IncomingCall => EventKind::IncomingCall(parties),
            Entry::DialAnswered => EventKind::DialCompleted(DialCompleted {
                parties,
                status: DialStatus::Answered,
            }),
            Entry::MediaCompleted => EventKind::SpeakCompleted(MediaCompleted {
                parties,
                status: MediaStatus::Completed,
                collected_digits: String::new(),
            }),
            Entry::LegCompleted => EventKind::CallLegCompleted(CallLegCompleted {
                parties,
                caller_id: None,
                hangup_cause: HangupCause::CallNotAnswered,
            }),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Entry::IncomingCall => "incoming_call",
            Entry::DialAnswered => "dial_completed (answered)",
            Entry::MediaCompleted => "speak_completed / play_completed",
            Entry::LegCompleted => "call_leg_completed",
        }
    }
}

/// Every problem of every flow of the registry, and of its inbound routing.
pub fn validate_registry(registry: &Registry) -> Vec<Problem> {
    let mut problems: Vec<Problem> = registry.flows().iter().flat_map(validate).collect();
    let mut names = BTreeSet::new();
    for flow in registry.flows() {
        if !names.insert(flow.name.as_str()) {
            problems.push(problem(
                &flow.name,
                None,
                "duplicate_flow",
                "two flows have this name".into(),
            ));
        }
    }
    for (number, name) in registry.inbound_names() {
        match registry.get(name) {
            Some(f) if f.direction == Direction::Inbound => {}
            Some(_) => problems.push(problem(
                name,
                None,
                "route_to_outbound_flow",
                format!("inbound calls to {number} are routed to an outbound flow"),
            )),
            None => problems.push(problem(
                name,
                None,
                "missing_flow",
                format!("inbound calls to {number} are routed to a flow that is not registered"),
            )),
        }
    }
    problems
}

/// Every problem of one flow.
pub fn validate(flow: &Flow) -> Vec<Problem> {
    let mut v = Validator {
        flow,
        problems: Vec::new(),
    };
    v.run();
    v.problems
}

fn problem(flow: &str, step: Option<&str>, rule: &'static str, message: String) -> Problem {
    Problem {
        flow: flow.to_owned(),
        step: step.map(str::to_owned),
        rule,
        message,
    }
}

struct Validator<'a> {
    flow: &'a Flow,
    problems: Vec<Problem>,
}

impl<'a> Validator<'a> {
    fn report(&mut self, step: Option<&str>, rule: &'static str, message: String) {
        self.problems
            .push(problem(&self.flow.name, step, rule, message));
    }

    fn run(&mut self) {
        let Some(start) = self.flow.start() else {
            self.report(None, "empty_flow", "a flow needs at least one step".into());
            return;
        };
        if Language::parse(&self.flow.language).is_err() {
            let lang = self.flow.language.clone();
            self.report(
                None,
                "invalid_language",
                format!("`{lang}` is not a Telesign TTS language"),
            );
        }
        let mut seen = BTreeSet::new();
        for (name, step) in &self.flow.steps {
            if !seen.insert(name.as_str()) {
                self.report(
                    Some(name),
                    "duplicate_step",
                    "two steps have this name".into(),
                );
            }
            for target in step.targets() {
                if self.flow.get(target).is_none() {
                    self.report(
                        Some(name),
                        "missing_step",
                        format!("goes to `{target}`, which does not exist"),
                    );
                }
            }
            self.check_values(name, step);
        }
        let entries = self.entries(start);
        for (name, step) in &self.flow.steps {
            let states = entries.iter().filter(|(n, _)| n == name).map(|(_, e)| *e);
            let mut reached = false;
            for entry in states {
                reached = true;
                if let Some(method) = first_method(step) {
                    if !may_answer(&entry.event(), method) {
                        self.report(
                            Some(name),
                            "unsupported_call_state",
                            format!(
                                "sends `{}` after {}, which Telesign refuses",
                                method.as_str(),
                                entry.describe()
                            ),
                        );
                    }
                }
            }
            if !reached {
                self.report(
                    Some(name),
                    "unreachable_step",
                    "no path from the start leads here".into(),
                );
            }
        }
        self.check_way_out();
    }

    /// Every (step, call state) pair reachable from the start.
    fn entries(&self, start: &'a str) -> BTreeSet<(&'a str, Entry)> {
        let first = match self.flow.direction {
            Direction::Inbound => Entry::IncomingCall,
            Direction::Outbound => Entry::DialAnswered,
        };
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([(start, first)]);
        while let Some((name, entry)) = queue.pop_front() {
            if !seen.insert((name, entry)) {
                continue;
            }
            let Some(step) = self.flow.get(name) else {
                continue;
            };
            let after = match step {
                // Steps without an action pass the call state on.
                Step::Decide { .. } | Step::Fetch { .. } => entry,
                Step::Dial { .. } => Entry::LegCompleted,
                _ => Entry::MediaCompleted,
            };
            for target in step.targets() {
                if let Some((n, _)) = self.flow.steps.iter().find(|(n, _)| n == target) {
                    queue.push_back((n.as_str(), after));
                }
            }
        }
        seen
    }

    /// Every step can lead to the end of the call, so no caller is stuck in a loop forever.
    fn check_way_out(&mut self) {
        let mut ends: BTreeSet<&str> = BTreeSet::new();
        loop {
            let before = ends.len();
            for (name, step) in &self.flow.steps {
                if ends_call(step) || step.targets().iter().any(|t| ends.contains(t)) {
                    ends.insert(name);
                }
            }
            if ends.len() == before {
                break;
            }
        }
        for (name, _) in &self.flow.steps {
            if !ends.contains(name.as_str()) {
                self.report(
                    Some(name),
                    "no_way_out",
                    "no path from here ends the call".into(),
                );
            }
        }
    }

    fn check_values(&mut self, name: &str, step: &Step) {
        match step {
            Step::Say { prompt, .. } => self.check_prompt(name, prompt),
            Step::Menu {
                prompt,
                options,
                repeat,
                input,
                ..
            } => {
                self.check_prompt(name, prompt);
                self.check_input(name, input);
                if options.is_empty() {
                    self.report(
                        Some(name),
                        "menu_without_options",
                        "a menu needs at least one option".into(),
                    );
                }
                let mut keys = BTreeSet::new();
                for key in options.iter().map(|(k, _)| k).chain(repeat) {
                    if key.is_empty()
                        || !key
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
                    {
                        self.report(
                            Some(name),
                            "invalid_key",
                            format!("`{key}` is not a sequence of 0-9, * and #"),
                        );
                    }
                    if !keys.insert(key) {
                        self.report(
                            Some(name),
                            "duplicate_key",
                            format!("key `{key}` is used twice"),
                        );
                    }
                    if u32::try_from(key.len()).unwrap_or(u32::MAX) > input.max_digits {
                        self.report(
                            Some(name),
                            "invalid_key",
                            format!("key `{key}` is longer than max_digits"),
                        );
                    }
                }
            }
            Step::Gather {
                prompt,
                min_digits,
                input,
                ..
            } => {
                self.check_prompt(name, prompt);
                self.check_input(name, input);
                if *min_digits == 0 || *min_digits > input.max_digits {
                    self.report(
                        Some(name),
                        "invalid_digits",
                        format!("min digits {min_digits} must be 1..={}", input.max_digits),
                    );
                }
            }
            Step::Dial {
                numbers, caller_id, ..
            } => {
                if numbers.is_empty() {
                    self.report(
                        Some(name),
                        "dial_without_numbers",
                        "a dial needs at least one number".into(),
                    );
                }
                for number in numbers.iter().chain(caller_id) {
                    if placeholders(number).is_empty() && PhoneNumber::parse(number).is_err() {
                        self.report(
                            Some(name),
                            "invalid_number",
                            format!("`{number}` is not a phone number"),
                        );
                    }
                }
                if let (Some(n), Some(c)) = (numbers.first(), caller_id) {
                    if placeholders(n).is_empty() && placeholders(c).is_empty() {
                        if let Err(e) = Dial::new(n, c) {
                            self.report(Some(name), "invalid_action", e.to_string());
                        }
                    }
                }
            }
            Step::SendDtmf { digits, .. } => {
                if let Err(e) = SendDtmf::new(digits) {
                    self.report(Some(name), "invalid_action", e.to_string());
                }
            }
            Step::Decide { targets, .. } | Step::Fetch { targets, .. } => {
                if targets.is_empty() {
                    self.report(
                        Some(name),
                        "no_targets",
                        "declare the steps the code may go to".into(),
                    );
                }
            }
            Step::Hangup => {}
        }
    }

    fn check_prompt(&mut self, name: &str, prompt: &Prompt) {
        match prompt {
            Prompt::Speak { text, language } => {
                if text.trim().is_empty() {
                    self.report(Some(name), "empty_message", "the prompt has no text".into());
                }
                if let Some(lang) = language {
                    if Language::parse(lang).is_err() {
                        self.report(
                            Some(name),
                            "invalid_language",
                            format!("`{lang}` is not a Telesign TTS language"),
                        );
                    }
                }
            }
            Prompt::Play { url } => {
                if let Err(e) = Play::new(url) {
                    self.report(Some(name), "invalid_url", e.to_string());
                }
            }
        }
    }

    fn check_input(&mut self, name: &str, input: &Input) {
        let result = CollectDigits::new(input.max_digits)
            .and_then(|c| c.timeout_ms(input.timeout_ms))
            .and_then(|c| c.inter_digit_timeout_ms(input.inter_digit_timeout_ms))
            .and_then(|c| {
                if input.terminators.is_empty() {
                    Ok(c)
                } else {
                    c.terminators(&input.terminators)
                }
            });
        if let Err(e) = result {
            self.report(Some(name), "invalid_input", e.to_string());
        }
    }
}

/// The action a step sends when entered (none for steps that only decide).
fn first_method(step: &Step) -> Option<Method> {
    match step {
        Step::Say { prompt, .. } | Step::Menu { prompt, .. } | Step::Gather { prompt, .. } => {
            Some(match prompt {
                Prompt::Speak { .. } => Method::Speak,
                Prompt::Play { .. } => Method::Play,
            })
        }
        Step::Dial { .. } => Some(Method::Dial),
        Step::SendDtmf { .. } => Some(Method::SendDtmf),
        Step::Hangup => Some(Method::Hangup),
        Step::Decide { .. } | Step::Fetch { .. } => None,
    }
}

/// Whether a step can end the call by itself (a hangup, or a give-up path that hangs up).
fn ends_call(step: &Step) -> bool {
    match step {
        Step::Hangup => true,
        Step::Say { next, .. } | Step::SendDtmf { next, .. } => *next == Next::Hangup,
        Step::Menu { retries, .. } => retries.fallback.is_none(),
        Step::Gather { next, retries, .. } => *next == Next::Hangup || retries.fallback.is_none(),
        Step::Dial {
            after,
            on_no_answer,
            ..
        } => *after == Next::Hangup || *on_no_answer == Next::Hangup,
        Step::Decide { .. } | Step::Fetch { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::*;

    fn rules(flow: &Flow) -> Vec<(&'static str, Option<String>)> {
        validate(flow)
            .into_iter()
            .map(|p| (p.rule, p.step))
            .collect()
    }

    fn go_on(_: &mut Ctx) -> Next {
        Next::to("bye")
    }

    #[test]
    fn a_sound_flow_has_no_problems() {
        let flow = Flow::inbound("ok")
            .step("hi", say("Hi").then("menu"))
            .step("menu", menu("Press 1").option("1", "check").fallback("bye"))
            .step("check", decide(["bye"], go_on))
            .step("bye", say("Bye"));
        assert_eq!(validate(&flow), vec![]);
    }

    #[test]
    fn missing_and_unreachable_steps_are_named() {
        let flow = Flow::inbound("f")
            .step("hi", say("Hi").then("nowhere"))
            .step("island", say("Alone"));
        let found = rules(&flow);
        assert!(
            found.contains(&("missing_step", Some("hi".into()))),
            "{found:?}"
        );
        assert!(
            found.contains(&("unreachable_step", Some("island".into()))),
            "{found:?}"
        );
    }

    #[test]
    fn dial_after_a_menu_is_refused_but_dial_first_is_fine() {
        let bad = Flow::inbound("f")
            .step("menu", menu("Press 1").option("1", "agent"))
            .step("agent", dial(["+15555550100"]));
        let problems = validate(&bad);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].rule, "unsupported_call_state");
        assert_eq!(problems[0].step.as_deref(), Some("agent"));
        assert!(problems[0].to_string().contains("flow `f`, step `agent`"));

        let good = Flow::inbound("g")
            .step("agent", dial(["+15555550100"]).on_no_answer("sorry"))
            .step("sorry", say("Nobody is available."));
        assert_eq!(validate(&good), vec![]);
    }

    #[test]
    fn outbound_flows_may_not_start_with_dial_and_inbound_may_not_start_with_send_dtmf() {
        let outbound = Flow::outbound("o").step("d", dial(["+15555550100"]));
        assert_eq!(
            rules(&outbound),
            vec![("unsupported_call_state", Some("d".into()))]
        );
        let inbound = Flow::inbound("i").step("t", send_dtmf("1"));
        assert_eq!(
            rules(&inbound),
            vec![("unsupported_call_state", Some("t".into()))]
        );
        let ok = Flow::outbound("o")
            .step("t", send_dtmf("12w#").then("hi"))
            .step("hi", say("Hi"));
        assert_eq!(validate(&ok), vec![]);
    }

    #[test]
    fn loops_without_a_way_out_are_found() {
        let flow = Flow::inbound("loop")
            .step("a", say("A").then("b"))
            .step("b", say("B").then("a"));
        let found = rules(&flow);
        assert!(
            found.contains(&("no_way_out", Some("a".into()))),
            "{found:?}"
        );
        assert!(
            found.contains(&("no_way_out", Some("b".into()))),
            "{found:?}"
        );
    }

    #[test]
    fn bad_values_are_reported() {
        let flow = Flow::inbound("v")
            .language("xx-XX")
            .step(
                "m",
                menu("")
                    .option("1", "g")
                    .option("1", "g")
                    .option("x", "g")
                    .fallback("g"),
            )
            .step(
                "g",
                gather(audio("http://insecure.example/a.wav"), "n")
                    .digits(5, 3)
                    .then("d"),
            )
            .step("d", dial(["12"]).caller_id("+15555550100"))
            .step("q", say(speak_in("zz", "Hi")));
        let found: Vec<_> = rules(&flow).into_iter().map(|(r, _)| r).collect();
        for rule in [
            "invalid_language",
            "empty_message",
            "duplicate_key",
            "invalid_key",
            "invalid_url",
            "invalid_digits",
            "invalid_number",
            "unreachable_step",
        ] {
            assert!(found.contains(&rule), "{rule} not in {found:?}");
        }
    }

    #[test]
    fn registry_routes_must_name_inbound_flows() {
        let registry = Registry::new()
            .flow(Flow::outbound("o").step("hi", say("Hi")))
            .default_inbound("o")
            .route("+15555550100", "missing");
        let found: Vec<_> = validate_registry(&registry)
            .into_iter()
            .map(|p| p.rule)
            .collect();
        assert!(found.contains(&"route_to_outbound_flow"), "{found:?}");
        assert!(found.contains(&"missing_flow"), "{found:?}");
    }
}
