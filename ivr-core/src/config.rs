//! The worker's configuration: wrangler vars and secrets. Parsing is pure (a lookup function in,
//! a `Config` out) so every default and bad value is tested on the host; the worker reads its
//! environment once per isolate through it.

use crate::telesign::signature::{SignatureError, SigningKey};
use crate::tokens::ApiTokens;

/// Settings read from the environment. Secrets are kept here and nowhere else; `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `WEBHOOK_AUTH`: how events prove they come from Telesign.
    pub webhook_auth: WebhookAuth,
    /// `WEBHOOK_USER` and `WEBHOOK_PASSWORD` (secrets): the Basic credentials of the event URL
    /// when `WEBHOOK_AUTH=basic`.
    pub webhook_user: Option<String>,
    pub webhook_password: Option<String>,
    /// `EVENT_BUDGET_MS` (default 4000): what all the `fetch` steps of one event may take
    /// together.
    pub event_budget_ms: u64,
    /// `KV_WRITE_SPACING_MS` (default 1100): the least time between two writes of a call's
    /// session in KV, which takes one write a second per key (Cloudflare's KV limits). The tenth
    /// of a second over it allows for the clocks of two machines and the writes' transit: an
    /// assumption, not a figure Cloudflare gives. 0 turns the spacing off, for load tests that
    /// send a call's events back to back, faster than Telesign does.
    pub kv_write_spacing_ms: u64,
    /// `TELESIGN_CUSTOMER_ID` (secret).
    pub customer_id: Option<String>,
    /// `TELESIGN_API_KEY` (secret).
    pub api_key: Option<ApiKey>,
    /// `CALL_RECORD_RETENTION_DAYS` (default 90): how long call records are kept.
    pub record_retention_days: u64,
    /// `FETCH_TIMEOUT_MS` (default 3000): how long a flow's `fetch` step may wait.
    pub fetch_timeout_ms: u64,
    /// `HELD_FETCH_TIMEOUT_MS` (default 15000): how long the request of a `fetch` step with a
    /// hold may take. It runs after the answer while the caller hears the hold, so the event's
    /// budget does not bound it; `waitUntil` work may run for some 30 s after the response (our
    /// reading of Cloudflare's documentation), hence at most 25000.
    pub held_fetch_timeout_ms: u64,
    /// `API_TOKENS` and `API_TOKEN` (secrets): the bearer tokens of the call API, with their
    /// names and scopes (see [`crate::tokens`]).
    pub api_tokens: ApiTokens,
    /// `CALLER_ID`: the number outbound calls show when a request names none.
    pub caller_id: Option<String>,
    /// `TELESIGN_API_URL`: where dials are sent (default Telesign's worldwide `/v2/voice`).
    pub telesign_api_url: Option<String>,
    /// `DIAL_TIMEOUT_MS` (default 10000): how long a dial request to Telesign may take.
    pub dial_timeout_ms: u64,
    /// `CAMPAIGN_DIALS_PER_SECOND` (default 5): the pace of one campaign consumer invocation.
    pub campaign_dials_per_second: u64,
    /// `CAMPAIGN_MAX_ATTEMPTS` (default 5): dials tried per number when Telesign answers 429/5xx.
    pub campaign_max_attempts: u32,
    /// `CAMPAIGN_RETRY_BASE_SECS` (default 30): the first retry delay, doubled on each attempt.
    pub campaign_retry_base_secs: u64,
    /// `SESSION_BACKEND` (default `kv`): where live sessions are kept.
    pub session_backend: SessionBackend,
    /// `DEV_CLOCK` (RFC 3339): for local development only (`npm run dev -- --clock`), the
    /// moment the worker's clock starts at; it runs on from there. Never set in wrangler.toml.
    pub dev_clock_ms: Option<u64>,
}

/// The Telesign API key: its text (dials send it, erasure marks derive their key from it) and
/// the key events are verified with, decoded and keyed once per isolate rather than per event.
#[derive(Clone)]
pub struct ApiKey {
    text: String,
    signing: Result<SigningKey, SignatureError>,
}

impl ApiKey {
    pub fn new(text: String) -> Self {
        let signing = SigningKey::new(&text);
        ApiKey { text, signing }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key events are verified with, or why the text is not one.
    pub fn signing(&self) -> Result<&SigningKey, SignatureError> {
        self.signing.as_ref().map_err(|e| *e)
    }
}

/// Keys are the same when their texts are: the keyed form follows from the text.
impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ApiKey {}

/// How `/webhook` checks that an event comes from Telesign (`WEBHOOK_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAuth {
    /// Telesign's `TSA` signature over the body (the default, and what any value but `basic`
    /// and `off` means).
    Signature,
    /// HTTP Basic credentials on the event URL (`WEBHOOK_USER`, `WEBHOOK_PASSWORD`), for
    /// accounts whose event URL is set up with them (Telesign's webhook page offers Basic and
    /// Digest on the customer's URL).
    Basic,
    /// No check: local experiments only; every request logs a warning.
    Off,
}

/// Where live sessions are kept (see docs/sessions.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionBackend {
    /// Workers KV (the default): eventually consistent, one write per second per key.
    Kv,
    /// One Durable Object per call: strongly consistent, the call's events handled in turn.
    DurableObject,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("webhook_auth", &self.webhook_auth)
            .field("webhook_user", &self.webhook_user.as_ref().map(|_| "<set>"))
            .field(
                "webhook_password",
                &self.webhook_password.as_ref().map(|_| "<set>"),
            )
            .field("event_budget_ms", &self.event_budget_ms)
            .field("kv_write_spacing_ms", &self.kv_write_spacing_ms)
            .field("customer_id", &self.customer_id.as_ref().map(|_| "<set>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("record_retention_days", &self.record_retention_days)
            .field("fetch_timeout_ms", &self.fetch_timeout_ms)
            .field("held_fetch_timeout_ms", &self.held_fetch_timeout_ms)
            .field("api_tokens", &self.api_tokens)
            .field("caller_id", &self.caller_id.as_ref().map(|_| "<set>"))
            .field("telesign_api_url", &self.telesign_api_url)
            .field("dial_timeout_ms", &self.dial_timeout_ms)
            .field("campaign_dials_per_second", &self.campaign_dials_per_second)
            .field("campaign_max_attempts", &self.campaign_max_attempts)
            .field("campaign_retry_base_secs", &self.campaign_retry_base_secs)
            .field("session_backend", &self.session_backend)
            .field("dev_clock_ms", &self.dev_clock_ms)
            .finish()
    }
}

impl Config {
    /// Builds the configuration from a lookup of vars and secrets by name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| {
            non_empty(name)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| range.contains(v))
                .unwrap_or(default)
        };
        Self {
            webhook_auth: match non_empty("WEBHOOK_AUTH") {
                Some(v) if v.eq_ignore_ascii_case("off") => WebhookAuth::Off,
                Some(v) if v.eq_ignore_ascii_case("basic") => WebhookAuth::Basic,
                _ => WebhookAuth::Signature,
            },
            webhook_user: non_empty("WEBHOOK_USER"),
            webhook_password: non_empty("WEBHOOK_PASSWORD"),
            event_budget_ms: number("EVENT_BUDGET_MS", 4_000, 100..=25_000),
            kv_write_spacing_ms: number("KV_WRITE_SPACING_MS", 1_100, 0..=5_000),
            customer_id: non_empty("TELESIGN_CUSTOMER_ID"),
            api_key: non_empty("TELESIGN_API_KEY").map(ApiKey::new),
            record_retention_days: number("CALL_RECORD_RETENTION_DAYS", 90, 1..=3650),
            fetch_timeout_ms: number("FETCH_TIMEOUT_MS", 3_000, 100..=20_000),
            held_fetch_timeout_ms: number("HELD_FETCH_TIMEOUT_MS", 15_000, 100..=25_000),
            api_tokens: ApiTokens::parse(
                non_empty("API_TOKENS").as_deref(),
                non_empty("API_TOKEN").as_deref(),
            ),
            caller_id: non_empty("CALLER_ID"),
            telesign_api_url: non_empty("TELESIGN_API_URL"),
            dial_timeout_ms: number("DIAL_TIMEOUT_MS", 10_000, 100..=30_000),
            campaign_dials_per_second: number("CAMPAIGN_DIALS_PER_SECOND", 5, 1..=1_000),
            // The range bounds it, so the conversion cannot fail.
            campaign_max_attempts: u32::try_from(number("CAMPAIGN_MAX_ATTEMPTS", 5, 1..=20))
                .unwrap_or(5),
            campaign_retry_base_secs: number("CAMPAIGN_RETRY_BASE_SECS", 30, 1..=3_600),
            session_backend: match non_empty("SESSION_BACKEND") {
                Some(v) if v.eq_ignore_ascii_case("durable_object") => {
                    SessionBackend::DurableObject
                }
                _ => SessionBackend::Kv,
            },
            dev_clock_ms: non_empty("DEV_CLOCK")
                .and_then(|v| crate::iso::iso_ms(&v))
                .and_then(|ms| u64::try_from(ms).ok()),
        }
    }

    /// Seconds call records are kept in KV.
    pub fn record_ttl_secs(&self) -> u64 {
        self.record_retention_days * 24 * 3600
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_dev_clock_is_an_rfc_3339_moment_or_nothing() {
        assert_eq!(config(&[]).dev_clock_ms, None);
        let c = config(&[("DEV_CLOCK", "2026-12-25T10:00:00-05:00")]);
        assert_eq!(c.dev_clock_ms, Some(1_798_210_800_000));
        assert_eq!(config(&[("DEV_CLOCK", "tomorrow")]).dev_clock_ms, None);
    }

    #[test]
    fn the_api_key_is_kept_as_text_and_keyed_once() {
        use crate::telesign::signature::{self, SignatureError};
        let key = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";
        let c = config(&[("TELESIGN_API_KEY", &format!(" {key}\n"))]);
        let api_key = c.api_key.as_ref().expect("set");
        assert_eq!(api_key.as_str(), key);
        let body = br#"{"event":"incoming_call"}"#;
        let presented = signature::sign(key, body).expect("a base64 key");
        let keyed = api_key.signing().expect("a base64 key");
        assert_eq!(
            signature::verify_keyed(None, Some(&presented), body, "customer", keyed),
            Ok(())
        );
        let bad = config(&[("TELESIGN_API_KEY", "=")]);
        assert_eq!(
            bad.api_key.as_ref().map(|k| k.signing().err()),
            Some(Some(SignatureError::InvalidKey))
        );
    }

    #[test]
    fn the_session_backend_is_kv_unless_durable_object_is_named() {
        assert_eq!(config(&[]).session_backend, SessionBackend::Kv);
        let d = config(&[("SESSION_BACKEND", "Durable_Object")]);
        assert_eq!(d.session_backend, SessionBackend::DurableObject);
        let other = config(&[("SESSION_BACKEND", "redis")]);
        assert_eq!(other.session_backend, SessionBackend::Kv);
    }

    #[test]
    fn defaults_are_safe() {
        let c = config(&[]);
        assert_eq!(c.webhook_auth, WebhookAuth::Signature);
        assert_eq!(c.event_budget_ms, 4_000);
        assert_eq!(c.kv_write_spacing_ms, 1_100);
        assert_eq!(c.customer_id, None);
        assert_eq!(c.record_retention_days, 90);
        assert_eq!(c.record_ttl_secs(), 90 * 86_400);
        assert_eq!(c.fetch_timeout_ms, 3_000);
        assert_eq!(c.api_tokens, ApiTokens(Ok(vec![])));
        assert_eq!(c.caller_id, None);
        assert_eq!(c.telesign_api_url, None);
        assert_eq!(c.dial_timeout_ms, 10_000);
        assert_eq!(c.campaign_dials_per_second, 5);
        assert_eq!(c.campaign_max_attempts, 5);
        assert_eq!(c.campaign_retry_base_secs, 30);
    }

    #[test]
    fn the_kv_write_spacing_can_be_turned_off_but_not_set_past_its_bound() {
        assert_eq!(
            config(&[("KV_WRITE_SPACING_MS", "0")]).kv_write_spacing_ms,
            0
        );
        assert_eq!(
            config(&[("KV_WRITE_SPACING_MS", "1500")]).kv_write_spacing_ms,
            1_500
        );
        assert_eq!(
            config(&[("KV_WRITE_SPACING_MS", "60000")]).kv_write_spacing_ms,
            1_100
        );
    }

    #[test]
    fn call_api_settings_are_read_and_bounded() {
        let c = config(&[
            ("API_TOKEN", " t0k "),
            ("CALLER_ID", "+15554441313"),
            ("TELESIGN_API_URL", "http://127.0.0.1:8788/v2/voice"),
            ("DIAL_TIMEOUT_MS", "250"),
            ("CAMPAIGN_DIALS_PER_SECOND", "50"),
            ("CAMPAIGN_MAX_ATTEMPTS", "2"),
            ("CAMPAIGN_RETRY_BASE_SECS", "1"),
        ]);
        let tokens = c
            .api_tokens
            .0
            .as_ref()
            .map(|t| (t[0].name.as_str(), t[0].secret.as_str()));
        assert_eq!(tokens, Ok(("default", "t0k")));
        assert_eq!(c.caller_id.as_deref(), Some("+15554441313"));
        assert_eq!(
            c.telesign_api_url.as_deref(),
            Some("http://127.0.0.1:8788/v2/voice")
        );
        assert_eq!(c.dial_timeout_ms, 250);
        assert_eq!(c.campaign_dials_per_second, 50);
        assert_eq!(c.campaign_max_attempts, 2);
        assert_eq!(c.campaign_retry_base_secs, 1);
        let c = config(&[
            ("DIAL_TIMEOUT_MS", "99"),
            ("CAMPAIGN_DIALS_PER_SECOND", "0"),
            ("CAMPAIGN_MAX_ATTEMPTS", "21"),
            ("CAMPAIGN_RETRY_BASE_SECS", "0"),
        ]);
        assert_eq!(
            (
                c.dial_timeout_ms,
                c.campaign_dials_per_second,
                c.campaign_max_attempts,
                c.campaign_retry_base_secs
            ),
            (10_000, 5, 5, 30)
        );
    }

    #[test]
    fn only_off_disables_the_signature_check() {
        let auth = |v: &str| config(&[("WEBHOOK_AUTH", v)]).webhook_auth;
        assert_eq!(auth("off"), WebhookAuth::Off);
        assert_eq!(auth(" OFF "), WebhookAuth::Off);
        assert_eq!(auth("Basic"), WebhookAuth::Basic);
        for signature in ["false", "", "on", "signature", "digest"] {
            assert_eq!(auth(signature), WebhookAuth::Signature, "{signature:?}");
        }
    }

    #[test]
    fn bad_numbers_fall_back_to_defaults() {
        let c = config(&[
            ("CALL_RECORD_RETENTION_DAYS", "0"),
            ("FETCH_TIMEOUT_MS", "abc"),
        ]);
        assert_eq!((c.record_retention_days, c.fetch_timeout_ms), (90, 3_000));
        let c = config(&[("CALL_RECORD_RETENTION_DAYS", "7")]);
        assert_eq!(c.record_retention_days, 7);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = config(&[
            ("TELESIGN_API_KEY", "s3cr3t"),
            ("TELESIGN_CUSTOMER_ID", "c-9f3x"),
            ("API_TOKEN", "b3ar3r"),
            ("CALLER_ID", "+15554441313"),
            ("WEBHOOK_PASSWORD", "pa55w0rd"),
        ]);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t")
                && !shown.contains("c-9f3x")
                && !shown.contains("b3ar3r")
                && !shown.contains("4441313")
                && !shown.contains("pa55w0rd"),
            "{shown}"
        );
    }
}
