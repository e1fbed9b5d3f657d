// schemathesis fuzzes every operation of GET /openapi.json against the built worker in workerd:
// no 5xx, every response conforming to the document, schema-valid requests accepted and
// schema-violating ones refused. Bounded here (SCHEMATHESIS_EXAMPLES, default 10 per operation,
// a fixed seed); `npm run api:fuzz` runs it at length. Installed by scripts/setup.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL } from "../../scripts/simulator/telesign_api.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.SCHEMATHESIS_BIN ?? path.join(root, ".tools/schemathesis/bin/schemathesis");
const EXAMPLES = process.env.SCHEMATHESIS_EXAMPLES ?? "10";

let w;
before(async () => {
  const telesign = new FakeTelesignApi();
  w = await startWorker({ outboundService: telesign.fetch, bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL, CALLER_ID: "+15554441313" } });
});
after(() => w.dispose());

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd: path.join(root, "target"), env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test("schemathesis finds no failure in any operation of the document", { timeout: 250_000 }, async () => {
  assert.ok(existsSync(BIN), `schemathesis is not installed at ${BIN}: run \`. scripts/setup.sh\``);
  const url = (await w.mf.ready).toString().replace(/\/$/, "");
  const { code, out } = await run([
    "run",
    `${url}/openapi.json`,
    "-H",
    `Authorization: Bearer ${SECRETS.API_TOKEN}`,
    "-n",
    EXAMPLES,
    "--seed",
    "1",
    "--generation-deterministic",
  ]);
  const summary = out.match(/(\d+) generated, (\d+) passed/);
  assert.equal(code, 0, out.slice(-4000));
  // Every operation the document has was run, but the document's own (schemathesis leaves out
  // the operation it loads the document from).
  const doc = await (await w.fetch("/openapi.json")).json();
  const documented = Object.entries(doc.paths)
    .filter(([p]) => p !== "/openapi.json")
    .reduce((n, [, ops]) => n + Object.keys(ops).length, 0);
  assert.match(out, new RegExp(`Operations:\\s+${documented} selected / ${documented} total`));
  assert.ok(summary && Number(summary[1]) > 100 && summary[1] === summary[2], out.slice(-2000));
  console.log(`schemathesis: ${documented} operations, ${summary[1]} cases, 0 failures`);
});
