//! The query parameters of `GET /calls`, `GET /calls.csv` and `GET /flows/<name>/stats`: read
//! once into typed values, so a bad date or an unknown outcome is a `400 invalid_query` that
//! names the parameter, before any SQL runs.

use crate::iso::iso_ms;

use crate::api::calls::valid_call_id;
use crate::api::campaigns::valid_campaign_id;
use crate::engine::CallOutcome;
use crate::error::{ApiError, ErrorCode};
use crate::telesign::{Direction, Language, PhoneNumber};

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
        const FILTERS: [&str; 8] = [
            "flow",
            "campaign",
            "outcome",
            "direction",
            "language",
            "number",
            "since",
            "until",
        ];
        match self {
            Use::List => &[
                "flow",
                "campaign",
                "outcome",
                "direction",
                "language",
                "number",
                "since",
                "until",
                "limit",
                "cursor",
            ],
            Use::Export => &FILTERS,
            Use::Stats => &["since", "until", "language"],
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
    /// The calls of one campaign (by its id).
    pub campaign: Option<String>,
    pub outcome: Option<CallOutcome>,
    pub direction: Option<Direction>,
    /// The language the call was spoken in last (a TTS tag).
    pub language: Option<String>,
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
                "campaign" if valid_campaign_id(value) => {
                    filter.campaign = Some(value.to_owned());
                }
                "campaign" => {
                    return Err(invalid(
                        "`campaign` must be a campaign id (32 lowercase hex digits)".to_owned(),
                    ))
                }
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
                "language" => {
                    Language::parse(value).map_err(|_| {
                        invalid(format!(
                            "`language` {value:?} is not a Telesign TTS language"
                        ))
                    })?;
                    filter.language = Some(value.to_owned());
                }
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
    } else {
        // Before 1970 there were no calls: the range starts at 0.
        iso_ms(value).map(|ms| u64::try_from(ms).unwrap_or(0))
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
    use chrono::NaiveDate;

    /// chrono's own parsers, which the worker leaves out of the wasm: what `iso_ms` must agree with.
    fn chrono_ms(value: &str) -> Option<i64> {
        if value.len() == 10 {
            let date = value.parse::<NaiveDate>().ok()?;
            return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
        }
        chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|at| at.timestamp_millis())
    }

    #[test]
    fn dates_and_date_times_are_read_as_chrono_reads_them() {
        let cases = [
            "2026-12-01",
            "2024-02-29",
            "2025-02-29",
            "2026-13-01",
            "2026-12-32",
            "2026-12-01T09:30:00Z",
            "2026-12-01t09:30:00z",
            "2026-12-01 09:30:00Z",
            "2026-12-01T09:30:00-05:00",
            "2026-12-01T09:30:00+14:00",
            "2026-12-01T23:59:59+23:59",
            "2026-12-01T09:30:00+24:00",
            "2026-12-01T09:30:00+05:60",
            "2026-12-01T09:30:00.5Z",
            "2026-12-01T09:30:00.123Z",
            "2026-12-01T09:30:00.123456789+01:00",
            "2026-12-01T09:30:00.Z",
            "2026-12-01T09:30:60Z",
            "2026-12-01T09:30:60.250Z",
            "2026-12-01T09:30:61Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T09:60:00Z",
            "2026-12-01T09:30Z",
            "2026-12-01T09:30:00",
            "2026-12-01T09:30:00+0500",
            "2026-12-01T09:30:00 Z",
            "1969-12-31T23:59:59Z",
            "0000-01-01",
            "+2026-12-01",
            "2026-1-01",
            "２026-12-01",
            "2026-12-01T09:30:00Z ",
            "",
        ];
        for case in cases {
            assert_eq!(iso_ms(case), chrono_ms(case), "{case:?}");
        }
    }

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
