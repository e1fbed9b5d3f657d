// The dev phone's insights view: a flow's funnel over a time range, from the worker's call records
// (GET /flows/<name>/stats, asked through the phone server's GET /api/flows/<name>/stats, which
// holds the API token). The flow's diagram (from the worker's GET /flows) is drawn with its nodes filled
// by how often each step was entered (relative to the busiest step), each node labelled with its
// counts, and each edge with how many visits went along it; tables beside it list every step and
// every way out of it, and the totals (calls, outcomes) head the form.
import { zoomable } from "./zoom.js";

const $ = (id) => document.getElementById(id);

let renderN = 0;
let loaded = false;
let shownN = 0;

/** The worker's error answer in plain words. */
function plain(status, body, flow) {
  const e = body?.error ?? {};
  const message = typeof e === "string" ? e : (e.message ?? "");
  if (e.code === "worker_unreachable") return `The worker is not answering: ${message}. Is it running (npm run dev)?`;
  if (status === 404 && e.code === "flow_not_found")
    return `The worker has no flow named “${flow}”. Pick one of the list (the flows with a diagram in docs/flows/).`;
  if (status === 400 && e.code === "invalid_query") {
    return `The date range is not understood: ${message.replace(/`/g, "")}. Leave a field empty for no limit.`;
  }
  if (e.code === "invalid_flow") return `“${flow}” is not a flow name.`;
  if (e.code === "store_not_configured") return `The worker has no call records database (its CALLS_DB binding is missing: see wrangler.toml): ${message}.`;
  if (e.code === "store_unavailable") {
    return `The worker's call records database failed: ${message}. Locally, have its migrations been applied? (npm run dev applies them.)`;
  }
  if (status === 401) return "The worker refused the API token (401): API_TOKEN in .dev.vars is not the worker's.";
  return `The worker could not answer the stats (HTTP ${status}${e.code ? `, ${e.code}` : ""})${message ? `: ${message}` : ""}.`;
}

/** Fill colour for `n` of `max` entries: pale cream (none) to deep orange (the busiest). */
export function heat(n, max) {
  if (!n || !max) return "#f4f4f4";
  const t = 0.15 + 0.85 * (n / max);
  const from = [255, 247, 236];
  const to = [239, 101, 72];
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * t));
  return `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

const ms = (v) => (v == null ? "–" : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);
const keysText = (keys) =>
  Object.entries(keys ?? {})
    .map(([k, n]) => `${k}: ${n}`)
    .join(", ");
const endedText = (ended) =>
  Object.entries(ended ?? {})
    .map(([o, n]) => `${o} ${n}`)
    .join(", ");
/** Mermaid reads `#` as the start of an entity: `#35;` is a `#`. */
const mm = (text) => String(text).replace(/#/g, "#35;").replace(/"/g, "#quot;");

/** What a node says under its name: the entries, then what is not zero. */
function nodeCounts(s) {
  const parts = [`entered ${s.entered}`];
  if (s.hung_up) parts.push(`hung up ${s.hung_up}`);
  if (s.no_input) parts.push(`no input ${s.no_input}`);
  if (s.invalid) parts.push(`invalid ${s.invalid}`);
  if (s.refused) parts.push(`refused ${s.refused}`);
  if (s.entered && s.median_ms != null) parts.push(`median ${ms(s.median_ms)}`);
  const rows = [];
  for (let i = 0; i < parts.length; i += 2) rows.push(parts.slice(i, i + 2).join(" · "));
  let text = rows.join("<br/>");
  if (s.keys && Object.keys(s.keys).length) text += `<br/>keys ${keysText(s.keys)}`;
  return text;
}

function tooltip(s) {
  return [
    `${s.step} (${s.kind})`,
    `entered ${s.entered}, completed ${s.completed}`,
    `no input ${s.no_input}, invalid ${s.invalid}, refused ${s.refused}, hung up ${s.hung_up}`,
    `median time ${ms(s.median_ms)}`,
    s.keys ? `keys: ${keysText(s.keys) || "none"}` : null,
    Object.keys(s.ended ?? {}).length ? `calls ended here: ${endedText(s.ended)}` : null,
  ]
    .filter(Boolean)
    .join("\n");
}

const EDGE = /^(\s*)(\w+)\s+(-->|-\.->)(?:\|"(.*)"\|)?\s+(\w+)\s*$/;

/**
 * The generated diagram with the stats written in: each step's label gets its counts, each edge
 * that visits took its count (the first edge of a pair, when a step has several to the same
 * next step), `style` fills each node by its entries, and `linkStyle` widens the edges taken.
 */
export function annotate(source, stats) {
  const byStep = new Map(stats.steps.map((s) => [s.step, s]));
  const max = Math.max(0, ...stats.steps.map((s) => s.entered));
  const maxEdge = Math.max(1, ...stats.steps.flatMap((s) => Object.values(s.next)));
  const labelled = new Set();
  const linkStyles = [];
  let edgeIndex = 0;
  const lines = source.split("\n").map((line) => {
    const e = line.match(EDGE);
    if (e) {
      const [, indent, from, arrow, label, to] = e;
      const index = edgeIndex++;
      const step = from.startsWith("s_") ? byStep.get(from.slice(2)) : null;
      let n = 0;
      if (from === "call_start") n = stats.calls;
      else if (step && to === "call_end") n = Object.values(step.ended ?? {}).reduce((a, b) => a + b, 0);
      else if (step && to.startsWith("s_") && !labelled.has(`${from}>${to}`)) n = step.next[to.slice(2)] ?? 0;
      if (to.startsWith("s_")) labelled.add(`${from}>${to}`);
      if (!n) return line;
      linkStyles.push(`    linkStyle ${index} stroke:#c0392b,stroke-width:${(1.5 + 4 * Math.min(1, n / maxEdge)).toFixed(1)}px`);
      return `${indent}${from} ${arrow}|"${label ? `${label} · ` : ""}${n}×"| ${to}`;
    }
    // A step's node: its name and kind, then its counts (the prompt's text is the phone view's).
    const node = line.match(/^(\s*s_(\w+)[^"]*)"(.*)"([^"]*)$/);
    const s = node && byStep.get(node[2]);
    if (s) return `${node[1]}"<b>${s.step}</b> (${s.kind})<br/><i>${mm(nodeCounts(s))}</i>"${node[4]}`;
    return line;
  });
  const styles = stats.steps
    .filter((s) => lines.some((l) => l.match(new RegExp(`^\\s*s_${s.step}\\W`))))
    .map((s) => `    style s_${s.step} fill:${heat(s.entered, max)},stroke:${s.entered ? "#9c2a00" : "#aaa"}`);
  return [...lines, ...styles, ...linkStyles].join("\n");
}

function cell(tr, field, value) {
  const td = document.createElement("td");
  td.dataset.field = field;
  td.textContent = value;
  tr.append(td);
}

function table(headers) {
  const t = document.createElement("table");
  const head = document.createElement("tr");
  for (const h of headers) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  t.append(head);
  return t;
}

function showTables(stats) {
  const max = Math.max(0, ...stats.steps.map((s) => s.entered));
  const steps = table(["step", "kind", "entered", "completed", "no input", "invalid", "refused", "hung up", "median", "keys", "ended here"]);
  for (const s of stats.steps) {
    const tr = document.createElement("tr");
    tr.dataset.step = s.step;
    cell(tr, "step", s.step);
    cell(tr, "kind", s.kind);
    cell(tr, "entered", s.entered);
    tr.lastChild.style.background = heat(s.entered, max);
    for (const f of ["completed", "no_input", "invalid", "refused", "hung_up"]) cell(tr, f, s[f]);
    cell(tr, "median", ms(s.median_ms));
    cell(tr, "keys", s.keys ? keysText(s.keys) : "");
    cell(tr, "ended", endedText(s.ended));
    steps.append(tr);
  }
  const edges = table(["from", "to", "visits"]);
  for (const s of stats.steps) {
    const ways = [...Object.entries(s.next).map(([to, n]) => [to, n]), ...Object.entries(s.ended ?? {}).map(([o, n]) => [`(call ended: ${o})`, n])];
    for (const [to, n] of ways) {
      const tr = document.createElement("tr");
      tr.dataset.from = s.step;
      tr.dataset.to = to;
      cell(tr, "from", s.step);
      cell(tr, "to", to);
      cell(tr, "visits", n);
      edges.append(tr);
    }
  }
  if (edges.children.length === 1) {
    const tr = document.createElement("tr");
    cell(tr, "none", "no call went anywhere in this range");
    tr.firstChild.colSpan = 3;
    edges.append(tr);
  }
  $("in-steps").replaceChildren(steps);
  $("in-edges").replaceChildren(edges);
}

const when = (v) => (v >= 8.64e15 ? "no end" : new Date(v).toISOString().replace(".000Z", "Z"));

function showTotals(stats) {
  const p = document.createElement("p");
  p.id = "in-calls";
  p.dataset.calls = stats.calls;
  p.textContent = `${stats.calls} call${stats.calls === 1 ? "" : "s"} of ${stats.flow} ended ${stats.since_ms ? `from ${when(stats.since_ms)}` : "since the first record"} ${stats.until_ms != null ? `until ${when(stats.until_ms)}` : "until now"}`;
  const ul = document.createElement("ul");
  ul.id = "in-outcomes";
  for (const [o, n] of Object.entries(stats.outcomes)) {
    const li = document.createElement("li");
    li.dataset.outcome = o;
    li.dataset.n = n;
    li.textContent = `${o}: ${n}`;
    ul.append(li);
  }
  $("in-totals").replaceChildren(p, ul);
  const max = Math.max(0, ...stats.steps.map((s) => s.entered));
  const legend = document.createElement("div");
  legend.className = "legend";
  for (const [label, n] of [
    ["not entered", 0],
    ["half the busiest", max / 2],
    [`busiest (${max})`, max],
  ]) {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = heat(n, max || 1);
    legend.append(swatch, ` ${label} `);
  }
  const note = document.createElement("p");
  note.className = "hint";
  note.textContent = "Node fill: entries relative to the busiest step. Edge labels: visits that went that way (×). Hover a node for all its counts.";
  $("in-legend").replaceChildren(legend, note);
}

async function showDiagram(stats) {
  $("in-flow-name").textContent = stats.flow;
  const res = await fetch(`/flows/${stats.flow}.mmd`);
  if (!res.ok) {
    $("in-diagram").textContent = `No diagram for ${stats.flow} from the worker (the tables list its steps).`;
    return;
  }
  try {
    const { svg } = await mermaid.render(`insights${++renderN}`, annotate(await res.text(), stats));
    $("in-diagram").innerHTML = svg;
    zoomable($("in-diagram"), $("in-diagram-zoom"));
  } catch (e) {
    $("in-diagram").textContent = `Mermaid cannot draw ${stats.flow}: ${e.message}`;
    return;
  }
  const byStep = new Map(stats.steps.map((s) => [s.step, s]));
  const root = $("in-diagram").querySelector("svg");
  root.dataset.flow = stats.flow;
  for (const node of root.querySelectorAll("g.node")) {
    const m = (node.id ?? "").match(/flowchart-s_(.+)-\d+$/);
    const s = m && byStep.get(m[1]);
    if (!s) continue;
    node.dataset.step = s.step;
    node.dataset.entered = s.entered;
    node.dataset.hungUp = s.hung_up;
    node.dataset.noInput = s.no_input;
    node.dataset.invalid = s.invalid;
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = tooltip(s);
    node.prepend(title);
  }
}

function clear() {
  for (const id of ["in-totals", "in-legend", "in-diagram", "in-steps", "in-edges"]) $(id).replaceChildren();
  $("in-flow-name").textContent = "";
}

/** Asks for the stats of the form's flow and range and shows them (or says what went wrong). */
export async function showInsights() {
  loaded = true;
  if ((await flowNames) === null) return;
  const flow = $("in-flow").value.trim();
  $("in-error").textContent = "";
  const status = $("in-show");
  if (!flow) {
    clear();
    $("in-error").textContent = "Pick a flow.";
    return;
  }
  const query = new URLSearchParams();
  for (const [key, id] of [
    ["since", "in-since"],
    ["until", "in-until"],
  ]) {
    const v = $(id).value.trim();
    if (v) query.set(key, v);
  }
  status.disabled = true;
  $("insights-view").dataset.state = "loading";
  try {
    let res;
    try {
      res = await fetch(`/api/flows/${encodeURIComponent(flow)}/stats?${query}`);
    } catch (e) {
      throw new Error(`The phone server is not answering: ${e.message}`);
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(plain(res.status, body, flow));
    showTotals(body);
    showTables(body);
    await showDiagram(body);
  } catch (e) {
    clear();
    $("in-error").textContent = e.message;
  } finally {
    status.disabled = false;
    $("insights-view").dataset.state = "shown";
    $("insights-view").dataset.shown = String(++shownN);
  }
}

function showView(view) {
  const insights = view === "insights";
  $("phone-view").hidden = insights;
  $("insights-view").hidden = !insights;
  $("tab-phone").setAttribute("aria-pressed", String(!insights));
  $("tab-insights").setAttribute("aria-pressed", String(insights));
  if (insights && !loaded) showInsights();
}

$("tab-phone").addEventListener("click", () => {
  history.replaceState(null, "", location.pathname + location.search);
  showView("phone");
});
$("tab-insights").addEventListener("click", () => {
  history.replaceState(null, "", `${location.pathname}${location.search}#insights`);
  showView("insights");
});
$("in-show").addEventListener("click", () => showInsights());
$("in-campaign-show").addEventListener("click", () => showCampaign());
$("in-campaign").addEventListener("keydown", (e) => {
  if (e.key === "Enter") showCampaign();
});

/** A campaign's state, counts and funnel (GET /api/campaigns/<id>, from the phone server). */
export async function showCampaign() {
  const id = $("in-campaign").value.trim();
  $("in-campaign-error").textContent = "";
  $("in-campaign-view").replaceChildren();
  if (!id) {
    $("in-campaign-error").textContent = "Give the campaign id that POST /campaigns answered.";
    return;
  }
  let res;
  try {
    res = await fetch(`/api/campaigns/${encodeURIComponent(id)}`);
  } catch (e) {
    $("in-campaign-error").textContent = `The phone server is not answering: ${e.message}`;
    return;
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = body.error ?? {};
    $("in-campaign-error").textContent =
      e.code === "campaign_not_found"
        ? `No campaign has the id “${id}”.`
        : `The worker could not answer (HTTP ${res.status}${e.code ? `, ${e.code}` : ""}): ${e.message ?? ""}`;
    return;
  }
  const { progress, funnel, answers } = body;
  const head = document.createElement("p");
  head.id = "in-campaign-state";
  // Why nothing is dialled, when it waits: "waiting for its window until 2026-12-07T14:00:00Z".
  const waiting = progress.waiting_for
    ? `, waiting for its ${progress.waiting_for} until ${new Date(progress.waiting_until).toISOString().replace(".000Z", "Z")}`
    : "";
  head.textContent = `${progress.flow}: ${progress.state}${progress.finished ? ", finished" : ""}${waiting}, ${progress.counts.total} numbers`;
  // The funnel, each stage a bar as long as its share of the numbers.
  const table = document.createElement("table");
  table.id = "in-campaign-funnel";
  const stages = [
    ["numbers", funnel.numbers],
    ["dialled", funnel.dialled],
    ["answered", funnel.answered],
    ["completed", funnel.completed],
    ["not reached", funnel.failed],
  ];
  for (const [stage, n] of stages) {
    const tr = table.insertRow();
    tr.dataset.stage = stage;
    tr.dataset.n = n;
    tr.insertCell().textContent = stage;
    tr.insertCell().textContent = String(n);
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${funnel.numbers ? Math.round((200 * n) / funnel.numbers) : 0}px`;
    tr.insertCell().append(bar);
  }
  const why = document.createElement("p");
  why.className = "hint";
  why.textContent = Object.entries(funnel.failed_by)
    .map(([outcome, n]) => `${outcome}: ${n}`)
    .join(", ");
  const pressed = document.createElement("ul");
  pressed.id = "in-campaign-answers";
  for (const [step, keys] of Object.entries(answers)) {
    const li = document.createElement("li");
    li.dataset.step = step;
    li.textContent = `${step}: ${Object.entries(keys)
      .map(([k, n]) => `${k} ×${n}`)
      .join(", ")}`;
    pressed.append(li);
  }
  $("in-campaign-view").replaceChildren(head, table, why, pressed);
}
for (const id of ["in-flow", "in-since", "in-until"]) {
  $(id).addEventListener("keydown", (e) => {
    if (e.key === "Enter") showInsights();
  });
}
/** The worker's flows, for the flow field's suggestions; null (and the error shown) when unknown. */
const flowNames = fetch("/api/flows")
  .then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(plain(r.status, body, ""));
    for (const f of body.flows ?? []) {
      const o = document.createElement("option");
      o.value = f;
      $("in-flows").append(o);
    }
    if (!$("in-flow").value && body.flows?.length) $("in-flow").value = body.flows[0];
    return body.flows ?? [];
  })
  .catch((e) => {
    $("in-error").textContent = e.message;
    return null;
  });
if (location.hash === "#insights") showView("insights");
