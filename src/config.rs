//! The worker's configuration: wrangler vars and secrets, read once per request. Parsing is pure
//! (a lookup function in, a `Config` out) so every default and bad value is tested on the host.

/// Settings read from the environment. Secrets are kept here and nowhere else; `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `WEBHOOK_AUTH`: verify Telesign's signature on events (anything but `off`).
    pub webhook_auth: bool,
    /// `TELESIGN_CUSTOMER_ID` (secret).
    pub customer_id: Option<String>,
    /// `TELESIGN_API_KEY` (secret).
    pub api_key: Option<String>,
    /// `CALL_RECORD_RETENTION_DAYS` (default 90): how long call records are kept.
    pub record_retention_days: u64,
    /// `FETCH_TIMEOUT_MS` (default 3000): how long a flow's `fetch` step may wait.
    pub fetch_timeout_ms: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("webhook_auth", &self.webhook_auth)
            .field("customer_id", &self.customer_id.as_ref().map(|_| "<set>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("record_retention_days", &self.record_retention_days)
            .field("fetch_timeout_ms", &self.fetch_timeout_ms)
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
            webhook_auth: !non_empty("WEBHOOK_AUTH").is_some_and(|v| v.eq_ignore_ascii_case("off")),
            customer_id: non_empty("TELESIGN_CUSTOMER_ID"),
            api_key: non_empty("TELESIGN_API_KEY"),
            record_retention_days: number("CALL_RECORD_RETENTION_DAYS", 90, 1..=3650),
            fetch_timeout_ms: number("FETCH_TIMEOUT_MS", 3_000, 100..=20_000),
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
    fn defaults_are_safe() {
        let c = config(&[]);
        assert!(c.webhook_auth);
        assert_eq!(c.customer_id, None);
        assert_eq!(c.record_retention_days, 90);
        assert_eq!(c.record_ttl_secs(), 90 * 86_400);
        assert_eq!(c.fetch_timeout_ms, 3_000);
    }

    #[test]
    fn only_off_disables_the_signature_check() {
        assert!(!config(&[("WEBHOOK_AUTH", "off")]).webhook_auth);
        assert!(!config(&[("WEBHOOK_AUTH", " OFF ")]).webhook_auth);
        assert!(config(&[("WEBHOOK_AUTH", "false")]).webhook_auth);
        assert!(config(&[("WEBHOOK_AUTH", "")]).webhook_auth);
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
        ]);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("c-9f3x"),
            "{shown}"
        );
    }
}
