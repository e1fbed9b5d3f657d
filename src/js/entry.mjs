// The worker's entry (scripts/build.sh installs it as the build's worker/shim.mjs). `POST /webhook`
// is driven here, synchronously through the wasm (src/task.rs): each call into it returns at once
// with the next I/O operation, which ./io.mjs performs before the task is resumed with its result.
// Every other request, the queue, the cron and the call objects go to the entry worker-build
// generates for the Rust crate (../index.js), which awaits the same operations itself.

import Worker, { CallSession, Task } from "../index.js";
import { perform } from "./io.mjs";

export { CallSession };

/** The operation that says the answer is ready (src/io.rs `Op::Answered`). */
const ANSWERED = '{"op":"answered"}';
/** The webhook's body limit, and how much more is drained before answering 413. */
const [LIMIT, DRAIN] = Task.bodyLimits();

export default class Entry extends Worker {
  fetch(request) {
    if (request.method === "POST" && new URL(request.url).pathname === "/webhook") {
      return webhook(request, this.env, this.ctx);
    }
    return super.fetch(request);
  }
}

async function webhook(request, env, ctx) {
  let body;
  let unreadable;
  try {
    body = await readBody(request);
  } catch (e) {
    unreadable = message(e);
  }
  const task = Task.webhook(env, request.headers, body, unreadable);
  let op = task.resume(true, undefined);
  while (op !== undefined && op !== ANSWERED) op = await step(task, env, op);
  const status = task.status();
  if (status === 0) {
    task.free();
    throw new Error("the webhook ended without an answer");
  }
  const headers = new Headers();
  const pairs = task.headers();
  for (let i = 0; i < pairs.length; i += 2) headers.set(pairs[i], pairs[i + 1]);
  const response = new Response(task.body() ?? null, { status, headers });
  if (op === undefined) {
    task.free();
  } else {
    ctx.waitUntil(afterAnswer(task, env));
  }
  return response;
}

/** The task's work after its answer. */
async function afterAnswer(task, env) {
  try {
    let op = task.resume(true, undefined);
    while (op !== undefined) op = await step(task, env, op);
  } finally {
    task.free();
  }
}

/** Performs `op` and resumes the task with its outcome; answers the task's next operation. */
async function step(task, env, op) {
  let ok = true;
  let value;
  try {
    value = (await perform(env, op)) ?? undefined;
  } catch (e) {
    ok = false;
    value = message(e);
  }
  return task.resume(ok, value);
}

function message(e) {
  return String(e?.message ?? e);
}

/**
 * The body, at most LIMIT bytes, or undefined when it is larger (src/http.rs `read_body`, which
 * this follows): a body declared more than DRAIN past the limit is refused unread; any other is
 * read to its end, up to that bound, so that the sender reads its 413 instead of a reset.
 */
async function readBody(request) {
  const declared = Number.parseInt(request.headers.get("content-length") ?? "", 10);
  if (declared > LIMIT + DRAIN) return undefined;
  if (declared <= LIMIT) {
    const body = new Uint8Array(await request.arrayBuffer());
    return body.length > LIMIT ? undefined : body;
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks = [];
  let read = 0;
  for await (const chunk of request.body) {
    read += chunk.length;
    if (read > LIMIT + DRAIN) break;
    if (read <= LIMIT) chunks.push(chunk);
  }
  if (read > LIMIT || declared > LIMIT) return undefined;
  const body = new Uint8Array(read);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
