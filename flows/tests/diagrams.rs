//! The diagrams checked in under `docs/flows/` are the ones the flows draw today: a flow changed
//! without `npm run flows:diagrams` fails here, naming the file and the command that refreshes it.

use std::path::Path;

use flows::registry;
use ivr_testkit::cli::{stale_diagrams, Project};
use ivr_testkit::docs::docs_files;

#[test]
fn checked_in_diagrams_match_their_flows() {
    let project = Project::yours();
    // The project's paths are from the repository root, one folder above this crate.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(&project.diagram_dir);
    let files = docs_files(&registry(), &project);
    assert!(!files.is_empty(), "no flows registered");
    let stale = stale_diagrams(&dir, &files).unwrap();
    assert!(
        stale.is_empty(),
        "{}\nrun `{}` and commit {}.",
        stale.join("\n"),
        project.diagrams_command,
        project.diagram_dir.display()
    );
}
