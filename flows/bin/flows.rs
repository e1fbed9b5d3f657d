//! `flows`: the host-side tool for the flows compiled into the worker.
//!
//! - `flows check` prints every problem of every registered flow (flow, step, rule, hint) and
//!   exits 1 when there is any; run it before `wrangler deploy` (`npm run flows:check`).
//! - `flows diagrams [--check] [--out DIR]` writes the Mermaid diagram of every flow to
//!   `docs/flows/<flow>.mmd` (`npm run flows:diagrams`); with `--check` it writes nothing and exits
//!   1 when a diagram is missing, stale, or left over from a flow that is gone.
//!
//! A host binary, not part of the worker: `worker-build` compiles only the library (`cargo build
//! --lib`), so this target never reaches the wasm build.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flows::registry;
use ivr_core::flow::diagram::{diagram_files, DIAGRAM_DIR, REFRESH_COMMAND};
use ivr_core::flow::validate::{validate_registry, Problem};

const USAGE: &str = "usage: flows check
       flows diagrams [--check] [--out DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["check"] => Ok(check()),
        ["diagrams", rest @ ..] => diagrams(rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn check() -> ExitCode {
    let registry = registry();
    let problems = validate_registry(&registry);
    let flows = registry.flows().len();
    if problems.is_empty() {
        println!("{flows} flows checked: no problems.");
        return ExitCode::SUCCESS;
    }
    for p in &problems {
        println!("{}", report(p));
    }
    println!(
        "\n{} problem{} in {flows} flows: fix them before `wrangler deploy`.",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    ExitCode::FAILURE
}

/// One problem as printed: where, which rule, what, and how to fix it.
fn report(p: &Problem) -> String {
    let step = p.step.as_deref().unwrap_or("-");
    format!(
        "flow: {}\n  step: {step}\n  rule: {}\n  problem: {}\n  hint: {}",
        p.flow,
        p.rule,
        p.message,
        hint(p.rule)
    )
}

/// How to fix a broken rule, in the words of the flow language (`src/flow/mod.rs`).
fn hint(rule: &str) -> &'static str {
    match rule {
        "empty_flow" => "add at least one `.step(..)`; the first one is where calls start",
        "duplicate_flow" => "give every flow its own name in `Flow::inbound(..)` / `Flow::outbound(..)`",
        "duplicate_step" => "rename one of the steps; step names are unique within a flow",
        "missing_step" => "add a step with that name, or fix the name in `.then(..)`, `.option(..)` or `.fallback(..)`",
        "unreachable_step" => "lead to it from another step, or remove it",
        "no_way_out" => "give the loop an exit: a `.fallback(..)`, a step that hangs up, or a `say` without `.then(..)`",
        "unsupported_call_state" => "Telesign accepts `dial` only first (inbound) or after a dial, and `send_dtmf` only first in an outbound call: move the step, or put a `say` before it",
        "menu_without_options" => "add `.option(key, step)`",
        "invalid_key" => "use keys made of 0-9, * and #, no longer than `.max_digits(..)`",
        "duplicate_key" => "each key may lead to one step only",
        "invalid_digits" => "use `.digits(min, max)` with 1 <= min <= max",
        "dial_without_numbers" => "give `dial([..])` at least one number",
        "invalid_number" => "write numbers in E.164 form, e.g. +15555550100, or as a `{var}` template",
        "invalid_action" => "Telesign would refuse this value; see the problem for which one",
        "no_targets" => "declare the steps the code may return in `decide([..], f)` / `fetch([..], ..)`",
        "empty_message" => "give the prompt some text",
        "invalid_language" => "use one of Telesign's TTS languages, e.g. en-US (see src/telesign/language.rs)",
        "invalid_url" => "audio URLs must be https and allow-listed with Telesign",
        "invalid_input" => "keep max digits and timeouts within the ranges in src/telesign/action.rs",
        "route_to_outbound_flow" => "route inbound numbers to inbound flows (`Flow::inbound`)",
        "missing_flow" => "register the flow with `.flow(..)` in flows/mod.rs, or fix the name",
        _ => "see the rule in src/flow/validate.rs",
    }
}

fn diagrams(args: &[&str]) -> Result<ExitCode, String> {
    let mut check_only = false;
    let mut dir = PathBuf::from(DIAGRAM_DIR);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--check" => check_only = true,
            "--out" => dir = PathBuf::from(rest.next().ok_or(USAGE)?),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let files = diagram_files(&registry());
    if check_only {
        let stale = stale_diagrams(&dir, &files)?;
        if stale.is_empty() {
            println!(
                "{} diagrams in {} are up to date.",
                files.len(),
                dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        for line in stale {
            println!("{line}");
        }
        println!("run `{REFRESH_COMMAND}` to refresh them.");
        return Ok(ExitCode::FAILURE);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    for name in leftovers(&dir, &files)? {
        let path = dir.join(&name);
        std::fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
        println!("removed {} (no such flow)", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What differs between `dir` and the diagrams the flows give, one line each.
fn stale_diagrams(dir: &Path, files: &[(String, String)]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(found) if found == *text => {}
            Ok(_) => out.push(format!("{} is out of date with its flow", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.push(format!("{} is missing", path.display()))
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
    }
    for name in leftovers(dir, files)? {
        out.push(format!("{} has no flow any more", dir.join(name).display()));
    }
    Ok(out)
}

/// `.mmd` files in `dir` that no registered flow produces.
fn leftovers(dir: &Path, files: &[(String, String)]) -> Result<Vec<String>, String> {
    let wanted: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("listing {}: {e}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("listing {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".mmd") && !wanted.contains(name.as_str()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_the_validator_reports_has_a_hint() {
        let source = include_str!("../../ivr-core/src/flow/validate.rs");
        let fallback = hint("no such rule");
        // Rules are the string literal right after `Some(name),` / `None,` in `report(..)` calls
        // and the third argument of `problem(..)`: every `"snake_case"` literal on its own line.
        let rules: BTreeSet<&str> = source
            .lines()
            .map(str::trim)
            .filter_map(|l| l.strip_prefix('"')?.strip_suffix("\","))
            .filter(|r| r.chars().all(|c| c.is_ascii_lowercase() || c == '_') && r.contains('_'))
            .collect();
        assert!(rules.contains("missing_step"), "rule scan found {rules:?}");
        for rule in rules {
            assert_ne!(hint(rule), fallback, "no hint for rule `{rule}`");
        }
    }

    #[test]
    fn stale_missing_and_leftover_diagrams_are_listed() {
        let dir = std::env::temp_dir().join(format!("flows-diagrams-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.mmd"), "old").unwrap();
        std::fs::write(dir.join("gone.mmd"), "x").unwrap();
        std::fs::write(dir.join("c.mmd"), "same").unwrap();
        let files = vec![
            ("a.mmd".to_owned(), "new".to_owned()),
            ("b.mmd".to_owned(), "new".to_owned()),
            ("c.mmd".to_owned(), "same".to_owned()),
        ];
        let found = stale_diagrams(&dir, &files).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let found = found.join("\n");
        assert!(found.contains("a.mmd is out of date"), "{found}");
        assert!(found.contains("b.mmd is missing"), "{found}");
        assert!(found.contains("gone.mmd has no flow any more"), "{found}");
        assert!(!found.contains("c.mmd"), "{found}");
    }

    #[test]
    fn a_report_names_flow_step_rule_and_hint() {
        let p = Problem {
            flow: "f".into(),
            step: Some("agent".into()),
            rule: "unsupported_call_state",
            message: "sends `dial` after speak_completed".into(),
        };
        let text = report(&p);
        for want in [
            "flow: f",
            "step: agent",
            "rule: unsupported_call_state",
            "problem: sends",
            "hint: Telesign accepts",
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
    }
}
