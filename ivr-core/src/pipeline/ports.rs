//! What the pipeline reads, writes and sends, as traits: the worker implements them over Workers
//! KV, Durable Objects, `fetch` and Cloudflare Queues; [`super::memory`] implements them in
//! memory for the host tests, with faults on demand. Futures are not `Send`: a worker is
//! single-threaded.

use crate::api::campaigns::{
    Campaign, CampaignState, DialMessage, Member, NumberEntry, QueuedNumber,
};
use crate::api::erase::{Erased, Erasure};
use crate::engine::{CallRecord, LookupOutcome, Session};
use crate::error::ApiError;
use crate::flow::{FetchRequest, FetchResponse};

/// Where a live call's session is kept.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Whether the store hands a call's events to the pipeline one at a time (a Durable Object
    /// per call does; KV does not, so an event can still be running when the call ends).
    fn one_event_at_a_time(&self) -> bool {
        false
    }
    /// Whether the store takes one write a second per key, as KV does (a call's Durable Object
    /// has no such limit): a call's session is then written (or deleted) no sooner than
    /// `KV_WRITE_SPACING_MS` ([`crate::config::Config::kv_write_spacing_ms`]) after its last
    /// write, the event's answer waiting the rest.
    fn one_write_a_second_per_key(&self) -> bool {
        false
    }
    async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError>;
    async fn save_session(&self, session: &Session) -> Result<(), ApiError>;
    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError>;
    /// The outcome of a call's held lookup (`index`), once its request has answered. Kept apart
    /// from the session, so that the request finishing never races the call's events for the
    /// session's key.
    async fn lookup(
        &self,
        reference_id: &str,
        index: u32,
    ) -> Result<Option<LookupOutcome>, ApiError>;
    async fn save_lookup(
        &self,
        reference_id: &str,
        outcome: &LookupOutcome,
    ) -> Result<(), ApiError>;
    /// Deletes the outcomes of a call's held lookups kept outside its session (those a session
    /// keeps in itself go with it); answers how many.
    async fn erase_lookups(&self, reference_id: &str) -> Result<u64, ApiError>;
    /// Deletes the outcomes of the held lookups `indexes` of a call that ended (where they are
    /// kept outside its session).
    async fn delete_lookups(&self, reference_id: &str, indexes: &[u32]) -> Result<(), ApiError>;
}

/// What outlives a call (its record), outbound calls waiting for their `reference_id`, and
/// campaigns with the result of each of their numbers.
#[allow(async_fn_in_trait)]
pub trait CallRecords {
    /// The session of an outbound call stored under its `external_id` before its dial was sent
    /// (its `reference_id` is not known yet).
    async fn pending(&self, external_id: &str) -> Result<Option<Session>, ApiError>;
    async fn save_pending(&self, external_id: &str, session: &Session) -> Result<(), ApiError>;
    async fn delete_pending(&self, external_id: &str) -> Result<(), ApiError>;

    async fn record(&self, reference_id: &str) -> Result<Option<CallRecord>, ApiError>;
    /// Whether a record exists: by default, by reading it.
    async fn record_exists(&self, reference_id: &str) -> Result<bool, ApiError> {
        Ok(self.record(reference_id).await?.is_some())
    }
    /// Writes a record, unless its call or one of its numbers was erased after the call
    /// started (see [`crate::api::erase`]).
    async fn save_record(&self, record: &CallRecord, ttl_secs: u64) -> Result<(), ApiError>;
    /// Deletes the records and pending calls `erasure` covers and leaves its mark; answers what
    /// it deleted, with the calls among them that ended since `recent_ms` (their held lookups
    /// may still be kept).
    async fn erase(
        &self,
        erasure: &Erasure,
        now_ms: u64,
        recent_ms: u64,
    ) -> Result<(Erased, Vec<String>), ApiError>;

    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, ApiError>;
    /// Claims a number for its dial at `attempt` ([`crate::records::sql::claim_number`]):
    /// whether this consumer dials it.
    async fn claim_number(
        &self,
        campaign: &str,
        index: u32,
        to: &str,
        attempt: u32,
        now_ms: u64,
    ) -> Result<bool, ApiError>;
    /// Whether a campaign dials.
    async fn campaign_state(&self, campaign: &str) -> Result<CampaignState, ApiError>;
    /// Moves a campaign to `state` (a cancelled one stays cancelled; cancelling fails the
    /// numbers not dialled yet); answers the state it was in and the state it is in.
    async fn set_campaign_state(
        &self,
        campaign: &str,
        state: CampaignState,
        now_ms: u64,
    ) -> Result<(CampaignState, CampaignState), ApiError>;
    /// Gives back a claimed number whose dial is tried again later: `queued` at
    /// `entry.attempts`, waiting for `redial_ms` if set ([`crate::records::sql::release_number`]).
    async fn release_number(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        redial_ms: Option<u64>,
    ) -> Result<(), ApiError>;
    /// The numbers of every campaign whose redial is due at `now_ms`, `limit` at most.
    async fn due_redials(&self, now_ms: u64, limit: u32) -> Result<Vec<QueuedNumber>, ApiError>;
    /// Clears the redial times, due at `now_ms`, of numbers that were queued.
    async fn clear_redials(&self, numbers: &[(String, u32)], now_ms: u64) -> Result<(), ApiError>;
    /// A page of the numbers of a campaign still queued, after the index `after`.
    async fn queued_numbers(
        &self,
        campaign: &str,
        after: Option<u32>,
        limit: u32,
    ) -> Result<Vec<QueuedNumber>, ApiError>;
    /// Writes each number of a campaign that starts as `queued`, with its own vars.
    async fn queue_numbers(
        &self,
        campaign: &str,
        members: &[Member],
        now_ms: u64,
    ) -> Result<(), ApiError>;
    async fn save_campaign(&self, campaign: &Campaign, ttl_secs: u64) -> Result<(), ApiError>;
    async fn number_entry(
        &self,
        campaign: &str,
        index: u32,
    ) -> Result<Option<NumberEntry>, ApiError>;
    async fn save_number_entry(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        ttl_secs: u64,
    ) -> Result<(), ApiError>;
}

/// Why an HTTP request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// No answer within the time allowed; the request was aborted.
    Timeout { after_ms: u64 },
    /// The request could not be sent or its answer not read (DNS, TLS, connection, a bad URL).
    Failed { message: String },
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Timeout { after_ms } => write!(f, "no answer within {after_ms} ms"),
            HttpError::Failed { message } => f.write_str(message),
        }
    }
}

/// Outbound HTTP: flows' `fetch` steps and the dials sent to Telesign.
#[allow(async_fn_in_trait)]
pub trait Http {
    /// Sends `request` and reads the whole answer, giving up after `timeout_ms`.
    async fn send(
        &self,
        request: &FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError>;
}

/// The campaign queue.
#[allow(async_fn_in_trait)]
pub trait DialQueue {
    /// Sends messages to be consumed at once (one batch of the queue's).
    async fn send_batch(&self, messages: &[DialMessage]) -> Result<(), ApiError>;
    /// Sends one message to be consumed after `delay_secs`.
    async fn send_later(&self, message: &DialMessage, delay_secs: u32) -> Result<(), ApiError>;
}

/// The time, to measure what an event has spent (its `fetch` steps' budget) and to pace.
pub trait Clock {
    fn now_ms(&self) -> u64;
}

/// Waiting, for the work done after an answer (retries, settling a call that ended) and the
/// campaign consumer's pacing.
#[allow(async_fn_in_trait)]
pub trait Sleep {
    async fn sleep_ms(&self, ms: u64);
}
