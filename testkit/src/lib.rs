//! Test your call flows on the host, as code: a scripted caller ([`Call`]) that plays Telesign
//! against your flows through the worker's own event pipeline, with in-memory storage, a clock you
//! set and stand-ins for your HTTP services ([`Answer`]); and what `npm run flows:coverage` and
//! `npm run flows:replay` need. Guide: docs/testing-flows.md.

mod call;
pub mod cli;
pub mod coverage;
pub mod docs;
mod project;
pub mod replay;
mod stand_in;

pub use call::{check_reply, Call, Heard, Phone, CALLER, CALLER_ID, START_MS};
/// How a call ended, as `call.record().outcome` says it.
pub use ivr_core::engine::CallOutcome;
pub use stand_in::Answer;
