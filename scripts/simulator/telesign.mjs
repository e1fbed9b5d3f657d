// What Telesign puts on the wire: signed event bodies, reference ids, and the numbers as it writes
// them. Shared by the call simulator (scripts/call.mjs), the fake Telesign API (telesign_api.mjs)
// and the harness (scripts/harness/events.mjs) that the end-to-end tests and the benchmarks use.
import { createHmac, randomUUID } from "node:crypto";

/** base64(HMAC-SHA256(key = base64decode(apiKey), body)), Telesign's webhook signature. */
export function sign(body, apiKey) {
  return createHmac("sha256", Buffer.from(apiKey, "base64")).update(body).digest("base64");
}

/** The headers Telesign sends with a signed event body. */
export function signedHeaders(body, { customerId, apiKey }) {
  const signature = sign(body, apiKey);
  return {
    "content-type": "application/json",
    authorization: `TSA ${customerId}:${signature}`,
    "x-ts-authorization": signature,
  };
}

/**
 * The header that sets the worker's clock for one /webhook event (milliseconds since the epoch). A
 * worker honours it only when it has a service binding named TEST_CLOCK (the test harness gives it
 * one; wrangler.toml never does), so a deployed worker ignores it.
 */
export const TEST_CLOCK_HEADER = "x-test-clock-ms";

/**
 * Where a test clock starts unless told otherwise: Monday 2026-12-07, 10:00 in New York (15:00
 * UTC), within the opening hours of the sample flows, so no test depends on the hour it runs at.
 */
export const TEST_EPOCH_MS = Date.UTC(2026, 11, 7, 15, 0, 0);

/** A fresh 32-hex-digit reference id, like Telesign's. */
export function referenceId() {
  return randomUUID().replaceAll("-", "").toUpperCase();
}

/** An event body as Telesign would post it. */
export function eventBody(event, reference_id, data = {}, extra = {}) {
  return JSON.stringify({ event, reference_id, ...extra, data });
}

/** A number as Telesign writes it in events: digits only, no `+`. */
export function wireNumber(number) {
  return String(number ?? "").replace(/\D/g, "");
}

/** A timestamp as in Telesign's call_completed: UTC, microseconds, no zone suffix. */
export function utcStamp(ms) {
  return new Date(ms).toISOString().replace("Z", "000");
}
