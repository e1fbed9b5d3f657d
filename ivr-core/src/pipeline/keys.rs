//! The storage layout: the name of every stored value, how long it lives, and the metadata a
//! listing reads instead of the values. Workers KV holds all of them; a call's Durable Object
//! (`SESSION_BACKEND=durable_object`) keeps only its session, under [`OBJECT_SESSION_KEY`].
//!
//! Keys: `session:<reference_id>` while a call lasts, `call:<reference_id>` for the record of a
//! finished call (with [`RecordMeta`]), `pending:<external_id>` for an outbound call whose dial is
//! under way, `campaign:<id>` for a campaign and `campaign:<id>:n:<index>` for the result of each
//! of its numbers (with [`NumberMeta`]).

use serde::{Deserialize, Serialize};

use crate::api::campaigns::NumberState;
use crate::engine::{CallOutcome, CallRecord};

/// The storage key of the session inside its call's Durable Object.
pub const OBJECT_SESSION_KEY: &str = "session";

/// Telesign ends every call after four hours; sessions live five.
pub const SESSION_TTL_SECS: u64 = 5 * 3600;

pub fn session_key(reference_id: &str) -> String {
    format!("session:{reference_id}")
}

pub fn record_key(reference_id: &str) -> String {
    format!("call:{reference_id}")
}

/// The prefix every call record key starts with.
pub const RECORD_PREFIX: &str = "call:";

/// A pending outbound call is only a fallback for the few seconds between the dial and the write
/// of its session, so it expires soon (KV's minimum TTL is 60 s).
pub const PENDING_TTL_SECS: u64 = 15 * 60;

pub fn pending_key(external_id: &str) -> String {
    format!("pending:{external_id}")
}

pub fn campaign_key(id: &str) -> String {
    format!("campaign:{id}")
}

/// The prefix of the result keys of one campaign's numbers.
pub fn campaign_numbers_prefix(id: &str) -> String {
    format!("campaign:{id}:n:")
}

/// Zero-padded so that a listing returns numbers in campaign order.
pub fn campaign_number_key(id: &str, index: u32) -> String {
    format!("{}{index:06}", campaign_numbers_prefix(id))
}

/// What a call record's key carries as KV metadata (at most 1024 bytes): enough to filter and
/// summarise a listing without reading the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMeta {
    pub flow: Option<String>,
    pub outcome: CallOutcome,
    pub ended_ms: u64,
}

impl From<&CallRecord> for RecordMeta {
    fn from(record: &CallRecord) -> Self {
        Self {
            flow: record.flow.clone(),
            outcome: record.outcome,
            ended_ms: record.ended_ms,
        }
    }
}

/// What a campaign number's key carries as KV metadata, so counting needs only listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberMeta {
    pub state: NumberState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_number_keys_sort_in_campaign_order() {
        let keys: Vec<String> = [0, 9, 10, 999_999]
            .into_iter()
            .map(|i| campaign_number_key("c1", i))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys[1], "campaign:c1:n:000009");
        assert!(keys[0].starts_with(&campaign_numbers_prefix("c1")));
        assert!(!campaign_number_key("c10", 1).starts_with(&campaign_numbers_prefix("c1")));
    }

    #[test]
    fn record_metadata_fits_kv_limit_for_long_flow_names() {
        let meta = RecordMeta {
            flow: Some("f".repeat(200)),
            outcome: CallOutcome::CallerHungUp,
            ended_ms: u64::MAX,
        };
        assert!(serde_json::to_string(&meta).unwrap().len() < 1024);
    }
}
