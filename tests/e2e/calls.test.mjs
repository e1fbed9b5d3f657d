// POST /calls, GET /calls, GET /calls/<id>: outbound calls placed through a fake Telesign that
// checks the exact dial request, then run through /webhook like an inbound call.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";
import { postEvent, referenceId as newReferenceId } from "../../scripts/harness/events.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL, answers } from "../../scripts/simulator/telesign_api.mjs";

const CALLER_ID = "+15554441313";
const TO = "+15555551212";
const AUTH = { authorization: `Bearer ${SECRETS.API_TOKEN}` };

let w;
let telesign;
before(async () => {
  telesign = new FakeTelesignApi();
  w = await startWorker({
    outboundService: telesign.fetch,
    bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL, CALLER_ID, DIAL_TIMEOUT_MS: "300" },
  });
});
after(() => w.dispose());
beforeEach(() => {
  telesign.requests.length = 0;
  telesign.next.length = 0;
});

function placeCall(body, headers = AUTH) {
  return w.fetch("/calls", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const reminder = (extra = {}) => ({
  to: TO,
  flow: "reminder",
  vars: { name: "Alex", when: "Tuesday at 2 PM" },
  ...extra,
});

async function kvKeys(prefix) {
  const { keys } = await (await w.kv()).list({ prefix });
  return keys.map((k) => k.name);
}

async function get(path) {
  const res = await w.fetch(path, { headers: AUTH });
  return { status: res.status, body: await res.json() };
}

/** Posts a signed event for an outbound call (Telesign echoes the external id on each). */
function outboundEvent(event, reference, externalId, data = {}) {
  return postEvent(w, event, reference, { from: "15554441313", to: "15555551212", ...data }, { external_id: externalId });
}

test("every API route wants the bearer token", async () => {
  const routes = [
    ["POST", "/calls"],
    ["GET", "/calls"],
    ["GET", "/calls/ABC"],
    ["POST", "/campaigns"],
    ["GET", "/campaigns/0123456789abcdef0123456789abcdef"],
  ];
  for (const [method, path] of routes) {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: `Basic ${SECRETS.API_TOKEN}` }]) {
      const res = await w.fetch(path, { method, headers, body: method === "POST" ? JSON.stringify(reminder()) : undefined });
      assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
      assert.match(res.headers.get("www-authenticate"), /^Bearer /);
      assert.equal((await res.json()).error.code, "unauthorized");
    }
  }
  assert.equal(telesign.requests.length, 0);
});

test("bad requests are refused with stable codes before anything is sent to Telesign", async () => {
  const cases = [
    ["{", 400, "invalid_json"],
    ["[]", 400, "invalid_body"],
    [{ ...reminder(), extra: 1 }, 400, "unknown_field"],
    [{ flow: "reminder" }, 400, "missing_field"],
    [reminder({ to: "555-1212" }), 422, "invalid_number"],
    [reminder({ flow: "no_such_flow" }), 422, "unknown_flow"],
    [reminder({ flow: "bank" }), 422, "unknown_flow"],
    [reminder({ vars: { name: 5 } }), 422, "invalid_vars"],
    [reminder({ caller_id_number: "12" }), 422, "invalid_caller_id"],
    [reminder({ external_id: "cmp_reserved_1" }), 422, "invalid_external_id"],
    [reminder({ vars: { name: "Alex" } }), 422, "missing_vars"],
    [reminder({ vars: { name: "Alex", when: " " } }), 422, "missing_vars"],
    [reminder({ max_call_duration: 14_401 }), 422, "invalid_dial_option"],
    [reminder({ send_dtmf: "12x" }), 422, "invalid_dial_option"],
    [reminder({ record_call: "yes" }), 400, "invalid_field"],
    [JSON.stringify(reminder({ vars: { big: "x".repeat(70 * 1024) } })), 413, "payload_too_large"],
  ];
  for (const [body, status, code] of cases) {
    const res = await placeCall(body);
    assert.equal(res.status, status, JSON.stringify(body).slice(0, 80));
    assert.equal((await res.json()).error.code, code);
  }
  assert.equal(telesign.requests.length, 0);
  assert.deepEqual(await kvKeys("pending:"), []);
});

test("without a caller id in the request or CALLER_ID, the call is refused", async () => {
  const bare = await startWorker({ outboundService: telesign.fetch, bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL } });
  try {
    const res = await bare.fetch("/calls", { method: "POST", headers: AUTH, body: JSON.stringify(reminder()) });
    assert.equal(res.status, 422);
    assert.equal(/** @type {any} */ (await res.json()).error.code, "missing_caller_id");
    assert.equal(telesign.requests.length, 0);
  } finally {
    await bare.dispose();
  }
});

test("the dial request is exactly Telesign's and the session is stored under the reference id", async () => {
  const reference = newReferenceId();
  telesign.answerNext(answers.accepted(reference));
  const res = await placeCall(reminder({ external_id: "order-17" }));
  assert.equal(res.status, 202);
  assert.deepEqual(await res.json(), { reference_id: reference, external_id: "order-17", status: "dial_accepted" });

  assert.equal(telesign.requests.length, 1);
  const [req] = telesign.requests;
  assert.equal(req.url, FAKE_TELESIGN_URL);
  assert.equal(req.method, "POST");
  const basic = Buffer.from(`${SECRETS.TELESIGN_CUSTOMER_ID}:${SECRETS.TELESIGN_API_KEY}`).toString("base64");
  assert.equal(req.headers.authorization, `Basic ${basic}`);
  assert.equal(req.headers["content-type"], "application/json");
  assert.deepEqual(req.body, {
    jsonrpc: "2.0",
    method: "dial",
    params: { to: "15555551212", caller_id_number: "15554441313", external_id: "order-17" },
  });

  const session = await w.session(reference);
  assert.equal(session.flow, "reminder");
  assert.equal(session.direction, "outbound");
  assert.equal(session.wait, "answer");
  assert.equal(session.external_id, "order-17");
  assert.deepEqual(session.vars, { name: "Alex", when: "Tuesday at 2 PM" });
  assert.deepEqual(await kvKeys("pending:"), [], "the pending entry is gone once the session is stored");
});

test("a call without the vars its flow needs names them, and nothing is sent", async () => {
  const res = await placeCall(reminder({ vars: { when: "Monday" } }));
  assert.equal(res.status, 422);
  const { error } = await res.json();
  assert.equal(error.code, "missing_vars");
  assert.match(error.message, /missing: name$/);
  assert.equal(telesign.requests.length, 0);
});

test("dial options reach Telesign exactly as asked", async () => {
  const reference = newReferenceId();
  telesign.answerNext(answers.accepted(reference));
  const res = await placeCall(reminder({ external_id: "order-18", record_call: true, max_call_duration: 600, send_dtmf: "ww12#", is_primary: true }));
  assert.equal(res.status, 202);
  assert.deepEqual(telesign.requests[0].body, {
    jsonrpc: "2.0",
    method: "dial",
    params: {
      to: "15555551212",
      caller_id_number: "15554441313",
      record_call: true,
      external_id: "order-18",
      max_call_duration: 600,
      send_dtmf: "ww12#",
      is_primary: true,
    },
  });
});

test("a generated external id is a UUID, and the request's caller id wins over CALLER_ID", async () => {
  const res = await placeCall(reminder({ caller_id_number: "+15550001111" }));
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.match(body.external_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(telesign.requests[0].body.params.external_id, body.external_id);
  assert.equal(telesign.requests[0].body.params.caller_id_number, "15550001111");
});

test("a full outbound call: POST /calls, dial_completed, digits, call_completed, record", async () => {
  const res = await placeCall(reminder());
  const { reference_id: reference, external_id: externalId } = await res.json();

  let live = await get(`/calls/${reference}`);
  assert.equal(live.status, 200);
  assert.equal(live.body.state, "live");
  assert.equal(live.body.call.wait, "answer");

  const answered = await outboundEvent("dial_completed", reference, externalId, { status: "answered" });
  assert.equal(answered.status, 200);
  assert.equal(answered.action.method, "speak");
  assert.match(answered.action.params.tts.message, /Hello Alex\. .* Tuesday at 2 PM/);

  const confirmed = await outboundEvent("speak_completed", reference, externalId, {
    status: "speak_successful",
    collected_digits: "1",
  });
  assert.equal(confirmed.action.method, "speak");
  assert.match(confirmed.action.params.tts.message, /confirmed/);

  const bye = await outboundEvent("speak_completed", reference, externalId, { status: "speak_successful" });
  assert.equal(bye.action.method, "hangup");

  live = await get(`/calls/${reference}`);
  assert.equal(live.body.state, "live");

  const completed = await outboundEvent("call_completed", reference, externalId, {
    direction: "outbound",
    status: "hangup",
    created_on_utc: "2026-11-21T10:00:00.000000",
    answered_on_utc: "2026-11-21T10:00:05.000000",
    ended_on_utc: "2026-11-21T10:00:40.000000",
    duration: 35,
  });
  assert.equal(completed.status, 204);

  const ended = await get(`/calls/${reference}`);
  assert.equal(ended.status, 200);
  assert.equal(ended.body.state, "ended");
  const record = ended.body.call;
  assert.equal(record.reference_id, reference);
  assert.equal(record.external_id, externalId);
  assert.equal(record.flow, "reminder");
  assert.equal(record.direction, "outbound");
  assert.equal(record.outcome, "completed");
  assert.equal(record.vars.choice, "confirmed");
  assert.equal(record.to, TO);
  assert.equal(record.duration, 35);
  assert.equal(await w.session(reference), null);
});

test("a dial_completed that beats the session write runs the flow from the pending entry", async () => {
  const reference = newReferenceId();
  /** @type {(value?: unknown) => void} */
  let release;
  const released = new Promise((resolve) => (release = resolve));
  telesign.answerNext(() => released.then(() => answers.accepted(reference)));

  const pendingCall = placeCall(reminder({ external_id: "race-1" }));
  const deadline = Date.now() + 10_000;
  while (telesign.requests.length === 0) {
    assert.ok(Date.now() < deadline, "the dial never reached the fake Telesign");
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await kvKeys("pending:"), ["pending:race-1"]);

  // Telesign's event arrives while the worker still waits for the dial's answer.
  const answered = await outboundEvent("dial_completed", reference, "race-1", { status: "answered" });
  assert.equal(answered.action.method, "speak");
  assert.match(answered.action.params.tts.message, /Hello Alex/);

  release();
  const res = await pendingCall;
  assert.equal(res.status, 202);
  // The worker did not overwrite the session the event moved on.
  const session = await w.session(reference);
  assert.equal(session.wait, "speak");
  assert.equal(session.step, "reminder");
  assert.deepEqual(await kvKeys("pending:"), []);

  const next = await outboundEvent("speak_completed", reference, "race-1", { status: "speak_successful", collected_digits: "2" });
  assert.match(next.action.params.tts.message, /cancelled/);
});

test("a dial_completed with status failed ends in a dial_failed record", async () => {
  const res = await placeCall(reminder());
  const { reference_id: reference, external_id: externalId } = await res.json();
  const failed = await outboundEvent("dial_completed", reference, externalId, { status: "failed" });
  assert.equal(failed.status, 204);
  const ended = await get(`/calls/${reference}`);
  assert.equal(ended.body.state, "ended");
  assert.equal(ended.body.call.outcome, "dial_failed");
  assert.equal(ended.body.call.status, "failed");
  assert.equal(ended.body.call.flow, "reminder");
});

test("Telesign's other answers map to clear responses and leave a record, nothing else", async () => {
  /** @type {Array<[any, number, string, string]>} */
  const cases = [
    [answers.rejected("to_number_blocked_by_country"), 422, "to_number_blocked_by_country", "dial_rejected"],
    [answers.rejected("premium_to_number_rejected"), 422, "premium_to_number_rejected", "dial_rejected"],
    [answers.badRequest("caller_id_number_not_owned"), 422, "caller_id_number_not_owned", "dial_bad_request"],
    [answers.unauthorized(), 502, "telesign_credentials_rejected", "dial_unauthorized"],
    [answers.rateLimited("30"), 429, "telesign_rate_limited", "dial_rate_limited"],
    [answers.unavailable(), 502, "telesign_unavailable", "dial_upstream_error"],
    [() => new Promise(() => {}), 504, "telesign_timeout", "dial_timeout"],
  ];
  for (const [answer, status, code, outcome] of cases) {
    telesign.answerNext(answer);
    const externalId = `fail-${code}`;
    const res = await placeCall(reminder({ external_id: externalId }));
    assert.equal(res.status, status, code);
    const body = await res.json();
    assert.equal(body.error.code, code);
    assert.match(body.error.message, new RegExp(`GET /calls/${externalId}`));
    assert.equal(res.headers.get("retry-after"), status === 429 ? "30" : null);

    const record = await get(`/calls/${externalId}`);
    assert.equal(record.body.state, "ended", code);
    assert.equal(record.body.call.outcome, outcome);
    assert.equal(record.body.call.to, TO);
  }
  assert.deepEqual(await kvKeys("pending:"), []);

  // The timed-out dial may have rung anyway: its events find no flow and are hung up.
  const late = await outboundEvent("dial_completed", newReferenceId(), "fail-telesign_timeout", { status: "answered" });
  assert.equal(late.action.method, "hangup");
});

test("GET /calls lists records by flow with a KV cursor", async () => {
  const all = await get("/calls?flow=reminder&limit=100");
  assert.equal(all.status, 200);
  assert.ok(all.body.calls.length >= 3, `${all.body.calls.length} records`);
  assert.ok(all.body.calls.every((c) => c.flow === "reminder"));
  assert.deepEqual((await get("/calls?flow=bank")).body, { calls: [], cursor: null });

  const seen = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const res = await get(`/calls?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.ok(res.body.calls.length <= 2);
    seen.push(...res.body.calls.map((c) => c.reference_id));
    cursor = res.body.cursor;
    if (!cursor) break;
  }
  assert.equal(cursor, null, "the listing ends");
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.length >= all.body.calls.length);

  for (const query of ["limit=0", "limit=101", "page=2", "flow=a&flow=b"]) {
    const res = await get(`/calls?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.error.code, "invalid_query");
  }
});

test("unknown calls are 404", async () => {
  for (const id of [newReferenceId(), "not%20valid"]) {
    const res = await get(`/calls/${id}`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, "call_not_found");
  }
});
