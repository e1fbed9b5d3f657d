//! Checks flows before any call reaches them: every referenced step exists, every step is
//! reachable and can reach the end of the call, every prompt, number and digit setting is one
//! Telesign accepts, every step's action is allowed in every call state it can be entered in
//! (Telesign answers `unsupported_call_state` otherwise; a `dial` after a menu is the classic),
//! every placeholder names a variable the call can have by then, opening hours parse in a
//! known zone, and no step a live call may be in is gone without a successor.

use super::{Decide, Fetch, Gather, Hours, Menu, Say, SetLanguage};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::hours::{self, OPENING_HOURS};
use super::lock::Lock;
use super::template::{self, TemplateError};
use super::{Direction, Flow, Input, Prompt, Registry, Step};
use crate::config::Config;
use crate::telesign::{
    may_answer, CallLegCompleted, Dial, DialCompleted, DialStatus, EventKind, HangupCause,
    Language, MediaCompleted, MediaStatus, Method, Parties, PhoneNumber, Play, SendDtmf,
};

/// Declares the checker's rules: variant, name, whether it only warns, and how to fix it.
macro_rules! rules {
    ($($variant:ident = $name:literal, $warning:literal, $hint:literal;)+) => {
        named_enum! {
            /// A rule a flow can break. Its name (`as_str`, e.g. `missing_step`) never changes
            /// once released.
            pub enum Rule {
                $(#[doc = $hint] $variant = $name,)+
            }
        }

        impl Rule {
            /// The rule's name, e.g. `missing_step` (its wire name, [`Rule::as_str`]).
            pub fn name(self) -> &'static str {
                self.as_str()
            }

            /// Whether breaking it is a warning (the flow still deploys) rather than an error.
            pub fn is_warning(self) -> bool {
                match self {
                    $(Rule::$variant => $warning,)+
                }
            }

            /// How to fix it, in the words of the flow language. The project's own commands and
            /// files are named as `{lock}` (the command that writes the lock of deployed
            /// steps), `{lock_prune}` (the same, forgetting steps no call can be at),
            /// `{lock_file}` and `{dev}` (the local worker's command), which the tool that
            /// prints the hint fills in (the kit's `Project::fill`). A problem's message names
            /// none: it may quote the flow's own text.
            pub fn hint(self) -> &'static str {
                match self {
                    $(Rule::$variant => $hint,)+
                }
            }
        }
    };
}

rules! {
    EmptyFlow = "empty_flow", false, "Add at least one `.step(..)`; the first one is where calls start.";
    DuplicateFlow = "duplicate_flow", false, "Give every flow its own name in `Flow::inbound(..)` / `Flow::outbound(..)`.";
    DuplicateStep = "duplicate_step", false, "Rename one of the steps; step names are unique within a flow.";
    MissingStep = "missing_step", false, "Add a step with that name, or fix the name in `.then(..)`, `.option(..)`, `.fallback(..)`, `.on_error(..)`.";
    UnreachableStep = "unreachable_step", false, "Lead to it from another step, or remove it.";
    NoWayOut = "no_way_out", false, "Give the loop an exit: a `.fallback(..)`, a step that hangs up, or a `say` without `.then(..)`.";
    UnsupportedCallState = "unsupported_call_state", false, "Telesign accepts `dial` only as the first answer to `incoming_call` (after steps that send nothing: `hours`, `decide`, `fetch`) or after a dial's leg ended (`.on_no_answer(..)`, `.on_bridge_ended(..)`), and `send_dtmf` only as the first answer to an answered outbound call: no prompt may come before them. To offer agents from a menu, route a number straight to the dial instead (docs/writing-flows.md, \"What Telesign cannot do\").";
    MenuWithoutOptions = "menu_without_options", false, "Add `.option(key, step)`.";
    InvalidKey = "invalid_key", false, "Use keys made of 0-9, * and #, no longer than `.max_digits(..)`.";
    DuplicateKey = "duplicate_key", false, "Each key may lead to one step only.";
    GatherWithoutNext = "gather_without_next", false, "Add `.then(step)` for where the call goes with the entry, or `.then_hangup()` to end the call once it is made.";
    InvalidDigits = "invalid_digits", false, "Use `.digits(min, max)` with 1 <= min <= max.";
    DialWithoutNumbers = "dial_without_numbers", false, "Give `dial([..])` at least one number.";
    InvalidNumber = "invalid_number", false, "Write numbers in E.164 form, e.g. +15555550100, or as a `{var}` template.";
    InvalidAction = "invalid_action", false, "Telesign would refuse this value; the problem says which one.";
    NoTargets = "no_targets", false, "Declare the steps the code may return in `decide([..], f)`.";
    EmptyMessage = "empty_message", false, "Give the prompt some text.";
        UndeclaredLanguage = "undeclared_language", false, "Give the flow a phrasebook for the language, `Flow::translations(\"es-US\", [(\"Hello.\", \"Hola.\"), ..])`, or switch to one it has.";
    MissingTranslation = "missing_translation", false, "Add the text's pair to the flow's `.translations(language, [..])`: every prompt, retry notice and hold of a flow is said in each language it speaks.";
    TranslationPlaceholders = "translation_placeholders", false, "A text and its translation must name the same variables: `{balance}` in one, `{balance}` in the other.";
    HoursInEnglish = "hours_in_english", true, "`{opening_hours}` has words in English and Spanish only: in this language the hours are said in English. Write them in the prompt instead.";
    InvalidLanguage = "invalid_language", false, "Use one of Telesign's TTS languages, e.g. en-US (see ivr-core/src/telesign/language.rs).";
    InvalidUrl = "invalid_url", false, "Audio URLs must be https and allow-listed with Telesign.";
    InvalidInput = "invalid_input", false, "Keep max digits and timeouts within the ranges in ivr-core/src/telesign/action.rs.";
    RouteToOutboundFlow = "route_to_outbound_flow", false, "Route inbound numbers to inbound flows (`Flow::inbound`).";
    MissingFlow = "missing_flow", false, "Register the flow with `.flow(..)` in flows/lib.rs, or fix the name.";
    UnknownVariable = "unknown_variable", false, "Declare it with `Flow::outbound(..).needs([..])`, gather it before, declare that code sets it (`.sets([..])`), or give it a default: `{name|or:there}`.";
    UnknownFilter = "unknown_filter", false, "Use the filters `digits`, `last4` and `or:<text>`, e.g. `{account|last4|digits}`.";
    MalformedPlaceholder = "malformed_placeholder", false, "Close every `{` with `}` around a variable name of letters, digits and _; write `{{` for a brace.";
    InvalidCallZone = "invalid_call_zone", false, "Name IANA zones such as America/New_York in `Flow::outbound(..).calls_in([..])` (then `{lock}`); inbound flows place no campaign calls.";
    InvalidHours = "invalid_hours", false, "Use an IANA zone such as America/New_York (then `{lock}`), ranges like `09:00-17:30` within one day that do not overlap, and dates like `2026-12-25`.";
    SilentLookup = "silent_lookup", true, "Give the step a hold prompt, `fetch(..).hold(\"One moment, please.\")`: the worker answers at once with it and runs the request after the answer, instead of leaving the caller in silence while it runs.";
    FetchBudget = "fetch_budget", true, "The fetch steps one event can chain may need more than EVENT_BUDGET_MS: the later ones then take their error branch. Put a prompt between them, lower FETCH_TIMEOUT_MS or raise EVENT_BUDGET_MS.";
    StepGone = "step_gone", false, "A live call may be at this step (it is in {lock_file}): declare its successor with `.moved(\"old\", \"new\")`, or run `{lock_prune}` once no call can be there (a session is kept 5 hours at most, `SESSION_TTL_SECS`).";
    UnlockedStep = "unlocked_step", false, "Run `{lock}` and commit {lock_file}, so that a later deploy knows a live call may be at this step.";
    MovedToMissing = "moved_to_missing", false, "`.moved(old, new)` must name a step of this flow as `new`.";
    UnlistedConfig = "unlisted_config", false, "Add the name to wrangler.toml's [vars] with the value deployed workers use (locally, .dev.vars overrides it).";
    UnlistedSecret = "unlisted_secret", false, "Add a line `NAME=` to .dev.vars.example (the local value goes in .dev.vars), and set it with `wrangler secret put NAME` before deploying.";
    DevClockInVars = "dev_clock_in_vars", false, "Remove DEV_CLOCK from wrangler.toml's [vars]: it shifts the worker's clock, for local development only (`{dev} -- --clock TIME`).";
        UnsetLocally = "unset_locally", true, "Add the secret's local value to .dev.vars (setup copies .dev.vars.example only when .dev.vars is missing): `{dev}` runs without it, and the flow's calls end in its `on_error` step.";
    FlowGone = "flow_gone", true, "A call still live in a flow that is gone is hung up politely (its record says `flow_error`). Once none can be live, `{lock}` forgets the flow.";
        SensitiveSpoken = "sensitive_spoken", false, "Speak a sensitive entry masked, `{account|last4}` (or `{account|last4|digits}`), or not at all: its whole value is never said back, nor dialled.";
    SensitiveRecorded = "sensitive_recorded", true, "The flow records calls (`dial(..).record()`) and takes a sensitive entry: if the recording covers the entry, its tones are in the recording. Take the entry on calls that are not recorded, or drop `.record()`.";
    SensitiveSavedAs = "sensitive_saved_as", false, "A sensitive entry's variable is kept apart: give the menu's `.save_as(..)` or the code's `.sets([..])` another name.";
    SecretInVars = "secret_in_vars", false, "Remove it from wrangler.toml's [vars], which is committed: set it with `wrangler secret put NAME` (locally, in .dev.vars).";
}

/// One problem found in a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub flow: String,
    /// The step at fault, when the problem is in one step.
    pub step: Option<String>,
    pub rule: Rule,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.rule.is_warning() {
            "warning: "
        } else {
            ""
        };
        match &self.step {
            Some(step) => write!(
                f,
                "flow `{}`, step `{step}`: {kind}[{}] {}",
                self.flow, self.rule, self.message
            ),
            None => write!(
                f,
                "flow `{}`: {kind}[{}] {}",
                self.flow, self.rule, self.message
            ),
        }
    }
}

/// What the checker knows of the worker's configuration: the time the `fetch` steps of one
/// event may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub fetch_timeout_ms: u64,
    pub event_budget_ms: u64,
}

impl Default for Limits {
    /// The configuration's defaults.
    fn default() -> Self {
        Limits::of(&Config::from_lookup(|_| None))
    }
}

impl Limits {
    pub fn of(config: &Config) -> Self {
        Limits {
            fetch_timeout_ms: config.fetch_timeout_ms,
            event_budget_ms: config.event_budget_ms,
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

/// The names the project's files give the worker's environment: wrangler.toml's `[vars]` and
/// the secrets `.dev.vars.example` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub vars: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    /// The names `.dev.vars` sets, when there is one (local development).
    pub local: Option<BTreeSet<String>>,
}

/// The settings the flows declare against `env`: configuration in wrangler.toml's `[vars]`,
/// secrets in `.dev.vars.example` and never in wrangler.toml.
pub fn check_settings(registry: &Registry, env: &Environment) -> Vec<Problem> {
    let mut problems = Vec::new();
    if env.vars.contains("DEV_CLOCK") {
        let message =
            "wrangler.toml [vars] sets DEV_CLOCK, which shifts every deployed call's clock";
        problems.push(problem(
            "wrangler.toml",
            None,
            Rule::DevClockInVars,
            message.into(),
        ));
    }
    for flow in registry.flows() {
        for name in &flow.settings.config {
            if !env.vars.contains(name) {
                let message =
                    format!("reads the setting {name}, which wrangler.toml [vars] does not list");
                problems.push(problem(&flow.name, None, Rule::UnlistedConfig, message));
            }
        }
        for name in &flow.settings.secrets {
            if env.vars.contains(name) {
                let message =
                    format!("the secret {name} is in wrangler.toml [vars], which is committed");
                problems.push(problem(&flow.name, None, Rule::SecretInVars, message));
            }
            if !env.secrets.contains(name) {
                let message =
                    format!("reads the secret {name}, which .dev.vars.example does not list");
                problems.push(problem(&flow.name, None, Rule::UnlistedSecret, message));
            }
            if env
                .local
                .as_ref()
                .is_some_and(|local| !local.contains(name))
            {
                let message = format!("reads the secret {name}, which .dev.vars does not set");
                problems.push(problem(&flow.name, None, Rule::UnsetLocally, message));
            }
        }
    }
    problems
}

/// Every problem of every flow of the registry, and of its inbound routing, with the
/// configuration's default limits and no lock.
pub fn validate_registry(registry: &Registry) -> Vec<Problem> {
    check_registry(registry, Limits::default(), None)
}

/// Every problem of every flow of the registry, of its inbound routing, and against `lock` (the
/// flows as deployed before) when there is one.
pub fn check_registry(registry: &Registry, limits: Limits, lock: Option<&Lock>) -> Vec<Problem> {
    let none = BTreeSet::new();
    let mut problems: Vec<Problem> = registry
        .flows()
        .iter()
        .flat_map(|f| {
            let locked = lock.map(|l| l.flows.get(&f.name).unwrap_or(&none));
            check(f, limits, locked)
        })
        .collect();
    let mut names = BTreeSet::new();
    for flow in registry.flows() {
        if !names.insert(flow.name.as_str()) {
            problems.push(problem(
                &flow.name,
                None,
                Rule::DuplicateFlow,
                "two flows have this name".into(),
            ));
        }
    }
    for gone in lock.iter().flat_map(|l| l.flows.keys()) {
        if registry.get(gone).is_none() {
            let message = "is in the lock but no longer registered: a call may still be live in it";
            problems.push(problem(gone, None, Rule::FlowGone, message.into()));
        }
    }
    for (number, name) in registry.inbound_names() {
        match registry.get(name) {
            Some(f) if f.direction == Direction::Inbound => {}
            Some(_) => problems.push(problem(
                name,
                None,
                Rule::RouteToOutboundFlow,
                format!("inbound calls to {number} are routed to an outbound flow"),
            )),
            None => problems.push(problem(
                name,
                None,
                Rule::MissingFlow,
                format!("inbound calls to {number} are routed to a flow that is not registered"),
            )),
        }
    }
    problems
}

/// Every problem of one flow, with the configuration's default limits and no lock.
pub fn validate(flow: &Flow) -> Vec<Problem> {
    check(flow, Limits::default(), None)
}

/// Every problem of one flow; `locked` is the flow's steps in the lock, if there is a lock.
pub fn check(flow: &Flow, limits: Limits, locked: Option<&BTreeSet<String>>) -> Vec<Problem> {
    let mut v = Validator {
        flow,
        problems: Vec::new(),
    };
    v.run();
    v.check_variables();
    v.check_sensitive();
    v.check_fetch_budget(limits);
    v.check_moves(locked);
    v.problems
}

/// Silence longer than this, waiting for a `fetch` step without a hold, is worth a warning: a
/// caller who hears nothing for a few seconds assumes the line dropped (our assumption; no
/// Telesign page gives a figure).
const SILENCE_MS: u64 = 1_000;

fn problem(flow: &str, step: Option<&str>, rule: Rule, message: String) -> Problem {
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
    /// `.calls_in([..])`: IANA zones, on an outbound flow.
    fn check_call_zones(&mut self) {
        let flow = self.flow;
        if !flow.call_zones.is_empty() && flow.direction == Direction::Inbound {
            let message = "an inbound flow names time zones to call in".into();
            self.report(None, Rule::InvalidCallZone, message);
        }
        for zone in &flow.call_zones {
            if hours::Hours::new(zone).problems().is_empty() {
                continue;
            }
            let message = format!("`{zone}` is not an IANA time zone name");
            self.report(None, Rule::InvalidCallZone, message);
        }
    }

    fn report(&mut self, step: Option<&str>, rule: Rule, message: String) {
        self.problems
            .push(problem(&self.flow.name, step, rule, message));
    }

    fn run(&mut self) {
        let Some(start) = self.flow.start() else {
            self.report(
                None,
                Rule::EmptyFlow,
                "a flow needs at least one step".into(),
            );
            return;
        };
        for lang in self.flow.languages() {
            if Language::parse(lang).is_err() {
                self.report(
                    None,
                    Rule::InvalidLanguage,
                    format!("`{lang}` is not a Telesign TTS language"),
                );
            }
        }
        self.check_translations();
        self.check_call_zones();
        let mut seen = BTreeSet::new();
        for (name, step) in &self.flow.steps {
            if !seen.insert(name.as_str()) {
                self.report(
                    Some(name),
                    Rule::DuplicateStep,
                    "two steps have this name".into(),
                );
            }
            for target in step.targets() {
                if self.flow.get(target).is_none() {
                    self.report(
                        Some(name),
                        Rule::MissingStep,
                        format!("goes to `{target}`, which does not exist"),
                    );
                }
            }
            self.check_values(name, step);
        }
        if let Some(target) = &self.flow.on_error {
            if self.flow.get(target).is_none() {
                self.report(
                    None,
                    Rule::MissingStep,
                    format!("`.on_error(..)` names `{target}`, which does not exist"),
                );
            }
        }
        let entries = self.entries(start);
        for (name, step) in &self.flow.steps {
            let states = entries.iter().filter(|(n, _)| n == name).map(|(_, e)| *e);
            let mut reached = false;
            for entry in states {
                reached = true;
                if let Some(method) = step.answers_with() {
                    if !may_answer(&entry.event(), method) {
                        self.report(
                            Some(name),
                            Rule::UnsupportedCallState,
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
                    Rule::UnreachableStep,
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
        // The error step can be entered after any event that may be answered.
        if let Some((n, _)) = self.on_error_step() {
            for entry in [first, Entry::MediaCompleted, Entry::LegCompleted] {
                queue.push_back((n, entry));
            }
        }
        while let Some((name, entry)) = queue.pop_front() {
            if !seen.insert((name, entry)) {
                continue;
            }
            let Some(step) = self.flow.get(name) else {
                continue;
            };
            let after = match step.answers_with() {
                // Steps without an action pass the call state on.
                None => entry,
                Some(Method::Dial) => Entry::LegCompleted,
                Some(_) => Entry::MediaCompleted,
            };
            for target in step.targets() {
                if let Some((n, _)) = self.flow.steps.iter().find(|(n, _)| n == target) {
                    queue.push_back((n.as_str(), after));
                }
            }
        }
        seen
    }

    /// The flow's error step, as (name in the flow, step), if it exists.
    fn on_error_step(&self) -> Option<(&'a str, &'a Step)> {
        let target = self.flow.on_error.as_deref()?;
        let (n, s) = self.flow.steps.iter().find(|(n, _)| n == target)?;
        Some((n.as_str(), s))
    }

    /// Every step can lead to the end of the call, so no caller is stuck in a loop forever.
    fn check_way_out(&mut self) {
        let mut ends: BTreeSet<&str> = BTreeSet::new();
        loop {
            let before = ends.len();
            for (name, step) in &self.flow.steps {
                if step.ends_call() || step.targets().iter().any(|t| ends.contains(t)) {
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
                    Rule::NoWayOut,
                    "no path from here ends the call".into(),
                );
            }
        }
    }

    fn check_values(&mut self, name: &str, step: &Step) {
        match step {
            Step::SetLanguage(SetLanguage { language, .. }) => {
                if !self.flow.languages().contains(&language.as_str()) {
                    self.report(
                        Some(name),
                        Rule::UndeclaredLanguage,
                        format!("switches to {language}, which the flow does not speak"),
                    );
                }
            }
            Step::Say(Say { prompt, .. }) => self.check_prompt(name, prompt),
            Step::Menu(Menu {
                prompt,
                options,
                repeat,
                input,
                ..
            }) => {
                self.check_prompt(name, prompt);
                self.check_input(name, input);
                if options.is_empty() {
                    self.report(
                        Some(name),
                        Rule::MenuWithoutOptions,
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
                            Rule::InvalidKey,
                            format!("`{key}` is not a sequence of 0-9, * and #"),
                        );
                    }
                    if !keys.insert(key) {
                        self.report(
                            Some(name),
                            Rule::DuplicateKey,
                            format!("key `{key}` is used twice"),
                        );
                    }
                    if u32::try_from(key.len()).unwrap_or(u32::MAX) > input.max_digits {
                        self.report(
                            Some(name),
                            Rule::InvalidKey,
                            format!("key `{key}` is longer than max_digits"),
                        );
                    }
                }
            }
            Step::Gather(Gather {
                prompt,
                min_digits,
                input,
                next,
                ..
            }) => {
                self.check_prompt(name, prompt);
                self.check_input(name, input);
                if next.is_none() {
                    self.report(
                        Some(name),
                        Rule::GatherWithoutNext,
                        "a gather says where the call goes with the entry".into(),
                    );
                }
                if *min_digits == 0 || *min_digits > input.max_digits {
                    self.report(
                        Some(name),
                        Rule::InvalidDigits,
                        format!("min digits {min_digits} must be 1..={}", input.max_digits),
                    );
                }
            }
            Step::Dial(crate::flow::Dial {
                numbers,
                caller_id,
                options,
                ..
            }) => {
                if let Err(e) = options.check() {
                    self.report(Some(name), Rule::InvalidAction, e.to_string());
                }
                for text in numbers.iter().chain(caller_id) {
                    self.check_template(name, text);
                }
                if numbers.is_empty() {
                    self.report(
                        Some(name),
                        Rule::DialWithoutNumbers,
                        "a dial needs at least one number".into(),
                    );
                }
                for number in numbers.iter().chain(caller_id) {
                    if !number.contains('{') && PhoneNumber::parse(number).is_err() {
                        self.report(
                            Some(name),
                            Rule::InvalidNumber,
                            format!("`{number}` is not a phone number"),
                        );
                    }
                }
                if let (Some(n), Some(c)) = (numbers.first(), caller_id) {
                    if !n.contains('{') && !c.contains('{') {
                        if let Err(e) = Dial::new(n, c) {
                            self.report(Some(name), Rule::InvalidAction, e.to_string());
                        }
                    }
                }
            }
            Step::SendDtmf(crate::flow::SendDtmf { digits, .. }) => {
                if let Err(e) = SendDtmf::new(digits) {
                    self.report(Some(name), Rule::InvalidAction, e.to_string());
                }
            }
            Step::Decide(Decide { targets, .. }) => {
                if targets.is_empty() {
                    self.report(
                        Some(name),
                        Rule::NoTargets,
                        "declare the steps the code may go to".into(),
                    );
                }
            }
            Step::Hours(Hours { hours, .. }) => {
                for message in hours.problems() {
                    self.report(Some(name), Rule::InvalidHours, message);
                }
            }
            Step::Fetch(Fetch {
                hold: Some(hold), ..
            }) => {
                for prompt in &hold.prompts {
                    self.check_prompt(name, prompt);
                }
                if hold.max_plays == 0 {
                    self.report(
                        Some(name),
                        Rule::InvalidAction,
                        "`.hold_at_most(0)` plays no hold: give at least 1".into(),
                    );
                }
            }
            Step::Fetch(Fetch { hold: None, .. }) | Step::Hangup(_) => {}
        }
    }

    fn check_prompt(&mut self, name: &str, prompt: &Prompt) {
        match prompt {
            Prompt::Parts(parts) => {
                if parts.is_empty() {
                    self.report(
                        Some(name),
                        Rule::EmptyMessage,
                        "`parts([])` plays nothing".into(),
                    );
                }
                for part in parts {
                    self.check_prompt(name, part);
                }
            }
            Prompt::Speak { text, language } => {
                self.check_template(name, text);
                if text.trim().is_empty() {
                    self.report(
                        Some(name),
                        Rule::EmptyMessage,
                        "the prompt has no text".into(),
                    );
                }
                if let Some(lang) = language {
                    if Language::parse(lang).is_err() {
                        self.report(
                            Some(name),
                            Rule::InvalidLanguage,
                            format!("`{lang}` is not a Telesign TTS language"),
                        );
                    }
                }
            }
            Prompt::Play { url, or_say } => {
                if let Err(e) = Play::new(url) {
                    self.report(Some(name), Rule::InvalidUrl, e.to_string());
                }
                if let Some(text) = or_say {
                    self.check_template(name, text);
                }
                if or_say.as_deref().is_some_and(|t| t.trim().is_empty()) {
                    self.report(
                        Some(name),
                        Rule::EmptyMessage,
                        "the spoken fallback of an audio prompt is empty".to_owned(),
                    );
                }
            }
        }
    }

    fn check_input(&mut self, name: &str, input: &Input) {
        if let Err(e) = input.collect_digits() {
            self.report(Some(name), Rule::InvalidInput, e.to_string());
        }
    }
}

impl Validator<'_> {
    /// Every text a caller can hear, in every language the flow speaks: each with its pair in
    /// each phrasebook, naming the same variables; `{opening_hours}` in a language with words
    /// for it.
    fn check_translations(&mut self) {
        let flow = self.flow;
        let placeholders = |text: &str| -> BTreeSet<String> {
            template::parse(text)
                .map(|ps| ps.iter().map(|p| p.name.to_owned()).collect())
                .unwrap_or_default()
        };
        for (name, step) in &flow.steps {
            for text in step.spoken_texts() {
                for (language, book) in &flow.translations {
                    match book.get(text) {
                        None => self.report(
                            Some(name),
                            Rule::MissingTranslation,
                            format!("has no {language} for \"{text}\""),
                        ),
                        Some(said) if placeholders(said) != placeholders(text) => self.report(
                            Some(name),
                            Rule::TranslationPlaceholders,
                            format!(
                                "\"{text}\" and its {language} \"{said}\" name other variables"
                            ),
                        ),
                        Some(_) => {}
                    }
                }
                if placeholders(text).contains(OPENING_HOURS) {
                    for language in flow.languages() {
                        if !hours::Hours::speaks(language) {
                            self.report(
                                Some(name),
                                Rule::HoursInEnglish,
                                format!("`{{{OPENING_HOURS}}}` is said in English in {language}"),
                            );
                        }
                    }
                }
            }
        }
    }

    /// Placeholders that do not parse.
    fn check_template(&mut self, name: &str, text: &str) {
        match template::parse(text) {
            Ok(_) => {}
            Err(e @ TemplateError::Malformed(_)) => {
                self.report(Some(name), Rule::MalformedPlaceholder, e.to_string())
            }
            Err(e @ TemplateError::UnknownFilter { .. }) => {
                self.report(Some(name), Rule::UnknownFilter, e.to_string())
            }
        }
    }

    /// Every placeholder without a default names a variable the call can have when the step is
    /// entered: one the flow `needs`, `caller` and `called`, or one a step that can run before
    /// sets (a gather, a menu's `save_as`, code that declares `.sets([..])`, an hours step's
    /// `opening_hours`). The variable a gather collects is not there for its own prompt.
    fn check_variables(&mut self) {
        let flow = self.flow;
        let Some(start) = flow.start() else { return };
        let mut known: BTreeSet<&str> = ["caller", "called"].into_iter().collect();
        known.extend(flow.needs.iter().map(String::as_str));
        // Variables that can be set when each step is entered: a may-analysis, repeated until
        // no set grows (they only grow, bounded by the flow's variable names).
        let mut before: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        before.insert(start, BTreeSet::new());
        if let Some(target) = flow.on_error.as_deref() {
            before.entry(target).or_default();
        }
        loop {
            let mut grew = false;
            for (name, step) in &flow.steps {
                let Some(mut vars) = before.get(name.as_str()).cloned() else {
                    continue;
                };
                vars.extend(step.sets());
                for target in step.targets() {
                    let slot = before.entry(target).or_insert_with(|| {
                        grew = true;
                        BTreeSet::new()
                    });
                    let size = slot.len();
                    slot.extend(vars.iter().copied());
                    grew |= slot.len() != size;
                }
            }
            if !grew {
                break;
            }
        }
        for (name, step) in &flow.steps {
            let Some(vars) = before.get(name.as_str()) else {
                continue;
            };
            for text in step.texts() {
                let Ok(placeholders) = template::parse(text) else {
                    continue;
                };
                for p in placeholders {
                    if p.has_default() || known.contains(p.name) || vars.contains(p.name) {
                        continue;
                    }
                    self.report(
                        Some(name),
                        Rule::UnknownVariable,
                        format!(
                            "`{{{}}}` names a variable the call cannot have here: not in \
                             `.needs(..)`, not gathered, not set by code that runs before",
                            p.name
                        ),
                    );
                }
            }
        }
    }

    /// A sensitive entry is never spoken or dialled whole (in any language), its variable is
    /// not also a menu's or code's, and a flow that records calls is told that it takes one.
    fn check_sensitive(&mut self) {
        let flow = self.flow;
        let sensitive = flow.sensitive_vars();
        if sensitive.is_empty() {
            return;
        }
        let translated = |text: &'_ str| -> Vec<String> {
            flow.translations
                .values()
                .filter_map(|book| book.get(text).cloned())
                .collect()
        };
        for (name, step) in &flow.steps {
            let mut all: Vec<String> = Vec::new();
            for text in step.texts().into_iter().chain(step.spoken_texts()) {
                all.push(text.to_owned());
                all.extend(translated(text));
            }
            for text in &all {
                let Ok(placeholders) = template::parse(text) else {
                    continue;
                };
                for p in placeholders {
                    if sensitive.contains_key(p.name) && !p.filters.contains(&"last4") {
                        self.report(
                            Some(name),
                            Rule::SensitiveSpoken,
                            format!(
                                "`{text}` says the sensitive entry `{}` whole: mask it with                                  `{{{}|last4}}`",
                                p.name, p.name
                            ),
                        );
                    }
                }
            }
            // What code or a menu's `save_as` sets: not a gather's own entry, nor the words an
            // hours step says its hours in.
            let saved: Vec<&str> = match step {
                Step::Gather(_) | Step::Hours(_) => Vec::new(),
                Step::Say(_)
                | Step::Menu(_)
                | Step::Decide(_)
                | Step::Fetch(_)
                | Step::Dial(_)
                | Step::SendDtmf(_)
                | Step::SetLanguage(_)
                | Step::Hangup(_) => step.sets(),
            };
            for var in saved.into_iter().filter(|v| sensitive.contains_key(v)) {
                self.report(
                    Some(name),
                    Rule::SensitiveSavedAs,
                    format!("sets `{var}`, the variable of a sensitive entry"),
                );
            }
            if let Step::Dial(crate::flow::Dial { options, .. }) = step {
                if options.record_call {
                    let vars: Vec<&str> = sensitive.keys().copied().collect();
                    self.report(
                        Some(name),
                        Rule::SensitiveRecorded,
                        format!(
                            "records the call, and the flow takes the sensitive entries {}",
                            vars.join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// Warns when one event can run more `fetch` steps in a row (through steps without an
    /// action of their own) than the event budget lets each take its full timeout.
    fn check_fetch_budget(&mut self, limits: Limits) {
        let affordable = limits.event_budget_ms / limits.fetch_timeout_ms.max(1);
        for (name, step) in &self.flow.steps {
            if !matches!(step, Step::Fetch(Fetch { hold: None, .. })) {
                continue;
            }
            if limits.fetch_timeout_ms > SILENCE_MS {
                self.report(
                    Some(name),
                    Rule::SilentLookup,
                    format!(
                        "the caller hears nothing while the request runs, up to \
                         FETCH_TIMEOUT_MS = {} ms",
                        limits.fetch_timeout_ms
                    ),
                );
            }
            let chain = self.fetch_chain(name, &mut BTreeSet::new());
            if chain > affordable {
                self.report(
                    Some(name),
                    Rule::FetchBudget,
                    format!(
                        "one event can run {chain} fetch steps from here, {} ms each at most, \
                         but all of them share EVENT_BUDGET_MS = {} ms",
                        limits.fetch_timeout_ms, limits.event_budget_ms
                    ),
                );
            }
        }
    }

    /// The most `fetch` steps one event can run from `name` on (a loop counts as the most the
    /// pipeline allows, [`crate::pipeline::event::MAX_FETCHES_PER_EVENT`] being its cap).
    fn fetch_chain(&self, name: &str, seen: &mut BTreeSet<String>) -> u64 {
        const LOOP: u64 = 4;
        if !seen.insert(name.to_owned()) {
            return LOOP;
        }
        let Some(step) = self.flow.get(name) else {
            return 0;
        };
        // A held fetch answers the event with its hold and runs after the answer.
        let own = u64::from(matches!(step, Step::Fetch(Fetch { hold: None, .. })));
        let passes_on = step.answers_with().is_none();
        let rest = if passes_on {
            step.targets()
                .into_iter()
                .map(|t| self.fetch_chain(t, &mut seen.clone()))
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        (own + rest).min(LOOP)
    }

    /// Every step of the lock still exists or has moved to one that does, every step is in the
    /// lock, and every move names a step that exists.
    fn check_moves(&mut self, locked: Option<&BTreeSet<String>>) {
        for (old, new) in &self.flow.moved {
            if self.flow.get(new).is_none() {
                self.report(
                    Some(old),
                    Rule::MovedToMissing,
                    format!("moved to `{new}`, which does not exist"),
                );
            }
        }
        let Some(locked) = locked else { return };
        for step in locked {
            if self.flow.resolve(step).is_none() {
                self.report(
                    Some(step),
                    Rule::StepGone,
                    "was deployed (it is in the lock) and is gone, with no successor".into(),
                );
            }
        }
        for (name, step) in &self.flow.steps {
            if step.can_wait() && !locked.contains(name) {
                self.report(
                    Some(name),
                    Rule::UnlockedStep,
                    "is not in the lock of the steps deployed".into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::*;

    fn rules(flow: &Flow) -> Vec<(&'static str, Option<String>)> {
        validate(flow)
            .into_iter()
            .map(|p| (p.rule.as_str(), p.step))
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
        assert_eq!(problems[0].rule, Rule::UnsupportedCallState);
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
            .map(|p| p.rule.as_str())
            .collect();
        assert!(found.contains(&"route_to_outbound_flow"), "{found:?}");
        assert!(found.contains(&"missing_flow"), "{found:?}");
    }

    fn lookup(_: &Ctx) -> FetchRequest {
        FetchRequest::get("https://example.com/x")
    }

    fn accept(_: &mut Ctx, _: &FetchResponse) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn every_placeholder_names_a_variable_the_call_can_have_there() {
        let flow = Flow::outbound("o")
            .needs(["name"])
            .step(
                "ask",
                gather("Hi {name}, enter your code {code}.", "code")
                    .digits(4, 4)
                    .then("thanks"),
            )
            .step(
                "thanks",
                say("Thanks {name}, {code|digits}. {nmae} {x|or:friend}"),
            );
        assert_eq!(
            rules(&flow),
            [
                ("unknown_variable", Some("ask".into())),
                ("unknown_variable", Some("thanks".into())),
            ],
            "a gather's own variable is not there for its prompt; a typo is not there at all"
        );
        let typo = &validate(&flow)[1];
        assert!(typo.message.contains("`{nmae}`"), "{typo}");
    }

    #[test]
    fn variables_set_by_code_hours_and_menus_are_known_after_them_only() {
        fn pick(_: &mut Ctx) -> Next {
            Next::to("say")
        }
        let flow = Flow::inbound("i")
            .step("early", say("{greeting} {opening_hours}").then("code"))
            .step("code", decide(["say"], pick).sets(["greeting"]))
            .step(
                "say",
                menu("{greeting}, press 1.")
                    .option("1", "h")
                    .save_as("choice"),
            )
            .step(
                "h",
                hours("America/New_York")
                    .open(Mon, "09:00-10:00")
                    .on_open("bye")
                    .on_closed("bye"),
            )
            .step("bye", say("{greeting} {choice} {opening_hours} {caller}"));
        assert_eq!(
            validate(&flow)
                .iter()
                .map(|p| (p.rule, p.step.as_deref(), p.message.contains("{greeting}")))
                .collect::<Vec<_>>(),
            [
                (Rule::UnknownVariable, Some("early"), true),
                (Rule::UnknownVariable, Some("early"), false),
            ]
        );
    }

    #[test]
    fn unknown_filters_and_malformed_placeholders_are_named() {
        let flow = Flow::inbound("i")
            .step("a", say("{caller|upper}").then("b"))
            .step("b", say("Hello {caller"));
        assert_eq!(
            rules(&flow),
            [
                ("unknown_filter", Some("a".into())),
                ("malformed_placeholder", Some("b".into())),
            ]
        );
    }

    #[test]
    fn the_zones_a_flow_calls_in_are_checked() {
        let outbound = Flow::outbound("o")
            .calls_in(["America/Chicago", "America/Chicgao"])
            .step("a", say("A"));
        let found = validate(&outbound);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, Rule::InvalidCallZone);
        assert!(found[0].message.contains("`America/Chicgao`"), "{found:?}");
        let inbound = Flow::inbound("i")
            .calls_in(["America/Chicago"])
            .step("a", say("A"));
        let rules: Vec<Rule> = validate(&inbound).into_iter().map(|p| p.rule).collect();
        assert_eq!(rules, [Rule::InvalidCallZone]);
    }

    #[test]
    fn a_gather_says_where_the_call_goes_with_the_entry() {
        let flow = |g: Gather| Flow::inbound("g").step("pin", g).step("next", say("Ok"));
        let lost = flow(gather("Your PIN?", "pin").fallback("next"));
        let rules: Vec<Rule> = validate(&lost).into_iter().map(|p| p.rule).collect();
        assert_eq!(rules, [Rule::GatherWithoutNext]);
        // `.then_hangup()` says it: the call ends once the entry is made.
        let ends = flow(gather("Your PIN?", "pin").fallback("next").then_hangup());
        assert_eq!(validate(&ends), []);
        assert_eq!(validate(&flow(gather("Your PIN?", "pin").then("next"))), []);
    }

    #[test]
    fn opening_hours_are_checked() {
        let flow = Flow::inbound("i")
            .step(
                "h",
                hours("America/New_Yrok")
                    .open(Mon, "09:00-12:00, 11:00-13:00")
                    .open(Tue, "9-5")
                    .closed_on("2026-02-30")
                    .on_open("a")
                    .on_closed("a"),
            )
            .step("a", say("A"));
        let found: Vec<String> = validate(&flow)
            .into_iter()
            .map(|p| {
                assert_eq!(p.rule, Rule::InvalidHours);
                p.message
            })
            .collect();
        for want in [
            "`9-5`",
            "`2026-02-30`",
            "`America/New_Yrok`",
            "Monday overlap",
        ] {
            assert!(
                found.iter().any(|m| m.contains(want)),
                "{want} in {found:?}"
            );
        }
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn a_chain_of_fetches_longer_than_the_event_budget_is_a_warning() {
        let flow = Flow::inbound("i")
            .step("one", fetch(lookup).on_ok("two", accept).on_error("sorry"))
            .step("two", fetch(lookup).on_ok("say", accept).on_error("sorry"))
            .step("say", say("Done."))
            .step("sorry", say("Sorry."));
        let limits = Limits {
            fetch_timeout_ms: 3_000,
            event_budget_ms: 4_000,
        };
        let budget: Vec<Problem> = check(&flow, limits, None)
            .into_iter()
            .filter(|p| p.rule == Rule::FetchBudget)
            .collect();
        assert_eq!(
            budget
                .iter()
                .map(|p| (p.rule, p.step.as_deref()))
                .collect::<Vec<_>>(),
            [(Rule::FetchBudget, Some("one"))]
        );
        assert!(budget[0].rule.is_warning());
        assert!(budget[0].to_string().contains("warning: [fetch_budget]"));
        let roomy = Limits {
            fetch_timeout_ms: 2_000,
            event_budget_ms: 4_000,
        };
        assert!(check(&flow, roomy, None)
            .iter()
            .all(|p| p.rule != Rule::FetchBudget));
    }

    #[test]
    fn a_lookup_without_a_hold_warns_of_silence_and_a_held_one_is_checked_like_a_prompt() {
        let silent = Flow::inbound("i")
            .step("one", fetch(lookup).on_ok("say", accept).on_error("say"))
            .step("say", say("Done."));
        assert_eq!(rules(&silent), [("silent_lookup", Some("one".into()))]);
        let quick = Limits {
            fetch_timeout_ms: 800,
            event_budget_ms: 4_000,
        };
        assert_eq!(check(&silent, quick, None), []);
        let held = Flow::inbound("i")
            .step(
                "one",
                fetch(lookup)
                    .hold("One moment, {name}.")
                    .hold_at_most(0)
                    .on_ok("say", accept)
                    .on_error("say"),
            )
            .step("say", say("Done."));
        assert_eq!(
            rules(&held),
            [
                ("invalid_action", Some("one".into())),
                ("unknown_variable", Some("one".into()))
            ]
        );
        // A hold is a prompt: a dial cannot follow it.
        let dial_after = Flow::inbound("i")
            .step(
                "one",
                fetch(lookup)
                    .hold("One moment.")
                    .on_ok("agents", accept)
                    .on_error("agents"),
            )
            .step("agents", dial(["+15555550101"]));
        assert_eq!(
            rules(&dial_after),
            [("unsupported_call_state", Some("agents".into()))]
        );
    }

    #[test]
    fn a_sensitive_entry_is_spoken_only_masked_kept_apart_and_flagged_when_recorded() {
        let flow = |said: &str, back: &str| {
            Flow::inbound("f")
                .translations("es-US", [("Enter it.", "Márquelo."), (said, back)])
                .step("pin", gather("Enter it.", "pin").sensitive().then("said"))
                .step("said", say(said).then("menu"))
                .step("menu", menu("Enter it.").option("1", "bye").save_as("pin"))
                .step("bye", dial(["+15555550100"]).record())
        };
        let sensitive = |flow: &Flow| -> Vec<(&'static str, Option<String>)> {
            rules(flow)
                .into_iter()
                .filter(|(rule, _)| rule.starts_with("sensitive"))
                .collect()
        };
        let found = sensitive(&flow(
            "Yours ends {pin|last4|digits}.",
            "Termina {pin|last4}.",
        ));
        assert_eq!(
            found,
            [
                ("sensitive_saved_as", Some("menu".to_owned())),
                ("sensitive_recorded", Some("bye".to_owned())),
            ]
        );
        // Whole, in the flow's language or in a translation.
        for (said, back) in [
            ("Yours is {pin}.", "Es {pin|last4}."),
            ("Yours ends {pin|last4}.", "Es {pin|digits}."),
        ] {
            let found = sensitive(&flow(said, back));
            assert!(
                found.contains(&("sensitive_spoken", Some("said".to_owned()))),
                "{said} / {back}: {found:?}"
            );
        }
        let problem = validate(&flow("Yours is {pin}.", "Es {pin|last4}."))
            .into_iter()
            .find(|p| p.rule == Rule::SensitiveSpoken)
            .unwrap();
        assert!(problem.to_string().contains("{pin|last4}"), "{problem}");
        assert!(!Rule::SensitiveSpoken.is_warning() && Rule::SensitiveRecorded.is_warning());
    }

    #[test]
    fn a_move_must_name_a_step_that_exists() {
        let flow = Flow::inbound("i").moved("old", "gone").step("a", say("A"));
        assert_eq!(rules(&flow), [("moved_to_missing", Some("old".into()))]);
    }

    #[test]
    fn the_error_step_must_exist_and_counts_as_reachable() {
        let flow = Flow::inbound("i")
            .on_error("sorry")
            .step("a", say("A"))
            .step("sorry", say("Sorry."));
        assert_eq!(validate(&flow), []);
        let missing = Flow::inbound("i").on_error("sorry").step("a", say("A"));
        assert_eq!(rules(&missing), [("missing_step", None)]);
    }

    #[test]
    fn every_rule_has_a_distinct_name_and_a_hint() {
        let names: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Rule::ALL.len());
        assert!(Rule::ALL.iter().all(|r| !r.hint().is_empty()));
        assert_eq!(
            Rule::ALL
                .iter()
                .filter(|r| r.is_warning())
                .collect::<Vec<_>>(),
            [
                &Rule::HoursInEnglish,
                &Rule::SilentLookup,
                &Rule::FetchBudget,
                &Rule::UnsetLocally,
                &Rule::FlowGone,
                &Rule::SensitiveRecorded
            ]
        );
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use crate::flow::{say, Flow};

    #[test]
    fn settings_are_held_against_wrangler_toml_and_the_secrets_example() {
        let registry = Registry::new().flow(
            Flow::inbound("f")
                .config(["URL", "MISSING_URL"])
                .secrets(["KEY", "LEAKED", "UNLISTED"])
                .step("a", say("Hi")),
        );
        let env = Environment {
            vars: ["URL", "LEAKED", "DEV_CLOCK"].map(String::from).into(),
            secrets: ["KEY", "LEAKED"].map(String::from).into(),
            local: Some(["KEY", "LEAKED"].map(String::from).into()),
        };
        let rules: Vec<Rule> = check_settings(&registry, &env)
            .iter()
            .map(|p| p.rule)
            .collect();
        assert_eq!(
            rules,
            [
                Rule::DevClockInVars,
                Rule::UnlistedConfig,
                Rule::SecretInVars,
                Rule::UnlistedSecret,
                Rule::UnsetLocally
            ]
        );
    }
}
