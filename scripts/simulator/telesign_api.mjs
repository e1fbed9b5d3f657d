// Telesign's REST API as far as the worker uses it: `POST /v2/voice` with a `dial` places an
// outbound call. This one fake plays it for the end-to-end tests, the call simulator
// (scripts/call.mjs), the soak (scripts/soak.mjs) and local runs (scripts/fake-telesign.mjs). It
// - records every request it gets: url, method, headers (Authorization included), body as sent;
// - checks what Telesign checks: Basic auth (only when given credentials), a JSON body, a `dial`
//   with `to` and `caller_id_number`;
// - answers what a test scripted (`answerNext`, `answerFor`: one of `answers`, or a function
//   returning a promise of one, which never settling is a timeout), else `202 dial_accepted` with a
//   fresh reference id and the external id echoed;
// - hands every accepted dial to `nextDial`, so the simulator can play the call it places;
// - can play a call answered before its `202` reached the worker (`beforeAccepting`): on receiving
//   the dial it first posts `dial_completed` (through the hook it was given) and waits for the
//   worker's answer, then answers `202`.
// Reached as a fetch handler (`fetch`: Miniflare's outboundService in the tests, with
// TELESIGN_API_URL = FAKE_TELESIGN_URL) or as a local HTTP server (`listen`: point the worker's
// TELESIGN_API_URL at the URL it resolves to).

import { serveFetch } from "./serve.mjs";
import { referenceId } from "./telesign.mjs";

/** The URL tests give the worker as TELESIGN_API_URL when the fake is its outboundService. */
export const FAKE_TELESIGN_URL = "https://fake-telesign.test/v2/voice";

/** Telesign's answers to a dial, by the name the tests use. */
export const answers = {
  accepted: (reference_id = referenceId()) => ({ status: 202, body: { reference_id, status: "dial_accepted" } }),
  rejected: (status = "to_number_blocked_by_country") => ({ status: 200, body: { reference_id: referenceId(), status } }),
  badRequest: (status = "caller_id_number_not_owned") => ({ status: 400, body: { reference_id: "", status } }),
  unauthorized: () => ({ status: 401, body: { reference_id: "", status: "credentials_not_authorized" } }),
  rateLimited: (retryAfter = "30") => ({
    status: 429,
    headers: { "retry-after": retryAfter },
    body: { reference_id: "", status: "rate_limit_exceeded" },
  }),
  unavailable: () => ({ status: 503, body: "<html>Service Unavailable</html>" }),
};

export class FakeTelesignApi {
  /**
   * With `customerId` and `apiKey`, a request without their Basic auth is answered 401, as Telesign
   * would; without them any credentials pass (the tests check the header themselves). `log`, if
   * given, gets one line per request answered.
   *
   * @param {{ customerId?: string, apiKey?: string, log?: (line: string) => void }} [options]
   */
  constructor({ customerId, apiKey, log } = {}) {
    this.expectedAuth = customerId && apiKey ? `Basic ${Buffer.from(`${customerId}:${apiKey}`).toString("base64")}` : null;
    this.log = log;
    /** Every request received: {url, method, headers, body (parsed JSON, or the text if not JSON)}. */
    this.requests = [];
    /** One-shot answers for the next dials, in order. */
    this.next = [];
    /** Answers per called number (digits): arrays consumed in order. */
    this.byNumber = new Map();
    /** Accepted dials no `nextDial` has taken yet, and the `nextDial`s waiting for one. */
    this.unclaimed = [];
    this.waiters = [];
    /** One-shot hooks run on the next accepted dials before their `202` is answered. */
    this.early = [];
    this.server = null;
    this.fetch = this.fetch.bind(this);
  }

  /** Answers the next dial with `answer` (an object from `answers`, or a function returning a promise of one). */
  answerNext(answer) {
    this.next.push(answer);
  }

  /**
   * The next accepted dial runs `hook({reference_id, params, action})` before its `202` is answered
   * (awaited): the call is answered, and Telesign posts `dial_completed`, before the worker has
   * Telesign's answer to its dial. The hook posts that event and resolves once the worker answered it.
   */
  beforeAccepting(hook) {
    this.early.push(hook);
  }

  /** Answers dials to `to` (digits) with these answers in turn, then the default. */
  answerFor(to, ...list) {
    this.byNumber.set(to, list);
  }

  /** The dials received (recorded requests), optionally only those to `to` (digits). */
  dials(to) {
    return this.requests.filter((r) => r.body?.method === "dial" && (to === undefined || r.body.params?.to === to));
  }

  /** Answers one request to the API, as Telesign would (or as scripted): a fetch handler. */
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
    const answer = await this.answer(request, body, text);
    const payload = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    const response = new Response(payload, {
      status: answer.status,
      headers: { "content-type": "application/json", ...(answer.headers ?? {}) },
    });
    if (this.log) {
      const to = String(body?.params?.to ?? "");
      this.log(`${request.method} ${new URL(request.url).pathname} ${body?.method ?? "?"} to ...${to.slice(-4)} -> ${response.status}`);
    }
    return response;
  }

  /** The answer ({status, headers?, body}) to a request: Telesign's checks, then the script, then accepted. */
  async answer(request, body, text) {
    if (request.method !== "POST" || !new URL(request.url).pathname.endsWith("/v2/voice")) {
      return { status: 404, body: { status: "not_found" } };
    }
    if (this.expectedAuth && request.headers.get("authorization") !== this.expectedAuth) {
      return { status: 401, body: { status: "credentials_not_authorized" } };
    }
    // `body` is the text itself when the text is not JSON (a JSON string parses to something else).
    if (body === text) return { status: 400, body: { status: "invalid_request" } };
    const params = body?.params ?? {};
    if (body?.method !== "dial") return { status: 400, body: { status: "unsupported_call_state" } };
    if (!params.to) return { status: 400, body: { status: "to_number_not_provided" } };
    if (!params.caller_id_number) return { status: 400, body: { status: "caller_id_number_not_provided" } };

    const queued = this.byNumber.get(params.to);
    let answer = queued?.length ? queued.shift() : this.next.shift();
    if (typeof answer === "function") answer = await answer(body);
    if (!answer) {
      answer = answers.accepted();
      if (params.external_id) answer.body.external_id = params.external_id;
    }
    if (answer.status === 202 && answer.body?.reference_id) {
      const dial = { reference_id: answer.body.reference_id, params, action: body };
      const early = this.early.shift();
      if (early) await early(dial);
      this.deliver(dial);
    }
    return answer;
  }

  /** Hands an accepted dial to the oldest waiting `nextDial`, or keeps it for the next one. */
  deliver(dial) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(dial);
    else this.unclaimed.push(dial);
  }

  /** The next dial accepted ({reference_id, params, action}), waiting at most `ms`. */
  nextDial(ms) {
    if (this.unclaimed.length > 0) return Promise.resolve(this.unclaimed.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`the worker sent no dial to the Telesign API within ${ms} ms`));
      }, ms);
      const done = (dial) => {
        clearTimeout(timer);
        resolve(dial);
      };
      this.waiters.push(done);
    });
  }

  /** Serves the API on host:port (port 0 picks a free one); resolves to its /v2/voice URL. */
  async listen(port, host = "127.0.0.1") {
    this.server = await serveFetch(this.fetch, { port, host });
    return `http://${host}:${this.server.address().port}/v2/voice`;
  }

  close() {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
