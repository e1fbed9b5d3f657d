// The bank phone tree of tests/flows/bank.rs (a test flow) written the way a JavaScript user would write it
// instead of using this project: one module worker, the flow as a table, the same KV reads and
// writes as the Rust worker (JSON text under session:<reference_id>, the call record under
// call:<reference_id> with metadata, the session deleted when the call ends), the same signature
// check (WebCrypto HMAC-SHA256), the same redelivery handling (a 64-bit hash of the body, kept with
// the last event and its reply, the reply as nested JSON), the same flow shape (the account number's
// Luhn check on the gather itself, refused entries retried; the balance lookup as a fetch step with
// an ok and an error way) and the same replies byte for byte on the benchmarked path.
// It is the "JS" peer of BENCHMARKS.md, not part of the product.

const SESSION_TTL = 5 * 3600;
const RECORD_TTL = 90 * 86400;
/** How long after a call's end it is looked at again: the event budget and a second. */
const SETTLE_MS = 4000 + 1000;
const BALANCE_API = "https://bank.example.com/v1/accounts";
const MENU = { max: 1, timeout: 5000, inter_digit_timeout: 3000 };
const GATHER = { timeout: 8000, inter_digit_timeout: 3000 };

// The phone tree. `say` steps speak and move on; `menu` and `gather` steps collect digits.
const FLOW = {
  language: "en-US",
  start: "welcome",
  steps: {
    welcome: { say: "Thank you for calling Example Bank.", next: "main_menu" },
    main_menu: {
      menu: "For your account balance, press 1. For cards, press 2. To hear these options again, press 9.",
      options: { 1: "account_number", 2: "cards_menu" },
      repeat: "9",
      noInput: "Sorry, I didn't hear a choice.",
      invalid: "Sorry, that is not one of the options.",
      fallback: "goodbye",
    },
    account_number: {
      gather: "Please enter your eight digit account number, followed by the pound key.",
      var: "account",
      // Kept sealed at rest, masked in the answers, as the Rust flow's `.sensitive()`.
      sensitive: true,
      min: 8,
      max: 8,
      terminators: "#",
      timeout: 10000,
      inter_digit_timeout: 4000,
      check: luhnValid,
      invalid: "Sorry, that account number is not valid.",
      fallback: "goodbye",
      next: "balance_lookup",
    },
    // A 2xx answer that `read` accepts goes to `ok`; anything else (or a failed request) to `error`.
    balance_lookup: { fetch: balanceRequest, read: readBalance, ok: "balance", error: "balance_unavailable" },
    balance: { say: "The balance of the account ending in {account|last4} is {balance} dollars.", next: "main_menu" },
    balance_unavailable: { say: "Sorry, we cannot look up your balance right now.", next: "main_menu" },
    cards_menu: {
      menu: "To report a lost or stolen card, press 1. To activate a new card, press 2. To go back to the main menu, press star.",
      options: { 1: "card_lost", 2: "card_activation", "*": "main_menu" },
      fallback: "goodbye",
    },
    card_lost: {
      say: "Your cards are now blocked. We will call you back at {caller|digits} within one business day.",
      next: "goodbye",
    },
    card_activation: {
      gather: "Enter the last four digits of your new card.",
      var: "card_last4",
      min: 4,
      max: 4,
      terminators: "#",
      fallback: "goodbye",
      next: "card_activated",
    },
    card_activated: { say: "Your card ending in {card_last4|digits} is now active.", next: "main_menu" },
    goodbye: { say: "Thank you for banking with Example Bank. Goodbye." },
  },
};
const MAX_RETRIES = 2;

export default {
  // One JSON log line per request, with the caller masked, as the Rust worker writes.
  async fetch(request, env, ctx) {
    const started = Date.now();
    const log = { method: request.method, path: new URL(request.url).pathname };
    const res = await handle(request, env, log, ctx);
    log.status = res.status;
    log.latency_ms = Date.now() - started;
    log.level = res.status >= 500 ? "error" : res.status >= 400 ? "warn" : "info";
    console.log(JSON.stringify(log));
    return res;
  },
};

function mask(number) {
  const digits = String(number ?? "").replace(/\D/g, "");
  return digits ? `+${"*".repeat(Math.max(0, digits.length - 4))}${digits.slice(-4)}` : undefined;
}

async function handle(request, env, log, ctx) {
  {
    const url = new URL(request.url);
    if (url.pathname !== "/webhook") return error(404, "not_found", "no such route");
    if (request.method !== "POST") return error(405, "method_not_allowed", "use POST");
    const body = await request.text();
    if (!(await signatureValid(request.headers, body, env))) return error(401, "bad_signature", "bad signature");
    let event;
    try {
      event = JSON.parse(body);
    } catch {
      return error(400, "invalid_json", "the body is not JSON");
    }
    if (typeof event?.event !== "string" || typeof event.reference_id !== "string") {
      return error(400, "invalid_event", "event and reference_id are required");
    }
    const id = event.reference_id;
    const data = event.data ?? {};
    log.event = event.event;
    log.reference_id = id;
    log.from = mask(data.from);
    const session = await env.SESSIONS.get(`session:${id}`, "json");
    const fp = await fingerprint(body);

    if (event.event === "call_completed") {
      if (!session && (await recorded(env, id))) return new Response(null, { status: 204 });
      const record = callRecord(session, event, data);
      await writeRecord(env, record);
      if (session) {
        await env.SESSIONS.delete(`session:${id}`);
        // As the Rust worker: an event of the call still running when it ended may save its
        // session after the record was written; looked for once the event budget has passed,
        // and written into the record.
        ctx.waitUntil(settle(env, id, event, data));
      }
      return new Response(null, { status: 204 });
    }

    let s = session;
    if (!s) {
      if (event.event !== "incoming_call") return reply(JSON.stringify(action("hangup", {})));
      // A replayed incoming_call of a call that is over starts nothing.
      if (await recorded(env, id)) return reply(JSON.stringify(action("hangup", {})));
      s = newSession(id, data);
      const out = await follow(s, FLOW.start);
      return save(env, s, event, fp, out);
    }
    const last = s.last;
    if (!expects(s, event) && last?.fingerprint === fp) return last.reply ? reply(JSON.stringify(last.reply)) : noReply();
    if (event.event === "incoming_call") {
      return s.events === 1 && last?.event === "incoming_call" ? reply(JSON.stringify(last.reply)) : noReply();
    }
    if (event.event !== "speak_completed" || s.wait !== "speak") return noReply();
    return save(env, s, event, fp, await mediaCompleted(s, data, env));
  }
}

function error(status, code, message) {
  return Response.json({ error: { code, message } }, { status });
}

function reply(json) {
  return new Response(json, { headers: { "content-type": "application/json; charset=utf-8" } });
}

function noReply() {
  return new Response(null, { status: 204 });
}

let hmacKey;
async function signatureValid(headers, body, env) {
  const presented = headers.get("x-ts-authorization") ?? headers.get("authorization")?.split(":")[1];
  if (!presented) return false;
  const auth = headers.get("authorization");
  if (auth && !auth.startsWith(`TSA ${env.TELESIGN_CUSTOMER_ID}:`)) return false;
  hmacKey ??= await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(env.TELESIGN_API_KEY), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  let signature;
  try {
    signature = Uint8Array.from(atob(presented.trim()), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  return crypto.subtle.verify("HMAC", hmacKey, signature, new TextEncoder().encode(body));
}

// The first 64 bits of the body's SHA-256, as long as the Rust worker's FNV-1a fingerprint.
async function fingerprint(body) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

function newSession(id, data) {
  const now = Date.now();
  return {
    reference_id: id,
    flow: "bank",
    direction: "inbound",
    from: data.from ?? null,
    to: data.to ?? null,
    step: "",
    wait: "speak",
    language: FLOW.language,
    vars: {},
    answers: [],
    visited: [],
    retries: 0,
    hunt: 0,
    started_ms: now,
    updated_ms: now,
    events: 0,
    last: null,
  };
}

/** Whether the event could be the answer the call waits for (else an equal body is a redelivery). */
function expects(s, event) {
  if (s.wait !== "speak" || event.event !== "speak_completed") return false;
  const step = FLOW.steps[s.step];
  const collecting = step.menu !== undefined || step.gather !== undefined;
  const data = event.data ?? {};
  return !(collecting && data.status === "speak_successful" && !data.collected_digits);
}

/** Stores the session with the reply `out` (an action object) and answers with it. */
async function save(env, s, event, fp, out) {
  delete s.clear;
  s.last = { fingerprint: fp, event: event.event, reply: out };
  s.events += 1;
  s.updated_ms = Date.now();
  // When it was written, as the Rust worker keeps it to space a key's writes (KV takes one a
  // second); the benchmark turns that spacing off (peers.mjs), so only the field is kept here.
  s.saved_ms = s.updated_ms;
  await env.SESSIONS.put(`session:${s.reference_id}`, JSON.stringify(s), { expirationTtl: SESSION_TTL });
  return reply(JSON.stringify(out));
}

async function mediaCompleted(s, data, env) {
  const name = s.step;
  const step = FLOW.steps[name];
  // A say step without `next` is the last words: then the call is hung up.
  if (step.say !== undefined) return step.next ? follow(s, step.next) : hangup(s);
  const terminators = step.terminators ?? "";
  const digits = [...(data.collected_digits ?? "")].filter((c) => !terminators.includes(c)).join("");
  const answer = (result) =>
    s.answers.push(
      step.sensitive
        ? { step: name, digits: `****${digits.slice(-4)}`, result, sensitive: true, at_ms: Date.now() }
        : { step: name, digits, result, at_ms: Date.now() },
    );
  if (digits === "") {
    answer("no_input");
    return retry(s, step, step.noInput);
  }
  if (step.menu !== undefined) {
    if (digits === step.repeat) {
      answer("repeat");
      return prompt(s, step);
    }
    const target = step.options[digits];
    if (!target) {
      answer("invalid");
      return retry(s, step, step.invalid);
    }
    answer("accepted");
    return follow(s, target);
  }
  if (!/^\d+$/.test(digits) || digits.length < step.min || digits.length > step.max) {
    answer("invalid");
    return retry(s, step, step.invalid);
  }
  if (step.check && !step.check(digits)) {
    answer("refused");
    return retry(s, step, step.invalid);
  }
  answer("accepted");
  if (step.sensitive) {
    s.sealed = { ...s.sealed, [step.var]: await seal(digits, env) };
    // In the clear for this event's steps only: save() drops it.
    s.clear = { [step.var]: digits };
  } else {
    s.vars[step.var] = digits;
  }
  return follow(s, step.next);
}

let sealKey;
/** AES-GCM under a key derived from SESSION_SEAL_KEY (once per isolate): iv and ciphertext, base64. */
async function seal(text, env) {
  sealKey ??= await crypto.subtle.importKey("raw", await crypto.subtle.digest("SHA-256", new TextEncoder().encode(env.SESSION_SEAL_KEY)), "AES-GCM", false, [
    "encrypt",
  ]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, sealKey, new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...iv, ...sealed));
}

/** Moves the call to `name` and on through steps without a prompt; returns the reply (an action). */
async function follow(s, name) {
  for (let hops = 0; hops < 32; hops++) {
    const step = FLOW.steps[name];
    s.step = name;
    s.visited.push(name);
    if (step.say !== undefined) return speak(s, render(step.say, s));
    if (step.menu !== undefined || step.gather !== undefined) {
      // The retry count starts afresh at each input step entered.
      s.retries = 0;
      s.input_step = name;
      return prompt(s, step);
    }
    name = (await fetchStep(s, step)) ? step.ok : step.error;
  }
  throw new Error("the flow loops");
}

function hangup(s) {
  s.wait = "hangup";
  s.outcome ??= "completed";
  return action("hangup", {});
}

function prompt(s, step, notice = "") {
  const text = (notice ? `${notice} ` : "") + render(step.menu ?? step.gather, s);
  const collect =
    step.menu !== undefined
      ? MENU
      : {
          max: step.max,
          timeout: step.timeout ?? GATHER.timeout,
          inter_digit_timeout: step.inter_digit_timeout ?? GATHER.inter_digit_timeout,
          ...(step.terminators ? { terminators: step.terminators } : {}),
        };
  return speak(s, text, collect);
}

function retry(s, step, notice) {
  s.retries += 1;
  if (s.retries > MAX_RETRIES) return follow(s, step.fallback);
  return prompt(s, step, notice?.trim() ?? "");
}

function speak(s, message, collect_digits) {
  s.wait = "speak";
  const params = { tts: { message, language: FLOW.language } };
  if (collect_digits) params.collect_digits = collect_digits;
  return action("speak", params);
}

function action(method, params) {
  return { jsonrpc: "2.0", method, params };
}

function render(text, s) {
  const values = { ...s.vars, ...s.clear, caller: s.from ?? "", called: s.to ?? "" };
  return text.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, filter) => {
    const v = values[name] ?? "";
    if (filter === "digits") return [...v].join(" ");
    if (filter === "last4") return v.slice(-4);
    return v;
  });
}

function luhnValid(number) {
  if (!/^\d+$/.test(number)) return false; // also the empty string
  let sum = 0;
  [...number].reverse().forEach((c, i) => {
    let d = Number(c);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  });
  return sum % 10 === 0;
}

function balanceRequest(s) {
  return new Request(`${BALANCE_API}/${s.clear?.account ?? ""}/balance`, { headers: { accept: "application/json" } });
}

/** Expects `{"balance": "1234.56"}` (a string or a number); anything else is refused. */
function readBalance(s, text) {
  const balance = JSON.parse(text).balance;
  if (typeof balance !== "string" && typeof balance !== "number") throw new Error("no balance");
  s.vars.balance = String(balance);
}

/** Runs a fetch step: whether the answer was 2xx and `read` accepted it. */
async function fetchStep(s, step) {
  try {
    const res = await fetch(step.fetch(s), { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    const ok = res.status >= 200 && res.status < 300;
    s.fetches ??= [];
    s.fetches.push({ step: s.step, ok, status: res.status });
    if (!ok) return false;
    step.read(s, text);
    return true;
  } catch {
    return false;
  }
}

/** A session saved after its call's record: written into the record, then deleted. */
async function settle(env, id, event, data) {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const late = await env.SESSIONS.get(`session:${id}`, "json");
  if (!late) return;
  await writeRecord(env, callRecord(late, event, data));
  await env.SESSIONS.delete(`session:${id}`);
}

/** Whether the call has a record (D1 as the Rust worker keeps them; KV without the binding). */
async function recorded(env, id) {
  // As the Rust worker: D1 first; KV (its outbox) when D1 has no row or fails.
  if (env.CALLS_DB) {
    try {
      if ((await env.CALLS_DB.prepare("SELECT 1 FROM calls WHERE reference_id = ?1").bind(id).first()) !== null) return true;
    } catch {
      // D1 unavailable: fall through to KV.
    }
  }
  return (await env.SESSIONS.get(`call:${id}`)) !== null;
}

/** The record in one D1 statement, as the Rust worker writes it (ivr-core/src/records/sql.rs): its steps and answers are read from the record (migrations/0006). */
async function writeRecord(env, r) {
  if (!env.CALLS_DB) {
    await env.SESSIONS.put(`call:${r.reference_id}`, JSON.stringify(r), { expirationTtl: RECORD_TTL });
    return;
  }
  const db = env.CALLS_DB;
  await db.batch([
    db
      .prepare(
        "INSERT INTO calls (reference_id, flow, direction, from_number, to_number, external_id, outcome, status, started_ms, ended_ms, duration, record, language) " +
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (reference_id) DO UPDATE SET record = excluded.record",
      )
      .bind(
        r.reference_id,
        r.flow,
        r.direction,
        r.from,
        r.to,
        r.external_id,
        r.outcome,
        r.status,
        r.started_ms,
        r.ended_ms,
        r.duration,
        JSON.stringify(r),
        r.language,
      ),
  ]);
}

function callRecord(s, event, data) {
  let outcome = "unknown_call";
  if (s) outcome = s.outcome ?? (s.wait === "hangup" ? "completed" : "caller_hung_up");
  return {
    reference_id: event.reference_id,
    flow: s?.flow ?? null,
    direction: s?.direction ?? data.direction ?? null,
    from: s?.from ?? data.from ?? null,
    to: s?.to ?? data.to ?? null,
    external_id: event.external_id ?? null,
    created_on_utc: data.created_on_utc ?? null,
    answered_on_utc: data.answered_on_utc ?? null,
    ended_on_utc: data.ended_on_utc ?? null,
    duration: data.duration ?? null,
    audio_recording_file_name: data.audio_recording_file_name ?? null,
    // The flow has one language and no step that switches it.
    language: s ? FLOW.language : null,
    vars: s?.vars ?? {},
    answers: s?.answers ?? [],
    visited: s?.visited ?? [],
    outcome,
    status: data.status ?? null,
    started_ms: s?.started_ms ?? null,
    ended_ms: Date.now(),
  };
}
