// A campaign's progress and funnel for the dev phone's insights (GET /api/campaigns/<id>): its
// state and counts (the worker's GET /campaigns/<id>) and, from every page of its per-number
// results (GET /campaigns/<id>/numbers), how far its numbers got and what the callees pressed.

/** Pages of the per-number results read at most: 50,000 numbers, a campaign's largest. */
const MAX_PAGES = 50;
/**
 * The outcomes of numbers that failed without being dialled (ivr-core's `CallOutcome`: "A campaign
 * number that was not dialled"), though their claim counted an attempt. (One dialled before, whose
 * retry was then cancelled, is counted as not dialled.)
 */
const NOT_DIALLED = new Set(["invalid_number", "unknown_flow", "cancelled", "erased", "outside_window"]);

/**
 * `{ progress, funnel, answers }` of campaign `id`, asked of the worker through `ask(path)`
 * (`{ status, body }`); `{ status, body }` of the worker's error when it has one.
 */
export async function campaignInsights(id, ask) {
  const progress = await ask(`/campaigns/${id}`);
  if (progress.status !== 200) return progress;
  const numbers = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const got = await ask(`/campaigns/${id}/numbers?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
    if (got.status !== 200) return got;
    numbers.push(...(got.body.numbers ?? []));
    cursor = got.body.cursor;
    if (!cursor) break;
  }
  return { status: 200, body: { progress: progress.body, ...summarize(numbers) } };
}

/**
 * The funnel of a campaign's numbers (numbers, dialled, answered, completed; failed, by outcome)
 * and, per step, how many callees made each accepted entry.
 */
export function summarize(numbers) {
  const funnel = { numbers: numbers.length, dialled: 0, answered: 0, completed: 0, failed: 0, failed_by: {} };
  const answers = {};
  for (const n of numbers) {
    const neverDialled = n.state === "failed" && NOT_DIALLED.has(n.outcome);
    if (n.attempts > 0 && !neverDialled) funnel.dialled += 1;
    if (n.state === "answered" || n.state === "completed") funnel.answered += 1;
    if (n.state === "completed") funnel.completed += 1;
    if (n.state === "failed") {
      funnel.failed += 1;
      const why = n.outcome ?? "unknown";
      funnel.failed_by[why] = (funnel.failed_by[why] ?? 0) + 1;
    }
    for (const a of n.answers ?? []) {
      if (a.result !== "accepted") continue;
      answers[a.step] ??= {};
      answers[a.step][a.digits] = (answers[a.step][a.digits] ?? 0) + 1;
    }
  }
  return { funnel, answers };
}
