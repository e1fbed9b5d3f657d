//! The storage layout in Workers KV: the name of every stored value and how long it lives. KV holds all of them; a call's Durable Object
//! (`SESSION_BACKEND=durable_object`) keeps only its session, under [`OBJECT_SESSION_KEY`].
//!
//! Keys: `session:<reference_id>` while a call lasts, `call:<reference_id>` for the record of a
//! finished call that D1 could not take (records live in D1, see [`crate::records`]) or that a
//! version before D1 wrote, `pending:<external_id>` for an outbound call whose
//! dial is under way, `campaign:<id>` for a campaign (its numbers' results are in D1), and
//! `lookup:<reference_id>:<n>` for the outcome of a held `fetch` step's request, while the call
//! lasts.

/// The storage key of the session inside its call's Durable Object.
pub const OBJECT_SESSION_KEY: &str = "session";

/// Telesign ends every call after four hours; sessions live five.
pub const SESSION_TTL_SECS: u64 = 5 * 3600;

pub fn session_key(reference_id: &str) -> String {
    format!("session:{reference_id}")
}

/// The outcome of a call's held lookup `index` (a `fetch` step with a hold), in KV; inside a
/// call's Durable Object, [`object_lookup_key`].
pub fn lookup_key(reference_id: &str, index: u32) -> String {
    format!("lookup:{reference_id}:{index}")
}

/// The prefix of the outcomes of a call's held lookups, in KV.
pub fn lookup_prefix(reference_id: &str) -> String {
    format!("lookup:{reference_id}:")
}

/// The outcome of the object's call's held lookup `index`, in the object's storage.
pub fn object_lookup_key(index: u32) -> String {
    format!("lookup:{index}")
}

pub fn record_key(reference_id: &str) -> String {
    format!("call:{reference_id}")
}

/// The prefix of call records kept in KV: records D1 could not take when their call ended (the
/// outbox), and records of versions before D1. The scheduled handler moves both to D1. One
/// prefix for both, so that finding a record outside D1 is one KV read.
pub const RECORD_PREFIX: &str = "call:";

/// A pending outbound call is only a fallback for the few seconds between the dial and the write
/// of its session, so it expires soon (KV's minimum TTL is 60 s).
pub const PENDING_TTL_SECS: u64 = 15 * 60;

/// The prefix of pending outbound calls.
pub const PENDING_PREFIX: &str = "pending:";

pub fn pending_key(external_id: &str) -> String {
    format!("{PENDING_PREFIX}{external_id}")
}

pub fn campaign_key(id: &str) -> String {
    format!("campaign:{id}")
}
