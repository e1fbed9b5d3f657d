#!/usr/bin/env bash
# `npm run bench:profile [-- rust|js|floor]`: a CPU profile of a worker peer in workerd under the
# benchmark's load (bench/profile.mjs). The Rust worker is profiled from a build that keeps the
# wasm's function names (worker-build's own output, before scripts/build.sh strips them), in
# target/build-named; build-test/ is rebuilt as usual afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh
PEER="${1:-rust}"
if [ "$PEER" = rust ]; then
  flock /tmp/wasm-build.lock sh -c 'worker-build --release --out-dir build-test . --features test-flows > target/build-named.log 2>&1 &&
    rm -rf target/build-named && cp -r build-test target/build-named && bash scripts/build.sh --test-flows >> target/build-named.log 2>&1' || {
    echo "[profile] build failed; see target/build-named.log" >&2; exit 1; }
  PROFILE_BUILD=target/build-named node bench/profile.mjs rust
else
  node bench/profile.mjs "$PEER"
fi
