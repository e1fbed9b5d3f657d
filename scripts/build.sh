#!/usr/bin/env bash
# Release build of the worker into build/ (build/worker/shim.mjs + build/index_bg.wasm), offline.
# Used by wrangler.toml's [build] command, so `wrangler dev` and `wrangler deploy` build the same way.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${WASM_BINDGEN_BIN:=$HOME/.cargo/bin/wasm-bindgen}"
: "${WASM_OPT_BIN:=$ROOT/node_modules/.bin/wasm-opt}"
: "${ESBUILD_BIN:=$ROOT/node_modules/.bin/esbuild}"
export WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN
export PATH="$HOME/.cargo/bin:$PATH"
# Only the time zones the flows name are compiled in: the filter `npm run flows:lock` wrote.
CHRONO_TZ_TIMEZONE_FILTER="$(node -p 'JSON.parse(require("fs").readFileSync("flows/flows.lock", "utf8")).zone_filter')"
export CHRONO_TZ_TIMEZONE_FILTER
worker-build --release
# The bench's size breakdown reads the functions' names from a copy taken here (same code).
if [ -n "${KEEP_NAMED_WASM:-}" ]; then cp build/index_bg.wasm "$KEEP_NAMED_WASM"; fi
# worker-build keeps the name section (about 120 KB raw, 30 KB gzip) for readable stack traces;
# panic messages and their source locations do not need it, so it is stripped.
"$WASM_OPT_BIN" --strip-debug --strip-producers build/index_bg.wasm -o build/index_bg.wasm
