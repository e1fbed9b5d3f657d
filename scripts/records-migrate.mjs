#!/usr/bin/env node
// `npm run records:migrate [-- --url https://<your-worker>]`: moves the call records that versions
// before D1 kept in KV (`call:<reference_id>`) into D1 now, 40 per request to
// `POST /records/migrate`, until none is left. The cron trigger does the same on its own, 40 every
// 5 minutes; this is for not waiting. The token (scope `admin`, or `all`) comes from
// $API_TOKEN, else from .dev.vars; the URL defaults to the local worker of `npm run dev`.
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const at = args.indexOf("--url");
const url = (at >= 0 && args[at + 1] ? args[at + 1] : "http://127.0.0.1:8787").replace(/\/$/, "");

function token() {
  if (process.env.API_TOKEN) return process.env.API_TOKEN;
  const file = path.join(root, ".dev.vars");
  const line =
    existsSync(file) &&
    readFileSync(file, "utf8")
      .split("\n")
      .find((l) => l.startsWith("API_TOKEN="));
  if (!line) throw new Error("no token: set API_TOKEN or put it in .dev.vars");
  return line
    .slice("API_TOKEN=".length)
    .trim()
    .replace(/^"(.*)"$/, "$1");
}

const auth = { authorization: `Bearer ${token()}` };
let total = 0;
for (;;) {
  let res;
  try {
    res = await fetch(`${url}/records/migrate`, { method: "POST", headers: auth });
  } catch (e) {
    console.error(`records:migrate: ${url} does not answer (${e.cause?.code ?? e.message}); is the worker running?`);
    process.exit(1);
  }
  const body = await res.json().catch(() => ({}));
  if (res.status !== 200) {
    console.error(`records:migrate: ${res.status} ${body.error?.code ?? ""} ${body.error?.message ?? ""}`);
    process.exit(1);
  }
  total += body.moved;
  if (!body.remaining) break;
}
console.log(`records:migrate: ${total} records moved from KV to D1 at ${url}`);
