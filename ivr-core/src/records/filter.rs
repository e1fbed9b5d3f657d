//! The query parameters of `GET /calls`, `GET /calls.csv` and `GET /flows/<name>/stats`: read
//! once into typed values, so a bad date or an unknown outcome is a `400 invalid_query` that
//! names the parameter, before any SQL runs.

use chrono::{DateTime, NaiveDate};

use crate::api::calls::valid_call_id;
use crate::engine::CallOutcome;
use crate::error::{ApiError, ErrorCode};
use crate::telesign::{Direction, PhoneNumber};

/// Calls per page of `GET /calls` unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 100;

/// Which routes read a query: each accepts its own parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `GET /calls`: every filter, `limit` and `cursor`.
    List,
    /// `GET /calls.csv`: every filter; the export is not paged.
    Export,
    /// `GET /flows/<name>/stats`: the time range only (the flow is in the path).
    Stats,
}

impl Use {
    /// The parameters this use accepts, in the order error messages list them.
    pub fn parameters(self) -> &'static [&'static str] {
        const FILTERS: [&str; 6] = ["flow", "outcome", "direction", "number", "since", "until"];
        match self {
            Use::List => &[
                "flow",
                "outcome",
                "direction",
                "number",
                "since",
                "until",
                "limit",
                "cursor",
            ],
            Use::Export => &FILTERS,
            Use::Stats => &["since", "until"],
        }
    }
}

/// Where a page of `GET /calls` starts: after the call that ended at `ended_ms` with this
/// `reference_id` (newest first). Written as `<ended_ms>.<reference_id>`; opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub ended_ms: u64,
    pub reference_id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.ended_ms, self.reference_id)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (ms, id) = text.split_once('.')?;
        (valid_call_id(id) && ms.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
        Some(Cursor {
            ended_ms: ms.parse().ok()?,
            reference_id: id.to_owned(),
        })
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallFilter {
    pub flow: Option<String>,
    pub outcome: Option<CallOutcome>,
    pub direction: Option<Direction>,
    /// Either party, E.164 with its `+`.
    pub number: Option<String>,
    /// Calls that ended at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Calls that ended before this time.
    pub until_ms: Option<u64>,
    /// `GET /calls` only; [`DEFAULT_LIMIT`] when not given.
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

impl CallFilter {
    /// Reads decoded query pairs for `used`; 400 `invalid_query` on a parameter that is unknown
    /// there, repeated, or has a value that cannot be used.
    pub fn parse<'a>(
        used: Use,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ApiError> {
        let mut filter = CallFilter {
            limit: DEFAULT_LIMIT,
            ..CallFilter::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            if !used.parameters().contains(&name) {
                return Err(invalid(format!(
                    "unknown parameter `{name}`; allowed: {}",
                    used.parameters().join(", ")
                )));
            }
            if seen.contains(&name) {
                return Err(invalid(format!("`{name}` is given twice")));
            }
            seen.push(name);
            // An empty value is the parameter left out (an empty form field), but for `limit`.
            if value.is_empty() && name != "limit" {
                continue;
            }
            match name {
                "flow" => filter.flow = Some(value.to_owned()),
                "outcome" => {
                    filter.outcome = Some(CallOutcome::parse(value).ok_or_else(|| {
                        invalid(format!("`outcome` {value:?} is not a call outcome"))
                    })?);
                }
                "direction" => {
                    filter.direction = Some(Direction::parse(value).ok_or_else(|| {
                        invalid("`direction` must be inbound or outbound".to_owned())
                    })?);
                }
                "number" => filter.number = Some(number(value)?),
                "since" => filter.since_ms = Some(time("since", value)?),
                "until" => filter.until_ms = Some(time("until", value)?),
                "limit" => {
                    filter.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| invalid(format!("`limit` must be 1 to {MAX_LIMIT}")))?;
                }
                _ => {
                    filter.cursor =
                        Some(Cursor::decode(value).ok_or_else(|| {
                            invalid("`cursor` is not one this API gave".to_owned())
                        })?);
                }
            }
        }
        // A `since` after `until` is an empty range, not an error.
        Ok(filter)
    }
}

fn invalid(why: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, why)
}

/// A phone number as records keep it (E.164 with `+`). A `+` written unencoded in a query
/// arrives as a space (form decoding), so a leading space counts as `+`.
fn number(value: &str) -> Result<String, ApiError> {
    let plus = value.strip_prefix(' ').map(|digits| format!("+{digits}"));
    let value = plus.as_deref().unwrap_or(value);
    // PhoneNumber::parse trims whitespace; a filter with any other whitespace is refused.
    match PhoneNumber::parse(value) {
        Ok(number) if !value.contains(char::is_whitespace) => Ok(number.e164()),
        _ => Err(invalid(
            "`number` must be a phone number of 7 to 15 digits (E.164, `+` written %2B)".to_owned(),
        )),
    }
}

/// A time: milliseconds since the epoch, an RFC 3339 date-time (`2026-12-01T09:30:00Z`,
/// `2026-12-01T09:30:00-05:00`), or a date (`2026-12-01`, midnight UTC).
fn time(name: &str, value: &str) -> Result<u64, ApiError> {
    let ms = if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse::<u64>().ok()
    } else if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        // Before 1970 there were no calls: the range starts at 0.
        Some(u64::try_from(at.timestamp_millis()).unwrap_or(0))
    } else {
        value
            .parse::<NaiveDate>()
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|at| u64::try_from(at.and_utc().timestamp_millis()).unwrap_or(0))
    };
    ms.ok_or_else(|| {
        invalid(format!(
            "`{name}` must be an ISO 8601 date or date-time (2026-12-01, 2026-12-01T09:30:00Z) \
             or milliseconds since 1970"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> Result<CallFilter, ApiError> {
        CallFilter::parse(Use::List, pairs.iter().copied())
    }

    #[test]
    fn reads_every_filter() {
        let f = list(&[
            ("flow", "bank_menu"),
            ("outcome", "caller_hung_up"),
            ("direction", "inbound"),
            ("number", " 15551234567"),
            ("since", "2026-12-01"),
            ("until", "2026-12-01T10:00:00-05:00"),
            ("limit", "100"),
            ("cursor", "1764582000000.abc-1"),
        ])
        .unwrap();
        assert_eq!(f.flow.as_deref(), Some("bank_menu"));
        assert_eq!(f.outcome, Some(CallOutcome::CallerHungUp));
        assert_eq!(f.direction, Some(Direction::Inbound));
        assert_eq!(f.number.as_deref(), Some("+15551234567"));
        // 2026-12-01T00:00:00Z and 15:00:00Z.
        assert_eq!(f.since_ms, Some(1_796_083_200_000));
        assert_eq!(f.until_ms, Some(1_796_083_200_000 + 15 * 3_600_000));
        assert_eq!(f.limit, 100);
        assert_eq!(
            f.cursor,
            Some(Cursor {
                ended_ms: 1_764_582_000_000,
                reference_id: "abc-1".into()
            })
        );
        assert_eq!(
            list(&[("since", "1796083200000")]).unwrap().since_ms,
            Some(1_796_083_200_000)
        );
    }

    #[test]
    fn refuses_what_it_cannot_use_with_the_parameter_named() {
        for (pairs, named) in [
            (vec![("colour", "red")], "colour"),
            (vec![("flow", "a"), ("flow", "b")], "flow"),
            (vec![("outcome", "won")], "outcome"),
            (vec![("direction", "sideways")], "direction"),
            (vec![("number", "12ab")], "number"),
            (vec![("since", "yesterday")], "since"),
            (vec![("until", "2026-13-01")], "until"),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "101")], "limit"),
            (vec![("cursor", "abc")], "cursor"),
            (vec![("cursor", "12.a'b")], "cursor"),
        ] {
            let e = list(&pairs).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidQuery, "{pairs:?}");
            assert!(e.message.contains(named), "{pairs:?}: {}", e.message);
        }
    }

    #[test]
    fn each_use_takes_its_own_parameters() {
        assert!(CallFilter::parse(Use::Export, [("cursor", "1.a")]).is_err());
        assert!(CallFilter::parse(Use::Stats, [("flow", "a")]).is_err());
        assert!(CallFilter::parse(Use::Stats, [("since", "2026-12-01")]).is_ok());
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            ended_ms: 7,
            reference_id: "0123456789ABCDEF0123456789ABCDEF".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
}
