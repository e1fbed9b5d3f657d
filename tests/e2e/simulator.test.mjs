// The call simulator (scripts/call.mjs) end to end: scripted runs of every sample flow against the
// release build in workerd (Miniflare), its rule checks against workers that misbehave on purpose,
// and the CLI itself, typed keys included, through a local HTTP server in front of the worker.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { ScriptedCaller, parseKeyScript, parseLegAnswers } from "../../scripts/simulator/keys.mjs";
import { collectDigits, simulateCall } from "../../scripts/simulator/simulator.mjs";
import { RULES, allowedMethods, checkParams, checkReply, completionOf, couldBeNext, isAnswered } from "../../scripts/simulator/rules.mjs";
import { FakeTelesignApi } from "../../scripts/simulator/telesign_api.mjs";

/** @typedef {import("../../scripts/simulator/simulator.mjs").SimulationOptions} SimulationOptions */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const secrets = {
  customerId: SECRETS.TELESIGN_CUSTOMER_ID,
  apiKey: SECRETS.TELESIGN_API_KEY,
  apiToken: SECRETS.API_TOKEN,
};
const TELESIGN_API_URL = "https://telesign.test/v2/voice";
const api = new FakeTelesignApi(secrets);

/** The worker's outbound requests: the bank's balance API and Telesign's, both played here. */
async function outboundService(request) {
  const url = new URL(request.url);
  if (url.hostname === "bank.example.com") return Response.json({ balance: "1234.56" });
  if (url.hostname === "orders.example.com") return Response.json({ status: "shipped" });
  if (url.hostname === "telesign.test") return api.fetch(request);
  return new Response("unexpected outbound request", { status: 599 });
}

let w;
before(async () => {
  w = await startWorker({ outboundService, bindings: { TELESIGN_API_URL, CALLER_ID: "+15555551212" } });
});
after(() => w?.dispose());

/**
 * Runs a scripted call; returns the result with its transcript.
 *
 * @param {{ keys?: string, legs?: string } & Partial<SimulationOptions>} [options]
 */
async function call({ keys = "", legs = "", ...options } = {}) {
  const lines = [];
  const caller = new ScriptedCaller(parseKeyScript(keys), parseLegAnswers(legs));
  const result = await simulateCall({ worker: w, secrets, caller, testClock: true, say: (l) => lines.push(l), ...options });
  result.transcript = lines.join("\n");
  return result;
}

function assertOk(result) {
  assert.ok(result.ok, `${result.failures.join("; ")}\n${result.transcript}`);
}

describe("what the transcript shows", () => {
  test("a hold while a lookup runs, and when its answer came; each prompt's language", async () => {
    const r = await call({ to: "+15555550300", keys: "1234#,hangup" });
    assertOk(r);
    assert.match(r.transcript, /caller hears: "One moment while I find your order\." \[en-US\]/);
    assert.match(r.transcript, /on hold: the request of `lookup` runs after the answer/);
    assert.match(r.transcript, /the request answered HTTP 200 after \d+ ms, during hold \d: its way on/);
    assert.match(r.transcript, /caller hears: "Your order is shipped\." \[en-US\]/);
    const spanish = await call({ to: "+15555550400", keys: "8,hangup" });
    assertOk(spanish);
    assert.match(spanish.transcript, /caller hears: "Para citas, oprima 1\. Para nuestro horario, oprima 2\." \[es-US\]/);
  });
});

describe("bank, walked by scripted keys", () => {
  test("balance: account number, lookup, back to the menu, caller hangs up", async () => {
    const r = await call({ keys: "1,12345674#,hangup" });
    assertOk(r);
    assert.match(r.transcript, /caller hears: "Thank you for calling Example Bank\."/);
    // max 8 digits: Telesign stops collecting at the eighth, before the #.
    assert.match(r.transcript, /caller presses: \*{8} {2}\(# ignored: collection had ended\)/);
    assert.match(r.transcript, /The balance of the account ending in 5674 is 1234\.56 dollars/);
    assert.equal(r.record.outcome, "caller_hung_up");
    assert.deepEqual(r.record.visited, ["welcome", "main_menu", "account_number", "balance_lookup", "balance", "main_menu"]);
    assert.equal(r.record.vars.account, undefined, "a sensitive entry is in no var of the record");
  });

  test("cards submenu: activate a card, back, report a lost card, the flow says goodbye", async () => {
    const r = await call({ keys: "2,2,4321,2,1" });
    assertOk(r);
    assert.match(r.transcript, /Your card ending in 4 3 2 1 is now active/);
    assert.match(r.transcript, /Your cards are now blocked/);
    assert.match(r.transcript, /the worker hangs up/);
    assert.equal(r.record.outcome, "completed");
    assert.equal(r.record.visited.at(-1), "goodbye");
  });

  test("reprompts: silence, a wrong key, silence again, then goodbye", async () => {
    const r = await call({ keys: "-,7,-" });
    assertOk(r);
    assert.match(r.transcript, /Sorry, I didn't hear a choice\. For your account balance/);
    assert.match(r.transcript, /Sorry, that is not one of the options\./);
    assert.deepEqual(
      r.record.answers.map((a) => a.result),
      ["no_input", "invalid", "no_input"],
    );
    assert.equal(r.record.visited.at(-1), "goodbye");
  });

  test("a key script that runs out hangs up the caller", async () => {
    const r = await call({ keys: "2" });
    assertOk(r);
    assert.match(r.transcript, /caller hangs up \(the key script ran out\)/);
    assert.equal(r.record.outcome, "caller_hung_up");
  });

  test("--duplicate: incoming_call delivered twice gets the same answer", async () => {
    const r = await call({ keys: "hangup", duplicate: 1 });
    assertOk(r);
    assert.match(r.transcript, /same event again \(duplicate\)\s+-> speak/);
  });

  test("--reorder: a late incoming_call after the menu started gets the menu again", async () => {
    const r = await call({ keys: "hangup", reorder: 2 });
    assertOk(r);
    assert.match(r.transcript, /event 1 again, late \(incoming_call\)\s+-> speak, collect up to 1 digit/);
    const late = r.exchange.find((e) => e.stale_of === 1);
    const menu = r.exchange.find((e) => e.n === 2 && e.event);
    assert.deepEqual(late.reply, menu.reply);
    assert.deepEqual(r.record.answers, []);
  });
});

describe("forwarding, the hunt list", () => {
  const to = "+15555550200";

  test("nobody answers: three dials in turn, then the apology", async () => {
    const r = await call({ to, legs: "no,busy,no" });
    assertOk(r);
    for (const agent of ["15555550101", "15555550102", "15555550103"]) {
      assert.match(r.transcript, new RegExp(`-> dial ${agent}`));
    }
    assert.match(r.transcript, /Sorry, all of our agents are busy right now/);
    assert.equal(r.record.flow, "forwarding");
    assert.equal(r.record.outcome, "no_answer");
  });

  test("the second agent answers and later hangs up", async () => {
    const r = await call({ to, legs: "no,yes" });
    assertOk(r);
    assert.match(r.transcript, /dial_completed \(answered\)\s+-> 204 no action/);
    assert.match(r.transcript, /the agent hangs up/);
    assert.equal(r.record.outcome, "bridged");
  });
});

describe("reminder, outbound through POST /calls", () => {
  const outbound = (extra = {}) => ({
    flow: "reminder",
    to: "+15558675309",
    vars: { name: "Alex", when: "Tuesday at 2 PM" },
    api,
    ...extra,
  });

  test("hear it again, then confirm", async () => {
    const r = await call({ keys: "9,1", outbound: outbound() });
    assertOk(r);
    assert.match(r.transcript, /Hello Alex\. This is Example Clinic reminding you of your appointment on Tuesday at 2 PM/);
    assert.match(r.transcript, /Your appointment is confirmed/);
    assert.equal(r.record.vars.choice, "confirmed");
    assert.equal(r.record.outcome, "completed");
  });

  test("nobody picks up: the call never connects", async () => {
    const r = await call({ outbound: outbound({ answer: false }) });
    assertOk(r);
    assert.match(r.transcript, /dial_completed \(failed\)\s+-> 204 no action/);
    assert.equal(r.record.outcome, "dial_failed");
  });
});

describe("the simulator's own checks", () => {
  /** A worker that answers every event with `reply(event)`: [status, body] (after `delayMs`). */
  function fakeWorker(reply, delayMs = 0) {
    return {
      async fetch(p, init) {
        await new Promise((r) => setTimeout(r, delayMs));
        if (p.startsWith("/calls/")) return Response.json({ outcome: "completed" });
        const [status, body] = reply(JSON.parse(init.body).event);
        return new Response(body == null ? null : JSON.stringify(body), { status });
      },
    };
  }
  const speak = { jsonrpc: "2.0", method: "speak", params: { tts: { message: "Hi", language: "en-US" } } };
  const dial = { jsonrpc: "2.0", method: "dial", params: { to: "15555550101", caller_id_number: "15555551212" } };
  const run = (worker, options = {}) => simulateCall({ worker, secrets, caller: new ScriptedCaller([]), ...options });

  test("an action outside the limits the worker's own checks keep (generated from the Rust) is refused", () => {
    const limits = RULES.params;
    const speakWith = (tts, collect) => ({ method: "speak", params: { tts, ...(collect ? { collect_digits: collect } : {}) } });
    /** @type {Array<[object, RegExp | null]>} */
    const cases = [
      [speakWith({ message: "x".repeat(limits.speak.max_message_chars), language: "en-US" }), null],
      [speakWith({ message: "x".repeat(limits.speak.max_message_chars + 1), language: "en-US" }), /longer than/],
      [speakWith({ message: "Hi", language: "EN-gb" }), null],
      [speakWith({ message: "Hi", language: "xx-XX" }), /not one of Telesign's/],
      [speakWith({ message: "Hi", language: "en-US" }, { max: limits.collect_digits.max[1] }), null],
      [speakWith({ message: "Hi", language: "en-US" }, { max: limits.collect_digits.max[1] + 1 }), /collect_digits.max/],
      [speakWith({ message: "Hi", language: "en-US" }, { max: 4, timeout: limits.collect_digits.timeout[0] - 1 }), /timeout/],
      [speakWith({ message: "Hi", language: "en-US" }, { max: 4, terminators: "#x" }), /terminators/],
      [{ method: "send_dtmf", params: { digits: "12w#" } }, null],
      [{ method: "send_dtmf", params: { digits: "12E" } }, /DTMF/],
      [{ method: "dial", params: { to: "15555550101", max_call_duration: limits.dial.max_call_duration[1] + 1 } }, /max_call_duration/],
    ];
    for (const [action, expected] of cases) {
      const problem = checkParams(action);
      if (expected === null) assert.equal(problem, null, JSON.stringify(action));
      else assert.match(problem ?? "", expected, JSON.stringify(action));
    }
  });

  test("a dial in reply to speak_completed is unsupported_call_state", async () => {
    const r = await run(fakeWorker((e) => (e === "incoming_call" ? [200, speak] : e === "call_completed" ? [204] : [200, dial])));
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /event 2: unsupported_call_state: `dial` may not answer speak_completed/);
  });

  test("no action where one is due leaves the caller in silence", async () => {
    const r = await run(fakeWorker(() => [204]));
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /no action in reply to incoming_call: the caller is left in silence/);
  });

  test("a call that repeats itself is stopped, and the failure says why", async () => {
    // Every end of the prompt is answered with the same prompt: the bug of a worker that takes
    // each identical speak_completed for a redelivery of the one before.
    const r = await run(fakeWorker((e) => (e === "call_completed" ? [204] : [200, speak])));
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /the call repeats itself: event \d+ is the 12th identical speak_completed in a row, each answered with the same speak/);
    assert.ok(r.exchange.length < 30, `stopped after ${r.exchange.length} events`);
  });

  test("an error answer fails the call", async () => {
    const r = await run(fakeWorker(() => [500, { error: { code: "internal_error", message: "boom" } }]));
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /HTTP 500 \(internal_error: boom\)/);
  });

  test("an answer later than --patience fails the call", async () => {
    const r = await run(
      fakeWorker(() => [200, speak], 300),
      { patienceMs: 100 },
    );
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /no answer to the event within 100 ms/);
  });

  test("a duplicate that gets another answer fails the call", async () => {
    let n = 0;
    const r = await run(
      fakeWorker((e) => (e === "call_completed" ? [204] : [200, n++ === 0 ? speak : { ...speak, params: { tts: { message: "Other" } } }])),
      { duplicate: 1 },
    );
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /event 1 delivered twice got two different answers/);
  });

  test("a late event answered with no action while the caller hears a prompt is silence", async () => {
    const menu = { jsonrpc: "2.0", method: "speak", params: { tts: { message: "Press 1", language: "en-US" }, collect_digits: { max: 1, timeout: 5000 } } };
    let incoming = 0;
    const worker = fakeWorker((e) => {
      if (e === "incoming_call") return incoming++ === 0 ? [200, speak] : [204];
      return e === "call_completed" ? [204] : [200, menu];
    });
    const r = await run(worker, { caller: new ScriptedCaller(["hangup"]), reorder: 2, testClock: true });
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /a late incoming_call \(event 1\) was answered 204 with no action: the caller hearing our prompts is left in silence/);
  });

  test("a late event answered with another prompt than the one the call waits on fails the call", async () => {
    const menu = { jsonrpc: "2.0", method: "speak", params: { tts: { message: "Press 1", language: "en-US" }, collect_digits: { max: 1, timeout: 5000 } } };
    const worker = fakeWorker((e) => (e === "incoming_call" ? [200, speak] : e === "call_completed" ? [204] : [200, menu]));
    const r = await run(worker, { caller: new ScriptedCaller(["hangup"]), reorder: 2, testClock: true });
    assert.equal(r.ok, false);
    assert.match(r.failures[0], /a late incoming_call \(event 1\) was answered with speak, not exactly the prompt the call waits on/);
  });

  test("without the test clock a timeout is sent no sooner than the prompt's timeout after the prompt", async () => {
    // The shortest timeout the worker sends.
    const shortest = RULES.params.collect_digits.timeout[0];
    const quick = {
      jsonrpc: "2.0",
      method: "speak",
      params: { tts: { message: "Press 1", language: "en-US" }, collect_digits: { max: 1, timeout: shortest } },
    };
    const hangup = { jsonrpc: "2.0", method: "hangup", params: {} };
    const sent = [];
    const worker = {
      async fetch(p, init) {
        if (p.startsWith("/calls/")) return Response.json({ state: "ended", call: { outcome: "completed" } });
        const { event, data } = JSON.parse(init.body);
        sent.push({ event, status: data.status, at: Date.now(), clock: init.headers["x-test-clock-ms"] });
        const body = event === "incoming_call" ? quick : event === "call_completed" ? null : hangup;
        return new Response(body && JSON.stringify(body), { status: body ? 200 : 204 });
      },
    };
    const lines = [];
    const r = await run(worker, { caller: new ScriptedCaller(["-"]), say: (l) => lines.push(l) });
    assert.ok(r.ok, r.failures.join("; "));
    assert.match(lines.join("\n"), /\(waiting \d+\.\d s: Telesign reports a timeout after the prompt's timeout\)/);
    const timeout = sent.find((e) => e.status === "digit_collection_timeout");
    assert.ok(timeout.at - sent[0].at >= shortest, `the timeout came ${timeout.at - sent[0].at} ms after the prompt`);
    assert.ok(
      sent.every((e) => e.clock === undefined),
      "x-test-clock-ms sent without the test clock",
    );
  });

  test("with the test clock every event carries its simulated time, a timeout the prompt's timeout later", async () => {
    const r = await call({ keys: "-,hangup" });
    assertOk(r);
    const events = r.exchange.filter((e) => e.n != null && e.event);
    const times = events.map((e) => e.at);
    assert.ok(
      times.every((t, i) => Number.isInteger(t) && (i === 0 || t >= times[i - 1])),
      JSON.stringify(times),
    );
    const i = events.findIndex((e) => e.event.data.status === "digit_collection_timeout");
    // main_menu: collect_digits.timeout 5000 (the action says so), after the prompt has played.
    assert.equal(events[i - 1].reply.params.collect_digits.timeout, 5000);
    assert.ok(times[i] - times[i - 1] >= 5000, `${times[i] - times[i - 1]} ms`);
  });

  test("the rules come from telesign-rules.json", () => {
    for (const [event, entry] of Object.entries(RULES.events)) {
      if (entry.any) assert.deepEqual(allowedMethods(event, {}), entry.any, event);
      for (const [value, methods] of Object.entries(entry.by_value ?? {})) {
        assert.deepEqual(allowedMethods(event, { [entry.field]: value }), methods, `${event} ${value}`);
      }
      if (entry.otherwise) assert.deepEqual(allowedMethods(event, { [entry.field]: "not_documented" }), entry.otherwise, event);
    }
    assert.deepEqual(allowedMethods("recording_ready", {}), []);
    // No action is fine after a hangup we sent, and for a dial_completed while the dial rings.
    assert.equal(checkReply("dial_completed", { status: "answered" }, null, { after: { method: "dial" } }), null);
    assert.equal(checkReply("speak_completed", { status: "speak_successful" }, null, { after: { method: "hangup" } }), null);
    assert.match(checkReply("speak_completed", { status: "speak_successful" }, null, { after: { method: "speak" } }), /silence/);
    assert.equal(isAnswered("answered"), true);
    assert.equal(isAnswered("failed"), false);
    assert.equal(completionOf("speak"), "speak_completed");
    assert.equal(completionOf("send_dtmf"), null);
    assert.equal(checkReply("call_completed", {}, speak), "`speak` in reply to call_completed, which takes no action (Telesign ignores it)");
    assert.equal(checkReply("dial_completed", { status: "answered" }, null, { after: dial }), null, "a bridged leg: 204");
    assert.match(checkReply("speak_completed", { status: "speak_successful" }, null, { after: speak }), /left in silence/);
  });

  test("couldBeNext is the engine's oracle (tests/flows/tests/engine/caller.rs could_follow)", () => {
    const collect = (extra = {}) => ({ ...speak, params: { ...speak.params, collect_digits: { max: 1, timeout: 5000, ...extra } } });
    const media = (status, collected_digits = "") => ({ status, collected_digits });
    // A timeout: only from a collecting prompt, and no sooner than its timeout after it.
    assert.equal(couldBeNext(collect(), "speak_completed", media("digit_collection_timeout"), 4999), false);
    assert.equal(couldBeNext(collect(), "speak_completed", media("digit_collection_timeout"), 5000), true);
    assert.equal(couldBeNext(speak, "speak_completed", media("digit_collection_timeout"), 60_000), false);
    // Nothing entered ends a collecting prompt `successful` only with a terminator.
    assert.equal(couldBeNext(collect(), "speak_completed", media("speak_successful"), 0), false);
    assert.equal(couldBeNext(collect({ terminators: "#" }), "speak_completed", media("speak_successful"), 0), true);
    assert.equal(couldBeNext(collect(), "speak_completed", media("speak_successful", "1"), 0), true);
    // A plain prompt stops at its first key.
    assert.equal(couldBeNext(speak, "speak_completed", media("speak_successful", "1"), 0), true);
    assert.equal(couldBeNext(speak, "speak_completed", media("speak_successful", "12"), 0), false);
    assert.equal(couldBeNext(speak, "speak_completed", media("speak_failed"), 0), true);
    // Only the action's own completions; an undocumented value could be new.
    assert.equal(couldBeNext(speak, "play_completed", media("playback_successful"), 0), false);
    assert.equal(couldBeNext(speak, "incoming_call", {}, 0), false);
    assert.equal(couldBeNext(speak, "speak_completed", media("speak_something_new"), 0), true);
    // After a dial its completions; after no action (a bridged leg) the same; after send_dtmf anything but incoming_call.
    assert.equal(couldBeNext(dial, "call_leg_completed", { hangup_cause: "line_busy" }, 0), true);
    assert.equal(couldBeNext(dial, "speak_completed", media("speak_successful"), 0), false);
    assert.equal(couldBeNext(null, "dial_completed", { status: "answered" }, 0), true);
    assert.equal(couldBeNext(null, "speak_completed", media("speak_successful"), 0), false);
    const dtmf = { jsonrpc: "2.0", method: "send_dtmf", params: { digits: "1" } };
    assert.equal(couldBeNext(dtmf, "recording_ready", {}, 0), true);
    assert.equal(couldBeNext(dtmf, "incoming_call", {}, 0), false);
    const hangup = { jsonrpc: "2.0", method: "hangup", params: {} };
    assert.equal(couldBeNext(hangup, "hangup", { status: "hangup" }, 0), true);
    assert.equal(couldBeNext(hangup, "speak_completed", media("speak_successful"), 0), false);
  });

  test("Telesign collects up to a terminator or max digits", () => {
    assert.equal(collectDigits("4321#99", { max: 10, terminators: "#" }), "4321#");
    assert.equal(collectDigits("123456", { max: 4 }), "1234");
    assert.throws(() => parseKeyScript("1,x"), /unknown key token `x`/);
    assert.deepEqual(parseKeyScript("1, 4321# - timeout,HANGUP"), ["1", "4321#", "-", "timeout", "hangup"]);
    assert.deepEqual(parseKeyScript("!1,#,FAIL,12345674#+hangup"), ["!1", "#", "fail", "12345674#+hangup"]);
    assert.throws(() => parseKeyScript("!12"), /`!` takes one key/);
    assert.throws(() => parseKeyScript("+hangup"), /unknown key token/);
  });
});

/** Serves `worker` on a free local port, as `npm run dev` serves it; resolves to the server. */
async function serve(worker) {
  /** @type {import("node:http").Server & { url?: string }} */
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const response = await worker.fetch(req.url, { method: req.method, headers: req.headers, body });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, "127.0.0.1", r)));
  server.url = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`;
  return server;
}

/** A port free right now. */
async function freePort() {
  const probe = createServer();
  await /** @type {Promise<void>} */ (new Promise((r) => probe.listen(0, "127.0.0.1", r)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
  await new Promise((r) => probe.close(r));
  return port;
}

describe("npm run call (the CLI)", () => {
  let server;
  let devVars;
  before(async () => {
    server = await serve(w);
    const dir = mkdtempSync(path.join(tmpdir(), "call-sim-"));
    devVars = path.join(dir, ".dev.vars");
    writeFileSync(
      devVars,
      Object.entries(SECRETS)
        .map(([k, v]) => `${k}="${v}"`)
        .join("\n"),
    );
  });
  after(() => server?.close());

  /**
   * @param {string[]} args
   * @param {{ input?: string, url?: string }} [options]
   */
  function cli(args, { input, url = server.url } = {}) {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ["scripts/call.mjs", "--url", url, "--dev-vars", devVars, ...args], { cwd: root });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input ?? "");
    });
  }

  test("keys typed one prompt at a time walk the bank menu to its goodbye", async () => {
    const { code, stdout, stderr } = await cli([], { input: "2\n1\n" });
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /keys \(digits \* #; Enter = no input; h = hang up\) >/);
    assert.match(stdout, /Your cards are now blocked/);
    assert.match(stdout, /call record:\n\s+flow\s+bank\n\s+outcome\s+completed/);
    assert.match(stdout, /ok: every answer followed Telesign's rules/);
  });

  test("--json prints the raw exchange", async () => {
    const { code, stdout, stderr } = await cli(["--keys", "hangup", "--json"]);
    assert.equal(code, 0, stdout + stderr);
    const out = JSON.parse(stdout);
    assert.equal(out.ok, true);
    assert.equal(out.exchange[0].event.event, "incoming_call");
    assert.equal(out.exchange[0].reply.method, "speak");
  });

  test("--outbound: the worker dials through the simulated Telesign API on --api-port", async () => {
    const port = await freePort();
    // No outboundService: workerd reaches the CLI's API server over the network, as wrangler dev does.
    const dialer = await startWorker({
      bindings: { TELESIGN_API_URL: `http://127.0.0.1:${port}/v2/voice`, CALLER_ID: "+15555551212" },
    });
    const front = await serve(dialer);
    try {
      const { code, stdout, stderr } = await cli(
        ["--outbound", "reminder", "--to", "+15558675309", "--var", "name=Sam", "--var", "when=Friday at 9", "--api-port", String(port), "--keys", "2"],
        { url: front.url },
      );
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, /Telesign dials 15558675309 from 15555551212/);
      assert.match(stdout, /Hello Sam\. .* on Friday at 9\./);
      assert.match(stdout, /Your appointment has been cancelled/);
      assert.match(stdout, /vars\s+choice=cancelled, name=Sam, when=Friday at 9/);
    } finally {
      front.close();
      await dialer.dispose();
    }
  });

  test("--test-clock, --hangup-event and the new key tokens: a key during the welcome, # alone, a timeout", async () => {
    const started = Date.now();
    const { code, stdout, stderr } = await cli(["--test-clock", "--hangup-event", "--keys", "!1,#,-,hangup"]);
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /caller presses 1 during the prompt: it stops/);
    assert.match(stdout, /speak_completed \(1\)\s+-> speak, collect up to 8 digits, ends with #/);
    assert.match(stdout, /speak_completed \(#\)\s+-> speak, collect up to 8 digits, ends with #/);
    assert.match(stdout, /\[\d+\] hangup\s+-> 204 no action/);
    assert.match(stdout, /answers\s+welcome: 1 interrupted; main_menu: 1 accepted; account_number: \(none\) no_input; account_number: \(none\) no_input/);
    assert.doesNotMatch(stdout, /waiting/);
    // The account number's 10 s timeout passed on the test clock, not for real.
    assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
  });

  test("--help names every key token and the new options", async () => {
    const { code, stdout } = await cli(["--help"]);
    assert.equal(code, 0);
    for (const pattern of [/!K/, /\bfail\b/, /KEYS\+hangup/, /--hangup-event/, /--early-answer/, /--test-clock/, /our\s+assumption of Telesign's patience/]) {
      assert.match(stdout, pattern);
    }
  });

  test("bad usage exits 2, an unreachable worker exits 1", async () => {
    assert.equal((await cli(["--keys", "1,x"])).code, 2);
    const down = await cli(["--keys", "1"], { url: "http://127.0.0.1:9" });
    assert.equal(down.code, 1, down.stdout);
    assert.match(down.stdout, /cannot reach the worker/);
  });
});
