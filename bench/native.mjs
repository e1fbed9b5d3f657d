// Where each peer's CPU goes in workerd, by what runs it: a native profile (Linux `perf`) of the
// peer's workerd process under the benchmark's call, with V8 writing the names of the code it
// compiles (`--perf-basic-prof`), so that the wasm's functions, the worker's JavaScript, Miniflare's
// own JavaScript and workerd's C++ (V8, its garbage collector, the KJ event loop, the bindings)
// are told apart. Unlike bench/profile.mjs (V8's sampler through the inspector), nothing is
// attached to the isolate, so the code runs as under the load run; and every thread of the
// process is counted, as the load run's CPU figures count them.
// Usage: node bench/native.mjs <build> [peer ...] [--json <file>] (peers: `js`, `floor` or build
// directories; by default `js`); NATIVE_CALLS (600 calls a peer), BENCH_CONNECTIONS (8).
// bench/profile.sh --native passes a build that keeps the wasm's function names; `npm run bench`
// writes the figures as JSON for report.mjs.
import autocannon from "autocannon";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CALL, callRequests, root, startMeasuredPeer, workerPeer } from "./peers.mjs";

const CALLS = Number(process.env.NATIVE_CALLS ?? 600);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const HZ = 999;
const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonFile = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
const [build, ...others] = args;
if (!build) throw new Error("usage: node bench/native.mjs <build> [js|floor|<build> ...]");
const peers = [build, ...(others.length ? others : ["js"])];
const out = path.join(root, "target/bench/native");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// V8's names for the code it compiles, in /tmp/perf-<pid>.map where perf looks; its log (which
// that flag turns on) goes nowhere.
process.env.MINIFLARE_WORKERD_V8_FLAGS = "--perf-basic-prof --no-logfile-per-isolate --logfile=/dev/null";

/** What runs a sample: the category of its symbol, from perf's `dso` and `sym` columns. */
function category(dso, sym) {
  if (dso.startsWith("[JIT]")) {
    if (/-(turbofan|liftoff)$/.test(sym)) return "wasm";
    if (/(worker\/shim|worker\/io|index)\.m?js|\/index\.js/.test(sym) && !/miniflare|\.worker\.js/.test(sym)) {
      return "the worker's JavaScript";
    }
    if (/^(JS|Builtin|Stub|RegExp)/.test(sym) && /miniflare|\.worker\.js|cloudflare-internal|node-internal/.test(sym)) {
      return "Miniflare's and workerd's JavaScript";
    }
    return "other compiled code (stubs, regexps)";
  }
  if (dso.includes("kernel")) return "kernel";
  if (dso !== "workerd") return "libc and others";
  /** @type {[RegExp, string][]} */
  const rules = [
    [/Scaveng|Heap::|MarkCompact|Sweep|cppgc|Marking|Evacuat|Minor|ConcurrentMark|GCTracer/, "V8 garbage collector"],
    [/^v8::internal::wasm|Wasm/, "V8 wasm runtime"],
    [/^Builtins_|^v8::/, "V8 (builtins, runtime, API)"],
    [/tcmalloc/, "tcmalloc"],
    [/sqlite/i, "SQLite (local KV, D1)"],
    [/^kj::|^capnp::/, "KJ event loop and Cap'n Proto"],
    [/^workerd::/, "workerd (bindings, requests)"],
  ];
  for (const [pattern, name] of rules) if (pattern.test(sym)) return name;
  return "workerd, other";
}

/** Samples per symbol of one perf recording: [category, symbol, samples]. */
function symbols(file) {
  const text = execFileSync("perf", ["report", "-i", file, "--no-children", "--sort", "dso,sym", "-g", "none", "-q", "-n"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const rows = [];
  for (const line of text.split("\n")) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[.\]\s+(.*)$/.exec(line);
    if (m) rows.push({ category: category(m[2].trim(), m[3].trim()), sym: m[3].trim(), samples: Number(m[1]) });
  }
  return rows;
}

/** One peer: warmed up, then recorded under CALLS calls; its rows and the requests answered. */
async function profile(which) {
  const peer = which === "js" || which === "floor" ? await startMeasuredPeer(which) : await startMeasuredPeer("rust", workerPeer("rust", path.resolve(which)));
  const load = (calls) => autocannon({ url: peer.url, connections: CONNECTIONS, amount: calls * CALL.length, requests: callRequests(), timeout: 10 });
  try {
    await load(Math.ceil(CALLS / 2)); // JIT tiers, the KV and D1 files
    const file = path.join(out, `${path.basename(which)}.perf.data`);
    const perf = spawn("perf", ["record", "-F", String(HZ), "-p", String(peer.pid), "-o", file], { stdio: "ignore" });
    // Listened for at once: perf may exit before the load (refused, or the pid gone).
    const exited = new Promise((resolve, reject) => {
      perf.on("error", reject);
      perf.on("exit", resolve);
    });
    await new Promise((r) => setTimeout(r, 500));
    if (perf.exitCode !== null) throw new Error(`perf record exited early (${perf.exitCode})`);
    const result = await load(CALLS);
    perf.kill("SIGINT");
    await exited;
    if (!existsSync(file)) throw new Error(`perf wrote no ${file}`);
    if (result.errors || result.non2xx) throw new Error(`${which}: ${result.errors} errors, ${result.non2xx} non-2xx`);
    return {
      name: which === "js" || which === "floor" ? which : path.relative(root, path.resolve(which)),
      rows: symbols(file),
      requests: result.requests.total,
    };
  } finally {
    await peer.stop();
    for (const f of readdirSync("/tmp")) if (f.startsWith(`perf-${peer.pid}.map`)) rmSync(path.join("/tmp", f), { force: true });
  }
}

const results = [];
for (const which of peers) results.push(await profile(which));
const us = (samples, requests) => (samples * 1e6) / HZ / requests;
const sum = (rows, f) => rows.filter(f).reduce((n, r) => n + r.samples, 0);
const categories = [...new Set(results.flatMap((r) => r.rows.map((row) => row.category)))];
const total = (r) =>
  us(
    sum(r.rows, () => true),
    r.requests,
  );
categories.sort(
  (a, b) =>
    us(
      sum(results[0].rows, (r) => r.category === b),
      results[0].requests,
    ) -
    us(
      sum(results[0].rows, (r) => r.category === a),
      results[0].requests,
    ),
);

console.log(`CPU per event of each peer's workerd by what runs it (µs; perf at ${HZ} Hz, ${CALLS} calls of ${CALL.length} events each):`);
console.log(`| | ${results.map((r) => r.name).join(" | ")} |`);
console.log(`| --- | ${results.map(() => "---:").join(" | ")} |`);
for (const c of categories) {
  console.log(
    `| ${c} | ${results
      .map((r) =>
        us(
          sum(r.rows, (row) => row.category === c),
          r.requests,
        ).toFixed(0),
      )
      .join(" | ")} |`,
  );
}
console.log(`| in all | ${results.map((r) => total(r).toFixed(0)).join(" | ")} |`);
const rust = results[0];
const wasm = rust.rows
  .filter((r) => r.category === "wasm")
  .sort((a, b) => b.samples - a.samples)
  .slice(0, 15);
console.log(`\nThe wasm's functions with the most samples, ${rust.name} (µs per event):`);
for (const r of wasm)
  console.log(
    `${us(r.samples, rust.requests).toFixed(1).padStart(6)}  ${r.sym
      .replace(/^JS:/, "")
      .replace(/-\d+-(turbofan|liftoff)$/, "")
      .slice(0, 140)}`,
  );
console.log(`\nperf recordings in ${path.relative(root, out)}/ (perf report -i <file>).`);
if (jsonFile) {
  const figures = {
    hz: HZ,
    calls: CALLS,
    events_per_call: CALL.length,
    peers: results.map((r) => ({
      name: r.name,
      total_us: total(r),
      categories: Object.fromEntries(
        categories.map((c) => [
          c,
          us(
            sum(r.rows, (row) => row.category === c),
            r.requests,
          ),
        ]),
      ),
    })),
    wasm_top: wasm.map((r) => ({ name: r.sym.replace(/^JS:/, "").replace(/-\d+-(turbofan|liftoff)$/, ""), us: us(r.samples, rust.requests) })),
  };
  writeFileSync(jsonFile, JSON.stringify(figures, null, 2));
}
