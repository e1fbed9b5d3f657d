//! The route table: which paths exist and which methods each accepts. Pure, so the 404/405 rules are
//! tested on the host.

use crate::error::ApiError;

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: liveness and version.
    Health,
    /// `POST /webhook`: Telesign's customer event URL.
    Webhook,
}

/// Matches a method and path to a route, or answers 404 (unknown path) / 405 (known path, other method).
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let (allow, route) = match path {
        "/healthz" => ("GET, HEAD", Route::Health),
        "/webhook" => ("POST", Route::Webhook),
        _ => return Err(ApiError::not_found(path)),
    };
    if allow.split(", ").any(|m| m == method) {
        Ok(route)
    } else {
        Err(ApiError::method_not_allowed(method, path, allow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_answers_get_and_head() {
        assert_eq!(route("GET", "/healthz"), Ok(Route::Health));
        assert_eq!(route("HEAD", "/healthz"), Ok(Route::Health));
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_is_405() {
        assert_eq!(route("GET", "/nope").unwrap_err().status, 404);
        assert_eq!(route("GET", "/healthz/").unwrap_err().status, 404);
        assert_eq!(route("POST", "/webhook"), Ok(Route::Webhook));
        assert_eq!(route("GET", "/webhook").unwrap_err().status, 405);
        let e = route("POST", "/healthz").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET, HEAD")));
    }
}
