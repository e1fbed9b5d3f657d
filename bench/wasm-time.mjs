// Time spent in the wasm per event, to a fraction of a microsecond, for builds side by side: the
// benchmark's call played against each build in this Node's V8 (node-host.mjs: in-memory bindings,
// no workerd), the time inside every call into the wasm (`Task`'s methods) summed. Under workerd
// the same differences drown in the runtime's noise (bench/ab.mjs resolves a few percent of CPU
// per event, about 60 µs); this resolves changes to the wasm's own work. Indicative: Node's V8 is
// not workerd's, and the bindings cost nothing here.
// Usage: node bench/wasm-time.mjs <build> [<build> ...]; WASM_CALLS (2000 calls a round),
// WASM_ROUNDS (3; the builds take turns within each round, each in a fresh process).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWorker, registerHooks } from "./node-host.mjs";

const here = fileURLToPath(import.meta.url);

/** The child: one build, warmed up, then CALLS calls; prints its figures as JSON. */
async function child(build, calls) {
  const { CALL, signedEvent } = await import("./peers.mjs");
  const { referenceId } = await import("../scripts/harness/events.mjs");
  registerHooks();
  const { app, Task } = await loadWorker(build);
  let inWasm = 0;
  /** @param {Record<string, any>} holder @param {string} name */
  const timed = (holder, name) => {
    const f = holder[name];
    holder[name] = function (/** @type {any[]} */ ...args) {
      const t = performance.now();
      try {
        return f.apply(this, args);
      } finally {
        inWasm += performance.now() - t;
      }
    };
  };
  for (const name of ["resume", "resumeWithBody", "text", "status", "streamed", "body", "headers", "free"]) timed(Task.prototype, name);
  for (const name of ["fetch"]) timed(Task, name);
  console.log = console.warn = console.error = () => {};
  let inEvents = 0;
  const call = async () => {
    const reference = referenceId();
    for (let i = 0; i < CALL.length; i++) {
      const { body, headers } = signedEvent(i, reference);
      const request = new Request("http://localhost/webhook", { method: "POST", headers, body });
      const t = performance.now();
      const res = await app.fetch(request);
      await res.text();
      inEvents += performance.now() - t;
      if (res.status !== (i === CALL.length - 1 ? 204 : 200)) throw new Error(`event ${i}: ${res.status}`);
    }
  };
  for (let i = 0; i < 300; i++) await call(); // the wasm's and the JS's tiers
  inWasm = inEvents = 0;
  for (let i = 0; i < calls; i++) await call();
  const events = calls * CALL.length;
  process.stdout.write(JSON.stringify({ wasm_us: (1000 * inWasm) / events, event_us: (1000 * inEvents) / events }));
}

function parent(builds) {
  const calls = Number(process.env.WASM_CALLS ?? 2000);
  const rounds = Number(process.env.WASM_ROUNDS ?? 3);
  /** @type {{ wasm_us: number, event_us: number }[][]} */
  const runs = builds.map(() => []);
  for (let r = 0; r < rounds; r++) {
    builds.forEach((build, i) => {
      const out = execFileSync(process.execPath, [here, "--child", build, String(calls)], { encoding: "utf8" });
      runs[i].push(JSON.parse(out));
    });
    console.log(`round ${r + 1}: ${builds.map((b, i) => `${path.basename(b)} ${runs[i][r].wasm_us.toFixed(1)} µs`).join(", ")}`);
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`Per event, medians of ${rounds} rounds of ${calls} calls (Node ${process.versions.node}, V8 ${process.versions.v8}):`);
  console.log("| build | in the wasm | the whole event in the worker | wasm vs the first, within the rounds |");
  console.log("| --- | ---: | ---: | ---: |");
  builds.forEach((b, i) => {
    const wasm = median(runs[i].map((x) => x.wasm_us));
    const event = median(runs[i].map((x) => x.event_us));
    // Compared within each round, whose builds ran minutes apart at most: the host's speed
    // drifts by up to a third between rounds, which a ratio of the medians would take in.
    const ratio = median(runs[i].map((x, r) => x.wasm_us / runs[0][r].wasm_us));
    console.log(`| ${b} | ${wasm.toFixed(1)} µs | ${event.toFixed(1)} µs | ${ratio.toFixed(3)}× |`);
  });
}

if (process.argv[2] === "--child") await child(process.argv[3], Number(process.argv[4]));
else {
  const builds = process.argv.slice(2);
  if (!builds.length) throw new Error("usage: node bench/wasm-time.mjs <build> [<build> ...]");
  parent(builds);
}
