//! The worker's side of the call API: the handlers of `/calls` and `/campaigns`, the dialer and
//! the campaign queue consumer. Every decision is in [`ivr_core::api`].

pub mod consumer;
pub mod dialer;
pub mod handlers;
