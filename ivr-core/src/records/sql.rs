//! The statements the worker runs against `CALLS_DB`. The tables are created by the files of
//! `migrations/`; a column named here and not there fails the end-to-end tests, which run these
//! statements in Miniflare's D1 (real SQLite).

use serde::Serialize;

use crate::api::campaigns::{CampaignState, Member, NumberEntry, NumberState};
use crate::api::erase::{marks_of, Erasure};
use crate::engine::{CallOutcome, CallRecord};

use super::{CallFilter, SqlValue, Statement};

/// The statement that writes one record: the call's row, replacing what an earlier write of the
/// same call stored (a late event folded into the record rewrites it whole). Its steps and answers
/// are read from the record (the `call_steps` and `call_answers` views of migrations/0006), so
/// they cost D1 no rows of their own. Nothing is written if the call, or one of its numbers, was
/// erased after the call started (see [`crate::api::erase`]).
pub fn write_record(record: &CallRecord, document: &str, mark_key: &[u8]) -> Statement {
    Statement::new(
        "INSERT INTO calls (reference_id, flow, direction, from_number, to_number, external_id, \
         outcome, status, started_ms, ended_ms, duration, record, language) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 \
         WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE mark IN (SELECT value FROM json_each(?14)) \
         AND erased_ms >= coalesce(?9, ?10)) \
         ON CONFLICT (reference_id) DO UPDATE SET flow = excluded.flow, \
         direction = excluded.direction, from_number = excluded.from_number, \
         to_number = excluded.to_number, external_id = excluded.external_id, \
         outcome = excluded.outcome, status = excluded.status, started_ms = excluded.started_ms, \
         ended_ms = excluded.ended_ms, duration = excluded.duration, record = excluded.record, \
         language = excluded.language",
        vec![
            record.reference_id.as_str().into(),
            record.flow.as_deref().into(),
            record.direction.map(|d| d.as_str()).into(),
            record.from.as_deref().into(),
            record.to.as_deref().into(),
            record.external_id.as_deref().into(),
            record.outcome.as_str().into(),
            record.status.as_deref().into(),
            record.started_ms.into(),
            record.ended_ms.into(),
            record.duration.into(),
            document.into(),
            record.language.as_deref().into(),
            json(&marks_of(record, mark_key)).into(),
        ],
    )
}

/// Plain tuples of strings and numbers always encode.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// The record of one call (its `record` column), or no row.
pub fn record(reference_id: &str) -> Statement {
    Statement::new(
        "SELECT record FROM calls WHERE reference_id = ?1",
        vec![reference_id.into()],
    )
}

/// Whether a call has a record (a row if so).
pub fn record_exists(reference_id: &str) -> Statement {
    Statement::new(
        "SELECT 1 AS found FROM calls WHERE reference_id = ?1",
        vec![reference_id.into()],
    )
}

/// The records matching `filter`, newest first, after its cursor: at most `limit` rows (`None`:
/// all of them).
pub fn list(filter: &CallFilter, limit: Option<u32>) -> Statement {
    let mut sql = String::from("SELECT ended_ms, reference_id, record FROM calls WHERE 1 = 1");
    let mut params: Vec<SqlValue> = Vec::new();
    let mut clause = |sql_text: &str, values: Vec<SqlValue>| {
        // Each fragment names its values ?A, ?B: numbered here, in order.
        let mut fragment = sql_text.to_owned();
        for (letter, value) in ["?A", "?B"].iter().zip(values) {
            params.push(value);
            fragment = fragment.replace(letter, &format!("?{}", params.len()));
        }
        sql.push_str(" AND ");
        sql.push_str(&fragment);
    };
    if let Some(flow) = &filter.flow {
        clause("flow = ?A", vec![flow.as_str().into()]);
    }
    if let Some(campaign) = &filter.campaign {
        // The external ids of its calls, `cmp_<id>_<index>`: a range the index on
        // `external_id` serves (`` ` `` sorts right after `_`).
        clause(
            "external_id >= ?A AND external_id < ?B",
            vec![
                format!("cmp_{campaign}_").into(),
                format!("cmp_{campaign}`").into(),
            ],
        );
    }
    if let Some(outcome) = filter.outcome {
        clause("outcome = ?A", vec![outcome.as_str().into()]);
    }
    if let Some(direction) = filter.direction {
        clause("direction = ?A", vec![direction.as_str().into()]);
    }
    if let Some(language) = &filter.language {
        clause("language = ?A", vec![language.as_str().into()]);
    }
    if let Some(number) = &filter.number {
        clause(
            "(from_number = ?A OR to_number = ?B)",
            vec![number.as_str().into(), number.as_str().into()],
        );
    }
    if let Some(since) = filter.since_ms {
        clause("ended_ms >= ?A", vec![since.into()]);
    }
    if let Some(until) = filter.until_ms {
        clause("ended_ms < ?A", vec![until.into()]);
    }
    if let Some(cursor) = &filter.cursor {
        clause(
            "(ended_ms, reference_id) < (?A, ?B)",
            vec![cursor.ended_ms.into(), cursor.reference_id.as_str().into()],
        );
    }
    sql.push_str(" ORDER BY ended_ms DESC, reference_id DESC");
    if let Some(limit) = limit {
        params.push(limit.into());
        sql.push_str(&format!(" LIMIT ?{}", params.len()));
    }
    Statement::new(sql, params)
}

/// Writes a campaign number's result, unless another writer has meanwhile moved it further (a
/// final result is never replaced, and no state goes back): `entry` was computed by
/// [`crate::api::campaigns::advance`] from what was read, and this check makes the write safe
/// when the webhook and a queue consumer update the same number at once.
pub fn save_number(campaign: &str, entry: &NumberEntry) -> Statement {
    Statement::new(
        "INSERT INTO campaign_numbers (campaign_id, idx, to_number, state, rank, attempts, \
         reference_id, outcome, status, updated_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (campaign_id, idx) DO UPDATE SET \
         state = excluded.state, rank = excluded.rank, attempts = excluded.attempts, \
         reference_id = excluded.reference_id, outcome = excluded.outcome, \
         status = excluded.status, updated_ms = excluded.updated_ms \
         WHERE campaign_numbers.rank < ?11 AND excluded.rank >= campaign_numbers.rank",
        vec![
            campaign.into(),
            entry.index.into(),
            entry.to.as_deref().into(),
            entry.state.as_str().into(),
            u32::from(entry.state.rank()).into(),
            entry.attempts.into(),
            entry.reference_id.as_deref().into(),
            entry.outcome.map(CallOutcome::as_str).into(),
            entry.status.as_deref().into(),
            entry.updated_ms.into(),
            u32::from(NumberState::Completed.rank()).into(),
        ],
    )
}

/// A campaign number's result, with the column names of [`NumberEntry`]'s fields.
pub fn number(campaign: &str, index: u32) -> Statement {
    Statement::new(
        "SELECT idx AS \"index\", to_number AS \"to\", state, attempts, reference_id, outcome, \
         status, updated_ms FROM campaign_numbers WHERE campaign_id = ?1 AND idx = ?2",
        vec![campaign.into(), index.into()],
    )
}

/// Numbers `first..` of a campaign, written `queued` (with their own vars) when it starts, so that
/// each has its row from the start; a row already there (a retried start) is kept.
pub fn queue_numbers(campaign: &str, first: u32, members: &[Member], now_ms: u64) -> Statement {
    type Row<'m> = (
        String,
        Option<&'m std::collections::BTreeMap<String, String>>,
        Option<&'m str>,
    );
    let rows: Vec<Row> = members
        .iter()
        .map(|m| {
            let vars = (!m.vars.is_empty()).then_some(&m.vars);
            (m.to.e164(), vars, m.time_zone.as_deref())
        })
        .collect();
    Statement::new(
        "INSERT INTO campaign_numbers (campaign_id, idx, to_number, state, rank, attempts, \
         updated_ms, vars, time_zone) \
         SELECT ?1, ?2 + key, json_extract(value, '$[0]'), 'queued', 0, 0, ?3, \
         json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?4) WHERE true \
         ON CONFLICT (campaign_id, idx) DO NOTHING",
        vec![
            campaign.into(),
            first.into(),
            now_ms.into(),
            json(&rows).into(),
        ],
    )
}

/// How many numbers [`queue_numbers`] writes per statement.
pub const QUEUE_CHUNK: usize = 500;

/// A page of a campaign's numbers after the index `after`, in order, with the answers of each
/// one's call (rows [`crate::api::campaigns::NumberView`]).
pub fn numbers_page(
    campaign: &str,
    state: Option<NumberState>,
    after: Option<u32>,
    limit: u32,
) -> Statement {
    Statement::new(
        "SELECT n.idx AS \"index\", n.to_number AS \"to\", n.state, n.attempts, n.reference_id, \
         n.outcome, n.status, n.updated_ms, n.redial_ms, \
         json_extract(c.record, '$.answers') AS answers \
         FROM campaign_numbers n LEFT JOIN calls c ON c.reference_id = n.reference_id \
         WHERE n.campaign_id = ?1 AND (?2 IS NULL OR n.state = ?2) AND n.idx > ?3 \
         ORDER BY n.idx LIMIT ?4",
        vec![
            campaign.into(),
            state.map(NumberState::as_str).into(),
            SqlValue::Int(after.map_or(-1, i64::from)),
            limit.into(),
        ],
    )
}

/// Claims number `index` of a running campaign for its dial at `attempt`: moves it to `dialing`
/// and counts the attempt, if the number is still queued at it (and not erased) and the campaign
/// is not paused or cancelled. The statement's changes say whether this consumer dials it: a
/// redelivered or repeated message, a resume, or a second consumer finds it claimed, and neither
/// a resume nor a cancel touches it while its dial is in flight. (A row missing, from a campaign
/// started before rows were written at its start, is written claimed.)
pub fn claim_number(campaign: &str, index: u32, to: &str, attempt: u32, now_ms: u64) -> Statement {
    Statement::new(
        "INSERT INTO campaign_numbers (campaign_id, idx, to_number, state, rank, attempts, \
         updated_ms) \
         SELECT ?1, ?2, ?3, 'dialing', 1, ?4 + 1, ?5 \
         WHERE NOT EXISTS (SELECT 1 FROM campaign_control WHERE campaign_id = ?1 \
         AND state <> 'running') \
         ON CONFLICT (campaign_id, idx) DO UPDATE SET state = 'dialing', rank = 1, \
         attempts = excluded.attempts, updated_ms = excluded.updated_ms, redial_ms = NULL \
         WHERE campaign_numbers.state = 'queued' AND campaign_numbers.attempts = ?4 \
         AND campaign_numbers.to_number IS NOT NULL",
        vec![
            campaign.into(),
            index.into(),
            to.into(),
            attempt.into(),
            now_ms.into(),
        ],
    )
}

/// Gives back a number claimed for attempt `attempts - 1` whose dial is to be tried again:
/// `queued` at `attempts`, with why. After a dial error (a 429, a 5xx, a timeout) its retry
/// message is on the queue; after a call not answered it waits for `redial_ms`, when the cron
/// queues it ([`due_redials`]).
pub fn release_number(campaign: &str, entry: &NumberEntry, redial_ms: Option<u64>) -> Statement {
    Statement::new(
        "UPDATE campaign_numbers SET state = 'queued', rank = 0, outcome = ?4, status = ?5, \
         updated_ms = ?6, redial_ms = ?7 WHERE campaign_id = ?1 AND idx = ?2 \
         AND state = 'dialing' AND attempts = ?3",
        vec![
            campaign.into(),
            entry.index.into(),
            entry.attempts.into(),
            entry.outcome.map(CallOutcome::as_str).into(),
            entry.status.as_deref().into(),
            entry.updated_ms.into(),
            redial_ms.into(),
        ],
    )
}

/// The numbers, of every campaign, whose redial is due at `now_ms`: the oldest first, `limit` at
/// most (rows [`crate::api::campaigns::QueuedNumber`]).
pub fn due_redials(now_ms: u64, limit: u32) -> Statement {
    Statement::new(
        "SELECT campaign_id AS campaign, idx AS \"index\", to_number AS \"to\", vars, \
         time_zone, attempts FROM campaign_numbers WHERE redial_ms <= ?1 AND state = 'queued' \
         AND to_number IS NOT NULL ORDER BY redial_ms LIMIT ?2",
        vec![now_ms.into(), limit.into()],
    )
}

/// Clears the redial times due at `now_ms` of `numbers` (campaign, index), once queued.
pub fn clear_redials(numbers: &[(String, u32)], now_ms: u64) -> Statement {
    Statement::new(
        "UPDATE campaign_numbers SET redial_ms = NULL WHERE redial_ms <= ?2 AND (campaign_id, idx) \
         IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))",
        vec![json(&numbers).into(), now_ms.into()],
    )
}

/// A campaign's state (a row `state`; none: running).
pub fn control_state(campaign: &str) -> Statement {
    Statement::new(
        "SELECT state FROM campaign_control WHERE campaign_id = ?1",
        vec![campaign.into()],
    )
}

/// Reads a campaign's state, sets it (a cancelled one stays cancelled), for a cancel fails the
/// numbers not dialled yet as `cancelled`, then reads the state it is in: one transaction, so the
/// state before is the one this change moved from.
pub fn set_control(campaign: &str, state: CampaignState, now_ms: u64) -> Vec<Statement> {
    let mut statements =
        vec![control_state(campaign), Statement::new(
        "INSERT INTO campaign_control (campaign_id, state, changed_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (campaign_id) DO UPDATE SET state = excluded.state, \
         changed_ms = excluded.changed_ms WHERE campaign_control.state <> 'cancelled'",
        vec![campaign.into(), state.as_str().into(), now_ms.into()],
    )];
    if state == CampaignState::Cancelled {
        statements.push(Statement::new(
            "UPDATE campaign_numbers SET state = 'failed', rank = 3, outcome = 'cancelled', \
             updated_ms = ?2, redial_ms = NULL WHERE campaign_id = ?1 AND state = 'queued'",
            vec![campaign.into(), now_ms.into()],
        ));
    }
    statements.push(control_state(campaign));
    statements
}

/// A page of the numbers of a campaign still queued, after the index `after` (rows
/// [`crate::api::campaigns::QueuedNumber`]): not those waiting for a redial, which the cron
/// queues when it is due.
pub fn queued_numbers(campaign: &str, after: Option<u32>, limit: u32) -> Statement {
    Statement::new(
        "SELECT campaign_id AS campaign, idx AS \"index\", to_number AS \"to\", vars, \
         time_zone, attempts FROM campaign_numbers \
         WHERE campaign_id = ?1 AND state = 'queued' AND to_number IS NOT NULL AND idx > ?2 \
         AND redial_ms IS NULL ORDER BY idx LIMIT ?3",
        vec![
            campaign.into(),
            SqlValue::Int(after.map_or(-1, i64::from)),
            limit.into(),
        ],
    )
}

/// How many of a campaign's numbers are in each state (rows `state`, `n`).
pub fn number_states(campaign: &str) -> Statement {
    Statement::new(
        "SELECT state, count(*) AS n FROM campaign_numbers WHERE campaign_id = ?1 GROUP BY state",
        vec![campaign.into()],
    )
}

/// Deletes at most `batch` of the oldest calls that ended before `before_ms`, and campaign numbers
/// not updated since.
pub fn retention(before_ms: u64, batch: u32) -> Vec<Statement> {
    let params = || vec![before_ms.into(), batch.into()];
    vec![
        Statement::new(
            "DELETE FROM calls WHERE reference_id IN (SELECT reference_id FROM calls \
             WHERE ended_ms < ?1 ORDER BY ended_ms LIMIT ?2)",
            params(),
        ),
        Statement::new(
            "DELETE FROM campaign_numbers WHERE rowid IN (SELECT rowid FROM campaign_numbers \
             WHERE updated_ms < ?1 LIMIT ?2)",
            params(),
        ),
        Statement::new(
            "DELETE FROM erasures WHERE mark IN (SELECT mark FROM erasures WHERE erased_ms < ?1 \
             LIMIT ?2)",
            params(),
        ),
    ]
}

/// The statements of an erasure, run as one batch: its mark, then the records it covers, and (for
/// a number) the number in campaigns' results. The changes of
/// the statement at [`ERASED_CALLS`] are the records deleted.
pub fn erase(erasure: &Erasure, now_ms: u64, mark_key: &[u8]) -> Vec<Statement> {
    let mark = Statement::new(
        "INSERT INTO erasures (mark, erased_ms) VALUES (?1, ?2) \
         ON CONFLICT (mark) DO UPDATE SET erased_ms = excluded.erased_ms",
        vec![erasure.mark(mark_key).into(), now_ms.into()],
    );
    let (calls, key): (&str, SqlValue) = match erasure {
        Erasure::Call(id) => ("reference_id = ?1", id.as_str().into()),
        Erasure::Number(_) => (
            "from_number = ?1 OR to_number = ?1",
            erasure.number().as_deref().into(),
        ),
    };
    let mut statements = vec![
        mark,
        Statement::new(
            format!("DELETE FROM calls WHERE {calls}"),
            vec![key.clone()],
        ),
    ];
    if let Erasure::Number(_) = erasure {
        // Campaign numbers not dialled yet are not dialled at all; the others lose the number.
        statements.push(Statement::new(
            "UPDATE campaign_numbers SET state = 'failed', rank = 3, outcome = 'erased', \
             updated_ms = ?2, redial_ms = NULL WHERE to_number = ?1 AND state = 'queued'",
            vec![key.clone(), now_ms.into()],
        ));
        statements.push(Statement::new(
            "UPDATE campaign_numbers SET to_number = NULL, vars = NULL, time_zone = NULL \
             WHERE to_number = ?1",
            vec![key],
        ));
    }
    statements
}

/// Where in [`erase`]'s batch the records are deleted.
pub const ERASED_CALLS: usize = 1;

/// The calls an erasure of a number covers that ended since `since_ms` (whose held lookups may
/// still be kept), before it deletes them.
pub fn recent_calls_of(number: &str, since_ms: u64) -> Statement {
    Statement::new(
        "SELECT reference_id FROM calls WHERE (from_number = ?1 OR to_number = ?1) \
         AND ended_ms >= ?2",
        vec![number.into(), since_ms.into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::filter::{Cursor, Use};

    #[test]
    fn every_filter_is_a_bound_parameter() {
        let hostile = "x' OR '1'='1";
        let filter = CallFilter {
            flow: Some(hostile.into()),
            number: Some("+15551234567".into()),
            since_ms: Some(1),
            cursor: Some(Cursor {
                ended_ms: 9,
                reference_id: "r".into(),
            }),
            ..CallFilter::parse(Use::List, []).unwrap()
        };
        let s = list(&filter, Some(21));
        assert!(!s.sql.contains(hostile));
        assert_eq!(
            s.sql,
            "SELECT ended_ms, reference_id, record FROM calls WHERE 1 = 1 AND flow = ?1 \
             AND (from_number = ?2 OR to_number = ?3) AND ended_ms >= ?4 \
             AND (ended_ms, reference_id) < (?5, ?6) ORDER BY ended_ms DESC, reference_id DESC \
             LIMIT ?7"
        );
        assert_eq!(s.params.len(), 7);
        assert_eq!(s.params[0], SqlValue::Text(hostile.into()));
    }
}
