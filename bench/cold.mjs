// Cold starts of builds of the Rust worker side by side with the JS worker: fresh Miniflare
// instances (each a fresh workerd), the builds and the JS worker in turn, round after round, so
// that a shared machine's drift falls on all of them alike. For each: the time until Miniflare is
// ready (workerd started, the worker's modules loaded), the first incoming_call, a second one, and
// the workerd's CPU time until ready and for the first call (/proc, to the nanosecond), and
// Miniflare's own CPU in this process until ready (preparing the modules: not a deployed worker's
// cost); medians.
// Usage: npm run bench:cold -- <build-dir> [<build-dir> ...]; COLD_ROUNDS (9).
import path from "node:path";
import { coldStart, workerPeer } from "./peers.mjs";

const ROUNDS = Number(process.env.COLD_ROUNDS ?? 9);
const builds = process.argv.slice(2);
if (builds.length === 0) {
  console.error("usage: npm run bench:cold -- <build-dir> [<build-dir> ...]");
  process.exit(2);
}

/** One cold start of a peer with Miniflare options `options`, and a second call after it. */
async function coldRun(name, options) {
  // The flow's first action (bench/load.mjs checks it byte for byte against its parity call).
  const check = (text) => text.includes('"jsonrpc":"2.0"');
  const cold = await coldStart(name, { options, check, calls: 2 });
  return {
    ready: cold.ready_ms,
    first: cold.first_request_ms,
    second: cold.later_requests_ms[0],
    cpu_ready: cold.cpu_ready_ms,
    cpu_first: cold.cpu_ms - cold.cpu_ready_ms,
    harness: cold.harness_ready_ms,
  };
}

const peers = [...builds.map((b) => [path.relative(process.cwd(), b) || b, "rust", workerPeer("rust", path.resolve(b))]), ["js", "js", {}]];
const runs = new Map(peers.map(([label]) => [label, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, name, options] of peers) runs.get(label).push(await coldRun(name, options));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${ROUNDS} cold starts each, interleaved; medians:`);
console.log("| Peer | until ready | first incoming_call | second | workerd CPU until ready | CPU of the first call | Miniflare's CPU until ready |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [label, rs] of runs) {
  const m = (k) => median(rs.map((r) => r[k]));
  console.log(
    `| ${label} | ${m("ready").toFixed(1)} ms | ${m("first").toFixed(1)} ms | ${m("second").toFixed(1)} ms | ${m("cpu_ready").toFixed(1)} ms | ${m("cpu_first").toFixed(1)} ms | ${m("harness").toFixed(0)} ms |`,
  );
}
