// Several API tokens at once (rotation) with scopes: `read` may list calls and read campaigns,
// `dial` may place calls and start campaigns; a wrong scope is 403 insufficient_scope. The log
// line names the token, never shows it. docs/call-api.md, "Tokens, scopes and rate limits".
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, SECRETS } from "../../scripts/harness/worker.mjs";
import { FakeTelesignApi, FAKE_TELESIGN_URL, answers } from "../../scripts/simulator/telesign_api.mjs";
import { referenceId } from "../../scripts/harness/events.mjs";

const TOKENS = { reader: "r3ad-0nly-t0ken", dialer: "d1al-0nly-t0ken", rotated: "n3w-t0ken-all" };

let w;
let telesign;
before(async () => {
  telesign = new FakeTelesignApi();
  w = await startWorker({
    outboundService: telesign.fetch,
    bindings: {
      TELESIGN_API_URL: FAKE_TELESIGN_URL,
      CALLER_ID: "+15554441313",
      API_TOKENS: `reader:read:${TOKENS.reader},\ndialer:dial:${TOKENS.dialer}, rotated:all:${TOKENS.rotated}`,
    },
  });
});
after(() => w.dispose());

const REMINDER = JSON.stringify({ to: "+15555551212", flow: "reminder", vars: { name: "Alex", when: "Monday at 9" } });

function as(token, method, path, body) {
  return w.fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
}

test("each token gets what its scopes allow, and a wrong scope is 403 insufficient_scope", async () => {
  const cases = [
    [TOKENS.reader, "GET", "/calls", undefined, 200],
    [TOKENS.reader, "GET", "/campaigns/0123456789abcdef0123456789abcdef", undefined, 404],
    [TOKENS.reader, "POST", "/calls", REMINDER, 403],
    [TOKENS.reader, "POST", "/campaigns", JSON.stringify({ flow: "reminder", numbers: ["+15555550001"] }), 403],
    [TOKENS.dialer, "GET", "/calls", undefined, 403],
    [TOKENS.dialer, "GET", "/calls/ABC", undefined, 403],
    [TOKENS.dialer, "POST", "/calls", REMINDER, 202],
    [TOKENS.rotated, "GET", "/calls", undefined, 200],
    [TOKENS.rotated, "POST", "/calls", REMINDER, 202],
    // The single API_TOKEN of earlier versions still works, with every scope.
    [SECRETS.API_TOKEN, "GET", "/calls", undefined, 200],
    [SECRETS.API_TOKEN, "POST", "/calls", REMINDER, 202],
    ["n3w-t0ken-al", "GET", "/calls", undefined, 401],
  ];
  for (const [token, method, path, body, status] of cases) {
    if (status === 202) telesign.answerNext(answers.accepted(referenceId()));
    const res = await as(token, method, path, body);
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${path} with ${token}: ${text}`);
    if (status === 403) {
      const { error } = JSON.parse(text);
      assert.equal(error.code, "insufficient_scope");
      assert.match(error.message, /the token `(reader|dialer)` does not have the `(read|dial)` scope/);
    }
  }
  assert.equal(telesign.dials().length, 3, "only the dial-scoped tokens reached Telesign");
});

test("the log line names the token and never shows one", async () => {
  const res = await as(TOKENS.reader, "GET", "/calls?limit=1");
  assert.equal(res.status, 200);
  const named = () => w.logs.filter((l) => l.includes('"path":"/calls"')).some((l) => JSON.parse(l).token === "reader");
  for (let i = 0; i < 50 && !named(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(named(), w.logs.join("\n"));
  const all = w.logs.join("\n");
  for (const token of [...Object.values(TOKENS), SECRETS.API_TOKEN]) {
    assert.ok(!all.includes(token), "a token was logged");
  }
});

test("a malformed API_TOKENS lets no token in: 500 not_configured naming the entry", async () => {
  const bad = await startWorker({ bindings: { API_TOKENS: `ok:read:${TOKENS.reader},broken:write:s3cr3t-x9` } });
  try {
    for (const token of [TOKENS.reader, SECRETS.API_TOKEN]) {
      const res = await bad.fetch("/calls", { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 500);
      const { error } = /** @type {any} */ (await res.json());
      assert.equal(error.code, "not_configured");
      assert.match(error.message, /API_TOKENS entry 2 /);
      assert.ok(!error.message.includes("s3cr3t-x9"), "the entry's secret is never shown");
    }
  } finally {
    await bad.dispose();
  }
});
