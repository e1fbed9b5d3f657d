//! The worker: the Workers runtime shell around [`ivr_core`], with the call flows of the [`flows`]
//! crate compiled in.
//!
//! Entry points are here and in [`task`], the webhook driven synchronously by the JS entry
//! (`src/js/entry.mjs`, which serves `POST /webhook` and hands every other request to this
//! crate's `fetch`); [`app`] serves HTTP (routes to [`webhook`] and [`api`], and turns errors
//! into answers and log lines), [`queue`] consumes the campaign queue, [`durable`] is the
//! call-session Durable Object. Below them: [`sessions`] and [`kv`] (the storage ports over KV
//! and Durable Objects), [`fetch`] (outbound HTTP), [`io`] (the runtime's I/O as operations that
//! JS performs), [`http`] (bodies and answers), [`env`] (bindings, configuration, the clock) and
//! [`apart`] (a route's handler as its own wasm function).

mod apart;
mod api;
mod app;
mod d1;
pub mod durable;
mod env;
mod fetch;
mod http;
mod io;
mod kv;
mod queue;
mod records;
mod sessions;
pub mod task;
mod webhook;

use ivr_core::pipeline::campaign;
use ivr_core::pipeline::ports::Clock;
use worker::{
    event, web_sys, Context, Env, MessageBatch, Response, Result, ScheduleContext, ScheduledEvent,
};

/// Reports panics to the console (visible in `wrangler tail`) instead of dying with an opaque
/// "unreachable" trap. workers-rs 0.8 does not install a hook of its own, so we install
/// `console_error_panic_hook` once per isolate.
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Takes the runtime's own `Request`: `worker::Request` reads `request.cf` when it is built, which
/// showed in a CPU profile under load, and `/webhook` never needs it.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<Response> {
    app::serve(req, env, ctx).await
}

/// The campaign queue consumer (`campaign-dials`, see wrangler.toml).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    queue::consume(batch, env).await
}

/// The cron trigger (wrangler.toml, `[triggers]`): queues the campaign numbers whose redial is
/// due ([`ivr_core::pipeline::campaign::queue_redials`]), moves records waiting in KV to D1 and
/// deletes records older than `CALL_RECORD_RETENTION_DAYS` ([`records::maintain`]).
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let config = env::config(&env);
    let kv = match kv::Kv::open(&env) {
        Ok(kv) => kv,
        Err(e) => {
            worker::console_error!("scheduled work: {}", e.message);
            return;
        }
    };
    let records = records::Records::open(&kv, &env);
    let redials = match queue::WorkerQueue::open(&env) {
        Ok(queue) => {
            let now = env::CampaignClock::of(&env).now_ms();
            campaign::queue_redials(&records, &queue, now).await
        }
        Err(e) => Err(e),
    };
    match redials {
        Ok(0) => {}
        Ok(n) => worker::console_log!("campaigns: {n} numbers queued for their redial"),
        Err(e) => worker::console_error!("scheduled redials of campaign numbers: {}", e.message),
    }
    let maintained = records::maintain(&records, env::now_ms(), config.record_retention_days).await;
    if let Err(e) = maintained {
        worker::console_error!("scheduled maintenance of call records: {}", e.message);
    }
}
