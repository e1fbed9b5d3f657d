//! What the worker takes from its environment: the names of its bindings (as in wrangler.toml),
//! the configuration and the flows (read once per isolate), the clock, and fresh ids.

use std::cell::RefCell;
use std::sync::OnceLock;

use ivr_core::config::Config;
use ivr_core::flow::Registry;
use ivr_core::pipeline::ports::{Clock, Sleep};
use ivr_core::pipeline::Pipeline;
use js_sys::Reflect;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use ivr_core::error::{ApiError, ErrorCode};

use crate::fetch::WorkerHttp;
use crate::io::{perform, Op};

/// The worker's environment as the runtime hands it over: its bindings, vars and secrets.
#[derive(Clone)]
pub struct Env(JsValue);

impl Env {
    pub fn new(env: JsValue) -> Self {
        Env(env)
    }

    /// The binding, var or secret `name`, if set.
    pub fn get(&self, name: &str) -> Option<JsValue> {
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()
            .filter(|value| !value.is_undefined() && !value.is_null())
    }

    /// The var or secret `name`, if set.
    pub fn var(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|value| value.as_string())
    }

    /// Whether the binding `name` is there. Looked up once per isolate: like its vars, a
    /// deployed version's bindings are fixed (a change makes a new version, with new isolates),
    /// and the lookup is several calls into JS that every event made again.
    pub fn has(&self, name: &'static str) -> bool {
        thread_local! {
            static BOUND: RefCell<Vec<(&'static str, bool)>> = const { RefCell::new(Vec::new()) };
        }
        let seen = BOUND.with_borrow(|bound| {
            bound
                .iter()
                .find(|(seen, _)| *seen == name)
                .map(|&(_, there)| there)
        });
        seen.unwrap_or_else(|| {
            let there = self.get(name).is_some();
            BOUND.with_borrow_mut(|bound| bound.push((name, there)));
            there
        })
    }

    /// `Ok` when the binding `name` is there, else `what` needs it.
    pub fn require(&self, name: &'static str, what: &str) -> Result<(), ApiError> {
        if self.has(name) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::StoreNotConfigured,
                format!("{what} needs the {name} binding, which is missing"),
            ))
        }
    }
}

/// The KV namespace of sessions, call records, pending calls and campaigns.
pub const KV_BINDING: &str = "SESSIONS";
/// The Durable Object namespace of call sessions (`SESSION_BACKEND=durable_object`).
pub const CALL_SESSIONS_BINDING: &str = "CALL_SESSIONS";
/// The queue producer of campaign dials.
pub const QUEUE_BINDING: &str = "CAMPAIGN_QUEUE";
/// The Workers Rate Limiting binding of the routes that place calls.
pub const RATE_LIMIT_BINDING: &str = "API_RATE_LIMITER";
/// The D1 database of call records and campaign results.
pub const CALLS_DB_BINDING: &str = "CALLS_DB";

/// What this isolate reads from its environment once: the configuration, and the flows with the
/// settings they declare. Vars and secrets are fixed for a deployed version (a new secret or var
/// makes a new version, with new isolates), so they are read once rather than with a dozen JS
/// calls on every request.
pub struct Setup {
    pub config: Config,
    pub registry: Registry,
}

impl Setup {
    /// The core's pipeline over `sessions` and `records`, with the runtime's `fetch` and clock:
    /// what every handler runs.
    pub fn pipeline<'a, S, R>(
        &'a self,
        sessions: &'a S,
        records: &'a R,
    ) -> Pipeline<'a, S, R, WorkerHttp> {
        Pipeline {
            sessions,
            records,
            http: &WorkerHttp,
            clock: &WorkerClock,
            registry: &self.registry,
            config: &self.config,
        }
    }
}

pub fn setup(env: &Env) -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let lookup = |name: &str| env.var(name);
        // Yours (`flows/`), or the project's test flows (`tests/flows/`) in the build the
        // end-to-end tests run.
        #[cfg(feature = "test-flows")]
        let flows = test_flows::registry();
        #[cfg(not(feature = "test-flows"))]
        let flows = flows::registry();
        Setup {
            config: Config::from_lookup(lookup),
            registry: flows.with_settings(lookup),
        }
    })
}

/// This isolate's configuration.
pub fn config(env: &Env) -> &'static Config {
    &setup(env).config
}

/// The flows compiled into the worker, with the values of the settings they declare.
pub fn registry(env: &Env) -> &'static Registry {
    &setup(env).registry
}

/// Milliseconds since the epoch: `Date.now()`.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The runtime's clock. Workers advance `Date.now()` only at I/O (a timing side channel
/// defence), which is what the budget of a call's `fetch` steps and the pacing of dials need:
/// the time spent waiting.
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

impl Sleep for WorkerClock {
    async fn sleep_ms(&self, ms: u64) {
        // A timer cannot fail; if the runtime refused one, going on at once is the best left.
        let _ = perform(Op::Sleep { ms }).await;
    }
}

/// The clock campaigns are scheduled on: the runtime's, or under `DEV_CLOCK` the shifted one, so
/// that a campaign's start, window and end can be tried locally at any time of day.
pub struct CampaignClock(Option<u64>);

impl CampaignClock {
    pub fn of(env: &Env) -> Self {
        CampaignClock(config(env).dev_clock_ms)
    }
}

impl Clock for CampaignClock {
    fn now_ms(&self) -> u64 {
        self.0.map_or_else(now_ms, dev_clock)
    }
}

impl Sleep for CampaignClock {
    async fn sleep_ms(&self, ms: u64) {
        WorkerClock.sleep_ms(ms).await;
    }
}

/// A service binding that lets an event set the engine's clock with [`TEST_CLOCK_HEADER`], so
/// that end-to-end tests can play minutes of a call (prompt timeouts, opening hours) in
/// milliseconds. wrangler.toml declares no such binding, and only a service binding counts (a
/// var of that name does not): production cannot turn it on by accident.
pub const TEST_CLOCK_BINDING: &str = "TEST_CLOCK";
/// The header carrying the test clock's time (milliseconds since the epoch).
pub const TEST_CLOCK_HEADER: &str = "x-test-clock-ms";

/// The time an event (or an erasure) is handled at: the test clock's (`test_clock`, the request's
/// [`TEST_CLOCK_HEADER`]), where the binding allows it, else now.
/// Whether the binding is there is looked up once per isolate, like the configuration.
pub fn event_time(env: &Env, test_clock: Option<&str>) -> u64 {
    if let Some(start) = config(env).dev_clock_ms {
        return dev_clock(start);
    }
    static TEST_CLOCK: OnceLock<bool> = OnceLock::new();
    let is_service = *TEST_CLOCK.get_or_init(|| {
        env.get(TEST_CLOCK_BINDING)
            .and_then(|b| Reflect::get(&b, &JsValue::from_str("fetch")).ok())
            .is_some_and(|f| f.is_function())
    });
    let set = test_clock
        .filter(|_| is_service)
        .and_then(|v| v.trim().parse::<u64>().ok());
    set.unwrap_or_else(now_ms)
}

/// `DEV_CLOCK` (`npm run dev -- --clock`): the clock reads `start` at this isolate's first event
/// and runs on from there.
fn dev_clock(start: u64) -> u64 {
    static FIRST_EVENT_MS: OnceLock<u64> = OnceLock::new();
    let now = now_ms();
    let first = *FIRST_EVENT_MS.get_or_init(|| now);
    start + now.saturating_sub(first)
}

#[wasm_bindgen]
extern "C" {
    /// `crypto.randomUUID()`: ids that others cannot guess or collide with.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    pub fn random_uuid() -> String;
}

/// The console, where the runtime's logs (`wrangler tail`, Workers Logs) read from.
pub mod console {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        pub fn log(line: &str);
        #[wasm_bindgen(js_namespace = console)]
        pub fn warn(line: &str);
        #[wasm_bindgen(js_namespace = console)]
        pub fn error(line: &str);
    }
}
