#!/usr/bin/env bash
# Longer fuzzing runs: bash scripts/fuzz.sh [seconds per target, default 300].
# Needs the nightly toolchain (installed on these machines) and cargo-fuzz (installed here once).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-300}"
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz (once)" >&2
  cargo install cargo-fuzz --locked >&2
fi
cd "$ROOT"
for target in decode_event engine; do
  echo "[fuzz] $target for ${SECONDS_PER_TARGET}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_PER_TARGET" -max_len=4096
done
