// POST /campaigns and GET /campaigns/<id>: numbers queued on the campaign queue, dialled by the
// worker's own queue consumer (Miniflare runs it), one number rejected and one rate-limited once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";
import { postEvent, referenceId as newReferenceId } from "../../scripts/harness/events.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL, answers } from "../../scripts/simulator/telesign_api.mjs";

const AUTH = { authorization: `Bearer ${SECRETS.API_TOKEN}` };
const OK = "15555550001";
const VARS = { vars: { name: "Sam", when: "Friday at 9 AM" } };
const BLOCKED = "15555550002";
const LIMITED = "15555550003";

let w;
let telesign;
before(async () => {
  telesign = new FakeTelesignApi();
  w = await startWorker({
    outboundService: telesign.fetch,
    bindings: {
      TELESIGN_API_URL: FAKE_TELESIGN_URL,
      CALLER_ID: "+15554441313",
      CAMPAIGN_DIALS_PER_SECOND: "50",
      CAMPAIGN_RETRY_BASE_SECS: "1",
    },
  });
});
after(() => w.dispose());

/**
 * @param {string | object} body
 * @param {Record<string, string>} [headers]
 */
function startCampaign(body, headers = AUTH) {
  return w.fetch("/campaigns", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function progress(id) {
  const res = await w.fetch(`/campaigns/${id}`, { headers: AUTH });
  assert.equal(res.status, 200);
  return res.json();
}

/** Polls the campaign until `done(counts)` holds; fails after a bounded wait. */
async function waitFor(id, done, what) {
  const deadline = Date.now() + 30_000;
  let last;
  while (Date.now() < deadline) {
    last = await progress(id);
    if (done(last.counts)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`campaign never reached ${what}: ${JSON.stringify(last?.counts)}`);
}

test("campaign routes want the bearer token", async () => {
  const res = await startCampaign({ flow: "reminder", numbers: [`+${OK}`] }, {});
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate"), /^Bearer /);
  const get = await w.fetch("/campaigns/0123456789abcdef0123456789abcdef");
  assert.equal(get.status, 401);
});

test("numbers are validated up front and nothing is queued for a bad campaign", async () => {
  /** @type {Array<[object, number, string, RegExp]>} */
  const cases = [
    [{ flow: "reminder", numbers: [`+${OK}`, "12345"] }, 422, "invalid_number", /numbers\[1\]/],
    [{ flow: "reminder", numbers: [`+${OK}`, OK] }, 422, "duplicate_number", /numbers\[1\]/],
    [{ flow: "reminder", numbers: [] }, 422, "invalid_numbers", /1 to 50000/],
    [{ flow: "bank", numbers: [`+${OK}`] }, 422, "unknown_flow", /inbound/],
    [{ flow: "reminder" }, 400, "missing_field", /numbers/],
    [{ flow: "reminder", numbers: [`+${OK}`], vars: { a: 1 } }, 422, "invalid_vars", /string/],
    [{ flow: "reminder", numbers: [`+${OK}`], vars: { name: "Sam" } }, 422, "missing_vars", /missing: when/],
    [{ flow: "reminder", numbers: [`+${OK}`], ...VARS, max_call_duration: 0 }, 422, "invalid_dial_option", /max_call_duration/],
  ];
  for (const [body, status, code, message] of cases) {
    const res = await startCampaign(body);
    assert.equal(res.status, status, code);
    const { error } = await res.json();
    assert.equal(error.code, code);
    assert.match(error.message, message);
  }
  const huge = JSON.stringify({ flow: "reminder", numbers: Array(80_000).fill("+15555550001") });
  const res = await startCampaign(huge);
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "payload_too_large");

  const { keys } = await (await w.kv()).list({ prefix: "campaign:" });
  assert.deepEqual(keys, []);
  assert.equal(telesign.requests.length, 0);
});

test("unknown campaigns are 404", async () => {
  for (const id of ["0123456789abcdef0123456789abcdef", "not-an-id"]) {
    const res = await w.fetch(`/campaigns/${id}`, { headers: AUTH });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "campaign_not_found");
  }
});

test("a campaign with a rejected number and a rate-limited one", async () => {
  const okReference = newReferenceId();
  const limitedReference = newReferenceId();
  telesign.answerFor(OK, answers.accepted(okReference));
  telesign.answerFor(BLOCKED, answers.rejected("to_number_blocked_by_telesign"));
  telesign.answerFor(LIMITED, answers.rateLimited("1"), answers.accepted(limitedReference));

  const res = await startCampaign({
    flow: "reminder",
    numbers: [`+${OK}`, `+${BLOCKED}`, `+${LIMITED}`],
    vars: { name: "Sam", when: "Friday at 9 AM" },
    record_call: true,
    max_call_duration: 900,
  });
  assert.equal(res.status, 202);
  const started = await res.json();
  assert.equal(started.status, "queued");
  assert.equal(started.total, 3);
  assert.match(started.campaign_id, /^[0-9a-f]{32}$/);
  const id = started.campaign_id;

  // A number is `dialing` from the moment its dial is sent: the rate-limited one counts as such
  // during its first attempt too, so its second dial is waited for as well.
  const retried = (/** @type {{ dialing: number, failed: number }} */ c) => c.dialing === 2 && c.failed === 1 && telesign.dials(LIMITED).length === 2;
  const dialled = await waitFor(id, retried, "2 dialing and 1 failed, the rate-limited number dialled again");
  assert.deepEqual(dialled.counts, { total: 3, queued: 0, dialing: 2, answered: 0, failed: 1, completed: 0 });
  assert.equal(dialled.flow, "reminder");
  assert.equal(dialled.finished, false);

  // Each number was dialled with its campaign external id; the rate-limited one twice, the
  // others once (no redelivery rang anyone twice).
  assert.equal(telesign.dials(OK).length, 1);
  assert.equal(telesign.dials(BLOCKED).length, 1);
  const limitedDials = telesign.dials(LIMITED);
  assert.equal(limitedDials.length, 2);
  assert.ok(limitedDials.every((d) => d.body.params.external_id === `cmp_${id}_2`));
  // Every dial is exactly Telesign's, with the campaign's options.
  assert.deepEqual(telesign.dials(OK)[0].body, {
    jsonrpc: "2.0",
    method: "dial",
    params: { to: OK, caller_id_number: "15554441313", record_call: true, external_id: `cmp_${id}_0`, max_call_duration: 900 },
  });

  // The rejected number left a call record under its external id.
  const blocked = await w.fetch(`/calls/cmp_${id}_1`, { headers: AUTH });
  const record = (await blocked.json()).call;
  assert.equal(record.outcome, "dial_rejected");
  assert.equal(record.status, "to_number_blocked_by_telesign");

  // The first number answers and runs the flow with the campaign's vars.
  const ok = (event, data) => postEvent(w, event, okReference, { from: "15554441313", to: OK, ...data }, { external_id: `cmp_${id}_0` });
  const answered = await ok("dial_completed", { status: "answered" });
  assert.match(answered.action.params.tts.message, /Hello Sam\. .* Friday at 9 AM/);
  assert.deepEqual((await progress(id)).counts, { total: 3, queued: 0, dialing: 1, answered: 1, failed: 1, completed: 0 });

  await ok("speak_completed", { status: "speak_successful", collected_digits: "1" });
  await ok("speak_completed", { status: "speak_successful" });
  await ok("call_completed", { direction: "outbound", status: "hangup", duration: 20 });

  // The retried number is not answered.
  const noAnswer = await postEvent(
    w,
    "dial_completed",
    limitedReference,
    { from: "15554441313", to: LIMITED, status: "failed" },
    {
      external_id: `cmp_${id}_2`,
    },
  );
  assert.equal(noAnswer.status, 204);

  const done = await progress(id);
  assert.deepEqual(done.counts, { total: 3, queued: 0, dialing: 0, answered: 0, failed: 2, completed: 1 });
  assert.equal(done.finished, true);

  const calls = await w.fetch("/calls?flow=reminder&limit=100", { headers: AUTH });
  const outcomes = (await calls.json()).calls.map((c) => c.outcome).sort();
  assert.deepEqual(outcomes, ["completed", "dial_failed", "dial_rejected"]);
});

test("a spreadsheet of patients: each hears their own name and time, and the results list each number", { timeout: 60_000 }, async () => {
  const patients = [
    ["15555550101", "Sam", "Friday, 9 AM"],
    ["15555550102", "Ana Ruiz", "Monday at 2 PM"],
    ["15555550103", "Lee", "Tuesday at 4 PM"],
  ];
  const references = patients.map(() => newReferenceId());
  patients.forEach(([to], i) => {
    telesign.answerFor(to, answers.accepted(references[i]));
  });
  const csv = ["to,name,when", ...patients.map(([to, name, when]) => `+${to},${name},"${when}"`)].join("\r\n");
  const post = (body, query = "?flow=reminder") =>
    w.fetch(`/campaigns.csv${query}`, { method: "POST", headers: { ...AUTH, "content-type": "text/csv" }, body });

  // One row without the var the flow needs refuses the whole campaign, naming the row.
  const bad = await post(`${csv}\r\n+15555550104,Kim,\r\n`);
  assert.equal(bad.status, 422);
  const { error } = await bad.json();
  assert.equal(error.code, "missing_vars");
  assert.match(error.message, /^row 5: .*missing: when/);
  const malformed = await post('to,name,when\r\n+15555550104,"Kim,now\r\n');
  assert.equal((await malformed.json()).error.code, "invalid_csv");
  assert.equal(telesign.dials("15555550104").length, 0);

  const res = await post(csv);
  assert.equal(res.status, 202);
  const { campaign_id: id, total } = await res.json();
  assert.equal(total, 3);
  // Every number has its row from the start.
  const queued = await (await w.fetch(`/campaigns/${id}/numbers`, { headers: AUTH })).json();
  assert.equal(queued.numbers.length, 3);
  await waitFor(id, (c) => c.dialing === 3, "3 dialing");

  // Each callee hears their own name and time.
  const post_ = (i, event, data) => postEvent(w, event, references[i], { from: "15554441313", to: patients[i][0], ...data }, { external_id: `cmp_${id}_${i}` });
  for (const [i, [, name, when]] of patients.entries()) {
    if (i === 2) continue;
    const answered = await post_(i, "dial_completed", { status: "answered" });
    assert.equal(answered.action.params.tts.message.startsWith(`Hello ${name}. `), true, answered.action.params.tts.message);
    assert.match(answered.action.params.tts.message, new RegExp(`appointment on ${when}\\.`));
  }
  // Sam confirms; Ana cancels; Lee never answers.
  await post_(0, "speak_completed", { status: "speak_successful", collected_digits: "1" });
  await post_(0, "call_completed", { direction: "outbound", status: "hangup", duration: 20 });
  await post_(1, "speak_completed", { status: "speak_successful", collected_digits: "2" });
  await post_(1, "call_completed", { direction: "outbound", status: "hangup", duration: 25 });
  await post_(2, "dial_completed", { status: "failed" });

  const page = await (await w.fetch(`/campaigns/${id}/numbers`, { headers: AUTH })).json();
  assert.deepEqual(
    page.numbers.map((n) => [n.index, n.to, n.state, n.attempts, n.outcome, n.answers.map((a) => `${a.step}=${a.digits}`)]),
    [
      [0, "+15555550101", "completed", 1, "caller_hung_up", ["reminder=1"]],
      [1, "+15555550102", "completed", 1, "caller_hung_up", ["reminder=2"]],
      [2, "+15555550103", "failed", 1, "dial_failed", []],
    ],
  );
  assert.equal(page.cursor, null);
  const failed = await (await w.fetch(`/campaigns/${id}/numbers?state=failed`, { headers: AUTH })).json();
  assert.deepEqual(
    failed.numbers.map((n) => n.index),
    [2],
  );
  const first = await (await w.fetch(`/campaigns/${id}/numbers?limit=2`, { headers: AUTH })).json();
  assert.equal(first.cursor, "1");
  const rest = await (await w.fetch(`/campaigns/${id}/numbers?limit=2&cursor=${first.cursor}`, { headers: AUTH })).json();
  assert.deepEqual(
    rest.numbers.map((n) => n.index),
    [2],
  );

  const csvRes = await w.fetch(`/campaigns/${id}/numbers.csv`, { headers: AUTH });
  assert.equal(csvRes.status, 200);
  assert.match(csvRes.headers.get("content-type"), /^text\/csv/);
  const lines = (await csvRes.text()).trimEnd().split("\r\n");
  assert.equal(lines[0], "index,to,state,attempts,reference_id,outcome,status,updated_at,answers");
  assert.equal(lines.length, 4);
  assert.match(lines[1], /^0,'\+15555550101,completed,1,[0-9A-F]{32},caller_hung_up,hangup,\d{4}-\d\d-\d\dT[\d:]+Z,reminder=1 \(accepted\)$/);

  // The campaign's own calls.
  const calls = await (await w.fetch(`/calls?campaign=${id}`, { headers: AUTH })).json();
  assert.deepEqual(
    calls.calls.map((c) => c.external_id).sort(),
    [0, 1, 2].map((i) => `cmp_${id}_${i}`),
  );
  assert.equal((await w.fetch("/calls?campaign=nope", { headers: AUTH })).status, 400);
  assert.equal((await w.fetch(`/campaigns/0123456789abcdef0123456789abcdef/numbers`, { headers: AUTH })).status, 404);
});

test("pause while a dial is in flight, resume, cancel: nobody is rung twice, a paused or cancelled campaign rings nobody more", {
  timeout: 60_000,
}, async () => {
  const numbers = [0, 1, 2, 3, 4, 5].map((i) => `1555555020${i}`);
  const control = (id, action) => w.fetch(`/campaigns/${id}/${action}`, { method: "POST", headers: AUTH });
  // The first dial takes a while: the campaign is paused while it is in flight.
  /** @type {(value?: unknown) => void} */
  let released;
  const held = new Promise((resolve) => (released = resolve));
  let firstArrived;
  const arrived = new Promise((resolve) => (firstArrived = resolve));
  telesign.answerFor(numbers[0], async () => {
    firstArrived();
    await held;
    return answers.accepted(newReferenceId());
  });
  const res = await startCampaign({ flow: "reminder", numbers: numbers.map((n) => `+${n}`), ...VARS });
  const { campaign_id: id } = await res.json();
  await arrived;
  const paused = await control(id, "pause");
  assert.equal(paused.status, 200);
  assert.deepEqual(await paused.json(), { campaign_id: id, state: "paused", requeued: 0 });
  released();
  await waitFor(id, (c) => c.dialing === 1, "the dial in flight finishing");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const whilePaused = await progress(id);
  assert.equal(whilePaused.state, "paused");
  assert.deepEqual(whilePaused.counts, { total: 6, queued: 5, dialing: 1, answered: 0, failed: 0, completed: 0 });
  assert.equal(
    numbers.reduce((n, to) => n + telesign.dials(to).length, 0),
    1,
    "nobody more was rung",
  );

  // Resumed twice (a retried request): every number still queued is dialled once.
  const resumed = await (await control(id, "resume")).json();
  assert.deepEqual(resumed, { campaign_id: id, state: "running", requeued: 5 });
  await control(id, "resume");
  await waitFor(id, (c) => c.dialing === 6, "6 dialing");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.deepEqual(
    numbers.map((to) => telesign.dials(to).length),
    [1, 1, 1, 1, 1, 1],
  );

  // A cancelled campaign: its numbers not dialled yet fail as cancelled; it cannot be resumed.
  const other = ["15555550301", "15555550302"];
  const { campaign_id: gone } = await (await startCampaign({ flow: "reminder", numbers: other.map((n) => `+${n}`), ...VARS })).json();
  const cancelled = await control(gone, "cancel");
  assert.deepEqual(await cancelled.json(), { campaign_id: gone, state: "cancelled", requeued: 0 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(
    other.map((to) => telesign.dials(to).length),
    [0, 0],
  );
  const view = await progress(gone);
  assert.deepEqual([view.state, view.finished, view.counts.failed], ["cancelled", true, 2]);
  const page = await (await w.fetch(`/campaigns/${gone}/numbers`, { headers: AUTH })).json();
  assert.deepEqual(
    page.numbers.map((n) => n.outcome),
    ["cancelled", "cancelled"],
  );
  const resumeCancelled = await control(gone, "resume");
  assert.equal(resumeCancelled.status, 409);
  assert.equal((await resumeCancelled.json()).error.code, "campaign_cancelled");
  assert.equal((await control(gone, "cancel")).status, 200, "cancelling again is fine");
  assert.equal((await control("0123456789abcdef0123456789abcdef", "pause")).status, 404);
});

test("a campaign with a start time dials nobody before it, and says until when it waits", { timeout: 60_000 }, async () => {
  const to = "15555550501";
  const start = Date.now() + 3_000;
  const res = await startCampaign({ flow: "reminder", numbers: [`+${to}`], ...VARS, start_at: new Date(start).toISOString() });
  assert.equal(res.status, 202);
  const { campaign_id: id } = await res.json();
  const waiting = await progress(id);
  assert.equal(waiting.start_ms, start);
  assert.equal(waiting.waiting_until, start);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(telesign.dials(to).length, 0, "nobody is dialled before the start");
  await waitFor(id, (c) => c.dialing === 1, "the number dialled once the start has come");
  assert.ok(Date.now() >= start);
  assert.equal(telesign.dials(to).length, 1);
  assert.equal((await progress(id)).waiting_until, undefined);
  const bad = await startCampaign({ flow: "reminder", numbers: [`+${to}`], ...VARS, start_at: "next monday" });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_field");
});

test("a campaign outside its window dials nobody until the clock enters it; a number whose window never opens before the end fails", {
  timeout: 60_000,
}, async () => {
  // A worker whose clock (DEV_CLOCK, as `npm run dev -- --clock`) reads Monday 08:59:57 in New
  // York at its first request: the window below opens 3 s later.
  const fake = new FakeTelesignApi();
  const local = await startWorker({
    outboundService: fake.fetch,
    bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL, CALLER_ID: "+15554441313", DEV_CLOCK: "2026-01-05T13:59:57Z" },
  });
  try {
    const [newYork, chicago] = ["15555550601", "15555550602"];
    const res = await local.fetch("/campaigns", {
      method: "POST",
      headers: { "content-type": "application/json", ...AUTH },
      body: JSON.stringify({
        flow: "reminder",
        ...VARS,
        window: "Mon-Fri 09:00-17:00 America/New_York",
        end_at: "2026-01-05T14:30:00Z",
        // Chicago opens at 15:00 UTC, after the end.
        numbers: [`+${newYork}`, { to: `+${chicago}`, time_zone: "America/Chicago" }],
      }),
    });
    assert.equal(res.status, 202);
    const { campaign_id: id } = /** @type {any} */ (await res.json());
    const view = /** @type {any} */ (await (await local.fetch(`/campaigns/${id}`, { headers: AUTH })).json());
    assert.deepEqual(
      [view.window, view.waiting_for, view.waiting_until, view.end_ms],
      [
        { days: "Mon-Fri", hours: "09:00-17:00", time_zone: "America/New_York" },
        "window",
        Date.parse("2026-01-05T14:00:00Z"),
        Date.parse("2026-01-05T14:30:00Z"),
      ],
    );
    const started = Date.now();
    const numbers = async () => /** @type {any} */ (await (await local.fetch(`/campaigns/${id}/numbers`, { headers: AUTH })).json()).numbers;
    // Chicago fails at once; New York waits for 09:00.
    let rows;
    for (let i = 0; i < 100; i++) {
      rows = await numbers();
      if (rows[1].state === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual([rows[0].state, rows[1].state, rows[1].outcome], ["queued", "failed", "outside_window"]);
    assert.equal(fake.dials(newYork).length, 0, "nobody is dialled before the window opens");
    assert.equal(fake.dials(chicago).length, 0);
    for (let i = 0; i < 200 && fake.dials(newYork).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(fake.dials(newYork).length, 1, "dialled once the window opened");
    assert.ok(Date.now() - started >= 2_000, `dialled after ${Date.now() - started} ms`);
    const after = /** @type {any} */ (await (await local.fetch(`/campaigns/${id}`, { headers: AUTH })).json());
    assert.equal(after.waiting_for, undefined);
    assert.equal(fake.dials(chicago).length, 0);
  } finally {
    await local.dispose();
  }
});

test("the document's window pattern and the API accept the same windows", async () => {
  const doc = await (await w.fetch("/openapi.json")).json();
  const schema = doc.components.schemas.CampaignRequest.properties.window.anyOf[0];
  const pattern = new RegExp(schema.pattern, "u");
  const samples = [
    "Mon-Fri 09:00-20:00 America/New_York",
    "Sat,Sun-Mon 00:00-24:00,23:59-00:01 America/Los_Angeles",
    "Fri-Mon 24:00-09:00 America/Chicago",
    "Mon-Fri 09:00-20:00",
    "Mon-Fri  09:00-20:00 America/New_York",
    "mon-fri 09:00-20:00 America/New_York",
    "Monday 09:00-20:00 America/New_York",
    "Mon,,Tue 09:00-20:00 America/New_York",
    "Mon 9:00-20:00 America/New_York",
    "Mon 09:00-24:01 America/New_York",
    "Mon 09:00-20:00, America/New_York",
    "Mon 09:00-20:00 America/New_York ",
    "Mon 09:00-20:00 Europe/Paris",
  ];
  for (const window of samples) {
    // Far in the future: nobody is dialled.
    const res = await startCampaign({ flow: "reminder", numbers: ["+15555550701"], ...VARS, window, start_at: "2099-01-01T00:00:00Z" });
    const [accepted, body] = [res.status === 202, await res.json()];
    assert.equal(accepted, pattern.test(window), `${window}: ${res.status} ${JSON.stringify(body)}`);
    if (!accepted) assert.match(body.error.code, /^(invalid_field|unknown_time_zone)$/);
  }
  const conflict = await startCampaign({ flow: "reminder", numbers: ["+15555550701"], ...VARS, start_at: "2099-01-02", end_at: "2099-01-01" });
  assert.equal(conflict.status, 409);
  assert.equal((await conflict.json()).error.code, "schedule_conflict");
  const past = await startCampaign({ flow: "reminder", numbers: ["+15555550701"], ...VARS, end_at: "2020-01-01" });
  assert.equal(past.status, 409);
});

test("a call not answered is dialled again after the campaign's gap, by the cron, until its dials run out", { timeout: 60_000 }, async () => {
  const to = "15555550801";
  const [first, second] = [newReferenceId(), newReferenceId()];
  telesign.answerFor(to, answers.accepted(first), answers.accepted(second));
  const res = await startCampaign({ flow: "reminder", numbers: [`+${to}`], ...VARS, redial_attempts: 2, redial_after_secs: 1 });
  assert.equal(res.status, 202);
  const { campaign_id: id } = await res.json();
  await waitFor(id, (c) => c.dialing === 1, "the first dial");
  const row = async () => (await (await w.fetch(`/campaigns/${id}/numbers`, { headers: AUTH })).json()).numbers[0];
  // Telesign's dial_completed `failed`: no answer, a busy line or a failed call alike.
  const notAnswered = (reference) => postEvent(w, "dial_completed", reference, { from: "15554441313", to, status: "failed" }, { external_id: `cmp_${id}_0` });
  const before = Date.now();
  await notAnswered(first);
  const waiting = await row();
  assert.deepEqual([waiting.state, waiting.outcome, waiting.attempts], ["queued", "dial_failed", 1]);
  assert.ok(waiting.redial_ms >= before + 1_000, `redial at ${waiting.redial_ms}`);
  // The cron before the gap queues nothing; after it, the number is dialled again.
  await w.scheduled();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(telesign.dials(to).length, 1);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, waiting.redial_ms - Date.now() + 50)));
  await w.scheduled();
  await waitFor(id, (c) => c.dialing === 1, "the redial");
  assert.equal(telesign.dials(to).length, 2);
  assert.equal((await row()).attempts, 2);
  // Not answered again: no dials left.
  await notAnswered(second);
  const failed = await row();
  assert.deepEqual([failed.state, failed.outcome, failed.attempts, failed.redial_ms], ["failed", "dial_failed", 2, undefined]);
  await w.scheduled();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(telesign.dials(to).length, 2);
});
