#!/usr/bin/env bash
# README command 2: set up, then run every test layer. Each layer prints its runner's summary; the
# command fails when a layer fails or runs no test, and ends with one "N passed, N failed" line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh

LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT
total_passed=0
total_failed=0

banner() { printf '\n==== %s ====\n' "$*"; }

# check NAME CMD...: a layer without test counts (formatting, lints, build).
check() {
  local name="$1"; shift
  banner "$name"
  if "$@"; then echo "$name: ok"; else echo "$name: FAILED"; exit 1; fi
}

# tests NAME KIND CMD...: runs a test layer, adds up its summary lines (KIND cargo or node) and fails
# when the runner fails or reports no test run.
tests() {
  local name="$1" kind="$2"; shift 2
  local log="$LOG_DIR/$name.log" status=0 passed failed
  banner "$name"
  "$@" 2>&1 | tee "$log" || status=$?
  if [ "$kind" = cargo ]; then
    passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
    failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
  else
    passed=$(grep -oE '^. pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
    failed=$(grep -oE '^. fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  fi
  total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))
  echo "$name: $passed passed, $failed failed"
  if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then echo "$name: FAILED"; exit 1; fi
  if [ "$passed" -eq 0 ]; then echo "$name: ran no test"; exit 1; fi
}

# The core and the flows are pure: linted and tested on the host. The worker crate is the Workers
# runtime shell: linted for wasm32 and tested there by wasm-bindgen-test.
HOST_CRATES=(-p ivr-core -p flows)
check "cargo fmt" cargo fmt --all --check
check "cargo clippy (host: core and flows, all targets)" cargo clippy "${HOST_CRATES[@]}" --all-targets --quiet -- -D warnings
check "flows check (the flow checker, against flows/flows.lock)" cargo run --quiet -p flows --bin flows -- check
check "cargo clippy (wasm32: the worker)" cargo clippy -p telesign-ivr-worker --lib --tests --target wasm32-unknown-unknown --quiet -- -D warnings
tests "host cargo test (core and flows)" cargo cargo test "${HOST_CRATES[@]}" --quiet
tests "wasm-bindgen-test (node)" cargo env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p telesign-ivr-worker --lib --target wasm32-unknown-unknown
check "release build (worker-build)" bash scripts/build.sh
check "wrangler deploy --dry-run (offline)" wrangler deploy --dry-run --outdir "$LOG_DIR/dist"
tests "end-to-end (miniflare, KV sessions)" node env E2E_SESSION_BACKEND=kv \
  node --test --test-reporter=spec 'tests/e2e/*.test.mjs'
tests "end-to-end (miniflare, Durable Object sessions)" node env E2E_SESSION_BACKEND=durable_object \
  node --test --test-reporter=spec 'tests/e2e/*.test.mjs'

printf '\n'
echo "all layers: ${total_passed} passed, ${total_failed} failed"
