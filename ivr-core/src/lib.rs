//! The pure core of the Telesign IVR worker: everything that decides, nothing that does I/O.
//!
//! Layers, each using only the ones above it:
//! - [`telesign`]: the Telesign Voice wire contract (events, actions, call-state rules,
//!   signatures, the dial request);
//! - [`flow`]: the call-flow language users write in `flows/`, its registry, templates, checker
//!   and diagrams;
//! - [`engine`]: the sans-IO engine stepping one call by one event;
//! - [`api`]: the rules of the worker's own API (request bodies, dial failures, campaigns);
//! - [`pipeline`]: what one webhook event, one outbound call or one campaign message does, over
//!   the storage and HTTP [`pipeline::ports`] the worker shell implements;
//! - [`records`]: the SQL of call records in D1 (statements, filters, the CSV, per-step stats);
//! - [`openapi`]: the HTTP contract, generated from the routes, the bodies and the error codes;
//! - beside them: [`config`] (parsed from a lookup function), [`routes`], [`error`] (stable
//!   codes), [`auth`] and [`tokens`] (who may call), [`log`] (the request log line), [`mask`] (what logs and
//!   records show of numbers and sensitive entries), [`seal`] (how sensitive entries are kept
//!   while a call lives), [`json`] (how all JSON is read).
//!
//! This crate does not depend on the Workers runtime, so the compiler keeps it sans-IO and plain
//! host `cargo test` runs all of it.

// Tests read JSON however is handiest: only the worker's own reads count (clippy.toml).
#![cfg_attr(test, allow(clippy::disallowed_methods))]

#[macro_use]
mod names;

pub mod api;
pub mod auth;
pub mod config;
pub mod engine;
pub mod error;
pub mod flow;
mod hex;
pub mod iso;
pub mod json;
pub mod log;
pub mod mask;

pub mod openapi;
pub mod pipeline;
pub mod records;
pub mod routes;
pub mod seal;
mod sort;

pub mod telesign;
pub mod tokens;
