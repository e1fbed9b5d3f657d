//! `GET /calls.csv`: one row per call (RFC 4180: comma-separated, fields quoted when they hold a
//! comma, quote or line break, CRLF line ends), its entries and variables flattened into one
//! field each. Spreadsheet-safe: a field that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return would be read by Excel, LibreOffice or Google Sheets as a formula, so it is prefixed
//! with `'` (OWASP's advice for CSV injection); phone numbers read `'+15551234567`.

use chrono::{DateTime, Datelike, Timelike};

use crate::engine::{Answer, CallRecord};

/// The header row.
pub const HEADER: &str = "reference_id,flow,direction,from,to,external_id,outcome,status,\
                          started_at,ended_at,duration_s,steps,answers,vars\r\n";

/// One call's row, CRLF included.
pub fn row(record: &CallRecord) -> String {
    let vars: Vec<String> = record
        .vars
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let fields = [
        record.reference_id.clone(),
        record.flow.clone().unwrap_or_default(),
        record
            .direction
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default(),
        record.from.clone().unwrap_or_default(),
        record.to.clone().unwrap_or_default(),
        record.external_id.clone().unwrap_or_default(),
        record.outcome.as_str().to_owned(),
        record.status.clone().unwrap_or_default(),
        record.started_ms.map(iso).unwrap_or_default(),
        iso(record.ended_ms),
        record.duration.map(|d| d.to_string()).unwrap_or_default(),
        record.visits.steps().join(" > "),
        answers_text(&record.answers),
        vars.join("; "),
    ];
    line(&fields)
}

/// A row of `fields`, each written as [`field_text`] says, CRLF included.
pub fn line(fields: &[String]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&field_text(field));
    }
    line.push_str("\r\n");
    line
}

/// A call's entries in one field: `step=digits (result)`, `;`-separated (a sensitive entry's
/// digits are its mask).
pub fn answers_text(answers: &[Answer]) -> String {
    let answers: Vec<String> = answers
        .iter()
        .map(|a| format!("{}={} ({})", a.step, a.digits, a.result))
        .collect();
    answers.join("; ")
}

/// A field as written: made inert for spreadsheets, then quoted if it needs to be.
fn field_text(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// UTC, to the second: `2026-12-07T15:00:00Z`.
pub fn iso(ms: u64) -> String {
    let Some(at) = i64::try_from(ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
    else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_spreadsheets_would_run_are_inert_and_quoting_follows_rfc_4180() {
        assert_eq!(
            field_text("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(field_text("+15551234567"), "'+15551234567");
        assert_eq!(field_text("-1"), "'-1");
        assert_eq!(field_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field_text("a,b"), "\"a,b\"");
        assert_eq!(field_text("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field_text("plain"), "plain");
    }

    #[test]
    fn a_row_flattens_the_call() {
        let record: CallRecord = serde_json::from_value(serde_json::json!({
            "reference_id": "r1", "flow": "bank_menu", "direction": "inbound",
            "from": "+15551230000", "to": "+15554441313", "external_id": null,
            "created_on_utc": null, "answered_on_utc": null, "ended_on_utc": null,
            "duration": 42, "audio_recording_file_name": null, "vars": {"choice": "cards"},
            "answers": [{"step": "main", "digits": "1", "result": "accepted", "at_ms": 1}],
            "visited": ["main", "cards"], "outcome": "completed", "status": "hangup",
            "started_ms": 1_796_655_600_000u64, "ended_ms": 1_796_655_642_000u64
        }))
        .unwrap();
        assert_eq!(
            row(&record),
            "r1,bank_menu,inbound,'+15551230000,'+15554441313,,completed,hangup,\
             2026-12-07T15:00:00Z,2026-12-07T15:00:42Z,42,main > cards,main=1 (accepted),\
             choice=cards\r\n"
        );
        assert_eq!(
            HEADER.matches(',').count(),
            row(&record).matches(',').count()
        );
    }
}
