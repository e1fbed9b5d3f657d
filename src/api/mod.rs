//! The worker's own API for the customer's systems: placing outbound calls (`POST /calls`),
//! campaigns of many calls (`POST /campaigns`, dialled by a queue consumer), and reading call
//! records and campaign progress. Every route needs `Authorization: Bearer <API_TOKEN>`.
//!
//! [`body`], [`calls`] and [`campaigns`] hold every decision (validation, the mapping of
//! Telesign's answers, campaign bookkeeping) and are tested on the host; [`handlers`],
//! [`dialer`] and [`consumer`] are the thin workers-rs shell around them.

pub mod body;
pub mod calls;
pub mod campaigns;
pub mod consumer;
pub mod dialer;
pub mod handlers;

use crate::error::ApiError;

/// An API error and the extra headers its answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: ApiError,
    /// `Retry-After` seconds (a 429 passed on from Telesign).
    pub retry_after_secs: Option<u32>,
    /// Whether to send the `WWW-Authenticate` bearer challenge (every 401).
    pub challenge: bool,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self {
            challenge: error.status == 401,
            error,
            retry_after_secs: None,
        }
    }
}
