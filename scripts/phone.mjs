// `npm run phone`: the dev phone. A page in the browser to call the local worker as a caller would:
// the keypad, what the caller hears (spoken by the browser), the flow's diagram following the call,
// every event and answer, and an insights view (a flow's funnel from the call records on its
// diagram). The server (scripts/phone/server.mjs) plays Telesign for the page with
// the call simulator's code; see docs/simulator.md, "The dev phone".
import { parseArgs } from "node:util";
import { readDevVars, positive, usageExit } from "./simulator/cli.mjs";
import { FakeTelesignApi } from "./simulator/telesign_api.mjs";
import { startPhone } from "./phone/server.mjs";

export { startPhone } from "./phone/server.mjs";

const USAGE = `usage: npm run phone -- [options]

  --port N             where the page is served (default 8790, on 127.0.0.1)
  --url URL            the worker (default http://127.0.0.1:8787, the one \`npm run dev\` serves)
  --dev-vars FILE      where the secrets are (default .dev.vars)
  --api-port N         the simulated Telesign API for outbound calls (default 8788; the worker's
                       TELESIGN_API_URL must point at http://127.0.0.1:N/v2/voice)
  --test-clock         send each event's simulated time in x-test-clock-ms (a worker with a
                       TEST_CLOCK binding only: the test harness's)
  --patience MS        how long to wait for each answer (default 5000)`;

async function main() {
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        port: { type: "string", default: "8790" },
        url: { type: "string", default: "http://127.0.0.1:8787" },
        "dev-vars": { type: "string", default: ".dev.vars" },
        "api-port": { type: "string", default: "8788" },
        "test-clock": { type: "boolean", default: false },
        patience: { type: "string" },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    usageExit(USAGE, e.message);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  let devVars = {};
  try {
    devVars = readDevVars(args["dev-vars"]);
  } catch (e) {
    if (e.code !== "ENOENT" || args["dev-vars"] !== ".dev.vars") usageExit(USAGE, `cannot read ${args["dev-vars"]}: ${e.message}`);
  }
  const secret = (name) => process.env[name] || devVars[name];
  const secrets = { customerId: secret("TELESIGN_CUSTOMER_ID"), apiKey: secret("TELESIGN_API_KEY"), apiToken: secret("API_TOKEN") };
  if (!secrets.customerId || !secrets.apiKey) {
    usageExit(
      USAGE,
      "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY are needed to sign events: put them in .dev.vars (`. scripts/setup.sh` creates it) or the environment",
    );
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0) usageExit(USAGE, `--port takes a port number, not \`${args.port}\``);
  const api = new FakeTelesignApi(secrets);
  const apiPort = positive(USAGE, "api-port", args["api-port"]);
  let apiUrl = null;
  try {
    apiUrl = await api.listen(apiPort);
  } catch (e) {
    console.error(`(outbound calls off: cannot serve the simulated Telesign API on port ${apiPort}: ${e.message})`);
  }
  const phone = await startPhone({
    workerUrl: args.url,
    secrets,
    api: apiUrl ? api : null,
    testClock: args["test-clock"],
    patienceMs: args.patience != null ? positive(USAGE, "patience", args.patience) : undefined,
    port,
  });
  console.log(`dev phone on ${phone.url} (worker ${args.url})`);
  if (apiUrl) console.log(`simulated Telesign API on ${apiUrl} (for outbound calls the worker's TELESIGN_API_URL must point here)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e.stack ?? e.message);
    process.exit(2);
  });
}
