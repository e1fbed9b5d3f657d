//! The one error type of the HTTP surface. Every failure a client can see becomes an [`ApiError`]
//! with a stable machine-readable code, so Telesign, the customer's systems and the tests all read the
//! same JSON shape: `{"error":{"code":"<stable_code>","message":"<human text>"}}`.

use serde::Serialize;

/// An error answered to the client: HTTP status, stable code, human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Methods a route accepts, sent as `Allow` on 405 answers.
    pub allow: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(404, "not_found", format!("no route for {path}"))
    }

    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                405,
                "method_not_allowed",
                format!("{method} is not allowed on {path}; allowed: {allow}"),
            )
        }
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
        let e = ApiError::new(400, "invalid_json", "bad \"quote\"");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "invalid_json", "message": "bad \"quote\""}})
        );
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let e = ApiError::method_not_allowed("GET", "/webhook", "POST");
        assert_eq!(
            (e.status, e.code, e.allow),
            (405, "method_not_allowed", Some("POST"))
        );
        assert!(e.message.contains("POST"));
    }
}
