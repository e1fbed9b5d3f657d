// The curl examples of the README and of every guide in docs/, run as written against a worker on
// 127.0.0.1:8787 with the docs' local token and a fake Telesign on 127.0.0.1:8788 (what
// docs/call-api.md, "Try it locally", tells a user to start), each answer's status checked against
// the `# NNN` line under it. Ids that only exist in the docs' own run (a reference id, a campaign
// id) are replaced by the ones this run got, across pages in order. And every other command block
// of those pages is marked `<!-- illustrative -->` (docs/testing.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../../scripts/harness/worker.mjs";
import { FakeTelesignApi } from "../../scripts/simulator/telesign_api.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** README.md, then every docs/*.md in name order: the pages whose examples are checked here. */
const PAGES = [
  "README.md",
  ...readdirSync(path.join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
const TEXTS = new Map(PAGES.map((page) => [page, readFileSync(path.join(root, page), "utf8")]));
const LOCAL_TOKEN = /Bearer (dev-token-change-me)/.exec([...TEXTS.values()].join("\n"))[1];
/**
 * The guides' examples name the sample flows of flows/; this test runs them against the project's
 * test flows (tests/flows/), each of which began as the sample named here, so that an owner who
 * edits or deletes a sample does not break it.
 */
const TEST_FLOW_OF_SAMPLE = { bank_menu: "bank", appointment_reminder: "reminder", agent_forwarding: "forwarding" };

/** Every curl command of a page's `sh` blocks with the status its next `# NNN` line names. */
export function curlExamples(markdown) {
  const examples = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1].replace(/\\\n\s*/g, " ").split("\n");
    lines.forEach((line, i) => {
      if (!line.startsWith("curl ")) return;
      const expect = /^# (\d{3})\b/.exec(lines[i + 1] ?? "");
      if (expect) examples.push({ command: line, status: Number(expect[1]), shown: lines[i + 1] });
    });
  }
  return examples;
}

let w;
let telesign;
before(async () => {
  telesign = new FakeTelesignApi();
  const api = await telesign.listen(8788);
  w = await startWorker({ port: 8787, bindings: { API_TOKEN: LOCAL_TOKEN, TELESIGN_API_URL: api, CALLER_ID: "+15554441313" } });
});
after(async () => {
  await w.dispose();
  await telesign.close();
});

/**
 * The command blocks (`sh`, `console`, `bash`, `shell`) of a page that no test runs: neither holds
 * a curl example nor has `<!-- illustrative -->` on the line above it. Each as `page:line`.
 */
export function unmarkedCommandBlocks(page, markdown) {
  const lines = markdown.split("\n");
  const out = [];
  let open = null; // the opening line's index while inside a block
  lines.forEach((line, i) => {
    const fence = /^\s*```(\w*)/.exec(line);
    if (!fence) return;
    if (open === null) {
      open = i;
      return;
    }
    const lang = /^\s*```(\w*)/.exec(lines[open])[1];
    if (["sh", "console", "bash", "shell"].includes(lang)) {
      const body = `${lines.slice(open, i + 1).join("\n")}\n`;
      const marked = lines[open - 1]?.trim() === "<!-- illustrative -->";
      if (!marked && curlExamples(body).length === 0) out.push(`${page}:${open + 1}`);
    }
    open = null;
  });
  return out;
}

test("every command block of the docs is run by a test or marked illustrative", () => {
  const unmarked = PAGES.flatMap((page) => unmarkedCommandBlocks(page, TEXTS.get(page)));
  assert.deepEqual(unmarked, [], "mark each with a line <!-- illustrative --> above it, or make it a tested curl example");
});

test("every curl example of the README and docs/ answers the status it shows", async () => {
  const examples = PAGES.flatMap((page) => curlExamples(TEXTS.get(page)));
  assert.ok(examples.length >= 5, `only ${examples.length} curl examples found`);
  const ids = new Map(); // the docs' id -> this run's
  for (const { command, status, shown } of examples) {
    let cmd = command;
    for (const [from, to] of ids) cmd = cmd.replaceAll(from, to);
    for (const [sample, flow] of Object.entries(TEST_FLOW_OF_SAMPLE)) cmd = cmd.replace(new RegExp(`\\b${sample}\\b`, "g"), flow);
    // Not execFileSync: the fake Telesign answering the worker's dial runs in this process.
    const { stdout: out } = await promisify(execFile)("bash", ["-c", `${cmd} -w '\\n%{http_code}'`], { encoding: "utf8", timeout: 20_000 });
    const body = out.slice(0, out.lastIndexOf("\n"));
    const got = Number(out.slice(out.lastIndexOf("\n") + 1));
    assert.equal(got, status, `${command}\n-> ${got} ${body}`);
    // Ids the docs show in an answer stand for the ones this run got.
    for (const key of ["reference_id", "campaign_id"]) {
      const readmeId = new RegExp(`"${key}":"([0-9A-Fa-f]{32})"`).exec(shown)?.[1];
      const ourId = readmeId ? JSON.parse(body || "{}")[key] : undefined;
      if (readmeId && ourId) ids.set(readmeId, ourId);
    }
  }
});
