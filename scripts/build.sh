#!/usr/bin/env bash
# Release build of the worker, offline: with your flows (flows/) into build/, or with
# `--test-flows` with the project's test flows (tests/flows/) into build-test/, the build the
# end-to-end tests, the soak and the benchmarks run. Out: worker/shim.mjs (the entry,
# src/js/entry.mjs) with worker/io.mjs, worker/documents.mjs (the JSON texts of GET /openapi.json
# and GET /flows), index.js (wasm-bindgen's glue) and index_bg.wasm.
# wrangler.toml's [build] command runs the first, so `wrangler dev` and `wrangler deploy` build the
# same way.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${WASM_BINDGEN_BIN:=$HOME/.cargo/bin/wasm-bindgen}"
: "${WASM_OPT_BIN:=$ROOT/node_modules/.bin/wasm-opt}"
export PATH="$HOME/.cargo/bin:$PATH"
OUT=build LOCK=flows/flows.lock FEATURES=()
if [ "${1:-}" = "--test-flows" ]; then
  OUT=build-test LOCK=tests/flows/flows.lock FEATURES=(--features test-flows)
fi
# Only the time zones the flows name are compiled in: the filter their lock file keeps.
CHRONO_TZ_TIMEZONE_FILTER="$(node -p "JSON.parse(require('fs').readFileSync('$LOCK', 'utf8')).zone_filter")"
export CHRONO_TZ_TIMEZONE_FILTER
# Cargo's messages say where build.rs wrote the documents the entry answers (scripts/documents.mjs).
MESSAGES="$(mktemp)"
trap 'rm -f "$MESSAGES"' EXIT
cargo build --quiet --release --lib --target wasm32-unknown-unknown "${FEATURES[@]}" \
  --message-format=json-render-diagnostics > "$MESSAGES"
WASM="${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/release/telesign_ivr_worker.wasm"
rm -rf "$OUT" && mkdir -p "$OUT/worker"
# The glue for an ES module that is handed its compiled wasm (`initSync`), as workerd imports it.
# `--keep-debug` keeps the name section for the named copy below; the last step strips it.
"$WASM_BINDGEN_BIN" "$WASM" --out-dir "$OUT" --out-name index --target web --no-typescript --keep-debug
# The bench's size breakdown reads the functions' names from a copy taken here (same code).
if [ -n "${KEEP_NAMED_WASM:-}" ]; then "$WASM_OPT_BIN" -O -g --strip-dwarf "$OUT/index_bg.wasm" -o "$KEEP_NAMED_WASM"; fi
# Optimised; without the name section, a large share of the raw size: panic messages and their
# source locations do not need it.
"$WASM_OPT_BIN" -O --strip-debug --strip-producers "$OUT/index_bg.wasm" -o "$OUT/index_bg.wasm"
cp src/js/entry.mjs "$OUT/worker/shim.mjs"
cp src/js/io.mjs "$OUT/worker/io.mjs"
node scripts/documents.mjs "$MESSAGES" "$OUT/worker/documents.mjs"
