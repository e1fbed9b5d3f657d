// Callers' privacy end to end in workerd, on the session backend of the run (scripts/test.sh runs
// both): the `bank` test flow takes the account number as a sensitive entry (`.keep_last(4)`).
// After a call, the number is in none of D1's tables, the KV namespace, GET /calls, GET
// /calls/<id>, the CSV, the worker's log lines or the simulator's output; the fake bank API still
// got it. Erasure (DELETE /calls/<id>, DELETE /calls?number=) reaches D1, the KV outbox and a call
// that is live while it is erased. docs/records.md, "What is kept".
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { Call, TEST_CLOCK_HEADER } from "../../scripts/harness/events.mjs";
import { ScriptedCaller, parseKeyScript } from "../../scripts/simulator/keys.mjs";
import { simulateCall } from "../../scripts/simulator/simulator.mjs";

const ACCOUNT = "12345674";
const ADMIN = { authorization: `Bearer ${SECRETS.API_TOKEN}` };
const READER = "reader-token-0123456789";
const bankRequests = [];

let w;
before(async () => {
  w = await startWorker({
    bindings: { API_TOKENS: `admin:all:${SECRETS.API_TOKEN}, reader:read:${READER}` },
    outboundService: async (request) => {
      const url = new URL(request.url);
      if (url.hostname !== "bank.example.com") return new Response("unexpected", { status: 599 });
      bankRequests.push(url.pathname);
      return Response.json({ balance: "42.00" });
    },
  });
});
after(() => w?.dispose());

/** Every row of every table of D1, as text. */
async function d1Text() {
  const db = await w.db();
  const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all();
  const out = [];
  for (const { name } of tables.results) {
    const rows = await db.prepare(`SELECT * FROM "${name}"`).all();
    out.push(`${name}: ${JSON.stringify(rows.results)}`);
  }
  return out.join("\n");
}

/** Every key and value of the KV namespace, as text. */
async function kvText() {
  const kv = await w.kv();
  const out = [];
  let cursor;
  do {
    const page = await kv.list({ cursor });
    for (const { name } of page.keys) out.push(`${name} = ${await kv.get(name)}`);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out.join("\n");
}

/** What the call API answers for a path, as text. */
async function apiText(path) {
  const res = await w.fetch(path, { headers: ADMIN });
  return `${res.status} ${await res.text()}`;
}

/** A call of the `bank` flow that enters the account number, hears its balance, and hangs up. */
async function balanceCall(from = "+15558675309") {
  const call = new Call(w, { from });
  const welcome = await call.incoming();
  const menu = await call.completed(welcome.action);
  const prompt = await call.completed(menu.action, "1");
  assert.match(prompt.action.params.tts.message, /account number/);
  const balance = await call.completed(prompt.action, `${ACCOUNT}#`);
  assert.match(balance.action.params.tts.message, /ending in 5674 is 42\.00 dollars/);
  return { call, balance };
}

test("a sensitive entry reaches the bank's API and nothing at rest, in the API's answers or in the logs", { timeout: 30_000 }, async () => {
  const before = bankRequests.length;
  const { call, balance } = await balanceCall();
  assert.deepEqual(bankRequests.slice(before), [`/v1/accounts/${ACCOUNT}/balance`], "the bank API got the account number");
  // While the call lives, the session keeps it sealed (the balance prompt may be said again).
  const live = await w.session(call.reference);
  assert.equal(live.sealed.account, "sealed", "the API shows that it is held, not its sealed text");
  assert.equal(live.vars.account, undefined);
  assert.ok(!(await kvText()).includes(ACCOUNT), "not in KV while the call lives");
  const menu = await call.completed(balance.action);
  assert.match(menu.action.params.tts.message, /For your account balance/);
  await call.hangup();

  const where = {
    "D1's tables": await d1Text(),
    "the KV namespace": await kvText(),
    "GET /calls": await apiText("/calls"),
    "GET /calls/<id>": await apiText(`/calls/${call.reference}`),
    "GET /calls.csv": await apiText("/calls.csv"),
    "the worker's log lines": w.logs.join("\n"),
  };
  for (const [name, text] of Object.entries(where)) {
    assert.ok(!text.includes(ACCOUNT), `the account number is in ${name}:\n${text}`);
  }
  const record = await w.record(call.reference);
  const entry = record.answers.find((a) => a.step === "account_number");
  assert.deepEqual([entry.digits, entry.result, entry.sensitive], ["****5674", "accepted", true]);
  assert.equal(record.vars.account, undefined);
  assert.equal(record.vars.balance, "42.00");
  assert.match(where["GET /calls.csv"], /\*\*\*\*5674/);
});

test("the simulator masks a sensitive entry in its transcript and its exchange", { timeout: 30_000 }, async () => {
  const before = bankRequests.length;
  const lines = [];
  const caller = new ScriptedCaller(parseKeyScript(`1,${ACCOUNT}#,hangup`));
  const secrets = { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: SECRETS.TELESIGN_API_KEY, apiToken: SECRETS.API_TOKEN };
  const result = await simulateCall({ worker: w, secrets, caller, testClock: true, say: (l) => lines.push(l) });
  const transcript = lines.join("\n");
  assert.ok(result.ok, `${result.failures.join("; ")}\n${transcript}`);
  assert.equal(bankRequests.length, before + 1, "the bank API got it");
  assert.match(transcript, /caller presses: \*{8} {2}\(# ignored: collection had ended\)/);
  assert.match(transcript, /speak_completed \(\*{8}\)/);
  assert.match(transcript, /ending in 5674/);
  const output = `${transcript}\n${JSON.stringify(result.exchange)}\n${JSON.stringify(result.record)}`;
  assert.ok(!output.includes(ACCOUNT), output);
});

test("DELETE /calls/<id> erases a call, needs the admin scope, and is idempotent", { timeout: 30_000 }, async () => {
  const { call } = await balanceCall("+15550001111");
  await call.hangup();
  assert.ok(await w.record(call.reference));
  const denied = await w.fetch(`/calls/${call.reference}`, { method: "DELETE", headers: { authorization: `Bearer ${READER}` } });
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).error.code, "insufficient_scope");
  const res = await w.fetch(`/calls/${call.reference}`, { method: "DELETE", headers: ADMIN });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { records: 1, outbox: 0, pending: 0, lookups: 0, live: false });
  assert.equal(await w.record(call.reference), null);
  const db = await w.db();
  for (const table of ["call_steps", "call_answers"]) {
    const row = await db.prepare(`SELECT count(*) AS n FROM ${table} WHERE reference_id = ?1`).bind(call.reference).first();
    assert.equal(row.n, 0, table);
  }
  assert.equal((await w.fetch(`/calls/${call.reference}`, { headers: ADMIN })).status, 404);
  const again = await w.fetch(`/calls/${call.reference}`, { method: "DELETE", headers: ADMIN });
  assert.deepEqual(await again.json(), { records: 0, outbox: 0, pending: 0, lookups: 0, live: false });
});

test("a call live while it is erased goes on, and nothing of it is kept when it ends", { timeout: 30_000 }, async () => {
  const call = new Call(w, { from: "+15550002222" });
  const welcome = await call.incoming();
  const menu = await call.completed(welcome.action);
  // At the call's time (the test clock), as the worker dates every event.
  const res = await w.fetch(`/calls/${call.reference}`, { method: "DELETE", headers: { ...ADMIN, [TEST_CLOCK_HEADER]: String(call.now) } });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).live, true);
  const prompt = await call.completed(menu.action, "1");
  assert.match(prompt.action.params.tts.message, /account number/, "the caller is not cut off");
  await call.completed(prompt.action, `${ACCOUNT}#`);
  await call.hangup();
  assert.equal(await w.record(call.reference), null, "no record");
  assert.equal(await w.session(call.reference), null, "no session");
  assert.equal((await w.fetch(`/calls/${call.reference}`, { headers: ADMIN })).status, 404);
  assert.ok(!(await d1Text()).includes("5550002222"));
});

test("DELETE /calls?number= erases every call from or to a number, the KV outbox too, and logs no number", { timeout: 30_000 }, async () => {
  const erased = "+15550003333";
  const kept = "+15550004444";
  for (const from of [erased, erased, kept]) await (await balanceCall(from)).call.hangup();
  // A record waiting in the KV outbox (D1 failed when its call ended), as the worker writes it.
  const outboxed = (await balanceCall(erased)).call;
  await outboxed.hangup();
  const record = await w.record(outboxed.reference);
  await (await w.kv()).put(`call:${outboxed.reference}`, JSON.stringify(record));
  await (await w.db()).prepare("DELETE FROM calls WHERE reference_id = ?1").bind(outboxed.reference).run();

  const bad = await w.fetch("/calls?number=12ab", { method: "DELETE", headers: ADMIN });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_query");
  const res = await w.fetch(`/calls?number=${encodeURIComponent(erased)}`, { method: "DELETE", headers: ADMIN });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual([body.records, body.outbox], [2, 1]);
  assert.ok(!(await d1Text()).includes("5550003333"));
  assert.ok(!(await kvText()).includes("5550003333"));
  assert.match(await d1Text(), /5550004444/, "other numbers' calls are kept");
  const list = await (await w.fetch(`/calls?number=${encodeURIComponent(erased)}`, { headers: ADMIN })).json();
  assert.deepEqual(list.calls, []);
  const again = await (await w.fetch(`/calls?number=${encodeURIComponent(erased)}`, { method: "DELETE", headers: ADMIN })).json();
  assert.deepEqual([again.records, again.outbox], [0, 0]);
  const erasureLines = w.logs.filter((l) => l.includes('"note":"erased"'));
  assert.equal(erasureLines.length >= 2, true, w.logs.join("\n"));
  for (const line of erasureLines) assert.ok(!line.includes("5550003333"), line);
  // A later call of the number is kept: an erasure is not a block.
  const later = (await balanceCall(erased)).call;
  await later.hangup();
  assert.ok(await w.record(later.reference));
});
