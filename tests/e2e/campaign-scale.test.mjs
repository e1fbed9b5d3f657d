// A campaign of 5,000 numbers, each with vars of its own, through Miniflare's queue, D1 and the
// fake Telesign API: each number is dialled exactly once, a callee hears their own name, and the
// per-number results (GET /campaigns/<id>/numbers, every page) add up to the campaign's counts.
// Campaigns do not depend on the session backend until a call is answered: run on one backend.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, SECRETS, SESSION_BACKEND } from "../../scripts/harness/worker.mjs";
import { postEvent } from "../../scripts/harness/events.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL } from "../../scripts/simulator/telesign_api.mjs";

const AUTH = { authorization: `Bearer ${SECRETS.API_TOKEN}` };
const N = 5_000;
const number = (i) => `1555${String(1_000_000 + i).padStart(7, "0")}`;

let w;
let telesign;
before(async () => {
  if (SESSION_BACKEND !== "kv") return;
  telesign = new FakeTelesignApi();
  w = await startWorker({
    outboundService: telesign.fetch,
    bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL, CALLER_ID: "+15554441313", CAMPAIGN_DIALS_PER_SECOND: "1000" },
  });
});
after(() => w?.dispose());

test("5,000 numbers with their own vars: each dialled once, its own name heard, results add up", {
  timeout: 300_000,
  skip: SESSION_BACKEND !== "kv" && "campaigns run the same on both backends",
}, async () => {
  const numbers = Array.from({ length: N }, (_, i) => ({ to: `+${number(i)}`, vars: { name: `Patient ${i}`, when: `slot ${i % 96}` } }));
  const res = await w.fetch("/campaigns", {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({ flow: "reminder", numbers }),
  });
  assert.equal(res.status, 202);
  const { campaign_id: id, total } = await res.json();
  assert.equal(total, N);

  const deadline = Date.now() + 240_000;
  let counts;
  while (Date.now() < deadline) {
    counts = (await (await w.fetch(`/campaigns/${id}`, { headers: AUTH })).json()).counts;
    if (counts.dialing === N) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.deepEqual(counts, { total: N, queued: 0, dialing: N, answered: 0, failed: 0, completed: 0 });
  const dialled = telesign.dials().map((d) => d.body.params.to);
  assert.equal(dialled.length, N, "one dial per number");
  assert.equal(new Set(dialled).size, N, "no number dialled twice");

  // Three callees pick up: each hears their own name and time.
  for (const i of [0, 2_718, N - 1]) {
    assert.equal(telesign.dials(number(i)).length, 1);
    const reference = await referenceOf(id, i);
    const answered = await postEvent(
      w,
      "dial_completed",
      reference,
      { from: "15554441313", to: number(i), status: "answered" },
      { external_id: `cmp_${id}_${i}` },
    );
    assert.match(answered.action.params.tts.message, new RegExp(`^Hello Patient ${i}\\. .* on slot ${i % 96}\\.`));
  }

  // Every page of the per-number results: every number once, in order, adding up to the counts.
  const seen = [];
  let cursor = "";
  do {
    const page = await (await w.fetch(`/campaigns/${id}/numbers?limit=1000${cursor ? `&cursor=${cursor}` : ""}`, { headers: AUTH })).json();
    seen.push(...page.numbers);
    cursor = page.cursor;
  } while (cursor);
  assert.deepEqual(
    seen.map((n) => n.index),
    Array.from({ length: N }, (_, i) => i),
  );
  const byState = {};
  for (const n of seen) byState[n.state] = (byState[n.state] ?? 0) + 1;
  const now = (await (await w.fetch(`/campaigns/${id}`, { headers: AUTH })).json()).counts;
  assert.deepEqual(byState, { dialing: now.dialing, answered: now.answered });
  assert.equal(now.answered, 3);
  assert.ok(seen.every((n) => n.attempts === 1 && n.to === `+${number(n.index)}`));
});

/** The reference id a number's dial was given (its row in GET /campaigns/<id>/numbers). */
async function referenceOf(id, index) {
  const cursor = index > 0 ? `&cursor=${index - 1}` : "";
  const page = await (await w.fetch(`/campaigns/${id}/numbers?limit=1${cursor}`, { headers: AUTH })).json();
  return page.numbers[0].reference_id;
}
