// What the worker answers to events Telesign really sends, end to end (the release build in workerd,
// on the session backend E2E_SESSION_BACKEND names): keys pressed during a plain prompt, entries
// with nothing or only the terminator, prompts Telesign cannot play, the `hangup` event, events the
// call does not wait for, redeliveries told apart by time, a hang-up while a slow step runs, an
// outbound call answered before Telesign's 202 arrived, and Basic credentials on the event URL.
// Each expectation is docs/call-behaviour.md's (the table it has for every event in every state) or
// Telesign's pages (/work/shared/telesign-voice/), with the texts of tests/flows/bank.rs; the calls
// run on the harness's test clock (x-test-clock-ms), so a prompt's timeout passes without waiting.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, SESSION_BACKEND, startWorker } from "../../scripts/harness/worker.mjs";
import { Call, eventBody, postBody, sign, signedHeaders } from "../../scripts/harness/events.mjs";
import { ScriptedCaller, parseKeyScript, parseLegAnswers } from "../../scripts/simulator/keys.mjs";
import { simulateCall } from "../../scripts/simulator/simulator.mjs";
import { FakeTelesignApi } from "../../scripts/simulator/telesign_api.mjs";

/** @typedef {import("../../scripts/simulator/simulator.mjs").SimulationOptions} SimulationOptions */
/** @typedef {Awaited<ReturnType<Call["post"]>>} Reply */

const secrets = { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: SECRETS.TELESIGN_API_KEY, apiToken: SECRETS.API_TOKEN };
const AGENTS = "+15555550200";
const TELESIGN_API_URL = "https://telesign.test/v2/voice";
/** bank's texts (tests/flows/bank.rs). */
const TEXT = {
  welcome: "Thank you for calling Example Bank.",
  menu: "For your account balance, press 1",
  noChoice: "Sorry, I didn't hear a choice.",
  account: "Please enter your eight digit account number, followed by the pound key.",
  accountInvalid: "Sorry, that account number is not valid.",
  cards: "To report a lost or stolen card, press 1",
  goodbye: "Thank you for banking with Example Bank. Goodbye.",
};

let api;
/** The bank's balance API and Telesign's REST API, both played here. */
async function outboundService(request) {
  const url = new URL(request.url);
  if (url.hostname === "bank.example.com") return Response.json({ balance: "1234.56" });
  if (url.hostname === "telesign.test") return api.fetch(request);
  return new Response("unexpected outbound request", { status: 599 });
}

let w;
before(async () => {
  api = new FakeTelesignApi(secrets);
  w = await startWorker({ outboundService, bindings: { TELESIGN_API_URL, CALLER_ID: "+15555551212" } });
});
after(() => w?.dispose());

async function record(worker, reference) {
  const res = await worker.fetch(`/calls/${reference}`, { headers: { authorization: `Bearer ${SECRETS.API_TOKEN}` } });
  const body = await res.json();
  return body.state === "ended" ? body.call : null;
}
const entries = (rec) => rec.answers.map((a) => [a.step, a.digits, a.result]);

/**
 * Asserts a speak that says `text`, collecting digits or not as `collects` says.
 *
 * @param {Reply} reply
 * @param {string} text
 * @param {{ collects?: boolean }} [options]
 */
function assertSpeak(reply, text, { collects } = {}) {
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.action.method, "speak", reply.text);
  assert.ok(reply.action.params.tts.message.includes(text), `${reply.action.params.tts.message} does not say ${text}`);
  if (collects !== undefined) assert.equal(reply.action.params.collect_digits != null, collects, reply.text);
  return reply.action;
}

/**
 * A bank call up to its main menu: [call, welcome reply, menu reply].
 *
 * @param {ConstructorParameters<typeof Call>[1]} [options]
 * @returns {Promise<[Call, Reply, Reply]>}
 */
async function atMainMenu(options = {}) {
  const call = new Call(w, options);
  const welcome = await call.incoming();
  assertSpeak(welcome, TEXT.welcome, { collects: false });
  const menu = await call.completed(welcome.action);
  assertSpeak(menu, TEXT.menu, { collects: true });
  return [call, welcome, menu];
}

/**
 * Runs a scripted call through the simulator on the test clock.
 *
 * @param {{ keys?: string, legs?: string } & Partial<SimulationOptions>} [options]
 */
async function simulate({ keys = "", legs = "", worker = w, ...options } = {}) {
  const lines = [];
  const caller = new ScriptedCaller(parseKeyScript(keys), parseLegAnswers(legs));
  const result = await simulateCall({ worker, secrets, caller, testClock: true, say: (l) => lines.push(l), ...options });
  result.transcript = lines.join("\n");
  assert.ok(result.ok, `${result.failures.join("; ")}\n${result.transcript}`);
  return result;
}

describe("keys pressed during a plain prompt", () => {
  // The API reference: a key pressed during a message stops it and is reported in its completion.
  test("1 during the welcome stops it; the main menu takes the 1 at once: the account number prompt is next", async () => {
    const call = new Call(w);
    const welcome = await call.incoming();
    assertSpeak(welcome, TEXT.welcome, { collects: false });
    const next = await call.post("speak_completed", { status: "speak_successful", collected_digits: "1" });
    const gather = assertSpeak(next, TEXT.account, { collects: true });
    assert.equal(gather.params.collect_digits.max, 8);
    assert.equal(gather.params.collect_digits.terminators, "#");
    await call.hangup();
    const rec = await record(w, call.reference);
    assert.deepEqual(entries(rec), [
      ["welcome", "1", "interrupted"],
      ["main_menu", "1", "accepted"],
    ]);
    assert.deepEqual(rec.visited, ["welcome", "main_menu", "account_number"]);
  });

  test("the simulator's caller: `!1` during the welcome, then the account number", async () => {
    const r = await simulate({ keys: "!1,12345674#,hangup" });
    assert.match(r.transcript, /caller presses 1 during the prompt: it stops/);
    assert.deepEqual(entries(r.record), [
      ["welcome", "1", "interrupted"],
      ["main_menu", "1", "accepted"],
      // A sensitive entry (tests/flows/bank.rs): its mask, and no var.
      ["account_number", "****5674", "accepted"],
    ]);
    assert.equal(r.record.vars.account, undefined);
  });
});

describe("entries with nothing in them", () => {
  test("a menu answered `successful` with no keys after a keyed event gets the no-input notice", async () => {
    const [call, , menu] = await atMainMenu();
    const invalid = await call.completed(menu.action, "7");
    assertSpeak(invalid, "Sorry, that is not one of the options.", { collects: true });
    const empty = await call.post("speak_completed", { status: "speak_successful", collected_digits: "" });
    const notice = assertSpeak(empty, TEXT.noChoice, { collects: true });
    assert.ok(notice.params.tts.message.includes(TEXT.menu));
    // The very same body again, at a prompt without terminators: a redelivery, nothing changes.
    const before = await w.session(call.reference);
    const again = await call.post("speak_completed", { status: "speak_successful", collected_digits: "" });
    assert.equal(again.text, empty.text);
    assert.deepEqual(await w.session(call.reference), before);
    await call.hangup();
    assert.deepEqual(entries(await record(w, call.reference)), [
      ["main_menu", "7", "invalid"],
      ["main_menu", "", "no_input"],
    ]);
  });

  test("`#` alone at the account number gather is no input: the gather asks again", async () => {
    const [call, , menu] = await atMainMenu();
    const gather = assertSpeak(await call.completed(menu.action, "1"), TEXT.account, { collects: true });
    const again = await call.post("speak_completed", { status: "speak_successful", collected_digits: "#" });
    assertSpeak(again, TEXT.account, { collects: true });
    assert.deepEqual(again.action.params.collect_digits, gather.params.collect_digits);
    await call.hangup();
    assert.deepEqual(entries(await record(w, call.reference)), [
      ["main_menu", "1", "accepted"],
      ["account_number", "", "no_input"],
    ]);
  });

  test("a `*` inside a gathered value makes it invalid; the entry ends at the first terminator", async () => {
    const [call, , menu] = await atMainMenu();
    const gather = await call.completed(menu.action, "1");
    assertSpeak(await call.completed(gather.action, "1234*674#"), TEXT.accountInvalid, { collects: true });
    await call.hangup();
    assert.deepEqual(entries(await record(w, call.reference)), [
      ["main_menu", "1", "accepted"],
      // Masked as a sensitive entry: a `*` each, but the last four.
      ["account_number", "*****674", "invalid"],
    ]);
  });

  test("the simulator's caller: `#` alone, then silence, until the fallback", async () => {
    const r = await simulate({ keys: "1,#,-,-" });
    assert.match(r.transcript, /speak_completed \(#\)\s+-> speak, collect up to 8 digits, ends with #/);
    assert.deepEqual(entries(r.record), [
      ["main_menu", "1", "accepted"],
      ["account_number", "", "no_input"],
      ["account_number", "", "no_input"],
      ["account_number", "", "no_input"],
    ]);
    // retries(2), then the fallback: goodbye.
    assert.equal(r.record.visited.at(-1), "goodbye");
    assert.equal(r.record.outcome, "completed");
  });
});

describe("prompts Telesign cannot play", () => {
  test("a failed welcome is tried once more, then the call goes on to the menu; both failures are in the record", async () => {
    const call = new Call(w);
    const welcome = await call.incoming();
    const retry = await call.failed(welcome.action);
    assert.equal(retry.text, welcome.text, "the welcome is tried once more");
    const menu = await call.failed(retry.action);
    assertSpeak(menu, TEXT.menu, { collects: true });
    await call.hangup();
    const rec = await record(w, call.reference);
    assert.deepEqual(
      rec.failures.map((f) => [f.step, f.status]),
      [
        ["welcome", "speak_failed"],
        ["welcome", "speak_failed"],
      ],
    );
  });

  test("the simulator's caller: `fail` twice at the cards menu goes to its fallback", async () => {
    const r = await simulate({ keys: "2,fail,fail" });
    assert.match(r.transcript, /Telesign cannot play "To report a lost or stolen card/);
    assert.deepEqual(
      r.record.failures.map((f) => [f.step, f.status]),
      [
        ["cards_menu", "speak_failed"],
        ["cards_menu", "speak_failed"],
      ],
    );
    assert.deepEqual(r.record.visited, ["welcome", "main_menu", "cards_menu", "goodbye"]);
    assert.deepEqual(entries(r.record), [["main_menu", "2", "accepted"]]);
  });
});

describe("the hangup event", () => {
  // The API reference's Base Event table names `hangup` ("call ended") beside call_completed.
  test("`hangup` ends the call: 204, the record is written, the session removed", async () => {
    const [call, , menu] = await atMainMenu();
    await call.completed(menu.action, "2");
    assert.ok(await w.session(call.reference), "the call is live");
    const ended = await call.hangupEvent();
    assert.equal(ended.status, 204);
    assert.equal(await w.session(call.reference), null);
    const rec = await record(w, call.reference);
    assert.equal(rec.outcome, "caller_hung_up");
    assert.deepEqual(entries(rec), [["main_menu", "2", "accepted"]]);
  });

  test("the simulator's caller: --hangup-event", async () => {
    const r = await simulate({ keys: "2,hangup", hangupEvent: true });
    assert.match(r.transcript, /\[\d+\] hangup\s+-> 204 no action/);
    assert.equal(r.record.outcome, "caller_hung_up");
    assert.equal(await w.session(r.reference), null);
  });
});

describe("events the call does not wait for", () => {
  test("while the caller hears a prompt: the prompt the call waits on, again, and nothing changes", async () => {
    const [call, , menu] = await atMainMenu();
    const before = await w.session(call.reference);
    /** @type {Array<[string, object]>} */
    const late = [
      ["play_completed", { status: "playback_successful", collected_digits: "1" }],
      ["call_leg_completed", { hangup_cause: "call_not_answered", caller_id: "15555551212" }],
      ["dial_completed", { status: "answered" }],
      ["incoming_call", {}],
    ];
    for (const [event, data] of late) {
      const r = await call.post(event, data);
      assert.equal(r.status, 200, `${event}: ${r.status} ${r.text}`);
      assert.equal(r.text, menu.text, event);
    }
    // An event type we do not know: 204 (no action is allowed for an unknown call state).
    assert.equal((await call.post("recording_ready", { url: "x" })).status, 204);
    assert.deepEqual(await w.session(call.reference), before);
  });

  test("while a dial rings or is bridged: 204, and nothing changes", async () => {
    const call = new Call(w, { to: AGENTS });
    const first = await call.incoming();
    assert.equal(first.action.method, "dial");
    const agent1 = first.action.params.to;
    const second = await call.post("call_leg_completed", { to: agent1, caller_id: "15555550200", hangup_cause: "call_not_answered" });
    assert.equal(second.action.method, "dial");
    assert.notEqual(second.action.params.to, agent1);
    const stale = async (label) => {
      const before = await w.session(call.reference);
      for (const [event, data] of [
        ["speak_completed", { status: "speak_successful", collected_digits: "" }],
        ["incoming_call", {}],
        // A late event of the leg that rang before never rings another number.
        ["call_leg_completed", { to: agent1, caller_id: "15555550200", hangup_cause: "call_not_answered" }],
      ]) {
        const r = await call.post(event, data);
        assert.equal(r.status, 204, `${label}, ${event}: ${r.status} ${r.text}`);
      }
      assert.deepEqual(await w.session(call.reference), before, label);
    };
    await stale("the second agent rings");
    const bridged = await call.post("dial_completed", { to: second.action.params.to, status: "answered" });
    assert.equal(bridged.status, 204, "the caller talks to the agent");
    await stale("bridged");
    await call.hangup();
    assert.equal((await record(w, call.reference)).outcome, "bridged");
  });

  test("after the worker hung up: 204", async () => {
    // bank: cards (event 3), lost card (4), goodbye (5), hangup (6); then a late event 4.
    const r = await simulate({ keys: "2,1", reorder: 6 });
    const late = r.exchange.find((e) => e.stale_of != null);
    assert.ok(late, r.transcript);
    assert.equal(r.exchange.find((e) => e.n === 6 && e.event).reply.method, "hangup");
    assert.equal(late.stale_of, 4, r.transcript);
    assert.equal(late.status, 204, r.transcript);
    assert.equal(r.record.outcome, "completed");
  });

  test("the simulator's --reorder and --duplicate at every event of a call", async () => {
    for (let n = 1; n <= 6; n++) {
      const r = await simulate({ keys: "-,7,2,*,hangup", duplicate: n, reorder: n });
      assert.deepEqual(
        entries(r.record),
        [
          ["main_menu", "", "no_input"],
          ["main_menu", "7", "invalid"],
          ["main_menu", "2", "accepted"],
          ["cards_menu", "*", "accepted"],
        ],
        `--duplicate ${n} --reorder ${n}\n${r.transcript}`,
      );
    }
  });
});

describe("redeliveries told apart by time", () => {
  test("the same digit_collection_timeout sooner than the prompt's timeout is a redelivery; later it is a new timeout", async () => {
    const [call, , menu] = await atMainMenu();
    const first = await call.completed(menu.action);
    assertSpeak(first, TEXT.noChoice, { collects: true });
    const before = await w.session(call.reference);
    // 1 s after the notice was answered: collection waits 5000 ms for the first digit.
    const again = await call.post("speak_completed", { status: "digit_collection_timeout", collected_digits: "" });
    assert.equal(again.text, first.text);
    assert.deepEqual(await w.session(call.reference), before);
    // The timeout of the notice's prompt, after its 5000 ms: the second no input.
    call.wait(5000);
    const second = await call.post("speak_completed", { status: "digit_collection_timeout", collected_digits: "" });
    assertSpeak(second, TEXT.noChoice, { collects: true });
    assert.equal((await w.session(call.reference)).answers.length, 2);
  });
});

describe("a hang-up while a slow step runs", () => {
  // The balance lookup answers after a second; the caller hangs up 300 ms into it. Budget and
  // timeout are lowered so that the worst case (the call's end settled again EVENT_BUDGET_MS + 1 s
  // later) stays short; the lookup still ends within them.
  const EVENT_BUDGET_MS = 2000;
  test("the record has the account number typed, and no session is left", async () => {
    const slow = await startWorker({
      outboundService: async (request) => {
        if (new URL(request.url).hostname !== "bank.example.com") return new Response("unexpected", { status: 599 });
        await new Promise((r) => setTimeout(r, 1000));
        return Response.json({ balance: "1234.56" });
      },
      bindings: { EVENT_BUDGET_MS: String(EVENT_BUDGET_MS), FETCH_TIMEOUT_MS: "2000" },
    });
    try {
      const r = await simulate({ worker: slow, keys: "1,12345674#+hangup", settleMs: EVENT_BUDGET_MS + 2000 });
      assert.match(r.transcript, /the caller hangs up while the worker still answers event 4/);
      const entry = r.exchange.find((e) => e.n === 4);
      assert.equal(entry.status, 200, "the keys' event is answered all the same");
      // Folded (by the late turn, or when settled): no session, and the record keeps what the caller typed.
      const deadline = Date.now() + EVENT_BUDGET_MS + 2000;
      let rec;
      for (;;) {
        rec = await record(slow, r.reference);
        if ((rec && !(await slow.session(r.reference))) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(await slow.session(r.reference), null, "a session was left");
      assert.ok(rec, "no record");
      assert.deepEqual(entries(rec), [
        ["main_menu", "1", "accepted"],
        ["account_number", "****5674", "accepted"],
      ]);
      assert.equal(rec.vars.account, undefined, "a sensitive entry is in no var of the record");
      assert.equal(rec.outcome, "caller_hung_up");
      if (SESSION_BACKEND === "kv") {
        const { keys } = await (await slow.kv()).list({ prefix: "session:" });
        assert.deepEqual(keys, []);
      }
    } finally {
      await slow.dispose();
    }
  });
});

describe("an outbound call answered before Telesign's 202 reached the worker", () => {
  test("the fake Telesign API posts dial_completed before it answers the dial; the call runs normally", async () => {
    const before = api.dials().length;
    const r = await simulate({
      keys: "1",
      outbound: { flow: "reminder", to: "+15558675310", vars: { name: "Alex", when: "Tuesday at 2 PM" }, api, early: true },
    });
    assert.match(r.transcript, /picks up before Telesign's 202 reached the worker/);
    // The event went first: the first event of the exchange precedes Telesign's 202.
    const first = r.exchange.findIndex((e) => e.n === 1);
    const accepted = r.exchange.findIndex((e) => e.telesign_api);
    assert.ok(first >= 0 && first < accepted, JSON.stringify(r.exchange.slice(0, 3)));
    assert.equal(r.exchange[first].event.event, "dial_completed");
    assert.match(r.exchange[first].reply.params.tts.message, /Hello Alex\./);
    assert.equal(api.dials().length, before + 1);
    assert.equal(r.record.outcome, "completed");
    assert.deepEqual(entries(r.record), [["reminder", "1", "accepted"]]);
    assert.equal(r.record.vars.choice, "confirmed");
    const { keys } = await (await w.kv()).list({ prefix: "pending:" });
    assert.deepEqual(keys, []);
  });
});

describe("webhook authentication", () => {
  const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const incoming = () => eventBody("incoming_call", `R${Date.now()}${Math.random()}`.replace(".", ""), { from: "15558675309", to: "15555551212" });

  test("WEBHOOK_AUTH=basic: the right Basic credentials pass; wrong, missing or a signature alone are 401 bad_signature", async () => {
    const guarded = await startWorker({ bindings: { WEBHOOK_AUTH: "basic", WEBHOOK_USER: "telesign", WEBHOOK_PASSWORD: "s3cret-pass" } });
    try {
      const ok = await postBody(guarded, incoming(), { "content-type": "application/json", authorization: basic("telesign", "s3cret-pass") });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.action.method, "speak");
      for (const authorization of [basic("telesign", "wrong"), basic("someone", "s3cret-pass"), null]) {
        const body = incoming();
        const headers = { "content-type": "application/json", ...(authorization ? { authorization } : {}) };
        const r = await postBody(guarded, body, headers);
        assert.equal(r.status, 401, `${authorization}: ${r.text}`);
        assert.equal(r.body.error.code, "bad_signature");
      }
      const body = incoming();
      const signed = await postBody(guarded, body, signedHeaders(body));
      assert.equal(signed.status, 401);
      assert.equal(signed.body.error.code, "bad_signature");
    } finally {
      await guarded.dispose();
    }
  });

  test("signature mode: `Authorization: Basic ...` beside a valid X-TS-Authorization passes; beside a wrong one it is 401", async () => {
    const body = incoming();
    const ok = await postBody(w, body, { "content-type": "application/json", authorization: "Basic x", "x-ts-authorization": sign(body) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.action.method, "speak");
    const other = incoming();
    const bad = await postBody(w, other, { "content-type": "application/json", authorization: "Basic x", "x-ts-authorization": sign(body) });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, "bad_signature");
  });
});
