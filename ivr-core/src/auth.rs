//! Who may call the worker: Telesign on `/webhook` (its signature over the body), and the
//! customer's systems on the call API (a bearer token). Pure: the shell passes the headers and
//! the configuration.
//!
//! Bearer tokens are hashed with SHA-256 on both sides before a constant-time comparison, so
//! neither the content nor the length of the token leaks through timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::telesign::signature;

/// Checks that an event body was signed by Telesign for our customer id: `authorization` and
/// `x_ts_authorization` are the request's headers of those names.
pub fn verify_event(
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
    signature::verify(
        authorization,
        x_ts_authorization,
        body,
        customer_id,
        api_key,
    )
    .map_err(|e| ApiError::new(ErrorCode::BadSignature, e.to_string()))
}

/// Checks `Authorization: Bearer <token>` against the configured token.
///
/// No token configured is a server error (500 `not_configured`), never an open door; a missing,
/// malformed or wrong header is 401 `unauthorized`, with one message for all three so the answer
/// does not tell a guesser how close it came.
pub fn check_bearer(header: Option<&str>, configured: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = configured.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            ErrorCode::NotConfigured,
            "API_TOKEN must be set to use the call API",
        ));
    };
    let presented = header.and_then(bearer_token).unwrap_or_default();
    let matches: bool = Sha256::digest(presented.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into();
    if matches && !presented.is_empty() {
        Ok(())
    } else {
        Err(unauthorized())
    }
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

/// The token of a `Bearer` credential: the scheme is case-insensitive (RFC 7235), the token is
/// everything after the spaces that follow it, surrounding whitespace removed.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "dev-token-change-me";

    fn check(header: Option<&str>) -> Result<(), ApiError> {
        check_bearer(header, Some(TOKEN))
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
        for configured in [None, Some("")] {
            let e = check_bearer(Some("Bearer "), configured).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (500, "not_configured"));
            let e = check_bearer(None, configured).unwrap_err();
            assert_eq!(e.status, 500);
        }
    }
}
