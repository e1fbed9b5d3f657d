// The soak in small (the long one is `npm run soak -- --calls 500`, scripts/soak.mjs): 60 calls at
// once over every sample flow, played by the call simulator against the release build in workerd,
// some events delivered twice, some late. Every call must end with exactly one call record holding
// the keys pressed, no session may be left, and no request may get a 5xx.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { checkCall, enteredAnswers, FLOWS, formatReport, planCalls, pressedDigits, runSoak, SCENARIOS } from "../../scripts/soak.mjs";
import { ScriptedCaller, parseLegAnswers } from "../../scripts/simulator/keys.mjs";
import { simulateCall } from "../../scripts/simulator/simulator.mjs";

const CALLS = 60;

describe("soak", () => {
  test(`${CALLS} concurrent calls over every flow, with duplicates and late events: nothing lost`, async () => {
    const started = Date.now();
    const report = await runSoak({ calls: CALLS, concurrency: CALLS, seed: 1, deadlineMs: 25_000 });
    const text = formatReport(report);
    assert.deepEqual(report.problems, [], text);
    const f = report.figures;
    assert.equal(f.calls_run, CALLS, text);
    assert.equal(f.records_checked, CALLS, text);
    assert.equal(f.status_5xx, 0, text);
    assert.equal(f.sessions_left, 0, text);
    assert.equal(f.pending_left, 0, text);
    assert.equal(f.data_lost, 0, text);
    assert.equal(f.flows_covered, [...FLOWS].sort().join(", "), text);
    assert.ok(f.duplicates_delivered >= 5, `too few duplicates to mean anything\n${text}`);
    assert.ok(f.reordered_deliveries >= 5, `too few late events to mean anything\n${text}`);
    assert.ok(f.balance_lookups > 0, text);
    assert.ok(Date.now() - started < 30_000, `the small soak took over 30 s\n${text}`);
  });

  test("the plan is reproducible and walks every scenario", () => {
    const a = planCalls({ calls: CALLS, seed: 7 });
    const b = planCalls({ calls: CALLS, seed: 7 });
    assert.deepEqual(
      a.map((p) => [p.duplicate, p.reorder]),
      b.map((p) => [p.duplicate, p.reorder]),
    );
    assert.deepEqual(new Set(a.map((p) => p.scenario)), new Set(SCENARIOS));
    assert.equal(new Set(a.map((p) => p.from)).size, CALLS);
  });

  test("the checker catches a lost answer, a wrong outcome, a missing record and a simulator failure", () => {
    const plan = planCalls({ calls: 1 })[0]; // bank: balance, then hang up
    const press = (n, reply, digits) => ({ n, event: { event: "speak_completed", data: { collected_digits: digits } }, reply });
    const menu = { method: "speak", params: { collect_digits: { max: 1 } } };
    const gather = { method: "speak", params: { collect_digits: { max: 8, terminators: "#" } } };
    const exchange = [
      { n: 1, event: { event: "incoming_call", data: {} }, reply: { method: "speak", params: {} } },
      { n: 2, event: { event: "speak_completed", data: { collected_digits: "" } }, reply: menu },
      press(3, gather, "1"),
      // A duplicate the worker answered as a redelivery: not a key press.
      { n: 3, duplicate: true, reply: gather },
      press(4, { method: "speak", params: {} }, "12345674#"),
    ];
    assert.deepEqual(pressedDigits(exchange), ["1", "12345674"]);

    const result = { reference: "R1", failures: [], exchange };
    const good = {
      reference_id: "R1",
      flow: "bank",
      outcome: "caller_hung_up",
      // The account number is a sensitive entry: kept as its mask.
      answers: plan.scenario.answers.map(([step, digits, result]) => ({ step, digits, result, ...(digits.includes("*") ? { sensitive: true } : {}) })),
      visited: plan.scenario.visited,
      vars: plan.scenario.vars,
    };
    assert.deepEqual(checkCall(plan, result, good), { problems: [], lost: false });

    const lostAnswer = checkCall(plan, result, { ...good, answers: good.answers.slice(1) });
    assert.equal(lostAnswer.lost, true);
    assert.match(lostAnswer.problems.join("\n"), /answers .* expected/);

    const wrongOutcome = checkCall(plan, result, { ...good, outcome: "completed" });
    assert.equal(wrongOutcome.lost, false);
    assert.match(wrongOutcome.problems.join("\n"), /outcome completed, expected caller_hung_up/);

    assert.deepEqual(checkCall(plan, result, null), { problems: ["no call record call:R1"], lost: true });
    const failed = checkCall(plan, { ...result, failures: ["event 2: boom"] }, good);
    assert.deepEqual(failed.problems, ["simulator: event 2: boom"]);
  });

  test("the checker reads entries as docs/call-behaviour.md keeps them", () => {
    const plain = { method: "speak", params: {} };
    const menu = { method: "speak", params: { collect_digits: { max: 1 } } };
    const gather = { method: "speak", params: { collect_digits: { max: 8, terminators: "#" } } };
    const done = (n, reply, status, digits = "") => ({ n, event: { event: "speak_completed", data: { status, collected_digits: digits } }, reply });
    const exchange = [
      { n: 1, event: { event: "incoming_call", data: {} }, reply: plain },
      // 1 pressed during the welcome: it stops, and the menu takes the 1 at once.
      done(2, gather, "speak_successful", "1"),
      // The terminator alone: an empty entry.
      done(3, gather, "speak_successful", "#"),
      // Keys after the terminator are not part of the entry.
      done(4, plain, "speak_successful", "12#3"),
      // A prompt that could not be played is no entry.
      done(5, menu, "speak_failed"),
      done(6, plain, "digit_collection_timeout"),
    ];
    assert.deepEqual(pressedDigits(exchange), ["1", "", "12", ""]);
    const answer = (step, digits, result, at_ms) => ({ step, digits, result, at_ms });
    const recorded = [
      answer("welcome", "1", "interrupted", 10),
      answer("main_menu", "1", "accepted", 10),
      answer("account_number", "", "no_input", 20),
      answer("account_number", "12", "invalid", 30),
      answer("main_menu", "", "no_input", 40),
    ];
    assert.deepEqual(
      enteredAnswers(recorded).map((a) => a.digits),
      ["1", "", "12", ""],
    );
  });

  // A late call_leg_completed of a leg that ended before (agent 1 did not answer) arrives while
  // the caller is bridged to agent 2: it names agent 1, so it must not ring a third agent.
  test("a late call_leg_completed of an earlier agent while the caller is bridged is stale", async () => {
    const secrets = { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: SECRETS.TELESIGN_API_KEY, apiToken: SECRETS.API_TOKEN };
    const w = await startWorker();
    try {
      const lines = [];
      const r = await simulateCall({
        worker: w,
        secrets,
        caller: new ScriptedCaller([], parseLegAnswers("no,yes")),
        to: "+15555550200",
        reorder: 3,
        testClock: true,
        say: (line) => lines.push(line),
      });
      assert.ok(r.ok, `${r.failures.join("; ")}\n${lines.join("\n")}`);
      assert.equal(r.record.outcome, "bridged");
      // The late event is agent 1's leg (event 2), answered 204 (docs/call-behaviour.md).
      const late = r.exchange.find((e) => e.stale_of != null);
      assert.equal(late.stale_of, 2, lines.join("\n"));
      assert.equal(late.status, 204);
    } finally {
      await w.dispose();
    }
  });
});
