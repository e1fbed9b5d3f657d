// The dev phone (npm run phone) in a real browser: Debian's chromium through playwright-core, the
// phone server started in-process against the harness worker (on its test clock), outbound calls
// through a fake Telesign API; the insights view over calls scripted with the harness's Call.
// Screenshots go to target/phone/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";
import { Call, postEvent } from "../../scripts/harness/events.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL } from "../../scripts/simulator/telesign_api.mjs";
import { startPhone } from "../../scripts/phone.mjs";

const SHOTS = new URL("../../target/phone/", import.meta.url).pathname;
const STEP_MS = 15_000;

/** Debian's chromium (scripts/setup.sh installs it); its absence fails the suite. */
function chromiumPath() {
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

let w;
let api;
let phone;
let browser;
before(
  async () => {
    const executablePath = chromiumPath();
    assert.ok(executablePath, "Debian's chromium is not on PATH: run `. scripts/setup.sh` (it installs it with apt-get) to run the dev phone's tests");
    mkdirSync(SHOTS, { recursive: true });
    api = new FakeTelesignApi();
    w = await startWorker({ outboundService: api.fetch, bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL, CALLER_ID: "+15555551212" } });
    phone = await startPhone({
      worker: w,
      secrets: { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: SECRETS.TELESIGN_API_KEY, apiToken: SECRETS.API_TOKEN },
      api,
      testClock: true,
      port: 0,
    });
    browser = await chromium.launch({
      executablePath,
      headless: true,
      timeout: 30_000,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run"],
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await browser?.close();
  await phone?.close();
  await w?.dispose();
});

async function openPhone(query = "") {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(STEP_MS);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${phone.url}?mute${query}`);
  await page.locator("#diagram svg").waitFor();
  return { page, errors };
}

/**
 * Waits until the page plays the prompt saying `text` (and, given `step`, the diagram highlights
 * that step), then presses `key` on the keyboard.
 */
async function pressAt(page, text, key, step) {
  await page.locator("#hears").filter({ hasText: text }).waitFor();
  if (step) await page.waitForFunction((s) => /** @type {SVGElement | null} */ (document.querySelector("#diagram svg"))?.dataset.current === s, step);
  await page.keyboard.press(key);
}

const current = (page) => page.locator("#diagram svg").getAttribute("data-current");

test("bank: dial in, press 2 then 1, hear goodbye; the diagram follows, the record shows", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.selectOption("#to", "+15555551212");
  await page.click("#call");
  await page.locator("#hears").filter({ hasText: "Thank you for calling Example Bank." }).waitFor();
  await pressAt(page, "For cards, press 2", "2", "main_menu");
  assert.match(await page.locator("#diagram g.node.current").getAttribute("id"), /flowchart-s_main_menu-/);
  await pressAt(page, "To report a lost or stolen card, press 1", "1", "cards_menu");
  await page.locator("#hears").filter({ hasText: "Your cards are now blocked" }).waitFor();
  await page.waitForFunction(() => /** @type {SVGElement | null} */ (document.querySelector("#diagram svg"))?.dataset.current === "card_lost");
  assert.equal(await page.locator("#diagram g.node.current").count(), 1);
  assert.match(await page.locator("#diagram g.node.current").getAttribute("id"), /flowchart-s_card_lost-/);
  assert.ok((await page.locator("#diagram g.node.visited").count()) >= 4);
  await page.screenshot({ path: `${SHOTS}bank-card_lost.png`, fullPage: true });
  await page.locator("#record dd[data-field=outcome]").waitFor();
  const transcript = await page.locator("#exchange").innerText();
  assert.match(transcript, /incoming_call → speak/);
  assert.match(transcript, /speak_completed \(2\) → speak, collect up to 1/);
  assert.match(transcript, /caller hears: Thank you for banking with Example Bank\. Goodbye\./);
  assert.match(transcript, /call_completed/);
  assert.equal(await page.locator("#record dd[data-field=outcome]").innerText(), "completed");
  assert.equal(await page.locator("#record dd[data-field=visited]").innerText(), "welcome > main_menu > cards_menu > card_lost > goodbye");
  assert.match(await page.locator("#status").innerText(), /every answer followed Telesign's rules/);
  assert.equal(await page.locator("#error").innerText(), "");
  assert.equal(await current(page), "");
  await page.screenshot({ path: `${SHOTS}bank-record.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("keys during prompts: 2 stops the welcome and answers the menu; 1 pressed while the cards menu plays is its entry", { timeout: 60_000 }, async () => {
  // Muted prompts play 3 s here, so the keys surely come while they play.
  const { page, errors } = await openPhone("&playMs=3000");
  await page.click("#call");
  await page.locator("#hears.playing").filter({ hasText: "Thank you for calling Example Bank." }).waitFor();
  await page.keyboard.press("2");
  await page.locator("#hears.playing").filter({ hasText: "To report a lost or stolen card, press 1" }).waitFor();
  await page.keyboard.press("1");
  assert.equal(await page.locator("#hears.playing").count(), 1, "the key came while the prompt played");
  await page.locator("#record dd[data-field=outcome]").waitFor();
  const transcript = await page.locator("#exchange").innerText();
  assert.match(transcript, /^speak_completed \(2\) → speak, collect up to 1$/m);
  assert.doesNotMatch(transcript, /For your account balance, press 1/, "the menu took the key pressed during the welcome");
  assert.match(transcript, /speak_completed \(1\) → speak\n/);
  assert.equal(await page.locator("#record dd[data-field=visited]").innerText(), "welcome > main_menu > cards_menu > card_lost > goodbye");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a sensitive entry: the account number shows as * while typed, in the exchange and in the record", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.selectOption("#to", "+15555551212");
  await page.click("#call");
  await pressAt(page, "For your account balance, press 1", "1", "main_menu");
  await page.locator("#hears").filter({ hasText: "eight digit account number" }).waitFor();
  await page.waitForFunction(() => /** @type {SVGElement | null} */ (document.querySelector("#diagram svg"))?.dataset.current === "account_number");
  for (const key of "1234567") await page.keyboard.press(key);
  assert.equal(await page.locator("#typed").innerText(), "*******", "typed keys show masked");
  await page.keyboard.press("4");
  await page.waitForFunction(() => /** @type {SVGElement | null} */ (document.querySelector("#diagram svg"))?.dataset.current !== "account_number");
  await page.click("#hangup");
  await page.locator("#record dd[data-field=outcome]").waitFor();
  assert.match(await page.locator("#record dd[data-field=answers]").innerText(), /account_number: \*{4}5674 accepted/);
  const text = await page.locator("body").innerText();
  assert.ok(!text.includes("12345674"), text);
  assert.match(await page.locator("#exchange").innerText(), /speak_completed \(\*{8}\)/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the flow's diagram zooms with its buttons and the wheel, pans by dragging, and fits again", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  const svg = page.locator("#diagram svg");
  assert.equal(await svg.getAttribute("data-zoom"), "1.00");
  await page.click('#diagram-zoom button[data-zoom="zoom in"]');
  assert.equal(await svg.getAttribute("data-zoom"), "1.25");
  const box = await svg.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -100);
  await page.waitForFunction(() => /** @type {SVGElement} */ (document.querySelector("#diagram svg")).dataset.zoom === "1.56");
  const before = (await svg.getAttribute("viewBox")).split(" ").map(Number);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 80, box.y + box.height / 2 - 40, { steps: 4 });
  await page.mouse.up();
  const after = (await svg.getAttribute("viewBox")).split(" ").map(Number);
  assert.ok(after[0] > before[0] && after[1] > before[1], `dragging left and up moves the view right and down: ${before} -> ${after}`);
  await page.click('#diagram-zoom button[data-zoom="fit"]');
  assert.equal(await svg.getAttribute("data-zoom"), "1.00");
  assert.deepEqual(errors, []);
  await page.close();
});

test("reminder: an outbound call with vars, confirmed with 1", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.click("#outbound summary");
  await page.selectOption("#ob-flow", "reminder");
  // The worker's flows name the vars the flow needs: the page lists them to be filled in.
  assert.equal(await page.inputValue("#ob-vars"), "name=\nwhen=");
  await page.fill("#ob-to", "+15558675309");
  await page.fill("#ob-vars", "name=Alex\nwhen=Tuesday at 2 PM");
  await page.click("#ob-call");
  await pressAt(page, "Hello Alex. This is Example Clinic reminding you of your appointment on Tuesday at 2 PM", "1");
  await page.locator("#record dd[data-field=outcome]").waitFor();
  const transcript = await page.locator("#exchange").innerText();
  assert.match(transcript, /POST \/calls → 20\d/);
  assert.match(transcript, /Telesign API: dial \+?15558675309/);
  assert.match(transcript, /Your appointment is confirmed/);
  assert.match(await page.locator("#record dd[data-field=vars]").innerText(), /choice=confirmed/);
  assert.equal(await page.locator("#record dd[data-field=visited]").innerText(), "reminder > confirmed");
  assert.equal(await page.locator("#flow-name").innerText(), "reminder");
  await page.screenshot({ path: `${SHOTS}reminder.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("forwarding: the first agent does not answer, the second does", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.selectOption("#to", "+15555550200");
  await page.click("#call");
  const legs = page.locator("#legs button[data-leg=no]");
  await legs.waitFor();
  const first = await legs.innerText();
  await legs.click();
  await page
    .locator("#legs button[data-leg=yes]")
    .filter({ hasNotText: first.replace(/ no answer$/, "") })
    .waitFor();
  await page.locator("#legs button[data-leg=yes]").click();
  await page.locator("#legs button[data-leg=agent-hangs-up]").click();
  await page.locator("#record dd[data-field=outcome]").waitFor();
  const transcript = await page.locator("#exchange").innerText();
  assert.match(transcript, /call_leg_completed \(call_not_answered\) → dial/);
  assert.match(transcript, /dial_completed \(answered\)/);
  await page.screenshot({ path: `${SHOTS}forwarding.png`, fullPage: true });
  assert.equal(await page.locator("#error").innerText(), "");
  assert.deepEqual(errors, []);
  await page.close();
});

test("errors in plain words: bad secrets (401), no worker", { timeout: 60_000 }, async () => {
  const bad = await startPhone({
    worker: w,
    secrets: { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: Buffer.from("not-the-worker-key").toString("base64"), apiToken: SECRETS.API_TOKEN },
    port: 0,
  });
  const none = await startPhone({ workerUrl: "http://127.0.0.1:9", secrets: { customerId: "c", apiKey: "a2V5", apiToken: "t" }, port: 0 });
  try {
    for (const [server, expected] of /** @type {Array<[{ url: string }, RegExp]>} */ ([
      [bad, /refused the signed event \(401\): the secrets in \.dev\.vars are not the worker's[\s\S]*No call record: the worker never took this call/],
      [none, /The worker is not answering at http:\/\/127\.0\.0\.1:9\. Is it running \(npm run dev\)\?/],
    ])) {
      const page = await browser.newPage();
      page.setDefaultTimeout(STEP_MS);
      await page.goto(`${server.url}?mute`);
      await page.click("#call");
      await page.locator("#error").filter({ hasText: expected }).waitFor();
      assert.match(await page.locator("#status").innerText(), /Call failed/);
      await page.close();
    }
  } finally {
    await bad.close();
    await none.close();
  }
});

/**
 * A stand-in worker for what the sample flows never do: `reply(event)` answers each /webhook event;
 * GET /calls/<id> answers an ended call. Records the events it got.
 */
function fakeWorker(reply) {
  const events = [];
  return {
    events,
    async fetch(path, init = {}) {
      if (path.startsWith("/calls/")) {
        return Response.json({ state: "ended", call: { flow: "fake", outcome: "completed", visited: [] } });
      }
      const event = JSON.parse(init.body);
      events.push(event);
      const action = reply(event);
      return action ? Response.json({ jsonrpc: "2.0", ...action }) : new Response(null, { status: 204 });
    },
  };
}

const FAKE_SECRETS = { customerId: "c", apiKey: "a2V5", apiToken: "t" };

test("a play whose audio cannot load is reported as playback_failed; a forbidden reply is named", { timeout: 60_000 }, async () => {
  const audio = fakeWorker((e) => {
    if (e.event === "incoming_call") return { method: "play", params: { url: "https://127.0.0.1:9/welcome.mp3" } };
    if (e.event === "play_completed") return { method: "hangup", params: {} };
    return null;
  });
  const forbidden = fakeWorker((e) => (e.event === "incoming_call" ? { method: "bogus", params: {} } : null));
  const withAudio = await startPhone({ worker: audio, secrets: FAKE_SECRETS, port: 0 });
  const withForbidden = await startPhone({ worker: forbidden, secrets: FAKE_SECRETS, port: 0 });
  try {
    let page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${withAudio.url}?mute`);
    await page.click("#call");
    await page.locator("#record dd[data-field=outcome]").waitFor();
    assert.deepEqual(audio.events.map((e) => [e.event, e.data.status ?? ""]).slice(0, 2), [
      ["incoming_call", ""],
      ["play_completed", "playback_failed"],
    ]);
    assert.match(await page.locator("#exchange").innerText(), /caller hears: \(audio\) https:\/\/127\.0\.0\.1:9\/welcome\.mp3/);
    await page.close();

    page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${withForbidden.url}?mute`);
    await page.click("#call");
    await page
      .locator("#error")
      .filter({ hasText: /The worker's reply breaks Telesign's call-state rules: .*`bogus` may not answer incoming_call/ })
      .waitFor();
    await page.close();
  } finally {
    await withAudio.close();
    await withForbidden.close();
  }
});

/**
 * Three bank calls on 2027-01-04 (after every call the page places on the test clock, which
 * starts 2026-12-07), one an hour, each event a second after the one before:
 * - A: welcome, then hangs up at the main menu without pressing anything;
 * - B: welcome, lets the main menu time out (no input: asked again), then hangs up there;
 * - C: welcome, presses 2 (cards), then 1 (lost card): card_lost, goodbye, the call completes.
 * Read off the flow: 3 calls (2 caller_hung_up, 1 completed); welcome entered 3, all to main_menu;
 * main_menu entered 3 (B's reprompt is the same visit), hung up 2, no input 1, one visit on to
 * cards_menu with key 2; cards_menu entered 1, key 1, on to card_lost; card_lost to goodbye; the
 * call ends at goodbye; account_number (and the other steps) entered 0.
 */
async function scriptInsightCalls() {
  const day = Date.UTC(2027, 0, 4, 9, 0, 0);
  const hour = 3_600_000;
  const a = new Call(w, { from: "+15550000101", now: day });
  let x = await a.incoming();
  await a.completed(x.action);
  await a.hangup();
  const b = new Call(w, { from: "+15550000102", now: day + hour });
  x = await b.incoming();
  x = await b.completed(x.action);
  await b.completed(x.action, "");
  await b.hangup();
  const c = new Call(w, { from: "+15550000103", now: day + 2 * hour });
  x = await c.incoming();
  x = await c.completed(x.action);
  x = await c.completed(x.action, "2");
  x = await c.completed(x.action, "1");
  x = await c.completed(x.action);
  x = await c.completed(x.action);
  assert.equal(x.action?.method, "hangup", "goodbye ends the call");
  await c.hangup();
}

/** Clicks Show in the insights view and waits for the answer to be shown. */
async function showInsights(page) {
  const before = Number((await page.locator("#insights-view").getAttribute("data-shown")) ?? 0);
  await page.click("#in-show");
  await page.waitForFunction((n) => Number(/** @type {HTMLElement} */ (document.querySelector("#insights-view")).dataset.shown ?? 0) > n, before);
}

test("insights: bank's funnel of scripted calls on the diagram and in the tables; errors in plain words", { timeout: 90_000 }, async () => {
  await scriptInsightCalls();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(STEP_MS);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${phone.url}?mute`);
  await page.click("#tab-insights");
  assert.equal(await page.locator("#phone-view").isHidden(), true);
  // Opened with no range: every bank call the worker recorded, these three at least.
  await page.waitForFunction(() => /** @type {HTMLElement} */ (document.querySelector("#insights-view")).dataset.shown === "1");
  assert.equal(await page.locator("#in-error").innerText(), "");
  assert.ok(Number(await page.locator("#in-calls").getAttribute("data-calls")) >= 3);

  await page.fill("#in-flow", "bank");
  await page.fill("#in-since", "2027-01-04");
  await page.fill("#in-until", "2027-01-05");
  await showInsights(page);
  assert.equal(await page.locator("#in-error").innerText(), "");
  assert.equal(await page.locator("#in-calls").getAttribute("data-calls"), "3");
  assert.match(await page.locator("#in-calls").innerText(), /^3 calls of bank ended from 2027-01-04T00:00:00Z until 2027-01-05T00:00:00Z$/);
  assert.deepEqual((await page.locator("#in-outcomes li").allInnerTexts()).sort(), ["caller_hung_up: 2", "completed: 1"]);

  const row = async (step) => {
    const r = page.locator(`#in-steps tr[data-step=${step}]`);
    const out = {};
    for (const f of ["entered", "completed", "no_input", "invalid", "refused", "hung_up", "keys", "ended"])
      out[f] = await r.locator(`td[data-field=${f}]`).innerText();
    return out;
  };
  assert.deepEqual(await row("welcome"), { entered: "3", completed: "3", no_input: "0", invalid: "0", refused: "0", hung_up: "0", keys: "", ended: "" });
  assert.deepEqual(await row("main_menu"), {
    entered: "3",
    completed: "1",
    no_input: "1",
    invalid: "0",
    refused: "0",
    hung_up: "2",
    keys: "2: 1",
    ended: "caller_hung_up 2",
  });
  assert.deepEqual(await row("cards_menu"), { entered: "1", completed: "1", no_input: "0", invalid: "0", refused: "0", hung_up: "0", keys: "1: 1", ended: "" });
  assert.equal((await row("card_lost")).entered, "1");
  assert.deepEqual(await row("goodbye"), {
    entered: "1",
    completed: "1",
    no_input: "0",
    invalid: "0",
    refused: "0",
    hung_up: "0",
    keys: "",
    ended: "completed 1",
  });
  assert.equal((await row("account_number")).entered, "0", "a step no call reached is listed with zeros");
  assert.equal(await page.locator("#in-steps tr[data-step=welcome] td[data-field=median]").innerText(), "1.0 s");

  const edges = await page
    .locator("#in-edges tr[data-from]")
    .evaluateAll((rows) => rows.map((r) => `${r.dataset.from} > ${r.dataset.to}: ${r.querySelector("[data-field=visits]").textContent}`));
  assert.deepEqual(edges, [
    "welcome > main_menu: 3",
    "main_menu > cards_menu: 1",
    "main_menu > (call ended: caller_hung_up): 2",
    "cards_menu > card_lost: 1",
    "card_lost > goodbye: 1",
    "goodbye > (call ended: completed): 1",
  ]);

  // The diagram: each node carries its counts, its fill scales with its entries.
  const node = (step) => page.locator(`#in-diagram g.node[data-step=${step}]`);
  assert.equal(await node("main_menu").getAttribute("data-entered"), "3");
  assert.equal(await node("main_menu").getAttribute("data-hung-up"), "2");
  assert.equal(await node("main_menu").getAttribute("data-no-input"), "1");
  assert.match(await node("main_menu").locator(".label").textContent(), /main_menu \(menu\)entered 3 · hung up 2no input 1/);
  assert.match(await node("main_menu").locator(".label").textContent(), /keys 2: 1/);
  assert.match(await node("account_number").locator(".label").textContent(), /entered 0/);
  assert.match(await node("main_menu").locator("title").textContent(), /median time 1\.0 s/);
  const fill = (step) =>
    node(step)
      .locator("rect, polygon, path")
      .first()
      .evaluate((el) => getComputedStyle(el).fill);
  const [busiest, unentered, once] = [await fill("main_menu"), await fill("account_number"), await fill("cards_menu")];
  assert.equal(busiest, await fill("welcome"), "welcome and main_menu are both entered 3 times");
  assert.equal(busiest, "rgb(239, 101, 72)", "the busiest step has the deepest colour");
  assert.equal(unentered, "rgb(244, 244, 244)", "a step not entered is grey");
  assert.notEqual(once, busiest);
  const edgeLabels = await page.locator("#in-diagram .edgeLabel").allTextContents();
  for (const label of ["3×", "2 · 1×", "1 · 1×"])
    assert.ok(
      edgeLabels.some((l) => l.trim() === label),
      `an edge labelled ${label} in ${JSON.stringify(edgeLabels)}`,
    );
  await page.screenshot({ path: `${SHOTS}insights-bank.png`, fullPage: true });

  // Errors in plain words: an unknown flow, a date the worker cannot read, no worker.
  await page.fill("#in-flow", "no_such_flow");
  await showInsights(page);
  assert.match(await page.locator("#in-error").innerText(), /The worker has no flow named “no_such_flow”/);
  assert.equal(await page.locator("#in-diagram svg").count(), 0);
  await page.fill("#in-flow", "bank");
  await page.fill("#in-since", "yesterday");
  await showInsights(page);
  assert.match(await page.locator("#in-error").innerText(), /The date range is not understood: since must be an ISO 8601 date or date-time/);
  await page.fill("#in-since", "");
  await page.fill("#in-until", "");
  await showInsights(page);
  assert.equal(await page.locator("#in-error").innerText(), "");
  assert.deepEqual(errors, []);
  await page.close();

  // No worker; a worker whose records database has no tables (migrations not applied).
  const none = await startPhone({ workerUrl: "http://127.0.0.1:9", secrets: FAKE_SECRETS, port: 0 });
  const unmigrated = await startPhone({
    worker: { fetch: async () => Response.json({ error: { code: "store_unavailable", message: "D1 batch: no such table: calls" } }, { status: 503 }) },
    secrets: FAKE_SECRETS,
    port: 0,
  });
  try {
    for (const [server, expected] of /** @type {Array<[{ url: string }, RegExp]>} */ ([
      [none, /The worker is not answering: cannot reach the worker at http:\/\/127\.0\.0\.1:9.*Is it running \(npm run dev\)\?/],
      [unmigrated, /The worker's call records database failed: D1 batch: no such table: calls\. Locally, have its migrations been applied\?/],
    ])) {
      const other = await browser.newPage();
      other.setDefaultTimeout(STEP_MS);
      await other.goto(`${server.url}?mute#insights`);
      await other.locator("#in-error").filter({ hasText: expected }).waitFor();
      assert.equal(await other.locator("#in-totals").innerText(), "");
      await other.close();
    }
  } finally {
    await none.close();
    await unmigrated.close();
  }
});

test("insights: a campaign's state, its funnel and what its callees pressed", { timeout: 60_000 }, async () => {
  const auth = { authorization: `Bearer ${SECRETS.API_TOKEN}`, "content-type": "application/json" };
  const numbers = ["15555550401", "15555550402", "15555550403"];
  const res = await w.fetch("/campaigns", {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ flow: "reminder", numbers: numbers.map((n, i) => ({ to: `+${n}`, vars: { name: `P${i}`, when: "Friday" } })) }),
  });
  assert.equal(res.status, 202);
  const { campaign_id: id } = await res.json();
  // The three dials, claimed here so that no later call of this file takes them for its own.
  const dials = [];
  for (let i = 0; i < 3; i++) dials.push(await api.nextDial(20_000));
  const event = (dial, name, data) =>
    postEvent(w, name, dial.reference_id, { from: "15555551212", to: dial.params.to, ...data }, { external_id: dial.params.external_id });
  const byNumber = Object.fromEntries(dials.map((d) => [d.params.to, d]));
  for (const [to, key] of [
    [numbers[0], "1"],
    [numbers[1], "2"],
  ]) {
    await event(byNumber[to], "dial_completed", { status: "answered" });
    await event(byNumber[to], "speak_completed", { status: "speak_successful", collected_digits: key });
    await event(byNumber[to], "call_completed", { direction: "outbound", status: "hangup", duration: 12 });
  }
  await event(byNumber[numbers[2]], "dial_completed", { status: "failed" });

  const { page, errors } = await openPhone();
  await page.click("#tab-insights");
  await page.fill("#in-campaign", id);
  await page.click("#in-campaign-show");
  await page.locator("#in-campaign-state").waitFor();
  assert.equal(await page.locator("#in-campaign-state").innerText(), "reminder: running, finished, 3 numbers");
  const funnel = await page.locator("#in-campaign-funnel tr").evaluateAll((rows) => rows.map((r) => [r.dataset.stage, r.dataset.n]));
  assert.deepEqual(funnel, [
    ["numbers", "3"],
    ["dialled", "3"],
    ["answered", "2"],
    ["completed", "2"],
    ["not reached", "1"],
  ]);
  assert.equal(await page.locator("#in-campaign-answers li[data-step=reminder]").innerText(), "reminder: 1 ×1, 2 ×1");
  assert.match(await page.locator("#in-campaign-view").innerText(), /dial_failed: 1/);
  await page.screenshot({ path: `${SHOTS}insights-campaign.png`, fullPage: true });
  // A campaign that waits says why and until when.
  const later = await w.fetch("/campaigns", {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ flow: "reminder", numbers: ["+15555550404"], vars: { name: "P", when: "Friday" }, start_at: "2099-01-01T00:00:00Z" }),
  });
  const { campaign_id: waiting } = await later.json();
  await page.fill("#in-campaign", waiting);
  await page.click("#in-campaign-show");
  await page.locator("#in-campaign-state").filter({ hasText: "waiting" }).waitFor();
  assert.equal(await page.locator("#in-campaign-state").innerText(), "reminder: running, waiting for its start until 2099-01-01T00:00:00Z, 1 numbers");
  await page.fill("#in-campaign", "0123456789abcdef0123456789abcdef");
  await page.click("#in-campaign-show");
  await page.locator("#in-campaign-error").filter({ hasText: "No campaign has the id" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});
