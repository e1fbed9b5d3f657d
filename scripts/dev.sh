#!/usr/bin/env bash
# README command 1: set up, then serve the worker on http://127.0.0.1:8787 with local KV and D1
# persisted under .wrangler/state (the D1 schema from migrations/ applied first; a second run
# applies only new migrations) and secrets from .dev.vars. `--test-scheduled` serves the cron
# trigger at /__scheduled (curl it to move outbox records and apply retention by hand).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh
CI=true wrangler d1 migrations apply CALLS_DB --local --persist-to .wrangler/state >&2
exec wrangler dev --test-scheduled --local --ip 127.0.0.1 --port "${PORT:-8787}" \
  --persist-to .wrangler/state --show-interactive-dev-session=false "$@"
