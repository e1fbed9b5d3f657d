#!/usr/bin/env bash
# README command 1: set up, then serve the worker on http://127.0.0.1:8787 with local KV persisted
# under .wrangler/state and secrets from .dev.vars.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh
exec wrangler dev --local --ip 127.0.0.1 --port "${PORT:-8787}" \
  --persist-to .wrangler/state --show-interactive-dev-session=false "$@"
