//! Erasing a caller's data on request (the right to erasure of GDPR and CCPA): one call by its id
//! (`DELETE /calls/<id>`), or every call from or to a number (`DELETE /calls?number=`).
//!
//! An erasure deletes what is kept (the records in D1 with their steps and answers, records in
//! the KV outbox, pending outbound calls, held lookups' outcomes) and leaves a mark, so that a
//! call that was still live (or a record still on its way to D1) is not written afterwards: a
//! record is kept only if no erasure of its call or of its numbers came after the call started.
//! A call still live goes on (the caller is not cut off); when it ends nothing of it is kept. A
//! mark keeps no number: an erased number is marked by an HMAC of it keyed with a key derived from
//! the Telesign API key (a plain hash of a phone number is quickly reversed by trying them all),
//! and marks are deleted with the records, after `CALL_RECORD_RETENTION_DAYS`.

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

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

    /// The mark this erasure leaves, with the stores' `key` (see [`mark_key`]).
    pub fn mark(&self, key: &[u8]) -> String {
        match self {
            Erasure::Call(id) => call_mark(id),
            Erasure::Number(number) => number_mark(&number.e164(), key),
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
        self.covers_call(&record.reference_id, [&record.from, &record.to])
    }

    /// Whether the erasure covers a live or pending call.
    pub fn covers_session(&self, session: &Session) -> bool {
        self.covers_call(&session.reference_id, [&session.from, &session.to])
    }

    fn covers_call(&self, reference_id: &str, numbers: [&Option<String>; 2]) -> bool {
        match self {
            Erasure::Call(id) => reference_id == id,
            Erasure::Number(number) => {
                let number = number.e164();
                numbers
                    .into_iter()
                    .any(|n| n.as_deref() == Some(number.as_str()))
            }
        }
    }
}

/// The marks any of which keeps `record` from being written: its call's, and its numbers'.
pub fn marks_of(record: &CallRecord, key: &[u8]) -> Vec<String> {
    let mut marks = vec![call_mark(&record.reference_id)];
    for number in [&record.from, &record.to].into_iter().flatten() {
        if let Ok(number) = PhoneNumber::parse(number) {
            marks.push(number_mark(&number.e164(), key));
        }
    }
    marks
}

/// The key numbers' marks are made with: derived from `secret` (the Telesign API key, which
/// every deployed worker has), for this purpose only.
pub fn mark_key(secret: &str) -> Vec<u8> {
    keyed(secret.as_bytes(), b"telesign-ivr erasure marks").to_vec()
}

fn call_mark(id: &str) -> String {
    format!("call:{id}")
}

fn number_mark(e164: &str, key: &[u8]) -> String {
    format!("number:{}", crate::hex::hex(&keyed(key, e164.as_bytes())))
}

fn keyed(key: &[u8], message: &[u8]) -> [u8; 32] {
    // An HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
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
        let key = mark_key("secret");
        let mark = e.mark(&key);
        assert!(
            mark.starts_with("number:") && !mark.contains("8675309"),
            "{mark}"
        );
        assert_ne!(mark, e.mark(&mark_key("another secret")), "keyed");
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
        assert_eq!(Erasure::call("ABC").unwrap().mark(&key), "call:ABC");
    }
}
