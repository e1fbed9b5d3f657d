// Your flows (flows/), as `wrangler dev` and `wrangler deploy` build them (build/): whatever they
// are, the worker starts, lists them in GET /flows, and every one of them answers a call by
// Telesign's rules until the caller hangs up. Nothing here knows a flow by name: it holds for any
// set of valid flows, so an owner who edits, renames or deletes the samples keeps it green. The
// project's other tests drive the test flows of tests/flows/ instead (build-test/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, USER_BUILD, startWorker } from "../../scripts/harness/worker.mjs";
import { ScriptedCaller } from "../../scripts/simulator/keys.mjs";
import { simulateCall } from "../../scripts/simulator/simulator.mjs";
import { dialPlan, fetchFlows } from "../../scripts/simulator/flows.mjs";
import { FakeTelesignApi } from "../../scripts/simulator/telesign_api.mjs";

const secrets = { customerId: SECRETS.TELESIGN_CUSTOMER_ID, apiKey: SECRETS.TELESIGN_API_KEY, apiToken: SECRETS.API_TOKEN };
const api = new FakeTelesignApi(secrets);

let w;
let catalogue;
before(async () => {
  // Any HTTP service a flow calls answers 503 here: each flow must cope with that by its rules.
  const outboundService = async (request) =>
    new URL(request.url).hostname === "telesign.test" ? api.fetch(request) : new Response("stand-in", { status: 503 });
  const bindings = { TELESIGN_API_URL: "https://telesign.test/v2/voice", CALLER_ID: "+15554441313" };
  w = await startWorker({ build: USER_BUILD, outboundService, bindings });
  catalogue = await fetchFlows(w, SECRETS.API_TOKEN);
  // The settings your flows declare (GET /flows names them), each given a value as a deploy would.
  const settings = Object.fromEntries(catalogue.flows.flatMap((f) => [...f.config, ...f.secrets]).map((name) => [name, `https://settings.test/${name}`]));
  if (Object.keys(settings).length > 0) {
    await w.dispose();
    w = await startWorker({ build: USER_BUILD, outboundService, bindings: { ...bindings, ...settings } });
  }
});
after(() => w?.dispose());

test("GET /flows lists your flows, each with a diagram, and every inbound one has a number; /healthz is ok", async () => {
  const health = await w.fetch("/healthz");
  assert.equal(health.status, 200, await health.text());
  assert.ok(catalogue.flows.length >= 1, "flows/lib.rs registers no flow");
  for (const f of catalogue.flows) {
    assert.match(f.diagram, /^%% Flow `/, f.name);
    assert.ok(["inbound", "outbound"].includes(f.direction), f.name);
  }
  const plan = dialPlan(catalogue);
  const reachable = new Set(Object.values(plan.numbers));
  for (const f of catalogue.flows.filter((f) => f.direction === "inbound")) {
    assert.ok(reachable.has(f.name), `no number reaches the inbound flow ${f.name}: route one, or make it the default`);
  }
});

/** A caller who presses nothing at two prompts and hangs up at the third. */
const quietCaller = () => new ScriptedCaller(["-", "-", "hangup"], ["no", "no", "no"]);

test("every inbound flow of yours answers a caller who says nothing by Telesign's rules", async () => {
  const plan = dialPlan(catalogue);
  for (const [number, flow] of Object.entries(plan.numbers)) {
    const lines = [];
    const result = await simulateCall({ worker: w, secrets, caller: quietCaller(), to: number, testClock: true, say: (l) => lines.push(l) });
    assert.ok(result.ok, `${flow} (${number}): ${result.failures.join("; ")}\n${lines.join("\n")}`);
    assert.equal(result.record?.flow, flow, lines.join("\n"));
  }
});

test("every outbound flow of yours can be placed with its vars and answers by Telesign's rules", async () => {
  for (const { name, needs } of dialPlan(catalogue).outbound) {
    const vars = Object.fromEntries(needs.map((v) => [v, "test"]));
    const lines = [];
    const outbound = { flow: name, to: "+15558675309", vars, api, answer: true };
    const result = await simulateCall({ worker: w, secrets, caller: quietCaller(), outbound, testClock: true, say: (l) => lines.push(l) });
    assert.ok(result.ok, `${name}: ${result.failures.join("; ")}\n${lines.join("\n")}`);
    assert.equal(result.record?.flow, name, lines.join("\n"));
  }
});
