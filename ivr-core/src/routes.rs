//! The route table: which paths exist and which methods each accepts. Pure, so the 404/405 rules are
//! tested on the host.

use crate::api::campaigns::Control;
use crate::error::ApiError;
use crate::tokens::Scope;

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: liveness and version.
    Health,
    /// `POST /webhook`: Telesign's customer event URL.
    Webhook,
    /// `GET /openapi.json`: the HTTP contract (no token).
    OpenApi,
    /// The call API (bearer token required).
    Api(ApiRoute),
}

/// A route of the call API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    /// `POST /calls`: place one outbound call.
    PlaceCall,
    /// `GET /calls`: list call records.
    ListCalls,
    /// `GET /calls.csv`: call records as CSV, with the filters of `GET /calls`.
    ExportCalls,
    /// `GET /calls/<reference_id>`: one call, live or ended.
    Call(String),
    /// `GET /flows`: the flows compiled in, their numbers, vars and diagrams.
    Flows,
    /// `GET /flows/<name>/stats`: the per-step funnel of one flow's calls.
    FlowStats(String),
    /// `POST /campaigns`: dial a flow to many numbers.
    StartCampaign,
    /// `POST /campaigns.csv?flow=`: the same, the numbers and their vars a spreadsheet's CSV.
    StartCampaignCsv,
    /// `GET /campaigns/<id>`: a campaign's progress.
    Campaign(String),
    /// `POST /campaigns/<id>/pause`, `/resume`, `/cancel`.
    ControlCampaign(String, Control),
    /// `GET /campaigns/<id>/numbers`: each number's result, a page at a time.
    CampaignNumbers(String),
    /// `GET /campaigns/<id>/numbers.csv`: every number's result as CSV.
    ExportCampaignNumbers(String),
    /// `POST /records/migrate`: moves call records of versions before D1 from KV to D1.
    MigrateRecords,
    /// `DELETE /calls/<reference_id>`: erases one call.
    EraseCall(String),
    /// `DELETE /calls?number=`: erases every call from or to a number.
    EraseCalls,
}

impl ApiRoute {
    /// The scope a token needs for this route: placing calls costs money, reading does not.
    pub fn scope(&self) -> Scope {
        match self {
            ApiRoute::PlaceCall | ApiRoute::StartCampaign | ApiRoute::StartCampaignCsv => {
                Scope::Dial
            }
            ApiRoute::MigrateRecords | ApiRoute::EraseCall(_) | ApiRoute::EraseCalls => {
                Scope::Admin
            }
            ApiRoute::ControlCampaign(..) => Scope::Control,
            ApiRoute::ListCalls
            | ApiRoute::ExportCalls
            | ApiRoute::Call(_)
            | ApiRoute::Flows
            | ApiRoute::FlowStats(_)
            | ApiRoute::Campaign(_)
            | ApiRoute::CampaignNumbers(_)
            | ApiRoute::ExportCampaignNumbers(_) => Scope::Read,
        }
    }
}

/// Matches a method and path to a route, or answers 404 (unknown path) / 405 (known path, other method).
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let (allow, route) = match path {
        "/healthz" => ("GET, HEAD", Route::Health),
        "/webhook" => ("POST", Route::Webhook),
        "/openapi.json" => ("GET, HEAD", Route::OpenApi),
        "/calls" if method == "POST" => ("GET, POST, DELETE", Route::Api(ApiRoute::PlaceCall)),
        "/calls" if method == "DELETE" => ("GET, POST, DELETE", Route::Api(ApiRoute::EraseCalls)),
        "/calls" => ("GET, POST, DELETE", Route::Api(ApiRoute::ListCalls)),
        "/calls.csv" => ("GET", Route::Api(ApiRoute::ExportCalls)),
        "/records/migrate" => ("POST", Route::Api(ApiRoute::MigrateRecords)),
        "/campaigns" => ("POST", Route::Api(ApiRoute::StartCampaign)),
        "/campaigns.csv" => ("POST", Route::Api(ApiRoute::StartCampaignCsv)),
        "/flows" => ("GET", Route::Api(ApiRoute::Flows)),
        _ => match (segment(path, "/calls/"), segment(path, "/campaigns/")) {
            (Some(id), _) if method == "DELETE" => (
                "GET, DELETE",
                Route::Api(ApiRoute::EraseCall(id.to_owned())),
            ),
            (Some(id), _) => ("GET, DELETE", Route::Api(ApiRoute::Call(id.to_owned()))),
            (_, Some(id)) => ("GET", Route::Api(ApiRoute::Campaign(id.to_owned()))),
            _ => match (
                inner(path, "/flows/", "/stats"),
                inner(path, "/campaigns/", "/numbers"),
                inner(path, "/campaigns/", "/numbers.csv"),
            ) {
                (Some(flow), _, _) => ("GET", Route::Api(ApiRoute::FlowStats(flow.to_owned()))),
                (_, Some(id), _) => ("GET", Route::Api(ApiRoute::CampaignNumbers(id.to_owned()))),
                (_, _, Some(id)) => (
                    "GET",
                    Route::Api(ApiRoute::ExportCampaignNumbers(id.to_owned())),
                ),
                _ => match path
                    .strip_prefix("/campaigns/")
                    .and_then(|rest| rest.split_once('/'))
                    .and_then(|(id, action)| Some((id, Control::parse(action)?)))
                    .filter(|(id, _)| !id.is_empty())
                {
                    Some((id, control)) => (
                        "POST",
                        Route::Api(ApiRoute::ControlCampaign(id.to_owned(), control)),
                    ),
                    None => return Err(ApiError::not_found(path)),
                },
            },
        },
    };
    if allow.split(", ").any(|m| m == method) {
        Ok(route)
    } else {
        Err(ApiError::method_not_allowed(method, path, allow))
    }
}

/// The path of a serialized URL (what `Request.url` gives), without query or fragment. A WHATWG
/// URL of an http(s) request always has a path, and `?` and `#` inside it are percent-encoded,
/// so the first `/` after the host starts it and the first `?` or `#` ends it.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let Some(start) = url[after_scheme..].find('/').map(|i| after_scheme + i) else {
        return "/";
    };
    let path = &url[start..];
    &path[..path.find(['?', '#']).unwrap_or(path.len())]
}

/// The query of a serialized URL (what follows the first `?`, up to a `#`), empty when none.
pub fn query_of(url: &str) -> &str {
    let Some((_, rest)) = url.split_once('?') else {
        return "";
    };
    rest.split_once('#').map_or(rest, |(query, _)| query)
}

/// The name/value pairs of a query, decoded as browsers and the WHATWG URL standard decode
/// `application/x-www-form-urlencoded`: split on `&`, the first `=` splits name from value, `+`
/// is a space, `%XX` a byte; bytes that are not UTF-8 become U+FFFD. Empty pieces are skipped.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(hi), Some(lo)) => {
                            // Two hex digits make one byte.
                            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// The one non-empty path segment between `prefix` and `suffix`, if `path` is exactly that.
fn inner<'a>(path: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .filter(|middle| !middle.is_empty() && !middle.contains('/'))
}

/// The one non-empty path segment after `prefix`, if `path` is exactly that.
fn segment<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_what_follows_the_host_up_to_the_query() {
        for (url, path) in [
            ("https://worker.example/webhook", "/webhook"),
            ("http://127.0.0.1:8787/calls/abc?limit=5#x", "/calls/abc"),
            ("https://worker.example/", "/"),
            ("https://worker.example", "/"),
            ("https://worker.example?x=1", "/"),
            ("https://user:pw@worker.example:443/a%3Fb/c", "/a%3Fb/c"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }

    #[test]
    fn queries_decode_as_forms_do() {
        assert_eq!(
            query_of("https://w.example/calls?flow=a&limit=5#frag"),
            "flow=a&limit=5"
        );
        assert_eq!(query_of("https://w.example/calls"), "");
        let pairs = query_pairs("flow=bank+menu&cursor=a%2Fb%3D&&limit&x=%zz%4&y=%C3%A9%FF");
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("flow", "bank menu"),
                ("cursor", "a/b="),
                ("limit", ""),
                ("x", "%zz%4"),
                ("y", "é\u{fffd}"),
            ]
        );
    }

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

    #[test]
    fn api_routes() {
        let api = |method, path| {
            route(method, path).map(|r| match r {
                Route::Api(a) => a,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(api("POST", "/calls"), Ok(ApiRoute::PlaceCall));
        assert_eq!(api("GET", "/calls"), Ok(ApiRoute::ListCalls));
        assert_eq!(api("GET", "/calls/R1"), Ok(ApiRoute::Call("R1".into())));
        assert_eq!(api("POST", "/campaigns"), Ok(ApiRoute::StartCampaign));
        assert_eq!(
            api("GET", "/campaigns/c1"),
            Ok(ApiRoute::Campaign("c1".into()))
        );
        assert_eq!(api("DELETE", "/calls"), Ok(ApiRoute::EraseCalls));
        assert_eq!(
            api("DELETE", "/calls/R1"),
            Ok(ApiRoute::EraseCall("R1".into()))
        );
        assert_eq!(ApiRoute::EraseCalls.scope(), Scope::Admin);
        let e = route("PUT", "/calls").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET, POST, DELETE")));
        let e = route("POST", "/calls/R1").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET, DELETE")));
        assert_eq!(route("GET", "/campaigns").unwrap_err().status, 405);
        for path in [
            "/calls/",
            "/calls/R1/x",
            "/campaigns/",
            "/campaigns/a/b",
            "/callsx",
        ] {
            assert_eq!(route("GET", path).unwrap_err().status, 404, "{path}");
        }
    }
}
