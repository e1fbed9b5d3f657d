//! The rules of the worker's own API for the customer's systems: placing outbound calls
//! (`POST /calls`), campaigns of many calls (`POST /campaigns`, dialled by a queue consumer), and
//! reading call records and campaign progress. Every decision (validation, the mapping of
//! Telesign's answers, campaign bookkeeping) is here and tested on the host; the worker's
//! handlers only move data between these functions, the stores and the response.

pub mod body;
pub mod calls;
pub mod campaigns;

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
