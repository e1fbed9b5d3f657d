// Plays Telesign against a worker started by ./worker.mjs: signs event bodies exactly as Telesign
// does, with the harness's SECRETS, and posts them to /webhook. Shared by the end-to-end tests that
// send events and by the benchmarks (bench/). The wire format itself lives with the call simulator
// (../simulator/telesign.mjs), which plays Telesign the same way.
import * as wire from "../simulator/telesign.mjs";
import { eventBody, referenceId } from "../simulator/telesign.mjs";
import { SECRETS } from "./worker.mjs";

export { eventBody, referenceId };

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
 * `action` is the parsed JSON-RPC reply (null for 204).
 */
export async function postEvent(worker, event, reference_id, data = {}, extra = {}) {
  return postBody(worker, eventBody(event, reference_id, data, extra));
}

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

/** A Telesign call: posts its events in order with the call's numbers filled in. */
export class Call {
  constructor(worker, { from = "+15558675309", to = "+15555551212", reference = referenceId(), externalId } = {}) {
    Object.assign(this, { worker, from, to, reference, externalId });
  }
  post(event, data = {}) {
    const extra = this.externalId ? { external_id: this.externalId } : {};
    return postEvent(this.worker, event, this.reference, { from: this.from, to: this.to, ...data }, extra);
  }
  incoming() {
    return this.post("incoming_call");
  }
  /** The completion of a speak or play action, with the keys pressed ("" for none). */
  completed(action, digits = "") {
    const event = action.method === "play" ? "play_completed" : "speak_completed";
    const prefix = action.method === "play" ? "playback" : "speak";
    const status = digits === "" && action.params?.collect_digits ? "digit_collection_timeout" : `${prefix}_successful`;
    return this.post(event, { status, collected_digits: digits });
  }
  hangup(extra = {}) {
    return this.post("call_completed", { ...CALL_COMPLETED, ...extra });
  }
}
