// The dev phone's server: serves the page (./page/), and plays Telesign for it against a worker. The
// browser only talks to this server; the call itself is the call simulator's (simulateCall in
// ../simulator/simulator.mjs): events signed with the .dev.vars secrets, every reply checked with
// the call-state rules, the record read at the end. The caller of that simulation is the page
// (BrowserCaller): each time the simulation asks the caller something (the keys at a prompt, what a
// rung number does), the question is published in the call's state, which the page polls, and the
// page's answer resolves it. Outbound calls go through the worker's POST /calls, with a
// FakeTelesignApi standing in for Telesign's REST API. The insights view reads a flow's funnel
// through GET /api/flows/<name>/stats, which this server asks of the worker's GET
// /flows/<name>/stats with the API token (the browser never sees the token), and a campaign's
// progress and funnel through GET /api/campaigns/<id> (./campaign.mjs).
//
// Layering: scripts/phone.mjs (CLI) -> this file -> ../simulator/*; the page is static files.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { serveFetch } from "../simulator/serve.mjs";
import { simulateCall, urlWorker } from "../simulator/simulator.mjs";
import { dialPlan, fetchFlows } from "../simulator/flows.mjs";
import { campaignInsights } from "./campaign.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const STATIC = {
  "/": ["page/index.html", "text/html; charset=utf-8"],
  "/app.js": ["page/app.js", "text/javascript; charset=utf-8"],
  "/insights.js": ["page/insights.js", "text/javascript; charset=utf-8"],
  "/zoom.js": ["page/zoom.js", "text/javascript; charset=utf-8"],
  "/style.css": ["page/style.css", "text/css; charset=utf-8"],
  "/vendor/mermaid.min.js": ["../../node_modules/mermaid/dist/mermaid.min.js", "text/javascript; charset=utf-8"],
};

/** The page as the caller: every question waits for the page's answer. */
class BrowserCaller {
  constructor(call) {
    this.call = call;
    this.hangupPending = false;
  }

  /** Publishes a question and waits for the page's answer to it. */
  ask(question) {
    return new Promise((resolve) => {
      this.call.question = { seq: ++this.call.seq, ...question };
      this.call.answer = (a) => {
        this.call.question = null;
        this.call.answer = null;
        resolve(a);
      };
      this.call.refreshView();
    });
  }

  async keys(action) {
    if (this.hangupPending) return { kind: "hangup" };
    const a = await this.ask({ kind: "collect", action });
    if (a?.kind === "keys" && typeof a.digits === "string" && /^[0-9*#]+$/.test(a.digits)) {
      return { kind: "keys", digits: a.digits, during: Boolean(a.during) };
    }
    if (a?.kind === "fail" || a?.kind === "hangup") return { kind: a.kind };
    return { kind: "none" };
  }

  async duringPlainPrompt(action) {
    if (this.hangupPending) return null;
    const a = await this.ask({ kind: "plain", action });
    if (a?.kind === "keys" && /^[0-9*#]$/.test(a.digits ?? "")) return { kind: "keys", digits: a.digits };
    if (a?.kind === "fail") return { kind: "fail" };
    // A hang-up during a plain prompt: Telesign's events cannot say it there; it ends the call at
    // the next prompt that collects, ring or bridge.
    if (a?.kind === "hangup") this.hangupPending = true;
    return null;
  }

  async legAnswer(to) {
    const a = await this.ask({ kind: "leg", to });
    return ["yes", "no", "busy"].includes(a?.answer) ? a.answer : "no";
  }

  async bridgeEnd() {
    if (this.hangupPending) return "caller";
    const a = await this.ask({ kind: "bridge" });
    return a?.kind === "hangup" ? "caller" : "agent";
  }
}

/** One call the page placed: the simulation running it and what the page sees of it. */
class PhoneCall {
  constructor(id, phone) {
    this.id = id;
    this.phone = phone;
    this.seq = 0;
    this.question = null;
    this.answer = null;
    this.exchange = [];
    this.lines = [];
    this.view = null;
    this.result = null;
    this.error = null;
    this.done = false;
  }

  reference() {
    for (const line of this.exchange) {
      if (line.event?.reference_id) return line.event.reference_id;
    }
    return null;
  }

  /** Reads the worker's view of the call (its session: step, visited) for the diagram. */
  async refreshView() {
    const ref = this.reference();
    if (!ref) return;
    try {
      const res = await this.phone.worker.fetch(`/calls/${ref}`, { headers: { authorization: `Bearer ${this.phone.secrets.apiToken}` } });
      if (res.status === 200) this.view = await res.json();
    } catch {
      // The diagram keeps its last state; the exchange says what went wrong.
    }
  }

  state() {
    return {
      id: this.id,
      reference_id: this.reference(),
      lines: this.lines,
      exchange: this.exchange,
      question: this.question,
      view: this.view,
      done: this.done,
      result: this.result && { ok: this.result.ok, failures: this.result.failures, notes: this.result.notes, record: this.result.record },
      error: this.error,
    };
  }
}

/**
 * Starts the dev phone's server. Resolves to `{ url, close() }`.
 * - `worker`: `{ fetch(path, init) }`, or `workerUrl` (default http://127.0.0.1:8787);
 * - `secrets`: `{ customerId, apiKey, apiToken }` (from .dev.vars);
 * - `api`: the FakeTelesignApi the worker dials through (outbound calls); none: outbound calls are refused;
 * - `testClock`, `patienceMs`: passed to the simulator;
 * - `port` (0: a free one), `host`.
 */
/**
 * @param {{ worker?: any, workerUrl?: string, secrets: object, api?: any, testClock?: boolean,
 *   patienceMs?: number, port?: number, host?: string }} options
 */
export async function startPhone({
  worker,
  workerUrl = "http://127.0.0.1:8787",
  secrets,
  api = null,
  testClock = false,
  patienceMs,
  port = 8790,
  host = "127.0.0.1",
}) {
  const phone = { worker: worker ?? urlWorker(workerUrl), secrets, api, testClock, patienceMs, workerUrl: worker ? "(in-process worker)" : workerUrl };
  const calls = new Map();
  let nextId = 0;
  let outboundBusy = false;

  const json = (body, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  /** The worker's flows (GET /flows), asked again at most every few seconds. */
  let catalogue = null;
  let askedAt = 0;
  async function flows() {
    if (catalogue && Date.now() - askedAt < 3000) return catalogue;
    catalogue = await fetchFlows(phone.worker, phone.secrets.apiToken);
    askedAt = Date.now();
    return catalogue;
  }

  function place(body) {
    const id = String(++nextId);
    const call = new PhoneCall(id, phone);
    calls.set(id, call);
    let outbound = null;
    if (body.outbound) {
      const o = body.outbound;
      outbound = {
        flow: String(o.flow ?? ""),
        to: String(o.to ?? ""),
        vars: o.vars && typeof o.vars === "object" ? o.vars : {},
        api,
        answer: o.answer !== false,
        ...(o.callerId ? { callerId: String(o.callerId) } : {}),
      };
    }
    if (outbound) outboundBusy = true;
    simulateCall({
      worker: phone.worker,
      secrets,
      caller: new BrowserCaller(call),
      from: String(body.from || "+15558675309"),
      to: String(body.to || "+15555551212"),
      outbound,
      testClock,
      ...(patienceMs ? { patienceMs } : {}),
      exchange: call.exchange,
      say: (line) => call.lines.push(line),
    })
      .then(
        (result) => {
          call.result = result;
        },
        (e) => {
          call.error = e.message;
        },
      )
      .finally(() => {
        call.done = true;
        call.question = null;
        if (outbound) outboundBusy = false;
      });
    return call;
  }

  async function handle(request) {
    const url = new URL(request.url);
    const p = url.pathname;
    if (request.method === "GET" && STATIC[p]) {
      const [file, type] = STATIC[p];
      return new Response(await readFile(path.join(here, file)), { headers: { "content-type": type, "cache-control": "no-store" } });
    }
    if (p === "/favicon.ico") return new Response(null, { status: 204 });
    if (request.method === "GET" && p === "/api/config") {
      let plan = { numbers: {}, outbound: [], names: [] };
      let flowsError = null;
      try {
        plan = dialPlan(await flows());
      } catch (e) {
        flowsError = `cannot read the worker's flows at ${phone.workerUrl}: ${e.cause?.message ?? e.message}`;
      }
      return json({ worker: phone.workerUrl, testClock, outbound: Boolean(api), ...plan, flowsError });
    }
    const flow = p.match(/^\/flows\/([a-z0-9_]+)\.mmd$/);
    if (request.method === "GET" && flow) {
      const found = (await flows().catch(() => null))?.flows?.find((f) => f.name === flow[1]);
      if (!found) return new Response(`the worker has no flow ${flow[1]}`, { status: 404 });
      return new Response(found.diagram, { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    if (request.method === "GET" && p === "/api/flows") {
      const { status, body } = await askWorker("/flows");
      if (status !== 200) return json(body, status);
      return json({ flows: (body.flows ?? []).map((f) => f.name) });
    }
    const campaign = p.match(/^\/api\/campaigns\/([^/]+)$/);
    if (request.method === "GET" && campaign) {
      if (!/^[0-9a-f]{32}$/.test(campaign[1])) {
        return json({ error: { code: "campaign_not_found", message: `\`${campaign[1]}\` is not a campaign id (32 lowercase hex digits)` } }, 404);
      }
      const { status, body } = await campaignInsights(campaign[1], askWorker);
      return json(body, status);
    }
    const stats = p.match(/^\/api\/flows\/([^/]+)\/stats$/);
    if (request.method === "GET" && stats) {
      let name;
      try {
        name = decodeURIComponent(stats[1]);
      } catch {
        return json({ error: { code: "invalid_flow", message: `\`${stats[1]}\` is not a flow name` } }, 400);
      }
      return flowStats(name, url.searchParams);
    }
    if (request.method === "POST" && p === "/api/calls") {
      const body = await request.json().catch(() => ({}));
      if (body.outbound && !api) return json({ error: "outbound calls need the simulated Telesign API (see --api-port)" }, 400);
      if (body.outbound && outboundBusy) return json({ error: "an outbound call is already being placed: hang it up first" }, 409);
      return json({ id: place(body).id });
    }
    const m = p.match(/^\/api\/calls\/(\d+)(\/answer)?$/);
    const call = m && calls.get(m[1]);
    if (m && !call) return json({ error: "no such call" }, 404);
    if (call && request.method === "GET" && !m[2]) return json(call.state());
    if (call && request.method === "POST" && m[2]) {
      const body = await request.json().catch(() => ({}));
      if (!call.question || body.seq !== call.question.seq) {
        if (body.kind === "hangup" && call.question == null && !call.done) {
          // Between two questions (the worker is answering): the next question gets the hang-up.
          pendingHangup(call);
          return json({ ok: true, queued: true });
        }
        return json({ error: "that question was already answered" }, 409);
      }
      call.answer(body);
      return json({ ok: true });
    }
    return new Response("not found", { status: 404 });
  }

  /**
   * The worker's GET /flows/<name>/stats for the insights view: `since` and `until` passed on when
   * given. The worker's answer (its JSON, its status) goes back as it is; a worker that cannot be
   * reached is a 502 `{ error: { code: "worker_unreachable", message } }`.
   */
  async function flowStats(name, params) {
    const query = new URLSearchParams();
    for (const key of ["since", "until"]) {
      const value = (params.get(key) ?? "").trim();
      if (value) query.set(key, value);
    }
    const q = query.toString();
    const { status, body } = await askWorker(`/flows/${encodeURIComponent(name)}/stats${q ? `?${q}` : ""}`);
    return json(body, status);
  }

  /**
   * A GET of the worker's API with the token: `{ status, body }`, the worker's JSON as it is; a
   * worker that cannot be reached is a 502 `{ error: { code: "worker_unreachable", message } }`.
   */
  async function askWorker(p) {
    let res;
    try {
      res = await phone.worker.fetch(p, { headers: { authorization: `Bearer ${phone.secrets.apiToken}` } });
    } catch (e) {
      return {
        status: 502,
        body: { error: { code: "worker_unreachable", message: `cannot reach the worker at ${phone.workerUrl}: ${e.cause?.message ?? e.message}` } },
      };
    }
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: { error: { code: "not_json", message: `the worker answered HTTP ${res.status}: ${text.slice(0, 200)}` } } };
    }
  }

  function pendingHangup(call) {
    const check = setInterval(() => {
      if (call.done) return clearInterval(check);
      if (call.question) {
        clearInterval(check);
        const q = call.question;
        call.answer(q.kind === "leg" ? { answer: "no" } : { kind: "hangup" });
      }
    }, 20);
  }

  const server = await serveFetch(
    async (request) => {
      try {
        return await handle(request);
      } catch (e) {
        return json({ error: e.message }, 500);
      }
    },
    { port, host },
  );
  return {
    url: `http://${host}:${server.address().port}/`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
