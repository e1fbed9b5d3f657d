//! The one error type of the HTTP surface. Every failure a client can see becomes an [`ApiError`]
//! with a stable machine-readable [`ErrorCode`], so Telesign, the customer's systems and the tests
//! all read the same JSON shape: `{"error":{"code":"<stable_code>","message":"<human text>"}}`.
//! The worker turns it into a response, and into the request's log line, in one place.

use serde::Serialize;

use crate::telesign::DecodeError;

/// Declares the error codes: variant, wire name, default HTTP status, and what it means.
macro_rules! error_codes {
    ($($variant:ident = $wire:literal, $status:literal, $meaning:literal;)+) => {
        named_enum! {
            /// A stable error code. The wire name never changes once released; `status` is the
            /// HTTP status it is answered with unless the error says otherwise. [`ErrorCode::ALL`]
            /// is what the API document lists.
            pub enum ErrorCode {
                $(#[doc = $meaning] $variant = $wire,)+
            }
        }

        impl ErrorCode {
            /// The HTTP status the code is answered with by default.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// What the code means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }
        }
    };
}

error_codes! {
    NotFound = "not_found", 404, "No route has this path.";
    MethodNotAllowed = "method_not_allowed", 405, "The route does not accept this method (see `Allow`).";
    PayloadTooLarge = "payload_too_large", 413, "The body is larger than the route accepts.";
    UnreadableBody = "unreadable_body", 400, "The body could not be read.";
    InvalidJson = "invalid_json", 400, "The body is not UTF-8 JSON.";
    InvalidEvent = "invalid_event", 400, "The body is JSON but not a Telesign event object.";
    InvalidBody = "invalid_body", 400, "The body is JSON but not an object.";
    UnknownField = "unknown_field", 400, "The body has a field the route does not know.";
    MissingField = "missing_field", 400, "A required field is absent, null or empty.";
    InvalidField = "invalid_field", 400, "A field has the wrong JSON type or a value that cannot be used.";
        InvalidQuery = "invalid_query", 400, "A query parameter is unknown, repeated or out of range.";
    InvalidCsv = "invalid_csv", 400, "The CSV body is malformed (the message names the row), or lacks a `to` column.";
    BadSignature = "bad_signature", 401, "The Telesign signature is missing, malformed or does not match the body.";
    Unauthorized = "unauthorized", 401, "No or wrong bearer token.";
    InsufficientScope = "insufficient_scope", 403, "The token is valid but lacks the scope the route needs (`read`, `dial` or `admin`).";
    RateLimited = "rate_limited", 429, "Too many calls placed with this token; see `Retry-After`.";
    InvalidNumber = "invalid_number", 422, "A phone number is not 7 to 15 digits with an optional `+`.";
    InvalidNumbers = "invalid_numbers", 422, "A campaign's number list is empty or too long.";
    DuplicateNumber = "duplicate_number", 422, "A campaign lists a number twice.";
    UnknownTimeZone = "unknown_time_zone", 422, "A campaign's time zone is not one the worker knows: name it in a flow's `.calls_in([..])`.";
    ScheduleConflict = "schedule_conflict", 409, "A campaign's `end_at` has passed or does not come after its `start_at`: it would dial nobody.";
    InvalidCallerId = "invalid_caller_id", 422, "`caller_id_number` is not a phone number.";
    MissingCallerId = "missing_caller_id", 422, "No caller id was given and `CALLER_ID` is not set.";
    UnknownFlow = "unknown_flow", 422, "No outbound flow of this worker has that name.";
    InvalidVars = "invalid_vars", 422, "`vars` is not an object of short strings with simple names.";
    MissingVars = "missing_vars", 422, "The flow needs vars the request does not give; the message names them.";
    InvalidDialOption = "invalid_dial_option", 422, "`max_call_duration` or `send_dtmf` has a value Telesign would refuse.";
    InvalidExternalId = "invalid_external_id", 422, "`external_id` is empty, too long, or in the form campaigns use.";
    CallNotFound = "call_not_found", 404, "No live session or call record has this id.";
    CampaignNotFound = "campaign_not_found", 404, "No campaign has this id.";
    CampaignCancelled = "campaign_cancelled", 409, "The campaign was cancelled: it cannot be paused or resumed.";
    FlowNotFound = "flow_not_found", 404, "No flow of this worker has that name.";
    PremiumToNumberRejected = "premium_to_number_rejected", 422, "Telesign refused to call a premium number.";
    ToNumberBlockedByCountry = "to_number_blocked_by_country", 422, "Telesign blocks calls to the number's country.";
    ToNumberBlockedByCustomer = "to_number_blocked_by_customer", 422, "Your Telesign account blocks the number.";
    ToNumberBlockedByTelesign = "to_number_blocked_by_telesign", 422, "Telesign blocks the number.";
    CallerIdNumberNotOwned = "caller_id_number_not_owned", 422, "The caller id is not a number you lease from Telesign.";
    CallerIdNumberNotProvided = "caller_id_number_not_provided", 422, "Telesign got no caller id.";
    InvalidPhoneNumber = "invalid_phone_number", 422, "Telesign finds the number invalid.";
    ToNumberNotProvided = "to_number_not_provided", 422, "Telesign got no number to call.";
    UnsupportedCallState = "unsupported_call_state", 422, "Telesign refused the action in the call's state.";
    DialRejected = "dial_rejected", 422, "Telesign rejected the dial with a status not listed here.";
    DialBadRequest = "dial_bad_request", 422, "Telesign answered 400 with a status not listed here.";
    TelesignCredentialsRejected = "telesign_credentials_rejected", 502, "Telesign refused this worker's credentials.";
    TelesignRateLimited = "telesign_rate_limited", 429, "Telesign's rate limit; see `Retry-After`.";
    TelesignUnavailable = "telesign_unavailable", 502, "Telesign answered with a server error.";
    TelesignError = "telesign_error", 502, "Telesign answered with an undocumented status.";
    TelesignInvalidResponse = "telesign_invalid_response", 502, "Telesign's answer could not be read.";
    TelesignTimeout = "telesign_timeout", 504, "Telesign did not answer within `DIAL_TIMEOUT_MS`.";
    TelesignUnreachable = "telesign_unreachable", 502, "Telesign could not be reached.";
    NotConfigured = "not_configured", 500, "A secret or var the route needs is not set, or not valid.";
    StoreNotConfigured = "store_not_configured", 500, "A storage binding is missing.";
    StoredDataUnreadable = "stored_data_unreadable", 500, "A stored value could not be read.";
    StoreUnavailable = "store_unavailable", 503, "The store failed; nothing was half-written.";
    QueueUnavailable = "queue_unavailable", 503, "The campaign queue refused some numbers.";
    CampaignNotVisible = "campaign_not_visible", 503, "The campaign is not readable yet where its queue consumer runs.";
    InternalError = "internal_error", 500, "The runtime failed to do what was asked.";
}

/// An error answered to the client: HTTP status, stable code, human message, and the headers
/// some answers need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
    /// Methods a route accepts, sent as `Allow` on 405 answers.
    pub allow: Option<&'static str>,
    /// `Retry-After` seconds (our rate limit, or Telesign's 429 passed on).
    pub retry_after_secs: Option<u32>,
}

/// The `WWW-Authenticate` challenge sent with every `unauthorized` answer (RFC 6750).
pub const BEARER_CHALLENGE: &str = r#"Bearer realm="telesign-ivr""#;

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: ErrorCode,
    message: &'a str,
}

impl ApiError {
    /// An error with its code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            message: message.into(),
            allow: None,
            retry_after_secs: None,
        }
    }

    /// The same error, its message saying where in the request it is (`numbers[3]: ...`).
    pub fn prefixed(mut self, place: &str) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }

    /// The same error answered with another status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same error, telling the client when to try again.
    pub fn retry_after(mut self, secs: Option<u32>) -> Self {
        self.retry_after_secs = secs;
        self
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no route for {path}"))
    }

    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                ErrorCode::MethodNotAllowed,
                format!("{method} is not allowed on {path}; allowed: {allow}"),
            )
        }
    }

    /// A failure of the store: nothing was half-written, the client may try again.
    pub fn store_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::StoreUnavailable, message)
    }

    /// A failure of the runtime or of encoding that the client can do nothing about.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// The `WWW-Authenticate` header value the answer carries, if any.
    pub fn challenge(&self) -> Option<&'static str> {
        (self.code == ErrorCode::Unauthorized).then_some(BEARER_CHALLENGE)
    }

    /// The JSON body: `{"error":{"code":...,"message":...}}`.
    pub fn body(&self) -> String {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
            },
        };
        // Serializing two strings into a String cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }
}

impl From<&DecodeError> for ApiError {
    /// A webhook body that is not an event: 400 with the protocol's code, which has the same
    /// wire name here.
    fn from(e: &DecodeError) -> Self {
        let code = ErrorCode::parse(e.code()).unwrap_or(ErrorCode::InvalidField);
        ApiError::new(code, e.to_string())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_documented_shape_and_escapes_text() {
        let e = ApiError::new(ErrorCode::InvalidJson, "bad \"quote\"");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "invalid_json", "message": "bad \"quote\""}})
        );
        assert_eq!(e.status, 400);
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let e = ApiError::method_not_allowed("GET", "/webhook", "POST");
        assert_eq!(
            (e.status, e.code, e.allow),
            (405, ErrorCode::MethodNotAllowed, Some("POST"))
        );
        assert!(e.message.contains("POST"));
    }

    #[test]
    fn codes_have_unique_snake_case_names_that_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in ErrorCode::ALL {
            let wire = code.as_str();
            assert!(seen.insert(wire), "{wire} twice");
            assert!(wire.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(ErrorCode::parse(wire), Some(code));
            assert!((400..600).contains(&code.status()), "{wire}");
            assert!(code.meaning().ends_with('.'), "{wire}");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        assert!(serde_json::from_str::<ErrorCode>(r#""no_such_code""#).is_err());
    }

    #[test]
    fn every_decode_error_keeps_its_code() {
        for body in [
            &b"{"[..],
            b"[1]",
            b"{}",
            br#"{"event":1,"reference_id":"R"}"#,
        ] {
            let e = crate::telesign::decode_event(body).unwrap_err();
            let api = ApiError::from(&e);
            assert_eq!((api.code.as_str(), api.status), (e.code(), 400));
        }
    }

    #[test]
    fn only_unauthorized_carries_the_bearer_challenge() {
        assert_eq!(
            ApiError::new(ErrorCode::Unauthorized, "x").challenge(),
            Some(BEARER_CHALLENGE)
        );
        assert_eq!(
            ApiError::new(ErrorCode::BadSignature, "x").challenge(),
            None
        );
    }
}
