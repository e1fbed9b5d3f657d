//! The rules of the worker's own API for the customer's systems: placing outbound calls
//! (`POST /calls`), campaigns of many calls (`POST /campaigns`, dialled by a queue consumer), and
//! reading call records and campaign progress. Every decision (validation, the mapping of
//! Telesign's answers, campaign bookkeeping) is here and tested on the host; the worker's
//! handlers only move data between these functions, the stores and the response.

pub mod body;
pub mod calls;
pub mod campaigns;
pub mod erase;
