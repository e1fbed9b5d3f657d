#!/usr/bin/env bash
# README command 1: set up, then serve the worker on http://127.0.0.1:8787 with local KV and D1
# persisted under .wrangler/state (the D1 schema from migrations/ applied first; a second run
# applies only new migrations) and secrets from .dev.vars. `--test-scheduled` serves the cron
# trigger at /__scheduled (curl it to move outbox records and apply retention by hand).
#
# Options of its own (the rest go to `wrangler dev`):
#   --clock TIME        the worker's clock starts at TIME (RFC 3339, e.g. 2026-12-25T10:00:00-05:00)
#                       and runs on from there: opening hours and holidays, by hand (DEV_CLOCK)
#   --stand-ins [FILE]  serves the canned answers of FILE (flows/stand-ins.json) for your flows'
#                       HTTP services, and points the flows' settings at them (scripts/stand-ins.mjs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup.sh
vars=() rest=() stand_ins=""
while [ $# -gt 0 ]; do
  case "$1" in
    --clock)
      [ $# -ge 2 ] || { echo "--clock needs a time, e.g. 2026-12-25T10:00:00-05:00" >&2; exit 2; }
      vars+=(--var "DEV_CLOCK:$2"); shift 2 ;;
    --stand-ins)
      if [ $# -ge 2 ] && [ "${2#--}" = "$2" ]; then stand_ins="$2"; shift 2; else stand_ins="flows/stand-ins.json"; shift; fi ;;
    *) rest+=("$1"); shift ;;
  esac
done
if [ -n "$stand_ins" ]; then
  # The settings the stand-ins give the flows, as --var NAME:VALUE.
  mapfile -t settings < <(node scripts/stand-ins.mjs --settings "$stand_ins")
  for s in "${settings[@]}"; do vars+=(--var "$s"); done
  node scripts/stand-ins.mjs "$stand_ins" &
  trap 'kill $! 2>/dev/null' EXIT
fi
CI=true wrangler d1 migrations apply CALLS_DB --local --persist-to .wrangler/state >&2
wrangler dev --test-scheduled --local --ip 127.0.0.1 --port "${PORT:-8787}" \
  --persist-to .wrangler/state --show-interactive-dev-session=false "${vars[@]}" "${rest[@]}"
