// POST /webhook end to end: the release build in workerd (Miniflare) with a real local KV, signed
// events as Telesign posts them, whole calls through the sample flows to their call records.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, SESSION_BACKEND, startWorker } from "../../scripts/harness/worker.mjs";
import { Call, eventBody, postBody, postEvent, referenceId, signedHeaders } from "../../scripts/harness/events.mjs";

/** The bank's balance API of the bank sample, played by the test. */
const balanceRequests = [];
async function outboundService(request) {
  const url = new URL(request.url);
  if (url.hostname === "bank.example.com") {
    balanceRequests.push(url.pathname);
    const account = url.pathname.split("/")[3];
    if (account === "00000000") return new Response("down", { status: 503 });
    return Response.json({ balance: "1234.56" });
  }
  return new Response("unexpected outbound request", { status: 599 });
}

let w;
before(async () => {
  w = await startWorker({ outboundService });
});
after(() => w.dispose());

function session(reference) {
  return w.session(reference);
}
const record = (reference) => w.record(reference);

/** Waits (bounded) until at least `count` log lines match `predicate`; returns them. */
async function waitForLogs(worker, predicate, count = 1) {
  for (let i = 0; i < 100; i++) {
    const found = worker.logs.filter(predicate);
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return worker.logs.filter(predicate);
}

/** Asserts a speak action whose text contains `fragment`; returns the action. */
function assertSpeak(reply, fragment) {
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.action.jsonrpc, "2.0");
  assert.equal(reply.action.method, "speak", JSON.stringify(reply.action));
  assert.match(reply.action.params.tts.message, new RegExp(fragment), reply.action.params.tts.message);
  return reply.action;
}

describe("bank, the default inbound flow", () => {
  test("balance path: account entry, Luhn check, HTTP lookup, back to the menu, goodbye, record", async () => {
    const call = new Call(w);
    let a = assertSpeak(await call.incoming(), "Thank you for calling Example Bank");
    assert.equal(a.params.collect_digits, undefined);
    assert.equal(a.params.tts.language, "en-US");

    a = assertSpeak(await call.completed(a), "For your account balance, press 1");
    assert.deepEqual(a.params.collect_digits, { max: 1, timeout: 5000, inter_digit_timeout: 3000 });

    a = assertSpeak(await call.completed(a, "1"), "eight digit account number");
    assert.equal(a.params.collect_digits.max, 8);
    assert.equal(a.params.collect_digits.terminators, "#");

    // 12345678 fails the Luhn check: asked again, with the invalid notice.
    a = assertSpeak(await call.completed(a, "12345678#"), "^Sorry, that account number is not valid");
    a = assertSpeak(await call.completed(a, "12345674#"), "ending in 5674 is 1234.56 dollars");
    assert.deepEqual(balanceRequests.slice(-1), ["/v1/accounts/12345674/balance"]);

    a = assertSpeak(await call.completed(a), "For your account balance");
    a = assertSpeak(await call.completed(a, "7"), "^Sorry, that is not one of the options");
    a = assertSpeak(await call.completed(a), "^Sorry, I didn't hear a choice");
    a = assertSpeak(await call.completed(a), "Thank you for banking with Example Bank");
    const hangup = await call.completed(a);
    assert.deepEqual(hangup.action, { jsonrpc: "2.0", method: "hangup", params: {} });

    const live = await session(call.reference);
    assert.equal(live.flow, "bank");
    assert.equal(live.wait, "hangup");

    const done = await call.hangup();
    assert.equal(done.status, 204);
    assert.equal(await session(call.reference), null, "the session is deleted");
    const rec = await record(call.reference);
    assert.equal(rec.flow, "bank");
    assert.equal(rec.direction, "inbound");
    assert.equal(rec.from, "+15558675309");
    assert.equal(rec.outcome, "completed");
    // A sensitive entry (tests/flows/bank.rs): used for the lookup, then gone; its answer is masked.
    assert.equal(rec.vars.account, undefined);
    assert.equal(rec.vars.balance, "1234.56");
    assert.equal(rec.duration, 59);
    assert.deepEqual(
      rec.answers.map((x) => [x.step, x.digits, x.result]),
      [
        ["main_menu", "1", "accepted"],
        ["account_number", "****5678", "refused"],
        ["account_number", "****5674", "accepted"],
        ["main_menu", "7", "invalid"],
        ["main_menu", "", "no_input"],
        ["main_menu", "", "no_input"],
      ],
    );
    assert.deepEqual(rec.visited.slice(0, 4), ["welcome", "main_menu", "account_number", "balance_lookup"]);
  });

  test("cards submenu: activation digits are read back; the caller hangs up mid-flow", async () => {
    const call = new Call(w);
    let a = assertSpeak(await call.incoming(), "Example Bank");
    a = assertSpeak(await call.completed(a), "press 1");
    a = assertSpeak(await call.completed(a, "2"), "lost or stolen card");
    a = assertSpeak(await call.completed(a, "2"), "last four digits");
    a = assertSpeak(await call.completed(a, "4321"), "ending in 4 3 2 1 is now active");
    assertSpeak(await call.completed(a), "For your account balance");
    assert.equal((await call.hangup()).status, 204);
    const rec = await record(call.reference);
    assert.equal(rec.outcome, "caller_hung_up");
    assert.equal(rec.vars.card_last4, "4321");
  });

  test("a failing balance lookup is told to the caller, not a dropped call", async () => {
    const call = new Call(w);
    let a = assertSpeak(await call.incoming(), "Example Bank");
    a = assertSpeak(await call.completed(a), "press 1");
    a = assertSpeak(await call.completed(a, "1"), "account number");
    assertSpeak(await call.completed(a, "00000000#"), "cannot look up your balance");
  });
});

describe("forwarding, routed from +15555550200", () => {
  test("rings each agent in turn, then apologises", async () => {
    const call = new Call(w, { to: "+15555550200" });
    let r = await call.incoming();
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.action, {
      jsonrpc: "2.0",
      method: "dial",
      params: { to: "15555550101", caller_id_number: "15555550200" },
    });
    r = await call.post("call_leg_completed", { hangup_cause: "call_not_answered" });
    assert.equal(r.action.params.to, "15555550102");
    r = await call.post("call_leg_completed", { hangup_cause: "line_busy" });
    assert.equal(r.action.params.to, "15555550103");
    r = await call.post("call_leg_completed", { hangup_cause: "call_not_answered" });
    assertSpeak(r, "all of our agents are busy");
    await call.hangup();
    assert.equal((await record(call.reference)).outcome, "no_answer");
  });

  test("an answered agent leg is recorded as bridged", async () => {
    const call = new Call(w, { to: "15555550200" });
    assert.equal((await call.incoming()).action.method, "dial");
    const answered = await call.post("dial_completed", { status: "answered" });
    assert.equal(answered.status, 204);
    const leg = await call.post("call_leg_completed", { hangup_cause: "call_answered" });
    assert.equal(leg.action.method, "hangup");
    await call.hangup();
    assert.equal((await record(call.reference)).outcome, "bridged");
  });

  test("outside opening hours (New York time) the caller hears them instead of the agents", async () => {
    // Saturday 2026-12-05 14:00 and Christmas Day 12:00 in New York; Friday 19:59 is still open.
    for (const now of [Date.UTC(2026, 11, 5, 19), Date.UTC(2026, 11, 25, 17)]) {
      const call = new Call(w, { to: "+15555550200", now });
      const r = await call.incoming();
      assertSpeak(r, "Our agents are available Monday to Friday from 8 AM to 8 PM, and Saturday from 9 AM to 1 PM, New York time.");
      assert.equal((await call.completed(r.action)).action.method, "hangup");
      await call.hangup();
      const rec = await record(call.reference);
      assert.deepEqual(rec.visited, ["office_hours", "closed"]);
    }
    const late = new Call(w, { to: "+15555550200", now: Date.UTC(2026, 11, 5, 0, 59) });
    assert.equal((await late.incoming()).action.method, "dial");
  });
});

describe("redeliveries and events out of order", () => {
  test("the same event twice gets the same answer and advances once", async () => {
    const call = new Call(w);
    const first = await call.incoming();
    const menu = await call.completed(first.action);
    const again = await call.completed(first.action);
    assert.equal(again.status, 200);
    assert.equal(again.text, menu.text);
    const s = await session(call.reference);
    assert.equal(s.step, "main_menu");
    assert.equal(s.events, 2);
  });

  test("a redelivered incoming_call answers as the first one did", async () => {
    const call = new Call(w);
    const first = await call.incoming();
    const again = await call.incoming();
    assert.equal(again.text, first.text);
    assert.equal((await session(call.reference)).events, 1);
  });

  test("an older event after newer ones gets the prompt the call waits on again; nothing changes", async () => {
    const call = new Call(w);
    const welcome = await call.incoming();
    const menu = await call.completed(welcome.action);
    const cards = await call.completed(menu.action, "2");
    const before = await session(call.reference);
    const stale = await call.incoming(); // incoming_call again, two events later
    // docs/call-behaviour.md: the caller hears our prompts, so the prompt the call waits on, again.
    assert.equal(stale.status, 200);
    assert.equal(stale.text, cards.text);
    assert.deepEqual(await session(call.reference), before);
  });

  test("the same key pressed at two menus in a row is two presses, not a redelivery", async () => {
    const call = new Call(w);
    const welcome = await call.incoming();
    const menu = await call.completed(welcome.action);
    const cards = await call.completed(menu.action, "2");
    assertSpeak(cards, "lost or stolen card");
    assertSpeak(await call.completed(cards.action, "2"), "last four digits");
  });

  test("play_completed while a speak is awaited gets the speak again and changes nothing", async () => {
    const call = new Call(w);
    const welcome = await call.incoming();
    const before = await session(call.reference);
    const r = await call.post("play_completed", { status: "playback_successful", collected_digits: "1" });
    assert.equal(r.status, 200);
    assert.equal(r.text, welcome.text);
    assert.deepEqual(await session(call.reference), before);
  });

  test("call_completed twice keeps the first record", async () => {
    const call = new Call(w);
    await call.incoming();
    await call.hangup();
    const rec = await record(call.reference);
    assert.equal((await call.hangup({ duration: 99 })).status, 204);
    assert.deepEqual(await record(call.reference), rec);
  });
});

describe("calls we know nothing about", () => {
  test("a mid-call event without a session is answered with hangup", async () => {
    const r = await postEvent(w, "speak_completed", referenceId(), { status: "speak_successful" });
    assert.equal(r.status, 200);
    assert.equal(r.action.method, "hangup");
  });

  test("call_completed without a session still leaves a record", async () => {
    const ref = referenceId();
    const r = await postEvent(w, "call_completed", ref, { from: "15551230000", to: "15555551212", status: "hangup" });
    assert.equal(r.status, 204);
    const rec = await record(ref);
    assert.equal(rec.outcome, "unknown_call");
    assert.equal(rec.from, "+15551230000");
  });

  test("unknown event types are acknowledged with 204 and change nothing", async () => {
    const ref = referenceId();
    const r = await postEvent(w, "recording_ready", ref, { url: "x" });
    assert.equal(r.status, 204);
    assert.equal(await session(ref), null);
  });
});

describe("refused requests", () => {
  const body = eventBody("incoming_call", "R1", { from: "15558675309", to: "15555551212" });

  test("a wrong signature is 401 bad_signature and stores nothing", async () => {
    const headers = signedHeaders(body, { apiKey: Buffer.from("another key of 32 bytes........").toString("base64") });
    const r = await postBody(w, body, headers);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "bad_signature");
    assert.equal(await session("R1"), null);
  });

  test("a missing signature is 401 bad_signature", async () => {
    const r = await postBody(w, body, { "content-type": "application/json" });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "bad_signature");
  });

  test("a signature for another body is 401", async () => {
    const r = await postBody(w, body.replace("15558675309", "15550000000"), signedHeaders(body));
    assert.equal(r.status, 401);
  });

  test("a body that is not JSON is 400 invalid_json", async () => {
    const r = await postBody(w, "{not json");
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, "invalid_json");
  });

  test("a missing reference_id is 400 missing_field", async () => {
    const r = await postBody(w, JSON.stringify({ event: "incoming_call", data: {} }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, "missing_field");
  });

  test("a body over 64 KiB is 413 payload_too_large", async () => {
    const big = JSON.stringify({ event: "incoming_call", reference_id: "R2", data: { pad: "x".repeat(70_000) } });
    const r = await postBody(w, big);
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, "payload_too_large");
  });

  test("GET /webhook is 405", async () => {
    const res = await w.fetch("/webhook");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
  });
});

describe("configuration", () => {
  test("WEBHOOK_AUTH=off accepts unsigned events and warns on every request", async () => {
    const open = await startWorker({ bindings: { WEBHOOK_AUTH: "off" } });
    try {
      for (let i = 0; i < 2; i++) {
        const body = eventBody("incoming_call", referenceId(), { from: "15558675309", to: "15555551212" });
        const r = await postBody(open, body, { "content-type": "application/json" });
        assert.equal(r.status, 200);
        assert.equal(r.action.method, "speak");
      }
      const warnings = await waitForLogs(open, (l) => l.includes("WEBHOOK_AUTH is off"), 2);
      assert.equal(warnings.length, 2);
      assert.equal(JSON.parse(warnings[0]).level, "warn");
    } finally {
      await open.dispose();
    }
  });

  test("missing Telesign secrets are 500 not_configured, never a silent accept", async () => {
    const bare = await startWorker({ bindings: { TELESIGN_API_KEY: "" } });
    try {
      const body = eventBody("incoming_call", referenceId(), {});
      const r = await postBody(bare, body);
      assert.equal(r.status, 500);
      assert.equal(r.body.error.code, "not_configured");
    } finally {
      await bare.dispose();
    }
  });
});

describe("logs", () => {
  test("one JSON line per request; numbers masked; no secret ever", async () => {
    const call = new Call(w, { from: "+15551239876" });
    await call.incoming();
    const lines = await waitForLogs(w, (l) => l.includes(call.reference));
    assert.equal(lines.length, 1, lines.join("\n"));
    const line = JSON.parse(lines[0]);
    assert.equal(line.event, "incoming_call");
    assert.equal(line.action, "speak");
    assert.equal(line.step, "welcome");
    assert.equal(line.from, "+*******9876");
    const all = w.logs.join("\n");
    assert.ok(!all.includes("15551239876"), "a full caller number was logged");
    for (const secret of ["TELESIGN_API_KEY", "API_TOKEN"]) {
      assert.ok(!all.includes(SECRETS[secret]), `${secret} was logged`);
    }
  });

  test("a request's line says the D1 rows it read and wrote, as D1 counts them", async () => {
    const call = new Call(w);
    await call.incoming();
    await call.hangup();
    const lines = await waitForLogs(w, (l) => l.includes(call.reference) && l.includes("call_completed"));
    const { d1 } = JSON.parse(lines[0]);
    // The record's row and its index entries: D1 counts each row it wrote.
    assert.ok(d1.rows_written >= 2, JSON.stringify(d1));
    assert.equal(typeof d1.rows_read, "number");
  });
});

// KV takes one write a second per key (Cloudflare's KV limits). Two events of a call can come
// closer than that (a key pressed as a prompt starts, a dialled number failing at once): the
// second event's session write, and with it its answer, waits until KV_WRITE_SPACING_MS has
// passed since the first write. This worker keeps the default spacing; the others here turn it
// off to post events back to back.
describe("a call's events less than a second apart, with the default KV_WRITE_SPACING_MS", () => {
  let spaced;
  before(async () => {
    spaced = await startWorker({ outboundService, kvSpacing: true });
  });
  after(() => spaced.dispose());

  test("the second write waits for the spacing in KV, and neither answer is lost", async () => {
    const call = new Call(spaced);
    // The session as stored, with when it was written (the call API's view leaves that out).
    const stored = async () => JSON.parse((await (await spaced.kv()).get(`session:${call.reference}`)) ?? "null");
    const welcome = assertSpeak(await call.incoming(), "Thank you for calling Example Bank");
    const first = await stored();
    const started = Date.now();
    assertSpeak(await call.completed(welcome), "For your account balance, press 1");
    const took = Date.now() - started;
    const lines = await waitForLogs(spaced, (l) => l.includes(call.reference) && l.includes("speak_completed"));
    const { write_wait_ms: waited } = JSON.parse(lines[0]);
    if (SESSION_BACKEND === "durable_object") {
      // A call's object takes its writes without such a limit: nothing waits.
      assert.equal(waited, undefined, lines[0]);
      return;
    }
    const second = await stored();
    assert.equal(second.step, "main_menu");
    assert.ok(second.saved_ms - first.saved_ms >= 1100, `${first.saved_ms} then ${second.saved_ms}`);
    assert.ok(waited > 0 && waited <= 1100, lines[0]);
    assert.ok(took >= waited, `answered after ${took} ms, having waited ${waited} ms`);
  });
});
