//! A campaign as a spreadsheet exports it: `POST /campaigns.csv?flow=<name>` with a `text/csv` body,
//! one row per number. The header row names the columns: `to` (the number), `time_zone` (the
//! number's own zone for the window, optional), and each other column a var of that number's call
//! (an empty cell leaves the var or the zone unset). RFC 4180: fields separated by
//! commas, quoted with `"` (a quote inside doubled), rows ended by CRLF or LF; a UTF-8 byte order
//! mark (Excel writes one) is skipped, and blank lines are ignored.

use std::collections::BTreeMap;

use crate::error::{ApiError, ErrorCode};
use crate::flow::Registry;
use crate::telesign::DialOptions;

use super::{CampaignRequest, Member, MemberChecks, Redial, Window, SCHEDULE_FIELDS};
use crate::api::body;

/// The query parameters of a CSV campaign besides its schedule ([`SCHEDULE_FIELDS`]).
const QUERY: &[&str] = &["flow", "caller_id_number"];

/// The column of a number's own time zone.
const TIME_ZONE: &str = "time_zone";

/// Reads a CSV campaign: the body, and the flow, caller id, start, end, window and redials from
/// the query ([`QUERY`], [`SCHEDULE_FIELDS`]). Every row is checked before anything is queued;
/// one bad row refuses the campaign and names it (the header is row 1).
pub fn parse_campaign_csv(
    body: &[u8],
    query: &[(String, String)],
    registry: &Registry,
    default_caller_id: Option<&str>,
) -> Result<CampaignRequest, ApiError> {
    let known = || QUERY.iter().chain(SCHEDULE_FIELDS).copied();
    let mut given: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in query {
        let Some(name) = known().find(|known| known == name) else {
            let known: Vec<&str> = known().collect();
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!(
                    "`{name}` is not a parameter of a CSV campaign ({})",
                    known.join(", ")
                ),
            ));
        };
        if given.insert(name, value).is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("`{name}` is given twice"),
            ));
        }
    }
    // An empty query value is the parameter left out, as in every query of the API.
    let get = |name: &str| given.get(name).copied().filter(|v| !v.is_empty());
    let (flow, caller_id, start, end, window) = (
        get("flow"),
        get("caller_id_number"),
        get("start_at"),
        get("end_at"),
        get("window"),
    );
    let (attempts, after) = (get("redial_attempts"), get("redial_after_secs"));
    let whole = |name: &str, value: Option<&str>| {
        value
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| body::wrong_type(name, "a whole number"))
            })
            .transpose()
    };
    let redial = Redial::of(
        whole("redial_attempts", attempts)?,
        whole("redial_after_secs", after)?,
    )?;
    let flow = flow.ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingField,
            "name the flow in the query: `POST /campaigns.csv?flow=<name>`",
        )
    })?;
    let flow = body::outbound_flow(registry, flow)?;
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCsv, "the CSV is not UTF-8"))?;
    let rows = rows(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    let Some(((_, header), rows)) = rows.split_first() else {
        return Err(invalid(
            1,
            "the CSV is empty: it needs a header row and a row per number",
        ));
    };
    let names: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    let to_column = names.iter().position(|n| *n == "to").ok_or_else(|| {
        invalid(
            1,
            "the header row names no `to` column (the number to call)",
        )
    })?;
    let zone_column = names.iter().position(|n| *n == TIME_ZONE);
    let mut members = Vec::with_capacity(rows.len());
    for (line, cells) in rows {
        if cells.len() != names.len() {
            return Err(invalid(
                *line,
                &format!("{} fields, and the header has {}", cells.len(), names.len()),
            ));
        }
        let vars: serde_json::Map<String, serde_json::Value> = crate::sort::collected(
            names
                .iter()
                .zip(cells)
                .enumerate()
                .filter(|(i, (_, cell))| {
                    *i != to_column && Some(*i) != zone_column && !cell.is_empty()
                })
                .map(|(_, (name, cell))| ((*name).to_owned(), cell.clone().into())),
        );
        let place = format!("row {line}");
        let to = body::number(&format!("{place} `to`"), cells[to_column].trim())?;
        let vars =
            body::vars(Some(&serde_json::Value::Object(vars))).map_err(|e| e.prefixed(&place))?;
        let time_zone = zone_column
            .map(|i| cells[i].trim().to_owned())
            .filter(|z| !z.is_empty());
        members.push(Member {
            to,
            vars,
            time_zone,
        });
    }
    let window = window
        .map(|text| Window::parse(text, registry, "window"))
        .transpose()?;
    let lines: Vec<usize> = rows.iter().map(|(line, _)| *line).collect();
    let shared = BTreeMap::new();
    let checks = MemberChecks {
        registry,
        flow,
        shared: &shared,
        window: window.as_ref(),
    };
    checks.check(&members, |i| format!("row {}", lines[i]))?;
    let (start_ms, end_ms) = super::schedule(start, end)?;
    Ok(CampaignRequest {
        flow: flow.name.clone(),
        caller_id: body::caller_id(caller_id, default_caller_id)?,
        vars: shared,
        options: DialOptions::default(),
        start_ms,
        end_ms,
        window,
        redial,
        members,
    })
}

fn invalid(line: usize, why: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidCsv, format!("row {line}: {why}"))
}

/// The rows of `text`, each with its line number (1-based, where the row starts), blank lines
/// left out.
fn rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, ApiError> {
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut any_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(invalid(start, "a quoted field is not closed"));
                }
                break;
            };
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    cell.push(c);
                }
                (false, '"') if cell.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                    any_quoted = true;
                }
                (false, '"') => {
                    return Err(invalid(start, "a quote inside a field that is not quoted"));
                }
                (false, ',') => {
                    cells.push(std::mem::take(&mut cell));
                    was_quoted = false;
                }
                (false, '\r') if chars.peek() == Some(&'\n') => {}
                (false, '\n') => {
                    line += 1;
                    break;
                }
                (false, c) if was_quoted => {
                    return Err(invalid(
                        start,
                        &format!("`{c}` after a closing quote (fields are separated by commas)"),
                    ));
                }
                (false, c) => cell.push(c),
            }
        }
        cells.push(cell);
        // A blank line, or a row of empty cells (`,,`, as spreadsheets export trailing rows).
        let blank = !any_quoted && cells.iter().all(|c| c.trim().is_empty());
        if !blank {
            rows.push((start, cells));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{say, Flow};

    fn registry() -> Registry {
        Registry::new().flow(
            Flow::outbound("remind")
                .needs(["name", "when"])
                .calls_in(["America/New_York", "America/Chicago"])
                .step("a", say("Hi {name}, {when}")),
        )
    }

    fn parse(csv: &str, query: &[(&str, &str)]) -> Result<CampaignRequest, ApiError> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        parse_campaign_csv(csv.as_bytes(), &query, &registry(), Some("15550000000"))
    }

    #[test]
    fn a_spreadsheet_export_is_read_with_each_rows_vars() {
        let csv = "\u{feff}to,name,when\r\n+15555550001,Sam,\"Friday, 9 AM\"\r\n,,\r\n\
                   15555550002,\"Ana \"\"Nana\"\" Ruiz\",Monday at 2 PM\r\n";
        let r = parse(csv, &[("flow", "remind")]).unwrap();
        assert_eq!(r.members.len(), 2);
        assert_eq!(r.members[0].to.e164(), "+15555550001");
        assert_eq!(r.members[0].vars["when"], "Friday, 9 AM");
        assert_eq!(r.members[1].vars["name"], "Ana \"Nana\" Ruiz");
        assert_eq!(r.caller_id.digits(), "15550000000");
        // A quoted field may hold a line break; LF line ends work too.
        let r = parse(
            "to,name,when\n15555550001,\"Sam\nSmith\",now\n",
            &[("flow", "remind")],
        );
        assert_eq!(r.unwrap().members[0].vars["name"], "Sam\nSmith");
    }

    #[test]
    fn the_query_gives_a_window_and_a_row_its_own_zone() {
        let csv = "to,name,when,time_zone\n+15555550001,Sam,Friday,America/Chicago\n\
                   +15555550002,Ana,Monday,\n";
        let window = [
            ("flow", "remind"),
            ("end_at", "2026-12-31"),
            ("window", "Mon-Fri 09:00-20:00 America/New_York"),
        ];
        let r = parse(csv, &window).unwrap();
        let zones: Vec<_> = r.members.iter().map(|m| m.time_zone.as_deref()).collect();
        assert_eq!(zones, [Some("America/Chicago"), None]);
        assert!(!r.members[0].vars.contains_key("time_zone"));
        assert_eq!(r.window.unwrap().days, "Mon-Fri");
        assert_eq!(r.end_ms, Some(1_798_675_200_000));
        let cases = [
            (
                &window[..2],
                "invalid_field",
                "row 2: a number's `time_zone` needs",
            ),
            (
                &[window[0], ("window", "Mon-Fri")][..],
                "invalid_field",
                "`window` must be",
            ),
        ];
        for (query, code, says) in cases {
            let e = parse(csv, query).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.message.contains(says)),
                (code, true),
                "{}",
                e.message
            );
        }
        let denver = csv.replace("America/Chicago", "America/Denver");
        let e = parse(&denver, &window).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownTimeZone);
        assert!(e.message.contains("row 2.time_zone"), "{}", e.message);
    }

    #[test]
    fn a_malformed_file_or_row_is_refused_and_named() {
        let cases = [
            ("", "invalid_csv", "row 1"),
            ("name,when\nSam,now\n", "invalid_csv", "no `to` column"),
            (
                "to,name,when\n15555550001,Sam\n",
                "invalid_csv",
                "row 2: 2 fields",
            ),
            (
                "to,name,when\n15555550001,\"Sam,now\n",
                "invalid_csv",
                "not closed",
            ),
            (
                "to,name,when\n15555550001,Sa\"m,now\n",
                "invalid_csv",
                "row 2: a quote",
            ),
            (
                "to,name,when\n15555550001,\"Sam\"x,now\n",
                "invalid_csv",
                "after a closing",
            ),
            (
                "to,name,when\n15555550001,Sam,now\n12,Ana,now\n",
                "invalid_number",
                "row 3",
            ),
            (
                "to,name,when\n15555550001,Sam,now\n15555550001,Ana,now\n",
                "duplicate_number",
                "row 3",
            ),
            (
                "to,name,when\n15555550001,Sam,now\n15555550002,,now\n",
                "missing_vars",
                "row 3",
            ),
            (
                "to,na me,when\n15555550001,Sam,now\n",
                "invalid_vars",
                "row 2",
            ),
        ];
        for (csv, code, says) in cases {
            let e = parse(csv, &[("flow", "remind")]).unwrap_err();
            assert_eq!(e.code.as_str(), code, "{csv:?}: {}", e.message);
            assert!(e.message.contains(says), "{csv:?}: {}", e.message);
        }
        let ok = "to,name,when\n15555550001,Sam,now\n";
        for (query, code) in [
            (vec![], "missing_field"),
            (vec![("flow", "nope")], "unknown_flow"),
            (
                vec![("flow", "remind"), ("flow", "remind")],
                "invalid_query",
            ),
            (vec![("flow", "remind"), ("limit", "3")], "invalid_query"),
        ] {
            assert_eq!(
                parse(ok, &query).unwrap_err().code.as_str(),
                code,
                "{query:?}"
            );
        }
        assert_eq!(
            parse_campaign_csv(
                &[0xff, 0xfe],
                &[("flow".into(), "remind".into())],
                &registry(),
                None
            )
            .unwrap_err()
            .code
            .as_str(),
            "invalid_csv"
        );
    }
}
