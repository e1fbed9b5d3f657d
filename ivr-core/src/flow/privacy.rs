//! Which variables of a flow are sensitive, and how long a call keeps them: a sensitive value is
//! kept (sealed) only while a step the call may still reach can read it.
//!
//! "Can read" is a live-variable analysis over the flow's exits: a step reads a variable its
//! prompts, notices or dial numbers name, and a `fetch` or `decide` step's code may read any
//! variable (it is opaque to the checker); the `gather` that collects a variable sets it anew on
//! its way on, so what lies past it does not need the old value. Every step can fail to the
//! flow's `on_error` step, so what that step reads is read from everywhere.

use super::Gather;
use std::collections::{BTreeMap, BTreeSet};

use super::exits::{Branch, Dest};
use super::{template, Flow, Sensitive, Step};
use crate::sort::collected;

impl Flow {
    /// The variables the flow's sensitive entries set, with how their answers are masked.
    pub fn sensitive_vars(&self) -> BTreeMap<&str, Sensitive> {
        collected(self.steps.iter().filter_map(|(_, step)| match step {
            Step::Gather(Gather {
                var,
                sensitive: Some(s),
                ..
            }) => Some((var.as_str(), *s)),
            _ => None,
        }))
    }

    /// The sensitive variables' names.
    pub fn sensitive_names(&self) -> &[String] {
        &self.liveness().all
    }

    /// How the entry of the step `name` is masked, if it is a sensitive entry.
    pub fn sensitive_entry(&self, name: &str) -> Option<Sensitive> {
        match self.get(name)? {
            Step::Gather(Gather { sensitive, .. }) => *sensitive,
            _ => None,
        }
    }

    /// The sensitive variables that a call waiting at `step` may still read, at that step or
    /// any it can reach. A step the flow does not have keeps them all.
    pub fn sensitive_live_at(&self, step: &str) -> &[String] {
        let live = self.liveness();
        live.at.get(step).unwrap_or(&live.all)
    }

    fn liveness(&self) -> &Liveness {
        self.sensitive_live.get_or_init(|| liveness(self))
    }
}

/// The flow's sensitive variables, and those live at each step.
#[derive(Debug, Clone, Default)]
pub(super) struct Liveness {
    all: Vec<String>,
    at: BTreeMap<String, Vec<String>>,
}

fn liveness(flow: &Flow) -> Liveness {
    let sensitive: BTreeSet<&str> = collected(flow.sensitive_vars().into_keys());
    let mut live: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    if !sensitive.is_empty() {
        let reads: BTreeMap<&str, BTreeSet<&str>> = collected(
            flow.steps
                .iter()
                .map(|(name, step)| (name.as_str(), reads(step, &sensitive))),
        );
        live = reads.clone();
        // Sets only grow, and are bounded by `sensitive`: this ends.
        loop {
            let mut changed = false;
            for (name, step) in &flow.steps {
                let mut now = live.get(name.as_str()).cloned().unwrap_or_default();
                let mut reach = |to: &str, kill: Option<&str>| {
                    if let Some(vars) = live.get(to) {
                        now.extend(vars.iter().filter(|v| Some(**v) != kill));
                    }
                };
                let kill = match step {
                    Step::Gather(Gather { var, .. }) => Some(var.as_str()),
                    _ => None,
                };
                for exit in step.exits() {
                    match exit.to {
                        Dest::Step(to) if exit.branch == Branch::Next => reach(to, kill),
                        Dest::Step(to) => reach(to, None),
                        // Back to the input step that collected the entry: any of them.
                        Dest::Retry => {
                            for (other, s) in &flow.steps {
                                if s.is_input() {
                                    reach(other, None);
                                }
                            }
                        }
                        Dest::Again | Dest::Hangup => {}
                    }
                }
                if let Some(on_error) = &flow.on_error {
                    reach(on_error, None);
                }
                if live.get(name.as_str()) != Some(&now) {
                    live.insert(name.as_str(), now);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
    let owned = |vars: BTreeSet<&str>| vars.into_iter().map(str::to_owned).collect();
    Liveness {
        at: collected(
            live.into_iter()
                .map(|(name, vars)| (name.to_owned(), owned(vars))),
        ),
        all: owned(sensitive),
    }
}

/// The sensitive variables `step` itself may read.
fn reads<'f>(step: &'f Step, sensitive: &BTreeSet<&'f str>) -> BTreeSet<&'f str> {
    if step.runs_code() {
        // Code may read any variable.
        return sensitive.clone();
    }
    collected(
        step.texts()
            .into_iter()
            .chain(step.spoken_texts())
            .flat_map(template::placeholders)
            .filter_map(|name| sensitive.get(name).copied()),
    )
}

#[cfg(test)]
mod tests {
    use crate::flow::*;

    fn bank() -> Flow {
        Flow::inbound("bank")
            .on_error("sorry")
            .step(
                "menu",
                menu("Press 1.").option("1", "account").option("2", "pin"),
            )
            .step(
                "account",
                gather("Account?", "account")
                    .keep_last(4)
                    .then("lookup")
                    .fallback("menu"),
            )
            .step(
                "lookup",
                fetch(|_| FetchRequest::get("https://x.test"))
                    .on_ok("said", |_, _| Ok(()))
                    .on_error("menu"),
            )
            .step("said", say("Ending {account|last4}.").then("menu"))
            .step("pin", gather("PIN?", "pin").sensitive().then("menu"))
            .step("sorry", say("Sorry."))
    }

    #[test]
    fn a_sensitive_value_lives_until_no_step_ahead_can_read_it() {
        let flow = bank();
        let sensitive = flow.sensitive_vars();
        assert_eq!(sensitive.len(), 2);
        assert_eq!(sensitive["account"].keep_last, 4);
        assert_eq!(
            flow.sensitive_entry("pin"),
            Some(Sensitive { keep_last: 0 })
        );
        assert_eq!(flow.sensitive_entry("menu"), None);
        // Past the menu, the account is gathered anew before anything reads it; the PIN is not,
        // and the lookup's code (past the account's gather) may read it.
        assert_eq!(flow.sensitive_live_at("menu"), ["pin"]);
        assert_eq!(flow.sensitive_live_at("account"), ["pin"]);
        assert!(flow.sensitive_live_at("pin").is_empty());
        // The lookup's code may read anything; the prompt after it names the account.
        assert_eq!(flow.sensitive_live_at("lookup"), ["account", "pin"]);
        assert_eq!(flow.sensitive_live_at("said"), ["account", "pin"]);
        // A step the flow does not have keeps everything.
        assert_eq!(flow.sensitive_live_at("gone"), ["account", "pin"]);
        // The flow reads the key it seals them with.
        assert!(flow
            .settings
            .secrets
            .contains(&"SESSION_SEAL_KEY".to_owned()));
    }

    #[test]
    fn what_the_error_step_reads_is_read_from_everywhere() {
        let flow = bank().step("sorry2", say("x")).on_error("lookup");
        assert_eq!(flow.sensitive_live_at("menu"), ["account", "pin"]);
    }

    #[test]
    fn a_flow_without_sensitive_entries_keeps_nothing_and_needs_no_key() {
        let flow = Flow::inbound("plain")
            .step("a", gather("A?", "a").then("b"))
            .step("b", say("You said {a}."));
        assert!(flow.sensitive_vars().is_empty());
        assert!(flow.sensitive_live_at("b").is_empty());
        assert!(flow.settings.secrets.is_empty());
    }
}
