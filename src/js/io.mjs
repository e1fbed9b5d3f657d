// The runtime I/O the wasm asks for, one operation at a time (src/io.rs `Op`, the one list of
// them): Workers KV, D1, a call's Durable Object, outbound `fetch` and timers. The wasm never
// awaits a binding itself. On the webhook path it is driven synchronously by ./entry.mjs, which
// performs each operation here and resumes the wasm with its result; elsewhere the wasm awaits
// the promise `perform` returns. Either way an operation's answer is a string (JSON where it has a
// structure) or null, and a failure is a rejection with the runtime's message.

/** Requests to a call's object use this origin; it never leaves the runtime. */
const OBJECT_ORIGIN = "https://call-session.internal";

/** Sleeps `ms` milliseconds. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Performs one operation.
 * @param {Record<string, any>} env the worker's bindings
 * @param {string} json the operation, as src/io.rs encodes it
 * @returns {Promise<string | null>}
 */
export async function perform(env, json) {
  const op = JSON.parse(json);
  switch (op.op) {
    case "kv_get":
      return env[op.binding].get(op.key);
    case "kv_put":
      await env[op.binding].put(op.key, op.value, { expirationTtl: op.ttl });
      return null;
    case "kv_delete":
      await env[op.binding].delete(op.key);
      return null;
    case "d1_all": {
      const result = await statement(env[op.binding], op.statement).all();
      return JSON.stringify([{ rows: result.results ?? [], changes: result.meta?.changes ?? 0 }]);
    }
    case "d1_batch": {
      const db = env[op.binding];
      const results = await db.batch(op.statements.map((s) => statement(db, s)));
      return JSON.stringify(results.map((r) => ({ rows: r.results ?? [], changes: r.meta?.changes ?? 0 })));
    }
    case "fetch":
      return send(op.request, op.timeout_ms);
    case "object": {
      const ns = env[op.binding];
      const headers = op.time_ms === null ? {} : { "x-event-time-ms": String(op.time_ms) };
      const resp = await ns.get(ns.idFromName(op.name)).fetch(OBJECT_ORIGIN + op.path, {
        method: op.method,
        headers,
        body: op.body ?? undefined,
      });
      return JSON.stringify({ status: resp.status, body: await resp.text() });
    }
    case "sleep":
      await sleep(op.ms);
      return null;
    default:
      throw new Error(`unknown operation ${op.op}`);
  }
}

/** A D1 statement with its values bound. */
function statement(db, { sql, params }) {
  return db.prepare(sql).bind(...params);
}

/**
 * An outbound request, answered whole or abandoned after `timeoutMs`. Its outcome (answered,
 * timeout or failed) is the request's own, not a failure of the operation.
 */
async function send(request, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const resp = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ?? undefined,
      signal: controller.signal,
    });
    const body = await resp.text();
    return JSON.stringify({ outcome: "answered", status: resp.status, headers: [...resp.headers], body });
  } catch (e) {
    if (controller.signal.aborted) return JSON.stringify({ outcome: "timeout" });
    return JSON.stringify({ outcome: "failed", message: String(e?.message ?? e) });
  } finally {
    clearTimeout(timer);
  }
}
