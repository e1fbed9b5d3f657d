//! The call API's bearer tokens: several at once, so one can be rotated (the new one added
//! before the old one is removed), each with a name (what the logs show, never the token) and
//! the scopes it grants.
//!
//! `API_TOKENS` (a secret) holds entries `name:scopes:token`, separated by commas or new lines;
//! scopes are `read`, `dial` and `admin` joined by `+` (`read+dial`), or `all`. `API_TOKEN`, the single
//! token of earlier versions, keeps working as the token named `default` with every scope.

use std::fmt;

named_enum! {
    /// What a token may do.
    pub enum Scope {
        /// Read call records, live calls and campaign progress.
        Read = "read",
        /// Place calls and start campaigns.
        Dial = "dial",
        /// Maintain stored records (`POST /records/migrate`), erase callers' data.
        Admin = "admin",
        /// Pause, resume and cancel campaigns.
        Control = "control",
    }
}

/// One configured token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Shown in log lines and error messages.
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The secret itself: compared, never shown.
    pub secret: String,
}

impl ApiToken {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("secret", &"<set>")
            .finish()
    }
}

/// The configured tokens, or why they cannot be used (a malformed entry makes the whole call
/// API answer `500 not_configured`, naming the entry by position, so a typo never silently
/// drops a token or grants a scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokens(pub Result<Vec<ApiToken>, String>);

impl ApiTokens {
    /// Reads `API_TOKENS` and `API_TOKEN` (either, both, or none).
    pub fn parse(api_tokens: Option<&str>, api_token: Option<&str>) -> ApiTokens {
        let mut tokens = Vec::new();
        if let Some(secret) = api_token.map(str::trim).filter(|t| !t.is_empty()) {
            tokens.push(ApiToken {
                name: "default".to_owned(),
                scopes: Scope::ALL.to_vec(),
                secret: secret.to_owned(),
            });
        }
        let entries = api_tokens
            .unwrap_or_default()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            match entry_of(entry) {
                Some(token) if tokens.iter().any(|t| t.name == token.name) => {
                    return ApiTokens(Err(format!(
                        "API_TOKENS entry {} repeats the token name `{}`",
                        i + 1,
                        token.name
                    )))
                }
                Some(token) => tokens.push(token),
                None => {
                    return ApiTokens(Err(format!(
                        "API_TOKENS entry {} is not `name:scopes:token` (scopes `read`, `dial`, \
                         `read+dial` or `all`; a name of letters, digits, `_` and `-`)",
                        i + 1
                    )))
                }
            }
        }
        ApiTokens(Ok(tokens))
    }
}

fn entry_of(entry: &str) -> Option<ApiToken> {
    let mut parts = entry.splitn(3, ':');
    let (name, scopes, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    let scopes: Vec<Scope> = if scopes == "all" {
        Scope::ALL.to_vec()
    } else {
        scopes.split('+').map(Scope::parse).collect::<Option<_>>()?
    };
    (name_ok && !secret.is_empty()).then(|| ApiToken {
        name: name.to_owned(),
        scopes,
        secret: secret.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tokens: &ApiTokens) -> Vec<(&str, Vec<&str>)> {
        tokens
            .0
            .as_ref()
            .unwrap()
            .iter()
            .map(|t| {
                let scopes = t.scopes.iter().map(|s| s.as_str()).collect();
                (t.name.as_str(), scopes)
            })
            .collect()
    }

    #[test]
    fn tokens_are_read_with_their_names_and_scopes() {
        let t = ApiTokens::parse(
            Some(" ops:read:abc, billing:read+dial:d:e:f\nci:all:xyz "),
            Some("legacy"),
        );
        assert_eq!(
            names(&t),
            [
                ("default", vec!["read", "dial", "admin", "control"]),
                ("ops", vec!["read"]),
                ("billing", vec!["read", "dial"]),
                ("ci", vec!["read", "dial", "admin", "control"]),
            ]
        );
        // Everything after the second colon is the token, colons included.
        assert_eq!(t.0.as_ref().unwrap()[2].secret, "d:e:f");
        assert_eq!(ApiTokens::parse(None, None), ApiTokens(Ok(vec![])));
    }

    #[test]
    fn a_malformed_entry_refuses_the_whole_set_naming_its_position() {
        for bad in [
            "ops:read",
            "ops:write:abc",
            "ops::abc",
            ":read:abc",
            "o p:read:abc",
            "ops:read:",
            "ops:read+:abc",
        ] {
            let t = ApiTokens::parse(Some(&format!("ok:read:x,{bad}")), None);
            let why = t.0.unwrap_err();
            assert!(why.starts_with("API_TOKENS entry 2 "), "{bad}: {why}");
            assert!(!why.contains("abc"), "the secret is never shown: {why}");
        }
        let twice = ApiTokens::parse(Some("a:read:x,a:dial:y"), None);
        assert!(twice.0.unwrap_err().contains("repeats the token name `a`"));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let t = ApiTokens::parse(Some("ops:read:s3cr3t"), Some("l3gacy"));
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("l3gacy"),
            "{shown}"
        );
        assert!(shown.contains("ops"));
    }
}
