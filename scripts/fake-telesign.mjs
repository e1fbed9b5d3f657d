#!/usr/bin/env node
// `node scripts/fake-telesign.mjs [port]`: a fake Telesign REST API on
// http://127.0.0.1:8788/v2/voice (or the port given) that accepts every dial and logs one line per
// request, for `npm run dev -- --var TELESIGN_API_URL:http://127.0.0.1:8788/v2/voice`. It checks no
// credentials. The fake itself is scripts/simulator/telesign_api.mjs, the one the tests use.

import { FakeTelesignApi } from "./simulator/telesign_api.mjs";
import { usageExit } from "./simulator/cli.mjs";

const USAGE = "usage: node scripts/fake-telesign.mjs [port]   (default 8788; 0 picks a free port)";

const arg = process.argv[2] ?? "8788";
if (arg === "--help" || arg === "-h") {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(arg);
if (!Number.isInteger(port) || port < 0 || port > 65535) usageExit(USAGE, `the port is a whole number from 0 to 65535, not \`${arg}\``);

const api = new FakeTelesignApi({ log: (line) => console.log(line) });
try {
  console.log(`fake Telesign on ${await api.listen(port)}`);
} catch (e) {
  console.error(`cannot serve the fake Telesign API on port ${port}: ${e.message}`);
  process.exit(1);
}
