import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWorker } from "../../scripts/harness/worker.mjs";

const crateVersion = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8").match(/^version = "([^"]+)"/m)[1];

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

test("a flow without a setting it declares: /healthz says which, its calls end in its apology, and a secret never reaches a log line", async () => {
  const { FLOW_SETTINGS, SECRETS } = await import("../../scripts/harness/worker.mjs");
  const { Call } = await import("../../scripts/harness/events.mjs");
  const without = await startWorker({ bindings: { BANK_API_KEY: "" } });
  try {
    const res = await without.fetch("/healthz");
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "misconfigured", version: crateVersion, missing_settings: ["bank: BANK_API_KEY"] });
    const call = new Call(without);
    const welcome = await call.incoming();
    const menu = await call.completed(welcome.action);
    const account = await call.completed(menu.action, "1");
    const apology = await call.completed(account.action, "12345674#");
    assert.match(apology.action.params.tts.message, /technical difficulties/);
    assert.ok(
      without.logs.some((l) => /flow `bank` has no value for BANK_API_KEY/.test(l)),
      without.logs.join("\n"),
    );
  } finally {
    await without.dispose();
  }
  // With every setting: the balance is looked up with the key, which no log line shows.
  const seen = [];
  const withAll = await startWorker({
    outboundService: async (request) => {
      seen.push(request.headers.get("x-api-key"));
      return Response.json({ balance: "1.00" });
    },
  });
  try {
    const call = new Call(withAll);
    const welcome = await call.incoming();
    const menu = await call.completed(welcome.action);
    const account = await call.completed(menu.action, "1");
    const balance = await call.completed(account.action, "12345674#");
    assert.match(balance.action.params.tts.message, /is 1.00 dollars/);
    assert.deepEqual(seen, [FLOW_SETTINGS.BANK_API_KEY]);
    assert.equal((await withAll.fetch("/healthz")).status, 200);
    const logs = withAll.logs.join("\n");
    assert.ok(!logs.includes(FLOW_SETTINGS.BANK_API_KEY) && !logs.includes(SECRETS.TELESIGN_API_KEY), logs);
  } finally {
    await withAll.dispose();
  }
});
