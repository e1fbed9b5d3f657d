// The time of the call-end write (#14): the wall time of `call_completed` (the record written to
// D1 in one batch, then the session deleted) against a mid-call event of the same calls, and with
// D1 refusing (the record goes to the KV outbox instead). The worker runs in workerd through
// Miniflare with its local D1 (SQLite in the same process tree): this measures the worker's own
// path, not a remote D1's network round trip. Writes target/bench/record-write.json.
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../scripts/harness/worker.mjs";
import { Call } from "../scripts/harness/events.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CALLS = Number(process.env.BENCH_RECORD_CALLS ?? 200);

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Plays `n` short bank calls (incoming, the welcome's completion, call_completed), timing the last two. */
async function play(w, n) {
  const midCall = [];
  const callEnd = [];
  for (let i = 0; i < n; i++) {
    const call = new Call(w);
    const first = await call.incoming();
    let t = performance.now();
    await call.completed(first.action);
    midCall.push(performance.now() - t);
    t = performance.now();
    const end = await call.hangup();
    callEnd.push(performance.now() - t);
    if (end.status !== 204) throw new Error(`call_completed answered ${end.status}`);
  }
  const summary = (xs) => ({ median_ms: quantile(xs, 0.5), p90_ms: quantile(xs, 0.9) });
  return { mid_call: summary(midCall), call_end: summary(callEnd) };
}

const w = await startWorker();
try {
  await play(w, 20); // warm-up
  const d1 = await play(w, CALLS);
  const db = await w.db();
  await db.exec("ALTER TABLE calls RENAME TO calls_away");
  const outbox = await play(w, CALLS);
  await db.exec("ALTER TABLE calls_away RENAME TO calls");
  const out = { date: new Date().toISOString(), calls: CALLS, command: "node bench/record-write.mjs", d1, outbox };
  mkdirSync(path.join(root, "target/bench"), { recursive: true });
  writeFileSync(path.join(root, "target/bench/record-write.json"), JSON.stringify(out, null, 2));
  console.log(JSON.stringify(out));
} finally {
  await w.dispose();
}
