//! `flows`: checks your flows, writes their lock and diagrams, and reports what your flow tests
//! reach (`npm run flows:check`, `flows:lock`, `flows:diagrams`, `flows:coverage`; see
//! docs/testing-flows.md). To require a minimum of branches reached by your tests in `npm run
//! flows:check`, use `Project::yours().min_coverage(80)`.

use std::process::ExitCode;

use ivr_testkit::cli::{main as flows, Project};

fn main() -> ExitCode {
    flows(&flows::registry(), &Project::yours())
}
