// The worker's entry (scripts/build.sh installs it as the build's worker/shim.mjs). Everything the
// runtime sends the worker (requests, queue batches, cron runs, requests to a call's object) runs
// as a task of the wasm (src/task.rs), driven here synchronously: each call into the wasm returns
// at once with the next I/O operation, which ./io.mjs performs before the task is resumed with
// its result. The wasm holds no promise, and no Rust future crosses into JS.

import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import { initSync, Task } from "../index.js";
import wasm from "../index_bg.wasm";
import { flows, openapi } from "./documents.mjs";
import { perform } from "./io.mjs";

initSync({ module: wasm });

/**
 * The operations that say the answer's head is ready (src/io.rs `Op::Answered`): with more for
 * the task to do after it (a streamed body, work after the answer), or with nothing more.
 */
const ANSWERED = '{"op":"answered","more":true}';
const ANSWERED_LAST = '{"op":"answered","more":false}';
/** The JSON texts a task can answer as its body, by the name `task.document()` gives. */
const DOCUMENTS = { openapi, flows };
/**
 * The most body bytes read and thrown away after a body passed its limit, so that the sender
 * reads its 413 instead of a connection reset: a server that answers and closes while the client
 * is still writing makes the client's write fail (EPIPE) before it sees the answer, which is why
 * HTTP servers drain ("lingering close"). Past this much the sender is hostile and gets the reset.
 */
const DRAIN_BYTES = 1024 * 1024;

export default class Worker extends WorkerEntrypoint {
  fetch(request) {
    const task = Task.fetch(this.env, request.method, request.url, request.headers);
    return answer(task, { env: this.env, request }, (work) => this.ctx.waitUntil(work));
  }

  async queue(batch) {
    const bodies = batch.messages.map((m) => (typeof m.body === "string" ? m.body : ""));
    await run(Task.queue(this.env, bodies), { env: this.env, messages: batch.messages });
  }

  async scheduled() {
    await run(Task.scheduled(this.env), { env: this.env });
  }
}

/**
 * One call's session (SESSION_BACKEND=durable_object): its events are handled one at a time, each
 * until its answer (a `fetch` step's request must not let the next event of the same call in
 * half-way); the work after an answer runs outside the turn.
 */
export class CallSession extends DurableObject {
  /** The turn under way: the next event waits for it, whatever it came to. */
  turn = /** @type {Promise<unknown>} */ (Promise.resolve());

  fetch(request) {
    const scope = { env: this.env, request, storage: this.ctx.storage };
    const served = this.turn.then(() => {
      const task = Task.object(this.env, request.method, request.url, request.headers);
      return answer(task, scope, (work) => this.ctx.waitUntil(work));
    });
    this.turn = served.catch(() => {});
    return served;
  }

  /** The session outlived Telesign's four-hour call limit: nothing will come for it. */
  async alarm() {
    await this.ctx.storage.deleteAll();
  }
}

/**
 * Runs `task` until its answer's head is ready and answers it: the body whole, or streamed as the
 * task writes it. The work after the answer goes to `waitUntil`.
 */
async function answer(task, scope, waitUntil) {
  let op;
  try {
    op = task.resume(true, undefined);
    while (op !== undefined && op !== ANSWERED && op !== ANSWERED_LAST) op = await step(task, scope, op);
  } catch (e) {
    task.free();
    throw e;
  }
  const status = task.status();
  if (status === 0) {
    task.free();
    throw new Error("a task ended without an answer");
  }
  // A plain record: the Response makes its one Headers of it.
  /** @type {Record<string, string>} */
  const headers = {};
  const pairs = task.headers();
  for (let i = 0; i < pairs.length; i += 2) headers[pairs[i]] = pairs[i + 1];
  if (task.streamed()) return new Response(stream(task, scope), { status, headers });
  const response = new Response(task.body() ?? documentOf(task), { status, headers });
  if (op === ANSWERED) waitUntil(run(task, scope));
  else task.free();
  return response;
}

/** The entry's document that is the task's body (`task.document()`), or null for no body. */
function documentOf(task) {
  const name = task.document();
  return name === undefined ? null : DOCUMENTS[name];
}

/** A streamed body: each piece the task writes (`chunk`), until it ends or is cut short (`cut`). */
function stream(task, scope) {
  const encoder = new TextEncoder();
  let op = task.resume(true, undefined);
  return new ReadableStream({
    async pull(controller) {
      try {
        while (op !== undefined) {
          const parsed = decode(task, op);
          if (parsed.op === "chunk") {
            controller.enqueue(encoder.encode(parsed.text));
            op = task.resume(true, undefined);
            return;
          }
          if (parsed.op === "cut") {
            task.free();
            controller.error(new Error(parsed.message));
            return;
          }
          op = await step(task, scope, op, parsed);
        }
        task.free();
        controller.close();
      } catch (e) {
        task.free();
        controller.error(e);
      }
    },
    cancel() {
      task.free();
    },
  });
}

/** Runs `task` to its end (or, once it answered, the work after its answer). */
async function run(task, scope) {
  try {
    let op = task.resume(true, undefined);
    while (op !== undefined) op = await step(task, scope, op);
  } finally {
    task.free();
  }
}

/**
 * The operation `op` (JSON) the task parked, with its large texts put back: they come beside the
 * JSON (`task.text()`, each at the next path of the JSON's `beside`: its fields and list
 * indices), so that they are never escaped into the JSON and out again. Read at once, before the
 * task is resumed.
 * @param {Task} task
 * @param {string} op
 */
function decode(task, op) {
  const parsed = JSON.parse(op);
  for (const path of parsed.beside ?? []) {
    let at = parsed;
    for (const key of path.slice(0, -1)) at = at[key];
    at[path[path.length - 1]] = task.text();
  }
  return parsed;
}

/** Performs `op` and resumes the task with its outcome; answers the task's next operation. */
async function step(task, scope, op, parsed = decode(task, op)) {
  if (parsed.op === "read_body") {
    let body;
    try {
      body = await readBody(scope.request, parsed.limit);
    } catch (e) {
      return task.resume(false, message(e));
    }
    return task.resumeWithBody(body);
  }
  let ok = true;
  let value;
  try {
    value = (await perform(scope, parsed)) ?? undefined;
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
 * The body, at most `limit` bytes, or undefined when it is larger. A body whose Content-Length is
 * more than DRAIN_BYTES past the limit is refused unread; any other is read to its end (up to that
 * bound) without keeping what passes the limit, so that the sender sees the answer.
 */
async function readBody(request, limit) {
  const declared = Number.parseInt(request.headers.get("content-length") ?? "", 10);
  if (declared > limit + DRAIN_BYTES) return undefined;
  if (declared <= limit) {
    // The runtime holds a body to its Content-Length: one read (the common case). Checked again
    // all the same.
    const body = new Uint8Array(await request.arrayBuffer());
    return body.length > limit ? undefined : body;
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks = [];
  let read = 0;
  for await (const chunk of request.body) {
    read += chunk.length;
    if (read > limit + DRAIN_BYTES) break;
    if (read <= limit) chunks.push(chunk);
  }
  if (read > limit || declared > limit) return undefined;
  const body = new Uint8Array(read);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
