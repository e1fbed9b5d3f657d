// What the load benchmark (load.mjs) and the CPU profile (profile.mjs) share: the benchmarked call,
// its signed events, the worker peers started in workerd through Miniflare on 127.0.0.1, and the
// CPU time of their workerd processes (/proc, Linux only).
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FLOW_SETTINGS, SECRETS, migrate } from "../scripts/harness/worker.mjs";
import { CALL_COMPLETED, eventBody, referenceId, signedHeaders } from "../scripts/harness/events.mjs";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const FROM = "+15558675309";
export const TO = "+15555550100";

/**
 * The vars and secrets of the workers in every benchmark. KV_WRITE_SPACING_MS=0: the benchmarks
 * post a call's events back to back, which Telesign never does (each follows a prompt); with KV's
 * spacing kept, nearly every event would wait about a second for it, and the figures would
 * measure the wait, not the work.
 */
export const BINDINGS = { WEBHOOK_AUTH: "on", KV_WRITE_SPACING_MS: "0", ...SECRETS, ...FLOW_SETTINGS };

/**
 * The benchmarked call: the cards path of bank, which makes no outbound request (the balance
 * path's fetch is covered by the parity check and the host benchmark instead). Each entry is the
 * event and its data; the reply status expected is 200 but for call_completed (204).
 */
/** @type {[string, Record<string, any>][]} */
export const CALL = [
  ["incoming_call", {}],
  ["speak_completed", { status: "speak_successful", collected_digits: "" }], // welcome said
  ["speak_completed", { status: "speak_successful", collected_digits: "2" }], // main menu: cards
  ["speak_completed", { status: "speak_successful", collected_digits: "2" }], // cards: activate
  ["speak_completed", { status: "speak_successful", collected_digits: "4321" }], // last four digits
  ["speak_completed", { status: "speak_successful", collected_digits: "" }], // "now active" said
  ["call_completed", CALL_COMPLETED],
];

/** The body and signed headers of the call's event `index`, for the call `reference`. */
export function signedEvent(index, reference) {
  const [event, data] = CALL[index];
  const body = eventBody(event, reference, { from: FROM, to: TO, ...data });
  return { body, headers: signedHeaders(body) };
}

/**
 * autocannon's request list for the call: each connection plays one caller after another, a fresh
 * reference_id each. `onResponse(index, status, body)` sees every reply.
 */
export function callRequests(onResponse) {
  return CALL.map((_, i) => ({
    method: "POST",
    path: "/webhook",
    setupRequest(req, context) {
      if (i === 0) context.reference = referenceId();
      return { ...req, ...signedEvent(i, context.reference) };
    },
    ...(onResponse ? { onResponse: (status, body) => onResponse(i, status, body) } : {}),
  }));
}

/** The bank's balance API, for the parity check of the balance path. */
async function outboundService(request) {
  if (new URL(request.url).hostname === "bank.example.com") return Response.json({ balance: "1234.56" });
  return new Response("unexpected outbound request", { status: 599 });
}

/** The Miniflare options of each worker peer; `build` is the Rust worker's build directory. */
export function workerPeer(name, build = path.join(root, "build-test")) {
  switch (name) {
    case "rust":
      return {
        scriptPath: path.join(build, "worker/shim.mjs"),
        modulesRoot: build,
        modulesRules: [
          { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
          { type: "CompiledWasm", include: ["**/*.wasm"] },
        ],
      };
    case "js":
      return { scriptPath: path.join(root, "bench/js-worker/index.mjs") };
    case "floor":
      return { scriptPath: path.join(root, "bench/floor-worker/index.mjs") };
    default:
      throw new Error(`no worker peer ${name}`);
  }
}

/**
 * Starts a worker peer in its own workerd with a local KV namespace (and, for the Rust and JS
 * workers, the D1 database of call records, migrated unless `migrate` is false: a cold start
 * measures the worker, not the harness's migration); `extra` adds Miniflare options.
 */
export async function startWorkerPeer(name, extra = {}, { migrate: migrated = true } = {}) {
  const mf = new Miniflare({
    name,
    host: "127.0.0.1",
    port: 0,
    // workerd's output is drained, not printed: the Rust worker logs one line per request.
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
    modules: true,
    compatibilityDate: "2026-07-01",
    kvNamespaces: ["SESSIONS"],
    // The Rust and JS workers write call records to D1 (the floor keeps to one KV get and put).
    ...(name === "rust" || name === "js" ? { d1Databases: { CALLS_DB: "calls" } } : {}),
    bindings: BINDINGS,
    outboundService,
    ...workerPeer(name),
    ...extra,
  });
  const url = await mf.ready;
  const db = name === "rust" || name === "js" ? await mf.getD1Database("CALLS_DB") : null;
  if (db && migrated) await migrate(db);
  return {
    name,
    url: url.origin,
    /** The text stored under `key` in the peer's KV namespace (a `call:` record: in D1 if it has one), or null. */
    stored: async (key) => {
      if (db && key.startsWith("call:")) {
        const row = await db.prepare("SELECT record FROM calls WHERE reference_id = ?1").bind(key.slice(5)).first();
        return row ? row.record : null;
      }
      /** @type {any} Miniflare's KV namespace; its type is not the runtime's. */
      const kv = await mf.getKVNamespace("SESSIONS");
      return kv.get(key);
    },
    stop: () => mf.dispose(),
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The workerd processes this node process spawned (Miniflare starts one per instance), by pid. */
export function workerdPids() {
  const pids = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat && stat.comm === "workerd" && stat.ppid === process.pid && stat.state !== "Z") pids.add(Number(entry));
  }
  return pids;
}

/** The one workerd started since `before` (a set from workerdPids()). */
export function newWorkerd(before) {
  const fresh = [...workerdPids()].filter((pid) => !before.has(pid));
  if (fresh.length !== 1) throw new Error(`expected one new workerd process, found ${fresh.length}`);
  return fresh[0];
}

/**
 * A cold start of a worker peer: a new Miniflare instance (a fresh workerd, the worker loaded from
 * nothing; D1 not migrated, so that it measures the worker, not the harness) until it has answered
 * an incoming_call, then `calls - 1` more of fresh calls, then disposed. `check(text)` says whether
 * a reply is right. Times in ms; CPU is the fresh workerd's, until ready and until the first reply
 * (to the nanosecond), and Miniflare's own in this process until ready.
 *
 * @param {string} name
 * @param {{ options?: object, check?: (text: string) => boolean, calls?: number }} [how]
 */
export async function coldStart(name, { options = {}, check = () => true, calls = 1 } = {}) {
  const before = workerdPids();
  const t0 = performance.now();
  const harness0 = process.cpuUsage();
  const peer = await startWorkerPeer(name, options, { migrate: false });
  const ready = performance.now();
  const harness = process.cpuUsage(harness0);
  try {
    const pid = newWorkerd(before);
    const cpuReady = cpuSecondsFine(pid);
    /** One incoming_call of a fresh call: when it was answered. */
    const incomingCall = async () => {
      const { body, headers } = signedEvent(0, referenceId());
      const res = await fetch(`${peer.url}/webhook`, { method: "POST", headers, body });
      const text = await res.text();
      if (res.status !== 200 || !check(text)) {
        throw new Error(`${name} answered an incoming_call after a cold start with ${res.status} ${text}`);
      }
      return performance.now();
    };
    const answered = await incomingCall();
    const cpuFirst = cpuSecondsFine(pid);
    const later = [];
    for (let i = 1; i < calls; i++) {
      const sent = performance.now();
      later.push((await incomingCall()) - sent);
    }
    return {
      ms: answered - t0,
      ready_ms: ready - t0, // until Miniflare's ready (workerd listening)
      first_request_ms: answered - ready,
      later_requests_ms: later,
      cpu_ready_ms: 1000 * cpuReady,
      cpu_ms: 1000 * cpuFirst, // the fresh workerd's CPU until the first reply
      // This Node process's CPU until ready: Miniflare reading the worker's modules, finding their
      // imports, writing workerd's configuration and waiting for it, which a deployed worker's
      // cold start skips.
      harness_ready_ms: (harness.user + harness.system) / 1000,
    };
  } finally {
    await peer.stop();
  }
}

/** startWorkerPeer, with the pid of the workerd it spawned (whose CPU time is the peer's). */
export async function startMeasuredPeer(name, extra = {}) {
  const before = workerdPids();
  const peer = await startWorkerPeer(name, extra);
  return { ...peer, pid: newWorkerd(before) };
}

/**
 * What `run` answers, and the CPU seconds process `pid` used while it ran and for a moment after
 * (whatever the peer does after its last reply).
 */
export async function cpuDuring(pid, run) {
  const before = cpuSeconds(pid);
  const result = await run();
  await new Promise((r) => setTimeout(r, 100));
  return { result, cpu_s: cpuSeconds(pid) - before };
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // gone meanwhile
  }
  // "pid (comm) state ppid ...": comm may hold spaces, so the fields are counted after its ")".
  const close = text.lastIndexOf(")");
  const f = text.slice(close + 2).split(" ");
  return {
    comm: text.slice(text.indexOf("(") + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    // utime + stime (all threads of the process) + cutime + cstime (its waited-for children).
    ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
  };
}

/**
 * CPU seconds process `pid` has run so far, to the nanosecond: the sum of its threads' time on a
 * CPU (/proc/<pid>/task/<tid>/schedstat). Threads that ended are not counted, so this is for a
 * fresh process's first moments (a cold start, whose threads all live on), where the clock ticks
 * of cpuSeconds are too coarse: a cold start's CPU is a few ticks. Falls back to cpuSeconds
 * where the kernel keeps no schedstat.
 */
export function cpuSecondsFine(pid) {
  try {
    let nanos = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return nanos / 1e9;
  } catch {
    return cpuSeconds(pid);
  }
}

/**
 * CPU seconds used so far by process `pid` (every thread) and its descendants (live ones read
 * directly, finished ones through cutime/cstime), from /proc/<pid>/stat.
 */
export function cpuSeconds(pid) {
  const stats = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) stats.set(Number(entry), stat);
  }
  let ticks = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, stat] of stats) if (stat.ppid === p) todo.push(child);
  }
  return ticks / CLK_TCK;
}
