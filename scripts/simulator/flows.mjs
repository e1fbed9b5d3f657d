// The worker's own account of its flows (GET /flows): which number reaches each inbound flow and
// which vars each outbound flow needs. The call simulator and the dev phone read it instead of
// knowing any flow by name, so they follow whatever flows the worker was built with.

/** The number dialled for the default inbound flow, unless a route of its own takes it. */
export const DEFAULT_LINE = "+15555551212";

/** GET /flows of `worker` (`{ fetch(path, init) }`) with the API token: `{ flows: [...] }`. */
export async function fetchFlows(worker, apiToken) {
  const res = await worker.fetch("/flows", { headers: { authorization: `Bearer ${apiToken}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /flows answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/**
 * What can be dialled, from GET /flows: `numbers`, each inbound number to its flow (the default
 * inbound flow on a number no route takes); `outbound`, each outbound flow with the vars it
 * needs; `names`, every flow; `sensitive`, each flow's sensitive entries (steps whose keys are
 * shown masked).
 */
export function dialPlan(catalogue) {
  const flows = catalogue?.flows ?? [];
  const routed = {};
  for (const f of flows) for (const n of f.numbers ?? []) routed[n] = f.name;
  // The default inbound flow first, on a number no route takes.
  const numbers = {};
  const fallback = flows.find((f) => f.default_inbound);
  if (fallback) {
    let line = DEFAULT_LINE;
    for (let i = 0; line in routed; i++) line = `+1555555${1300 + i}`;
    numbers[line] = fallback.name;
  }
  Object.assign(numbers, routed);
  const outbound = flows.filter((f) => f.direction === "outbound").map((f) => ({ name: f.name, needs: f.needs ?? [] }));
  const sensitive = Object.fromEntries(flows.map((f) => [f.name, f.sensitive_steps ?? []]));
  return { numbers, outbound, names: flows.map((f) => f.name), sensitive };
}

/** The number that reaches the inbound flow `name`, or null. */
export function numberOf(plan, name) {
  return Object.entries(plan.numbers).find(([, flow]) => flow === name)?.[0] ?? null;
}

/** The flows as lines for a terminal: name, direction, numbers or needed vars. */
export function describeFlows(catalogue) {
  const plan = dialPlan(catalogue);
  return (catalogue?.flows ?? []).map((f) => {
    if (f.direction === "outbound") {
      const needs = f.needs?.length ? `needs ${f.needs.join(", ")}` : "needs no vars";
      return `${f.name}  outbound, ${needs}  (npm run call -- --outbound ${f.name} --to NUMBER${(f.needs ?? []).map((v) => ` --var ${v}=...`).join("")})`;
    }
    const numbers = Object.entries(plan.numbers)
      .filter(([, name]) => name === f.name)
      .map(([n]) => n);
    const label = f.default_inbound ? `${numbers.join(", ")} and any number without a route` : numbers.join(", ");
    return `${f.name}  inbound, dial ${label}  (npm run call -- --flow ${f.name})`;
  });
}
