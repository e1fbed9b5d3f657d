//! Erasing a caller's data on request (the right to erasure of GDPR and CCPA): one call by its id
//! (`DELETE /calls/<id>`), or every call from or to a number (`DELETE /calls?number=`).
//!
//! An erasure deletes what is kept (the records in D1 with their steps and answers, records in
//! the KV outbox, pending outbound calls, held lookups' outcomes) and leaves a mark, so that a
//! call that was still live (or a record still on its way to D1) is not written afterwards: a
//! record is kept only if no erasure of its call or of its numbers came after the call started.
//! A call still live goes on (the caller is not cut off); when it ends nothing of it is kept. A
//! mark keeps no number: an erased number is marked by its SHA-256, and marks are deleted with
//! the records, after `CALL_RECORD_RETENTION_DAYS`.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::{CallRecord, Session};
use crate::error::{ApiError, ErrorCode};
use crate::telesign::PhoneNumber;

use super::calls::valid_call_id;

/// What to erase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// One call, by its `reference_id` (or the `external_id` of a dial that started none).
    Call(String),
    /// Every call from or to a number.
    Number(PhoneNumber),
}

impl Erasure {
    /// `DELETE /calls/<id>`.
    pub fn call(id: &str) -> Result<Self, ApiError> {
        match valid_call_id(id) {
            true => Ok(Erasure::Call(id.to_owned())),
            false => Err(ApiError::new(
                ErrorCode::CallNotFound,
                "no call has this id: ids are 1 to 128 letters, digits, `-`, `_` and `.`",
            )),
        }
    }

    /// `DELETE /calls?number=`: the query names one number, and nothing else.
    pub fn of_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let invalid = |why: &str| ApiError::new(ErrorCode::InvalidQuery, why.to_owned());
        let [(name, value)] = pairs else {
            return Err(invalid(
                "erase calls with exactly one query parameter, `number` (E.164, `+` written %2B)",
            ));
        };
        if name != "number" {
            return Err(invalid("the only query parameter is `number`"));
        }
        // A `+` written unencoded arrives as a space (form decoding).
        let plus = value.strip_prefix(' ').map(|digits| format!("+{digits}"));
        let value = plus.as_deref().unwrap_or(value);
        match PhoneNumber::parse(value) {
            Ok(number) if !value.contains(char::is_whitespace) => Ok(Erasure::Number(number)),
            _ => Err(invalid(
                "`number` must be a phone number of 7 to 15 digits (E.164, `+` written %2B)",
            )),
        }
    }

    /// The mark this erasure leaves.
    pub fn mark(&self) -> String {
        match self {
            Erasure::Call(id) => call_mark(id),
            Erasure::Number(number) => number_mark(&number.e164()),
        }
    }

    /// The number, as records keep it (E.164), when the erasure is of a number.
    pub fn number(&self) -> Option<String> {
        match self {
            Erasure::Call(_) => None,
            Erasure::Number(number) => Some(number.e164()),
        }
    }

    /// Whether the erasure covers this record.
    pub fn covers(&self, record: &CallRecord) -> bool {
        marks_of(record).contains(&self.mark())
    }

    /// Whether the erasure covers a live or pending call.
    pub fn covers_session(&self, session: &Session) -> bool {
        match self {
            Erasure::Call(id) => session.reference_id == *id,
            Erasure::Number(number) => {
                let number = number.e164();
                [&session.from, &session.to]
                    .into_iter()
                    .any(|n| n.as_deref() == Some(number.as_str()))
            }
        }
    }
}

/// The marks any of which keeps `record` from being written: its call's, and its numbers'.
pub fn marks_of(record: &CallRecord) -> Vec<String> {
    let mut marks = vec![call_mark(&record.reference_id)];
    for number in [&record.from, &record.to].into_iter().flatten() {
        if let Ok(number) = PhoneNumber::parse(number) {
            marks.push(number_mark(&number.e164()));
        }
    }
    marks
}

fn call_mark(id: &str) -> String {
    format!("call:{id}")
}

fn number_mark(e164: &str) -> String {
    format!(
        "number:{}",
        crate::hex::hex(&Sha256::digest(e164.as_bytes()))
    )
}

/// What an erasure deleted: call records (in D1), records waiting in the KV outbox or written
/// by versions before D1, pending outbound calls, and held lookups' outcomes. An erasure
/// repeated deletes nothing more.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub records: u64,
    pub outbox: u64,
    pub pending: u64,
    pub lookups: u64,
    /// Whether the call is live (`DELETE /calls/<id>`): it goes on, and nothing of it is kept
    /// when it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<bool>,
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
    fn a_number_erasure_names_one_number_and_its_mark_hides_it() {
        let e = Erasure::of_query(&pairs(&[("number", " 15558675309")])).unwrap();
        assert_eq!(e.number().as_deref(), Some("+15558675309"));
        let mark = e.mark();
        assert!(
            mark.starts_with("number:") && !mark.contains("8675309"),
            "{mark}"
        );
        assert_eq!(
            Erasure::of_query(&pairs(&[("number", "+15558675309")])).unwrap(),
            e
        );
        for bad in [
            vec![],
            vec![("number", "12ab")],
            vec![("number", "")],
            vec![("flow", "bank")],
            vec![("number", "+15558675309"), ("number", "+15558675300")],
        ] {
            let err = Erasure::of_query(&pairs(&bad)).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidQuery, "{bad:?}");
        }
        assert!(Erasure::call("../x").is_err());
        assert_eq!(Erasure::call("ABC").unwrap().mark(), "call:ABC");
    }
}
