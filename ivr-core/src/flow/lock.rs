//! `flows/flows.lock`: the steps of every flow as deployed, and the time zones compiled in.
//!
//! A deploy replaces the flows while calls are live: a session saved by the version before may
//! wait at a step this version renamed or removed. The lock remembers every step a live call may
//! be at, so the checker can require a `.moved(old, new)` for each one that is gone
//! ([`super::validate`]'s `step_gone`), and remembers a step until `flows lock --prune` says no
//! call can be there any more (a session is kept
//! [`crate::pipeline::keys::SESSION_TTL_SECS`] at most, 5 hours).
//!
//! The zones are those the `hours(..)` steps and the flows' `.calls_in([..])` name, with chrono-tz's filter for them:
//! `scripts/build.sh` compiles only these into the worker (`CHRONO_TZ_TIMEZONE_FILTER`), while
//! host builds (tests, `flows check`) know every zone and so can tell a typo from a zone that is
//! not locked yet.

use super::Hours;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Registry, Step};

/// The lock's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Flow name to the names of the steps a live call may be waiting at ([`Step::can_wait`]).
    pub flows: BTreeMap<String, BTreeSet<String>>,
    /// The IANA zones the flows' hours steps name.
    pub zones: BTreeSet<String>,
    /// chrono-tz's filter for exactly these zones, for the wasm build.
    pub zone_filter: String,
}

impl Lock {
    /// Reads a lock file; an absent file is an empty lock (no flow deployed yet).
    pub fn parse(text: &str) -> Result<Lock, String> {
        if text.trim().is_empty() {
            return Ok(Lock::default());
        }
        crate::json::read(text.as_bytes()).map_err(|e| e.to_string())
    }

    /// The lock as written: pretty JSON, sorted, one trailing newline.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The lock of `registry` alone: its steps and zones, nothing remembered.
    pub fn of(registry: &Registry) -> Lock {
        let mut lock = Lock::default();
        for flow in registry.flows() {
            let steps = lock.flows.entry(flow.name.clone()).or_default();
            steps.extend(
                flow.steps
                    .iter()
                    .filter(|(_, s)| s.can_wait())
                    .map(|(n, _)| n.clone()),
            );
        }
        lock.zones = zones(registry);
        lock.zone_filter = zone_filter(&lock.zones);
        lock
    }

    /// `registry`'s lock, keeping the steps of this lock that a live call may still be at: those
    /// that moved to a step of the same flow. Steps gone without a successor are returned
    /// instead, and nothing is written for them: the checker names them.
    pub fn update(&self, registry: &Registry) -> Result<Lock, Vec<(String, String)>> {
        let mut next = Lock::of(registry);
        let mut gone = Vec::new();
        for (flow_name, steps) in &self.flows {
            let Some(flow) = registry.get(flow_name) else {
                // A removed flow: its calls are ended (the engine's `ended_badly`).
                continue;
            };
            for step in steps {
                match flow.resolve(step) {
                    Some(_) => {
                        next.flows
                            .entry(flow_name.clone())
                            .or_default()
                            .insert(step.clone());
                    }
                    None => gone.push((flow_name.clone(), step.clone())),
                }
            }
        }
        if gone.is_empty() {
            Ok(next)
        } else {
            Err(gone)
        }
    }
}

/// The zones the registry's hours steps name, and those its flows' campaigns call in.
pub fn zones(registry: &Registry) -> BTreeSet<String> {
    let flows = registry.flows();
    let hours = flows
        .iter()
        .flat_map(|f| &f.steps)
        .filter_map(|(_, s)| match s {
            Step::Hours(Hours { hours, .. }) => Some(hours.zone.clone()),
            _ => None,
        });
    let calls = flows.iter().flat_map(|f| f.call_zones.iter().cloned());
    crate::sort::collected(hours.chain(calls))
}

/// A regex matching exactly `zones` (and nothing when there are none, so no zone data is
/// compiled at all). Zone names are letters, digits, `/`, `_`, `-` and `+`, of which only `+`
/// means something in a regex.
pub fn zone_filter(zones: &BTreeSet<String>) -> String {
    if zones.is_empty() {
        return "^$".to_owned();
    }
    let names: Vec<String> = zones.iter().map(|z| z.replace('+', "\\+")).collect();
    format!("^({})$", names.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{hours, say, Flow, Mon};

    fn v1() -> Registry {
        Registry::new().flow(
            Flow::inbound("f")
                .step("hi", say("Hi").then("menu_old"))
                .step("menu_old", say("Menu")),
        )
    }

    #[test]
    fn a_lock_round_trips_and_an_empty_file_is_an_empty_lock() {
        let lock = Lock::of(&v1());
        assert_eq!(Lock::parse(&lock.render()), Ok(lock.clone()));
        assert_eq!(Lock::parse(""), Ok(Lock::default()));
        assert!(
            Lock::parse("{\"flow\": {}}").is_err(),
            "unknown fields are refused"
        );
        assert_eq!(
            lock.flows["f"].iter().collect::<Vec<_>>(),
            ["hi", "menu_old"]
        );
    }

    #[test]
    fn an_update_keeps_moved_steps_and_refuses_steps_gone_without_a_successor() {
        let lock = Lock::of(&v1());
        let moved = Registry::new().flow(
            Flow::inbound("f")
                .step("hi", say("Hi").then("menu"))
                .step("menu", say("Menu"))
                .moved("menu_old", "menu"),
        );
        let next = lock.update(&moved).expect("moved steps are kept");
        assert_eq!(
            next.flows["f"].iter().collect::<Vec<_>>(),
            ["hi", "menu", "menu_old"]
        );
        let gone = Registry::new().flow(Flow::inbound("f").step("hi", say("Hi")));
        assert_eq!(
            lock.update(&gone),
            Err(vec![("f".to_owned(), "menu_old".to_owned())])
        );
        // Pruning is the lock of the registry alone.
        assert_eq!(
            Lock::of(&gone).flows["f"].iter().collect::<Vec<_>>(),
            ["hi"]
        );
    }

    #[test]
    fn the_filter_matches_exactly_the_zones_named() {
        let registry = Registry::new().flow(
            Flow::inbound("f")
                .step(
                    "h",
                    hours("Etc/GMT+5")
                        .open(Mon, "09:00-17:00")
                        .on_open("a")
                        .on_closed("a"),
                )
                .step("a", say("A")),
        );
        assert_eq!(zone_filter(&zones(&registry)), r"^(Etc/GMT\+5)$");
        assert_eq!(Lock::of(&registry).zone_filter, r"^(Etc/GMT\+5)$");
        // The zones a flow's campaigns call in are compiled in too.
        let registry = registry.flow(
            Flow::outbound("o")
                .calls_in(["America/Chicago", "Etc/GMT+5"])
                .step("a", say("A")),
        );
        assert_eq!(
            Lock::of(&registry).zone_filter,
            r"^(America/Chicago|Etc/GMT\+5)$"
        );
        assert_eq!(zone_filter(&BTreeSet::new()), "^$");
    }
}
