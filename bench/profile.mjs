// Where a worker peer spends its CPU under the benchmark's load: a CPU profile of workerd taken
// through its inspector (Chrome DevTools protocol) while autocannon plays the call of load.mjs.
// Writes target/bench/<peer>.cpuprofile (open it in Chrome DevTools' Performance panel) and prints
// the functions with the most samples of their own, and the wasm's share.
// Usage: node bench/profile.mjs [rust|js|floor]; PROFILE_SECONDS (8), PROFILE_BUILD (the Rust
// worker's build directory; bench/profile.sh passes one that keeps the wasm's function names).
import autocannon from "autocannon";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { callRequests, freePort, root, startWorkerPeer, workerPeer } from "./peers.mjs";

const PEER = process.argv[2] ?? "rust";
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const TOP = 25;

/** A minimal DevTools protocol client over the inspector's WebSocket. */
async function inspect(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot open the inspector at ${url}`));
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    pending.get(msg.id)?.(msg);
    pending.delete(msg.id);
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const n = ++id;
      pending.set(n, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Samples per function (self time), and the share of samples spent in the wasm module. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let wasm = 0;
  for (const sample of profile.samples) {
    const { functionName, url } = byId.get(sample).callFrame;
    const name = `${functionName || "(anonymous)"}${url ? `  [${path.basename(url)}]` : ""}`;
    self.set(name, (self.get(name) ?? 0) + 1);
    if (url.includes(".wasm")) wasm++;
  }
  const total = profile.samples.length;
  const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return [`${total} samples; in the wasm module: ${pct(wasm)}`, ...top.map(([name, n]) => `${pct(n)}  ${name.slice(0, 150)}`)].join("\n");
}

const inspectorPort = await freePort();
const build = process.env.PROFILE_BUILD ? path.resolve(process.env.PROFILE_BUILD) : undefined;
const peer = await startWorkerPeer(PEER, { inspectorPort, ...(build ? workerPeer(PEER, build) : {}) });
try {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl?.endsWith(`/core:user:${PEER}`));
  if (!target) throw new Error(`no inspector target for ${PEER}: ${targets.map((t) => t.title).join(", ")}`);
  const devtools = await inspect(target.webSocketDebuggerUrl);
  const run = (duration) => autocannon({ url: peer.url, connections: CONNECTIONS, duration, requests: callRequests() });
  await run(2); // warm-up: JIT, KV files
  await devtools.send("Profiler.enable");
  await devtools.send("Profiler.setSamplingInterval", { interval: 100 });
  await devtools.send("Profiler.start");
  const result = await run(SECONDS);
  const { profile } = await devtools.send("Profiler.stop");
  devtools.close();
  const out = path.join(root, "target/bench", `${PEER}.cpuprofile`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(profile));
  console.log(`${PEER}: ${result.requests.total} requests in ${SECONDS} s under the profiler; profile in ${path.relative(root, out)}`);
  console.log(summarize(profile));
} finally {
  await peer.stop();
}
