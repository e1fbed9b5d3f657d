// Bad input, end to end: a table of malformed and hostile requests against the release build in
// workerd (Miniflare, real local KV). Each row is sent on its own; it must get its documented status
// and error code (docs/call-api.md, docs/webhook.md), and the whole KV namespace (every
// key with its value and metadata: sessions, call records, pending calls, campaigns) is compared
// before and after: unchanged, or changed exactly by the keys the row names. A live call and an
// ended one are there for the rows to aim at.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { Call, eventBody, postBody, referenceId, sign, signedHeaders } from "../../scripts/harness/events.mjs";

const TOKEN = SECRETS.API_TOKEN;
const CUSTOMER = SECRETS.TELESIGN_CUSTOMER_ID;
/** Another base64 key: a signature made with it is a valid HMAC, just not ours. */
const OTHER_KEY = Buffer.from("not-the-telesign-api-key-of-this-worker").toString("base64");
/** Every prefix the worker writes under in KV (ivr-core/src/pipeline/keys.rs). */
const PREFIXES = ["session:", "call:", "pending:", "campaign:", "lookup:"];

/** The worker's outbound requests: none is expected from any row (no dial, no balance lookup). */
const outbound = [];
async function outboundService(request) {
  outbound.push(`${request.method} ${request.url}`);
  return new Response("no outbound request expected", { status: 599 });
}

let w;
/** The calls the rows aim at, set up in `before`. */
const fx = {};

before(async () => {
  w = await startWorker({ outboundService, bindings: { CALLER_ID: "+15555551212" } });
  // A live bank call waiting at the main menu.
  const live = new Call(w);
  const welcome = await live.incoming();
  const menu = await live.completed(welcome.action);
  assert.equal(menu.status, 200);
  assert.ok(menu.action.params.collect_digits, "the live call waits at the main menu");
  fx.live = live.reference;
  fx.liveIncoming = eventBody("incoming_call", live.reference, { from: live.from, to: live.to });
  fx.liveLast = eventBody("speak_completed", live.reference, {
    from: live.from,
    to: live.to,
    status: "speak_successful",
    collected_digits: "",
  });
  fx.liveMenu = menu.text;
  // An ended call, whose record exists and whose session is gone.
  const ended = new Call(w);
  await ended.incoming();
  assert.equal((await ended.hangup()).status, 204);
  fx.ended = ended.reference;
  fx.endedIncoming = eventBody("incoming_call", ended.reference, { from: ended.from, to: ended.to });
  fx.endedCompleted = eventBody("call_completed", ended.reference, {
    from: ended.from,
    to: ended.to,
    direction: "inbound",
    status: "hangup",
    duration: 59,
  });
  fx.unknown = referenceId();
  // Only for the row whose call_completed leaves a record (fx.unknown must stay unknown).
  fx.orphan = referenceId();
});
after(() => w?.dispose());

// --- request builders ---------------------------------------------------------------------

/** A signed POST /webhook, as Telesign sends it; `headers` are added or replace. */
const webhook = (body, headers = {}) => ({
  method: "POST",
  path: "/webhook",
  headers: { ...signedHeaders(body), ...headers },
  body,
});
/** POST /webhook with exactly these headers. */
const rawWebhook = (body, headers) => ({ method: "POST", path: "/webhook", headers, body });
/** An event body for the live call (or `reference`). */
const event = (name, data = {}, reference = fx.live) => eventBody(name, reference, data);
/** A JSON text with `depth` nested arrays, well within 64 KiB. */
const nested = (depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
/**
 * The call API with the right token unless `token` says otherwise (null: no header).
 *
 * @param {string} method
 * @param {string} path
 * @param {{ token?: string | null, body?: string, headers?: Record<string, string> }} [options]
 */
const api = (method, path, { token = `Bearer ${TOKEN}`, body, headers = {} } = {}) => ({
  method,
  path,
  headers: { ...(token == null ? {} : { authorization: token }), ...(body == null ? {} : { "content-type": "application/json" }), ...headers },
  body,
});
const placeCall = (fields) => api("POST", "/calls", { body: typeof fields === "string" ? fields : JSON.stringify(fields) });
const REMINDER = { flow: "reminder", to: "+15558675309", vars: { name: "Alex", when: "Monday at 9" } };

// --- the table ----------------------------------------------------------------------------
// status; code: the error code, or null for a success answer; writes: the keys the row may
// change (none unless given); headers: response headers that must be there.

const rows = [
  // Not JSON at all.
  { name: "webhook: a body that is not JSON", req: () => webhook("hello, worker"), status: 400, code: "invalid_json" },
  { name: "webhook: an empty body", req: () => webhook(""), status: 400, code: "invalid_json" },
  {
    name: "webhook: JSON with a trailing comma",
    req: () => webhook(`{"event":"incoming_call","reference_id":"${fx.unknown}",}`),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "webhook: a byte order mark before the JSON",
    req: () => webhook(`\uFEFF${event("incoming_call", {}, fx.unknown)}`),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "webhook: invalid UTF-8 inside a string",
    req: () => webhook(Buffer.concat([Buffer.from(`{"event":"incoming_call","reference_id":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(`","data":{}}`)])),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "webhook: a lone UTF-16 surrogate escape",
    req: () => webhook(`{"event":"incoming_call","reference_id":"\\ud800","data":{}}`),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "webhook: 20,000 nested arrays in data",
    req: () => webhook(`{"event":"incoming_call","reference_id":"${fx.unknown}","data":${nested(20000)}}`),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "webhook: 5,000 nested objects in data",
    req: () => webhook(`{"event":"x","reference_id":"${fx.unknown}","data":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`),
    status: 400,
    code: "invalid_json",
  },
  // JSON, but not an event.
  { name: "webhook: a JSON array", req: () => webhook(`[${event("incoming_call", {}, fx.unknown)}]`), status: 400, code: "invalid_event" },
  { name: "webhook: a JSON number", req: () => webhook("42"), status: 400, code: "invalid_event" },
  { name: "webhook: no event", req: () => webhook(JSON.stringify({ reference_id: fx.live, data: {} })), status: 400, code: "missing_field" },
  { name: "webhook: no reference_id", req: () => webhook(JSON.stringify({ event: "speak_completed", data: {} })), status: 400, code: "missing_field" },
  {
    name: "webhook: reference_id null",
    req: () => webhook(JSON.stringify({ event: "incoming_call", reference_id: null })),
    status: 400,
    code: "missing_field",
  },
  { name: "webhook: an empty event name", req: () => webhook(JSON.stringify({ event: "", reference_id: fx.live })), status: 400, code: "missing_field" },
  // Wrong types.
  { name: "webhook: event is a number", req: () => webhook(JSON.stringify({ event: 7, reference_id: fx.live })), status: 400, code: "invalid_field" },
  {
    name: "webhook: reference_id is an object",
    req: () => webhook(JSON.stringify({ event: "incoming_call", reference_id: { $ne: null } })),
    status: 400,
    code: "invalid_field",
  },
  { name: "webhook: reference_id over 128 bytes", req: () => webhook(event("incoming_call", {}, "A".repeat(129))), status: 400, code: "invalid_field" },
  {
    name: "webhook: data is a string",
    req: () => webhook(JSON.stringify({ event: "speak_completed", reference_id: fx.live, data: "1" })),
    status: 400,
    code: "invalid_field",
  },
  {
    name: "webhook: collected_digits is a number",
    req: () => webhook(event("speak_completed", { status: "speak_successful", collected_digits: 1 })),
    status: 400,
    code: "invalid_field",
  },
  {
    name: "webhook: external_id is a list",
    req: () => webhook(JSON.stringify({ event: "speak_completed", reference_id: fx.live, external_id: ["x"], data: {} })),
    status: 400,
    code: "invalid_field",
  },
  {
    name: "webhook: a negative call duration",
    req: () => webhook(event("call_completed", { status: "hangup", duration: -1 })),
    status: 400,
    code: "invalid_field",
  },
  // Too big.
  {
    name: "webhook: 70 KB body with its Content-Length",
    req: () => webhook(event("incoming_call", { pad: "x".repeat(70_000) }, fx.unknown)),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "webhook: 70 KB streamed body without a Content-Length",
    req: () => ({
      method: "POST",
      path: "/webhook",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 70; i++) c.enqueue(new TextEncoder().encode(" ".repeat(1000)));
          c.close();
        },
      }),
      duplex: "half",
    }),
    status: 413,
    code: "payload_too_large",
  },
  // Signatures.
  {
    name: "webhook: no signature at all",
    req: () => rawWebhook(event("incoming_call", {}, fx.unknown), { "content-type": "application/json" }),
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: a signature for another body",
    req: () =>
      webhook(
        event("speak_completed", { status: "speak_successful", collected_digits: "1" }),
        signedHeaders(event("speak_completed", { status: "speak_successful", collected_digits: "2" })),
      ),
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: the same JSON re-spaced under the original signature",
    req: () => {
      const body = event("speak_completed", { status: "speak_successful", collected_digits: "1" });
      return webhook(JSON.stringify(JSON.parse(body), null, 1), signedHeaders(body));
    },
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: signed with another API key",
    req: () => {
      const body = event("speak_completed", { status: "speak_successful", collected_digits: "1" });
      return webhook(body, signedHeaders(body, { apiKey: OTHER_KEY }));
    },
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: the right signature for another customer id",
    req: () => {
      const body = event("speak_completed", { status: "speak_successful", collected_digits: "1" });
      return webhook(body, { authorization: `TSA 11111111-0000-4000-8000-000000000000:${sign(body)}` });
    },
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: Bearer instead of TSA",
    req: () => {
      const body = event("speak_completed", { status: "speak_successful", collected_digits: "1" });
      return rawWebhook(body, { "content-type": "application/json", authorization: `Bearer ${TOKEN}` });
    },
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: a signature that is not base64",
    req: () => {
      const body = event("speak_completed", { status: "speak_successful", collected_digits: "1" });
      return rawWebhook(body, { "content-type": "application/json", authorization: `TSA ${CUSTOMER}:%%%not-base64%%%` });
    },
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: a right X-TS-Authorization does not rescue a wrong Authorization",
    req: () => {
      const body = event("speak_completed", { status: "speak_successful", collected_digits: "1" });
      return rawWebhook(body, {
        "content-type": "application/json",
        authorization: `TSA ${CUSTOMER}:${sign(body, OTHER_KEY)}`,
        "x-ts-authorization": sign(body),
      });
    },
    status: 401,
    code: "bad_signature",
  },
  {
    name: "webhook: an unsigned call_completed for the live call",
    req: () => rawWebhook(event("call_completed", { status: "hangup" }), { "content-type": "application/json" }),
    status: 401,
    code: "bad_signature",
  },
  // Content types: only the signed bytes count.
  {
    name: "webhook: a signed event sent as text/plain is read all the same",
    req: () => webhook(event("mystery_event", {}), { "content-type": "text/plain" }),
    status: 204,
    code: null,
  },
  {
    name: "webhook: a form-encoded body, signed",
    req: () => webhook(`event=speak_completed&reference_id=${fx.live}&collected_digits=1`, { "content-type": "application/x-www-form-urlencoded" }),
    status: 400,
    code: "invalid_json",
  },
  // Events that do not fit: unknown, stale, replayed, for unknown calls.
  { name: "webhook: an unknown event type for the live call", req: () => webhook(event("call_exploded", { boom: true })), status: 204, code: null },
  // Events the live call does not wait for while the caller hears its menu: the prompt the call
  // waits on, again (exactly the last action), and nothing changes (docs/call-behaviour.md).
  {
    name: "webhook: play_completed while a speak is awaited",
    req: () => webhook(event("play_completed", { status: "playback_successful", collected_digits: "1" })),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.text, fx.liveMenu),
  },
  {
    name: "webhook: call_leg_completed while no number rings",
    req: () => webhook(event("call_leg_completed", { to: "15555550101", hangup_cause: "call_not_answered" })),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.text, fx.liveMenu),
  },
  {
    name: "webhook: incoming_call replayed after the call moved on",
    req: () => webhook(fx.liveIncoming),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.text, fx.liveMenu),
  },
  {
    name: "webhook: the last event replayed gets the same answer",
    req: () => webhook(fx.liveLast),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.text, fx.liveMenu),
  },
  {
    name: "webhook: incoming_call replayed after the call ended",
    req: () => webhook(fx.endedIncoming),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.json.method, "hangup"),
  },
  { name: "webhook: call_completed replayed keeps the first record", req: () => webhook(fx.endedCompleted), status: 204, code: null },
  {
    name: "webhook: speak_completed for an unknown reference_id is hung up",
    req: () => webhook(event("speak_completed", { status: "speak_successful", collected_digits: "1" }, fx.unknown)),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.json.method, "hangup"),
  },
  {
    name: "webhook: dial_completed for an unknown call and external_id",
    req: () => webhook(JSON.stringify({ event: "dial_completed", reference_id: fx.unknown, external_id: "nobody-placed-this", data: { status: "answered" } })),
    status: 200,
    code: null,
    check: (res) => assert.equal(res.json.method, "hangup"),
  },
  {
    name: "webhook: call_completed for an unknown reference_id leaves an unknown_call record",
    req: () => webhook(event("call_completed", { status: "hangup", direction: "inbound" }, fx.orphan)),
    status: 204,
    code: null,
    check: async () => {
      const record = await w.record(fx.orphan);
      assert.equal(record.outcome, "unknown_call");
    },
  },
  // Wrong methods and paths.
  { name: "GET /webhook", req: () => ({ method: "GET", path: "/webhook" }), status: 405, code: "method_not_allowed", headers: { allow: "POST" } },
  {
    name: "PUT /webhook with a signed event",
    req: () => ({ ...webhook(event("speak_completed", { status: "speak_successful", collected_digits: "1" })), method: "PUT" }),
    status: 405,
    code: "method_not_allowed",
    headers: { allow: "POST" },
  },
  { name: "OPTIONS /webhook", req: () => ({ method: "OPTIONS", path: "/webhook" }), status: 405, code: "method_not_allowed", headers: { allow: "POST" } },
  {
    name: "POST /webhook/ (trailing slash)",
    req: () => ({ ...webhook(event("incoming_call", {}, fx.unknown)), path: "/webhook/" }),
    status: 404,
    code: "not_found",
  },
  { name: "PUT /calls", req: () => api("PUT", "/calls"), status: 405, code: "method_not_allowed", headers: { allow: "GET, POST, DELETE" } },
  {
    name: "PATCH /calls/<live call>",
    req: () => api("PATCH", `/calls/${fx.live}`),
    status: 405,
    code: "method_not_allowed",
    headers: { allow: "GET, DELETE" },
  },
  { name: "DELETE /calls without a number", req: () => api("DELETE", "/calls"), status: 400, code: "invalid_query" },
  { name: "DELETE /calls?number=<not a number>", req: () => api("DELETE", "/calls?number=%27%3B%20DROP%20TABLE%20calls"), status: 400, code: "invalid_query" },
  { name: "DELETE /calls/<id with %00 and ..>", req: () => api("DELETE", "/calls/..%2f%00session"), status: 404, code: "call_not_found" },
  {
    name: "PATCH /healthz",
    req: () => ({ method: "PATCH", path: "/healthz", body: "{}" }),
    status: 405,
    code: "method_not_allowed",
    headers: { allow: "GET, HEAD" },
  },
  { name: "GET /admin", req: () => api("GET", "/admin"), status: 404, code: "not_found" },
  { name: "GET /calls/<id>/extra", req: () => api("GET", `/calls/${fx.ended}/extra`), status: 404, code: "not_found" },
  { name: "GET /calls/<unknown reference_id>", req: () => api("GET", `/calls/${fx.unknown}`), status: 404, code: "call_not_found" },
  { name: "GET /calls/<id with %00 and ..>", req: () => api("GET", "/calls/..%2f%00session"), status: 404, code: "call_not_found" },
  { name: "GET /campaigns/<unknown id>", req: () => api("GET", "/campaigns/0123456789abcdef0123456789abcdef"), status: 404, code: "campaign_not_found" },
  // Bearer tokens.
  {
    name: "GET /calls without a token",
    req: () => api("GET", "/calls", { token: null }),
    status: 401,
    code: "unauthorized",
    headers: { "www-authenticate": 'Bearer realm="telesign-ivr"' },
  },
  {
    name: "GET /calls/<ended> with a wrong token",
    req: () => api("GET", `/calls/${fx.ended}`, { token: `Bearer ${TOKEN}x` }),
    status: 401,
    code: "unauthorized",
    headers: { "www-authenticate": 'Bearer realm="telesign-ivr"' },
  },
  {
    name: "GET /calls/<live> with the token upper-cased",
    req: () => api("GET", `/calls/${fx.live}`, { token: `Bearer ${TOKEN.toUpperCase()}` }),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "POST /calls with the token as Basic credentials",
    req: () => ({
      ...placeCall(REMINDER),
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`, "content-type": "application/json" },
    }),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "POST /calls with an empty Bearer",
    req: () => ({ ...placeCall(REMINDER), headers: { authorization: "Bearer ", "content-type": "application/json" } }),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "POST /calls with a Telesign signature instead of the token",
    req: () => {
      const body = JSON.stringify(REMINDER);
      return { method: "POST", path: "/calls", headers: signedHeaders(body), body };
    },
    status: 401,
    code: "unauthorized",
  },
  {
    name: "POST /campaigns without a token",
    req: () => api("POST", "/campaigns", { token: null, body: JSON.stringify({ flow: "reminder", numbers: ["+15555550001"] }) }),
    status: 401,
    code: "unauthorized",
  },
  // Call API bodies: refused before anything is stored or dialled.
  { name: "POST /calls: not JSON", req: () => placeCall("to=+15558675309&flow=reminder"), status: 400, code: "invalid_json" },
  { name: "POST /calls: a JSON list", req: () => placeCall([REMINDER]), status: 400, code: "invalid_body" },
  { name: "POST /calls: an unknown field", req: () => placeCall({ ...REMINDER, record: true }), status: 400, code: "unknown_field" },
  { name: "POST /calls: no `to`", req: () => placeCall({ flow: "reminder" }), status: 400, code: "missing_field" },
  { name: "POST /calls: `to` is a number", req: () => placeCall({ ...REMINDER, to: 15558675309 }), status: 400, code: "invalid_field" },
  {
    name: "POST /calls: vars nested 5,000 deep",
    req: () => placeCall(`{"flow":"reminder","to":"+15558675309","vars":${'{"a":'.repeat(5000)}"x"${"}".repeat(5000)}}`),
    status: 400,
    code: "invalid_json",
  },
  { name: "POST /calls: 70 KB of vars", req: () => placeCall({ ...REMINDER, vars: { name: "x".repeat(70_000) } }), status: 413, code: "payload_too_large" },
  { name: "POST /calls: `to` is not a number", req: () => placeCall({ ...REMINDER, to: "+1 (555) CALL-NOW" }), status: 422, code: "invalid_number" },
  { name: "POST /calls: an inbound flow", req: () => placeCall({ ...REMINDER, flow: "bank" }), status: 422, code: "unknown_flow" },
  {
    name: "POST /calls: a var that is not a string",
    req: () => placeCall({ ...REMINDER, vars: { name: { first: "Alex" } } }),
    status: 422,
    code: "invalid_vars",
  },
  {
    name: "POST /calls: an external_id in the campaigns' form",
    req: () => placeCall({ ...REMINDER, external_id: "cmp_forged_1" }),
    status: 422,
    code: "invalid_external_id",
  },
  { name: "GET /calls?limit=1000", req: () => api("GET", "/calls?limit=1000"), status: 400, code: "invalid_query" },
  { name: "GET /calls?flow=a&flow=b", req: () => api("GET", "/calls?flow=a&flow=b"), status: 400, code: "invalid_query" },
  {
    name: "POST /campaigns: a repeated number",
    req: () => api("POST", "/campaigns", { body: JSON.stringify({ flow: "reminder", numbers: ["+15555550001", "+15555550001"] }) }),
    status: 422,
    code: "duplicate_number",
  },
  {
    name: "POST /campaigns: no numbers",
    req: () => api("POST", "/campaigns", { body: JSON.stringify({ flow: "reminder", numbers: [] }) }),
    status: 422,
    code: "invalid_numbers",
  },
];

// --- running the table ---------------------------------------------------------------------

/**
 * Every key of the namespace with its value and metadata. A session's count of how often its last
 * body came again, and when it was written, are left out: a redelivery writes those and nothing
 * else.
 */
async function snapshot() {
  const kv = await w.kv();
  const entries = {};
  let cursor;
  do {
    const page = await kv.list({ cursor });
    for (const key of page.keys) {
      let value = await kv.get(key.name);
      if (key.name.startsWith("session:")) {
        const session = JSON.parse(value);
        if (session.last) delete session.last.repeats;
        delete session.saved_ms;
        value = JSON.stringify(session);
      }
      entries[key.name] = { value, metadata: key.metadata ?? null };
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return entries;
}

/** The keys whose entry differs between two snapshots (added, removed or changed). */
function changedKeys(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

/** @param {{ method: string, path: string, headers?: Record<string, string>, body?: any, duplex?: string }} req */
async function send({ method, path, headers, body, duplex }) {
  const res = await w.fetch(path, { method, headers, body, ...(duplex ? { duplex } : {}) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

describe("hostile requests, one table", () => {
  test("the table has at least 30 rows, each named once", () => {
    assert.ok(rows.length >= 30, `${rows.length} rows`);
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length);
  });

  for (const row of rows) {
    test(row.name, async () => {
      const beforeKv = await snapshot();
      const res = await send(row.req());
      const afterKv = await snapshot();
      const what = `${row.name}: ${res.status} ${res.text.slice(0, 300)}`;

      assert.equal(res.status, row.status, what);
      if (row.code) {
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/, what);
        assert.deepEqual(Object.keys(res.json ?? {}), ["error"], what);
        assert.deepEqual(Object.keys(res.json.error).sort(), ["code", "message"], what);
        assert.equal(res.json.error.code, row.code, what);
        assert.equal(typeof res.json.error.message, "string", what);
      } else if (res.status === 204) {
        assert.equal(res.text, "", what);
      } else {
        assert.equal(res.json?.jsonrpc, "2.0", what);
      }
      for (const [name, value] of Object.entries(row.headers ?? {})) {
        assert.equal(res.headers.get(name), value, `${what}\nheader ${name}`);
      }
      assert.deepEqual(changedKeys(beforeKv, afterKv), row.writes ? row.writes().sort() : [], `${what}\nKV keys changed`);
      await row.check?.(res);
    });
  }

  test("the live call still waits at its menu and takes a key", async () => {
    const session = await w.session(fx.live);
    assert.equal(session.step, "main_menu");
    assert.deepEqual(session.answers, []);
    const reply = await postBody(w, event("speak_completed", { from: "15558675309", to: "15555551212", status: "speak_successful", collected_digits: "2" }));
    assert.equal(reply.status, 200);
    assert.match(reply.action.params.tts.message, /lost or stolen card/);
  });

  test("every key stored is under a known prefix, and no row made an outbound request", async () => {
    const keys = Object.keys(await snapshot());
    assert.deepEqual(
      keys.filter((k) => !PREFIXES.some((p) => k.startsWith(p))),
      [],
    );
    assert.deepEqual(outbound, []);
  });
});
