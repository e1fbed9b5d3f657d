// `node scripts/documents.mjs MESSAGES OUT`, run by scripts/build.sh: writes the entry's
// `documents.mjs` (OUT), the JSON texts that build.rs wrote for `GET /openapi.json` and
// `GET /flows`, which the entry answers instead of the wasm (src/http.rs `Document`). MESSAGES is
// the worker's cargo build's JSON messages (`--message-format=json-render-diagnostics`): they
// say where its build script wrote them.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The export each text becomes, by its file in the build script's OUT_DIR (build.rs). */
const DOCUMENTS = { openapi: "openapi.json", flows: "flows.json" };

const [messages, out] = process.argv.slice(2);
if (messages === undefined || out === undefined) {
  console.error("usage: node scripts/documents.mjs MESSAGES OUT");
  process.exit(2);
}
const outDirs = readFileSync(messages, "utf8")
  .split("\n")
  .filter((line) => line.startsWith("{"))
  .map((line) => JSON.parse(line))
  .filter((m) => m.reason === "build-script-executed")
  .map((m) => m.out_dir)
  // Its OUT_DIR is build/<package>-<hash>/out (the package id's spelling varies with the path).
  .filter((dir) => /^telesign-ivr-worker-[0-9a-f]+$/.test(path.basename(path.dirname(dir))));
if (outDirs.length !== 1) {
  console.error(`documents.mjs: expected the worker's build script once in ${messages}, found ${outDirs.length}`);
  process.exit(1);
}
const lines = ["// Written by scripts/build.sh (scripts/documents.mjs) from build.rs's texts."];
for (const [name, file] of Object.entries(DOCUMENTS)) {
  const text = readFileSync(path.join(outDirs[0], file), "utf8");
  JSON.parse(text); // The worker answers it as JSON: a text that is not fails the build, not a request.
  lines.push(`export const ${name} = ${JSON.stringify(text)};`);
}
writeFileSync(out, `${lines.join("\n")}\n`);
