// Plays Telesign against a worker started by ./worker.mjs: signs event bodies exactly as Telesign
// does, with the harness's SECRETS, and posts them to /webhook. Shared by the end-to-end tests that
// send events and by the benchmarks (bench/). The wire format itself lives with the call simulator
// (../simulator/telesign.mjs), which plays Telesign the same way.
import * as wire from "../simulator/telesign.mjs";
import { TEST_CLOCK_HEADER, TEST_EPOCH_MS, eventBody, referenceId } from "../simulator/telesign.mjs";
import { promptStatuses } from "../simulator/rules.mjs";
import { SECRETS } from "./worker.mjs";

export { eventBody, referenceId, TEST_CLOCK_HEADER, TEST_EPOCH_MS };

/** base64(HMAC-SHA256(key = base64decode(apiKey), body)), Telesign's webhook signature. */
export function sign(body, apiKey = SECRETS.TELESIGN_API_KEY) {
  return wire.sign(body, apiKey);
}

/** The headers Telesign sends with a signed event body. */
export function signedHeaders(body, { customerId = SECRETS.TELESIGN_CUSTOMER_ID, apiKey = SECRETS.TELESIGN_API_KEY } = {}) {
  return wire.signedHeaders(body, { customerId, apiKey });
}

/**
 * Posts a signed event to the worker's /webhook and returns {status, action, body, res}:
 * `action` is the parsed JSON-RPC reply (null for 204). With `at` (ms since the epoch), the event
 * carries it in x-test-clock-ms: the engine's time for it, on a worker with TEST_CLOCK.
 *
 * @param {any} worker
 * @param {string} event
 * @param {string} reference_id
 * @param {object} [data]
 * @param {object} [extra]
 * @param {{ at?: number }} [options]
 */
export async function postEvent(worker, event, reference_id, data = {}, extra = {}, { at } = {}) {
  const body = eventBody(event, reference_id, data, extra);
  const headers = signedHeaders(body);
  if (at != null) headers[TEST_CLOCK_HEADER] = String(at);
  return postBody(worker, body, headers);
}

/**
 * Posts `body` to the worker's /webhook with `headers` (signed for it by default).
 *
 * @param {any} worker
 * @param {string} body
 * @param {Record<string, string>} [headers]
 */
export async function postBody(worker, body, headers = signedHeaders(body)) {
  const res = await worker.fetch("/webhook", { method: "POST", headers, body });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, action: res.status === 200 ? parsed : null, body: parsed, text, res };
}

/** The data of a call_completed as Telesign posts it for a 59-second inbound call. */
export const CALL_COMPLETED = {
  direction: "inbound",
  status: "hangup",
  created_on_utc: "2026-11-21T10:00:00.000000",
  answered_on_utc: "2026-11-21T10:00:01.000000",
  ended_on_utc: "2026-11-21T10:01:00.000000",
  duration: 59,
  audio_recording_file_name: null,
};

/**
 * What Telesign posts when a speak or play action ends (its event, and which status says it
 * played, failed or timed out), from the rules the Rust generates (scripts/simulator/rules.mjs).
 */
function mediaCompletion(action) {
  return promptStatuses(action.method === "play" ? "play" : "speak");
}

/**
 * A Telesign call: posts its events in order with the call's numbers filled in. It keeps the call's
 * time (`now`, ms since the epoch, from TEST_EPOCH_MS unless given) and sends it with each event
 * in x-test-clock-ms, which a worker
 * with the TEST_CLOCK binding (the harness's) takes as the engine's time: each event comes a second
 * after the one before, and a digit_collection_timeout no sooner than the prompt's `timeout` after
 * the prompt was answered, as Telesign sends it. `wait(ms)` moves the clock on.
 */
export class Call {
  /**
   * @param {any} worker
   * @param {{ from?: string, to?: string, reference?: string, externalId?: string, now?: number }} [options]
   */
  constructor(worker, { from = "+15558675309", to = "+15555551212", reference = referenceId(), externalId, now = TEST_EPOCH_MS } = {}) {
    this.worker = worker;
    this.from = from;
    this.to = to;
    this.reference = reference;
    /** @type {string | undefined} */
    this.externalId = externalId;
    this.now = now;
    /** When the last event was answered, on the call's clock. */
    this.answeredAt = now;
  }
  async post(event, data = {}) {
    const extra = this.externalId ? { external_id: this.externalId } : {};
    const at = this.now;
    const reply = await postEvent(this.worker, event, this.reference, { from: this.from, to: this.to, ...data }, extra, { at });
    this.answeredAt = at;
    this.now = at + 1000;
    return reply;
  }
  /** Moves the call's clock on by `ms`. */
  wait(ms) {
    this.now += ms;
  }
  incoming() {
    return this.post("incoming_call");
  }
  /** The completion of a speak or play action, with the keys pressed ("" for none). */
  completed(action, digits = "") {
    const { event, success, timeout } = mediaCompletion(action);
    const collect = action.params?.collect_digits;
    const timedOut = digits === "" && collect;
    if (timedOut) {
      // Collection waits `timeout` ms for the first digit before Telesign reports the timeout.
      this.now = Math.max(this.now, this.answeredAt + (collect.timeout ?? 5000) + 500);
    }
    return this.post(event, { status: timedOut ? timeout : success, collected_digits: digits });
  }
  /** The completion of a speak or play action that Telesign could not play. */
  failed(action) {
    const { event, failure } = mediaCompletion(action);
    return this.post(event, { status: failure, collected_digits: "" });
  }
  hangup(extra = {}) {
    return this.post("call_completed", { ...CALL_COMPLETED, ...extra });
  }
  /** Telesign's `hangup` event (the Base Event table's "call ended") instead of call_completed. */
  hangupEvent() {
    return this.post("hangup", { status: "hangup" });
  }
}
