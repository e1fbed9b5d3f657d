// The dev phone's page. It talks only to the phone server (scripts/phone/server.mjs): it places a
// call, polls the call's state, and answers each question the call asks the caller (the keys at a
// prompt, what a rung number does). What the caller hears is spoken with speechSynthesis (a
// `speak`) or played with <audio> (a `play`); the flow's diagram follows the worker's session.
import { zoomable } from "./zoom.js";

const $ = (id) => document.getElementById(id);
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const POLL_MS = 120;
const PARAMS = new URLSearchParams(location.search);
/** How long a muted prompt plays (ms), from `?playMs=N`; by default it depends on its length. */
const PLAY_MS = PARAMS.has("playMs") ? Number(PARAMS.get("playMs")) : null;

let call = null; // { id, seq (question answered last), question, playing, buffer, timers }
let flowShown = null;
let diagramN = 0;
let lastHighlight = "";

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok && res.status !== 409) throw new Error(data.error ?? `HTTP ${res.status}`);
  return data;
}

function setStatus(text) {
  $("status").textContent = text;
}

function showError(text) {
  $("error").textContent = text;
}

/** A failure of the simulation, in plain words. */
function plain(failure, worker) {
  if (/cannot reach the worker/.test(failure)) return `The worker is not answering at ${worker}. Is it running (npm run dev)? (${failure})`;
  if (/HTTP 401/.test(failure)) return `The worker refused the signed event (401): the secrets in .dev.vars are not the worker's. (${failure})`;
  if (/unsupported_call_state|may not answer|takes no action|left in silence|not a JSON-RPC/.test(failure)) {
    return `The worker's reply breaks Telesign's call-state rules: ${failure}`;
  }
  if (/^GET \/calls\/\w+ answered HTTP 404/.test(failure)) return `No call record: the worker never took this call. (${failure})`;
  if (/within \d+ ms/.test(failure)) return `The worker took too long to answer: ${failure}`;
  return failure;
}

// --- the keypad -------------------------------------------------------------------------------
for (const k of KEYS) {
  const b = document.createElement("button");
  b.textContent = k;
  b.dataset.key = k;
  b.addEventListener("click", () => press(k));
  $("keypad").append(b);
}
document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, textarea, select")) return;
  if (KEYS.includes(e.key)) {
    e.preventDefault();
    press(e.key);
  }
});

function clearTimers() {
  for (const t of call?.timers ?? []) clearTimeout(t);
  if (call) call.timers = [];
}

function answer(body) {
  if (!call?.question) return;
  const q = call.question;
  clearTimers();
  stopPlayback();
  call.question = null;
  call.playing = false;
  $("hears").classList.remove("playing");
  enableEntry(false);
  api(`/api/calls/${call.id}/answer`, { seq: q.seq, ...body }).catch((e) => showError(e.message));
}

function press(key) {
  if (!call) return;
  // At a sensitive entry (the flow's `gather(..).sensitive()`) the keys show as `*`.
  const step = $("diagram").querySelector("svg")?.dataset.current;
  const sensitive = (config.sensitive?.[$("flow-name").textContent] ?? []).includes(step);
  $("typed").textContent += sensitive && /[0-9]/.test(key) ? "*" : key;
  const q = call.question;
  if (!q || (q.kind !== "collect" && q.kind !== "plain")) return;
  if (q.kind === "plain") {
    // A plain prompt stops at the first key, and Telesign reports it.
    if (call.playing) answer({ kind: "keys", digits: key });
    return;
  }
  call.buffer += key;
  if (call.playing) return; // sent as the prompt's collected_digits when it completes
  entryGrows(q.action.params.collect_digits);
}

/** A collecting prompt has played: the entry ends at max keys, a terminator, or the timeouts. */
function entryGrows(collect) {
  clearTimers();
  const digits = collectDigits(call.buffer, collect);
  const terminated = [...(collect.terminators ?? "")].some((t) => digits.endsWith(t));
  if (digits && (terminated || digits.length >= collect.max)) return answer({ kind: "keys", digits, during: call.duringPlay });
  if (digits) {
    call.timers.push(setTimeout(() => answer({ kind: "keys", digits, during: call.duringPlay }), collect.inter_digit_timeout ?? 5000));
  } else {
    call.timers.push(setTimeout(() => answer({ kind: "none" }), collect.timeout ?? 5000));
  }
}

function collectDigits(pressed, collect) {
  let out = "";
  for (const key of pressed) {
    out += key;
    if ((collect.terminators ?? "").includes(key) || out.length >= collect.max) break;
  }
  return out;
}

function enableEntry(on) {
  $("noinput").disabled = !on;
  $("send").disabled = !on;
}

// --- what the caller hears --------------------------------------------------------------------
function stopPlayback() {
  if (window.speechSynthesis) speechSynthesis.cancel();
  const audio = $("audio");
  audio.onended = audio.onerror = null;
  audio.pause();
}

/** Plays a prompt; `done(ok)` when it ends (ok false: it could not be played). */
function play(action, done) {
  const muted = $("mute").checked;
  if (action.method === "play") {
    const audio = $("audio");
    audio.muted = muted;
    audio.onended = () => done(true);
    audio.onerror = () => done(false);
    audio.src = action.params.url;
    audio.play().catch(() => {});
    return;
  }
  const text = action.params.tts.message;
  if (!muted && window.speechSynthesis) {
    // The browser's voice stands in for Telesign's: if it cannot speak (no voice installed), the
    // prompt plays silently as when muted; if it never says it finished (some browsers drop `end`
    // events), the prompt ends as if it had been read at the simulator's pace.
    let over = false;
    const end = (silently = false) => {
      if (over) return;
      over = true;
      if (silently) call.timers.push(setTimeout(() => done(true), mutedMs(text)));
      else done(true);
    };
    const u = new SpeechSynthesisUtterance(text);
    u.lang = action.params.tts.language ?? "en-US";
    // A voice of the prompt's language where the browser has one (else its default voice).
    const voices = speechSynthesis.getVoices();
    u.voice = voices.find((v) => v.lang === u.lang) ?? voices.find((v) => v.lang.startsWith(u.lang.slice(0, 2))) ?? null;
    u.onend = end;
    u.onerror = (e) => {
      if (e.error === "interrupted" || e.error === "canceled") over = true;
      else end(true);
    };
    speechSynthesis.speak(u);
    call.timers.push(setTimeout(() => end(), 2000 + 1.5 * Math.max(1000, 60 * text.length)));
    return;
  }
  call.timers.push(setTimeout(() => done(true), mutedMs(text)));
}

/** Muted, a prompt "plays" for a fifth of the simulator's time, at most 2 s (or `?playMs=N`). */
function mutedMs(text) {
  return PLAY_MS ?? Math.min(2000, Math.max(1000, 60 * text.length) / 5);
}

function heard(action) {
  return action.method === "speak" ? action.params.tts.message : `(audio) ${action.params.url}`;
}

function onQuestion(q) {
  call.question = q;
  call.buffer = "";
  call.duringPlay = false;
  $("typed").textContent = "";
  $("legs").replaceChildren();
  if (q.kind === "collect" || q.kind === "plain") {
    const collect = q.action.params.collect_digits;
    $("hears").textContent = heard(q.action);
    $("hears").classList.add("playing");
    $("hears").dataset.lang = q.action.params.tts?.language ?? "";
    call.playing = true;
    setStatus(collect ? `Prompt playing: keys are collected (up to ${collect.max})` : "Prompt playing");
    enableEntry(Boolean(collect));
    play(q.action, (ok) => {
      if (call?.question !== q) return;
      if (ok === null) return;
      call.playing = false;
      $("hears").classList.remove("playing");
      if (ok === false) return answer({ kind: "fail" });
      if (!collect) return answer({ kind: "done" });
      setStatus(`Waiting for keys (up to ${collect.max}${collect.terminators ? `, ends with ${collect.terminators}` : ""})`);
      if (call.buffer) call.duringPlay = true;
      entryGrows(collect);
    });
  } else if (q.kind === "leg") {
    setStatus(`Ringing ${q.to}: what does this agent do?`);
    for (const [label, value] of [
      ["answers", "yes"],
      ["no answer", "no"],
      ["busy", "busy"],
    ]) {
      const b = document.createElement("button");
      b.textContent = `${q.to} ${label}`;
      b.dataset.leg = value;
      b.addEventListener("click", () => answer({ answer: value }));
      $("legs").append(b);
    }
  } else if (q.kind === "bridge") {
    setStatus("Talking to the agent");
    $("hears").textContent = "(connected to the agent)";
    const b = document.createElement("button");
    b.textContent = "Agent hangs up";
    b.dataset.leg = "agent-hangs-up";
    b.addEventListener("click", () => answer({ kind: "agent" }));
    $("legs").append(b);
  }
}

$("noinput").addEventListener("click", () => answer({ kind: "none" }));
$("send").addEventListener("click", () => {
  const q = call?.question;
  if (q?.kind === "collect" && call.buffer) answer({ kind: "keys", digits: collectDigits(call.buffer, q.action.params.collect_digits), during: call.playing });
});
$("hangup").addEventListener("click", () => {
  if (!call) return;
  if (call.question) answer({ kind: "hangup" });
  else api(`/api/calls/${call.id}/answer`, { kind: "hangup" }).catch((e) => showError(e.message));
  setStatus("Hanging up…");
});

// --- placing calls and following them ---------------------------------------------------------
async function start(body) {
  showError("");
  $("exchange").replaceChildren();
  $("record").replaceChildren();
  $("hears").textContent = "";
  lastHighlight = "";
  const flow = body.outbound ? body.outbound.flow : config.numbers[body.to];
  await showFlow(flow);
  try {
    const { id } = await api("/api/calls", body);
    call = { id, seq: 0, question: null, timers: [], buffer: "" };
  } catch (e) {
    showError(e.message);
    return;
  }
  $("call").disabled = $("ob-call").disabled = true;
  $("hangup").disabled = false;
  setStatus("Calling…");
  poll(call);
}

$("call").addEventListener("click", () => start({ from: $("from").value.trim(), to: $("to").value }));
$("ob-call").addEventListener("click", () => {
  const vars = {};
  for (const line of $("ob-vars").value.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) vars[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  start({ outbound: { flow: $("ob-flow").value.trim(), to: $("ob-to").value.trim(), vars, answer: !$("ob-noanswer").checked } });
});

async function poll(mine) {
  while (call === mine) {
    let state;
    try {
      state = await api(`/api/calls/${mine.id}`);
    } catch (e) {
      showError(`The phone server is not answering: ${e.message}`);
      return;
    }
    render(state);
    if (state.question && state.question.seq > mine.seq) {
      mine.seq = state.question.seq;
      onQuestion(state.question);
    }
    if (state.done) return finish(state);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function finish(state) {
  clearTimers();
  stopPlayback();
  call = null;
  $("call").disabled = $("ob-call").disabled = false;
  $("hangup").disabled = true;
  enableEntry(false);
  $("legs").replaceChildren();
  $("hears").classList.remove("playing");
  $("hears").textContent = "(the call is over)";
  const failures = state.result?.failures ?? [];
  if (state.error) showError(state.error);
  else if (failures.length) showError(failures.map((f) => plain(f, config.worker)).join("\n"));
  setStatus(state.error || failures.length ? "Call failed" : "Call ended: every answer followed Telesign's rules");
  const record = state.result?.record;
  if (record) {
    showRecord(record);
    highlight(null, record.visited ?? []);
  }
}

function summary(line) {
  if (line.n) {
    const d = line.event.data ?? {};
    const what = d.collected_digits ? ` (${d.collected_digits})` : d.hangup_cause ? ` (${d.hangup_cause})` : d.status ? ` (${d.status})` : "";
    const r = line.reply;
    const c = r?.params?.collect_digits;
    const reply = r ? `${r.method}${r.params?.to ? ` ${r.params.to}` : ""}${c ? `, collect up to ${c.max}` : ""}` : `${line.status} no action`;
    return `${line.event.event}${what} → ${reply}`;
  }
  if (line.telesign_api) return `Telesign API: ${line.telesign_api.method} ${line.telesign_api.params?.to ?? ""} → ${line.status} dial_accepted`;
  return `${line.request.method} ${line.request.path} → ${line.status}`;
}

function render(state) {
  const list = $("exchange");
  state.exchange.forEach((line, i) => {
    const text = summary(line);
    let li = list.children[i];
    if (li && li.dataset.text === text) return;
    if (!li) {
      li = document.createElement("li");
      list.append(li);
    }
    li.dataset.text = text;
    li.replaceChildren();
    const d = document.createElement("details");
    const s = document.createElement("summary");
    s.textContent = text;
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(line, null, 2);
    d.append(s, pre);
    li.append(d);
    if (line.reply?.method === "speak" || line.reply?.method === "play") {
      const h = document.createElement("div");
      h.className = "heard";
      h.textContent = `caller hears: ${heard(line.reply)}`;
      li.append(h);
    }
  });
  const live = state.view?.state === "live" ? state.view.call : null;
  if (live) {
    if (live.flow && live.flow !== flowShown) showFlow(live.flow).then(() => highlight(live.step, live.visited ?? []));
    else highlight(live.step, live.visited ?? []);
  }
}

function showRecord(record) {
  const dl = document.createElement("dl");
  const field = (name, value) => {
    if (value == null || value === "") return;
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.field = name;
    dl.append(dt, dd);
  };
  field("flow", record.flow);
  field("outcome", record.outcome);
  field("visited", (record.visited ?? []).join(" > "));
  field("answers", (record.answers ?? []).map((a) => `${a.step}: ${a.digits || "(none)"} ${a.result}`).join("; "));
  field("failures", (record.failures ?? []).map((f) => `${f.step}: ${f.status}`).join("; "));
  field(
    "vars",
    Object.entries(record.vars ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(", "),
  );
  field("duration", record.duration != null ? `${record.duration} s` : null);
  const h = document.createElement("h2");
  h.textContent = "Call record";
  const d = document.createElement("details");
  const s = document.createElement("summary");
  s.textContent = "raw JSON";
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(record, null, 2);
  d.append(s, pre);
  $("record").replaceChildren(h, dl, d);
}

// --- the diagram ------------------------------------------------------------------------------
async function showFlow(flow) {
  if (!flow || flow === flowShown) return;
  flowShown = flow;
  $("flow-name").textContent = flow;
  const res = await fetch(`/flows/${flow}.mmd`);
  if (!res.ok) {
    $("diagram").textContent = await res.text();
    return;
  }
  try {
    const { svg } = await mermaid.render(`diagram${++diagramN}`, await res.text());
    $("diagram").innerHTML = svg;
    zoomable($("diagram"), $("diagram-zoom"));
    lastHighlight = "";
  } catch (e) {
    $("diagram").textContent = `Mermaid cannot draw ${flow}: ${e.message}`;
  }
}

/** The step node of a Mermaid node element (`…flowchart-s_main_menu-12`), or null. */
function stepOf(el) {
  const m = (el.id ?? "").match(/flowchart-s_(.+)-\d+$/);
  return m ? m[1] : null;
}

function highlight(step, visited) {
  const key = `${step}|${visited.join(",")}`;
  if (key === lastHighlight) return;
  lastHighlight = key;
  const svg = $("diagram").querySelector("svg");
  if (!svg) return;
  for (const node of svg.querySelectorAll("g.node")) {
    const s = stepOf(node);
    node.classList.toggle("current", s != null && s === step);
    node.classList.toggle("visited", s != null && visited.includes(s));
  }
  const pairs = visited.slice(1).map((b, i) => `L_s_${visited[i]}_s_${b}_`);
  for (const edge of svg.querySelectorAll("path[id], path[data-id]")) {
    const id = `${edge.id} ${edge.dataset.id ?? ""}`;
    edge.classList.toggle(
      "taken",
      pairs.some((p) => id.includes(p)),
    );
  }
  svg.dataset.current = step ?? "";
}

// --- start ------------------------------------------------------------------------------------
let config = { numbers: {}, outbound: [] };
mermaid.initialize({ startOnLoad: false, securityLevel: "strict", flowchart: { htmlLabels: true } });

/** `name=` lines for the vars an outbound flow needs, keeping values already typed. */
function varsTemplate(flow) {
  const typed = {};
  for (const line of $("ob-vars").value.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) typed[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const needs = config.outbound.find((f) => f.name === flow)?.needs ?? [];
  return needs.map((v) => `${v}=${typed[v] ?? ""}`).join("\n");
}

/** Fills the number and flow menus with the worker's flows. */
function fillMenus() {
  const option = (value, text) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  };
  $("to").replaceChildren(...Object.entries(config.numbers).map(([n, f]) => option(n, `${n} (${f})`)));
  $("ob-flow").replaceChildren(...config.outbound.map((f) => option(f.name, f.name)));
  $("ob-vars").value = varsTemplate($("ob-flow").value);
  if (!$("in-flow").value && config.names?.length) $("in-flow").value = config.names[0];
}

api("/api/config").then(
  (c) => {
    config = c;
    $("config").textContent = `worker ${c.worker}${c.testClock ? ", test clock" : ""}${c.outbound ? "" : ", outbound calls off"}`;
    if (c.flowsError) showError(c.flowsError);
    if (PARAMS.has("mute")) $("mute").checked = true;
    fillMenus();
    showFlow(config.numbers[$("to").value]);
  },
  (e) => showError(`The phone server is not answering: ${e.message}`),
);
$("ob-flow").addEventListener("change", () => {
  $("ob-vars").value = varsTemplate($("ob-flow").value);
});
$("to").addEventListener("change", () => showFlow(config.numbers[$("to").value]));
