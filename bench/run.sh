#!/usr/bin/env bash
# `npm run bench`: regenerates every figure: the summary of BENCHMARKS.md (between its "figures"
# markers) and bench/RESULTS.md.
# Sets up (idempotent), installs twiggy and bottle once, builds the release worker, then measures
# size, the engine on the host (divan) and the four peers under load on 127.0.0.1 (bench/load.mjs).
# A few minutes once the project's own setup has run (most of it the load part: rounds of calls
# per peer, cold starts, CPU, the rounds loaded together); longer on a fresh machine, which first
# compiles the project.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh
OUT="$ROOT/target/bench"
# The command the load figures name as theirs (load.mjs writes it into load.json).
export BENCH_COMMAND="${BENCH_COMMAND:-npm run bench}"
mkdir -p "$OUT"
TWIGGY_VERSION="0.8.0"

if [ "$(twiggy --version 2>/dev/null || true)" != "twiggy-opt ${TWIGGY_VERSION}" ]; then
  echo "[bench] installing twiggy ${TWIGGY_VERSION} (size breakdown, under a minute, once)" >&2
  cargo_install twiggy --version "=${TWIGGY_VERSION}" --locked || echo "[bench] twiggy not installed: no size breakdown" >&2
fi
# The Python peer: bottle from PyPI into target/bench/python (skipped by load.mjs if this fails).
if [ ! -f "$OUT/python/bottle.py" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$OUT/python" \
    -r bench/python-bottle/requirements.txt >&2 || echo "[bench] bottle not installed: no python peer" >&2
fi

# The host's speed drifts by half between phases of a few minutes: the engine is run
# BENCH_ENGINE_RUNS times (3) and report.mjs keeps the fastest run, naming the others.
rm -f "$OUT"/engine.txt "$OUT"/engine.*.txt
for i in $(seq 1 "${BENCH_ENGINE_RUNS:-3}"); do
  echo "[bench] engine on the host (cargo bench -p test-flows --bench engine), run $i" >&2
  cargo bench --quiet -p test-flows --bench engine | tee "$OUT/engine.$i.txt"
done

# What a held lookup adds per event (the held test flow), on the host.
echo "[bench] a held lookup's events on the host (cargo bench -p test-flows --bench hold)" >&2
cargo bench --quiet -p test-flows --bench hold | tee "$OUT/hold.txt"

# A flow test's simulated call through the kit (testkit/), on the host.
echo "[bench] a flow test's call on the host (cargo bench -p test-flows --bench kit)" >&2
cargo bench --quiet -p test-flows --bench kit | tee "$OUT/kit.txt"

# The build of the test flows and the measurements of build-test/ under one lock, so no other build replaces it meanwhile.
echo "[bench] release build, size, load" >&2
rm -f "$OUT/named.wasm" # kept by this run's build only
rm -rf "$OUT/build-named"
# build-named: this build with the wasm's function names, for the native profile below.
flock /tmp/wasm-build.lock sh -c "KEEP_NAMED_WASM='$OUT/named.wasm' bash scripts/build.sh --test-flows > '$OUT/build.log' 2>&1 && node bench/size.mjs && node bench/load.mjs && node bench/record-write.mjs && cp -r build-test '$OUT/build-named' && cp '$OUT/named.wasm' '$OUT/build-named/index_bg.wasm'" || {
  echo "[bench] failed; the build log is $OUT/build.log" >&2; exit 1; }
# Where each peer's CPU goes in workerd (bench/native.mjs), from a copy of the build with the wasm's
# function names; only where Linux perf can record (report.mjs leaves the section out otherwise).
rm -f "$OUT/native.json"
if perf record -q -o /dev/null true >/dev/null 2>&1; then
  echo "[bench] where the CPU goes: perf of each peer's workerd (bench/native.mjs)" >&2
  node bench/native.mjs "$OUT/build-named" js floor --json "$OUT/native.json" || echo "[bench] no native profile" >&2
else
  echo "[bench] perf cannot record here: no native profile" >&2
fi
node bench/report.mjs
