import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWorker } from "../../scripts/harness/worker.mjs";

const crateVersion = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8").match(
  /^version = "([^"]+)"/m,
)[1];

let w;
before(async () => {
  w = await startWorker();
});
after(() => w.dispose());

test("GET /healthz answers ok with the crate version", async () => {
  const res = await w.fetch("/healthz");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  assert.deepEqual(await res.json(), { status: "ok", version: crateVersion });
});

test("unknown route is a JSON 404", async () => {
  const res = await w.fetch("/no/such/route");
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.error.code, "not_found");
  assert.equal(typeof body.error.message, "string");
});

test("wrong method is a JSON 405 with Allow", async () => {
  const res = await w.fetch("/healthz", { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD");
  assert.equal((await res.json()).error.code, "method_not_allowed");
});
