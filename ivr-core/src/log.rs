//! One structured JSON log line per request, easy to read in `wrangler tail` and to filter in
//! Logpush. Phone numbers are masked as [`crate::mask`] says; secrets and caller entries are never
//! fields here.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
pub use crate::mask::mask_number;

/// What one request did. Filled in as the request is handled, written once at the end. A
/// Durable Object that handled the call's event sends its part back (see [`RequestLog::absorb`]).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestLog {
    #[serde(skip_deserializing)]
    pub level: &'static str,
    pub method: String,
    pub path: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Cow<'static, str>>,
    /// The caller, masked (`+*******1234`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<Cow<'static, str>>,
    /// The name of the API token the request was made with (never the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The D1 rows the request read and wrote until its answer, what D1 bills.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d1: Option<D1Rows>,
    /// How long the call's session write waited for the store's spacing of writes to one key
    /// (an event less than that after the call's last write).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_wait_ms: Option<u64>,
    pub latency_ms: u64,
}

/// Rows of D1, as its queries' results count them (`meta.rows_read`, `meta.rows_written`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct D1Rows {
    pub rows_read: u64,
    pub rows_written: u64,
}

impl std::ops::Add for D1Rows {
    type Output = D1Rows;
    fn add(self, other: D1Rows) -> D1Rows {
        D1Rows {
            rows_read: self.rows_read + other.rows_read,
            rows_written: self.rows_written + other.rows_written,
        }
    }
}

impl RequestLog {
    /// Takes over what another handler of this request found out about the call.
    pub fn absorb(&mut self, other: RequestLog) {
        let RequestLog {
            code,
            message,
            flow,
            step,
            action,
            note,
            from,
            warning,
            d1,
            ..
        } = other;
        self.code = code.or(self.code.take());
        self.message = message.or(self.message.take());
        self.flow = flow;
        self.step = step;
        self.action = action;
        self.note = note;
        self.from = from;
        self.warning = warning.or(self.warning.take());
        self.d1 = match (self.d1, d1) {
            (Some(mine), Some(theirs)) => Some(mine + theirs),
            (mine, theirs) => mine.or(theirs),
        };
    }

    /// Notes the error a request is answered with: its code and message.
    pub fn error(&mut self, e: &ApiError) {
        self.code = Some(e.code);
        self.message = Some(e.message.clone());
    }

    /// The line, with its level chosen from the status.
    pub fn line(&mut self) -> String {
        self.level = match self.status {
            500.. => "error",
            400..=499 => "warn",
            _ if self.warning.is_some() => "warn",
            _ => "info",
        };
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_d1_rows_of_an_object_add_to_the_workers() {
        let rows = |rows_read, rows_written| D1Rows {
            rows_read,
            rows_written,
        };
        let mut log = RequestLog {
            d1: Some(rows(1, 0)),
            ..Default::default()
        };
        log.absorb(RequestLog {
            d1: Some(rows(2, 17)),
            ..Default::default()
        });
        assert_eq!(log.d1, Some(rows(3, 17)));
        log.absorb(RequestLog::default());
        assert_eq!(log.d1, Some(rows(3, 17)));
    }

    #[test]
    fn level_follows_status_and_warnings() {
        let mut log = RequestLog {
            status: 200,
            ..Default::default()
        };
        assert!(log.line().contains(r#""level":"info""#));
        log.warning = Some("signature check is off".into());
        assert!(log.line().contains(r#""level":"warn""#));
        log.status = 503;
        assert!(log.line().contains(r#""level":"error""#));
    }
}
