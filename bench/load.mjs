// End-to-end load benchmark on loopback (127.0.0.1 only). Starts four peers, checks that they answer
// one call the same way, then loads them in interleaved rounds with autocannon and writes
// target/bench/load.json. The peers:
//   rust   - this worker, the release build/ in workerd (Miniflare 4), local KV;
//   js     - bench/js-worker, the same phone tree in JavaScript, same KV reads and writes;
//   floor  - bench/floor-worker, one KV get + one KV put + a constant reply;
//   python - bench/python-bottle, the seeds' bottle handler (skipped if bottle is not installed).
// Each autocannon connection plays one caller after another: every caller is a fresh reference_id
// going through the cards path of bank_menu (7 signed events, see CALL in peers.mjs).
// Environment: BENCH_ROUNDS (5), BENCH_SECONDS (4 per peer per round), BENCH_CONNECTIONS (16).
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { SECRETS } from "../scripts/harness/worker.mjs";
import { eventBody, referenceId, signedHeaders } from "../scripts/harness/events.mjs";
import { CALL, FROM, TO, callRequests, freePort, root, signedEvent, startWorkerPeer } from "./peers.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const WARMUP_SECONDS = 2;

async function startPython() {
  const deps = path.join(root, "target/bench/python");
  if (!existsSync(path.join(deps, "bottle.py"))) return null;
  const port = await freePort();
  const child = spawn("python3", [path.join(root, "bench/python-bottle/app.py"), String(port)], {
    env: { ...process.env, ...SECRETS, PYTHONPATH: deps },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/webhook`, { method: "POST", body: "{}" });
      return { name: "python", url, stop: async () => child.kill() };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error("the python peer did not start");
}

/** Plays one call against a peer, one event after another; returns [status, body] per event. */
async function playCall(peer, events = CALL.length) {
  const reference = referenceId();
  const replies = [];
  for (let i = 0; i < events; i++) {
    const { body, headers } = signedEvent(i, reference);
    const res = await fetch(`${peer.url}/webhook`, { method: "POST", headers, body });
    replies.push([res.status, await res.text()]);
  }
  return replies;
}

/** The balance path up to the balance reply (the busiest event). */
async function playBalance(peer) {
  const reference = referenceId();
  const digits = ["", "1", "12345674#"];
  let last;
  for (const [event, data] of [["incoming_call", {}], ...digits.map((d) => ["speak_completed", { status: "speak_successful", collected_digits: d }])]) {
    const body = eventBody(event, reference, { from: FROM, to: TO, ...data });
    const res = await fetch(`${peer.url}/webhook`, { method: "POST", headers: signedHeaders(body), body });
    last = [res.status, await res.text()];
  }
  return last;
}

/** Checks that the flow peers answer exactly as this worker does; returns the expected replies. */
async function checkParity(peers) {
  const rust = peers.find((p) => p.name === "rust");
  const expected = await playCall(rust);
  const statuses = expected.map(([s]) => s).join(",");
  if (statuses !== "200,200,200,200,200,200,204") throw new Error(`rust answered ${statuses}`);
  for (const peer of peers.filter((p) => p.name !== "rust" && p.name !== "floor")) {
    const got = await playCall(peer);
    got.forEach(([status, text], i) => {
      if (status !== expected[i][0] || text !== expected[i][1]) {
        throw new Error(`${peer.name} differs from rust at event ${i} (${CALL[i][0]}):\n${status} ${text}\n${expected[i][0]} ${expected[i][1]}`);
      }
    });
  }
  const balance = await playBalance(rust);
  const jsBalance = await playBalance(peers.find((p) => p.name === "js"));
  if (balance[1] !== jsBalance[1] || !balance[1].includes("1234.56")) {
    throw new Error(`balance replies differ:\n${balance[1]}\n${jsBalance[1]}`);
  }
  return expected;
}

/** One autocannon run against a peer; latencies are kept at full (sub-millisecond) precision. */
async function load(peer, seconds, expected) {
  let wrong = 0;
  const requests = callRequests((i, status, body) => {
    const want = peer.name === "floor" ? 200 : expected[i][0];
    const ok = status === want && (peer.name === "floor" || body === expected[i][1]);
    if (!ok) wrong++;
  });
  const latencies = [];
  const instance = autocannon({
    url: peer.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests,
    timeout: 10,
  });
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    requests: result.requests.total,
    // Only replies that were exactly right count as served.
    rps: (result.requests.total - wrong) / result.duration,
    p50_ms: pct(50),
    p99_ms: pct(99),
    errors: result.errors + result.timeouts + wrong,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const started = Date.now();
  const peers = [];
  try {
    for (const name of ["rust", "js", "floor"]) peers.push(await startWorkerPeer(name));
    const python = await startPython();
    if (python) peers.push(python);
    else console.error("[load] bottle is not installed in target/bench/python: the python peer is skipped");

    const expected = await checkParity(peers);
    console.error(`[load] parity: ${peers.map((p) => p.name).join(", ")} answer the call alike`);
    for (const peer of peers) await load(peer, WARMUP_SECONDS, expected);

    const rounds = Object.fromEntries(peers.map((p) => [p.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round, so no peer always runs first or last.
      const order = peers.map((_, i) => peers[(i + r) % peers.length]);
      for (const peer of order) {
        const result = await load(peer, SECONDS, expected);
        rounds[peer.name].push(result);
        console.error(
          `[load] round ${r + 1}/${ROUNDS} ${peer.name.padEnd(6)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50_ms.toFixed(2)} ms  p99 ${result.p99_ms.toFixed(2)} ms  errors ${result.errors}`,
        );
      }
    }
    // Peer `a` against peer `b` on `field`: the median over the rounds of the ratio within each
    // round. A round runs the peers back to back, so each ratio compares runs seconds apart, which
    // keeps the drift of a shared machine's speed out of the ratios.
    const versus = (a, b, field) => median(rounds[a].map((run, r) => run[field] / rounds[b][r][field]));
    const summary = Object.fromEntries(
      Object.entries(rounds).map(([name, rs]) => [
        name,
        {
          rps: median(rs.map((x) => x.rps)),
          p50_ms: median(rs.map((x) => x.p50_ms)),
          p99_ms: median(rs.map((x) => x.p99_ms)),
          errors: rs.reduce((n, x) => n + x.errors, 0),
          requests: rs.reduce((n, x) => n + x.requests, 0),
          vs_js: { rps: versus(name, "js", "rps"), p99_ms: versus(name, "js", "p99_ms") },
          vs_floor: { rps: versus(name, "floor", "rps") },
        },
      ]),
    );
    const out = {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      seconds_per_round: SECONDS,
      connections: CONNECTIONS,
      events_per_call: CALL.length,
      call_path: CALL.map(([e, d]) => (d.collected_digits ? `${e}(${d.collected_digits})` : e)),
      summary,
      per_round: rounds,
      wall_seconds: (Date.now() - started) / 1000,
    };
    mkdirSync(path.join(root, "target/bench"), { recursive: true });
    writeFileSync(path.join(root, "target/bench/load.json"), JSON.stringify(out, null, 2));
  } finally {
    for (const peer of peers) await peer.stop();
  }
}

await main();
