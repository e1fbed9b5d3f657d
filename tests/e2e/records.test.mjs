// Call records in D1 (Miniflare's local D1, real SQLite): records after whole calls, every filter
// of GET /calls, pagination, the CSV export, the per-step stats of scripted calls whose funnel is
// worked out below from tests/flows/bank.rs by hand, D1 failing, the cron trigger (outbox, records
// of earlier versions, retention), and injection attempts in every filter.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { Call, TEST_EPOCH_MS } from "../../scripts/harness/events.mjs";

const HOUR = 3_600_000;
const auth = { authorization: `Bearer ${SECRETS.API_TOKEN}` };

let w;
const calls = {};

async function get(path) {
  const res = await w.fetch(path, { headers: auth });
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, type, body: type.includes("json") ? await res.json() : await res.text() };
}

/**
 * Three bank calls an hour apart, each event a second after the one before (the harness's
 * clock). Their funnel, read off the flow (welcome says, then the main menu; 2 is cards, 7 is no
 * option; the cards menu's * goes back):
 * - A (+15550000001): welcome → main_menu "2" → cards_menu "*" → main_menu, hangs up there.
 * - B (+15550000002): welcome → main_menu "7" (invalid, asked again) "2" → cards_menu, hangs up.
 * - C (+15550000003): welcome → main_menu, hangs up at once.
 */
async function scriptedCalls() {
  const a = new Call(w, { from: "+15550000001", now: TEST_EPOCH_MS });
  let x = await a.incoming();
  x = await a.completed(x.action);
  x = await a.completed(x.action, "2");
  x = await a.completed(x.action, "*");
  await a.hangup();
  const b = new Call(w, { from: "+15550000002", now: TEST_EPOCH_MS + HOUR });
  x = await b.incoming();
  x = await b.completed(x.action);
  x = await b.completed(x.action, "7");
  x = await b.completed(x.action, "2");
  await b.hangup();
  const c = new Call(w, { from: "+15550000003", now: TEST_EPOCH_MS + 2 * HOUR });
  x = await c.incoming();
  await c.completed(x.action);
  await c.hangup();
  Object.assign(calls, { a: a.reference, b: b.reference, c: c.reference });
}

before(async () => {
  w = await startWorker();
  await scriptedCalls();
});
after(() => w?.dispose());

test("a finished call's record is in D1 and GET /calls/<id> answers it", async () => {
  const row = await w.record(calls.b);
  assert.equal(row.outcome, "caller_hung_up");
  assert.deepEqual(row.visited, ["welcome", "main_menu", "cards_menu"]);
  const { status, body } = await get(`/calls/${calls.b}`);
  assert.equal(status, 200);
  assert.equal(body.state, "ended");
  assert.deepEqual(body.call, row);
  const steps = (
    await (await w.db()).prepare("SELECT step, next_step, left_ms - entered_ms AS t FROM call_steps WHERE reference_id = ?1 ORDER BY seq").bind(calls.b).all()
  ).results;
  assert.deepEqual(
    steps.map((s) => [s.step, s.next_step]),
    [
      ["welcome", "main_menu"],
      ["main_menu", "cards_menu"],
      ["cards_menu", null],
    ],
  );
  // welcome is left at the next event, a second later on the call's clock.
  assert.equal(steps[0].t, 1000);
});

test("call_steps and call_answers read a record's steps and answers from it, also a record of a version before step times", async () => {
  const db = await w.db();
  const record = await w.record(calls.b);
  const answers = (await db.prepare("SELECT step, digits, result, at_ms FROM call_answers WHERE reference_id = ?1 ORDER BY seq").bind(calls.b).all()).results;
  assert.deepEqual(
    answers,
    record.answers.map(({ step, digits, result, at_ms }) => ({ step, digits, result, at_ms })),
  );
  assert.ok(answers.length >= 2, JSON.stringify(answers));
  // A record as a version before step times wrote it: no `visited_ms`.
  const { visited_ms, ...untimed } = { ...record, reference_id: "FEDCBA9876543210FEDCBA9876543210" };
  assert.equal(visited_ms.length, record.visited.length);
  await db
    .prepare("INSERT INTO calls (reference_id, flow, outcome, ended_ms, record) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(untimed.reference_id, untimed.flow, untimed.outcome, untimed.ended_ms, JSON.stringify(untimed))
    .run();
  const steps = (
    await db.prepare("SELECT seq, step, entered_ms, left_ms, next_step FROM call_steps WHERE reference_id = ?1 ORDER BY seq").bind(untimed.reference_id).all()
  ).results;
  assert.deepEqual(steps, [
    { seq: 0, step: "welcome", entered_ms: null, left_ms: null, next_step: "main_menu" },
    { seq: 1, step: "main_menu", entered_ms: null, left_ms: null, next_step: "cards_menu" },
    { seq: 2, step: "cards_menu", entered_ms: null, left_ms: null, next_step: null },
  ]);
  // The last step of a timed record is left when the call ended.
  const last = await db.prepare("SELECT entered_ms, left_ms FROM call_steps WHERE reference_id = ?1 AND seq = 2").bind(calls.b).first();
  assert.deepEqual(last, { entered_ms: visited_ms[2], left_ms: record.ended_ms });
  await db.prepare("DELETE FROM calls WHERE reference_id = ?1").bind(untimed.reference_id).run();
});

test("a worker of the version before call_steps and call_answers became views still writes its records: its writes to them are ignored", async () => {
  const db = await w.db();
  const record = { ...(await w.record(calls.b)), reference_id: "00112233445566778899AABBCCDDEEFF" };
  const id = record.reference_id;
  // The statements of that version's record write (ivr-core/src/records/sql.rs before migrations/0006), in one batch.
  const rows = (sql, json) => db.prepare(sql).bind(id, JSON.stringify(json));
  await db.batch([
    db
      .prepare("INSERT INTO calls (reference_id, flow, outcome, ended_ms, record) VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(id, record.flow, record.outcome, record.ended_ms, JSON.stringify(record)),
    db.prepare("DELETE FROM call_steps WHERE reference_id = ?1").bind(id),
    rows(
      "INSERT INTO call_steps (reference_id, seq, step, entered_ms, left_ms, next_step) SELECT ?1, key, json_extract(value, '$[0]'), " +
        "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?2)",
      [["stale", 1, 2, null]],
    ),
    db.prepare("DELETE FROM call_answers WHERE reference_id = ?1").bind(id),
    rows(
      "INSERT INTO call_answers (reference_id, seq, step, digits, result, at_ms) SELECT ?1, key, json_extract(value, '$[0]'), " +
        "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?2)",
      [["stale", "9", "accepted", 1]],
    ),
  ]);
  const steps = (await db.prepare("SELECT step FROM call_steps WHERE reference_id = ?1 ORDER BY seq").bind(id).all()).results;
  assert.deepEqual(
    steps.map((s) => s.step),
    record.visited,
  );
  const answers = (await db.prepare("SELECT step FROM call_answers WHERE reference_id = ?1 ORDER BY seq").bind(id).all()).results;
  assert.deepEqual(
    answers.map((a) => a.step),
    record.answers.map((a) => a.step),
  );
  await db.prepare("DELETE FROM calls WHERE reference_id = ?1").bind(id).run();
});

test("GET /calls filters by flow, outcome, direction, number and time, newest first", async () => {
  const ids = async (query) => {
    const { status, body } = await get(`/calls?${query}`);
    assert.equal(status, 200, `${query}: ${JSON.stringify(body)}`);
    return body.calls.map((c) => c.reference_id);
  };
  assert.deepEqual(await ids("flow=bank"), [calls.c, calls.b, calls.a]);
  assert.deepEqual(await ids("flow=forwarding"), []);
  assert.deepEqual(await ids("outcome=caller_hung_up"), [calls.c, calls.b, calls.a]);
  assert.deepEqual(await ids("outcome=completed"), []);
  assert.deepEqual(await ids("direction=inbound"), [calls.c, calls.b, calls.a]);
  assert.deepEqual(await ids("direction=outbound"), []);
  assert.deepEqual(await ids("number=%2B15550000002"), [calls.b]);
  // An unencoded + arrives as a space; the called number matches too.
  assert.deepEqual(await ids("number=+15550000001"), [calls.a]);
  assert.deepEqual(await ids("number=15555551212"), [calls.c, calls.b, calls.a]);
  const halfPast = new Date(TEST_EPOCH_MS + HOUR / 2).toISOString();
  assert.deepEqual(await ids(`since=${halfPast}`), [calls.c, calls.b]);
  assert.deepEqual(await ids(`until=${encodeURIComponent(halfPast)}`), [calls.a]);
  assert.deepEqual(await ids(`since=${TEST_EPOCH_MS + HOUR / 2}&until=${TEST_EPOCH_MS + (3 * HOUR) / 2}`), [calls.b]);
  assert.deepEqual(await ids("since=2026-12-08"), []);
});

test("GET /calls pages with a keyset cursor until there is none", async () => {
  const first = await get("/calls?flow=bank&limit=2");
  assert.deepEqual(
    first.body.calls.map((c) => c.reference_id),
    [calls.c, calls.b],
  );
  assert.equal(typeof first.body.cursor, "string");
  const second = await get(`/calls?flow=bank&limit=2&cursor=${encodeURIComponent(first.body.cursor)}`);
  assert.deepEqual(
    second.body.calls.map((c) => c.reference_id),
    [calls.a],
  );
  assert.equal(second.body.cursor, null);
});

test("bad filters are 400 invalid_query naming the parameter", async () => {
  for (const [query, named] of [
    ["colour=red", "colour"],
    ["outcome=won", "outcome"],
    ["direction=up", "direction"],
    ["number=abc", "number"],
    ["since=yesterday", "since"],
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["cursor=nope", "cursor"],
    ["flow=a&flow=b", "flow"],
  ]) {
    const { status, body } = await get(`/calls?${query}`);
    assert.equal(status, 400, query);
    assert.equal(body.error.code, "invalid_query", query);
    assert.match(body.error.message, new RegExp(named), query);
  }
  const csv = await get("/calls.csv?cursor=1.a");
  assert.equal(csv.status, 400);
  const stats = await get("/flows/bank/stats?flow=bank");
  assert.equal(stats.status, 400);
});

test("SQL injection attempts in every filter are values, never SQL", async () => {
  const attempts = ["x' OR '1'='1", "bank' --", "'; DROP TABLE calls; --", 'bank" OR 1=1 --'];
  for (const attempt of attempts) {
    const q = encodeURIComponent(attempt);
    const listed = await get(`/calls?flow=${q}`);
    assert.equal(listed.status, 200, attempt);
    assert.deepEqual(listed.body.calls, [], attempt);
    for (const name of ["outcome", "direction", "number", "since", "until", "limit", "cursor"]) {
      const res = await get(`/calls?${name}=${q}`);
      assert.equal(res.status, 400, `${name}=${attempt}`);
    }
    const csv = await get(`/calls.csv?flow=${q}`);
    assert.equal(csv.body.trim().split("\r\n").length, 1, "the header only");
    const stats = await get(`/flows/${q}/stats`);
    assert.equal(stats.status, 404);
    const stats2 = await get(`/flows/bank/stats?since=${q}`);
    assert.equal(stats2.status, 400);
  }
  // The table is still there, with every call.
  assert.equal((await get("/calls?flow=bank")).body.calls.length, 3);
});

test("GET /calls.csv exports every matching call with a header, spreadsheet-safe", async () => {
  const { status, type, body } = await get("/calls.csv?flow=bank");
  assert.equal(status, 200);
  assert.match(type, /^text\/csv/);
  const lines = body.split("\r\n");
  assert.equal(lines.at(-1), "", "CRLF after the last row");
  assert.equal(lines[0], "reference_id,flow,direction,from,to,external_id,outcome,status,started_at,ended_at,duration_s,steps,answers,vars");
  assert.equal(lines.length, 5);
  const b = lines.find((l) => l.startsWith(calls.b)).split(",");
  // Numbers start with +, which a spreadsheet would read as a formula.
  assert.equal(b[3], "'+15550000002");
  assert.equal(b[6], "caller_hung_up");
  assert.equal(b[11], "welcome > main_menu > cards_menu");
  assert.equal(b[12], "main_menu=7 (invalid); main_menu=2 (accepted)");
  assert.equal(b[8], new Date(TEST_EPOCH_MS + HOUR).toISOString().replace(".000Z", "Z"));
  const filtered = await get("/calls.csv?number=%2B15550000003");
  assert.equal(filtered.body.split("\r\n").length, 3);
});

test("GET /flows/bank/stats is the funnel of the scripted calls", async () => {
  const { status, body } = await get("/flows/bank/stats");
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.calls, 3);
  assert.deepEqual(body.outcomes, { caller_hung_up: 3 });
  const step = (name) => body.steps.find((s) => s.step === name);
  assert.deepEqual(
    body.steps.slice(0, 3).map((s) => s.step),
    ["welcome", "main_menu", "account_number"],
    "the flow's order",
  );
  assert.deepEqual([step("welcome").entered, step("welcome").completed, step("welcome").next, step("welcome").median_ms], [3, 3, { main_menu: 3 }, 1000]);
  const main = step("main_menu");
  assert.equal(main.kind, "menu");
  // A enters it twice (back from the cards menu); B's invalid key asks again in the same visit.
  assert.equal(main.entered, 4);
  assert.equal(main.completed, 2);
  assert.deepEqual(main.next, { cards_menu: 2 });
  assert.equal(main.hung_up, 2);
  assert.equal(main.invalid, 1);
  assert.equal(main.no_input, 0);
  assert.deepEqual(main.keys, { 2: 2, 7: 1 });
  const cards = step("cards_menu");
  assert.deepEqual([cards.entered, cards.hung_up, cards.next, cards.keys], [2, 1, { main_menu: 1 }, { "*": 1 }]);
  assert.equal(step("account_number").entered, 0, "steps no call reached are listed, with zeros");
  assert.equal(step("account_number").keys, undefined, "a gather's digits are never counted");

  const later = await get(`/flows/bank/stats?since=${TEST_EPOCH_MS + HOUR / 2}`);
  assert.equal(later.body.calls, 2);
  assert.equal(later.body.steps.find((s) => s.step === "main_menu").entered, 2);
  const unknown = await get("/flows/no_such_flow/stats");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, "flow_not_found");
});

test("a record D1 refuses waits in the KV outbox, is found by GET /calls/<id>, and the cron moves it to D1", async () => {
  const db = await w.db();
  await db.exec("ALTER TABLE calls RENAME TO calls_away");
  const call = new Call(w, { from: "+15550000009" });
  const x = await call.incoming();
  await call.completed(x.action);
  assert.equal((await call.hangup()).status, 204);
  const waiting = await (await w.kv()).get(`call:${call.reference}`);
  assert.ok(waiting, "the record is in the outbox");
  const found = await get(`/calls/${call.reference}`);
  assert.equal(found.status, 200);
  assert.equal(found.body.state, "ended");
  assert.equal(found.body.call.outcome, "caller_hung_up");
  assert.ok(
    w.logs.some((l) => l.includes("record_outbox") && l.includes(call.reference)),
    "logged",
  );

  await db.exec("ALTER TABLE calls_away RENAME TO calls");
  await w.scheduled();
  assert.equal(await (await w.kv()).get(`call:${call.reference}`), null, "moved out of the outbox");
  assert.deepEqual(await w.record(call.reference), JSON.parse(waiting));
});

test("the cron moves records of versions before D1 and deletes records past their retention", async () => {
  // A record as an earlier version left it in KV, and a call that ended 100 days ago.
  const legacy = { ...(await w.record(calls.a)), reference_id: "0123456789ABCDEF0123456789ABCDEF" };
  await (await w.kv()).put(`call:${legacy.reference_id}`, JSON.stringify(legacy));
  assert.equal((await get(`/calls/${legacy.reference_id}`)).body.state, "ended", "found in KV before the move");
  const old = new Call(w, { from: "+15550000010", now: Date.now() - 100 * 24 * HOUR });
  const x = await old.incoming();
  await old.completed(x.action);
  await old.hangup();
  assert.ok(await w.record(old.reference));

  await w.scheduled();
  assert.deepEqual(await w.record(legacy.reference_id), legacy, "copied into D1");
  assert.equal(await (await w.kv()).get(`call:${legacy.reference_id}`), null);
  assert.equal(await w.record(old.reference), null, "older than CALL_RECORD_RETENTION_DAYS (90)");
  const leftover = (await (await w.db()).prepare("SELECT count(*) AS n FROM call_steps WHERE reference_id = ?1").bind(old.reference).first()).n;
  assert.equal(leftover, 0, "its steps went with it");
  assert.ok(await w.record(calls.a), "recent records stay");
});

test("npm run records:migrate moves every record of versions before D1, 40 a request", async () => {
  const port = 8796;
  const other = await startWorker({ port });
  try {
    const kv = await other.kv();
    const base = await w.record(calls.b);
    const ids = Array.from({ length: 45 }, (_, i) => `LEGACY${String(i).padStart(26, "0")}`);
    for (const id of ids) await kv.put(`call:${id}`, JSON.stringify({ ...base, reference_id: id }));
    const { stdout } = await promisify(execFile)("node", ["scripts/records-migrate.mjs", "--url", `http://127.0.0.1:${port}`], {
      env: { ...process.env, API_TOKEN: SECRETS.API_TOKEN },
    });
    assert.match(stdout, /45 records moved/);
    for (const id of ids) assert.equal((await other.record(id))?.reference_id, id);
    assert.deepEqual((await kv.list({ prefix: "call:" })).keys, []);
    // Only a token with the admin scope may.
    const readOnly = await startWorker({ bindings: { API_TOKENS: "reports:read:reports-token-0001" } });
    try {
      const res = await readOnly.fetch("/records/migrate", { method: "POST", headers: { authorization: "Bearer reports-token-0001" } });
      assert.equal(res.status, 403);
      assert.equal(/** @type {any} */ (await res.json()).error.code, "insufficient_scope");
    } finally {
      await readOnly.dispose();
    }
  } finally {
    await other.dispose();
  }
});
