#!/usr/bin/env node
// `npm run soak -- [--calls 500] [--concurrency 500]`: many simulated calls at once against the
// release build in workerd (Miniflare, real local KV), over every sample flow, with some events
// delivered twice and some delivered late, and callers who press keys during plain prompts, press
// the terminator alone, meet prompts Telesign cannot play, or whose hang-up comes as Telesign's
// `hangup` event. Afterwards every call must have exactly one call record whose answers are the
// keys the caller pressed, whose steps, failures and outcome are the ones its flow takes (by
// docs/call-behaviour.md); no session may be left behind and no request may get a 5xx. Exit
// status 0 when all of that holds within the deadline, 1 when not, 2 bad usage.
//
// The calls are played by the call simulator (scripts/simulator/), the same one `npm run call`
// uses, on its test clock (timeouts take no real time): it signs the events, checks every answer
// against Telesign's call-state rules, and for --duplicate / --reorder picks only events the worker
// can tell apart from a genuine next event (Telesign's events carry no id), expecting what
// docs/call-behaviour.md says: a redelivery gets exactly the earlier answer; a late event, the
// prompt the call waits on again (or 204 while a number rings or after the worker hung up); and
// neither changes the call. tests/e2e/soak.test.mjs runs a small soak.

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { SECRETS, startWorker } from "./harness/worker.mjs";
import { ScriptedCaller, parseKeyScript, parseLegAnswers } from "./simulator/keys.mjs";
import { promptStatuses } from "./simulator/rules.mjs";
import { DEFAULT_PATIENCE_MS, simulateCall } from "./simulator/simulator.mjs";
import { FakeTelesignApi } from "./simulator/telesign_api.mjs";
import { positive as positiveNumber } from "./simulator/cli.mjs";

const SIM_SECRETS = {
  customerId: SECRETS.TELESIGN_CUSTOMER_ID,
  apiKey: SECRETS.TELESIGN_API_KEY,
  apiToken: SECRETS.API_TOKEN,
};
/** Where the worker sends its dials: played by one FakeTelesignApi per outbound call. */
const TELESIGN_API_URL = "https://telesign.test/v2/voice";
const CALLER_ID = "+15555551212";
/**
 * How long the soak waits for each answer. The simulator's default (DEFAULT_PATIENCE_MS, 5 s) is our
 * assumption of Telesign's patience (no page gives a number), but hundreds of calls on one workerd
 * process of a small machine queue behind each other: waiting longer keeps a slow machine from
 * passing for lost data, and answers slower than that assumption are counted apart (`slow answers`).
 */
export const SOAK_PATIENCE_MS = 30_000;
/** bank's balance API answers 503 for this account (a Luhn-valid number). */
const UNAVAILABLE_ACCOUNT = "00000000";
/**
 * An account number as records keep it: bank takes it as a sensitive entry (`.keep_last(4)`,
 * tests/flows/bank.rs), so its answer is its mask and no var holds it.
 */
const masked = (account) => `${"*".repeat(account.length - 4)}${account.slice(-4)}`;

const BANK = "+15555551212";
const AGENTS = "+15555550200";

/**
 * The calls the soak places, round robin: what the caller does (`keys`: a key script, see
 * scripts/simulator/keys.mjs; `legs`; `hangupEvent`; outbound `answer`, `early`; `at`, when the call
 * is placed, default the test clock's Monday morning) and what the worker
 * must keep. `answers` are [step, digits, result] in order; `visited` the steps entered; `failures`
 * [step, status] of the prompts Telesign could not play; `vars` values the record must hold.
 * Written from the test flows in tests/flows/ and docs/call-behaviour.md, not from the worker's answers.
 */
export const SCENARIOS = [
  {
    name: "bank: balance, then hang up",
    to: BANK,
    keys: "1,12345674#,hangup",
    outcome: "caller_hung_up",
    answers: [
      ["main_menu", "1", "accepted"],
      ["account_number", masked("12345674"), "accepted"],
    ],
    visited: ["welcome", "main_menu", "account_number", "balance_lookup", "balance", "main_menu"],
    vars: { balance: "1234.56" },
  },
  {
    name: "bank: balance service down, then silence until goodbye",
    to: BANK,
    keys: `1,${UNAVAILABLE_ACCOUNT}#,-,-,-`,
    outcome: "completed",
    answers: [
      ["main_menu", "1", "accepted"],
      ["account_number", masked(UNAVAILABLE_ACCOUNT), "accepted"],
      ["main_menu", "", "no_input"],
      ["main_menu", "", "no_input"],
      ["main_menu", "", "no_input"],
    ],
    visited: ["welcome", "main_menu", "account_number", "balance_lookup", "balance_unavailable", "main_menu", "goodbye"],
  },
  {
    name: "bank: account refused by the Luhn check, then accepted",
    to: BANK,
    keys: "1,12345678#,12345674#,hangup",
    outcome: "caller_hung_up",
    answers: [
      ["main_menu", "1", "accepted"],
      ["account_number", masked("12345678"), "refused"],
      ["account_number", masked("12345674"), "accepted"],
    ],
    visited: ["welcome", "main_menu", "account_number", "balance_lookup", "balance", "main_menu"],
    vars: { balance: "1234.56" },
  },
  {
    name: "bank: activate a card, back, report a lost card",
    to: BANK,
    keys: "2,2,4321,2,1",
    outcome: "completed",
    answers: [
      ["main_menu", "2", "accepted"],
      ["cards_menu", "2", "accepted"],
      ["card_activation", "4321", "accepted"],
      ["main_menu", "2", "accepted"],
      ["cards_menu", "1", "accepted"],
    ],
    visited: ["welcome", "main_menu", "cards_menu", "card_activation", "card_activated", "main_menu", "cards_menu", "card_lost", "goodbye"],
    vars: { card_last4: "4321" },
  },
  {
    name: "bank: silence, a wrong key, silence",
    to: BANK,
    keys: "-,7,-",
    outcome: "completed",
    answers: [
      ["main_menu", "", "no_input"],
      ["main_menu", "7", "invalid"],
      ["main_menu", "", "no_input"],
    ],
    visited: ["welcome", "main_menu", "goodbye"],
  },
  {
    name: "bank: repeat, cards, star back, hang up",
    to: BANK,
    keys: "9,2,*,hangup",
    outcome: "caller_hung_up",
    answers: [
      ["main_menu", "9", "repeat"],
      ["main_menu", "2", "accepted"],
      ["cards_menu", "*", "accepted"],
    ],
    visited: ["welcome", "main_menu", "cards_menu", "main_menu"],
  },
  {
    name: "bank: a short card number, then silence",
    to: BANK,
    keys: "2,2,12,-,-",
    outcome: "completed",
    answers: [
      ["main_menu", "2", "accepted"],
      ["cards_menu", "2", "accepted"],
      ["card_activation", "12", "invalid"],
      ["card_activation", "", "no_input"],
      ["card_activation", "", "no_input"],
    ],
    visited: ["welcome", "main_menu", "cards_menu", "card_activation", "goodbye"],
  },
  {
    name: "bank: the caller hangs up at the menu",
    to: BANK,
    keys: "hangup",
    outcome: "caller_hung_up",
    answers: [],
    visited: ["welcome", "main_menu"],
  },
  {
    // A key stops a plain prompt, and the menu that follows takes it as its answer at once.
    name: "bank: 1 pressed during the welcome, account, hang up",
    to: BANK,
    keys: "!1,12345674#,hangup",
    outcome: "caller_hung_up",
    answers: [
      ["welcome", "1", "interrupted"],
      ["main_menu", "1", "accepted"],
      ["account_number", masked("12345674"), "accepted"],
    ],
    visited: ["welcome", "main_menu", "account_number", "balance_lookup", "balance", "main_menu"],
    vars: { balance: "1234.56" },
  },
  {
    // The terminator alone is no input; the gather has no notice of its own, so it asks again.
    name: "bank: # alone at the account number, then silence until goodbye",
    to: BANK,
    keys: "1,#,-,-",
    outcome: "completed",
    answers: [
      ["main_menu", "1", "accepted"],
      ["account_number", "", "no_input"],
      ["account_number", "", "no_input"],
      ["account_number", "", "no_input"],
    ],
    visited: ["welcome", "main_menu", "account_number", "goodbye"],
  },
  {
    // A prompt Telesign cannot play is tried once more; then a plain prompt goes on to its next
    // step, a menu to its fallback.
    name: "bank: the welcome fails twice, cards, the cards menu fails twice",
    to: BANK,
    keys: "fail,fail,2,fail,fail",
    outcome: "completed",
    answers: [["main_menu", "2", "accepted"]],
    failures: [
      ["welcome", "speak_failed"],
      ["welcome", "speak_failed"],
      ["cards_menu", "speak_failed"],
      ["cards_menu", "speak_failed"],
    ],
    visited: ["welcome", "main_menu", "cards_menu", "goodbye"],
  },
  {
    name: "bank: the caller hangs up at the cards menu, Telesign posts `hangup`",
    to: BANK,
    keys: "2,hangup",
    hangupEvent: true,
    outcome: "caller_hung_up",
    answers: [["main_menu", "2", "accepted"]],
    visited: ["welcome", "main_menu", "cards_menu"],
  },
  {
    name: "agents: nobody answers, apology",
    to: AGENTS,
    legs: "no,busy,no",
    outcome: "no_answer",
    answers: [],
    visited: ["office_hours", "agents", "apology"],
  },
  {
    name: "agents: outside opening hours, the caller hears them",
    to: AGENTS,
    at: Date.UTC(2026, 11, 5, 19, 0, 0), // Saturday 14:00 in New York, after Saturday's hours
    outcome: "completed",
    answers: [],
    visited: ["office_hours", "closed"],
  },
  {
    name: "agents: the second agent answers, then hangs up",
    to: AGENTS,
    legs: "no,yes",
    outcome: "bridged",
    answers: [],
    visited: ["office_hours", "agents"],
  },
  {
    name: "agents: the caller hangs up while bridged",
    to: AGENTS,
    keys: "hangup",
    legs: "yes",
    outcome: "bridged",
    answers: [],
    visited: ["office_hours", "agents"],
  },
  {
    name: "reminder: hear it again, confirm",
    outbound: "reminder",
    keys: "9,1",
    outcome: "completed",
    answers: [
      ["reminder", "9", "repeat"],
      ["reminder", "1", "accepted"],
    ],
    visited: ["reminder", "confirmed"],
    vars: { choice: "confirmed" },
  },
  {
    name: "reminder: a wrong key, cancel",
    outbound: "reminder",
    keys: "5,2",
    outcome: "completed",
    answers: [
      ["reminder", "5", "invalid"],
      ["reminder", "2", "accepted"],
    ],
    visited: ["reminder", "cancelled"],
    vars: { choice: "cancelled" },
  },
  {
    name: "reminder: no answer at all",
    outbound: "reminder",
    keys: "-,-,-",
    outcome: "completed",
    answers: [
      ["reminder", "", "no_input"],
      ["reminder", "", "no_input"],
      ["reminder", "", "no_input"],
    ],
    visited: ["reminder", "no_response"],
  },
  {
    name: "reminder: picked up before Telesign's 202 reached the worker, confirm",
    outbound: "reminder",
    early: true,
    keys: "1",
    outcome: "completed",
    answers: [["reminder", "1", "accepted"]],
    visited: ["reminder", "confirmed"],
    vars: { choice: "confirmed" },
  },
  {
    name: "reminder: nobody picks up",
    outbound: "reminder",
    answer: false,
    outcome: "dial_failed",
    answers: [],
    visited: [],
  },
];

/** The flows the scenarios cover. */
export const FLOWS = ["bank", "forwarding", "reminder"];

function flowOf(scenario) {
  if (scenario.outbound) return scenario.outbound;
  return scenario.to === AGENTS ? "forwarding" : "bank";
}

/** A small seeded PRNG (mulberry32), so that a soak can be run again exactly. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The plan of every call: its scenario (round robin, so every flow is covered), its numbers, and
 * the event after which the simulator delivers a duplicate or a late earlier event (or null).
 */
export function planCalls({ calls, seed = 1, duplicateRate = 0.35, reorderRate = 0.35 }) {
  const rng = random(seed);
  const pick = (rate) => (rng() < rate ? 1 + Math.floor(rng() * 6) : null);
  return Array.from({ length: calls }, (_, i) => {
    const scenario = SCENARIOS[i % SCENARIOS.length];
    return {
      index: i,
      scenario,
      flow: flowOf(scenario),
      // Distinct numbers: the fake Telesign API hands each dial to the call that asked for it.
      from: `+1555${8000000 + i}`,
      to: scenario.outbound ? `+1555${7000000 + i}` : scenario.to,
      vars: scenario.outbound ? { name: `Caller ${i}`, when: "Tuesday at 2 PM" } : undefined,
      duplicate: pick(duplicateRate),
      reorder: pick(reorderRate),
    };
  });
}

/**
 * The entries the caller made, as the worker should record them (docs/call-behaviour.md), in order:
 * at a prompt that collects digits, the keys of its completion up to the first terminator (nothing,
 * or a terminator alone, is an empty entry: no input); at a plain prompt, the key that stopped it.
 * A prompt Telesign could not play is no entry. Read from the simulator's exchange, leaving out the
 * duplicates and late deliveries it injected (the worker must have answered those as redeliveries
 * or late events, not as key presses).
 */
export function pressedDigits(exchange) {
  const events = exchange.filter((e) => e.n != null && e.event && !e.duplicate && e.stale_of == null).sort((a, b) => a.n - b.n);
  const pressed = [];
  for (let i = 1; i < events.length; i++) {
    const prompt = events[i - 1].reply;
    const { event, data } = events[i].event;
    if (!prompt || (event !== "speak_completed" && event !== "play_completed")) continue;
    if (data.status === promptStatuses(prompt.method)?.failure) continue;
    const keys = data.collected_digits ?? "";
    const collect = prompt.params?.collect_digits;
    if (!collect) {
      if (keys !== "") pressed.push(keys);
      continue;
    }
    const terminators = collect.terminators ?? "";
    const end = [...keys].findIndex((c) => terminators.includes(c));
    pressed.push(end < 0 ? keys : keys.slice(0, end));
  }
  return pressed;
}

/**
 * Whether a sensitive entry's mask (`****5674`) is of the keys pressed, which the simulator shows
 * masked too (`********`): the same length, and the same key wherever both show one.
 */
function sameMasked(mask, pressed) {
  return mask.length === pressed.length && [...mask].every((c, i) => c === "*" || pressed[i] === "*" || c === pressed[i]);
}

/**
 * The record's answers without the copies a type-ahead makes: keys that stopped a plain prompt are
 * kept as `interrupted` there and, in the same event, as the answer of the menu that follows.
 */
export function enteredAnswers(answers) {
  return answers.filter((a, i) => {
    const before = answers[i - 1];
    return !(before && before.result === "interrupted" && before.at_ms === a.at_ms && before.digits === a.digits);
  });
}

/**
 * What is wrong with one call: its simulation, its record (the `calls` row in D1,
 * or null) against its plan. An empty list is a call that went right. `lost` says whether the
 * problems lose data (no record, or answers other than those pressed).
 */
export function checkCall(plan, result, record) {
  const problems = [...result.failures.map((f) => `simulator: ${f}`)];
  let lost = false;
  const { scenario } = plan;
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (!result.reference) {
    return { problems: [...problems, "the call was never placed"], lost: true };
  }
  if (!record) {
    return { problems: [...problems, `no call record call:${result.reference}`], lost: true };
  }
  if (record.reference_id !== result.reference) problems.push(`record of ${record.reference_id}`);
  if (record.flow !== plan.flow) problems.push(`flow ${record.flow}, expected ${plan.flow}`);
  if (record.outcome !== scenario.outcome) problems.push(`outcome ${record.outcome}, expected ${scenario.outcome}`);
  const answers = (record.answers ?? []).map((a) => [a.step, a.digits, a.result]);
  if (!same(answers, scenario.answers)) {
    problems.push(`answers ${JSON.stringify(answers)}, expected ${JSON.stringify(scenario.answers)}`);
    lost = true;
  }
  const pressed = pressedDigits(result.exchange);
  const kept = enteredAnswers(record.answers ?? []);
  const entered = kept.map((a) => a.digits);
  const matches = entered.length === pressed.length && kept.every((a, i) => (a.sensitive ? sameMasked(a.digits, pressed[i]) : a.digits === pressed[i]));
  if (!matches) {
    problems.push(`recorded digits ${JSON.stringify(entered)}, pressed ${JSON.stringify(pressed)}`);
    lost = true;
  }
  const failures = (record.failures ?? []).map((f) => [f.step, f.status]);
  if (!same(failures, scenario.failures ?? [])) {
    problems.push(`failures ${JSON.stringify(failures)}, expected ${JSON.stringify(scenario.failures ?? [])}`);
  }
  if (!same(record.visited, scenario.visited)) {
    problems.push(`visited ${JSON.stringify(record.visited)}, expected ${JSON.stringify(scenario.visited)}`);
  }
  const vars = { ...(plan.vars ?? {}), ...(scenario.vars ?? {}) };
  for (const [name, value] of Object.entries(vars)) {
    if (record.vars?.[name] !== value) {
      problems.push(`var ${name} = ${JSON.stringify(record.vars?.[name])}, expected ${JSON.stringify(value)}`);
      lost = true;
    }
  }
  return { problems, lost };
}

/** Every key name of the KV namespace, page by page. */
async function allKeys(kv) {
  const keys = [];
  let cursor;
  do {
    const page = await kv.list({ cursor, limit: 1000 });
    keys.push(...page.keys.map((k) => k.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return keys;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Runs a soak and resolves to its report: the figures, and every problem found (none on success).
 * Starts its own worker (the release build in build/) and disposes of it.
 *
 * @param {{ calls?: number, concurrency?: number, seed?: number, patienceMs?: number,
 *   deadlineMs?: number, log?: (line: string) => void }} [options]
 */
export async function runSoak({ calls = 500, concurrency = calls, seed = 1, patienceMs = SOAK_PATIENCE_MS, deadlineMs = 10 * 60 * 1000, log = () => {} } = {}) {
  const started = Date.now();
  const plans = planCalls({ calls, seed });
  const apis = new Map();
  const stats = { requests: 0, byStatus: {}, fiveXX: [], latencies: [], unexpectedOutbound: 0, balanceLookups: 0 };

  async function outboundService(request) {
    const url = new URL(request.url);
    if (url.hostname === "bank.example.com") {
      stats.balanceLookups++;
      const account = url.pathname.split("/")[3];
      if (account === UNAVAILABLE_ACCOUNT) return new Response("down for maintenance", { status: 503 });
      return Response.json({ balance: "1234.56" });
    }
    if (url.origin === new URL(TELESIGN_API_URL).origin) {
      const text = await request.text();
      let to;
      try {
        to = JSON.parse(text)?.params?.to;
      } catch {
        to = undefined;
      }
      const api = apis.get(to);
      const again = new Request(request.url, { method: request.method, headers: request.headers, body: text });
      if (api) return api.fetch(again);
    }
    stats.unexpectedOutbound++;
    return new Response("unexpected outbound request", { status: 599 });
  }

  const w = await startWorker({ outboundService, bindings: { TELESIGN_API_URL, CALLER_ID } });
  // Every request the simulator sends goes through here: statuses and latencies.
  const worker = {
    async fetch(path, init) {
      const t0 = Date.now();
      const res = await w.fetch(path, init);
      stats.latencies.push(Date.now() - t0);
      stats.requests++;
      stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
      if (res.status >= 500) stats.fiveXX.push(`${init?.method ?? "GET"} ${path}: ${res.status}`);
      return res;
    },
  };

  const results = new Array(plans.length);
  let next = 0;
  let deadlinePassed = false;
  async function lane() {
    while (next < plans.length) {
      if (Date.now() - started > deadlineMs) {
        deadlinePassed = true;
        return;
      }
      const plan = plans[next++];
      results[plan.index] = await runCall(plan);
      const done = results.filter(Boolean).length;
      if (done % 100 === 0) log(`  ${done} calls done`);
    }
  }
  async function runCall(plan) {
    const { scenario } = plan;
    const caller = new ScriptedCaller(parseKeyScript(scenario.keys ?? ""), parseLegAnswers(scenario.legs ?? ""));
    let outbound = null;
    if (scenario.outbound) {
      const api = new FakeTelesignApi(SIM_SECRETS);
      apis.set(plan.to.replace(/\D/g, ""), api);
      outbound = {
        flow: scenario.outbound,
        to: plan.to,
        vars: plan.vars,
        api,
        answer: scenario.answer ?? true,
        early: scenario.early ?? false,
      };
    }
    return simulateCall({
      worker,
      secrets: SIM_SECRETS,
      caller,
      from: plan.from,
      to: plan.to,
      outbound,
      duplicate: plan.duplicate,
      reorder: plan.reorder,
      hangupEvent: scenario.hangupEvent ?? false,
      testClock: true,
      ...(scenario.at != null ? { startMs: scenario.at } : {}),
      patienceMs,
    });
  }

  const problems = [];
  const figures = {};
  try {
    log(`soak: ${plans.length} calls, ${Math.min(concurrency, plans.length)} at a time`);
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, plans.length)) }, lane));
    const soakMs = Date.now() - started;

    const kv = await w.kv();
    const kvKeys = await allKeys(kv);
    let recordsChecked = 0;
    let lost = 0;
    let events = 0;
    let duplicates = 0;
    let reordered = 0;
    const flows = new Set();
    for (const plan of plans) {
      const result = results[plan.index];
      if (!result) continue;
      for (const e of result.exchange) {
        if (e.n == null) continue;
        events++;
        if (e.duplicate) duplicates++;
        if (e.stale_of != null) reordered++;
      }
      const record = result.reference ? await w.record(result.reference) : null;
      if (record) recordsChecked++;
      const check = checkCall(plan, result, record);
      if (check.lost) lost++;
      flows.add(plan.flow);
      for (const p of check.problems) problems.push(`call ${plan.index} (${plan.scenario.name}, ${result.reference}): ${p}`);
    }
    const finished = results.filter(Boolean).length;
    if (deadlinePassed) problems.push(`deadline of ${deadlineMs} ms passed: ${plans.length - finished} calls never started`);

    const references = new Set(results.filter(Boolean).map((r) => r.reference));
    const byPrefix = (prefix) => kvKeys.filter((k) => k.startsWith(prefix));
    // Sessions live in KV or in Durable Objects: ask the call API whether any call is still live.
    const live = [];
    for (const reference of references) {
      if (await w.session(reference)) live.push(reference);
    }
    const sessionsLeft = live.length + byPrefix("session:").length;
    const pendingLeft = byPrefix("pending:").length;
    const recorded = (await (await w.db()).prepare("SELECT reference_id FROM calls").all()).results;
    const strayRecords = recorded.map((r) => r.reference_id).filter((id) => !references.has(id));
    const outboxLeft = byPrefix("call:").length;
    if (outboxLeft) problems.push(`${outboxLeft} records left in the KV outbox: D1 refused them`);
    if (sessionsLeft) problems.push(`${sessionsLeft} sessions left behind: ${[...live, ...byPrefix("session:")].slice(0, 5).join(", ")}`);
    if (pendingLeft) problems.push(`${pendingLeft} pending outbound entries left behind`);
    if (strayRecords.length) problems.push(`${strayRecords.length} call records of no call placed: ${strayRecords.slice(0, 5).join(", ")}`);
    for (const f of stats.fiveXX.slice(0, 20)) problems.push(`5xx: ${f}`);
    if (stats.unexpectedOutbound) problems.push(`${stats.unexpectedOutbound} unexpected outbound requests from the worker`);

    const latencies = [...stats.latencies].sort((a, b) => a - b);
    Object.assign(figures, {
      calls_planned: plans.length,
      calls_run: finished,
      concurrency: Math.min(concurrency, plans.length),
      flows_covered: [...flows].sort().join(", "),
      requests: stats.requests,
      statuses: Object.entries(stats.byStatus)
        .map(([status, n]) => `${status}: ${n}`)
        .join(", "),
      events,
      duplicates_delivered: duplicates,
      reordered_deliveries: reordered,
      faults_injected: duplicates + reordered,
      balance_lookups: stats.balanceLookups,
      records_checked: recordsChecked,
      status_5xx: stats.fiveXX.length,
      sessions_left: sessionsLeft,
      pending_left: pendingLeft,
      data_lost: lost,
      slow_answers: `${latencies.filter((ms) => ms > DEFAULT_PATIENCE_MS).length} over ${DEFAULT_PATIENCE_MS / 1000} s (our assumption of Telesign's patience)`,
      latency_ms: `p50 ${percentile(latencies, 50)}, p99 ${percentile(latencies, 99)}, max ${latencies.at(-1) ?? 0}`,
      seconds: Math.round(soakMs / 100) / 10,
    });
  } finally {
    await w.dispose();
  }
  return { ok: problems.length === 0, figures, problems };
}

/** The report, one figure per line, then the problems. */
export function formatReport({ ok, figures, problems }) {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  const lines = Object.entries(figures).map(([k, v]) => `  ${k.replaceAll("_", " ").padEnd(width)}  ${v}`);
  lines.unshift("soak figures:");
  if (problems.length) {
    lines.push(`${problems.length} problems:`);
    lines.push(...problems.slice(0, 50).map((p) => `  - ${p}`));
    if (problems.length > 50) lines.push(`  ... and ${problems.length - 50} more`);
  }
  lines.push(ok ? "ok: every call has its one complete record, nothing was lost" : "FAILED");
  return lines.join("\n");
}

const USAGE = `usage: npm run soak -- [options]

  --calls N          simulated calls (default 500)
  --concurrency N    calls in flight at once (default: all of them)
  --seed N           which calls get a duplicate or late event (default 1; same seed, same soak)
  --patience MS      how long each answer may take (default ${SOAK_PATIENCE_MS}; answers slower than
                     ${DEFAULT_PATIENCE_MS} ms, our assumption of Telesign's patience, are counted
                     as slow answers either way)
  --deadline S       stop starting calls after S seconds (default 600)
  --help`;

const positive = (name, text) => positiveNumber(USAGE, name, text);

async function main() {
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        calls: { type: "string", default: "500" },
        concurrency: { type: "string" },
        seed: { type: "string", default: "1" },
        patience: { type: "string", default: String(SOAK_PATIENCE_MS) },
        deadline: { type: "string", default: "600" },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    console.error(`${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const calls = positive("calls", args.calls);
  const report = await runSoak({
    calls,
    concurrency: args.concurrency ? positive("concurrency", args.concurrency) : calls,
    seed: positive("seed", args.seed),
    patienceMs: positive("patience", args.patience),
    deadlineMs: positive("deadline", args.deadline) * 1000,
    log: (line) => console.log(line),
  });
  console.log(formatReport(report));
  process.exitCode = report.ok ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
