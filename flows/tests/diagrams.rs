//! The diagrams checked in under `docs/flows/` are the ones the flows draw today: a flow changed
//! without `npm run flows:diagrams` fails here, naming the file and the command that refreshes it.

use std::path::Path;

use flows::registry;
use ivr_core::flow::diagram::{DIAGRAM_DIR, REFRESH_COMMAND};
use ivr_core::flow::docs::docs_files;

#[test]
fn checked_in_diagrams_match_their_flows() {
    // The checked-in diagrams are at the repository root, one folder above this crate.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(DIAGRAM_DIR);
    let files = docs_files(&registry());
    assert!(!files.is_empty(), "no flows registered");
    let mut stale = Vec::new();
    for (name, want) in &files {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(found) if found == *want => {}
            Ok(found) => {
                let line = found
                    .lines()
                    .zip(want.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| found.lines().count().min(want.lines().count()));
                stale.push(format!(
                    "{DIAGRAM_DIR}/{name} is out of date with its flow (first difference at line {})\n  \
                     checked in: {}\n  flow draws: {}",
                    line + 1,
                    found.lines().nth(line).unwrap_or("<end of file>"),
                    want.lines().nth(line).unwrap_or("<end of file>"),
                ));
            }
            Err(e) => stale.push(format!("{DIAGRAM_DIR}/{name} cannot be read: {e}")),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun `{REFRESH_COMMAND}` and commit docs/flows/.",
        stale.join("\n")
    );
}
