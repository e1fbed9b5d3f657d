#!/usr/bin/env bash
# README command 2: set up, then run every test layer. Each layer prints its runner's summary and
# every layer runs even when an earlier one failed (a layer that needs a failed build is skipped
# and counted as failed); the command ends with one "all layers: N passed, N failed" line and
# fails when a layer failed or ran no test.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh || exit 1
set +e

LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT
total_passed=0
total_failed=0
failed_layers=()

banner() { printf '\n==== %s ====\n' "$*"; }
layer_failed() { failed_layers+=("$1"); echo "$1: FAILED${2:+ ($2)}"; }

# check NAME HINT CMD...: a layer without test counts (formatting, lints, builds). HINT says what
# to do when it fails (empty: read the output). Returns the command's status.
check() {
  local name="$1" hint="$2"; shift 2
  banner "$name"
  if "$@"; then echo "$name: ok"; return 0; fi
  layer_failed "$name" "$hint"
  return 1
}

# tests NAME KIND CMD...: runs a test layer and adds up its summary lines (KIND cargo or node); it
# fails when the runner fails or reports no test run.
tests() {
  local name="$1" kind="$2"; shift 2
  local log="$LOG_DIR/layer.log" status=0 passed failed
  banner "$name"
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if [ "$kind" = cargo ]; then
    passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
    failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
  else
    passed=$(grep -oE '^. pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
    failed=$(grep -oE '^. fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  fi
  total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))
  echo "$name: $passed passed, $failed failed"
  if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then layer_failed "$name"; return 1; fi
  if [ "$passed" -eq 0 ]; then layer_failed "$name" "ran no test"; return 1; fi
}

skipped() { banner "$1"; layer_failed "$1" "skipped: $2"; }

# The project's crates are pure and tested on the host: the core, the flow-testing kit and the
# project's own test flows (the engine and pipeline tests drive those, never yours). Your flows
# have their own tests (flows/tests/), run on their own and with coverage. The worker crate is the
# Workers runtime shell: linted for wasm32 and tested there by wasm-bindgen-test.
PROJECT_CRATES=(-p ivr-core -p ivr-testkit -p test-flows)
check "cargo fmt" "run \`cargo fmt --all\`, then commit" cargo fmt --all --check
check "JS format and lint (Biome: scripts/, tests/e2e/, bench/)" "run \`npx biome check --write .\` for the formatting, and mend what it reports" \
  node_modules/.bin/biome check .
check "JS types (tsc --checkJs over JSDoc: scripts/, tests/e2e/, bench/; src/js/ against the Workers runtime's types)" "mend the JSDoc or the code tsc points at: \`npm run typecheck\`" \
  npm run -s typecheck
check "cargo clippy (host: core, kit, test flows, your flows; all targets)" "" \
  cargo clippy "${PROJECT_CRATES[@]}" -p flows --all-targets --quiet -- -D warnings
check "cargo clippy (wasm32: the worker, with your flows and with the test flows)" "" \
  bash -c 'cargo clippy -p telesign-ivr-worker --lib --tests --target wasm32-unknown-unknown --quiet -- -D warnings &&
    cargo clippy -p telesign-ivr-worker --lib --target wasm32-unknown-unknown --features test-flows --quiet -- -D warnings'
tests "host cargo test (core, kit, engine and pipeline on the test flows)" cargo \
  cargo test "${PROJECT_CRATES[@]}" --no-fail-fast --quiet
# Your flow tests write what they reach to target/flow-coverage; `flows check` reads it when the
# project requires a minimum (flows/bin/flows.rs).
rm -rf target/flow-coverage
tests "your flow tests (flows/tests/, npm run flows:test)" cargo \
  env IVR_FLOW_COVERAGE="$ROOT/target/flow-coverage" cargo test -p flows --no-fail-fast --quiet
check "flows check (your flows, against flows/flows.lock)" "its output names each problem and its fix" \
  cargo run --quiet -p flows --bin flows -- check
tests "wasm-bindgen-test (node)" cargo env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p telesign-ivr-worker --lib --target wasm32-unknown-unknown
user_build=ok test_build=ok
check "release build with your flows (build/)" "" bash scripts/build.sh || user_build=failed
check "release build with the test flows (build-test/)" "" bash scripts/build.sh --test-flows || test_build=failed
if [ "$user_build" = ok ]; then
  check "wrangler deploy --dry-run (offline)" "" wrangler deploy --dry-run --outdir "$LOG_DIR/dist"
else
  skipped "wrangler deploy --dry-run (offline)" "the release build with your flows failed"
fi
for backend in kv durable_object; do
  name="end-to-end (miniflare, ${backend/_/ } sessions)"
  if [ "$user_build" = ok ] && [ "$test_build" = ok ]; then
    tests "$name" node env E2E_SESSION_BACKEND="$backend" \
      node --test --test-reporter=spec 'tests/e2e/*.test.mjs'
  else
    skipped "$name" "a release build failed"
  fi
done

printf '\n'
if [ "${#failed_layers[@]}" -gt 0 ]; then
  printf 'failed layers:\n'; printf '  %s\n' "${failed_layers[@]}"
  echo "all layers: ${total_passed} passed, ${total_failed} failed; ${#failed_layers[@]} layer(s) failed"
  exit 1
fi
echo "all layers: ${total_passed} passed, ${total_failed} failed"
