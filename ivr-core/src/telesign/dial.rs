//! Starting an outbound call: the `POST /v2/voice` request and the reading of its answer.
//!
//! Both halves are pure; the fetch itself lives with the worker. Send the request with
//! `Content-Type: application/json` and `Accept: application/json`.
//!
//! Telesign answers (per its Engage Voice OpenAPI document) with
//! `{"reference_id", "status", "external_id"?}`:
//!
//! | HTTP | status | result |
//! | --- | --- | --- |
//! | 202 | `dial_accepted` | [`DialAccepted`]: the call is being placed |
//! | 200 | `premium_to_number_rejected`, `to_number_blocked_by_country`, `to_number_blocked_by_customer`, `to_number_blocked_by_telesign` | [`DialError::Rejected`] |
//! | 400 | `caller_id_number_not_owned`, `caller_id_number_not_provided`, `invalid_phone_number`, `to_number_not_provided`, `unsupported_call_state` | [`DialError::BadRequest`] |
//! | 401 | `credentials_not_provided`, `credentials_not_authorized` | [`DialError::Unauthorized`] |
//! | 429 | `rate_limit_exceeded` | [`DialError::RateLimited`], with `Retry-After` |
//! | 5xx, others | anything | [`DialError::Upstream`] |
//!
//! Any 2xx whose status is `dial_accepted` counts as accepted, and so does a 202 without a
//! status; any other 2xx status is a rejection. A 2xx, 400, 401 or 429 without a readable
//! body (a JSON object with the fields above) is [`DialError::InvalidResponse`]; note that a
//! 2xx of that kind may still mean the call is being placed, so do not blindly redial.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use super::action::{Action, Dial};

/// Telesign's worldwide Voice endpoint, used when no URL is configured.
pub const DEFAULT_API_URL: &str = "https://rest-ww.telesign.com/v2/voice";

/// Everything needed to send a `dial` to Telesign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    /// Where to POST.
    pub url: String,
    /// The `Authorization` header value: `Basic base64(customer_id:api_key)`.
    pub authorization: String,
    /// The JSON-RPC `dial` action.
    pub body: String,
}

/// Builds the request for `dial`. `api_url` overrides [`DEFAULT_API_URL`] (for a regional
/// endpoint or a test double); a blank value counts as absent.
///
/// Basic authentication uses the API key as issued, not base64-decoded as for signatures.
pub fn dial_request(
    api_url: Option<&str>,
    customer_id: &str,
    api_key: &str,
    dial: &Dial,
) -> DialRequest {
    let url = api_url
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .unwrap_or(DEFAULT_API_URL);
    DialRequest {
        url: url.to_owned(),
        authorization: format!(
            "Basic {}",
            STANDARD.encode(format!("{customer_id}:{api_key}"))
        ),
        body: Action::Dial(dial.clone()).to_json(),
    }
}

/// Telesign took the dial: its events for this call will carry `reference_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialAccepted {
    /// Telesign's id of the new call session.
    pub reference_id: String,
    /// Our `external_id`, echoed.
    pub external_id: Option<String>,
}

/// Why a dial did not start a call. `status` fields hold Telesign's status string verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// 200 with a rejection status, e.g. `to_number_blocked_by_country`.
    Rejected {
        /// Telesign's status.
        status: String,
    },
    /// 400, e.g. `caller_id_number_not_owned`.
    BadRequest {
        /// Telesign's status.
        status: String,
    },
    /// 401, e.g. `credentials_not_authorized`.
    Unauthorized {
        /// Telesign's status.
        status: String,
    },
    /// 429 `rate_limit_exceeded`.
    RateLimited {
        /// Telesign's status.
        status: String,
        /// `Retry-After` in seconds, when given as a number of seconds (an HTTP date is
        /// ignored).
        retry_after_secs: Option<u32>,
    },
    /// 5xx, or any status Telesign does not document.
    Upstream {
        /// The HTTP status.
        http_status: u16,
        /// Telesign's status, if the body had one.
        status: Option<String>,
    },
    /// A documented HTTP status whose body we cannot read.
    InvalidResponse {
        /// The HTTP status.
        http_status: u16,
        /// What was wrong with the body.
        message: String,
    },
}

impl DialError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            DialError::Rejected { .. } => "dial_rejected",
            DialError::BadRequest { .. } => "dial_bad_request",
            DialError::Unauthorized { .. } => "dial_unauthorized",
            DialError::RateLimited { .. } => "dial_rate_limited",
            DialError::Upstream { .. } => "dial_upstream_error",
            DialError::InvalidResponse { .. } => "dial_invalid_response",
        }
    }
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Rejected { status } => write!(f, "Telesign rejected the dial: {status}"),
            DialError::BadRequest { status } => write!(f, "Telesign refused the dial: {status}"),
            DialError::Unauthorized { status } => {
                write!(f, "Telesign refused our credentials: {status}")
            }
            DialError::RateLimited {
                status,
                retry_after_secs: Some(secs),
            } => write!(f, "Telesign rate limit: {status}; retry after {secs} s"),
            DialError::RateLimited { status, .. } => write!(f, "Telesign rate limit: {status}"),
            DialError::Upstream {
                http_status,
                status,
            } => write!(
                f,
                "Telesign answered HTTP {http_status}: {}",
                status.as_deref().unwrap_or("no status")
            ),
            DialError::InvalidResponse {
                http_status,
                message,
            } => write!(
                f,
                "unreadable Telesign answer (HTTP {http_status}): {message}"
            ),
        }
    }
}

impl std::error::Error for DialError {}

/// Reads Telesign's answer to a dial request. `retry_after` is the raw `Retry-After` header.
pub fn interpret_dial_response(
    http_status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<DialAccepted, DialError> {
    let parsed = crate::json::read::<Value>(body)
        .ok()
        .filter(Value::is_object);
    let field = |key: &str| {
        parsed
            .as_ref()
            .and_then(|object| object.get(key))
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    // Names what is missing, unless the body was not even a JSON object.
    let invalid = |missing: &str| DialError::InvalidResponse {
        http_status,
        message: if parsed.is_some() {
            format!("no {missing}")
        } else {
            "body is not a JSON object".to_owned()
        },
    };
    let status = field("status");

    match http_status {
        200..=299 => match status {
            Some(status) if status != "dial_accepted" => Err(DialError::Rejected { status }),
            None if http_status != 202 => Err(invalid("status")),
            _ => field("reference_id")
                .map(|reference_id| DialAccepted {
                    reference_id,
                    external_id: field("external_id"),
                })
                .ok_or_else(|| invalid("reference_id")),
        },
        400 | 401 | 429 => {
            let status = status.ok_or_else(|| invalid("status"))?;
            Err(match http_status {
                400 => DialError::BadRequest { status },
                401 => DialError::Unauthorized { status },
                _ => DialError::RateLimited {
                    status,
                    retry_after_secs: retry_after.and_then(|value| value.trim().parse().ok()),
                },
            })
        }
        _ => Err(DialError::Upstream {
            http_status,
            status,
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CUSTOMER: &str = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";
    const KEY: &str = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";

    fn body(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn answer(reference_id: &str, status: &str) -> Vec<u8> {
        body(json!({"reference_id": reference_id, "status": status}))
    }

    #[test]
    fn request_shape() {
        let dial = Dial::new("+15555551212", "15554441313")
            .unwrap()
            .external_id("4142b474-d65d-4265-a5fa-a581b1fe6101")
            .unwrap();
        let request = dial_request(None, CUSTOMER, KEY, &dial);
        assert_eq!(request.url, "https://rest-ww.telesign.com/v2/voice");
        assert_eq!(
            request.authorization,
            "Basic RkZGRkZGRkYtRUVFRS1ERERELTEyMzQtQUIxMjM0NTY3ODkwOmJYa3RNekl0WW5sMFpTMTBaV3hsYzJsbmJpMWhjR2t0YTJWNUxUQXdNREU9"
        );
        assert_eq!(
            request.body,
            concat!(
                r#"{"jsonrpc":"2.0","method":"dial","params":{"to":"15555551212","#,
                r#""caller_id_number":"15554441313","#,
                r#""external_id":"4142b474-d65d-4265-a5fa-a581b1fe6101"}}"#
            )
        );
    }

    #[test]
    fn basic_credentials_decode_back() {
        let dial = Dial::new("15555551212", "15554441313").unwrap();
        let request = dial_request(None, CUSTOMER, KEY, &dial);
        let encoded = request.authorization.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, format!("{CUSTOMER}:{KEY}"));
    }

    #[test]
    fn configured_url() {
        let dial = Dial::new("15555551212", "15554441313").unwrap();
        let url = |configured| dial_request(configured, CUSTOMER, KEY, &dial).url;
        assert_eq!(
            url(Some(" https://rest-us.telesign.com/v2/voice ")),
            "https://rest-us.telesign.com/v2/voice"
        );
        assert_eq!(
            url(Some("http://127.0.0.1:8787/fake")),
            "http://127.0.0.1:8787/fake"
        );
        assert_eq!(url(Some("  ")), DEFAULT_API_URL);
        assert_eq!(url(None), DEFAULT_API_URL);
    }

    #[test]
    fn accepted() {
        let accepted = interpret_dial_response(
            202,
            None,
            &body(json!({"reference_id": "DF596D7B0D1800164898350B4E71B05C",
                         "status": "dial_accepted", "external_id": "ext-1"})),
        );
        assert_eq!(
            accepted,
            Ok(DialAccepted {
                reference_id: "DF596D7B0D1800164898350B4E71B05C".into(),
                external_id: Some("ext-1".into()),
            })
        );
        let without_status =
            interpret_dial_response(202, None, &body(json!({"reference_id": "R"})));
        assert_eq!(without_status.unwrap().external_id, None);
        assert!(interpret_dial_response(200, None, &answer("R", "dial_accepted")).is_ok());
    }

    #[test]
    fn rejected() {
        for status in [
            "premium_to_number_rejected",
            "to_number_blocked_by_country",
            "to_number_blocked_by_customer",
            "to_number_blocked_by_telesign",
        ] {
            let err = interpret_dial_response(200, None, &answer("R", status)).unwrap_err();
            assert_eq!(
                err,
                DialError::Rejected {
                    status: status.into()
                }
            );
            assert_eq!(err.code(), "dial_rejected");
            assert!(err.to_string().contains(status));
        }
    }

    #[test]
    fn bad_request_and_unauthorized() {
        for status in [
            "caller_id_number_not_owned",
            "caller_id_number_not_provided",
            "invalid_phone_number",
            "to_number_not_provided",
            "unsupported_call_state",
        ] {
            let err = interpret_dial_response(400, None, &answer("R", status)).unwrap_err();
            assert_eq!(
                err,
                DialError::BadRequest {
                    status: status.into()
                }
            );
            assert_eq!(err.code(), "dial_bad_request");
        }
        for status in ["credentials_not_provided", "credentials_not_authorized"] {
            let err = interpret_dial_response(401, None, &answer("", status)).unwrap_err();
            assert_eq!(
                err,
                DialError::Unauthorized {
                    status: status.into()
                }
            );
            assert_eq!(err.code(), "dial_unauthorized");
        }
    }

    #[test]
    fn rate_limited() {
        let limited = |retry_after| {
            interpret_dial_response(429, retry_after, &answer("", "rate_limit_exceeded"))
                .unwrap_err()
        };
        assert_eq!(
            limited(Some(" 30 ")),
            DialError::RateLimited {
                status: "rate_limit_exceeded".into(),
                retry_after_secs: Some(30)
            }
        );
        for unusable in [
            None,
            Some(""),
            Some("-1"),
            Some("1.5"),
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
        ] {
            assert_eq!(
                limited(unusable),
                DialError::RateLimited {
                    status: "rate_limit_exceeded".into(),
                    retry_after_secs: None
                },
                "{unusable:?}"
            );
        }
        assert_eq!(limited(Some("30")).code(), "dial_rate_limited");
        assert_eq!(
            limited(Some("30")).to_string(),
            "Telesign rate limit: rate_limit_exceeded; retry after 30 s"
        );
    }

    #[test]
    fn upstream() {
        for http_status in [500, 502, 503, 504, 403, 404, 301] {
            let err =
                interpret_dial_response(http_status, Some("5"), b"<html>oops</html>").unwrap_err();
            assert_eq!(
                err,
                DialError::Upstream {
                    http_status,
                    status: None
                }
            );
            assert_eq!(err.code(), "dial_upstream_error");
        }
        assert_eq!(
            interpret_dial_response(503, None, &answer("", "service_unavailable")),
            Err(DialError::Upstream {
                http_status: 503,
                status: Some("service_unavailable".into())
            })
        );
    }

    #[test]
    fn unreadable_bodies() {
        for (http_status, body, message) in [
            (202, &b""[..], "body is not a JSON object"),
            (202, b"[]", "body is not a JSON object"),
            (202, b"{\"status\":\"dial_accepted\"}", "no reference_id"),
            (202, b"{\"reference_id\":7}", "no reference_id"),
            (200, b"{}", "no status"),
            (200, b"{\"status\":5}", "no status"),
            (400, b"not json", "body is not a JSON object"),
            (401, b"{}", "no status"),
            (429, b"", "body is not a JSON object"),
        ] {
            let err = interpret_dial_response(http_status, None, body).unwrap_err();
            assert_eq!(
                err,
                DialError::InvalidResponse {
                    http_status,
                    message: message.into()
                },
                "{http_status} {body:?}"
            );
            assert_eq!(err.code(), "dial_invalid_response");
        }
    }
}
