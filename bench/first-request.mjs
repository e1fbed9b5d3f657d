// What a fresh isolate of the Rust worker compiles on its first requests. V8 compiles a wasm
// function the first time it is called (Liftoff, lazily), so a fresh isolate's first requests pay
// for compiling every function on their path; this shows which, and how long each took.
//
// It runs the release build's own JS and wasm (build-test/ or the directory given) in this Node's V8
// (`--trace-wasm-compilation-times`) as node-host.mjs sets it up: not workerd, whose V8 is newer and
// whose bindings cost more, so the figures are indicative; the cold start itself is measured in workerd
// by `npm run bench` (bench/load.mjs). Usage: node bench/first-request.mjs [build-dir]; RUNS (5).
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWorker, registerHooks } from "./node-host.mjs";

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), "..");

/**
 * The child: loads the worker, then plays the first `steps` requests (all of them without a
 * limit), a marker line before each and its time after.
 */
async function child(build, steps = Infinity) {
  const { signedEvent } = await import("./peers.mjs");
  const { referenceId } = await import("../scripts/harness/events.mjs");
  // Node's own fetch classes load on first use: warmed here so that they are not counted.
  await new Response("x", { headers: new Headers({ a: "b" }) }).text();
  new Request("http://x/", { method: "POST", body: "x" });
  registerHooks();
  console.log("@@ load");
  const t0 = performance.now();
  const { app } = await loadWorker(build);
  console.log(`@@ ms ${performance.now() - t0}`);
  // A fresh isolate's first request is a call's first event; /healthz then shows what the
  // other routes still compile.
  const incomingCall = () => {
    const { body, headers } = signedEvent(0, referenceId());
    return new Request("http://localhost/webhook", { method: "POST", headers, body });
  };
  /** @type {[string, () => Request][]} */
  const requests = [
    ["POST /webhook (incoming_call)", incomingCall],
    ["POST /webhook (incoming_call)", incomingCall],
    ["GET /healthz", () => new Request("http://localhost/healthz")],
  ];
  for (const [name, request] of requests.slice(0, steps)) {
    console.log(`@@ ${name}`);
    const t = performance.now();
    const res = await app.fetch(request());
    await res.text();
    if (res.status !== 200) throw new Error(`${name}: ${res.status}`);
    console.log(`@@ ms ${performance.now() - t}`);
  }
}

/** One run of the child under `flags` (and `steps`): each step's name and time. */
function run(build, flags, steps) {
  const args = [...flags, here, "--child", build, ...(steps === undefined ? [] : [String(steps)])];
  // Into a file, not a pipe: through a pipe, the end of V8's trace went missing.
  const file = path.join(mkdtempSync(path.join(tmpdir(), "first-request-")), "out.txt");
  const fd = openSync(file, "w");
  try {
    execFileSync(process.execPath, args, { stdio: ["ignore", fd, "inherit"] });
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(file, "utf8");
  rmSync(path.dirname(file), { recursive: true });
  /** @type {{ steps: { name?: string, ms?: number }[], compiled: Map<number, { ms: number, body: number }> }} */
  const result = { steps: [], compiled: new Map() };
  for (const line of out.split("\n")) {
    if (line.startsWith("@@ ms ")) result.steps.at(-1).ms = Number(line.slice(6));
    else if (line.startsWith("@@ ")) result.steps.push({ name: line.slice(3) });
    const m = /^Compiled function .*#(\d+) using \w+, took (\d+) ms .* bodysize (\d+)/.exec(line);
    if (m) result.compiled.set(Number(m[1]), { ms: Number(m[2]), body: Number(m[3]) });
  }
  return result;
}

/**
 * The wasm functions each step compiles. V8's trace and the child's markers are written through
 * different buffers, so lines cannot be told apart by step: the child is run traced once per
 * step count instead, and a step's functions are those compiled with it and not without.
 */
function compiledPerStep(build, count) {
  const runs = Array.from({ length: count }, (_, i) => run(build, ["--trace-wasm-compilation-times"], i).compiled);
  return runs.map((compiled, i) => {
    const before = i === 0 ? new Map() : runs[i - 1];
    const added = [...compiled].filter(([index]) => !before.has(index));
    /** @type {{ index: number, ms: number, body: number } | null} */
    const none = null;
    const largest = added.reduce((big, [index, f]) => (!big || f.body > big.body ? { index, ...f } : big), none);
    return { functions: added.length, largest };
  });
}

/**
 * The parent: RUNS runs of the child with V8's default lazy compilation and as many with every
 * function compiled when the module is (`--no-wasm-lazy-compilation`), medians of each step's
 * time: their difference is about what compiling on first call costs that step. Runs under
 * `--trace-wasm-compilation-times` count the functions each step compiled.
 */
function parent(build) {
  const RUNS = Number(process.env.RUNS ?? 5);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const times = (flags) => {
    const runs = Array.from({ length: RUNS }, () => run(build, flags).steps);
    return runs[0].map((step, i) => ({ name: step.name, ms: median(runs.map((r) => r[i].ms)) }));
  };
  const lazy = times([]);
  const eager = times(["--no-wasm-lazy-compilation"]);
  const traced = compiledPerStep(build, lazy.length);
  console.log(`${path.relative(root, build) || "."}, in Node ${process.versions.node} (V8 ${process.versions.v8}), medians of ${RUNS} runs:`);
  console.log("  step                            lazy (default)   all compiled at load   wasm functions compiled (lazy), the largest");
  traced.forEach((s, i) => {
    const largest = s.largest ? `, function ${s.largest.index}: ${s.largest.body} B of code, ${s.largest.ms} ms` : "";
    console.log(
      `  ${lazy[i].name.padEnd(30)} ${lazy[i].ms.toFixed(1).padStart(9)} ms ${eager[i].ms.toFixed(1).padStart(16)} ms   ${String(s.functions).padStart(4)}${largest}`,
    );
  });
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4] === undefined ? Infinity : Number(process.argv[4]));
else parent(path.resolve(process.argv[2] ?? path.join(root, "build-test")));
