//! Which steps and branches of each flow the flow tests reached.
//!
//! Each [`Call`](crate::Call) notes, when it is dropped, the flow it ran, the steps it entered
//! and the branches it took, as one JSON line in the folder named by [`COVERAGE_ENV`] (when that
//! is set). [`measure`] then holds those lines against the flows: every step, and every way out of
//! it ([`Step::exits`](ivr_core::flow::Step::exits)).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use ivr_core::flow::diagram::{mermaid_with_coverage, Reached};
use ivr_core::flow::{Branch, Flow, Registry};

use crate::Call;

/// The folder the calls of a test run write their traces to; unset, they write nothing.
pub const COVERAGE_ENV: &str = "IVR_FLOW_COVERAGE";

/// What one test call reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub flow: String,
    pub steps: Vec<String>,
    /// (step, branch name) pairs.
    pub branches: Vec<(String, String)>,
}

/// Notes `call` in the coverage folder, if one is set.
pub(crate) fn note_call(call: &Call) {
    let Some(dir) = std::env::var_os(COVERAGE_ENV) else {
        return;
    };
    let Some(flow) = call.flow_name() else {
        return;
    };
    let trace = Trace {
        flow: flow.to_owned(),
        steps: call.visited(),
        branches: call
            .taken()
            .iter()
            .map(|t| (t.step.clone(), t.branch.name()))
            .collect(),
    };
    let Ok(line) = serde_json::to_string(&trace) else {
        return;
    };
    let dir = Path::new(&dir);
    let path = dir.join(format!("calls-{}.jsonl", std::process::id()));
    // One write per line, appended: the tests of one binary run on several threads.
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?
            .write_all(format!("{line}\n").as_bytes())
    });
    if let Err(e) = written {
        eprintln!("flow coverage: cannot write {}: {e}", path.display());
    }
}

/// Every trace written in `dir`.
pub fn read(dir: &Path) -> Result<Vec<Trace>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("listing {}: {e}", dir.display())),
    };
    let mut traces = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let trace = serde_json::from_str(line)
                .map_err(|e| format!("{}: not a trace: {e}", path.display()))?;
            traces.push(trace);
        }
    }
    Ok(traces)
}

/// One way out of one step, and whether a test took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchCoverage {
    pub step: String,
    pub branch: Branch,
    pub reached: bool,
}

/// What the tests reached of one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowCoverage {
    pub flow: String,
    /// How many test calls ran the flow.
    pub calls: usize,
    /// Every step, and whether a test entered it.
    pub steps: Vec<(String, bool)>,
    pub branches: Vec<BranchCoverage>,
}

impl FlowCoverage {
    /// Branches reached, of all, as a percentage (100 for a flow without branches).
    pub fn percent(&self) -> u32 {
        let all = self.branches.len();
        let reached = self.branches.iter().filter(|b| b.reached).count();
        percent(reached, all)
    }
}

fn percent(part: usize, all: usize) -> u32 {
    if all == 0 {
        return 100;
    }
    u32::try_from(part * 100 / all).unwrap_or(100)
}

/// Holds `traces` against every flow of `registry`.
pub fn measure(registry: &Registry, traces: &[Trace]) -> Vec<FlowCoverage> {
    registry
        .flows()
        .iter()
        .map(|flow| measure_flow(flow, traces))
        .collect()
}

fn measure_flow(flow: &Flow, traces: &[Trace]) -> FlowCoverage {
    let mine: Vec<&Trace> = traces.iter().filter(|t| t.flow == flow.name).collect();
    let steps: BTreeSet<&str> = mine
        .iter()
        .flat_map(|t| t.steps.iter().map(String::as_str))
        .collect();
    let taken: BTreeSet<(&str, &str)> = mine
        .iter()
        .flat_map(|t| t.branches.iter().map(|(s, b)| (s.as_str(), b.as_str())))
        .collect();
    let mut branches = Vec::new();
    for (name, step) in &flow.steps {
        for exit in step.exits() {
            let reached = taken.contains(&(name.as_str(), exit.branch.name().as_str()));
            branches.push(BranchCoverage {
                step: name.clone(),
                branch: exit.branch,
                reached,
            });
        }
    }
    FlowCoverage {
        flow: flow.name.clone(),
        calls: mine.len(),
        steps: flow
            .steps
            .iter()
            .map(|(name, _)| (name.clone(), steps.contains(name.as_str())))
            .collect(),
        branches,
    }
}

/// The coverage table: per flow, steps and branches reached, then each branch not reached.
pub fn table(coverage: &[FlowCoverage]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>12} {:>14}",
        "flow", "calls", "steps", "branches"
    );
    for c in coverage {
        let steps = c.steps.iter().filter(|(_, r)| *r).count();
        let branches = c.branches.iter().filter(|b| b.reached).count();
        let _ = writeln!(
            out,
            "{:<28} {:>6} {:>5}/{:<3} {:>3}% {:>4}/{:<4} {:>3}%",
            c.flow,
            c.calls,
            steps,
            c.steps.len(),
            percent(steps, c.steps.len()),
            branches,
            c.branches.len(),
            c.percent(),
        );
    }
    for c in coverage {
        let missed: Vec<String> = c
            .branches
            .iter()
            .filter(|b| !b.reached)
            .map(|b| format!("{} → {}", b.step, b.branch))
            .collect();
        if !missed.is_empty() {
            let _ = writeln!(out, "\n{}: not reached\n  {}", c.flow, missed.join("\n  "));
        }
    }
    out
}

/// The flow's diagram with what the tests never reached drawn in red, dashed.
pub fn diagram(flow: &Flow, coverage: &FlowCoverage) -> String {
    let steps: BTreeMap<&str, bool> = coverage
        .steps
        .iter()
        .map(|(s, r)| (s.as_str(), *r))
        .collect();
    let step = |name: &str| steps.get(name).copied().unwrap_or(false);
    let branch = |name: &str, branch: &Branch| {
        coverage
            .branches
            .iter()
            .any(|b| b.step == name && b.branch == *branch && b.reached)
    };
    mermaid_with_coverage(
        flow,
        &Reached {
            step: &step,
            branch: &branch,
        },
    )
}
