//! What the worker does with one webhook event, written against [`ports`] (storage and HTTP) so
//! that it runs the same with sessions in KV or in a Durable Object, and on the host against
//! in-memory fakes that fail on purpose.

pub mod event;
pub mod keys;
pub mod ports;

pub use event::process;
