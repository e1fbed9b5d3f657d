#!/usr/bin/env node
// `npm run call -- [options]`: try a call flow without a phone. Plays Telesign against a running
// worker (`npm run dev`, or a deployed one with --url): an inbound call by default, or an outbound
// one placed through the worker's POST /calls. Exit status: 0 the call ran by the rules, 1 it did not
// (a forbidden action, an error, silence where an action is due, an answer later than --patience),
// 2 bad usage.

import { parseArgs } from "node:util";
import { InteractiveCaller, ScriptedCaller, parseKeyScript, parseLegAnswers } from "./simulator/keys.mjs";
import { DEFAULT_FROM, DEFAULT_PATIENCE_MS, DEFAULT_TO, simulateCall, urlWorker } from "./simulator/simulator.mjs";
import { FakeTelesignApi } from "./simulator/telesign_api.mjs";
import { positive as positiveNumber, readDevVars, usageExit } from "./simulator/cli.mjs";
import { describeFlows, dialPlan, fetchFlows, numberOf } from "./simulator/flows.mjs";

const USAGE = `usage: npm run call -- [options]

  --url URL            the worker (default http://127.0.0.1:8787, the one \`npm run dev\` serves)
  --flows              list the worker's flows (GET /flows): the numbers that reach each inbound
                       flow, the vars each outbound flow needs; then exit
  --flow NAME          inbound: call the number that reaches the flow NAME (from GET /flows)
  --from NUMBER        inbound: the caller (default ${DEFAULT_FROM})
  --to NUMBER          inbound: the number called, which picks the flow (default ${DEFAULT_TO});
                       outbound: the number to call
  --keys LIST          what the caller does, prompt after prompt: "1,12345674#,-,hangup".
                       At each prompt that collects digits: digits * # are pressed (# alone is
                       the terminator alone); - or timeout = no input; hangup = the caller hangs
                       up; KEYS+hangup = the keys, then a hang-up at once, while the worker is
                       still answering them. Taken by the next prompt, plain or collecting:
                       !K = the key K pressed while it plays (a plain prompt stops at it);
                       fail = Telesign cannot play it (speak_failed / playback_failed).
                       Without --keys you type the keys, one prompt at a time.
  --answer-legs LIST   what each dialled number does, in turn: yes, no or busy ("no,no,yes");
                       default yes (asked when typing keys)
  --hangup-event       the call ends with Telesign's \`hangup\` event instead of call_completed
  --outbound FLOW      place an outbound call of FLOW through the worker's POST /calls
  --var NAME=VALUE     a variable of the outbound call (repeat for more)
  --caller-id NUMBER   outbound: the caller id to ask for (default: the worker's CALLER_ID)
  --no-answer          outbound: the called person does not pick up
  --early-answer       outbound: the called person picks up, and Telesign posts dial_completed,
                       before Telesign's 202 reached the worker
  --api-port PORT      outbound: port of the simulated Telesign API (default 8788); the worker's
                       TELESIGN_API_URL must be http://127.0.0.1:PORT/v2/voice
  --duplicate N        deliver event N (or the first later one that can be told apart from a new
                       event) twice: the second must get exactly the first answer
  --reorder N          after event N, deliver an earlier event again, late: while the caller
                       hears a prompt it must get exactly that prompt again; while a number rings
                       or is bridged, or after the worker hung up, 204; either way the call must
                       not change
  --test-clock         send each event's simulated time (x-test-clock-ms) instead of waiting
                       for real before timeouts; only a worker with a TEST_CLOCK service binding
                       (the test harness's) honours it
  --at TIME            with --test-clock: start the simulated clock at TIME (ISO 8601, e.g.
                       2026-12-05T19:00:00Z; default Monday 2026-12-07 10:00 in New York)
  --patience MS        how long to wait for each answer (default ${DEFAULT_PATIENCE_MS}: our
                       assumption of Telesign's patience; no Telesign page gives a number)
  --dev-vars FILE      where the secrets are (default .dev.vars)
  --json               print the raw exchange as JSON instead of the transcript
  --help`;

/** @type {(message?: string) => never} */
const usage = (message) => usageExit(USAGE, message);
const positive = (name, text) => positiveNumber(USAGE, name, text);

/** `--at`: an ISO 8601 time, as milliseconds since the epoch, or usage and exit 2. */
function instant(text) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(text)) usageExit(USAGE, `--at takes an ISO 8601 time such as 2026-12-05T19:00:00Z, not \`${text}\``);
  return ms;
}

async function main() {
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        url: { type: "string", default: "http://127.0.0.1:8787" },
        flows: { type: "boolean", default: false },
        flow: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        keys: { type: "string" },
        "answer-legs": { type: "string" },
        outbound: { type: "string" },
        var: { type: "string", multiple: true, default: [] },
        "caller-id": { type: "string" },
        "no-answer": { type: "boolean", default: false },
        "early-answer": { type: "boolean", default: false },
        "hangup-event": { type: "boolean", default: false },
        "test-clock": { type: "boolean", default: false },
        at: { type: "string" },
        "api-port": { type: "string", default: "8788" },
        duplicate: { type: "string" },
        reorder: { type: "string" },
        patience: { type: "string" },
        "dev-vars": { type: "string", default: ".dev.vars" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    usage(e.message);
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }

  let devVars = {};
  try {
    devVars = readDevVars(args["dev-vars"]);
  } catch (e) {
    if (e.code !== "ENOENT" || args["dev-vars"] !== ".dev.vars") usage(`cannot read ${args["dev-vars"]}: ${e.message}`);
  }
  const secret = (name) => process.env[name] || devVars[name];
  const secrets = {
    customerId: secret("TELESIGN_CUSTOMER_ID"),
    apiKey: secret("TELESIGN_API_KEY"),
    apiToken: secret("API_TOKEN"),
  };
  if (!secrets.customerId || !secrets.apiKey) {
    usage("TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY are needed to sign events: put them in .dev.vars (`. scripts/setup.sh` creates it) or the environment");
  }

  const worker = urlWorker(args.url);
  // What the worker's flows are, when the options need it: asked of the worker itself.
  let catalogue = null;
  if (args.flows || args.flow != null || args.outbound) {
    if (!secrets.apiToken) usage("API_TOKEN is needed to read the worker's flows (GET /flows): put it in .dev.vars or the environment");
    try {
      catalogue = await fetchFlows(worker, secrets.apiToken);
    } catch (e) {
      if (args.flows || args.flow != null) usage(`cannot read the worker's flows at ${args.url}: ${e.cause?.message ?? e.message}`);
    }
  }
  if (args.flows) {
    for (const line of describeFlows(catalogue)) console.log(line);
    return 0;
  }
  if (args.flow != null) {
    if (args.outbound) usage("--flow is for inbound calls; an outbound call names its flow with --outbound");
    if (args.to) usage("--flow and --to both say which number to call: give one");
    args.to = numberOf(dialPlan(catalogue), args.flow) ?? usage(`no inbound flow \`${args.flow}\` in the worker: \`npm run call -- --flows\` lists them`);
  }

  let legAnswers = [];
  /** @type {any} A ScriptedCaller, or an InteractiveCaller (which has `close`). */
  let caller;
  try {
    legAnswers = args["answer-legs"] ? parseLegAnswers(args["answer-legs"]) : [];
    caller = args.keys != null ? new ScriptedCaller(parseKeyScript(args.keys), legAnswers) : null;
  } catch (e) {
    usage(e.message);
  }
  // The transcript goes to stderr in --json mode so stdout stays one JSON document.
  /** @type {NodeJS.WriteStream} */
  const out = args.json ? process.stderr : process.stdout;
  caller ??= new InteractiveCaller({ output: out, legAnswers });

  let outbound = null;
  let api = null;
  if (!args.outbound && args["early-answer"]) usage("--early-answer is for --outbound calls");
  if (args.outbound) {
    if (!args.to) usage("--outbound needs --to, the number to call");
    const vars = {};
    for (const pair of args.var) {
      const eq = pair.indexOf("=");
      if (eq < 1) usage(`--var takes NAME=VALUE, not \`${pair}\``);
      vars[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const needed = catalogue?.flows?.find((f) => f.name === args.outbound && f.direction === "outbound");
    if (catalogue && !needed) usage(`no outbound flow \`${args.outbound}\` in the worker: \`npm run call -- --flows\` lists them`);
    const missing = (needed?.needs ?? []).filter((v) => !(v in vars));
    if (missing.length) usage(`the flow ${args.outbound} needs ${missing.map((v) => `--var ${v}=...`).join(" ")}`);
    api = new FakeTelesignApi(secrets);
    const port = Number(args["api-port"]);
    let apiUrl;
    try {
      apiUrl = await api.listen(port);
    } catch (e) {
      usage(`cannot serve the simulated Telesign API on port ${port}: ${e.message}`);
    }
    out.write(`simulated Telesign API on ${apiUrl} (the worker's TELESIGN_API_URL must point here)\n`);
    if (args["no-answer"] && args["early-answer"]) usage("--no-answer and --early-answer contradict each other");
    outbound = {
      flow: args.outbound,
      to: args.to,
      vars,
      callerId: args["caller-id"],
      api,
      answer: !args["no-answer"],
      early: args["early-answer"],
    };
  }

  if (args.at != null && !args["test-clock"]) usage("--at needs --test-clock: without it the worker runs on its own clock");

  let result;
  try {
    result = await simulateCall({
      worker,
      secrets,
      caller,
      from: args.from ?? DEFAULT_FROM,
      to: args.to ?? DEFAULT_TO,
      outbound,
      duplicate: args.duplicate != null ? positive("duplicate", args.duplicate) : null,
      reorder: args.reorder != null ? positive("reorder", args.reorder) : null,
      testClock: args["test-clock"],
      ...(args.at != null ? { startMs: instant(args.at) } : {}),
      hangupEvent: args["hangup-event"],
      patienceMs: args.patience != null ? positive("patience", args.patience) : DEFAULT_PATIENCE_MS,
      say: (line) => out.write(`${line}\n`),
    });
  } finally {
    caller.close?.();
    await api?.close();
  }

  if (args.json) {
    console.log(JSON.stringify({ reference_id: result.reference, ok: result.ok, failures: result.failures, exchange: result.exchange }, null, 2));
  }
  if (!result.ok) {
    out.write(`\nFAILED: ${result.failures.join("; ")}\n`);
    return 1;
  }
  out.write("\nok: every answer followed Telesign's rules\n");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e.stack ?? e.message);
    process.exit(2);
  },
);
