// Two builds of the Rust worker (or a build and a JS peer) side by side: CPU per event of each
// one's workerd under the benchmark's call load, both loaded at the same time (so both see the same
// machine: measured back to back, identical builds differ by up to 20% on a shared machine; at the
// same time, by 2-4%), and the ratio within each round. For deciding whether a change pays before
// `npm run bench` measures it against the peers.
// Usage: npm run bench:ab -- <A> <B>, each a build directory (`worker/shim.mjs` + `index_bg.wasm`,
// e.g. a copy of build/ from before the change), `js`, `floor`, or a JS worker's script (`.mjs`,
// inside the repository). Environment: AB_ROUNDS (6), AB_CALLS (250 calls per round),
// BENCH_CONNECTIONS (8), AB_GET (a path: that GET instead of the call).
import autocannon from "autocannon";
import path from "node:path";
import { CALL, callRequests, cpuDuring, startMeasuredPeer, workerPeer } from "./peers.mjs";

const [A, B] = process.argv.slice(2);
if (!A || !B) throw new Error("usage: node bench/ab.mjs <build dir|js|floor> <build dir|js|floor>");
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6);
const CALLS = Number(process.env.AB_CALLS ?? 250);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
/** AB_GET=/healthz: that GET instead of the call (the cost of serving a request at all). */
const GET = process.env.AB_GET;

function start(which) {
  if (which === "js" || which === "floor") return startMeasuredPeer(which);
  if (which.endsWith(".mjs")) return startMeasuredPeer("js", { scriptPath: path.resolve(which) });
  return startMeasuredPeer("rust", workerPeer("rust", path.resolve(which)));
}

/** CPU µs per event of `peer`'s workerd over CALLS calls (every reply checked for its status). */
async function cpuPerEvent(peer) {
  let wrong = 0;
  const requests = GET
    ? [{ method: "GET", path: GET, onResponse: (status) => status === 200 || wrong++ }]
    : callRequests((i, status) => {
        if (status !== (i === CALL.length - 1 ? 204 : 200) && !(peer.name === "floor" && status === 200)) wrong++;
      });
  const { result, cpu_s } = await cpuDuring(peer.pid, () =>
    autocannon({ url: peer.url, connections: CONNECTIONS, amount: CALLS * CALL.length, requests, timeout: 10, sampleInt: 50 }),
  );
  if (wrong || result.errors || result.timeouts) throw new Error(`${peer.name}: ${wrong} wrong replies, ${result.errors} errors`);
  return (1e6 * cpu_s) / result.requests.total;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peers = [await start(A), await start(B)];
try {
  for (const p of peers) await cpuPerEvent(p); // warm-up: JIT tiers, KV and D1 files
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Both at once: the same machine conditions for both (a shared machine drifts by tens of
    // percent between runs seconds apart; at the same time, both see the same drift).
    const cpu = await Promise.all(peers.map(cpuPerEvent));
    rows.push(cpu);
    console.log(`round ${r + 1}: A ${cpu[0].toFixed(0)} µs/event, B ${cpu[1].toFixed(0)} µs/event, B/A ${(cpu[1] / cpu[0]).toFixed(3)}`);
  }
  const a = median(rows.map((c) => c[0]));
  const b = median(rows.map((c) => c[1]));
  console.log(
    `median: A ${a.toFixed(0)}, B ${b.toFixed(0)} µs/event; B - A ${(b - a).toFixed(0)} µs; median B/A ${median(rows.map((c) => c[1] / c[0])).toFixed(3)}`,
  );
} finally {
  for (const p of peers) await p.stop();
}
