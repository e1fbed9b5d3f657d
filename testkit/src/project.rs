//! What a project tells the `flows` command and the generated docs: where its files are and which
//! commands it runs them with.

use std::path::PathBuf;

/// Where a project keeps what the `flows` command reads and writes, relative to the directory it
/// runs in (the repository root, as `npm run` runs it), and what it requires.
#[derive(Debug, Clone)]
pub struct Project {
    pub lock_file: PathBuf,
    pub lock_command: String,
    /// The lock command that also forgets the steps no call can be at any more.
    pub lock_prune_command: String,
    pub diagram_dir: PathBuf,
    pub diagrams_command: String,
    /// The command that checks the flows (this one's `check`).
    pub check_command: String,
    /// The command that runs the worker locally.
    pub dev_command: String,
    pub coverage_dir: PathBuf,
    pub coverage_command: String,
    /// The share of branches (percent) the flow tests must reach, for `flows check`.
    pub min_coverage: Option<u32>,
    /// Where the worker's vars (`[vars]`) and the list of its secrets are, for the checker to
    /// hold the flows' settings against; `None`, not checked.
    pub environment: Option<(PathBuf, PathBuf)>,
}

impl Project {
    /// Your flows: `flows/flows.lock`, `docs/flows/`, `target/flow-coverage/`, the npm scripts.
    pub fn yours() -> Self {
        Project {
            lock_file: "flows/flows.lock".into(),
            lock_command: "npm run flows:lock".into(),
            lock_prune_command: "npm run flows:lock -- --prune".into(),
            diagram_dir: "docs/flows".into(),
            diagrams_command: "npm run flows:diagrams".into(),
            check_command: "npm run flows:check".into(),
            dev_command: "npm run dev".into(),
            coverage_dir: "target/flow-coverage".into(),
            coverage_command: "npm run flows:coverage".into(),
            min_coverage: None,
            environment: Some(("wrangler.toml".into(), ".dev.vars.example".into())),
        }
    }

    /// A checker's hint with the project's commands and files in place of `{lock}`,
    /// `{lock_prune}`, `{lock_file}` and `{dev}`.
    pub fn fill(&self, hint: &str) -> String {
        hint.replace("{lock_file}", &self.lock_file.display().to_string())
            .replace("{lock_prune}", &self.lock_prune_command)
            .replace("{lock}", &self.lock_command)
            .replace("{dev}", &self.dev_command)
    }

    /// Makes `flows check` fail when the flow tests reach less than `percent` of the branches
    /// of any flow (measured by the last `npm run flows:coverage`).
    pub fn min_coverage(mut self, percent: u32) -> Self {
        self.min_coverage = Some(percent);
        self
    }
}
