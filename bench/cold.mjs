// Cold starts of builds of the Rust worker side by side with the JS worker: fresh Miniflare
// instances (each a fresh workerd), the builds and the JS worker in turn, round after round, so
// that a shared machine's drift falls on all of them alike. For each: the time until Miniflare is
// ready (workerd started, the worker's modules loaded), the first incoming_call, a second one, and
// the workerd's CPU time until ready and for the first call (/proc, in clock ticks); medians.
// Usage: npm run bench:cold -- <build-dir> [<build-dir> ...]; COLD_ROUNDS (9).
import path from "node:path";
import { referenceId } from "../scripts/harness/events.mjs";
import { CLK_TCK, cpuSeconds, newWorkerd, signedEvent, startWorkerPeer, workerdPids, workerPeer } from "./peers.mjs";

const ROUNDS = Number(process.env.COLD_ROUNDS ?? 9);
const builds = process.argv.slice(2);
if (builds.length === 0) {
  console.error("usage: npm run bench:cold -- <build-dir> [<build-dir> ...]");
  process.exit(2);
}

/** One incoming_call of a fresh call, its wall time in ms. */
async function incomingCall(url) {
  const { body, headers } = signedEvent(0, referenceId());
  const t0 = performance.now();
  const res = await fetch(`${url}/webhook`, { method: "POST", headers, body });
  const text = await res.text();
  // The flow's first action (bench/load.mjs checks it byte for byte against its parity call).
  if (res.status !== 200 || !text.includes('"jsonrpc":"2.0"')) throw new Error(`incoming_call answered ${res.status} ${text}`);
  return performance.now() - t0;
}

/** One cold start of `name` (a label) with Miniflare options `peer`. */
async function coldStart(name, options) {
  const before = workerdPids();
  const t0 = performance.now();
  // Not migrated: a cold start measures the worker, not the harness (as bench/load.mjs does).
  const peer = await startWorkerPeer(name, options, { migrate: false });
  const ready = performance.now() - t0;
  try {
    const pid = newWorkerd(before);
    const cpuReady = cpuSeconds(pid);
    const first = await incomingCall(peer.url);
    const cpuFirst = cpuSeconds(pid) - cpuReady;
    const second = await incomingCall(peer.url);
    return { ready, first, second, cpu_ready: 1000 * cpuReady, cpu_first: 1000 * cpuFirst };
  } finally {
    await peer.stop();
  }
}

const peers = [...builds.map((b) => [path.relative(process.cwd(), b) || b, "rust", workerPeer("rust", path.resolve(b))]), ["js", "js", {}]];
const runs = new Map(peers.map(([label]) => [label, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, name, options] of peers) runs.get(label).push(await coldStart(name, options));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${ROUNDS} cold starts each, interleaved; medians (workerd CPU in ticks of ${1000 / CLK_TCK} ms):`);
console.log("| Peer | until ready | first incoming_call | second | workerd CPU until ready | CPU of the first call |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [label, rs] of runs) {
  const m = (k) => median(rs.map((r) => r[k]));
  console.log(
    `| ${label} | ${m("ready").toFixed(1)} ms | ${m("first").toFixed(1)} ms | ${m("second").toFixed(1)} ms | ${m("cpu_ready").toFixed(0)} ms | ${m("cpu_first").toFixed(0)} ms |`,
  );
}
