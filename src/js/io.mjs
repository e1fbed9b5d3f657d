// The runtime I/O the wasm asks for, one operation at a time (src/io.rs `Op`, the one list of
// them): Workers KV, D1, a call's Durable Object and an object's own storage, the queue, the rate
// limiter, outbound `fetch` and timers. ./entry.mjs drives the wasm's tasks, performs each
// operation here and resumes the task with the answer: a string (JSON where it has a structure)
// or null. A failure is a rejection with the runtime's message.

/** Requests to a call's object use this origin; it never leaves the runtime. */
const OBJECT_ORIGIN = "https://call-session.internal";

/**
 * Performs one operation.
 * @param {{env: Record<string, any>, storage?: any, messages?: readonly any[]}} scope the worker's
 *   bindings, and the storage of the object or the messages of the batch the task runs for
 * @param {Record<string, any>} op the operation, as src/io.rs encodes it
 * @returns {Promise<string | null>}
 */
export async function perform(scope, op) {
  const { env } = scope;
  switch (op.op) {
    case "kv_get":
      return env[op.binding].get(op.key);
    case "kv_put":
      await env[op.binding].put(op.key, op.value, { expirationTtl: op.ttl });
      return null;
    case "kv_delete":
      await env[op.binding].delete(op.key);
      return null;
    case "kv_list": {
      const options = { prefix: op.prefix };
      if (op.limit !== null) options.limit = op.limit;
      if (op.cursor !== null) options.cursor = op.cursor;
      const page = await env[op.binding].list(options);
      const keys = page.keys.map((k) => k.name);
      return JSON.stringify({ keys, cursor: page.cursor ?? null, complete: page.list_complete });
    }
    case "d1_all": {
      const result = await statement(env[op.binding], op.statement).all();
      return JSON.stringify([outcome(result)]);
    }
    case "d1_batch": {
      const db = env[op.binding];
      const results = await db.batch(op.statements.map((s) => statement(db, s)));
      return JSON.stringify(results.map(outcome));
    }
    case "fetch":
      return send(op.request, op.timeout_ms);
    case "object": {
      const ns = env[op.binding];
      const resp = await ns.get(ns.idFromName(op.name)).fetch(OBJECT_ORIGIN + op.path, {
        method: op.method,
        headers: op.headers,
        body: op.body ?? undefined,
      });
      return JSON.stringify({ status: resp.status, body: await resp.text() });
    }
    case "storage_get":
      return (await scope.storage.get(op.key)) ?? null;
    case "storage_put":
      await scope.storage.put(op.key, op.value);
      // Each setAlarm is a row written; the first write of a call sets the one it needs.
      if ((await scope.storage.getAlarm()) === null) await scope.storage.setAlarm(Date.now() + op.alarm_in_ms);
      return null;
    case "storage_clear":
      await scope.storage.deleteAll();
      await scope.storage.deleteAlarm();
      return null;
    case "queue_send": {
      const queue = env[op.binding];
      if (op.delay_secs !== null) {
        await queue.send(op.bodies[0], { contentType: "text", delaySeconds: op.delay_secs });
      } else {
        await queue.sendBatch(op.bodies.map((body) => ({ body, contentType: "text" })));
      }
      return null;
    }
    case "rate_limit": {
      const { success } = await env[op.binding].limit({ key: op.key });
      return String(success);
    }
    case "settle": {
      const message = scope.messages[op.index];
      if (op.retry_secs === null) message.ack();
      else message.retry({ delaySeconds: op.retry_secs });
      return null;
    }
    case "sleep":
      await new Promise((resolve) => setTimeout(resolve, op.ms));
      return null;
    default:
      throw new Error(`unknown operation ${op.op}`);
  }
}

/** A D1 statement with its values bound. */
function statement(db, { sql, params }) {
  return db.prepare(sql).bind(...params);
}

/** A D1 result as src/d1.rs reads it: its rows, how many it changed, and D1's count of rows. */
function outcome(result) {
  const meta = result.meta ?? {};
  return {
    rows: result.results ?? [],
    changes: meta.changes ?? 0,
    counted: { rows_read: meta.rows_read ?? 0, rows_written: meta.rows_written ?? 0 },
  };
}

/**
 * An outbound request, answered whole or abandoned after `timeoutMs`. Its outcome (answered,
 * timeout or failed, as `src/fetch.rs` reads it) is the request's own, not a failure of the
 * operation.
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
    return JSON.stringify({ answered: { status: resp.status, headers: [...resp.headers], body } });
  } catch (e) {
    if (controller.signal.aborted) return JSON.stringify("timeout");
    return JSON.stringify({ failed: { message: String(e?.message ?? e) } });
  } finally {
    clearTimeout(timer);
  }
}
