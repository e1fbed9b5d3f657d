//! What the worker does with one webhook event, one outbound call, one new campaign and one
//! campaign queue message, written against [`ports`] (storage, HTTP, the queue, a clock) so that
//! it runs the same with sessions in KV or in a Durable Object, and on the host against the
//! in-memory ports of [`memory`], which fail on purpose.

pub mod campaign;
pub mod dialer;
pub mod event;
pub mod keys;
pub mod memory;
pub mod ports;

use crate::config::Config;
use crate::error::ApiError;
use crate::flow::Registry;
use ports::{CallRecords, Clock, SessionStore};

use crate::api::campaigns::{self, NumberEntry};

/// What every part of the pipeline works with: the stores, outbound HTTP, the clock, the
/// compiled flows and the configuration.
pub struct Pipeline<'a, S, R, H> {
    pub sessions: &'a S,
    pub records: &'a R,
    pub http: &'a H,
    /// Real time, to keep an event's `fetch` steps within `EVENT_BUDGET_MS` (the event's own
    /// time, which tests may set, is passed with it).
    pub clock: &'a dyn Clock,
    pub registry: &'a Registry,
    pub config: &'a Config,
}

impl<S: SessionStore, R: CallRecords, H> Pipeline<'_, S, R, H> {
    /// Applies `update` to a campaign number's result if it moves it forward (see
    /// [`campaigns::advance`]); an update that would move it back is dropped.
    pub async fn advance_number(
        &self,
        campaign: &str,
        update: NumberEntry,
    ) -> Result<(), ApiError> {
        let existing = self.records.number_entry(campaign, update.index).await?;
        self.advance_from(campaign, existing.as_ref(), update).await
    }

    /// [`Pipeline::advance_number`] from the row as read already.
    pub async fn advance_from(
        &self,
        campaign: &str,
        existing: Option<&NumberEntry>,
        update: NumberEntry,
    ) -> Result<(), ApiError> {
        match campaigns::advance(existing, update) {
            Some(entry) => {
                let ttl = self.config.record_ttl_secs();
                self.records.save_number_entry(campaign, &entry, ttl).await
            }
            None => Ok(()),
        }
    }
}
