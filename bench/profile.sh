#!/usr/bin/env bash
# `npm run bench:profile [-- rust|js|floor]`: a CPU profile of a worker peer in workerd under the
# benchmark's load (bench/profile.mjs); `npm run bench:native` (`--native`): where the CPU of each
# peer's workerd goes, the Rust worker's beside the JS worker's and the floor's (bench/native.mjs,
# Linux perf). The Rust worker is profiled from a build that keeps the wasm's function names
# (scripts/build.sh's copy, KEEP_NAMED_WASM), in target/build-named.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh
PEER="${1:-rust}"
if [ "$PEER" = rust ] || [ "$PEER" = --native ]; then
  flock /tmp/wasm-build.lock sh -c 'KEEP_NAMED_WASM=target/named-test.wasm bash scripts/build.sh --test-flows > target/build-named.log 2>&1 &&
    rm -rf target/build-named && cp -r build-test target/build-named && cp target/named-test.wasm target/build-named/index_bg.wasm' || {
    echo "[profile] build failed; see target/build-named.log" >&2; exit 1; }
  if [ "$PEER" = --native ]; then node bench/native.mjs target/build-named js floor; exit; fi
  PROFILE_BUILD=target/build-named node bench/profile.mjs rust
else
  node bench/profile.mjs "$PEER"
fi
