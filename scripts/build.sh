#!/usr/bin/env bash
# Release build of the worker, offline: with your flows (flows/) into build/ (build/worker/shim.mjs,
# the entry, + build/index.js + build/index_bg.wasm), or with `--test-flows` with the project's test flows (tests/flows/) into
# build-test/, the build the end-to-end tests, the soak and the benchmarks run. wrangler.toml's
# [build] command runs the first, so `wrangler dev` and `wrangler deploy` build the same way.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${WASM_BINDGEN_BIN:=$HOME/.cargo/bin/wasm-bindgen}"
: "${WASM_OPT_BIN:=$ROOT/node_modules/.bin/wasm-opt}"
: "${ESBUILD_BIN:=$ROOT/node_modules/.bin/esbuild}"
export WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN
export PATH="$HOME/.cargo/bin:$PATH"
OUT=build LOCK=flows/flows.lock FEATURES=()
if [ "${1:-}" = "--test-flows" ]; then
  OUT=build-test LOCK=tests/flows/flows.lock FEATURES=(--features test-flows)
fi
# Only the time zones the flows name are compiled in: the filter their lock file keeps.
CHRONO_TZ_TIMEZONE_FILTER="$(node -p "JSON.parse(require('fs').readFileSync('$LOCK', 'utf8')).zone_filter")"
export CHRONO_TZ_TIMEZONE_FILTER
worker-build --release --out-dir "$OUT" . "${FEATURES[@]}"
# The worker's entry is ours (src/js/entry.mjs: the webhook driven synchronously, everything else
# handed to the entry worker-build wrote, ../index.js), in place of worker-build's shim.
cp src/js/entry.mjs "$OUT/worker/shim.mjs"
cp src/js/io.mjs "$OUT/worker/io.mjs"
# The bench's size breakdown reads the functions' names from a copy taken here (same code).
if [ -n "${KEEP_NAMED_WASM:-}" ]; then cp "$OUT/index_bg.wasm" "$KEEP_NAMED_WASM"; fi
# worker-build keeps the name section (about 120 KB raw, 30 KB gzip) for readable stack traces;
# panic messages and their source locations do not need it, so it is stripped.
"$WASM_OPT_BIN" --strip-debug --strip-producers "$OUT/index_bg.wasm" -o "$OUT/index_bg.wasm"
