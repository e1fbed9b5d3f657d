//! `GET /campaigns/<id>/numbers` and `GET /campaigns/<id>/numbers.csv`: each number of a campaign,
//! in order, with its state, attempts, outcome, call and the answers its callee gave (a sensitive
//! entry's as its mask, as everywhere).

use serde::{Deserialize, Serialize};

use crate::engine::{Answer, CallOutcome};
use crate::error::{ApiError, ErrorCode};
use crate::records::csv;

use super::NumberState;

/// Numbers per page unless `limit` says otherwise.
pub const DEFAULT_NUMBERS_LIMIT: u32 = 100;
/// The largest `limit`, and the page the CSV export reads at a time.
pub const MAX_NUMBERS_LIMIT: u32 = 1_000;

/// The query of `GET /campaigns/<id>/numbers` (`state`, `limit`, `cursor`); the CSV takes
/// `state` only and is not paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumbersQuery {
    pub state: Option<NumberState>,
    /// The last index of the page before.
    pub after: Option<u32>,
    pub limit: u32,
}

impl NumbersQuery {
    pub fn parse(pairs: &[(String, String)], paged: bool) -> Result<Self, ApiError> {
        let invalid = |why: String| ApiError::new(ErrorCode::InvalidQuery, why);
        let allowed: &[&str] = if paged {
            &["state", "limit", "cursor"]
        } else {
            &["state"]
        };
        let mut query = NumbersQuery {
            state: None,
            after: None,
            limit: if paged {
                DEFAULT_NUMBERS_LIMIT
            } else {
                MAX_NUMBERS_LIMIT
            },
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            let name = name.as_str();
            if !allowed.contains(&name) {
                return Err(invalid(format!(
                    "unknown parameter `{name}`; allowed: {}",
                    allowed.join(", ")
                )));
            }
            if seen.contains(&name) {
                return Err(invalid(format!("`{name}` is given twice")));
            }
            seen.push(name);
            if value.is_empty() {
                continue;
            }
            match name {
                "state" => {
                    query.state = Some(NumberState::parse(value).ok_or_else(|| {
                        invalid(format!(
                            "`state` {value:?} is not one of queued, dialing, answered, \
                             completed, failed"
                        ))
                    })?);
                }
                "limit" => {
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_NUMBERS_LIMIT).contains(n))
                        .ok_or_else(|| {
                            invalid(format!("`limit` must be 1 to {MAX_NUMBERS_LIMIT}"))
                        })?;
                }
                _ => {
                    query.after =
                        Some(value.parse().map_err(|_| {
                            invalid("`cursor` is not one this API gave".to_owned())
                        })?);
                }
            }
        }
        Ok(query)
    }
}

/// One number as the API answers it: a row of [`crate::records::sql::numbers_page`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberView {
    pub index: u32,
    pub to: Option<String>,
    pub state: NumberState,
    pub attempts: u32,
    pub reference_id: Option<String>,
    pub outcome: Option<CallOutcome>,
    pub status: Option<String>,
    pub updated_ms: u64,
    /// When a number whose call was not answered is dialled again, while it waits for that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_ms: Option<u64>,
    /// What the callee entered, as the call's record keeps it (read from the record's JSON; none
    /// when the number has no call, or its record cannot be read).
    #[serde(deserialize_with = "answers_json")]
    pub answers: Vec<Answer>,
}

fn answers_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Answer>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text
        .as_deref()
        .and_then(|t| crate::json::read(t.as_bytes()).ok())
        .unwrap_or_default())
}

/// The CSV's header row.
pub const CSV_HEADER: &str =
    "index,to,state,attempts,reference_id,outcome,status,updated_at,answers\r\n";

/// One number's CSV row (spreadsheet-safe, as `GET /calls.csv`'s).
pub fn csv_row(number: &NumberView) -> String {
    csv::line(&[
        number.index.to_string(),
        number.to.clone().unwrap_or_default(),
        number.state.as_str().to_owned(),
        number.attempts.to_string(),
        number.reference_id.clone().unwrap_or_default(),
        number
            .outcome
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default(),
        number.status.clone().unwrap_or_default(),
        csv::iso(number.updated_ms),
        csv::answers_text(&number.answers),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn the_query_is_read_and_a_bad_one_named() {
        let q = NumbersQuery::parse(&pairs(&[("state", "failed"), ("limit", "5")]), true).unwrap();
        assert_eq!(
            (q.state, q.limit, q.after),
            (Some(NumberState::Failed), 5, None)
        );
        let q = NumbersQuery::parse(&pairs(&[("cursor", "24")]), true).unwrap();
        assert_eq!(q.after, Some(24));
        for (bad, paged) in [
            (vec![("state", "lost")], true),
            (vec![("limit", "0")], true),
            (vec![("limit", "1001")], true),
            (vec![("cursor", "x")], true),
            (vec![("state", "failed"), ("state", "queued")], true),
            (vec![("limit", "5")], false),
            (vec![("flow", "x")], true),
        ] {
            let e = NumbersQuery::parse(&pairs(&bad), paged).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidQuery, "{bad:?}");
        }
    }

    #[test]
    fn a_row_shows_the_answers_of_its_call_and_the_csv_is_spreadsheet_safe() {
        let row = serde_json::json!({
            "index": 3, "to": "+15555550003", "state": "completed", "attempts": 1,
            "reference_id": "R3", "outcome": "completed", "status": "hangup",
            "updated_ms": 1_796_655_600_000_u64,
            "answers": r#"[{"step":"confirm","digits":"1","result":"accepted","at_ms":1}]"#,
        });
        let view: NumberView = serde_json::from_value(row).unwrap();
        let without: NumberView = serde_json::from_value(serde_json::json!({
            "index": 4, "to": null, "state": "queued", "attempts": 0, "reference_id": null,
            "outcome": null, "status": null, "updated_ms": 1, "answers": null,
        }))
        .unwrap();
        assert!(without.answers.is_empty());
        assert_eq!(view.answers.len(), 1);
        assert_eq!(
            csv_row(&view),
            "3,'+15555550003,completed,1,R3,completed,hangup,2026-12-07T15:00:00Z,\
             confirm=1 (accepted)\r\n"
        );
    }
}
