//! When a campaign dials: not before its start, within its calling window (days and hours in a
//! time zone, a number's own zone over the campaign's), and not after its end. The consumer asks
//! [`Campaign::when`] for each number of a message: dial now, wait until the window opens (the
//! message goes back to the queue delayed), or never (the window does not open before the end).
//!
//! A window is written `Mon-Fri 09:00-20:00 America/New_York`: days (`Mon-Fri`, `Mon,Wed,Fri`,
//! `Fri-Mon` wrapping over the weekend), hour ranges (`09:00-12:00,14:00-20:00`; a range that
//! ends at or before its start runs past midnight into the next day; overlapping ranges
//! join), and an IANA zone the worker knows: one a flow names (`.calls_in([..])`, `hours(..)`).
//! [`pattern`] is the same grammar as a regular expression, for the OpenAPI document.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::flow::hours::{Hours, Span};
use crate::flow::lock::zones;
use crate::flow::{Registry, Weekday};

use super::Campaign;

/// How far ahead a campaign without an end looks for its window to open.
const HORIZON_MS: u64 = 366 * 86_400_000;
/// Minutes in a day.
const DAY: u16 = 1440;

/// A calling window, checked: its days, hours and time zone as the request wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// `Mon-Fri`, `Mon,Wed,Fri`, `Fri-Mon`.
    pub days: String,
    /// `09:00-20:00`, `09:00-12:00,14:00-20:00`.
    pub hours: String,
    /// The campaign's IANA zone; a number's own `time_zone` wins over it.
    pub time_zone: String,
}

impl Window {
    /// Reads `<days> <hours> <zone>` (see the module documentation); `field` names it in an
    /// error.
    pub fn parse(text: &str, registry: &Registry, field: &str) -> Result<Window, ApiError> {
        let mut parts = text.split(' ');
        let (Some(days), Some(hours), Some(zone), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(field));
        };
        if days_of(days).is_none() || ranges(hours).is_none() {
            return Err(invalid(field));
        }
        check_zone(&zones(registry), zone, field)?;
        Ok(Window {
            days: days.to_owned(),
            hours: hours.to_owned(),
            time_zone: zone.to_owned(),
        })
    }

    /// The window's hours in `zone`: each range on each of its days, a range past midnight
    /// ending on the day after, ranges that meet or overlap joined.
    pub fn hours_in(&self, zone: &str) -> Hours {
        let mut hours = Hours::new(zone);
        let (days, ranges) = (days_of(&self.days), ranges(&self.hours));
        for day in days.unwrap_or_default() {
            for &(start, end) in ranges.as_deref().unwrap_or_default() {
                if start < end {
                    hours.weekly[day.index()].push(Span { start, end });
                    continue;
                }
                hours.weekly[day.index()].push(Span { start, end: DAY });
                if end > 0 {
                    hours.weekly[day.next().index()].push(Span { start: 0, end });
                }
            }
        }
        for spans in &mut hours.weekly {
            crate::sort::by_key(spans, |s| s.start);
            let mut joined: Vec<Span> = Vec::with_capacity(spans.len());
            for span in spans.drain(..) {
                match joined.last_mut() {
                    Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
                    _ => joined.push(span),
                }
            }
            *spans = joined;
        }
        hours
    }
}

fn invalid(field: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidField,
        format!(
            "`{field}` must be days, hour ranges and a time zone, such as `Mon-Fri \
             09:00-20:00 America/New_York` or `Mon,Wed,Sat 09:00-12:00,14:00-18:00 \
             America/Chicago`"
        ),
    )
}

/// The days of `Mon-Fri`, `Mon,Wed`, `Fri-Mon` (a run wraps past Sunday).
fn days_of(text: &str) -> Option<Vec<Weekday>> {
    let mut days = Vec::new();
    for part in text.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (mut day, last) = (Weekday::parse(first)?, Weekday::parse(last)?);
        days.push(day);
        while day != last {
            day = day.next();
            days.push(day);
        }
    }
    crate::sort::by_key(&mut days, |d| *d);
    days.dedup();
    Some(days)
}

/// The ranges of `09:00-12:00,14:00-20:00`, in minutes from midnight (`24:00` is 1440).
fn ranges(text: &str) -> Option<Vec<(u16, u16)>> {
    text.split(',')
        .map(|range| {
            let (start, end) = range.split_once('-')?;
            Some((minute(start)?, minute(end)?))
        })
        .collect()
}

/// `HH:MM`, two digits each, `00:00` to `24:00`.
fn minute(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u16::from(c - b'0'))
    };
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let (h, m) = (digit(0)? * 10 + digit(1)?, digit(3)? * 10 + digit(4)?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// The grammar of [`Window::parse`] as a regular expression over the zones `zones` (none: a
/// pattern nothing matches).
pub fn pattern(zones: &[String]) -> String {
    let day = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
    let time = "(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)";
    let zones: Vec<String> = zones.iter().map(|z| z.replace('+', "\\+")).collect();
    if zones.is_empty() {
        return "^$.".to_owned();
    }
    format!(
        "^{day}(-{day})?(,{day}(-{day})?)* {time}-{time}(,{time}-{time})* ({})$",
        zones.join("|")
    )
}

/// Refuses a zone the worker does not know (`known`: [`zones`] of its registry): it is built
/// with the rules of the zones its flows name (`.calls_in([..])`, `hours(..)`), and no others.
pub(crate) fn check_zone(
    known: &BTreeSet<String>,
    zone: &str,
    field: &str,
) -> Result<(), ApiError> {
    if known.contains(zone) {
        return Ok(());
    }
    let known = match known.is_empty() {
        true => "none".to_owned(),
        false => known
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    };
    Err(ApiError::new(
        ErrorCode::UnknownTimeZone,
        format!(
            "`{field}` names `{zone}`, not a time zone the worker knows ({known}): name it in the \
             campaign flow's `.calls_in([..])`, then lock the flows and deploy"
        ),
    ))
}

/// When a number may be dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    /// Not before this moment (ms since the epoch): the start, or the window's next opening.
    At(u64),
    /// The window does not open again before the campaign's end.
    Never,
}

/// Why a campaign dials nobody now (`GET /campaigns/<id>`'s `waiting_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingFor {
    Start,
    Window,
}

impl Campaign {
    /// When a number in `time_zone` (none: the window's) may be dialled, seen at `now_ms`.
    pub fn when(&self, time_zone: Option<&str>, now_ms: u64) -> When {
        let from = self.start_ms.map_or(now_ms, |start| start.max(now_ms));
        let until = self.end_ms.unwrap_or(from.saturating_add(HORIZON_MS));
        let opens = match &self.window {
            None => (from < until).then_some(from),
            Some(window) => window
                .hours_in(time_zone.unwrap_or(&window.time_zone))
                .next_open_at(from, until),
        };
        match opens {
            None => When::Never,
            Some(at) if at <= now_ms => When::Now,
            Some(at) => When::At(at),
        }
    }

    /// Why and until when the campaign's numbers in its own zone wait, if they do.
    pub fn waiting(&self, now_ms: u64) -> Option<(WaitingFor, u64)> {
        let When::At(at) = self.when(None, now_ms) else {
            return None;
        };
        let reason = match self.start_ms.is_some_and(|start| start >= at) {
            true => WaitingFor::Start,
            false => WaitingFor::Window,
        };
        Some((reason, at))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::flow::{say, Flow, Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    use crate::telesign::DialOptions;

    fn registry() -> Registry {
        Registry::new().flow(
            Flow::outbound("remind")
                .calls_in(["America/New_York", "America/Los_Angeles"])
                .step("a", say("Hi")),
        )
    }

    fn window(text: &str) -> Window {
        Window::parse(text, &registry(), "window").unwrap()
    }

    fn campaign(window: Option<Window>, start_ms: Option<u64>, end_ms: Option<u64>) -> Campaign {
        Campaign {
            id: "c".into(),
            flow: "remind".into(),
            caller_id: "+15550000000".into(),
            vars: BTreeMap::new(),
            options: DialOptions::default(),
            total: 1,
            created_ms: 0,
            start_ms,
            window,
            end_ms,
            redial: super::super::Redial::default(),
        }
    }

    /// 2026-01-05 (a Monday) at `h`:00 UTC.
    fn monday(h: u64) -> u64 {
        1_767_571_200_000 + h * 3_600_000
    }

    #[test]
    fn a_number_waits_for_its_window_in_its_own_zone() {
        let c = campaign(
            Some(window("Mon-Sat 09:00-20:00 America/New_York")),
            None,
            None,
        );
        // 13:00 UTC is 08:00 in New York: 09:00 opens at 14:00 UTC.
        assert_eq!(c.when(None, monday(13)), When::At(monday(14)));
        assert_eq!(c.when(None, monday(15)), When::Now);
        // ...and 05:00 in Los Angeles, which opens at 17:00 UTC.
        let la = Some("America/Los_Angeles");
        assert_eq!(c.when(la, monday(15)), When::At(monday(17)));
        assert_eq!(
            c.waiting(monday(13)),
            Some((WaitingFor::Window, monday(14)))
        );
        assert_eq!(c.waiting(monday(15)), None);
        // Sunday is not in the window: Saturday 20:00 waits for Monday.
        let saturday_night = monday(24 * 6 + 1);
        assert_eq!(c.when(None, saturday_night), When::At(monday(24 * 7 + 14)));
    }

    #[test]
    fn the_start_and_the_end_bound_the_window() {
        let nine_to_eight = || Some(window("Mon-Sat 09:00-20:00 America/New_York"));
        // A start inside the window: the start.
        let c = campaign(nine_to_eight(), Some(monday(16)), None);
        assert_eq!(c.when(None, monday(15)), When::At(monday(16)));
        assert_eq!(c.waiting(monday(15)), Some((WaitingFor::Start, monday(16))));
        // A start before the window opens: the opening.
        let c = campaign(nine_to_eight(), Some(monday(12)), None);
        assert_eq!(
            c.waiting(monday(11)),
            Some((WaitingFor::Window, monday(14)))
        );
        // An end before the next opening: never.
        let c = campaign(nine_to_eight(), None, Some(monday(14)));
        assert_eq!(c.when(None, monday(13)), When::Never);
        assert_eq!(c.waiting(monday(13)), None);
        // Without a window: the start, and never once the end has passed.
        let c = campaign(None, Some(monday(10)), Some(monday(12)));
        assert_eq!(c.when(None, monday(9)), When::At(monday(10)));
        assert_eq!(c.when(None, monday(11)), When::Now);
        assert_eq!(c.when(None, monday(12)), When::Never);
        assert_eq!(campaign(None, None, None).when(None, 5), When::Now);
    }

    #[test]
    fn days_wrap_ranges_cross_midnight_and_overlaps_join() {
        let spans = |w: &Window| -> Vec<Vec<(u16, u16)>> {
            let hours = w.hours_in(&w.time_zone);
            hours
                .weekly
                .iter()
                .map(|d| d.iter().map(|s| (s.start, s.end)).collect())
                .collect()
        };
        let w = window("Fri-Mon,Wed 20:00-02:00,21:00-22:00 America/New_York");
        assert_eq!(days_of(&w.days), Some(vec![Mon, Wed, Fri, Sat, Sun]));
        let week = spans(&w);
        assert_eq!(
            week[Mon.index()],
            [(0, 120), (1200, 1440)],
            "Sunday's night ends on Monday"
        );
        assert_eq!(week[Tue.index()], [(0, 120)]);
        assert_eq!(week[Thu.index()], [(0, 120)]);
        assert_eq!(week[Sat.index()], [(0, 120), (1200, 1440)]);
        let w = window("Mon 09:00-12:00,11:00-13:00,13:00-14:00 America/New_York");
        assert_eq!(spans(&w)[Mon.index()], [(540, 840)]);
        // A range from a time to itself is a whole day from it.
        let w = window("Sun 09:00-09:00 America/New_York");
        let week = spans(&w);
        assert_eq!(
            (week[Sun.index()].clone(), week[Mon.index()].clone()),
            (vec![(540, 1440)], vec![(0, 540)])
        );
        assert_eq!(days_of("Mon-Mon"), Some(vec![Mon]));
        assert_eq!(days_of("Sun-Tue"), Some(vec![Mon, Tue, Sun]));
        assert_eq!(days_of("Fri"), Some(vec![Fri]));
    }

    #[test]
    fn a_window_is_read_exactly_as_its_pattern_says() {
        let zones = vec![
            "America/Los_Angeles".to_owned(),
            "America/New_York".to_owned(),
        ];
        let pattern = pattern(&zones);
        // The end-to-end tests hold the document's pattern to the same cases.
        let matches = |text: &str| Window::parse(text, &registry(), "window").is_ok();
        for good in [
            "Mon-Fri 09:00-20:00 America/New_York",
            "Sat,Sun-Mon 00:00-24:00,23:59-00:01 America/Los_Angeles",
            "Fri-Mon 24:00-09:00 America/New_York",
        ] {
            assert!(matches(good), "{good}");
        }
        for bad in [
            "Mon-Fri 09:00-20:00",
            "Mon-Fri  09:00-20:00 America/New_York",
            "mon-fri 09:00-20:00 America/New_York",
            "Monday 09:00-20:00 America/New_York",
            "Mon- 09:00-20:00 America/New_York",
            "Mon,,Tue 09:00-20:00 America/New_York",
            "Mon 9:00-20:00 America/New_York",
            "Mon 09:00-24:01 America/New_York",
            "Mon 09:60-20:00 America/New_York",
            "Mon 09:00-20:00, America/New_York",
            "Mon 09:00-20:00 America/New_York ",
            "Mon 09:00 America/New_York",
            "Mon +9:00-20:00 America/New_York",
        ] {
            assert!(!matches(bad), "{bad}");
        }
        assert!(
            pattern.ends_with(" (America/Los_Angeles|America/New_York)$"),
            "{pattern}"
        );
        assert_eq!(super::pattern(&[]), "^$.");
        let e = Window::parse("Mon 09:00-20:00 Europe/Paris", &registry(), "window").unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownTimeZone);
        assert!(
            e.message.contains("America/Los_Angeles, America/New_York"),
            "{}",
            e.message
        );
        let e = check_zone(&BTreeSet::new(), "America/New_York", "time_zone").unwrap_err();
        assert!(e.message.contains("(none)"), "{}", e.message);
    }
}
