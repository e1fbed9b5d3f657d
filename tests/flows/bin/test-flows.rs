//! `test-flows`: the `flows` command for the project's own test flows (their lock, whose zones
//! the test build compiles in), and `rules`, which writes Telesign's call-state rules for the
//! call simulator (`npm run flows:rules`).
//!
//! - `test-flows lock` / `check`: as `flows lock` / `flows check`, for `tests/flows/`;
//! - `test-flows rules [--check]` writes the rules, as `ivr_core::telesign::rules` states them,
//!   to `scripts/simulator/telesign-rules.json`; with `--check` it exits 1 when the file is not
//!   what it would write.

use std::path::Path;
use std::process::ExitCode;

use ivr_core::telesign::rules::rules_file;
use ivr_testkit::cli::{read, run, write, Project};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["rules"] => rules(false),
        ["rules", "--check"] => rules(true),
        _ => run(&test_flows::registry(), &project(), &args),
    }
}

/// The test flows' files.
fn project() -> Project {
    Project {
        lock_file: "tests/flows/flows.lock".into(),
        lock_command: "cargo run -p test-flows -- lock".into(),
        lock_prune_command: "cargo run -p test-flows -- lock --prune".into(),
        diagram_dir: "target/test-flows/diagrams".into(),
        diagrams_command: "cargo run -p test-flows -- diagrams".into(),
        check_command: "cargo run -p test-flows -- check".into(),
        dev_command: "npm run dev".into(),
        coverage_dir: "target/test-flows/coverage".into(),
        coverage_command: "IVR_FLOW_COVERAGE=target/test-flows/coverage cargo test -p test-flows"
            .into(),
        min_coverage: None,
        environment: None,
    }
}

/// Where the call simulator reads Telesign's rules, from the repository root.
const RULES_FILE: &str = "scripts/simulator/telesign-rules.json";
/// The command that writes them.
const RULES_COMMAND: &str = "npm run flows:rules";

fn rules(check_only: bool) -> ExitCode {
    let want = rules_file(&format!(
        "ivr-core/src/telesign/rules.rs: {RULES_COMMAND} writes this file; do not edit it"
    ));
    let path = Path::new(RULES_FILE);
    let result = if check_only {
        read(path).map(|found| {
            if found == want {
                println!("{RULES_FILE} is up to date.");
                ExitCode::SUCCESS
            } else {
                println!("{RULES_FILE} is out of date: run `{RULES_COMMAND}`.");
                ExitCode::FAILURE
            }
        })
    } else {
        write(path, &want).map(|()| ExitCode::SUCCESS)
    };
    result.unwrap_or_else(|message| {
        eprintln!("{message}");
        ExitCode::from(2)
    })
}
