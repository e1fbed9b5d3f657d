// The call simulator: plays Telesign against a running worker. It sends signed events, answers every
// action the way Telesign would (speak/play -> *_completed with the caller's keys, dial -> leg events,
// hangup -> call_completed), checks every reply against the call-state rules and Telesign's patience,
// and at the end reads the call record the worker kept. Used by scripts/call.mjs (the CLI) and by
// tests/e2e/simulator.test.mjs (scripted runs of the sample flows).

import { checkReply, completionOf, couldBeNext, isAnswered } from "./rules.mjs";
import { eventBody, referenceId, signedHeaders, utcStamp, wireNumber } from "./telesign.mjs";

export const DEFAULT_FROM = "+15558675309";
export const DEFAULT_TO = "+15555551212";
/** How long Telesign waits for an answer before it gives up on the event. */
export const DEFAULT_PATIENCE_MS = 5000;

/** Something that ends the call as a failure: a forbidden action, an error, a late answer. */
export class CallFailure extends Error {}

/**
 * Runs one call to its end. Resolves to `{ ok, failures, notes, exchange, record, reference }`;
 * `ok` is false when any check failed. Only a worker that cannot be reached at all rejects.
 *
 * - `worker`: `{ fetch(path, init) }` (a base URL wrapped by `urlWorker`, or the Miniflare worker);
 * - `secrets`: `{ customerId, apiKey, apiToken }`, to sign events and read the call record;
 * - `caller`: a ScriptedCaller or InteractiveCaller (keys.mjs);
 * - `from`, `to`: the numbers of an inbound call;
 * - `outbound`: `{ flow, to, vars, callerId, api, answer }` places the call with `POST /calls`
 *   instead, `api` being the FakeTelesignApi the worker dials through;
 * - `duplicate`, `reorder`: 1-based event numbers (see README, "Call simulator");
 * - `say(line)`: receives the transcript, line by line.
 */
export async function simulateCall(options) {
  const sim = new Simulation(options);
  try {
    await sim.run();
  } catch (e) {
    if (!(e instanceof CallFailure)) throw e;
    sim.fail(e.message);
    await sim.cleanUp();
  }
  await sim.readRecord();
  return sim.result();
}

/** A worker reached over HTTP at `base` (`http://127.0.0.1:8787`, a deployed worker's URL). */
export function urlWorker(base) {
  return { fetch: (path, init) => fetch(new URL(path, base), init) };
}

class Simulation {
  constructor({
    worker,
    secrets,
    caller,
    from = DEFAULT_FROM,
    to = DEFAULT_TO,
    outbound = null,
    duplicate = null,
    reorder = null,
    patienceMs = DEFAULT_PATIENCE_MS,
    say = () => {},
  }) {
    Object.assign(this, { worker, secrets, caller, outbound, duplicate, reorder, patienceMs, say });
    this.direction = outbound ? "outbound" : "inbound";
    this.from = outbound ? null : from;
    this.to = outbound ? outbound.to : to;
    this.reference = outbound ? null : referenceId();
    this.externalId = null;
    this.exchange = [];
    this.history = [];
    this.failures = [];
    this.notes = [];
    this.record = null;
    this.startedMs = Date.now();
    this.answeredMs = null;
    this.over = false;
  }

  fail(message) {
    this.failures.push(message);
    this.say(`  !! ${message}`);
  }

  note(message) {
    this.notes.push(message);
    this.say(`  (${message})`);
  }

  result() {
    return {
      ok: this.failures.length === 0,
      failures: this.failures,
      notes: this.notes,
      exchange: this.exchange,
      record: this.record,
      reference: this.reference,
    };
  }

  async run() {
    let next = this.outbound ? await this.placeCall() : this.incomingCall();
    while (next) {
      const reply = await this.send(next);
      if (next.event === "call_completed") break;
      next = await this.respond(reply.action, next);
    }
    this.over = true;
  }

  incomingCall() {
    this.answeredMs = Date.now();
    this.say(`call ${this.reference}: inbound, ${this.from} calls ${this.to}`);
    return { event: "incoming_call", data: this.parties() };
  }

  /** Places the call through the worker's POST /calls and plays Telesign taking the dial. */
  async placeCall() {
    const { flow, to, vars = {}, callerId, api, answer = true } = this.outbound;
    const request = { flow, to, vars };
    if (callerId) request.caller_id_number = callerId;
    this.say(`POST /calls ${JSON.stringify(request)}`);
    const res = await this.timed(
      this.worker.fetch("/calls", {
        method: "POST",
        headers: { authorization: `Bearer ${this.secrets.apiToken}`, "content-type": "application/json" },
        body: JSON.stringify(request),
      }),
      "POST /calls",
    );
    const text = await res.text();
    this.exchange.push({ request: { method: "POST", path: "/calls", body: request }, status: res.status, reply: parse(text) });
    if (res.status < 200 || res.status > 299) {
      throw new CallFailure(`POST /calls answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    }
    const dial = await api.nextDial(this.patienceMs);
    this.reference = dial.reference_id;
    this.externalId = dial.params.external_id ?? null;
    this.from = dial.params.caller_id_number;
    this.to = dial.params.to;
    this.exchange.push({ telesign_api: dial.action, status: 202, reference_id: dial.reference_id });
    this.say(`call ${this.reference}: outbound, Telesign dials ${this.to} from ${this.from}`);
    if (!answer) {
      this.say("  the called person does not pick up");
      return { event: "dial_completed", data: { ...this.parties(), status: "failed" } };
    }
    this.answeredMs = Date.now();
    this.say("  the called person picks up");
    return { event: "dial_completed", data: { ...this.parties(), status: "answered" } };
  }

  body(event, data) {
    const extra = this.externalId ? { external_id: this.externalId } : {};
    return eventBody(event, this.reference, data, extra);
  }

  parties() {
    return { to: wireNumber(this.to), from: wireNumber(this.from) };
  }

  /** Delivers an event, checks the reply, and runs the redelivery checks asked for. */
  async send({ event, data, bridge = false }) {
    const body = this.body(event, data);
    const reply = await this.post(body);
    const n = this.history.length + 1;
    this.history.push({ event, data, body });
    this.exchange.push({ n, event: JSON.parse(body), status: reply.status, ms: reply.ms, reply: reply.action });
    this.say(`[${n}] ${describeEvent(event, data).padEnd(44)} -> ${describeReply(reply)}  (${reply.ms} ms)`);
    const problem = checkReply(event, data, reply.action, {
      silenceAllowed: bridge && event === "dial_completed",
    });
    if (problem) throw new CallFailure(`event ${n}: ${problem}`);
    this.lastAction = reply.action;
    if (event !== "call_completed") {
      await this.redeliver(n, event, data, body, reply);
    }
    return reply;
  }

  /** `--duplicate N` / `--reorder N`, at the first event from N on where the check means something. */
  async redeliver(n, event, data, body, reply) {
    if (this.duplicate != null && n >= this.duplicate && !this.duplicated) {
      if (couldBeNext(reply.action, event, data)) {
        if (!this.duplicateDeferred) {
          this.note(`event ${n} is also what the call waits for next, and Telesign events carry no id: a redelivery would be a new key press; duplicating the first later event that can be told apart`);
        }
        this.duplicateDeferred = true;
      } else {
        this.duplicated = true;
        const again = await this.post(body);
        this.exchange.push({ n, duplicate: true, status: again.status, ms: again.ms, reply: again.action });
        this.say(`[${n}] ${"same event again (duplicate)".padEnd(44)} -> ${describeReply(again)}  (${again.ms} ms)`);
        if (again.status !== reply.status || again.text !== reply.text) {
          throw new CallFailure(`event ${n} delivered twice got two different answers`);
        }
      }
    }
    if (this.reorder != null && n >= this.reorder && !this.reordered) {
      const stale = this.history
        .slice(0, -1)
        .reverse()
        .find((h) => h.body !== body && !couldBeNext(reply.action, h.event, h.data));
      if (!stale) {
        if (!this.reorderDeferred) {
          this.note(`no earlier event can be told apart from the next one at event ${n}; reordering later`);
        }
        this.reorderDeferred = true;
        return;
      }
      this.reordered = true;
      const late = await this.post(stale.body);
      const k = this.history.indexOf(stale) + 1;
      this.exchange.push({ n, stale_of: k, status: late.status, ms: late.ms, reply: late.action });
      this.say(`[${n}] ${`event ${k} again, late (${stale.event})`.padEnd(44)} -> ${describeReply(late)}  (${late.ms} ms)`);
      if (late.status !== 204 && !(late.status === 200 && late.text === "")) {
        throw new CallFailure(`a late ${stale.event} (event ${k}) was answered with ${describeReply(late)}, not 204`);
      }
    }
  }

  /** Posts a signed body to /webhook within Telesign's patience. */
  async post(body) {
    const started = Date.now();
    const res = await this.timed(
      this.worker.fetch("/webhook", { method: "POST", headers: signedHeaders(body, this.secrets), body }),
      "the event",
    );
    const text = await res.text();
    const ms = Date.now() - started;
    if (res.status !== 200 && res.status !== 204) {
      const error = parse(text)?.error;
      const why = error ? `${error.code}: ${error.message}` : text.slice(0, 200);
      throw new CallFailure(`the worker answered HTTP ${res.status} (${why})`);
    }
    const action = text === "" ? null : parse(text);
    if (text !== "" && action === undefined) throw new CallFailure(`the worker answered text that is not JSON: ${text.slice(0, 200)}`);
    return { status: res.status, text, action, ms };
  }

  /** Races a request against Telesign's patience. */
  async timed(promise, what) {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new CallFailure(`no answer to ${what} within ${this.patienceMs} ms (Telesign's patience)`)),
        this.patienceMs,
      );
    });
    try {
      return await Promise.race([promise, late]);
    } catch (e) {
      if (e instanceof CallFailure) throw e;
      throw new CallFailure(`cannot reach the worker: ${e.cause?.message ?? e.message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** What Telesign does with an action, as the next event (null: the call is over). */
  async respond(action, last) {
    if (action == null) {
      if (last.bridge) return this.bridgeEnds(last.leg);
      // An outbound call that was never answered ends here.
      return this.callCompleted("the call never connected");
    }
    switch (action.method) {
      case "speak":
      case "play":
        return this.playPrompt(action);
      case "dial":
        return this.ring(action.params);
      case "hangup":
        this.say("  the worker hangs up");
        return this.callCompleted();
      default:
        this.note(`Telesign documents no event after ${action.method}; the caller hangs up`);
        return this.callCompleted();
    }
  }

  async playPrompt(action) {
    const p = action.params;
    const heard = action.method === "speak" ? `"${p.tts.message}"` : `audio ${p.url}`;
    this.say(`  caller hears: ${heard}`);
    const event = completionOf(action.method);
    const ok = action.method === "speak" ? "speak_successful" : "playback_successful";
    const collect = p.collect_digits;
    if (!collect) return { event, data: { ...this.parties(), status: ok, collected_digits: "" } };
    const entry = await this.caller.keys();
    if (entry.kind === "hangup") {
      this.say(`  caller hangs up${entry.reason ? ` (${entry.reason})` : ""}`);
      return this.callCompleted();
    }
    if (entry.kind === "none") {
      this.say(`  caller presses nothing (its ${collect.timeout ?? "default"} ms timeout passes)`);
      return { event, data: { ...this.parties(), status: "digit_collection_timeout", collected_digits: "" } };
    }
    const collected = collectDigits(entry.digits, collect);
    const ignored = entry.digits.slice(collected.length);
    this.say(`  caller presses: ${collected}${ignored ? `  (${ignored} ignored: collection had ended)` : ""}`);
    return { event, data: { ...this.parties(), status: ok, collected_digits: collected } };
  }

  async ring(params) {
    const leg = { to: params.to, callerId: params.caller_id_number ?? this.to };
    const answer = await this.caller.legAnswer(params.to);
    const legData = (cause) => ({
      to: wireNumber(leg.to),
      from: wireNumber(this.from),
      caller_id: wireNumber(leg.callerId),
      hangup_cause: cause,
    });
    if (answer === "yes") {
      this.say(`  ${params.to} answers: the caller is bridged`);
      return {
        event: "dial_completed",
        data: { to: wireNumber(leg.to), from: wireNumber(leg.callerId), status: "answered" },
        bridge: true,
        leg: legData,
      };
    }
    const cause = answer === "busy" ? "line_busy" : "call_not_answered";
    this.say(`  ${params.to} ${answer === "busy" ? "is busy" : "does not answer"}`);
    return { event: "call_leg_completed", data: legData(cause) };
  }

  async bridgeEnds(legData) {
    const who = await this.caller.bridgeEnd();
    if (who === "caller") {
      this.say("  the caller hangs up while bridged");
      return this.callCompleted();
    }
    this.say("  the agent hangs up; the caller is still on the line");
    return { event: "call_leg_completed", data: legData("call_answered") };
  }

  callCompleted(why) {
    if (why) this.say(`  ${why}`);
    const ended = Date.now();
    const answered = this.answeredMs;
    return {
      event: "call_completed",
      data: {
        ...this.parties(),
        direction: this.direction,
        created_on_utc: utcStamp(this.startedMs),
        answered_on_utc: answered ? utcStamp(answered) : null,
        ended_on_utc: utcStamp(ended),
        status: "hangup",
        duration: answered ? Math.round((ended - answered) / 1000) : 0,
        audio_recording_file_name: null,
      },
    };
  }

  /** After a failure, ends the call (as Telesign does) so the worker writes its record. */
  async cleanUp() {
    if (this.over || !this.reference) return;
    this.over = true;
    const body = this.body("call_completed", this.callCompleted().data);
    try {
      await this.post(body);
    } catch {
      // The failure is already reported; the record may then be missing.
    }
  }

  /** Reads `GET /calls/<reference>`: the record the worker kept. */
  async readRecord() {
    if (!this.reference) return;
    let res;
    try {
      res = await this.timed(
        this.worker.fetch(`/calls/${this.reference}`, { headers: { authorization: `Bearer ${this.secrets.apiToken}` } }),
        "GET /calls",
      );
    } catch (e) {
      this.fail(`reading the call record: ${e.message}`);
      return;
    }
    const text = await res.text();
    const body = parse(text);
    if (res.status !== 200) {
      const error = body?.error;
      this.fail(`GET /calls/${this.reference} answered HTTP ${res.status}${error ? ` (${error.code}: ${error.message})` : ""}`);
      return;
    }
    this.exchange.push({ request: { method: "GET", path: `/calls/${this.reference}` }, status: 200, reply: body });
    // {"state": "ended", "call": <record>}, or "live" with the session while the call lasts.
    this.record = body?.call ?? body;
    this.say(describeRecord(this.record));
    if (this.over && body?.state === "live") {
      this.fail("the call is over but the worker still holds it as live (no record written)");
    }
  }
}

/** Digits Telesign collects from what was pressed: up to a terminator (kept) or `max` digits. */
export function collectDigits(pressed, collect) {
  const terminators = collect.terminators ?? "";
  let out = "";
  for (const key of pressed) {
    out += key;
    if (terminators.includes(key) || out.length >= collect.max) break;
  }
  return out;
}

function parse(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return undefined;
  }
}

function describeEvent(event, data) {
  switch (event) {
    case "speak_completed":
    case "play_completed":
      return data.collected_digits ? `${event} (${data.collected_digits})` : `${event} (${data.status})`;
    case "dial_completed":
      return `${event} (${data.status})`;
    case "call_leg_completed":
      return `${event} (${data.hangup_cause})`;
    default:
      return event;
  }
}

function describeReply({ status, action }) {
  if (!action) return `${status} no action`;
  const c = action.params?.collect_digits;
  if (!c) return action.params?.to ? `${action.method} ${action.params.to}` : action.method;
  const ends = c.terminators ? `, ends with ${c.terminators}` : "";
  return `${action.method}, collect up to ${c.max} digit${c.max === 1 ? "" : "s"}${ends}`;
}

/** The record the worker kept, in a few readable lines. */
export function describeRecord(record) {
  const r = record ?? {};
  const lines = ["call record:"];
  const field = (name, value) => value != null && value !== "" && lines.push(`  ${name.padEnd(9)} ${value}`);
  field("flow", r.flow);
  field("outcome", r.outcome);
  field("steps", Array.isArray(r.visited) ? r.visited.join(" > ") : null);
  if (Array.isArray(r.answers) && r.answers.length > 0) {
    field("answers", r.answers.map((a) => `${a.step}: ${a.digits || "(none)"} ${a.result}`).join("; "));
  }
  if (r.vars && Object.keys(r.vars).length > 0) {
    field("vars", Object.entries(r.vars).map(([k, v]) => `${k}=${v}`).join(", "));
  }
  field("duration", r.duration != null ? `${r.duration} s` : null);
  return lines.join("\n");
}
