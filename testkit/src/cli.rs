//! The `flows` command: the host-side tool for the flows compiled into the worker. Your
//! `flows/bin/flows.rs` calls [`main`] with your registry and your [`Project`]; the project's
//! test flows have a command of their own that does the same for them.
//!
//! - `flows check` prints every problem of every registered flow (flow, step, rule, hint) and
//!   exits 1 when there is an error (warnings are printed, and pass); run it before `wrangler
//!   deploy` (`npm run flows:check`). It checks the flows against the lock file (steps and
//!   zones), the `fetch` chains against `EVENT_BUDGET_MS` and `FETCH_TIMEOUT_MS` as set in its
//!   environment (the worker's defaults otherwise), and, when the project requires a minimum
//!   ([`Project::min_coverage`]), the branch coverage of the last `npm run flows:coverage`.
//! - `flows lock [--prune]` writes the lock (the steps a live call may be at, and the zones the
//!   wasm build compiles in) (`npm run flows:lock`). It keeps the steps of the old lock that
//!   moved (`.moved(old, new)`) and refuses when one is gone without a successor; `--prune`
//!   keeps only the steps of the flows as they are, once no call placed before can still be live.
//! - `flows diagrams [--check] [--out DIR]` writes the Mermaid diagram of every flow to
//!   `docs/flows/<flow>.mmd`, all of them in `docs/flows/README.md`, and the checker's rules in
//!   `docs/flows/checker-rules.md` (`npm run flows:diagrams`); with `--check` it writes nothing
//!   and exits 1 when a diagram is missing, stale, or left over from a flow that is gone.
//! - `flows coverage [DIR]` reads what the flow tests reached (the traces
//!   [`crate::coverage`] wrote to DIR, `target/flow-coverage` by default), prints the table of
//!   steps and branches reached per flow, and draws each flow with what no test reached in red
//!   (`DIR/diagrams/`) (`npm run flows:coverage`).
//! - `flows replay FILE...` replays recorded calls (a `GET /calls` page, an array of records or
//!   JSON Lines; `-` reads standard input) against the flows as they are now and reports the
//!   calls whose path would part from the recorded one (`npm run flows:replay`, which can read
//!   the records from a running worker). It exits 1 when one parts.
//!
//! A host binary, not part of the worker: `scripts/build.sh` compiles only the library (`cargo build
//! --lib`), so this target never reaches the wasm build.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::docs::docs_files;
use ivr_core::config::Config;
use ivr_core::flow::lock::{zone_filter, zones, Lock};
use ivr_core::flow::validate::{check_registry, check_settings, Environment, Limits, Problem};
use ivr_core::flow::Registry;

pub use crate::project::Project;
use crate::{coverage, replay};

const USAGE: &str = "usage: flows check
       flows lock [--prune]
       flows diagrams [--check] [--out DIR]
       flows coverage [DIR]
       flows replay FILE...";

/// Runs the `flows` command with the process's arguments.
pub fn main(registry: &Registry, project: &Project) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(registry, project, &args)
}

/// Runs the `flows` command with `args`.
pub fn run(registry: &Registry, project: &Project, args: &[&str]) -> ExitCode {
    let result = match args {
        ["check"] => check(registry, project),
        ["lock"] => lock(registry, project, false),
        ["lock", "--prune"] => lock(registry, project, true),
        ["diagrams", rest @ ..] => diagrams(registry, project, rest),
        ["coverage"] => show_coverage(registry, project, &project.coverage_dir),
        ["coverage", dir] => show_coverage(registry, project, Path::new(dir)),
        ["replay", files @ ..] if !files.is_empty() => replay(registry, files),
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

fn check(registry: &Registry, project: &Project) -> Result<ExitCode, String> {
    let lock_file = project.lock_file.display().to_string();
    let lock_command = &project.lock_command;
    let lock = read_lock(project)?;
    let limits = Limits::of(&Config::from_lookup(|name| std::env::var(name).ok()));
    let mut problems = check_registry(registry, limits, Some(&lock));
    if let Some((wrangler, example)) = &project.environment {
        // `.dev.vars` beside the example, when there is one: what `npm run dev` runs with.
        let local = example.with_file_name(".dev.vars");
        let env = Environment {
            vars: toml_table_keys(&read(wrangler)?, "vars"),
            secrets: env_file_keys(&read(example)?),
            local: local
                .exists()
                .then(|| read(&local).map(|t| env_file_keys(&t)))
                .transpose()?,
        };
        problems.extend(check_settings(registry, &env));
    }
    let flows = registry.flows().len();
    for p in &problems {
        println!("{}\n", report(p, project));
    }
    let errors = problems.iter().filter(|p| !p.rule.is_warning()).count();
    let warnings = problems.len() - errors;
    let zones_stale = lock.zones != zones(registry) || lock.zone_filter != zone_filter(&lock.zones);
    if zones_stale {
        println!("{lock_file} does not list the zones the flows name: run `{lock_command}`.");
    }
    let coverage_short = match project.min_coverage {
        Some(min) => coverage_below(registry, project, min)?,
        None => false,
    };
    if errors == 0 && !zones_stale && !coverage_short {
        println!("{flows} flows checked: no errors, {warnings} warning(s).");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{errors} error(s) and {warnings} warning(s) in {flows} flows: fix the errors before \
         `wrangler deploy`."
    );
    Ok(ExitCode::FAILURE)
}

/// The project's lock; an absent file is an empty one.
fn read_lock(project: &Project) -> Result<Lock, String> {
    let path = &project.lock_file;
    Lock::parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// One problem as printed: where, which rule, what, and how to fix it.
fn report(p: &Problem, project: &Project) -> String {
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
        project.fill(p.rule.hint())
    )
}

/// Whether a flow's tests reach fewer branches than `min` percent (each such flow printed).
fn coverage_below(registry: &Registry, project: &Project, min: u32) -> Result<bool, String> {
    let traces = coverage::read(&project.coverage_dir)?;
    if traces.is_empty() {
        println!(
            "this project requires {min}% of each flow's branches reached by its tests, and no \
             coverage was measured: run `{}`.",
            project.coverage_command
        );
        return Ok(true);
    }
    let mut short = false;
    for c in coverage::measure(registry, &traces) {
        if c.percent() < min {
            short = true;
            println!(
                "flow `{}`: its tests reach {}% of its branches, below the {min}% this project \
                 requires: `{}` lists the branches no test reaches.",
                c.flow,
                c.percent(),
                project.coverage_command
            );
        }
    }
    Ok(short)
}

fn lock(registry: &Registry, project: &Project, prune: bool) -> Result<ExitCode, String> {
    let prune_command = &project.lock_prune_command;
    let next = if prune {
        Lock::of(registry)
    } else {
        match read_lock(project)?.update(registry) {
            Ok(next) => next,
            Err(gone) => {
                for (flow, step) in gone {
                    println!(
                        "flow `{flow}`, step `{step}` is gone: a live call may be there. Declare \
                         `.moved(\"{step}\", \"<new step>\")`, or run `{prune_command}` \
                         once no call placed before can still be live."
                    );
                }
                return Ok(ExitCode::FAILURE);
            }
        }
    };
    write(&project.lock_file, &next.render())?;
    Ok(ExitCode::SUCCESS)
}

/// The keys of the table `[name]` of a TOML file, read line by line (`KEY = value` lines up to
/// the next table; comments skipped): enough for wrangler.toml's `[vars]`.
pub fn toml_table_keys(text: &str, name: &str) -> BTreeSet<String> {
    let header = format!("[{name}]");
    let mut inside = false;
    let mut keys = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && !line.starts_with('#') {
            if let Some((key, _)) = line.split_once('=') {
                keys.insert(key.trim().trim_matches('"').to_owned());
            }
        }
    }
    keys
}

/// The names of a `.dev.vars`-style file: `NAME=value` lines, comments skipped.
pub fn env_file_keys(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(key, _)| key.trim().to_owned())
        .filter(|key| !key.is_empty())
        .collect()
}

/// A file's text; an absent file is empty.
pub fn read(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// Writes a file (and its folder), saying so.
pub fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Replays the records of `files` (`-`: standard input) and prints the report.
fn replay(registry: &Registry, files: &[&str]) -> Result<ExitCode, String> {
    let mut records = Vec::new();
    for file in files {
        let text = if *file == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?
        } else {
            std::fs::read_to_string(file).map_err(|e| format!("reading {file}: {e}"))?
        };
        records.extend(replay::read_records(&text).map_err(|e| format!("{file}: {e}"))?);
    }
    let replays = replay::replay_all(registry, &records);
    print!("{}", replay::report(&replays));
    let parted = replays
        .iter()
        .any(|r| matches!(r.verdict, replay::Verdict::Parted(_)));
    Ok(if parted {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the coverage table of the traces in `dir` and draws each flow's coverage.
fn show_coverage(registry: &Registry, project: &Project, dir: &Path) -> Result<ExitCode, String> {
    let traces = coverage::read(dir)?;
    if traces.is_empty() {
        println!(
            "no flow test wrote coverage to {}: run `{}`.",
            dir.display(),
            project.coverage_command
        );
        return Ok(ExitCode::FAILURE);
    }
    let measured = coverage::measure(registry, &traces);
    print!("{}", coverage::table(&measured));
    let diagrams = dir.join("diagrams");
    let mut page = String::from(
        "# Flow test coverage\n\nWhat no flow test reached is drawn in red, dashed.\n",
    );
    for (flow, c) in registry.flows().iter().zip(&measured) {
        let source = coverage::diagram(flow, c);
        std::fs::create_dir_all(&diagrams)
            .map_err(|e| format!("creating {}: {e}", diagrams.display()))?;
        let path = diagrams.join(format!("{}.mmd", flow.name));
        std::fs::write(&path, &source).map_err(|e| format!("writing {}: {e}", path.display()))?;
        page.push_str(&format!(
            "\n## `{}`: {}% of its branches\n\n```mermaid\n{source}```\n",
            flow.name,
            c.percent()
        ));
    }
    let index = diagrams.join("README.md");
    std::fs::write(&index, page).map_err(|e| format!("writing {}: {e}", index.display()))?;
    println!(
        "\ndiagrams with what no test reached in red: {}",
        index.display()
    );
    let short = match project.min_coverage {
        Some(min) => measured.iter().any(|c| c.percent() < min),
        None => false,
    };
    if short {
        println!(
            "a flow's tests reach fewer branches than the {}% this project requires.",
            project.min_coverage.unwrap_or_default()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn diagrams(registry: &Registry, project: &Project, args: &[&str]) -> Result<ExitCode, String> {
    let mut check_only = false;
    let mut dir = project.diagram_dir.clone();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--check" => check_only = true,
            "--out" => dir = PathBuf::from(rest.next().ok_or(USAGE)?),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let files = docs_files(registry, project);
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
        println!("run `{}` to refresh them.", project.diagrams_command);
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
pub fn stale_diagrams(dir: &Path, files: &[(String, String)]) -> Result<Vec<String>, String> {
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
    fn vars_and_secrets_are_read_from_wrangler_toml_and_the_example_file() {
        let toml =
            "name = \"x\"\n[vars]\n# a comment\nA = \"1\"\nB=\"2\"\n[[queues.producers]]\nC = 3\n";
        let keys: Vec<String> = toml_table_keys(toml, "vars").into_iter().collect();
        assert_eq!(keys, ["A", "B"]);
        let example = "# secrets\nKEY=\nOTHER = x\n\n";
        let keys: Vec<String> = env_file_keys(example).into_iter().collect();
        assert_eq!(keys, ["KEY", "OTHER"]);
    }

    #[test]
    fn a_report_names_flow_step_rule_and_hint() {
        let p = Problem {
            flow: "f".into(),
            step: Some("agent".into()),
            rule: Rule::UnsupportedCallState,
            message: "sends `dial` after speak_completed".into(),
        };
        let text = report(&p, &Project::yours());
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

    #[test]
    fn a_report_names_the_projects_own_commands_and_files() {
        // A flow's own text in a message is printed as written, placeholders or not.
        let quoted = Problem {
            flow: "f".into(),
            step: Some("code".into()),
            rule: Rule::UnknownVariable,
            message: "`{lock}` names a variable nothing sets".into(),
        };
        assert!(report(&quoted, &Project::yours()).contains("problem: `{lock}` names"));
        let p = Problem {
            flow: "f".into(),
            step: Some("menu".into()),
            rule: Rule::UnlockedStep,
            message: "is not in the lock of the steps deployed".into(),
        };
        let project = Project {
            lock_file: "tests/flows/flows.lock".into(),
            lock_command: "cargo run -p test-flows -- lock".into(),
            ..Project::yours()
        };
        let text = report(&p, &project);
        assert!(
            text.contains("problem: is not in the lock of the steps deployed"),
            "{text}"
        );
        assert!(
            text.contains(
                "hint: Run `cargo run -p test-flows -- lock` and commit tests/flows/flows.lock"
            ),
            "{text}"
        );
    }
}
