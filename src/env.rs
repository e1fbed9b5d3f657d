//! What the worker reads from its environment once per isolate: the configuration and the flows.

use std::sync::OnceLock;

use ivr_core::config::Config;
use ivr_core::flow::Registry;

/// This isolate's configuration. Vars and secrets are fixed for a deployed version (a new
/// secret or var makes a new version, with new isolates), so they are read from the environment
/// once rather than with a dozen JS calls on every request.
pub fn config(env: &worker::Env) -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string())))
}

/// The flows compiled into the worker, built once per isolate.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(flows::registry)
}
