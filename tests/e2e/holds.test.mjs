// A lookup the caller waits for on hold, end to end in workerd (the `held` test flow of
// tests/flows/held.rs, routed from +15555550300), with sessions in KV or in Durable Objects: the
// hold answers at once while the orders API takes 3 s, the request runs after the answer, and the
// caller hears the outcome after the hold; a request that never answers ends in the error way
// after the hold's most plays; a caller who hangs up during the hold still gets the outcome in the
// call record.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../../scripts/harness/worker.mjs";
import { Call } from "../../scripts/harness/events.mjs";

const ORDERS = "+15555550300";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long the orders API takes, per order number; the requests it got. */
const delays = { 1234: 3000, 5678: 60_000, 4321: 1500 };
const requests = [];

let w;
before(async () => {
  w = await startWorker({
    outboundService: async (request) => {
      const url = new URL(request.url);
      if (url.hostname !== "orders.example.com") return new Response("unexpected", { status: 599 });
      const order = url.pathname.split("/").pop();
      requests.push(order);
      await sleep(delays[order] ?? 0);
      return Response.json({ status: "shipped" });
    },
  });
});
after(() => w?.dispose());

/** A call of the `held` flow, at its order number prompt. */
async function atOrderPrompt() {
  const call = new Call(w, { to: ORDERS });
  const prompt = await call.incoming();
  assert.match(prompt.action.params.tts.message, /order number/);
  return { call, prompt };
}

test("a 3 s lookup: the hold answers within half a second, and the caller hears the outcome after it", { timeout: 20_000 }, async () => {
  const { call, prompt } = await atOrderPrompt();
  const started = Date.now();
  const hold = await call.completed(prompt.action, "1234#");
  const took = Date.now() - started;
  assert.ok(took < 500, `the hold came after ${took} ms`);
  assert.match(hold.action.params.tts.message, /One moment while I find your order/);
  assert.equal(hold.action.params.collect_digits, undefined, "a hold collects nothing");
  // The hold ended before the answer came: the next hold prompt, the hold music.
  const music = await call.completed(hold.action);
  assert.equal(music.action.method, "play");
  await sleep(3300);
  const status = await call.completed(music.action);
  assert.match(status.action.params.tts.message, /Your order is shipped/);
  assert.equal(requests.filter((o) => o === "1234").length, 1, "the request ran once");
  const session = await w.session(call.reference);
  assert.equal(session.held, undefined);
  assert.deepEqual(
    session.fetches.map((f) => [f.step, f.status, f.ok]),
    [["lookup", 200, true]],
  );
  await call.hangup();
  const record = await w.record(call.reference);
  assert.equal(record.vars.status, "shipped");
  assert.equal(await w.session(call.reference), null);
});

test("a request that never answers: the error way after the hold's most plays", { timeout: 20_000 }, async () => {
  const { call, prompt } = await atOrderPrompt();
  let reply = await call.completed(prompt.action, "5678#");
  const heard = [];
  for (let i = 0; i < 4; i++) {
    heard.push(reply.action.method === "play" ? "music" : reply.action.params.tts.message);
    reply = await call.completed(reply.action);
  }
  assert.deepEqual(heard, ["One moment while I find your order.", "music", "One moment while I find your order.", "music"]);
  assert.match(reply.action.params.tts.message, /Sorry, we cannot find your order right now/);
  const session = await w.session(call.reference);
  assert.deepEqual(
    session.fetches.map((f) => [f.status, f.ok]),
    [[null, false]],
  );
  await call.hangup();
  // The request times out after FETCH_TIMEOUT_MS: its outcome is not counted a second time.
  await sleep(3500);
  const record = await w.record(call.reference);
  assert.equal(record.fetches.length, 1);
});

test("a caller who hangs up during the hold: the outcome that comes after still reaches the record, and no session is left", { timeout: 20_000 }, async () => {
  const { call, prompt } = await atOrderPrompt();
  const hold = await call.completed(prompt.action, "4321#");
  assert.match(hold.action.params.tts.message, /One moment/);
  await call.hangup();
  const ended = await w.record(call.reference);
  assert.equal(ended.outcome, "caller_hung_up");
  assert.deepEqual(
    ended.answers.map((a) => a.digits),
    ["4321"],
  );
  await sleep(2500);
  const record = await w.record(call.reference);
  assert.deepEqual(
    record.fetches.map((f) => [f.step, f.status, f.ok]),
    [["lookup", 200, true]],
  );
  assert.equal(await w.session(call.reference), null);
});
