#!/usr/bin/env node
// Stand-ins for the HTTP services your flows' `fetch` steps call, for trying every branch by hand
// with `npm run dev -- --stand-ins [FILE]` (docs/testing-flows.md). Serves the canned answers of a
// JSON file (flows/stand-ins.json by default) on 127.0.0.1:
//
//   {
//     "port": 8789,
//     "settings": { "BANK_API_URL": "http://127.0.0.1:8789/bank" },
//     "answers": [
//       { "method": "GET", "path": "/bank/accounts/12345674/balance", "json": { "balance": "1234.56" } },
//       { "path": "/bank/accounts/00000000/balance", "status": 503, "delay_ms": 2000 },
//       { "path": "/bank/accounts/*", "status": 404, "json": { "error": "no such account" } }
//     ]
//   }
//
// `settings` are the values your flows' settings take while the stand-ins run (npm run dev passes
// them to wrangler dev with --var), so that the flows call here. Each request gets the first answer
// whose `method` (any when absent) and `path` match (`*` matches any run of characters, the query
// is ignored): its `status` (200 when absent), `json` or `body`, after `delay_ms`. A request no
// answer matches gets a 404 naming the file, and a line on the terminal.

import { createServer } from "node:http";
import { readFileSync } from "node:fs";

/** The stand-ins of a file's text: `{ port, settings, answers }`, or an Error saying what is wrong. */
export function readStandIns(text, file = "stand-ins") {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${e.message}`);
  }
  const answers = doc.answers ?? [];
  if (!Array.isArray(answers)) throw new Error(`${file}: "answers" must be a list`);
  answers.forEach((a, i) => {
    if (typeof a?.path !== "string" || !a.path.startsWith("/")) throw new Error(`${file}: answer ${i + 1} needs a "path" starting with /`);
    if (a.status != null && !(Number.isInteger(a.status) && a.status >= 100 && a.status <= 599))
      throw new Error(`${file}: answer ${i + 1}: "status" must be an HTTP status`);
  });
  const settings = doc.settings ?? {};
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value !== "string") throw new Error(`${file}: setting ${name} must be a string`);
  }
  return { port: doc.port ?? 8789, settings, answers };
}

/** The first answer for a method and path, or undefined. */
export function answerFor(answers, method, path) {
  const matches = (pattern) =>
    new RegExp(
      `^${pattern
        .split("*")
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    ).test(path);
  return answers.find((a) => (a.method == null || a.method.toUpperCase() === method) && matches(a.path));
}

/** Serves the stand-ins; resolves to the server once it listens. */
export function serveStandIns({ port, answers }, { file = "stand-ins", log = console.log } = {}) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://stand-in").pathname;
    const answer = answerFor(answers, req.method, path);
    if (!answer) {
      log(`stand-ins: no answer in ${file} for ${req.method} ${path}: 404`);
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `no stand-in answer for ${req.method} ${path} in ${file}` }));
      return;
    }
    const status = answer.status ?? 200;
    const body = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.body ?? "");
    const type = answer.json !== undefined ? "application/json" : "text/plain; charset=utf-8";
    setTimeout(() => {
      log(`stand-ins: ${req.method} ${path} -> ${status}${answer.delay_ms ? ` after ${answer.delay_ms} ms` : ""}`);
      res.writeHead(status, { "content-type": type });
      res.end(body);
    }, answer.delay_ms ?? 0);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `--settings FILE` prints the settings as NAME:VALUE lines (for wrangler dev's --var) and exits.
  const settingsOnly = process.argv[2] === "--settings";
  const file = process.argv[settingsOnly ? 3 : 2] ?? "flows/stand-ins.json";
  let standIns;
  try {
    standIns = readStandIns(readFileSync(file, "utf8"), file);
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  if (settingsOnly) {
    for (const [name, value] of Object.entries(standIns.settings)) console.log(`${name}:${value}`);
    process.exit(0);
  }
  await serveStandIns(standIns, { file });
  console.log(`stand-ins: ${standIns.answers.length} answers from ${file} on http://127.0.0.1:${standIns.port}/`);
}
