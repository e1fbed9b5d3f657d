//! Keeps a route's handler out of its caller's wasm function.
//!
//! Every `async fn` awaited inside another is inlined into the caller's state machine, so the
//! fetch handler used to be one large wasm function holding every route. V8 compiles a wasm
//! function when it is first called (Liftoff, lazily), and compiling that one function was a
//! visible part of the first request of every fresh isolate whatever its route
//! (`node --trace-wasm-compilation-times` shows it). Handed over as a boxed future from a function that is never inlined, a
//! route's state machine is its own function, compiled only when that route is first taken; each
//! box is one allocation (two on an API route: its dispatch and its handler). See BENCHMARKS.md,
//! "Cold start".

use std::future::Future;
use std::pin::Pin;

/// `future`, boxed behind a call the optimiser cannot see through, so that its state machine
/// stays a function of its own.
#[inline(never)]
pub fn apart<'a, T>(future: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(future)
}
