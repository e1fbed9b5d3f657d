//! The worker: the Workers runtime shell around [`ivr_core`], with the call flows of the [`flows`]
//! crate compiled in.
//!
//! The JS entry (`src/js/entry.mjs`) receives everything the runtime sends the worker and runs
//! each as a [`task`], driven synchronously: [`app`] serves HTTP (routes to [`webhook`] and
//! [`api`], and turns errors into answers and log lines), [`queue`] consumes the campaign queue,
//! [`durable`] serves the call-session Durable Object, and [`scheduled`] is the cron's work.
//! Below them: [`sessions`] and [`kv`] (the storage ports over KV and Durable Objects),
//! [`records`] and [`d1`] (call records), [`fetch`] (outbound HTTP), [`io`] (the runtime's I/O
//! as operations that the entry performs), [`http`] (requests and answers), [`env`] (bindings,
//! configuration, the clock, the console), [`apart`] (a route's handler as its own wasm
//! function) and `heap` (the wasm's allocator).

mod apart;
mod api;
mod app;
mod d1;
mod durable;
mod env;
mod fetch;
// The wasm's allocator, which holds on one thread only.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod heap;
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
use wasm_bindgen::prelude::wasm_bindgen;

use env::{console, Env};

/// Reports panics to the console (visible in `wrangler tail`) instead of dying with an opaque
/// "unreachable" trap; installed once per isolate, when the wasm is instantiated.
#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The cron trigger (wrangler.toml, `[triggers]`): queues the campaign numbers whose redial is
/// due ([`ivr_core::pipeline::campaign::queue_redials`]), moves records waiting in KV to D1 and
/// deletes records older than `CALL_RECORD_RETENTION_DAYS` ([`records::maintain`]).
async fn scheduled(env: Env) {
    let config = env::config(&env);
    let kv = match kv::Kv::open(&env) {
        Ok(kv) => kv,
        Err(e) => {
            console::error(&format!("scheduled work: {}", e.message));
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
        Ok(n) => console::log(&format!("campaigns: {n} numbers queued for their redial")),
        Err(e) => console::error(&format!(
            "scheduled redials of campaign numbers: {}",
            e.message
        )),
    }
    let maintained = records::maintain(&records, env::now_ms(), config.record_retention_days).await;
    if let Err(e) = maintained {
        console::error(&format!(
            "scheduled maintenance of call records: {}",
            e.message
        ));
    }
}
