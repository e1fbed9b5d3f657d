// The call simulator: plays Telesign against a running worker. It sends signed events, answers every
// action the way Telesign would (speak/play -> *_completed with the caller's keys, dial -> leg events,
// hangup -> call_completed), checks every reply against the call-state rules (./rules.mjs, generated
// from the worker's protocol module) and against docs/call-behaviour.md where it says what a late or
// repeated event gets, and at the end reads the call record the worker kept. Used by scripts/call.mjs
// (the CLI), scripts/soak.mjs and tests/e2e/ (scripted runs of the sample flows).
//
// Time. The simulator keeps a clock of the call (see TIMING): a prompt takes as long as it would
// play, a key 300 ms, a timeout comes the prompt's `timeout` after the prompt ended, a ringing
// number 5 s. With `testClock`, every event carries its time in `x-test-clock-ms`, which a worker
// with the TEST_CLOCK service binding (the test harness's) takes as the engine's time: minutes of
// a call run in milliseconds. Without it (a worker under `npm run dev`, a deployed one) the worker
// keeps its own time, so the simulator waits for real before a digit_collection_timeout: never
// sooner than the prompt's timeout after the prompt was answered, as Telesign would.

import { allowedMethods, callEndEvents, checkReply, completionOf, couldBeNext, promptStatuses } from "./rules.mjs";
import { TEST_CLOCK_HEADER, TEST_EPOCH_MS, eventBody, referenceId, signedHeaders, utcStamp, wireNumber } from "./telesign.mjs";

/** The status that says a prompt was played, by its completion event (from the generated rules). */
const PROMPT_SUCCESSES = new Map(["speak", "play"].map((m) => promptStatuses(m)).map((s) => [s.event, s.success]));

export const DEFAULT_FROM = "+15558675309";
export const DEFAULT_TO = "+15555551212";
/**
 * How long the simulator waits for each answer before it fails the call. Our assumption of
 * Telesign's patience: no Telesign page gives a number (docs/call-behaviour.md).
 */
export const DEFAULT_PATIENCE_MS = 5000;
/**
 * How long after a call ended the simulator keeps reading its record while the worker still
 * holds the call as live: the worker settles a call's end again after EVENT_BUDGET_MS (default
 * 4000) + 1 s, for an event that was still running when the call ended.
 */
export const DEFAULT_SETTLE_MS = 5000;
/** `KEYS+hangup`: how long after sending the keys the caller hangs up (real time). */
export const DEFAULT_HANGUP_DELAY_MS = 300;

/** The simulated clock: how long things take on a call. */
export const TIMING = {
  /** A speak plays about this long per character of its message... */
  speakMsPerChar: 60,
  /** ...and at least this long. */
  speakMinMs: 1000,
  /** A play (an audio file of unknown length). */
  playMs: 3000,
  /** One key press. */
  keyMs: 300,
  /** collect_digits.timeout / inter_digit_timeout when the action gives none. */
  defaultTimeoutMs: 5000,
  /** A number rings this long before it answers or the leg ends. */
  ringMs: 5000,
  /** A bridged call lasts this long before someone hangs up. */
  talkMs: 20_000,
  /** Telesign reports a prompt it cannot play this soon. */
  failMs: 200,
  /** Telesign ends the call this soon after a hangup action. */
  hangupMs: 100,
  /** A redelivery (or a late event) comes this soon after the event before it. */
  redeliveryMs: 100,
};

/**
 * @typedef {object} SimulationOptions
 * @property {{ fetch(path: string, init?: object): Promise<any> }} worker
 * @property {{ customerId: string, apiKey: string, apiToken: string }} secrets
 * @property {any} caller
 * @property {string} [from]
 * @property {string} [to]
 * @property {{ flow: string, to: string, vars?: object, callerId?: string, api: any, answer?: boolean, early?: boolean } | null} [outbound]
 * @property {number | null} [duplicate]
 * @property {number | null} [reorder]
 * @property {boolean} [testClock]
 * @property {number} [startMs]
 * @property {boolean} [hangupEvent]
 * @property {number} [patienceMs]
 * @property {number} [settleMs]
 * @property {number} [hangupDelayMs]
 * @property {(line: string) => void} [say]
 * @property {object[]} [exchange]
 */

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
 * - `outbound`: `{ flow, to, vars, callerId, api, answer, early }` places the call with
 *   `POST /calls` instead, `api` being the FakeTelesignApi the worker dials through; `early`: the
 *   called person answers, and Telesign posts dial_completed, before its `202` reaches the worker;
 * - `duplicate`, `reorder`: 1-based event numbers (see docs/simulator.md);
 * - `testClock`: send each event's simulated time in `x-test-clock-ms` (a worker with the
 *   TEST_CLOCK binding runs on it); without it the simulator waits real time before timeouts;
 * - `startMs`: where the simulated clock starts (default TEST_EPOCH_MS, a Monday morning in New
 *   York); only with `testClock`;
 * - `hangupEvent`: the call ends with Telesign's `hangup` event instead of `call_completed`;
 * - `patienceMs`, `settleMs`, `hangupDelayMs`: see the constants above;
 * - `say(line)`: receives the transcript, line by line;
 * - `exchange`: an array the exchange is written into while the call runs (the dev phone reads it
 *   live); a fresh one by default.
 *
 * @param {SimulationOptions} options
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

/**
 * A call view's text (`GET /calls/<id>`) without what a redelivery writes: the session's count of
 * repeats of its last body, and when it was written.
 */
export function withoutRepeats(text) {
  try {
    const view = JSON.parse(text);
    if (view?.call?.last) delete view.call.last.repeats;
    if (view?.call) delete view.call.saved_ms;
    return JSON.stringify(view);
  } catch {
    return text;
  }
}

/**
 * A worker reached over HTTP at `base` (`http://127.0.0.1:8787`, a deployed worker's URL).
 *
 * @param {string} base
 * @returns {{ fetch(path: string, init?: object): Promise<any> }}
 */
export function urlWorker(base) {
  return { fetch: (path, init) => fetch(new URL(path, base), init) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The same end of a prompt that nobody answered, answered with the same action this many times in
 * a row, stops the call as a loop (more than a flow's own repeats of a message, and than the
 * worker's bound on answering one body as a redelivery).
 */
export const LOOP_REPEATS = 12;
/** A call that has not ended after this many events is stopped. */
export const MAX_EVENTS = 2000;

/** How long a prompt plays, on the simulated clock. */
export function promptMs(action) {
  if (action.method === "play") return TIMING.playMs;
  const text = action.params?.tts?.message ?? "";
  return Math.max(TIMING.speakMinMs, TIMING.speakMsPerChar * text.length);
}

class Simulation {
  /** @param {SimulationOptions} options */
  constructor({
    worker,
    secrets,
    caller,
    from = DEFAULT_FROM,
    to = DEFAULT_TO,
    outbound = null,
    duplicate = null,
    reorder = null,
    testClock = false,
    startMs = TEST_EPOCH_MS,
    hangupEvent = false,
    patienceMs = DEFAULT_PATIENCE_MS,
    settleMs = DEFAULT_SETTLE_MS,
    hangupDelayMs = DEFAULT_HANGUP_DELAY_MS,
    say = () => {},
    exchange = [],
  }) {
    this.worker = worker;
    this.secrets = secrets;
    this.caller = caller;
    this.outbound = outbound;
    this.duplicate = duplicate;
    this.reorder = reorder;
    this.testClock = testClock;
    this.patienceMs = patienceMs;
    this.settleMs = settleMs;
    this.hangupDelayMs = hangupDelayMs;
    this.say = say;
    this.startAt = startMs;
    const ends = callEndEvents();
    this.endEvent = hangupEvent ? ends.find((e) => e !== "call_completed") : "call_completed";
    this.endEvents = ends;
    this.direction = outbound ? "outbound" : "inbound";
    this.from = outbound ? null : from;
    this.to = outbound ? outbound.to : to;
    this.reference = outbound ? null : referenceId();
    this.externalId = null;
    this.exchange = exchange;
    this.history = [];
    this.failures = [];
    this.notes = [];
    this.record = null;
    this.sent = 0;
    // The simulated clock (real time without testClock), and what Telesign last got, and when.
    this.now = testClock ? this.startAt : Date.now();
    this.startedMs = this.now;
    this.answeredMs = null;
    this.lastAction = null;
    this.lastReply = null;
    this.actionAt = this.now;
    this.actionAtReal = Date.now();
    // The numbers the call's dials rang, and the one ringing (or bridged) now.
    this.rung = [];
    this.ringing = null;
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

  /** The time `ms` after the last action was received (never before the clock's now). */
  later(ms) {
    return Math.max(this.now, this.actionAt + ms);
  }

  /** Moves the clock to `at` (simulated), or reads real time; the event's time. */
  tick(at) {
    this.now = this.testClock ? Math.max(this.now, at ?? this.now) : Date.now();
    return this.now;
  }

  /** How long since the last action was received, on the clock the worker goes by. */
  elapsed(at) {
    return this.testClock ? at - this.actionAt : Date.now() - this.actionAtReal;
  }

  isEnd(event) {
    return this.endEvents.includes(event);
  }

  async run() {
    let { next, reply } = this.outbound ? await this.placeCall() : { next: this.incomingCall(), reply: null };
    while (next) {
      if (next.thenHangUp) {
        await this.sendThenHangUp(next);
        break;
      }
      reply ??= await this.send(next);
      if (this.isEnd(next.event)) break;
      next = await this.respond(reply.action, next);
      reply = null;
    }
    this.over = true;
  }

  incomingCall() {
    this.answeredMs = this.now;
    this.say(`call ${this.reference}: inbound, ${this.from} calls ${this.to}`);
    return { event: "incoming_call", data: this.parties(), at: this.now };
  }

  /** Takes the dial Telesign accepted as the call being played. */
  adoptDial(dial) {
    this.reference = dial.reference_id;
    this.externalId = dial.params.external_id ?? null;
    this.from = dial.params.caller_id_number;
    this.to = dial.params.to;
  }

  /** Places the call through the worker's POST /calls and plays Telesign taking the dial. */
  async placeCall() {
    const { flow, to, vars = {}, callerId, api, answer = true, early = false } = this.outbound;
    const request = { flow, to, vars };
    if (callerId) request.caller_id_number = callerId;
    let answeredEarly = null;
    let earlyFailure = null;
    if (early) {
      // Telesign's dial_completed reaches the worker while the worker still waits for the 202.
      api.beforeAccepting(async (dial) => {
        this.adoptDial(dial);
        this.say(`call ${this.reference}: outbound, Telesign dials ${this.to} from ${this.from}`);
        this.say("  the called person picks up before Telesign's 202 reached the worker");
        const next = this.dialAnswered();
        try {
          answeredEarly = { next, reply: await this.send(next) };
        } catch (e) {
          earlyFailure = e;
        }
      });
    }
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
    if (earlyFailure) throw earlyFailure;
    if (res.status < 200 || res.status > 299) {
      throw new CallFailure(`POST /calls answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    }
    const dial = await api.nextDial(this.patienceMs);
    this.exchange.push({ telesign_api: dial.action, status: 202, reference_id: dial.reference_id });
    if (early) {
      if (!answeredEarly) throw new CallFailure("the dial was accepted without the early dial_completed being posted");
      this.say(`  Telesign answers the dial: 202 dial_accepted (after the call was answered)`);
      return answeredEarly;
    }
    this.adoptDial(dial);
    this.say(`call ${this.reference}: outbound, Telesign dials ${this.to} from ${this.from}`);
    if (!answer) {
      this.say("  the called person does not pick up");
      return { next: { event: "dial_completed", data: { ...this.parties(), status: "failed" }, at: this.later(TIMING.ringMs) }, reply: null };
    }
    this.say("  the called person picks up");
    return { next: this.dialAnswered(), reply: null };
  }

  dialAnswered() {
    this.answeredMs = this.later(TIMING.ringMs);
    return { event: "dial_completed", data: { ...this.parties(), status: "answered" }, at: this.answeredMs };
  }

  body(event, data) {
    const extra = this.externalId ? { external_id: this.externalId } : {};
    return eventBody(event, this.reference, data, extra);
  }

  parties() {
    return { to: wireNumber(this.to), from: wireNumber(this.from) };
  }

  /**
   * Delivers an event, checks the reply, and (unless `redeliver` is false) runs the redelivery
   * checks asked for.
   */
  async send({ event, data, at, masked = false }, { redeliver = true } = {}) {
    at = this.tick(at);
    const body = this.body(event, data);
    const n = ++this.sent;
    this.history.push({ n, event, data, body });
    // What is shown of the event: a sensitive entry's keys masked.
    const shown = masked ? { ...data, collected_digits: maskKeys(data.collected_digits ?? "") } : data;
    const line = { n, event: JSON.parse(masked ? this.body(event, shown) : body) };
    if (this.testClock) line.at = at;
    this.exchange.push(line);
    const reply = await this.post(body, at);
    Object.assign(line, { status: reply.status, ms: reply.ms, reply: reply.action });
    this.say(`[${n}] ${describeEvent(event, shown).padEnd(44)} -> ${describeReply(reply)}  (${reply.ms} ms)`);
    const problem = checkReply(event, data, reply.action, { after: this.lastAction });
    if (problem) throw new CallFailure(`event ${n}: ${problem}`);
    this.checkProgress(n, body, reply);
    await this.followHold(reply);
    // What Telesign got last, and when: what it may post next.
    this.lastAction = reply.action;
    this.lastReply = reply;
    this.lastBody = body;
    this.actionAt = at;
    this.actionAtReal = Date.now();
    if (redeliver && !this.isEnd(event)) {
      await this.redeliver(n, event, data, body, reply);
    }
    return reply;
  }

  /**
   * Says when the caller is on hold while a lookup runs, and when its answer came: the worker's
   * session tells (GET /calls/<id>), read after each prompt that collects nothing, and once more
   * after the hold. Without the API token, nothing is said.
   */
  async followHold(reply) {
    const plain = reply.action && !reply.action.params?.collect_digits;
    if (!this.secrets.apiToken || !this.reference || !(plain || this.holding)) return;
    let call;
    try {
      const res = await this.worker.fetch(`/calls/${this.reference}`, { headers: { authorization: `Bearer ${this.secrets.apiToken}` } });
      if (res.status !== 200) return;
      call = (await res.json()).call;
    } catch {
      return;
    }
    const held = call?.held;
    if (held) {
      if (!this.holding) this.say(`  on hold: the request of \`${call.step}\` runs after the answer`);
      this.holding = { step: call.step, since: held.since_ms, plays: held.plays };
      return;
    }
    if (!this.holding) return;
    const fetched = (call?.fetches ?? []).filter((f) => f.step === this.holding.step).at(-1);
    if (fetched?.status != null) {
      const took = fetched.at_ms - this.holding.since;
      this.say(
        `  the request answered HTTP ${fetched.status} after ${took} ms, during hold ${this.holding.plays}: ${fetched.ok ? "its way on" : "its error way"}`,
      );
    } else {
      this.say(`  no answer after ${this.holding.plays} hold prompts: the error way`);
    }
    this.holding = null;
  }

  /**
   * Whether the prompt playing now is a sensitive entry's: the call's step (GET /calls/<id>) is
   * one GET /flows lists in its flow's `sensitive_steps`. Without the API token, or a flow with
   * any, nothing is read and nothing is masked.
   */
  async atSensitiveEntry() {
    if (!this.secrets.apiToken || !this.reference) return false;
    const headers = { authorization: `Bearer ${this.secrets.apiToken}` };
    try {
      if (this.sensitiveSteps === undefined) {
        const res = await this.worker.fetch("/flows", { headers });
        const flows = res.status === 200 ? (await res.json()).flows : [];
        this.sensitiveSteps = new Map(flows.filter((f) => f.sensitive_steps?.length).map((f) => [f.name, new Set(f.sensitive_steps)]));
      }
      if (this.sensitiveSteps.size === 0) return false;
      const res = await this.worker.fetch(`/calls/${this.reference}`, { headers });
      if (res.status !== 200) return false;
      const call = (await res.json()).call;
      return Boolean(this.sensitiveSteps.get(call?.flow)?.has(call?.step));
    } catch {
      return false;
    }
  }

  /**
   * Stops a call that repeats itself: the same event answered with the same action
   * LOOP_REPEATS times in a row (no caller is answering anything: the worker takes each end of a
   * prompt for the one before), or one that goes on past MAX_EVENTS events.
   */
  checkProgress(n, body, reply) {
    // Only the ends of prompts nobody answered count: a caller may press a menu's repeat key, or
    // stay silent through its reprompts, as often as the flow lets them.
    const { event, data = {} } = JSON.parse(body);
    const played = PROMPT_SUCCESSES.get(event);
    const unanswered = played !== undefined && data.status === played && !data.collected_digits;
    const key = unanswered ? `${body}\n${JSON.stringify(reply.action)}` : null;
    this.repeated = key && this.repeated?.key === key ? { key, count: this.repeated.count + 1 } : { key, count: 1 };
    if (key && this.repeated.count >= LOOP_REPEATS) {
      throw new CallFailure(
        `the call repeats itself: event ${n} is the ${this.repeated.count}th identical ${JSON.parse(body).event} in a row, each answered with the same ${reply.action?.method ?? "no action"}; the worker takes each as the one before (a loop), so the call was stopped`,
      );
    }
    if (n >= MAX_EVENTS) throw new CallFailure(`the call went on for ${n} events without ending; it was stopped`);
  }

  /**
   * `KEYS+hangup`: the keys are sent, and the caller hangs up while the worker is still answering
   * them (a slow `fetch` step). Both answers are checked; the record must still get the keys.
   */
  async sendThenHangUp(next) {
    const entry = this.send(next, { redeliver: false });
    await sleep(this.hangupDelayMs);
    const end = this.callEnded(next.at + this.hangupDelayMs, `the caller hangs up while the worker still answers event ${this.sent}`);
    const results = await Promise.allSettled([entry, this.send(end, { redeliver: false })]);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * The call as the worker holds it (`GET /calls/<id>`), to tell whether an event changed it: all
   * of it but the count of how often its last event came again, which a redelivery writes.
   */
  async liveView() {
    try {
      const res = await this.worker.fetch(`/calls/${this.reference}`, {
        headers: { authorization: `Bearer ${this.secrets.apiToken}` },
      });
      return `${res.status} ${withoutRepeats(await res.text())}`;
    } catch (e) {
      return `unreadable: ${e.message}`;
    }
  }

  /** A time for an injected delivery: a little after the last one. */
  redeliveryTime() {
    this.now = Math.max(this.now, this.actionAt) + TIMING.redeliveryMs;
    return this.testClock ? this.now : Date.now();
  }

  /** `--duplicate N` / `--reorder N`, at the first event from N on where the check means something. */
  async redeliver(n, event, data, body, reply) {
    if (this.duplicate != null && n >= this.duplicate && !this.duplicated) {
      const at = this.redeliveryTime();
      if (couldBeNext(reply.action, event, data, this.elapsed(at))) {
        if (!this.duplicateDeferred) {
          this.note(
            `event ${n} is also what the call may send next, and Telesign events carry no id: a redelivery would be a new event; duplicating the first later event that can be told apart`,
          );
        }
        this.duplicateDeferred = true;
      } else {
        this.duplicated = true;
        const before = await this.liveView();
        const again = await this.post(body, at);
        const after = await this.liveView();
        this.exchange.push({ n, duplicate: true, status: again.status, ms: again.ms, reply: again.action });
        this.say(`[${n}] ${"same event again (duplicate)".padEnd(44)} -> ${describeReply(again)}  (${again.ms} ms)`);
        if (again.status !== reply.status || again.text !== reply.text) {
          throw new CallFailure(`event ${n} delivered twice got two different answers (${describeReply(reply)}, then ${describeReply(again)})`);
        }
        if (before !== after) throw new CallFailure(`the redelivery of event ${n} changed the call`);
      }
    }
    if (this.reorder != null && n >= this.reorder && !this.reordered) {
      const at = this.redeliveryTime();
      const elapsed = this.elapsed(at);
      const stale = this.history
        .slice(0, -1)
        .reverse()
        .find((h) => h.body !== body && this.lateAnswer(h, elapsed) !== undefined);
      if (!stale) {
        if (!this.reorderDeferred) {
          this.note(`no earlier event can be told apart from the next one at event ${n}; reordering later`);
        }
        this.reorderDeferred = true;
        return;
      }
      this.reordered = true;
      const expected = this.lateAnswer(stale, elapsed);
      const before = await this.liveView();
      const late = await this.post(stale.body, at);
      const after = await this.liveView();
      const k = stale.n;
      this.exchange.push({ n, stale_of: k, status: late.status, ms: late.ms, reply: late.action });
      this.say(`[${n}] ${`event ${k} again, late (${stale.event})`.padEnd(44)} -> ${describeReply(late)}  (${late.ms} ms)`);
      const silent = late.status === 204 || (late.status === 200 && late.text === "");
      const what = `a late ${stale.event} (event ${k})`;
      if (expected === "prompt") {
        if (silent) {
          throw new CallFailure(
            `${what} was answered ${late.status} with no action: the caller hearing our prompts is left in silence (docs/call-behaviour.md: the prompt the call waits on, again)`,
          );
        }
        if (late.text !== this.lastReply.text) {
          throw new CallFailure(
            `${what} was answered with ${describeReply(late)}, not exactly the prompt the call waits on (${describeReply(this.lastReply)})`,
          );
        }
      } else if (!silent) {
        throw new CallFailure(
          `${what} was answered with ${describeReply(late)}, not 204 (${this.lastAction?.method === "hangup" ? "the worker hung up" : "a dial rings or is bridged"}: docs/call-behaviour.md)`,
        );
      }
      if (before !== after) throw new CallFailure(`${what} changed the call`);
    }
  }

  /**
   * What docs/call-behaviour.md answers an earlier event `h` delivered again now (`elapsed` ms after
   * the last action): "prompt" (the prompt the call waits on, again: exactly the last action), null
   * (204), or undefined when the event is no test of a late delivery, because Telesign could post it
   * as the next event (couldBeNext) or the worker takes it for one.
   */
  lateAnswer(h, elapsed) {
    const last = this.lastAction;
    // A leg event naming a number the dial rang before, not the one ringing: Telesign posts one
    // call_leg_completed per leg, so that leg's is old news (and never rings another number).
    const earlierLeg = h.event === "call_leg_completed" && this.isEarlierLeg(h.data);
    if (couldBeNext(last, h.event, h.data, elapsed) && !earlierLeg) return undefined;
    if (last == null || last.method === "dial") {
      // A dial rings or is bridged: 204. A dial_completed would mark the call bridged, though.
      return h.event === "dial_completed" ? undefined : null;
    }
    if (last.method === "hangup") return null;
    if (last.method === "speak" || last.method === "play") {
      // A completion of the prompt's own kind with another body is taken as the prompt's end
      // (only a repeat of the last body is judged a redelivery): no test of a late event.
      if (h.event === completionOf(last.method)) return undefined;
      return allowedMethods(h.event, h.data).includes(last.method) ? "prompt" : null;
    }
    return undefined;
  }

  isEarlierLeg(data) {
    const named = [data?.to, data?.from].map(wireNumber);
    return !named.includes(this.ringing) && this.rung.some((n) => n !== this.ringing && named.includes(n));
  }

  /** Posts a signed body to /webhook within the patience; `at` goes in x-test-clock-ms. */
  async post(body, at) {
    const started = Date.now();
    const headers = signedHeaders(body, this.secrets);
    if (this.testClock && at != null) headers[TEST_CLOCK_HEADER] = String(at);
    const res = await this.timed(this.worker.fetch("/webhook", { method: "POST", headers, body }), "the event");
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

  /** Races a request against the patience (our assumption of Telesign's). */
  async timed(promise, what) {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new CallFailure(`no answer to ${what} within ${this.patienceMs} ms (--patience: our assumption of Telesign's patience, which no page gives)`)),
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
      return this.callEnded(this.later(TIMING.hangupMs), "the call never connected");
    }
    switch (action.method) {
      case "speak":
      case "play":
        return this.playPrompt(action);
      case "dial":
        return this.ring(action.params);
      case "hangup":
        this.say("  the worker hangs up");
        return this.callEnded(this.later(TIMING.hangupMs));
      default:
        this.note(`Telesign documents no event after ${action.method}; the caller hangs up`);
        return this.callEnded(this.later(TIMING.hangupMs));
    }
  }

  async playPrompt(action) {
    const p = action.params;
    const heard = action.method === "speak" ? `"${p.tts.message}" [${p.tts.language}]` : `audio ${p.url}`;
    const status = promptStatuses(action.method);
    const event = status.event;
    const plays = promptMs(action);
    const completion = (at, value, keys = "") => ({ event, at, data: { ...this.parties(), status: value, collected_digits: keys } });
    const failed = () => {
      this.say(`  Telesign cannot play ${heard} (${status.failure})`);
      return completion(this.later(TIMING.failMs), status.failure);
    };
    const collect = p.collect_digits;
    if (!collect) {
      const during = await this.caller.duringPlainPrompt(action);
      if (during?.kind === "fail") return failed();
      this.say(`  caller hears: ${heard}`);
      if (during?.kind === "keys") {
        // A plain prompt stops at the first key (the API reference: "the message stops").
        this.say(`  caller presses ${during.digits} during the prompt: it stops`);
        return completion(this.later(TIMING.keyMs), status.success, during.digits);
      }
      return completion(this.later(plays), status.success);
    }
    const entry = await this.caller.keys(action);
    if (entry.kind === "fail") return failed();
    this.say(`  caller hears: ${heard}`);
    if (entry.kind === "hangup") {
      this.say(`  caller hangs up${entry.reason ? ` (${entry.reason})` : ""}`);
      return this.callEnded(this.later(plays));
    }
    const timeout = Number.isInteger(collect.timeout) ? collect.timeout : TIMING.defaultTimeoutMs;
    if (entry.kind === "none") {
      this.say(`  caller presses nothing (its ${collect.timeout ?? "default"} ms timeout passes)`);
      if (!this.testClock) await this.waitForTimeout(timeout);
      return completion(this.later(plays + timeout), status.timeout);
    }
    const collected = collectDigits(entry.digits, collect);
    const ignored = entry.digits.slice(collected.length);
    // A sensitive entry (the flow's `gather(..).sensitive()`) is masked in everything shown.
    const masked = await this.atSensitiveEntry();
    const shown = masked ? maskKeys(collected) : collected;
    this.say(
      `  caller presses: ${shown}${entry.during ? " (during the prompt)" : ""}${ignored ? `  (${masked ? maskKeys(ignored) : ignored} ignored: collection had ended)` : ""}`,
    );
    const terminated = [...(collect.terminators ?? "")].some((t) => collected.endsWith(t));
    const full = collected.length >= collect.max;
    // An entry ended by neither a terminator nor max keys ends at the inter-digit timeout.
    const interDigit = terminated || full ? 0 : Number.isInteger(collect.inter_digit_timeout) ? collect.inter_digit_timeout : TIMING.defaultTimeoutMs;
    const at = this.later((entry.during ? 0 : plays) + TIMING.keyMs * collected.length + interDigit);
    return { ...completion(at, status.success, collected), thenHangUp: Boolean(entry.thenHangUp), masked };
  }

  /**
   * Without the test clock the worker goes by real time: a digit_collection_timeout is not sent
   * sooner than the prompt's timeout after the prompt was answered.
   */
  async waitForTimeout(timeout) {
    const wait = this.actionAtReal + timeout + 50 - Date.now();
    if (wait <= 0) return;
    this.say(`  (waiting ${(wait / 1000).toFixed(1)} s: Telesign reports a timeout after the prompt's timeout)`);
    await sleep(wait);
  }

  async ring(params) {
    const leg = { to: params.to, callerId: params.caller_id_number ?? this.to };
    this.ringing = wireNumber(params.to);
    this.rung.push(this.ringing);
    const answer = await this.caller.legAnswer(params.to);
    const legData = (cause) => ({
      to: wireNumber(leg.to),
      from: wireNumber(this.from),
      caller_id: wireNumber(leg.callerId),
      hangup_cause: cause,
    });
    const at = this.later(TIMING.ringMs);
    if (answer === "yes") {
      this.say(`  ${params.to} answers: the caller is bridged`);
      return {
        event: "dial_completed",
        data: { to: wireNumber(leg.to), from: wireNumber(leg.callerId), status: "answered" },
        at,
        bridge: true,
        leg: legData,
      };
    }
    const cause = answer === "busy" ? "line_busy" : "call_not_answered";
    this.say(`  ${params.to} ${answer === "busy" ? "is busy" : "does not answer"}`);
    return { event: "call_leg_completed", data: legData(cause), at };
  }

  async bridgeEnds(legData) {
    const who = await this.caller.bridgeEnd();
    const at = this.later(TIMING.talkMs);
    if (who === "caller") {
      this.say("  the caller hangs up while bridged");
      return this.callEnded(at);
    }
    this.say("  the agent hangs up; the caller is still on the line");
    return { event: "call_leg_completed", data: legData("call_answered"), at };
  }

  /** The event that ends the call at `at`: call_completed, or Telesign's `hangup` event (hangupEvent). */
  callEnded(at, why) {
    if (why) this.say(`  ${why}`);
    const ended = this.testClock ? at : Date.now();
    const answered = this.answeredMs;
    if (this.endEvent !== "call_completed") {
      this.say(`  Telesign posts the \`${this.endEvent}\` event (call ended)`);
      return { event: this.endEvent, at, data: { ...this.parties(), status: "hangup" } };
    }
    return {
      event: "call_completed",
      at,
      data: {
        ...this.parties(),
        direction: this.direction,
        created_on_utc: utcStamp(this.startedMs),
        answered_on_utc: answered ? utcStamp(answered) : null,
        ended_on_utc: utcStamp(ended),
        status: "hangup",
        duration: answered ? Math.max(0, Math.round((ended - answered) / 1000)) : 0,
        audio_recording_file_name: null,
      },
    };
  }

  /** After a failure, ends the call (as Telesign does) so the worker writes its record. */
  async cleanUp() {
    if (this.over || !this.reference) return;
    this.over = true;
    const end = this.callEnded(this.later(TIMING.hangupMs));
    try {
      await this.post(this.body(end.event, end.data), this.tick(end.at));
    } catch {
      // The failure is already reported; the record may then be missing.
    }
  }

  /**
   * Reads `GET /calls/<reference>`: the record the worker kept. A call that is over but still
   * live is read again until `settleMs` has passed (the worker settles an ended call again once
   * an event still running has had its budget).
   */
  async readRecord() {
    if (!this.reference) return;
    const deadline = Date.now() + this.settleMs;
    let res;
    let body;
    for (;;) {
      try {
        res = await this.timed(this.worker.fetch(`/calls/${this.reference}`, { headers: { authorization: `Bearer ${this.secrets.apiToken}` } }), "GET /calls");
      } catch (e) {
        this.fail(`reading the call record: ${e.message}`);
        return;
      }
      body = parse(await res.text());
      if (!(res.status === 200 && this.over && body?.state === "live" && Date.now() < deadline)) break;
      await sleep(100);
    }
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
      this.fail(`the call is over but the worker still holds it as live ${this.settleMs} ms later (no record written)`);
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

/** Keys as a sensitive entry shows them: each digit a `*` (`*` and `#` tell nothing). */
function maskKeys(keys) {
  return keys.replace(/[0-9]/g, "*");
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
  if (Array.isArray(r.failures) && r.failures.length > 0) {
    field("failures", r.failures.map((f) => `${f.step}: ${f.status}`).join("; "));
  }
  if (r.vars && Object.keys(r.vars).length > 0) {
    field(
      "vars",
      Object.entries(r.vars)
        .map(([k, v]) => `${k}=${v}`)
        .join(", "),
    );
  }
  field("duration", r.duration != null ? `${r.duration} s` : null);
  return lines.join("\n");
}
