#!/usr/bin/env node
// `npm run flows:replay -- [options] [FILE...]`: replays recorded calls against your flows as they
// are now, on the host (`flows replay`, ivr-testkit's replay), and reports the calls whose path
// would part from the recorded one: the first step where they part and what the caller would hear
// instead. The records come from files (a GET /calls page, a JSON array of records, JSON Lines), or
// from a running worker's GET /calls with a token (every page, newest first). Exit status: 0 every
// call takes its recorded path (or cannot be replayed, which is reported), 1 a call parts, 2 bad
// usage or a worker that cannot be read.

import { parseArgs } from "node:util";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readDevVars, usageExit } from "./simulator/cli.mjs";

const USAGE = `usage: npm run flows:replay -- [options] [FILE...]

  FILE                 call records: a GET /calls page, a JSON array of records, or JSON Lines
  --url URL            read the records from this worker's GET /calls instead (every page)
  --token TOKEN        its API token with the read scope (default: API_TOKEN from the
                       environment or .dev.vars)
  --flow NAME, --since DATE, --until DATE, --outcome OUTCOME
                       GET /calls filters (docs/records.md)
  --max N              at most N calls (default 1000)
  --save FILE          also write the records read from the worker to FILE (JSON Lines)
  --help`;

const usage = (message) => usageExit(USAGE, message);

async function fromWorker(args) {
  let token = args.token ?? process.env.API_TOKEN;
  if (!token) {
    try {
      token = readDevVars(".dev.vars").API_TOKEN;
    } catch {
      // No .dev.vars: the token must be given.
    }
  }
  if (!token) usage("--url needs an API token: --token, API_TOKEN, or API_TOKEN in .dev.vars");
  const max = Number(args.max ?? 1000);
  if (!Number.isInteger(max) || max < 1) usage(`--max takes a positive whole number, not \`${args.max}\``);
  const records = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "100" });
    for (const key of ["flow", "since", "until", "outcome"]) if (args[key]) query.set(key, args[key]);
    if (cursor) query.set("cursor", cursor);
    let res;
    try {
      res = await fetch(new URL(`/calls?${query}`, args.url), { headers: { authorization: `Bearer ${token}` } });
    } catch (e) {
      console.error(`cannot reach the worker at ${args.url}: ${e.cause?.message ?? e.message}`);
      process.exit(2);
    }
    const body = await res.json().catch(() => null);
    if (res.status !== 200 || !Array.isArray(body?.calls)) {
      console.error(`GET /calls answered HTTP ${res.status}: ${JSON.stringify(body)}`);
      process.exit(2);
    }
    records.push(...body.calls);
    cursor = body.cursor;
  } while (cursor && records.length < max);
  return records.slice(0, max);
}

async function main() {
  let args;
  let files;
  try {
    const parsed = parseArgs({
      allowPositionals: true,
      options: {
        url: { type: "string" },
        token: { type: "string" },
        flow: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        outcome: { type: "string" },
        max: { type: "string" },
        save: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
    args = parsed.values;
    files = parsed.positionals;
  } catch (e) {
    usage(e.message);
  }
  if (args.help) usage();
  if (!args.url && files.length === 0) usage("give record files, or --url of a running worker");
  if (args.url && files.length > 0) usage("give record files or --url, not both");
  if (args.url) {
    const records = await fromWorker(args);
    const lines = records.map((r) => JSON.stringify(r)).join("\n");
    const file = args.save ?? path.join(mkdtempSync(path.join(tmpdir(), "flows-replay-")), "records.jsonl");
    writeFileSync(file, `${lines}\n`);
    console.log(`${records.length} call records read from ${args.url}${args.save ? `, saved to ${file}` : ""}`);
    files = [file];
  }
  const run = spawnSync("cargo", ["run", "--quiet", "-p", "flows", "--bin", "flows", "--", "replay", ...files], { stdio: "inherit" });
  return run.status ?? 2;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e.stack ?? e.message);
    process.exit(2);
  },
);
