#!/usr/bin/env bash
# `npm run flows:coverage`: runs your flow tests (flows/tests/) and reports, per flow, the steps
# and branches they reached; each flow's diagram with what no test reached in red is written to
# target/flow-coverage/diagrams/. Fails when a flow test fails, or when a flow is below the
# minimum flows/bin/flows.rs requires (if it requires one).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
rm -rf target/flow-coverage
IVR_FLOW_COVERAGE="$ROOT/target/flow-coverage" cargo test --quiet -p flows "$@"
tests=$?
cargo run --quiet -p flows --bin flows -- coverage
report=$?
[ "$tests" -eq 0 ] && [ "$report" -eq 0 ]
