// POST /calls and POST /campaigns are rate limited per API token (Workers Rate Limiting binding).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL } from "../../scripts/simulator/telesign_api.mjs";

test("placing calls faster than the limit is 429 rate_limited with Retry-After; reads are not limited", async () => {
  const telesign = new FakeTelesignApi();
  const w = await startWorker({
    apiRateLimit: 2,
    outboundService: telesign.fetch,
    bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL, CALLER_ID: "+15554441313" },
  });
  try {
    const headers = { authorization: `Bearer ${SECRETS.API_TOKEN}`, "content-type": "application/json" };
    const place = () =>
      w.fetch("/calls", {
        method: "POST",
        headers,
        body: JSON.stringify({ to: "+15555551212", flow: "reminder", vars: { name: "Alex", when: "Monday at 9" } }),
      });
    assert.equal((await place()).status, 202);
    assert.equal((await place()).status, 202);
    const limited = await place();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "60");
    assert.equal(/** @type {any} */ (await limited.json()).error.code, "rate_limited");
    assert.equal(telesign.dials().length, 2, "the refused call never reached Telesign");
    const campaign = await w.fetch("/campaigns", {
      method: "POST",
      headers,
      body: JSON.stringify({ flow: "reminder", numbers: ["+15555550001"], vars: { name: "Alex", when: "Monday at 9" } }),
    });
    assert.equal(campaign.status, 429);
    const list = await w.fetch("/calls?limit=1", { headers });
    assert.equal(list.status, 200);
  } finally {
    await w.dispose();
  }
});
