//! What the worker takes from its environment: the names of its bindings (as in wrangler.toml),
//! the configuration and the flows (read once per isolate), the clock, and fresh ids.

use std::sync::OnceLock;

use ivr_core::config::Config;
use ivr_core::flow::Registry;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{Date, Env};

/// The KV namespace of sessions, call records, pending calls and campaigns.
pub const KV_BINDING: &str = "SESSIONS";
/// The Durable Object namespace of call sessions (`SESSION_BACKEND=durable_object`).
pub const CALL_SESSIONS_BINDING: &str = "CALL_SESSIONS";
/// The queue producer of campaign dials.
pub const QUEUE_BINDING: &str = "CAMPAIGN_QUEUE";
/// The Workers Rate Limiting binding of the routes that place calls.
pub const RATE_LIMIT_BINDING: &str = "API_RATE_LIMITER";

/// This isolate's configuration. Vars and secrets are fixed for a deployed version (a new
/// secret or var makes a new version, with new isolates), so they are read from the environment
/// once rather than with a dozen JS calls on every request.
pub fn config(env: &Env) -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string())))
}

/// The flows compiled into the worker, built once per isolate.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(flows::registry)
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    Date::now().as_millis()
}

#[wasm_bindgen]
extern "C" {
    /// `crypto.randomUUID()`: ids that others cannot guess or collide with.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    pub fn random_uuid() -> String;
}
