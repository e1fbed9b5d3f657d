//! Telesign Voice call flows (IVRs) on Cloudflare Workers.
//!
//! Layout: [`telesign`] is the wire contract and [`flow`] / [`engine`] the call-flow language and
//! its sans-IO engine (all pure, tested on the host); [`routes`] and [`error`] describe the HTTP
//! surface; [`http`] is the thin workers-rs shell; [`api`] is the call API of the customer's
//! systems (`/calls`, `/campaigns` and the campaign queue consumer); `flows/` holds the call
//! flows users write.

pub mod api;
pub mod durable;
pub mod env;
pub mod http;
pub mod store;
pub mod webhook;

use worker::{event, web_sys, Context, Env, MessageBatch, Response, Result};

/// Reports panics to the console (visible in `wrangler tail`) instead of dying with an opaque
/// "unreachable" trap. workers-rs 0.8 does not install a hook of its own, so we install
/// `console_error_panic_hook` once per isolate.
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Takes the runtime's own `Request`: `worker::Request` reads `request.cf` when it is built, which
/// a CPU profile under load showed at about 5% of the worker's time, and `/webhook` never needs it.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<Response> {
    http::app(req, env).await
}

/// The campaign queue consumer (`campaign-dials`, see wrangler.toml).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    api::consumer::consume(batch, env).await
}
