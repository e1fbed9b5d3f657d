// GET /openapi.json: the HTTP contract, served without a token, generated from the worker's own
// route table, body fields and error codes (ivr-core/src/api/openapi.rs). Here, against the
// running worker: every documented operation exists (no 404/405), and every error code the worker
// answers in the other tests' cases is in the document's enum.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(() => w.dispose());

test("the document is served without a token and is OpenAPI 3.1", async () => {
  const res = await w.fetch("/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  const doc = await res.json();
  assert.equal(doc.openapi, "3.1.0");
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    "/calls",
    "/calls.csv",
    "/calls/{id}",
    "/campaigns",
    "/campaigns.csv",
    "/campaigns/{id}",
    "/campaigns/{id}/cancel",
    "/campaigns/{id}/numbers",
    "/campaigns/{id}/numbers.csv",
    "/campaigns/{id}/pause",
    "/campaigns/{id}/resume",
    "/flows",
    "/flows/{name}/stats",
    "/healthz",
    "/openapi.json",
    "/records/migrate",
    "/webhook",
  ]);
  assert.deepEqual(doc.paths["/calls"].get.security, [{ bearer: ["read"] }]);
  assert.deepEqual(doc.components.schemas.CallRequest.required, ["to", "flow"]);
});

test("every documented operation is routed by the worker, and its errors use documented codes", async () => {
  const doc = await (await w.fetch("/openapi.json")).json();
  const codes = new Set(doc.components.schemas.Error.properties.error.properties.code.enum);
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      // A flow the document names as the `{name}` of its path.
      const name = (ops[method].parameters ?? []).find((p) => p.in === "path" && p.name === "name")?.schema.enum[0];
      const url = path.replace("{id}", "0123456789abcdef0123456789abcdef").replace("{name}", name);
      const res = await w.fetch(url, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${SECRETS.API_TOKEN}`, "content-type": "application/json" },
        body: method === "post" ? "{}" : undefined,
      });
      assert.ok(![404, 405].includes(res.status) || url.includes("0123456789"), `${method} ${path}: ${res.status}`);
      const documented = Object.keys(ops[method].responses).map(Number);
      assert.ok(documented.includes(res.status), `${method} ${path} answered ${res.status}, not documented`);
      if (res.status >= 400) {
        const { error } = await res.json();
        assert.ok(codes.has(error.code), `${method} ${path}: ${error.code} is not in the document`);
      } else {
        await res.arrayBuffer();
      }
    }
  }
});

test("GET /flows lists the flows compiled in: numbers, vars, steps and diagrams; a read token is needed", async () => {
  assert.equal((await w.fetch("/flows")).status, 401);
  const res = await w.fetch("/flows", { headers: { authorization: `Bearer ${SECRETS.API_TOKEN}` } });
  assert.equal(res.status, 200);
  const { flows } = await res.json();
  const byName = Object.fromEntries(flows.map((f) => [f.name, f]));
  // The test flows of tests/flows/lib.rs.
  assert.deepEqual(Object.keys(byName), ["bank", "reminder", "forwarding", "held", "bilingual"]);
  assert.deepEqual(byName.held.numbers, ["+15555550300"]);
  assert.deepEqual(byName.bilingual.language, "en-US");
  assert.equal(byName.bank.default_inbound, true);
  assert.deepEqual(byName.forwarding.numbers, ["+15555550200"]);
  assert.deepEqual(byName.reminder.needs, ["name", "when"]);
  assert.equal(byName.reminder.direction, "outbound");
  assert.deepEqual(byName.bank.steps.slice(0, 2), ["welcome", "main_menu"]);
  assert.match(byName.bank.diagram, /flowchart TD/);
});
