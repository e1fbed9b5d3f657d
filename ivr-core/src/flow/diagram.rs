//! Mermaid flowcharts of flows, drawn from their definitions so a diagram cannot drift from the
//! call it describes: `npm run flows:diagrams` writes one per flow to `docs/flows/`, and a test
//! fails when a checked-in diagram no longer matches its flow.
//!
//! What is drawn: every step (its kind and its prompt, shortened), an edge per key of a menu, the
//! no-input / invalid reprompt loop with its retry count, where the call goes when the retries are
//! spent, the declared targets of user code, the hunt list of a dial with its no-answer path, and
//! every way the call hangs up. Pure text in, text out: no I/O.

use super::{Dial, Fetch, Gather, Hours, Menu, Say, SendDtmf, SetLanguage};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Branch, Dest, Direction, Flow, Next, Prompt, Step, Takes};

/// Longest prompt text shown in a node, in characters; the rest is cut at a word boundary.
const PROMPT_CHARS: usize = 60;

/// The Mermaid source (a `flowchart TD`) of `flow`, ending with a newline.
pub fn mermaid(flow: &Flow) -> String {
    draw(flow, None)
}

/// What flow tests reached of a flow: whether a step was entered, whether a branch was taken.
pub struct Reached<'a> {
    pub step: &'a dyn Fn(&str) -> bool,
    pub branch: &'a dyn Fn(&str, &Branch) -> bool,
}

/// [`mermaid`], with the steps and branches flow tests never reached drawn in red, dashed.
pub fn mermaid_with_coverage(flow: &Flow, reached: &Reached) -> String {
    draw(flow, Some(reached))
}

fn draw(flow: &Flow, reached: Option<&Reached>) -> String {
    let ids = NodeIds::new(flow);
    let mut d = Diagram::default();
    let start = match flow.direction {
        Direction::Inbound => "incoming call",
        Direction::Outbound => "outbound call answered",
    };
    d.node(format!("{START}([\"{}\"])", label(start)));
    if let Some(first) = flow.start() {
        d.edge(START, ids.get(first), None, Line::Solid);
    }
    if let Some(step) = flow.on_error.as_deref().filter(|s| flow.get(s).is_some()) {
        d.node(format!("{ERROR}([\"{}\"])", label("the flow cannot go on")));
        d.edge(ERROR, ids.get(step), None, Line::Dotted);
    }
    for (name, step) in &flow.steps {
        let id = ids.own(name);
        d.node(node(id, name, step, &flow.language));
        if reached.is_some_and(|r| !(r.step)(name)) {
            d.unreached_nodes.push(id.to_owned());
        }
        let branch_reached = |branch: &Branch| reached.is_none_or(|r| (r.branch)(name, branch));
        d.step_edges(id, step, &ids, &branch_reached);
    }
    d.finish(&flow.name)
}

/// Fixed node ids; step ids all start with `s_`, so these cannot clash with a step.
const START: &str = "call_start";
const END: &str = "call_end";
const RETRY: &str = "call_retry";
const ERROR: &str = "call_error";

/// Mermaid ids of the steps: `s_` plus the name with anything but `[A-Za-z0-9_]` replaced, made
/// unique with the step's position when two names map to the same id.
struct NodeIds(BTreeMap<String, String>);

impl NodeIds {
    fn new(flow: &Flow) -> Self {
        let mut ids = BTreeMap::new();
        let mut taken = std::collections::BTreeSet::new();
        for (i, (name, _)) in flow.steps.iter().enumerate() {
            if ids.contains_key(name) {
                continue;
            }
            let clean: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let mut id = format!("s_{clean}");
            if !taken.insert(id.clone()) {
                id = format!("s_{clean}_{i}");
                taken.insert(id.clone());
            }
            ids.insert(name.clone(), id);
        }
        Self(ids)
    }

    /// The id of a step of the flow.
    fn own<'a>(&'a self, name: &'a str) -> &'a str {
        self.0.get(name).map_or(name, String::as_str)
    }

    /// The id of a step; a target that names no step (an invalid flow) gets an id of its own so
    /// the diagram still shows where the broken edge points.
    fn get<'a>(&'a self, name: &'a str) -> NodeRef<'a> {
        match self.0.get(name) {
            Some(id) => NodeRef::Step(id),
            None => NodeRef::Missing(name),
        }
    }
}

#[derive(Clone, Copy)]
enum NodeRef<'a> {
    Step(&'a str),
    Missing(&'a str),
}

impl<'a> From<&'a str> for NodeRef<'a> {
    fn from(id: &'a str) -> Self {
        NodeRef::Step(id)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// The caller's own choices and the normal path.
    Solid,
    /// No input, invalid input, retries spent, no answer: the unhappy paths.
    Dotted,
}

#[derive(Default)]
struct Diagram {
    nodes: Vec<String>,
    edges: Vec<String>,
    uses_end: bool,
    uses_retry: bool,
    missing: Vec<String>,
    /// Indexes of the edges of branches flow tests never took.
    unreached_edges: Vec<usize>,
    /// Ids of the steps flow tests never entered.
    unreached_nodes: Vec<String>,
}

impl Diagram {
    fn node(&mut self, text: String) {
        self.nodes.push(text);
    }

    fn edge<'a>(
        &mut self,
        from: impl Into<NodeRef<'a>>,
        to: NodeRef<'a>,
        text: Option<&str>,
        line: Line,
    ) {
        let from = self.resolve(from.into());
        let to = self.resolve(to);
        let arrow = match line {
            Line::Solid => "-->",
            Line::Dotted => "-.->",
        };
        let text = text
            .map(|t| format!("|\"{}\"|", label(t)))
            .unwrap_or_default();
        self.edges.push(format!("{from} {arrow}{text} {to}"));
    }

    fn resolve(&mut self, node: NodeRef<'_>) -> String {
        match node {
            NodeRef::Step(id) => id.to_owned(),
            NodeRef::Missing(name) => {
                let id = format!("missing_{}", self.missing.len());
                self.missing
                    .push(format!("{id}[\"missing step: {}\"]", label(name)));
                id
            }
        }
    }

    /// Where `next` leads from `from`.
    fn next(&mut self, from: &str, next: &Next, text: Option<&str>, line: Line, ids: &NodeIds) {
        match next {
            Next::Step(target) => self.edge(from, ids.get(target), text, line),
            Next::Hangup => {
                self.uses_end = true;
                self.edge(from, NodeRef::Step(END), text, line);
            }
            Next::Retry => {
                self.uses_retry = true;
                let text = text.map_or("retry".to_owned(), |t| format!("{t}, retry"));
                self.edge(from, NodeRef::Step(RETRY), Some(&text), Line::Dotted);
            }
        }
    }

    /// The edges of a step, one per way out ([`Step::exits`]); the reprompts of an input step
    /// (no input, invalid, refused) share one loop. An edge whose branch `reached` denies is
    /// marked.
    fn step_edges(
        &mut self,
        id: &str,
        step: &Step,
        ids: &NodeIds,
        reached: &dyn Fn(&Branch) -> bool,
    ) {
        if matches!(step, Step::Hangup(_)) {
            return self.next(id, &Next::Hangup, None, Line::Solid, ids);
        }
        let exits = step.exits();
        let reprompts: Vec<&Branch> = exits
            .iter()
            .filter(|e| e.to == Dest::Again && e.branch != Branch::Repeat)
            .map(|e| &e.branch)
            .collect();
        let mut looped = false;
        for exit in &exits {
            let before = self.edges.len();
            match (&exit.branch, &exit.to) {
                (Branch::Repeat, _) => {
                    let text = format!("{}: repeat", repeat_keys(step));
                    self.edge(id, NodeRef::Step(id), Some(&text), Line::Solid);
                }
                (_, Dest::Again) if looped => continue,
                (_, Dest::Again) => {
                    looped = true;
                    let missed: Vec<String> = reprompts
                        .iter()
                        .filter(|b| !reached(b))
                        .map(|b| b.name())
                        .collect();
                    if let Some(text) = reprompt_text(step) {
                        self.edge(id, NodeRef::Step(id), Some(&text), Line::Dotted);
                    }
                    if !missed.is_empty() && self.edges.len() > before {
                        self.unreached_edges.push(before);
                    }
                    continue;
                }
                (branch, to) => {
                    let text = edge_text(step, branch);
                    let line = if branch.is_unhappy() {
                        Line::Dotted
                    } else {
                        Line::Solid
                    };
                    self.dest(id, to, text.as_deref(), line, ids);
                }
            }
            if !reached(&exit.branch) && self.edges.len() > before {
                self.unreached_edges.push(before);
            }
        }
    }

    /// An edge to where an exit leads.
    fn dest(&mut self, from: &str, to: &Dest, text: Option<&str>, line: Line, ids: &NodeIds) {
        match to {
            Dest::Step(target) => self.edge(from, ids.get(target), text, line),
            Dest::Hangup => self.next(from, &Next::Hangup, text, line, ids),
            Dest::Retry => self.next(from, &Next::Retry, text, line, ids),
            Dest::Again => self.edge(from, NodeRef::Step(from), text, line),
        }
    }

    fn finish(mut self, name: &str) -> String {
        if self.uses_end {
            self.nodes.push(format!("{END}((\"hang up\"))"));
        }
        if self.uses_retry {
            self.nodes
                .push(format!("{RETRY}([\"back to the last menu or entry\"])"));
        }
        self.nodes.append(&mut self.missing);
        let mut out =
            format!("%% Flow `{name}`, drawn from its definition: do not edit.\nflowchart TD\n");
        for line in self.nodes.iter().chain(&self.edges) {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "    {line}");
        }
        if !self.unreached_nodes.is_empty() {
            out.push_str("    classDef unreached fill:#fde2e2,stroke:#d33,stroke-width:2px\n");
            let _ = writeln!(
                out,
                "    class {} unreached",
                self.unreached_nodes.join(",")
            );
        }
        for i in &self.unreached_edges {
            let _ = writeln!(
                out,
                "    linkStyle {i} stroke:#d33,stroke-width:3px,stroke-dasharray:6 4"
            );
        }
        out
    }
}

/// The keys of a menu's repeat option.
fn repeat_keys(step: &Step) -> &str {
    let takes = step.input_step().map(|s| s.takes);
    match takes {
        Some(Takes::Choice {
            repeat: Some(keys), ..
        }) => keys,
        Some(Takes::Choice { repeat: None, .. } | Takes::Entry { .. }) | None => "",
    }
}

/// The label of an input step's reprompt loop, when it reprompts at all.
fn reprompt_text(step: &Step) -> Option<String> {
    let retries = step.input_step()?.retries;
    match retries.max {
        0 => None,
        1 => Some("no input / invalid: reprompt once".to_owned()),
        n => Some(format!("no input / invalid: reprompt {n} times")),
    }
}

/// The label of the edge of `branch`.
fn edge_text(step: &Step, branch: &Branch) -> Option<String> {
    Some(match (branch, step) {
        (Branch::Next, Step::Gather(Gather { var, .. })) => format!("digits → {var}"),
        (Branch::Next, _) => return None,
        (Branch::Key(keys), _) => keys.clone(),
        (Branch::Fallback, _) => "retries spent".to_owned(),
        (Branch::Chosen(_), _) => "code".to_owned(),
        (Branch::Ok, _) => "answered".to_owned(),
        (Branch::Error, _) => "failed".to_owned(),
        (Branch::Open, _) => "open".to_owned(),
        (Branch::Closed, _) => "closed".to_owned(),
        (Branch::After, _) => "answered, agent hung up".to_owned(),
        (Branch::NoAnswer, Step::Dial(Dial { numbers, .. })) if numbers.len() > 1 => {
            format!("none of the {} answered", numbers.len())
        }
        (Branch::NoAnswer, _) => "no answer".to_owned(),
        (Branch::Repeat | Branch::NoInput | Branch::Invalid | Branch::Refused, _) => branch.name(),
    })
}

/// The node of a step: its shape says its kind, its text its name and what it does.
fn node(id: &str, name: &str, step: &Step, flow_language: &str) -> String {
    let (what, open, close) = match step {
        Step::Say(Say { prompt, .. }) => (prompt_text(prompt, flow_language), "[\"", "\"]"),
        Step::Menu(Menu { prompt, .. }) => (
            format!("menu, {}", prompt_text(prompt, flow_language)),
            "{\"",
            "\"}",
        ),
        Step::Gather(Gather {
            prompt,
            var,
            min_digits,
            input,
            check,
            ..
        }) => {
            let count = if *min_digits == input.max_digits {
                format!("{min_digits}")
            } else {
                format!("{min_digits}-{}", input.max_digits)
            };
            (
                format!(
                    "gather {count} digits into {var}{}, {}",
                    if check.is_some() {
                        " (checked by code)"
                    } else {
                        ""
                    },
                    prompt_text(prompt, flow_language)
                ),
                "[/\"",
                "\"/]",
            )
        }
        Step::Decide(_) => ("code decides".to_owned(), "{{\"", "\"}}"),
        Step::Fetch(Fetch { sets, hold, .. }) => {
            let mut text = "HTTP request".to_owned();
            if let Some(hold) = hold {
                let prompts: Vec<String> = hold
                    .prompts
                    .iter()
                    .map(|p| prompt_text(p, flow_language))
                    .collect();
                text.push_str(&format!(
                    ", on hold ({} at most): {}",
                    hold.max_plays,
                    prompts.join(" / ")
                ));
            }
            if !sets.is_empty() {
                text.push_str(&format!(", its answer read into {}", sets.join(", ")));
            }
            (text, "[[\"", "\"]]")
        }
        Step::Hours(Hours { hours, .. }) => (
            {
                let mut text = format!("hours ({}): {}", hours.zone, hours.describe());
                let closed: Vec<String> = hours.closed_on.iter().map(|d| d.to_string()).collect();
                if !closed.is_empty() {
                    text.push_str(&format!("; closed {}", closed.join(", ")));
                }
                if !hours.special.is_empty() {
                    text.push_str(&format!(
                        "; {} dates with special hours",
                        hours.special.len()
                    ));
                }
                text
            },
            "{{\"",
            "\"}}",
        ),
        Step::Dial(Dial { numbers, .. }) => {
            let verb = if numbers.len() > 1 {
                "ring in turn"
            } else {
                "ring"
            };
            (format!("{verb}: {}", numbers.join(", ")), "([\"", "\"])")
        }
        Step::SendDtmf(SendDtmf { digits, .. }) => (format!("send tones {digits}"), "[\"", "\"]"),
        Step::SetLanguage(SetLanguage { language, .. }) => {
            (format!("from here on: {language}"), "{{\"", "\"}}")
        }
        Step::Hangup(_) => ("hang up".to_owned(), "[\"", "\"]"),
    };
    format!(
        "{id}{open}<b>{}</b><br/>{}{close}",
        label(name),
        label(&what)
    )
}

fn prompt_text(prompt: &Prompt, flow_language: &str) -> String {
    match prompt {
        Prompt::Speak { text, language } => {
            let short = shorten(text, PROMPT_CHARS);
            match language {
                Some(lang) if lang != flow_language => format!("say ({lang}): {short}"),
                _ => format!("say: {short}"),
            }
        }
        Prompt::Play { url, or_say: None } => format!("play {url}"),
        Prompt::Play {
            url,
            or_say: Some(text),
        } => format!("play {url}, or say: {}", shorten(text, 40)),
        Prompt::Parts(parts) => {
            let each: Vec<String> = parts
                .iter()
                .map(|p| prompt_text(p, flow_language))
                .collect();
            each.join(", then ")
        }
    }
}

/// `text` cut to at most `max` characters at a word boundary, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > max / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

/// Text made safe inside a quoted Mermaid label: quotes, angle brackets and `#` become Mermaid's
/// entity codes (a bare `#` starts one).
fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::*;

    fn go(_: &mut Ctx) -> Next {
        Next::to("bye")
    }

    fn lines(flow: &Flow) -> Vec<String> {
        mermaid(flow).lines().map(|l| l.trim().to_owned()).collect()
    }

    #[test]
    fn menu_keys_repeat_retries_and_fallback_are_edges() {
        let flow = Flow::inbound("m")
            .step("hi", say("Hello.").then("menu"))
            .step(
                "menu",
                menu("Press 1 or #.")
                    .option("1", "bye")
                    .option("#", "bye")
                    .repeat("9")
                    .retries(3)
                    .fallback("bye"),
            )
            .step("bye", say("Bye"));
        let got = lines(&flow);
        for want in [
            "flowchart TD",
            "call_start([\"incoming call\"])",
            "call_start --> s_hi",
            "s_hi[\"<b>hi</b><br/>say: Hello.\"]",
            "s_menu{\"<b>menu</b><br/>menu, say: Press 1 or #35;.\"}",
            "s_hi --> s_menu",
            "s_menu -->|\"1\"| s_bye",
            "s_menu -->|\"#35;\"| s_bye",
            "s_menu -->|\"9: repeat\"| s_menu",
            "s_menu -.->|\"no input / invalid: reprompt 3 times\"| s_menu",
            "s_menu -.->|\"retries spent\"| s_bye",
            "s_bye --> call_end",
            "call_end((\"hang up\"))",
        ] {
            assert!(
                got.contains(&want.to_owned()),
                "missing {want:?} in\n{}",
                got.join("\n")
            );
        }
        assert!(!got.iter().any(|l| l.starts_with("call_retry")));
    }

    #[test]
    fn gather_without_fallback_hangs_up_when_retries_are_spent() {
        let flow = Flow::outbound("g")
            .step(
                "pin",
                gather("Enter your PIN.", "pin")
                    .digits(4, 6)
                    .retries(1)
                    .then("check"),
            )
            .step("check", decide(["bye"], go))
            .step("bye", say("Bye"));
        let got = lines(&flow);
        for want in [
            "call_start([\"outbound call answered\"])",
            "s_pin[/\"<b>pin</b><br/>gather 4-6 digits into pin, say: Enter your PIN.\"/]",
            "s_pin -->|\"digits → pin\"| s_check",
            "s_pin -.->|\"no input / invalid: reprompt once\"| s_pin",
            "s_pin -.->|\"retries spent\"| call_end",
            "s_check{{\"<b>check</b><br/>code decides\"}}",
            "s_check -->|\"code\"| s_bye",
        ] {
            assert!(
                got.contains(&want.to_owned()),
                "missing {want:?} in\n{}",
                got.join("\n")
            );
        }
    }

    #[test]
    fn dial_hunt_list_and_no_answer_path() {
        let flow = Flow::inbound("d")
            .step(
                "agents",
                dial(["+15555550101", "+15555550102"]).on_no_answer("sorry"),
            )
            .step("sorry", say(speak_in("es-US", "Lo siento.")));
        let got = lines(&flow);
        for want in [
            "s_agents([\"<b>agents</b><br/>ring in turn: +15555550101, +15555550102\"])",
            "s_agents -->|\"answered, agent hung up\"| call_end",
            "s_agents -.->|\"none of the 2 answered\"| s_sorry",
            "s_sorry[\"<b>sorry</b><br/>say (es-US): Lo siento.\"]",
        ] {
            assert!(
                got.contains(&want.to_owned()),
                "missing {want:?} in\n{}",
                got.join("\n")
            );
        }
    }

    #[test]
    fn long_prompts_are_shortened_at_a_word_and_quotes_escaped() {
        let text = "word ".repeat(30);
        let short = shorten(&text, PROMPT_CHARS);
        assert!(short.ends_with("word…"), "{short}");
        assert!(short.chars().count() <= PROMPT_CHARS + 1);
        assert_eq!(shorten("Short, as is.", PROMPT_CHARS), "Short, as is.");
        assert_eq!(label("say \"hi\" <now>"), "say #quot;hi#quot; #lt;now#gt;");
    }

    #[test]
    fn odd_step_names_get_safe_unique_ids_and_missing_targets_show() {
        let flow = Flow::inbound("o")
            .step("end", say("A").then("a-b"))
            .step("a-b", say("B").then("a_b"))
            .step("a_b", say("C").then("nowhere"));
        let got = lines(&flow);
        for want in [
            "call_start --> s_end",
            "s_end --> s_a_b",
            "s_a_b --> s_a_b_2",
            "s_a_b_2 --> missing_0",
            "missing_0[\"missing step: nowhere\"]",
        ] {
            assert!(
                got.contains(&want.to_owned()),
                "missing {want:?} in\n{}",
                got.join("\n")
            );
        }
    }

    #[test]
    fn a_retry_from_user_code_points_at_the_last_input() {
        let flow = Flow::inbound("r").step(
            "again",
            Step::Say(Say {
                prompt: "Again".into(),
                next: Next::Retry,
            }),
        );
        let got = lines(&flow);
        assert!(
            got.contains(&"s_again -.->|\"retry\"| call_retry".to_owned()),
            "{got:?}"
        );
        assert!(got.contains(&"call_retry([\"back to the last menu or entry\"])".to_owned()));
    }
}
