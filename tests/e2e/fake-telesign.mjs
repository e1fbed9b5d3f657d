// A fake of Telesign's POST /v2/voice for tests and local runs. It records every request the
// worker sends and answers each dial as told (202 dial_accepted unless a test says otherwise).
//
// In tests: `const telesign = new FakeTelesign(); startWorker({ outboundService: telesign.fetch,
// bindings: { TELESIGN_API_URL: FAKE_TELESIGN_URL } })`.
// Locally: `node tests/e2e/fake-telesign.mjs [port]` serves it on http://127.0.0.1:8788/v2/voice,
// for `wrangler dev --var TELESIGN_API_URL:http://127.0.0.1:8788/v2/voice`.
import { fileURLToPath } from "node:url";
import { referenceId as newReferenceId } from "../../scripts/simulator/telesign.mjs";
import { serveFetch } from "../../scripts/simulator/serve.mjs";

/** The URL tests give the worker as TELESIGN_API_URL. */
export const FAKE_TELESIGN_URL = "https://fake-telesign.test/v2/voice";

export { newReferenceId };

/** Telesign's answers, by the name the tests use. */
export const answers = {
  accepted: (reference_id = newReferenceId()) => ({ status: 202, body: { reference_id, status: "dial_accepted" } }),
  rejected: (status = "to_number_blocked_by_country") => ({ status: 200, body: { reference_id: newReferenceId(), status } }),
  badRequest: (status = "caller_id_number_not_owned") => ({ status: 400, body: { reference_id: "", status } }),
  unauthorized: () => ({ status: 401, body: { reference_id: "", status: "credentials_not_authorized" } }),
  rateLimited: (retryAfter = "30") => ({
    status: 429,
    headers: { "retry-after": retryAfter },
    body: { reference_id: "", status: "rate_limit_exceeded" },
  }),
  unavailable: () => ({ status: 503, body: "<html>Service Unavailable</html>" }),
};

export class FakeTelesign {
  constructor() {
    /** Every request received: {url, method, headers, body (parsed JSON or text)}. */
    this.requests = [];
    /** One-shot answers for the next dials, in order. */
    this.next = [];
    /** Answers per called number (digits): arrays consumed in order. */
    this.byNumber = new Map();
    this.fetch = this.fetch.bind(this);
  }

  /** Answers the next dial with `answer` (an object from `answers`, or a function returning a promise of one). */
  answerNext(answer) {
    this.next.push(answer);
  }

  /** Answers dials to `to` (digits) with these answers in turn, then the default. */
  answerFor(to, ...list) {
    this.byNumber.set(to, list);
  }

  /** The dials received (parsed bodies), optionally only those to `to` (digits). */
  dials(to) {
    return this.requests.filter((r) => r.body?.method === "dial" && (to === undefined || r.body.params?.to === to));
  }

  /** Miniflare's outboundService: a fetch handler. */
  async fetch(request) {
    const text = await request.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Recorded as text: a test will see it is not JSON.
    }
    const headers = Object.fromEntries(request.headers);
    this.requests.push({ url: request.url, method: request.method, headers, body });
    if (new URL(request.url).pathname !== "/v2/voice") {
      return new Response("not found", { status: 404 });
    }
    const queued = this.byNumber.get(body?.params?.to);
    let answer = queued?.length ? queued.shift() : this.next.shift();
    if (typeof answer === "function") answer = await answer(body);
    answer ??= answers.accepted();
    const payload = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return new Response(payload, {
      status: answer.status,
      headers: { "content-type": "application/json", ...(answer.headers ?? {}) },
    });
  }
}

/** Serves a FakeTelesign over HTTP on 127.0.0.1 (for wrangler dev), logging each dial. */
export async function serve(port = 8788) {
  const fake = new FakeTelesign();
  const server = await serveFetch(
    async (request) => {
      const response = await fake.fetch(request);
      const last = fake.requests.at(-1);
      const to = String(last.body?.params?.to ?? "");
      console.log(`${request.method} ${new URL(request.url).pathname} ${last.body?.method ?? "?"} to ...${to.slice(-4)} -> ${response.status}`);
      return response;
    },
    { port },
  );
  console.log(`fake Telesign on http://127.0.0.1:${port}/v2/voice`);
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  serve(Number(process.argv[2] ?? 8788));
}
