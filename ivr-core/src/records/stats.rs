//! `GET /flows/<name>/stats`: the funnel of one flow's calls in a time range. Five queries in
//! one batch (one snapshot) count outcomes, visits and where each went, entries by result, the
//! keys pressed at menus and the median time in each step; [`assemble`] puts them in the
//! flow's step order, steps no call reached included (zeros), so a diagram can be coloured.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{AnswerResult, CallOutcome};
use crate::flow::{Flow, Step};

use super::{SqlValue, Statement};

/// The calls of the range, shared by every query: `?1` flow, `?2` since, `?3` until (ms), `?4`
/// the language they were spoken in (any, when NULL).
const CALLS: &str = "WITH c AS (SELECT reference_id, outcome FROM calls \
                     WHERE flow = ?1 AND ended_ms >= ?2 AND ended_ms < ?3 \
                     AND (?4 IS NULL OR language = ?4)) ";

/// The batch, in the order [`Rows`] reads its results.
pub fn statements(
    flow: &Flow,
    since_ms: u64,
    until_ms: u64,
    language: Option<&str>,
) -> Vec<Statement> {
    let range = || -> Vec<SqlValue> {
        vec![
            flow.name.as_str().into(),
            since_ms.into(),
            until_ms.into(),
            language.into(),
        ]
    };
    let menus: Vec<&str> = flow
        .steps
        .iter()
        .filter(|(_, step)| matches!(step, Step::Menu(_)))
        .map(|(name, _)| name.as_str())
        .collect();
    let mut keys_params = range();
    keys_params.push(serde_json::to_string(&menus).unwrap_or_default().into());
    vec![
        Statement::new(
            format!("{CALLS}SELECT outcome, count(*) AS n FROM c GROUP BY outcome"),
            range(),
        ),
        Statement::new(
            format!(
                "{CALLS}SELECT s.step, s.next_step, \
                 CASE WHEN s.next_step IS NULL THEN c.outcome END AS ended, count(*) AS n \
                 FROM call_steps s JOIN c USING (reference_id) GROUP BY 1, 2, 3"
            ),
            range(),
        ),
        Statement::new(
            format!(
                "{CALLS}SELECT a.step, a.result, count(*) AS n \
                 FROM call_answers a JOIN c USING (reference_id) GROUP BY 1, 2"
            ),
            range(),
        ),
        // Digits at menus only: a gather's digits are account numbers and PINs.
        Statement::new(
            format!(
                "{CALLS}SELECT a.step, a.digits, count(*) AS n \
                 FROM call_answers a JOIN c USING (reference_id) \
                                  WHERE a.step IN (SELECT value FROM json_each(?5)) AND a.digits != '' \
                 GROUP BY 1, 2"
            ),
            keys_params,
        ),
        Statement::new(
            format!(
                "{CALLS}, d AS (SELECT s.step, s.left_ms - s.entered_ms AS t \
                 FROM call_steps s JOIN c USING (reference_id) \
                 WHERE s.entered_ms IS NOT NULL AND s.left_ms IS NOT NULL), \
                 r AS (SELECT step, t, row_number() OVER (PARTITION BY step ORDER BY t) AS i, \
                 count(*) OVER (PARTITION BY step) AS n FROM d) \
                 SELECT step, avg(t) AS median_ms FROM r \
                 WHERE i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY step"
            ),
            range(),
        ),
    ]
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutcomeRow {
    pub outcome: CallOutcome,
    pub n: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VisitRow {
    pub step: String,
    pub next_step: Option<String>,
    /// The call's outcome, for the last step of a call.
    pub ended: Option<CallOutcome>,
    pub n: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnswerRow {
    pub step: String,
    pub result: AnswerResult,
    pub n: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KeyRow {
    pub step: String,
    pub digits: String,
    pub n: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MedianRow {
    pub step: String,
    pub median_ms: f64,
}

/// The results of [`statements`], in order.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub outcomes: Vec<OutcomeRow>,
    pub visits: Vec<VisitRow>,
    pub answers: Vec<AnswerRow>,
    pub keys: Vec<KeyRow>,
    pub medians: Vec<MedianRow>,
}

/// The answer of `GET /flows/<name>/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowStats {
    pub flow: String,
    /// The range asked for (`null`: open at that end).
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    /// Calls of the flow that ended in the range.
    pub calls: u64,
    pub outcomes: BTreeMap<CallOutcome, u64>,
    /// The flow's steps in its order, then steps only old records name.
    pub steps: Vec<StepStats>,
}

/// One step's part of the funnel. Counts are of visits (a call that comes back to a menu
/// enters it again) and entries.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct StepStats {
    pub step: String,
    /// `say`, `menu`, `gather`, ...; `removed` for a step the flow no longer has.
    pub kind: &'static str,
    pub entered: u64,
    /// Visits the flow went on from: to another step, or by ending the call itself (a
    /// `hangup` step, a bridge, a dial that nobody answered).
    pub completed: u64,
    /// Entries with nothing pressed before the timeout.
    pub no_input: u64,
    /// Entries that were not a menu option or had the wrong length.
    pub invalid: u64,
    /// Entries refused by the flow's own check.
    pub refused: u64,
    /// Calls whose caller hung up while at this step.
    pub hung_up: u64,
    /// Where visits went next: step name → visits.
    pub next: BTreeMap<String, u64>,
    /// Calls that ended at this step, by outcome.
    pub ended: BTreeMap<CallOutcome, u64>,
    /// The median time from entering the step to leaving it (or the call ending), ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<u64>,
    /// Menus: keys pressed → entries (options, the repeat key and invalid keys alike).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<BTreeMap<String, u64>>,
}

/// Puts the rows together in `flow`'s order.
pub fn assemble(
    flow: &Flow,
    since_ms: Option<u64>,
    until_ms: Option<u64>,
    rows: Rows,
) -> FlowStats {
    let mut steps: Vec<StepStats> = flow
        .steps
        .iter()
        .map(|(name, step)| StepStats {
            step: name.clone(),
            kind: step.kind_name(),
            keys: matches!(step, Step::Menu(_)).then(BTreeMap::new),
            ..StepStats::default()
        })
        .collect();
    let mut at = |name: &str| -> usize {
        if let Some(i) = steps.iter().position(|s| s.step == name) {
            return i;
        }
        steps.push(StepStats {
            step: name.to_owned(),
            kind: "removed",
            ..StepStats::default()
        });
        steps.len() - 1
    };
    let mut indexed: Vec<(usize, VisitRow)> = Vec::new();
    for row in rows.visits {
        indexed.push((at(&row.step), row));
    }
    let mut answers = Vec::new();
    for row in rows.answers {
        answers.push((at(&row.step), row));
    }
    let mut keys = Vec::new();
    for row in rows.keys {
        keys.push((at(&row.step), row));
    }
    let mut medians = Vec::new();
    for row in rows.medians {
        medians.push((at(&row.step), row));
    }
    for (i, row) in indexed {
        let s = &mut steps[i];
        s.entered += row.n;
        match (row.next_step, row.ended) {
            (Some(next), _) => {
                s.completed += row.n;
                *s.next.entry(next).or_default() += row.n;
            }
            (None, Some(outcome)) => {
                *s.ended.entry(outcome).or_default() += row.n;
                match outcome {
                    CallOutcome::CallerHungUp => s.hung_up += row.n,
                    CallOutcome::Completed | CallOutcome::Bridged | CallOutcome::NoAnswer => {
                        s.completed += row.n;
                    }
                    _ => {}
                }
            }
            (None, None) => {}
        }
    }
    for (i, row) in answers {
        let s = &mut steps[i];
        match row.result {
            AnswerResult::NoInput => s.no_input += row.n,
            AnswerResult::Invalid => s.invalid += row.n,
            AnswerResult::Refused => s.refused += row.n,
            _ => {}
        }
    }
    for (i, row) in keys {
        if let Some(counts) = &mut steps[i].keys {
            *counts.entry(row.digits).or_default() += row.n;
        }
    }
    for (i, row) in medians {
        // Whole milliseconds: the mean of two middle values may end in .5.
        steps[i].median_ms = Some(row.median_ms.round().max(0.0) as u64);
    }
    let outcomes: BTreeMap<CallOutcome, u64> =
        crate::sort::collected(rows.outcomes.into_iter().map(|r| (r.outcome, r.n)));
    FlowStats {
        flow: flow.name.clone(),
        since_ms,
        until_ms,
        calls: outcomes.values().sum(),
        outcomes,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{hangup, menu, say};

    fn flow() -> Flow {
        Flow::inbound("f")
            .step("main", menu("Press 1").option("1", "bye"))
            .step("bye", say("Bye").then("end"))
            .step("end", hangup())
    }

    #[test]
    fn puts_the_funnel_in_flow_order_with_unreached_steps_as_zero() {
        let visit = |step: &str, next: Option<&str>, ended: Option<CallOutcome>, n| VisitRow {
            step: step.into(),
            next_step: next.map(Into::into),
            ended,
            n,
        };
        let rows = Rows {
            outcomes: vec![
                OutcomeRow {
                    outcome: CallOutcome::Completed,
                    n: 2,
                },
                OutcomeRow {
                    outcome: CallOutcome::CallerHungUp,
                    n: 1,
                },
            ],
            visits: vec![
                visit("main", Some("bye"), None, 2),
                visit("main", None, Some(CallOutcome::CallerHungUp), 1),
                visit("bye", None, Some(CallOutcome::Completed), 2),
                visit("old", Some("main"), None, 1),
            ],
            answers: vec![AnswerRow {
                step: "main".into(),
                result: AnswerResult::NoInput,
                n: 3,
            }],
            keys: vec![KeyRow {
                step: "main".into(),
                digits: "1".into(),
                n: 2,
            }],
            medians: vec![MedianRow {
                step: "main".into(),
                median_ms: 1500.5,
            }],
        };
        let stats = assemble(&flow(), None, Some(10), rows);
        assert_eq!(stats.calls, 3);
        let names: Vec<&str> = stats.steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(names, ["main", "bye", "end", "old"]);
        let main = &stats.steps[0];
        assert_eq!(
            (main.entered, main.completed, main.hung_up, main.no_input),
            (3, 2, 1, 3)
        );
        assert_eq!(main.next.get("bye"), Some(&2));
        assert_eq!(main.keys.as_ref().and_then(|k| k.get("1")), Some(&2));
        assert_eq!(main.median_ms, Some(1501));
        assert_eq!(stats.steps[1].completed, 2);
        assert_eq!(stats.steps[2].entered, 0);
        assert_eq!(
            (stats.steps[3].kind, stats.steps[1].keys.is_none()),
            ("removed", true)
        );
    }

    #[test]
    fn binds_the_menus_of_the_flow() {
        let batch = statements(&flow(), 1, 2, Some("es-US"));
        assert_eq!(batch.len(), 5);
        assert_eq!(batch[3].params[3], SqlValue::Text("es-US".into()));
        assert_eq!(batch[3].params[4], SqlValue::Text(r#"["main"]"#.into()));
        assert!(batch.iter().all(|s| s.sql.starts_with(CALLS)));
    }
}
