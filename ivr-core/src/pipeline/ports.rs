//! What handling a call reads and writes, as traits: the event pipeline
//! ([`super::process`]) and the call API are written against these, so the same code runs
//! with sessions in Workers KV or in a Durable Object, and on the host against fakes that inject
//! faults. Futures are not `Send`: a worker is single-threaded.

use crate::api::campaigns::Progress;
use crate::engine::{CallRecord, Session};
use crate::error::ApiError;
use crate::flow::{FetchRequest, FetchResponse};

/// Where a live call's session is kept.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError>;
    async fn save_session(&self, session: &Session) -> Result<(), ApiError>;
    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError>;
}

/// What outlives a call, and outbound calls waiting for their `reference_id` (always in KV: they
/// are listed and read by the call API).
#[allow(async_fn_in_trait)]
pub trait CallRecords {
    /// The session stored under `external_id` before its dial was sent, with `reference_id`
    /// filled in.
    async fn pending(
        &self,
        external_id: &str,
        reference_id: &str,
    ) -> Result<Option<Session>, ApiError>;
    async fn record_exists(&self, reference_id: &str) -> Result<bool, ApiError>;
    async fn save_record(&self, record: &CallRecord, ttl_secs: u64) -> Result<(), ApiError>;
    /// Moves a campaign number's result forward.
    async fn campaign_progress(&self, progress: Progress, ttl_secs: u64) -> Result<(), ApiError>;
}

/// Runs the HTTP requests of flows' `fetch` steps.
#[allow(async_fn_in_trait)]
pub trait Fetcher {
    async fn fetch(&self, request: &FetchRequest, timeout_ms: u64)
        -> Result<FetchResponse, String>;
}
