// The dev phone (npm run phone) in a real browser: Debian's chromium through playwright-core, the
// phone server started in-process against the harness worker (on its test clock), outbound calls
// through a fake Telesign API. Screenshots go to target/phone/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";
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
before(async () => {
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
}, { timeout: 60_000 });
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
  if (step) await page.waitForFunction((s) => document.querySelector("#diagram svg")?.dataset.current === s, step);
  await page.keyboard.press(key);
}

const current = (page) => page.locator("#diagram svg").getAttribute("data-current");

test("bank_menu: dial in, press 2 then 1, hear goodbye; the diagram follows, the record shows", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.selectOption("#to", "+15555551212");
  await page.click("#call");
  await page.locator("#hears").filter({ hasText: "Thank you for calling Example Bank." }).waitFor();
  await pressAt(page, "For cards, press 2", "2", "main_menu");
  assert.match(await page.locator("#diagram g.node.current").getAttribute("id"), /flowchart-s_main_menu-/);
  await pressAt(page, "To report a lost or stolen card, press 1", "1", "cards_menu");
  await page.locator("#hears").filter({ hasText: "Your cards are now blocked" }).waitFor();
  await page.waitForFunction(() => document.querySelector("#diagram svg")?.dataset.current === "card_lost");
  assert.equal(await page.locator("#diagram g.node.current").count(), 1);
  assert.match(await page.locator("#diagram g.node.current").getAttribute("id"), /flowchart-s_card_lost-/);
  assert.ok((await page.locator("#diagram g.node.visited").count()) >= 4);
  await page.screenshot({ path: `${SHOTS}bank_menu-card_lost.png`, fullPage: true });
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
  await page.screenshot({ path: `${SHOTS}bank_menu-record.png`, fullPage: true });
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

test("appointment_reminder: an outbound call with vars, confirmed with 1", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.click("#outbound summary");
  await page.fill("#ob-flow", "appointment_reminder");
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
  assert.equal(await page.locator("#flow-name").innerText(), "appointment_reminder");
  await page.screenshot({ path: `${SHOTS}appointment_reminder.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("agent_forwarding: the first agent does not answer, the second does", { timeout: 60_000 }, async () => {
  const { page, errors } = await openPhone();
  await page.selectOption("#to", "+15555550200");
  await page.click("#call");
  const legs = page.locator("#legs button[data-leg=no]");
  await legs.waitFor();
  const first = await legs.innerText();
  await legs.click();
  await page.locator("#legs button[data-leg=yes]").filter({ hasNotText: first.replace(/ no answer$/, "") }).waitFor();
  await page.locator("#legs button[data-leg=yes]").click();
  await page.locator("#legs button[data-leg=agent-hangs-up]").click();
  await page.locator("#record dd[data-field=outcome]").waitFor();
  const transcript = await page.locator("#exchange").innerText();
  assert.match(transcript, /call_leg_completed \(call_not_answered\) → dial/);
  assert.match(transcript, /dial_completed \(answered\)/);
  await page.screenshot({ path: `${SHOTS}agent_forwarding.png`, fullPage: true });
  assert.equal(await page.locator("#error").innerText(), "");
  assert.deepEqual(errors, []);
  await page.close();
});

test("errors in plain words: bad secrets (401), no worker", { timeout: 60_000 }, async () => {
  const bad = await startPhone({ worker: w, secrets: { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: Buffer.from("not-the-worker-key").toString("base64"), apiToken: SECRETS.API_TOKEN }, port: 0 });
  const none = await startPhone({ workerUrl: "http://127.0.0.1:9", secrets: { customerId: "c", apiKey: "a2V5", apiToken: "t" }, port: 0 });
  try {
    for (const [server, expected] of [
      [bad, /refused the signed event \(401\): the secrets in \.dev\.vars are not the worker's[^]*No call record: the worker never took this call/],
      [none, /The worker is not answering at http:\/\/127\.0\.0\.1:9\. Is it running \(npm run dev\)\?/],
    ]) {
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
    assert.deepEqual(audio.events.map((e) => [e.event, e.data.status ?? ""]).slice(0, 2), [["incoming_call", ""], ["play_completed", "playback_failed"]]);
    assert.match(await page.locator("#exchange").innerText(), /caller hears: \(audio\) https:\/\/127\.0\.0\.1:9\/welcome\.mp3/);
    await page.close();

    page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${withForbidden.url}?mute`);
    await page.click("#call");
    await page.locator("#error").filter({ hasText: /The worker's reply breaks Telesign's call-state rules: .*`bogus` may not answer incoming_call/ }).waitFor();
    await page.close();
  } finally {
    await withAudio.close();
    await withForbidden.close();
  }
});
