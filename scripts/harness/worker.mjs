// Starts a release build in workerd through Miniflare 4, with a real local KV namespace SESSIONS,
// the way `wrangler dev` runs it: the build of the project's test flows (build-test/, from
// `scripts/build.sh --test-flows`) unless told otherwise, so that the tests never depend on the
// flows in flows/, which belong to their owner. Shared by the end-to-end tests (tests/e2e/) and the
// soak (scripts/soak.mjs); the benchmarks (bench/) use its SECRETS.
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { readdirSync, readFileSync } from "node:fs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const SECRETS = {
  TELESIGN_CUSTOMER_ID: "00000000-0000-4000-8000-000000000000",
  TELESIGN_API_KEY: "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=",
  API_TOKEN: "test-token",
};

/**
 * The settings the test flows declare (tests/flows/lib.rs `settings`), as a deploy would give them
 * in wrangler.toml [vars] and secrets.
 */
export const FLOW_SETTINGS = {
  BANK_API_URL: "https://bank.example.com/v1",
  BANK_API_KEY: "test-bank-key",
  SESSION_SEAL_KEY: "dGVzdC1zZWFsLWtleS1vZi0zMi1ieXRlcy0wMDAwMDE=",
  ORDERS_API_URL: "https://orders.example.com",
};

/** The build with the project's test flows (tests/flows/), which the tests drive. */
export const TEST_BUILD = "build-test";
/** The build with your flows (flows/), as `wrangler dev` and `wrangler deploy` build it. */
export const USER_BUILD = "build";

/** The campaign queue, as wrangler.toml binds it (producer and consumer in the same worker). */
export const CAMPAIGN_QUEUE = "campaign-dials";

/**
 * Where the worker keeps live sessions in this run: `E2E_SESSION_BACKEND=durable_object` runs the
 * whole suite on the Durable Object backend (scripts/test.sh runs it on both).
 */
export const SESSION_BACKEND = process.env.E2E_SESSION_BACKEND ?? "kv";

/** The SQL statements of migrations/*.sql, in file order (comments dropped, split at `;` line ends). */
export function migrationStatements() {
  const dir = path.join(root, "migrations");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) =>
      readFileSync(path.join(dir, f), "utf8")
        .split("\n")
        .filter((line) => !line.trimStart().startsWith("--"))
        .join("\n")
        .split(/;\s*\n/)
        .map((s) => s.trim().replace(/;$/, ""))
        .filter(Boolean),
    );
}

/** Applies the migrations to a D1 database, as `wrangler d1 migrations apply` does. */
export async function migrate(db) {
  await db.batch(migrationStatements().map((sql) => db.prepare(sql)));
}

/**
 * A call's live session through the call API (whatever the backend), or null once it ended. What
 * a redelivery writes, the count of how often its last event came again (`last.repeats`) and when
 * the session was written (`saved_ms`), is left out, so that a test can say it changed nothing
 * else.
 */
export async function liveSession(worker, reference) {
  const res = await worker.fetch(`/calls/${reference}`, { headers: { authorization: `Bearer ${SECRETS.API_TOKEN}` } });
  if (res.status === 404) return null;
  const view = await res.json();
  if (res.status !== 200) throw new Error(`GET /calls/${reference}: ${res.status} ${JSON.stringify(view)}`);
  if (view.call?.last) delete view.call.last.repeats;
  if (view.call) delete view.call.saved_ms;
  return view.state === "live" ? view.call : null;
}

export { TEST_CLOCK_HEADER } from "../simulator/telesign.mjs";

/**
 * Starts the worker (`build`: TEST_BUILD, or USER_BUILD for your flows). `bindings` override or add vars; `outboundService` intercepts the worker's
 * outbound fetch (the fake Telesign API). The campaign queue runs too: Miniflare delivers its
 * batches to the worker's queue handler after at most a second. `testClock` (default on) adds
 * the TEST_CLOCK service binding, so that the `x-test-clock-ms` header of a /webhook request sets
 * the engine's time for that event (the simulator's clock: minutes of prompt timeouts in
 * milliseconds). wrangler.toml declares no such binding: a deployed worker ignores the header.
 * `kvSpacing` (default off) keeps the worker's spacing of a call's session writes in KV
 * (`KV_WRITE_SPACING_MS`, docs/configuration.md): tests post a call's events back to back, far
 * faster than Telesign does, and would otherwise wait at nearly every event.
 *
 * @param {{ bindings?: object, outboundService?: (request: Request) => Response | Promise<Response>,
 *   apiRateLimit?: number, testClock?: boolean, port?: number, build?: string, kvSpacing?: boolean }} [options]
 */
export async function startWorker({ bindings = {}, outboundService, apiRateLimit = 1000, testClock = true, port, build = TEST_BUILD, kvSpacing = false } = {}) {
  // Every line the worker logs (console.log/warn/error), for tests that read the logs.
  const logs = [];
  const collect = (stream) => {
    let buffered = "";
    stream.on("data", (chunk) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop();
      logs.push(...lines.filter((l) => l.trim() !== ""));
    });
  };
  const mf = new Miniflare({
    // A fixed port on 127.0.0.1 for tests that call the worker as a user would (curl); otherwise
    // a free one, reached through dispatchFetch.
    ...(port ? { host: "127.0.0.1", port } : {}),
    handleRuntimeStdio(stdout, stderr) {
      collect(stdout);
      collect(stderr);
    },
    modules: true,
    scriptPath: path.join(root, build, "worker/shim.mjs"),
    modulesRoot: path.join(root, build),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-07-01",
    kvNamespaces: ["SESSIONS"],
    // Call records (wrangler.toml: [[d1_databases]]), in memory; migrated below.
    d1Databases: { CALLS_DB: "calls" },
    durableObjects: { CALL_SESSIONS: "CallSession" },
    bindings: {
      WEBHOOK_AUTH: "on",
      SESSION_BACKEND,
      ...(kvSpacing ? {} : { KV_WRITE_SPACING_MS: "0" }),
      ...SECRETS,
      ...(build === TEST_BUILD ? FLOW_SETTINGS : {}),
      ...bindings,
    },
    outboundService,
    // Any service binding named TEST_CLOCK turns the header on; it is never called.
    serviceBindings: testClock ? { TEST_CLOCK: async () => new Response("") } : {},
    queueProducers: { CAMPAIGN_QUEUE },
    // POST /calls and /campaigns per token and minute (wrangler.toml: [[ratelimits]]).
    ratelimits: { API_RATE_LIMITER: { namespace_id: "1001", simple: { limit: apiRateLimit, period: 60 } } },
    queueConsumers: { [CAMPAIGN_QUEUE]: { maxBatchSize: 4, maxBatchTimeout: 1, maxRetries: 10 } },
  });
  await mf.ready;
  await migrate(await mf.getD1Database("CALLS_DB"));
  const worker = {
    mf,
    logs,
    fetch: (p, init) => mf.dispatchFetch(new URL(p, "http://worker.test").toString(), init),
    /** @type {() => Promise<any>} The sessions' KV namespace (Miniflare types it from workers-types). */
    kv: () => mf.getKVNamespace("SESSIONS"),
    db: () => mf.getD1Database("CALLS_DB"),
    /** A call's record as D1 holds it (null if none), read from the table, not through the API. */
    record: async (reference) => {
      const db = await mf.getD1Database("CALLS_DB");
      /** @type {{ record: string } | null} */
      const row = await db.prepare("SELECT record FROM calls WHERE reference_id = ?1").bind(reference).first();
      return row ? JSON.parse(row.record) : null;
    },
    /** Runs the cron trigger once (wrangler.toml: [triggers]), as Cloudflare does every 5 minutes. */
    scheduled: async () => {
      /** @type {any} Miniflare's worker has `scheduled`, which its Fetcher type leaves out. */
      const worker = await mf.getWorker();
      return worker.scheduled({ cron: "*/5 * * * *" });
    },
    dispose: () => mf.dispose(),
  };
  worker.session = (reference) => liveSession(worker, reference);
  return worker;
}
