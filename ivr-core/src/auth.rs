//! Who may call the worker: Telesign on `/webhook` (its signature over the body), and the
//! customer's systems on the call API (a bearer token). Pure: the shell passes the headers and
//! the configuration.
//!
//! Bearer tokens are hashed with SHA-256 on both sides before a constant-time comparison, so
//! neither the content nor the length of the token leaks through timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::config::{Config, WebhookAuth};
use crate::error::{ApiError, ErrorCode};
use crate::telesign::signature;
use crate::tokens::{ApiToken, ApiTokens, Scope};

/// Checks that an event comes from Telesign, as `WEBHOOK_AUTH` says: its signature for our
/// customer id over `body`, or the event URL's Basic credentials. `authorization` and
/// `x_ts_authorization` are the request's headers of those names. `Ok(false)`: not checked
/// (`WEBHOOK_AUTH=off`).
pub fn verify_event(
    config: &Config,
    authorization: Option<&str>,
    x_ts_authorization: Option<&str>,
    body: &[u8],
) -> Result<bool, ApiError> {
    match config.webhook_auth {
        WebhookAuth::Off => Ok(false),
        WebhookAuth::Basic => check_basic(config, authorization).map(|()| true),
        WebhookAuth::Signature => {
            check_signature(config, authorization, x_ts_authorization, body).map(|()| true)
        }
    }
}

/// `Authorization: Basic base64(user:password)` against `WEBHOOK_USER` / `WEBHOOK_PASSWORD`,
/// hashed and compared in constant time like bearer tokens.
fn check_basic(config: &Config, authorization: Option<&str>) -> Result<(), ApiError> {
    let (Some(user), Some(password)) = (&config.webhook_user, &config.webhook_password) else {
        return Err(ApiError::new(
            ErrorCode::NotConfigured,
            "WEBHOOK_AUTH=basic needs the WEBHOOK_USER and WEBHOOK_PASSWORD secrets",
        ));
    };
    let presented = authorization
        .and_then(|h| credentials(h, "basic"))
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_default();
    let expected = format!("{user}:{password}");
    if !presented.is_empty() && same_secret(&presented, expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::BadSignature,
            "the event URL's Basic credentials are missing or wrong",
        ))
    }
}

fn check_signature(
    config: &Config,
    authorization: Option<&str>,
    x_ts_authorization: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    let (Some(customer_id), Some(api_key)) = (&config.customer_id, &config.api_key) else {
        return Err(ApiError::new(
            ErrorCode::NotConfigured,
            "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY must be set to verify events",
        ));
    };
    api_key
        .signing()
        .and_then(|key| {
            signature::verify_keyed(authorization, x_ts_authorization, body, customer_id, key)
        })
        .map_err(|e| ApiError::new(ErrorCode::BadSignature, e.to_string()))
}

/// Checks `Authorization: Bearer <token>` against every configured token, and returns the one
/// presented.
///
/// No token configured, or a malformed `API_TOKENS`, is a server error (500 `not_configured`),
/// never an open door; a missing, malformed or wrong header is 401 `unauthorized`, with one
/// message for all three so the answer does not tell a guesser how close it came. Every token is
/// compared, in constant time, whichever matches.
pub fn check_bearer<'t>(
    header: Option<&str>,
    tokens: &'t ApiTokens,
) -> Result<&'t ApiToken, ApiError> {
    let tokens = match &tokens.0 {
        Ok(tokens) if !tokens.is_empty() => tokens,
        Ok(_) => {
            return Err(ApiError::new(
                ErrorCode::NotConfigured,
                "API_TOKEN or API_TOKENS must be set to use the call API",
            ))
        }
        Err(why) => return Err(ApiError::new(ErrorCode::NotConfigured, why.clone())),
    };
    let presented = header
        .and_then(|h| credentials(h, "bearer"))
        .unwrap_or_default();
    let mut found = None;
    for token in tokens {
        let same = same_secret(presented.as_bytes(), token.secret.as_bytes());
        if same && found.is_none() {
            found = Some(token);
        }
    }
    found
        .filter(|_| !presented.is_empty())
        .ok_or_else(unauthorized)
}

/// 403 `insufficient_scope` unless `token` grants `scope`.
pub fn require(token: &ApiToken, scope: Scope) -> Result<(), ApiError> {
    if token.allows(scope) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InsufficientScope,
        format!(
            "the token `{}` does not have the `{}` scope this route needs",
            token.name,
            scope.as_str()
        ),
    ))
}

/// The rate-limit key of a token: a short hash, so the token itself never leaves the worker.
pub fn rate_limit_key(token: &str) -> String {
    format!(
        "api:{}",
        crate::hex::hex(&Sha256::digest(token.as_bytes())[..8])
    )
}

/// The 401 answer.
pub fn unauthorized() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        "send the API token as `Authorization: Bearer <API_TOKEN>`",
    )
}

/// The credentials of an `Authorization` value of `scheme`: the scheme is case-insensitive
/// (RFC 7235), the credentials are everything after the spaces that follow it, surrounding
/// whitespace removed.
fn credentials<'h>(header: &'h str, scheme: &str) -> Option<&'h str> {
    let (presented, rest) = header.trim().split_once(' ')?;
    presented
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// Whether two secrets are equal, in time that depends on neither (both are hashed first, so
/// the length does not show either).
fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(presented)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic_config(user: Option<&str>, password: Option<&str>) -> Config {
        Config::from_lookup(|name| match name {
            "WEBHOOK_AUTH" => Some("basic".into()),
            "WEBHOOK_USER" => user.map(str::to_owned),
            "WEBHOOK_PASSWORD" => password.map(str::to_owned),
            _ => None,
        })
    }

    #[test]
    fn basic_credentials_are_checked_when_webhook_auth_is_basic() {
        let config = basic_config(Some("telesign"), Some("s3cret:pw"));
        // base64("telesign:s3cret:pw")
        let good = "Basic dGVsZXNpZ246czNjcmV0OnB3";
        assert_eq!(verify_event(&config, Some(good), None, b"{}"), Ok(true));
        assert_eq!(
            verify_event(
                &config,
                Some("basic  dGVsZXNpZ246czNjcmV0OnB3 "),
                None,
                b"{}"
            ),
            Ok(true)
        );
        for wrong in [
            None,
            Some("Basic dGVsZXNpZ246czNjcmV0"), // telesign:s3cret
            Some("Basic !!!"),
            Some("Bearer dGVsZXNpZ246czNjcmV0OnB3"),
            Some("TSA 00000000:AAAA"),
        ] {
            let e = verify_event(&config, wrong, None, b"{}").unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (401, "bad_signature"),
                "{wrong:?}"
            );
        }
        let unset = basic_config(Some("telesign"), None);
        let e = verify_event(&unset, Some(good), None, b"{}").unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (500, "not_configured"));
    }

    #[test]
    fn webhook_auth_off_checks_nothing() {
        let off = Config::from_lookup(|name| (name == "WEBHOOK_AUTH").then(|| "off".to_owned()));
        assert_eq!(verify_event(&off, None, None, b"{}"), Ok(false));
    }

    const TOKEN: &str = "dev-token-change-me";

    fn check(header: Option<&str>) -> Result<(), ApiError> {
        check_bearer(header, &ApiTokens::parse(None, Some(TOKEN))).map(|_| ())
    }

    #[test]
    fn rate_limit_keys_hide_the_token_and_tell_tokens_apart() {
        let key = rate_limit_key(TOKEN);
        assert!(key.starts_with("api:") && key.len() == 4 + 16, "{key}");
        assert!(!key.contains(TOKEN));
        assert_eq!(key, rate_limit_key(TOKEN));
        assert_ne!(key, rate_limit_key("another-token"));
    }

    #[test]
    fn accepts_the_configured_token() {
        assert_eq!(check(Some("Bearer dev-token-change-me")), Ok(()));
        assert_eq!(check(Some("bearer dev-token-change-me")), Ok(()));
        assert_eq!(check(Some("  BEARER   dev-token-change-me  ")), Ok(()));
    }

    #[test]
    fn refuses_everything_else_with_401() {
        for header in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("dev-token-change-me"),
            Some("Basic dev-token-change-me"),
            Some("Bearer dev-token-change-m"),
            Some("Bearer dev-token-change-me2"),
            Some("Bearer DEV-TOKEN-CHANGE-ME"),
            Some("Bearer dev-token-change-me extra"),
        ] {
            let e = check(header).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (401, "unauthorized"),
                "{header:?}"
            );
        }
    }

    #[test]
    fn no_configured_token_is_a_server_error_not_an_open_door() {
        for configured in [
            ApiTokens::parse(None, None),
            ApiTokens::parse(Some(""), Some("")),
            ApiTokens::parse(Some("ops:read"), Some(TOKEN)),
        ] {
            let e = check_bearer(Some("Bearer "), &configured).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (500, "not_configured"));
            let e = check_bearer(Some("Bearer dev-token-change-me"), &configured).unwrap_err();
            assert_eq!(e.status, 500, "a malformed API_TOKENS lets no token in");
        }
    }

    #[test]
    fn several_tokens_each_get_in_with_their_own_name_and_scopes() {
        let tokens = ApiTokens::parse(Some("new:read+dial:n3w,ops:read:0ps"), Some("0ld"));
        let name = |header: &str| check_bearer(Some(header), &tokens).map(|t| t.name.clone());
        assert_eq!(name("Bearer 0ld").as_deref(), Ok("default"));
        assert_eq!(name("Bearer n3w").as_deref(), Ok("new"));
        assert_eq!(name("Bearer 0ps").as_deref(), Ok("ops"));
        assert_eq!(name("Bearer 0p").unwrap_err().status, 401);
        let ops = check_bearer(Some("Bearer 0ps"), &tokens).unwrap();
        assert_eq!(require(ops, Scope::Read), Ok(()));
        let e = require(ops, Scope::Dial).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (403, "insufficient_scope"));
        assert!(e.message.contains("`ops`") && e.message.contains("`dial`"));
        assert!(!e.message.contains("0ps"));
    }
}
