//! The configuration and secrets a flow's code reads: declared by name in the flow
//! (`.config(["BANK_API_URL"])`, `.secrets(["BANK_API_KEY"])`), their values taken from the
//! worker's environment (wrangler.toml `[vars]`, `wrangler secret put`, `.dev.vars` locally) when
//! the registry is built. Values never reach a session, a record or a log line: code reads them
//! with `ctx.setting(name)` while it runs.

use std::collections::BTreeMap;

use crate::seal::{Sealer, SEAL_KEY};

/// What a flow declares it reads, and the values found for it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Plain configuration (wrangler.toml `[vars]`).
    pub config: Vec<String>,
    /// Secrets (`wrangler secret put NAME`; `.dev.vars` locally).
    pub secrets: Vec<String>,
    values: BTreeMap<String, String>,
    /// The sealer of the seal key's value, derived once when the values are taken rather than
    /// at every event.
    sealer: Option<Sealer>,
}

/// Settings are the same when they declare and hold the same (the sealer follows the values).
impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        (&self.config, &self.secrets, &self.values)
            == (&other.config, &other.secrets, &other.values)
    }
}

impl Eq for Settings {}

impl Settings {
    /// Declares a secret, once.
    pub fn declare_secret(&mut self, name: &str) {
        if !self.secrets.iter().any(|s| s == name) {
            self.secrets.push(name.to_owned());
        }
    }

    /// Every declared name, configuration first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.config.iter().chain(&self.secrets).map(String::as_str)
    }

    /// Takes the value of each declared name that `lookup` knows (a blank one counts as
    /// unknown); the others keep theirs. With `only_missing`, names that have a value keep it.
    pub fn fill(&mut self, lookup: &impl Fn(&str) -> Option<String>, only_missing: bool) {
        let found: Vec<(String, String)> = self
            .names()
            .filter(|name| !(only_missing && self.values.contains_key(*name)))
            .filter_map(|name| {
                let value = lookup(name).filter(|v| usable(name, v))?;
                Some((name.to_owned(), value))
            })
            .collect();
        self.values.extend(found);
        self.sealer = self.values.get(SEAL_KEY).and_then(|key| Sealer::new(key));
    }

    /// The sealer of the seal key (`SESSION_SEAL_KEY`), when it has a usable value.
    pub(crate) fn sealer(&self) -> Option<&Sealer> {
        self.sealer.as_ref()
    }

    /// The declared names without a value.
    pub fn missing(&self) -> Vec<&str> {
        self.names()
            .filter(|name| !self.values.contains_key(*name))
            .collect()
    }

    pub(crate) fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }
}

/// Whether `value` can be the setting `name`'s: not blank, and for the seal key, long enough to
/// be one (a shorter one counts as unset, so the worker says it is misconfigured).
fn usable(name: &str, value: &str) -> bool {
    match name {
        crate::seal::SEAL_KEY => crate::seal::Sealer::new(value).is_some(),
        _ => !value.trim().is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_taken_for_declared_names_only_and_blanks_are_missing() {
        let mut s = Settings {
            config: vec!["URL".into(), "BLANK".into()],
            secrets: vec!["KEY".into()],
            ..Settings::default()
        };
        s.fill(
            &|name| match name {
                "URL" => Some("https://api.example.com".into()),
                "BLANK" => Some("  ".into()),
                "OTHER" => Some("x".into()),
                _ => None,
            },
            false,
        );
        assert_eq!(s.missing(), ["BLANK", "KEY"]);
        assert_eq!(s.values().len(), 1);
        assert_eq!(s.names().collect::<Vec<_>>(), ["URL", "BLANK", "KEY"]);
        s.fill(&|name| Some(format!("default {name}")), true);
        assert_eq!(s.missing(), Vec::<&str>::new());
        assert_eq!(s.values()["URL"], "https://api.example.com");
        assert_eq!(s.values()["KEY"], "default KEY");
    }

    #[test]
    fn a_seal_key_too_short_to_be_one_is_unset() {
        let mut s = Settings::default();
        s.declare_secret(crate::seal::SEAL_KEY);
        s.declare_secret(crate::seal::SEAL_KEY);
        assert_eq!(s.secrets.len(), 1);
        s.fill(&|_| Some("short".into()), false);
        assert_eq!(s.missing(), [crate::seal::SEAL_KEY]);
        s.fill(&|_| Some("x".repeat(crate::seal::SEAL_KEY_MIN_LEN)), false);
        assert!(s.missing().is_empty());
    }
}
