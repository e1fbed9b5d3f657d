// End-to-end load benchmark on loopback (127.0.0.1 only). Starts four peers, checks that they answer
// one call the same way, then runs interleaved rounds and writes target/bench/load.json. In each
// round, for each peer in turn: BENCH_COLD_STARTS cold starts (each a fresh Miniflare, so a fresh
// workerd, timed until it answers its first incoming_call, then disposed; the median kept), then the load on the peer's long-running
// instance with autocannon, its workerd's CPU time (/proc/<pid>/stat) read before and after. The
// peers:
//   rust   - this worker, the release build/ in workerd (Miniflare 4), local KV;
//   js     - bench/js-worker, the same phone tree in JavaScript, same KV reads and writes;
//   floor  - bench/floor-worker, one KV get + one KV put + a constant reply;
//   python - bench/python-bottle, the seeds' bottle handler (skipped if bottle is not installed).
// Each autocannon connection plays one caller after another: every caller is a fresh reference_id
// going through the cards path of bank (7 signed events, see CALL in peers.mjs). Then rounds
// with the workerd peers loaded at the same time, for CPU per event under the same conditions.
// Environment: BENCH_ROUNDS (3), BENCH_CALLS (400 per peer per round, rounded up to a multiple of
// the connections), BENCH_CONNECTIONS (8), BENCH_COLD_STARTS (5 per peer per round),
// BENCH_TOGETHER_ROUNDS (5), BENCH_TOGETHER_CALLS (250).
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SECRETS } from "../scripts/harness/worker.mjs";
import { eventBody, referenceId, signedHeaders } from "../scripts/harness/events.mjs";
import { CALL, CLK_TCK, FROM, TO, callRequests, coldStart, cpuDuring, cpuSeconds, freePort, root, signedEvent, startMeasuredPeer } from "./peers.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// One cold start a peer and round moved by tens of ms from a shared machine's noise alone, and the
// median of three still ranged from 1.08x to 1.8x the JS worker's between runs of one day.
const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 5);
if (!Number.isInteger(COLD_STARTS) || COLD_STARTS < 1) throw new Error(`BENCH_COLD_STARTS must be a whole number from 1, not ${process.env.BENCH_COLD_STARTS}`);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
// Whole calls per connection, so that every caller's call is complete.
const CALLS = Math.ceil(Number(process.env.BENCH_CALLS ?? 400) / CONNECTIONS) * CONNECTIONS;
const WARMUP_SECONDS = 2;
/**
 * Rounds of the workerd peers loaded at the same time, for CPU per event (BENCH_TOGETHER_ROUNDS):
 * with three, the median of the worker's share moved between runs of one evening (1.28x to 1.41x
 * the JS worker's) by more than the changes measured in between.
 */
const TOGETHER_ROUNDS = Number(process.env.BENCH_TOGETHER_ROUNDS ?? 5);
const TOGETHER_CALLS = Math.ceil(Number(process.env.BENCH_TOGETHER_CALLS ?? 250) / CONNECTIONS) * CONNECTIONS;

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
      return { name: "python", url, pid: child.pid, stop: async () => child.kill() };
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
  /** @type {[number, string][]} */
  const replies = [];
  for (let i = 0; i < events; i++) {
    const { body, headers } = signedEvent(i, reference);
    const res = await fetch(`${peer.url}/webhook`, { method: "POST", headers, body });
    replies.push([res.status, await res.text()]);
  }
  return Object.assign(replies, { reference });
}

/**
 * What a worker peer stored under `key`, without what differs from call to call (times, ids,
 * fingerprints) or between the peers' ciphers (a sealed entry is compared by its name alone).
 */
async function storedShape(peer, key) {
  const text = await peer.stored(key);
  const opaque = (sealed) =>
    Object.fromEntries(
      Object.keys(sealed)
        .sort()
        .map((k) => [k, "(sealed)"]),
    );
  const strip = (v) =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .filter((k) => !/_ms$|^fingerprint$|^reference_id$/.test(k))
              .sort()
              .map((k) => [k, k === "sealed" ? opaque(v[k]) : strip(v[k])]),
          )
        : v;
  return JSON.stringify(strip(text === null ? null : JSON.parse(text)));
}

/** The balance path up to the balance reply (the busiest event), a mistyped account number first. */
async function playBalance(peer) {
  const reference = referenceId();
  const digits = ["", "1", "12345678#", "12345674#"];
  /** @type {[number, string]} */
  let last = [0, ""];
  /** @type {[string, object][]} */
  const events = [
    ["incoming_call", {}],
    ...digits.map((d) => /** @type {[string, object]} */ (["speak_completed", { status: "speak_successful", collected_digits: d }])),
  ];
  for (const [event, data] of events) {
    const body = eventBody(event, reference, { from: FROM, to: TO, ...data });
    const res = await fetch(`${peer.url}/webhook`, { method: "POST", headers: signedHeaders(body), body });
    last = [res.status, await res.text()];
  }
  return Object.assign(last, { reference });
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
  const js = peers.find((p) => p.name === "js");
  const balance = await playBalance(rust);
  const jsBalance = await playBalance(js);
  if (balance[1] !== jsBalance[1] || !balance[1].includes("1234.56")) {
    throw new Error(`balance replies differ:\n${balance[1]}\n${jsBalance[1]}`);
  }
  // The JS worker does the same work: it stores the same call record and the same session.
  const jsCall = await playCall(js);
  const same = async (what, rustKey, jsKey) => {
    const [a, b] = [await storedShape(rust, rustKey), await storedShape(js, jsKey)];
    if (a !== b || a === "null") throw new Error(`the ${what} stored by rust and js differ:\n${a}\n${b}`);
  };
  await same("call record", `call:${expected.reference}`, `call:${jsCall.reference}`);
  await same("session on the balance path", `session:${balance.reference}`, `session:${jsBalance.reference}`);
  return expected;
}

/** COLD_STARTS cold starts of a peer in a row: the one with the median time, and every time. */
async function coldStarts(name, expected) {
  const runs = [];
  // The floor answers a constant; the workers, the call's first action byte for byte.
  const check = (text) => name === "floor" || text === expected[0][1];
  for (let i = 0; i < COLD_STARTS; i++) runs.push(await coldStart(name, { check }));
  runs.sort((a, b) => a.ms - b.ms);
  return { ...runs[Math.floor(runs.length / 2)], samples_ms: runs.map((run) => run.ms) };
}

/**
 * One autocannon run of CALLS calls against a peer; latencies are kept at full (sub-millisecond)
 * precision. With `seconds`, a run of that length instead (the warm-up).
 */
async function load(peer, expected, seconds, calls = CALLS) {
  let wrong = 0;
  const requests = callRequests((i, status, body) => {
    const want = peer.name === "floor" ? 200 : expected[i][0];
    const ok = status === want && (peer.name === "floor" || body === expected[i][1]);
    if (!ok) wrong++;
  });
  const latencies = [];
  const {
    result: { result, elapsed },
    cpu_s: cpu,
  } = await cpuDuring(peer.pid, async () => {
    const started = performance.now();
    const instance = autocannon({
      url: peer.url,
      connections: CONNECTIONS,
      ...(seconds ? { duration: seconds } : { amount: calls * CALL.length }),
      requests,
      timeout: 10,
      // autocannon notices that the run is over at its next sample: soon, rather than within a second.
      sampleInt: 50,
    });
    let last = started;
    instance.on("response", (_client, _status, _bytes, ms) => {
      latencies.push(ms);
      last = performance.now();
    });
    const result = await instance;
    // Until the last reply (autocannon's duration counts to its next sample, in whole seconds).
    return { result, elapsed: ((seconds ? performance.now() : last) - started) / 1000 };
  });
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    requests: result.requests.total,
    // Only replies that were exactly right count as served.
    rps: (result.requests.total - wrong) / elapsed,
    p50_ms: pct(50),
    p99_ms: pct(99),
    errors: result.errors + result.timeouts + wrong,
    seconds: elapsed,
    // The peer's CPU time in the window, per event answered (µs); /proc counts in clock ticks.
    cpu_s: cpu,
    cpu_us_per_event: (1e6 * cpu) / result.requests.total,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const pkg = (name) => JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")).version;

/** CPU seconds the whole machine has been busy (every core, /proc/stat; steal counted as busy). */
function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

async function main() {
  const started = Date.now();
  const loadavgStart = os.loadavg();
  const busyStart = machineBusySeconds();
  const ownStart = cpuSeconds(process.pid);
  const peers = [];
  try {
    for (const name of ["rust", "js", "floor"]) peers.push(await startMeasuredPeer(name));
    const python = await startPython();
    if (python) peers.push(python);
    else console.error("[load] bottle is not installed in target/bench/python: the python peer is skipped");

    const expected = await checkParity(peers);
    console.error(`[load] parity: ${peers.map((p) => p.name).join(", ")} answer the call alike`);
    for (const peer of peers) await load(peer, expected, WARMUP_SECONDS);

    const rounds = Object.fromEntries(peers.map((p) => [p.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round, so no peer always runs first or last.
      const order = peers.map((_, i) => peers[(i + r) % peers.length]);
      for (const peer of order) {
        const cold = peer.name === "python" ? null : await coldStarts(peer.name, expected);
        const result = { ...(await load(peer, expected)), cold };
        rounds[peer.name].push(result);
        console.error(
          `[load] round ${r + 1}/${ROUNDS} ${peer.name.padEnd(6)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50_ms.toFixed(2)} ms  p99 ${result.p99_ms.toFixed(2)} ms  errors ${result.errors}  CPU ${result.cpu_us_per_event.toFixed(0)} µs/event` +
            (cold ? `  cold start ${cold.ms.toFixed(0)} ms` : ""),
        );
      }
    }
    // CPU per event again, the workerd peers loaded at the same time: each sees the same machine
    // (a shared machine's speed drifts by tens of percent between runs seconds apart, which the
    // back-to-back rounds above cannot fully cancel). Their absolute figures are inflated by the
    // contention; the differences and ratios within a round are the figures to read.
    const together = [];
    const workerdPeers = peers.filter((p) => p.name !== "python");
    for (let r = 0; r < TOGETHER_ROUNDS; r++) {
      const results = await Promise.all(workerdPeers.map((p) => load(p, expected, undefined, TOGETHER_CALLS)));
      const round = Object.fromEntries(workerdPeers.map((p, i) => [p.name, { cpu_us_per_event: results[i].cpu_us_per_event, errors: results[i].errors }]));
      for (const name of ["rust", "js"]) round[name].worker_cpu_us_per_event = round[name].cpu_us_per_event - round.floor.cpu_us_per_event;
      together.push(round);
      console.error(
        `[load] together ${r + 1}/${TOGETHER_ROUNDS} ${workerdPeers.map((p) => `${p.name} ${round[p.name].cpu_us_per_event.toFixed(0)} µs/event`).join(", ")}`,
      );
    }
    // The worker's own share: CPU per event and cold start minus the floor's in the same round.
    for (const [name, rs] of Object.entries(rounds)) {
      if (name === "python") continue; // not in workerd: no floor to subtract
      rs.forEach((run, r) => {
        const floor = rounds.floor[r];
        run.worker_cpu_us_per_event = run.cpu_us_per_event - floor.cpu_us_per_event;
        if (run.cold) run.cold.worker_ms = run.cold.ms - floor.cold.ms;
      });
    }
    // Peer `a` against peer `b` on `field`: the median over the rounds of the ratio within each
    // round. A round runs the peers back to back, so each ratio compares runs seconds apart, which
    // keeps the drift of a shared machine's speed out of the ratios.
    const versus = (a, b, field) => median(rounds[a].map((run, r) => get(run, field) / get(rounds[b][r], field)));
    const get = (run, field) => field.split(".").reduce((x, k) => x?.[k], run) ?? NaN;
    const med = (rs, field) => median(rs.map((x) => get(x, field)));
    const summary = Object.fromEntries(
      Object.entries(rounds).map(([name, rs]) => [
        name,
        {
          rps: median(rs.map((x) => x.rps)),
          p50_ms: median(rs.map((x) => x.p50_ms)),
          p99_ms: median(rs.map((x) => x.p99_ms)),
          errors: rs.reduce((n, x) => n + x.errors, 0),
          requests: rs.reduce((n, x) => n + x.requests, 0),
          cpu_us_per_event: med(rs, "cpu_us_per_event"),
          worker_cpu_us_per_event: med(rs, "worker_cpu_us_per_event"),
          cold_ms: med(rs, "cold.ms"),
          cold_ready_ms: med(rs, "cold.ready_ms"),
          cold_first_request_ms: med(rs, "cold.first_request_ms"),
          cold_cpu_ms: med(rs, "cold.cpu_ms"),
          cold_harness_ms: med(rs, "cold.harness_ready_ms"),
          worker_cold_ms: med(rs, "cold.worker_ms"),
          vs_js: {
            rps: versus(name, "js", "rps"),
            p99_ms: versus(name, "js", "p99_ms"),
            cpu_us_per_event: versus(name, "js", "cpu_us_per_event"),
            worker_cpu_us_per_event: versus(name, "js", "worker_cpu_us_per_event"),
            // Cold starts differ by a few milliseconds at most between some peers: a ratio of
            // such differences is noise, so the within-round difference is given instead.
            cold_minus_js_ms: median(rs.map((run, r) => get(run, "cold.ms") - get(rounds.js[r], "cold.ms"))),
          },
          vs_floor: { rps: versus(name, "floor", "rps") },
        },
      ]),
    );
    const togetherOf = (name, field) => median(together.map((round) => round[name][field]));
    const concurrent = {
      rounds: TOGETHER_ROUNDS,
      calls_per_round: TOGETHER_CALLS,
      per_round: together,
      summary: Object.fromEntries(
        workerdPeers.map((p) => [
          p.name,
          {
            cpu_us_per_event: togetherOf(p.name, "cpu_us_per_event"),
            worker_cpu_us_per_event: p.name === "floor" ? NaN : togetherOf(p.name, "worker_cpu_us_per_event"),
            errors: together.reduce((n, round) => n + round[p.name].errors, 0),
          },
        ]),
      ),
      rust_vs_js: {
        cpu_us_per_event: median(together.map((round) => round.rust.cpu_us_per_event / round.js.cpu_us_per_event)),
        worker_cpu_us_per_event: median(together.map((round) => round.rust.worker_cpu_us_per_event / round.js.worker_cpu_us_per_event)),
      },
    };
    const out = {
      date: new Date().toISOString(),
      command: process.env.BENCH_COMMAND ?? "node bench/load.mjs",
      rounds: ROUNDS,
      calls_per_round: CALLS,
      cold_starts: COLD_STARTS,
      connections: CONNECTIONS,
      clk_tck: CLK_TCK,
      events_per_call: CALL.length,
      call_path: CALL.map(([e, d]) => (d.collected_digits ? `${e}(${d.collected_digits})` : e)),
      summary,
      per_round: rounds,
      concurrent,
      wall_seconds: (Date.now() - started) / 1000,
      machine: {
        cpu: os.cpus()[0]?.model ?? "unknown CPU",
        cores: os.cpus().length,
        memory_gib: Math.round(os.totalmem() / 2 ** 30),
        os: `${os.type()} ${os.release()}`,
        loadavg_start: loadavgStart,
        loadavg_end: os.loadavg(),
        node: process.version,
        miniflare: pkg("miniflare"),
        workerd: pkg("workerd"),
        autocannon: pkg("autocannon"),
        // What else ran on the machine, said by whoever runs the benchmark (BENCH_NOTE).
        note: process.env.BENCH_NOTE ?? "",
      },
    };
    // How busy the machine was meanwhile, and how much of that was this benchmark (node, autocannon,
    // the peers and the finished cold-start workerds): the rest is what else ran on a shared machine.
    const wall = (Date.now() - started) / 1000;
    const busy = machineBusySeconds() - busyStart;
    const own = cpuSeconds(process.pid) - ownStart;
    out.wall_seconds = wall;
    out.machine.busy_cores = busy / wall;
    out.machine.others_cores = Math.max(0, busy - own) / wall;
    mkdirSync(path.join(root, "target/bench"), { recursive: true });
    writeFileSync(path.join(root, "target/bench/load.json"), JSON.stringify(out, null, 2));
  } finally {
    for (const peer of peers) await peer.stop();
  }
}

await main();
