// The D1 rows one call of the benchmarks' path reads and writes (what D1 bills), with sessions in
// KV and in a call's Durable Object: the call (peers.mjs `CALL`) is played against the test build
// in workerd through Miniflare, and the `d1` field of its requests' log lines (the rows each
// request's queries read and wrote, from D1's own `meta`) is summed. Usage: node bench/d1-rows.mjs
import { startWorker } from "../scripts/harness/worker.mjs";
import { referenceId } from "../scripts/harness/events.mjs";
import { CALL, signedEvent } from "./peers.mjs";

/** The rows read and written by one call with sessions in `backend`, and by each event. */
async function rowsOfACall(backend) {
  const worker = await startWorker({ bindings: { SESSION_BACKEND: backend } });
  try {
    const reference = referenceId();
    for (let i = 0; i < CALL.length; i++) {
      const { body, headers } = signedEvent(i, reference);
      const resp = await worker.fetch("/webhook", { method: "POST", headers, body });
      await resp.arrayBuffer();
    }
    const lines = worker.logs
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l))
      .filter((l) => l.reference_id === reference && l.path === "/webhook");
    const events = lines.map((l) => ({ event: l.event, ...(l.d1 ?? { rows_read: 0, rows_written: 0 }) }));
    const sum = (k) => events.reduce((n, e) => n + e[k], 0);
    return { events, rows_read: sum("rows_read"), rows_written: sum("rows_written") };
  } finally {
    await worker.dispose();
  }
}

for (const backend of ["kv", "durable_object"]) {
  const { events, rows_read, rows_written } = await rowsOfACall(backend);
  console.log(`sessions in ${backend}: ${rows_read} D1 rows read, ${rows_written} written per call`);
  for (const e of events.filter((e) => e.rows_read || e.rows_written)) {
    console.log(`  ${e.event}: ${e.rows_read} read, ${e.rows_written} written`);
  }
}
