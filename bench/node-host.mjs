// A build of the worker run in this Node's V8 instead of workerd: `cloudflare:workers` stubbed,
// the `.wasm` import compiled, and the bindings played by plain objects (a Map as KV, a D1 that
// finds no rows). For what workerd cannot show: which wasm functions a first request compiles
// (first-request.mjs), and the time spent in the wasm per event to the microsecond
// (wasm-time.mjs). Node's V8 is not workerd's, so such figures are indicative.
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BINDINGS } from "./peers.mjs";

/** Module hooks: `cloudflare:workers` as a stub, a `.wasm` import as its compiled module. */
const HOOKS = `
export async function resolve(spec, ctx, next) {
  if (spec === "cloudflare:workers") return { url: "stub:cloudflare-workers", shortCircuit: true };
  if (spec.endsWith(".wasm")) return { url: new URL(spec, ctx.parentURL).href + "?module", shortCircuit: true };
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (url === "stub:cloudflare-workers") {
    return { format: "module", shortCircuit: true,
      source: "export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } } export class DurableObject extends WorkerEntrypoint {}" };
  }
  if (url.endsWith("?module")) {
    const file = JSON.stringify(new URL(url.slice(0, -"?module".length)).pathname);
    return { format: "module", shortCircuit: true,
      source: "import { readFileSync } from 'node:fs'; export default new WebAssembly.Module(readFileSync(" + file + "));" };
  }
  return next(url, ctx);
}`;

/** Installs the hooks; before the first import of a build. */
export function registerHooks() {
  globalThis.addEventListener ??= () => {};
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
}

/** The bindings as plain objects: KV in a Map, a D1 that finds no rows. */
export function stubEnv() {
  const result = { results: [], success: true, meta: {} };
  class D1PreparedStatement {
    bind() {
      return this;
    }
    async first() {
      return null;
    }
    async all() {
      return result;
    }
    async run() {
      return result;
    }
  }
  class D1Database {
    prepare() {
      return new D1PreparedStatement();
    }
    /** @param {unknown[]} statements */
    async batch(statements) {
      return statements.map(() => result);
    }
  }
  /** @type {Map<string, string>} */
  const kv = new Map();
  return {
    SESSIONS: {
      get: async (/** @type {string} */ k) => kv.get(k) ?? null,
      put: async (/** @type {string} */ k, /** @type {string} */ v) => void kv.set(k, v),
      delete: async (/** @type {string} */ k) => void kv.delete(k),
    },
    CALLS_DB: new D1Database(),
    ...BINDINGS,
  };
}

/**
 * The worker of `build` (its entry, worker/shim.mjs) over the stubbed bindings, and its wasm
 * glue's Task class; registerHooks() first.
 * @param {string} build
 */
export async function loadWorker(build) {
  const worker = await import(pathToFileURL(path.join(build, "worker/shim.mjs")).href);
  const glue = await import(pathToFileURL(path.join(build, "index.js")).href);
  const env = stubEnv();
  // The work after an answer runs on its own, as in workerd; a failure of it is not this
  // request's.
  const ctx = { waitUntil: (/** @type {Promise<unknown>} */ work) => void work.catch(() => {}), passThroughOnException() {} };
  const app = new worker.default(ctx, env);
  return { app, Task: glue.Task, env };
}
