// Telesign's REST API as far as the worker uses it: `POST /v2/voice` with a `dial` places an
// outbound call. The simulator answers it like Telesign (Basic auth checked, `202 dial_accepted`
// with a fresh reference id) and hands the dial to the call it is running. Serves either as a local
// HTTP server (point the worker's TELESIGN_API_URL at it) or as a fetch handler (Miniflare's
// outboundService in the tests).

import { serveFetch } from "./serve.mjs";
import { referenceId } from "./telesign.mjs";

export class FakeTelesignApi {
  constructor({ customerId, apiKey }) {
    this.expectedAuth = `Basic ${Buffer.from(`${customerId}:${apiKey}`).toString("base64")}`;
    this.dials = [];
    this.waiters = [];
    this.server = null;
  }

  /** Answers one request to the API, as Telesign would. */
  async handle(request) {
    const url = new URL(request.url);
    if (request.method !== "POST" || !url.pathname.endsWith("/v2/voice")) {
      return Response.json({ status: "not_found" }, { status: 404 });
    }
    if (request.headers.get("authorization") !== this.expectedAuth) {
      return Response.json({ status: "credentials_not_authorized" }, { status: 401 });
    }
    let action;
    try {
      action = JSON.parse(await request.text());
    } catch {
      return Response.json({ status: "invalid_request" }, { status: 400 });
    }
    const params = action?.params ?? {};
    if (action?.method !== "dial") return Response.json({ status: "unsupported_call_state" }, { status: 400 });
    if (!params.to) return Response.json({ status: "to_number_not_provided" }, { status: 400 });
    if (!params.caller_id_number) return Response.json({ status: "caller_id_number_not_provided" }, { status: 400 });
    const dial = { reference_id: referenceId(), params, action };
    const body = { reference_id: dial.reference_id, status: "dial_accepted" };
    if (params.external_id) body.external_id = params.external_id;
    const waiter = this.waiters.shift();
    if (waiter) waiter(dial);
    else this.dials.push(dial);
    return Response.json(body, { status: 202 });
  }

  /** The next dial the worker sends, waiting at most `ms`. */
  nextDial(ms) {
    if (this.dials.length > 0) return Promise.resolve(this.dials.shift());
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
    this.server = await serveFetch((request) => this.handle(request), { port, host });
    return `http://${host}:${this.server.address().port}/v2/voice`;
  }

  close() {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
