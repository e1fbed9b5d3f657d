//! `flows`: the host-side tool for the flows compiled into the worker.
//!
//! - `flows check` prints every problem of every registered flow (flow, step, rule, hint) and
//!   exits 1 when there is an error (warnings are printed, and pass); run it before `wrangler
//!   deploy` (`npm run flows:check`). It checks the flows against `flows/flows.lock` (steps
//!   and zones), and the `fetch` chains against `EVENT_BUDGET_MS` and
//!   `FETCH_TIMEOUT_MS` as set in its environment (the worker's defaults otherwise).
//! - `flows lock [--prune]` writes `flows/flows.lock` (the steps a live call may be at, and the
//!   zones the wasm build compiles in) (`npm run flows:lock`). It keeps the steps of the old lock that
//!   moved (`.moved(old, new)`) and refuses when one is gone without a successor; `--prune` keeps
//!   only the steps of the flows as they are, once no call placed before can still be live.
//! - `flows diagrams [--check] [--out DIR]` writes the Mermaid diagram of every flow to
//!   `docs/flows/<flow>.mmd`, all of them in `docs/flows/README.md`, and the checker's rules in
//!   `docs/flows/checker-rules.md` (`npm run flows:diagrams`); with `--check` it writes nothing and exits
//!   1 when a diagram is missing, stale, or left over from a flow that is gone.
//!
//! - `flows rules [--check]` writes Telesign's call-state rules, as the protocol module states
//!   them, to `scripts/simulator/telesign-rules.json` for the call simulator
//!   (`npm run flows:rules`); with `--check` it exits 1 when the file is not what it would write.
//!
//! A host binary, not part of the worker: `worker-build` compiles only the library (`cargo build
//! --lib`), so this target never reaches the wasm build.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flows::registry;
use ivr_core::config::Config;
use ivr_core::flow::diagram::{DIAGRAM_DIR, REFRESH_COMMAND};
use ivr_core::flow::docs::docs_files;
use ivr_core::flow::lock::{zone_filter, zones, Lock, LOCK_COMMAND, LOCK_FILE};
use ivr_core::flow::validate::{check_registry, Limits, Problem};
use ivr_core::telesign::rules::{rules_file, RULES_FILE};

const USAGE: &str = "usage: flows check
       flows lock [--prune]
       flows diagrams [--check] [--out DIR]
       flows rules [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["check"] => check(),
        ["lock"] => lock(false),
        ["lock", "--prune"] => lock(true),
        ["diagrams", rest @ ..] => diagrams(rest),
        ["rules"] => rules(false),
        ["rules", "--check"] => rules(true),
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

fn check() -> Result<ExitCode, String> {
    let registry = registry();
    let lock = Lock::parse(&read(LOCK_FILE)?)?;
    let limits = Limits::of(&Config::from_lookup(|name| std::env::var(name).ok()));
    let problems = check_registry(&registry, limits, Some(&lock));
    let flows = registry.flows().len();
    for p in &problems {
        println!("{}\n", report(p));
    }
    let errors = problems.iter().filter(|p| !p.rule.is_warning()).count();
    let warnings = problems.len() - errors;
    let zones_stale =
        lock.zones != zones(&registry) || lock.zone_filter != zone_filter(&lock.zones);
    if zones_stale {
        println!("{LOCK_FILE} does not list the zones the flows name: run `{LOCK_COMMAND}`.");
    }
    if errors == 0 && !zones_stale {
        println!("{flows} flows checked: no errors, {warnings} warning(s).");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{errors} error(s) and {warnings} warning(s) in {flows} flows: fix the errors before \
         `wrangler deploy`."
    );
    Ok(ExitCode::FAILURE)
}

/// One problem as printed: where, which rule, what, and how to fix it.
fn report(p: &Problem) -> String {
    let step = p.step.as_deref().unwrap_or("-");
    let kind = if p.rule.is_warning() {
        "warning"
    } else {
        "error"
    };
    format!(
        "{kind}: flow: {}\n  step: {step}\n  rule: {}\n  problem: {}\n  hint: {}",
        p.flow,
        p.rule,
        p.message,
        p.rule.hint()
    )
}

fn lock(prune: bool) -> Result<ExitCode, String> {
    let registry = registry();
    let next = if prune {
        Lock::of(&registry)
    } else {
        match Lock::parse(&read(LOCK_FILE)?)?.update(&registry) {
            Ok(next) => next,
            Err(gone) => {
                for (flow, step) in gone {
                    println!(
                        "flow `{flow}`, step `{step}` is gone: a live call may be there. Declare \
                         `.moved(\"{step}\", \"<new step>\")`, or run `{LOCK_COMMAND} -- --prune` \
                         once no call placed before can still be live."
                    );
                }
                return Ok(ExitCode::FAILURE);
            }
        }
    };
    write(LOCK_FILE, &next.render())?;
    Ok(ExitCode::SUCCESS)
}

/// A file's text; an absent file is empty.
fn read(path: &str) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("reading {path}: {e}")),
    }
}

fn write(path: &str, text: &str) -> Result<(), String> {
    if let Some(dir) = Path::new(path).parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("writing {path}: {e}"))?;
    println!("wrote {path}");
    Ok(())
}

fn rules(check_only: bool) -> Result<ExitCode, String> {
    let want = rules_file();
    if check_only {
        let found = read(RULES_FILE)?;
        if found == want {
            println!("{RULES_FILE} is up to date.");
            return Ok(ExitCode::SUCCESS);
        }
        println!("{RULES_FILE} is out of date: run `npm run flows:rules`.");
        return Ok(ExitCode::FAILURE);
    }
    write(RULES_FILE, &want)?;
    Ok(ExitCode::SUCCESS)
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
    let files = docs_files(&registry());
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
    use ivr_core::flow::validate::Rule;

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
            rule: Rule::UnsupportedCallState,
            message: "sends `dial` after speak_completed".into(),
        };
        let text = report(&p);
        for want in [
            "error: flow: f",
            "step: agent",
            "rule: unsupported_call_state",
            "problem: sends",
            "hint: Telesign accepts",
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
    }
}
