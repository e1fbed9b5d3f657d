//! Opening hours: per weekday ranges, dated closures and dated special hours, in a named IANA
//! time zone. The engine asks [`Hours::is_open_at`] with the event's time; the checker asks
//! [`Hours::problems`]. Time-zone rules come from `chrono-tz`: the worker is compiled with only
//! the zones the registered flows name (the filter in `flows/flows.lock`, see [`super::lock`]).

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The variable an hours step sets when it is closed: the hours in words.
pub const OPENING_HOURS: &str = "opening_hours";

const DAY_MS: u64 = 86_400_000;

/// A day of the week. `Mon..=Fri` names a run of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// `Mon`, `Tue`, ... `Sun`, as written.
    pub fn parse(text: &str) -> Option<Weekday> {
        Weekday::ALL.into_iter().find(|d| d.name()[..3] == *text)
    }

    /// The day after.
    pub fn next(self) -> Weekday {
        Weekday::ALL[(self.index() + 1) % 7]
    }

    fn name(self) -> &'static str {
        [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ][self.index()]
    }
}

/// Days an opening range applies to: one day, a run (`Mon..=Fri`), or a list.
pub trait Days {
    fn days(self) -> Vec<Weekday>;
}

impl Days for Weekday {
    fn days(self) -> Vec<Weekday> {
        vec![self]
    }
}

impl Days for RangeInclusive<Weekday> {
    fn days(self) -> Vec<Weekday> {
        let (start, end) = (self.start().index(), self.end().index());
        Weekday::ALL
            .iter()
            .copied()
            .filter(|d| (start..=end).contains(&d.index()))
            .collect()
    }
}

impl<const N: usize> Days for [Weekday; N] {
    fn days(self) -> Vec<Weekday> {
        self.to_vec()
    }
}

/// Opening minutes of one day, `start..end` from midnight (`end` may be 1440, "24:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u16,
    pub end: u16,
}

/// A flow's opening hours (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours {
    pub zone: String,
    /// Monday first.
    pub weekly: [Vec<Span>; 7],
    pub closed_on: Vec<NaiveDate>,
    /// Dates with other hours than their weekday's.
    pub special: Vec<(NaiveDate, Vec<Span>)>,
    /// What did not parse, for the checker: a range, a date.
    problems: Vec<String>,
}

/// A moment as the clock on the wall shows it in the hours' zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    pub date: NaiveDate,
    pub weekday: Weekday,
    /// Minutes since local midnight.
    pub minute: u16,
}

impl Hours {
    pub fn new(zone: &str) -> Self {
        Hours {
            zone: zone.to_owned(),
            weekly: Default::default(),
            closed_on: Vec::new(),
            special: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Opens `days` for the ranges in `ranges` (`"09:00-12:00, 13:00-17:30"`).
    pub fn open(&mut self, days: impl Days, ranges: &str) {
        let spans = self.spans(ranges);
        for day in days.days() {
            self.weekly[day.index()].extend(spans.iter().copied());
        }
    }

    /// Closed all day on `date` (`"2026-12-25"`).
    pub fn closed_on(&mut self, date: &str) {
        if let Some(date) = self.date(date) {
            self.closed_on.push(date);
        }
    }

    /// Open on `date` for `ranges` only, whatever its weekday says.
    pub fn special(&mut self, date: &str, ranges: &str) {
        let spans = self.spans(ranges);
        if let Some(date) = self.date(date) {
            self.special.push((date, spans));
        }
    }

    /// What the checker reports: the zone is not compiled in or not an IANA name, a range or
    /// a date does not parse, ranges of a day overlap.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.problems.clone();
        if self.zone.parse::<Tz>().is_err() {
            out.push(format!(
                "`{}` is not an IANA time zone name (such as America/New_York)",
                self.zone
            ));
        }
        let days = self
            .weekly
            .iter()
            .zip(Weekday::ALL.iter().map(|d| d.name()));
        let dated = self.special.iter().map(|(d, s)| (s, d.to_string()));
        for (spans, day) in days.map(|(s, d)| (s, d.to_owned())).chain(dated) {
            let mut sorted = spans.clone();
            crate::sort::by_key(&mut sorted, |s| s.start);
            if sorted.windows(2).any(|w| w[1].start < w[0].end) {
                out.push(format!("the ranges of {day} overlap"));
            }
        }
        out
    }

    /// The wall-clock moment `utc_ms` is in the zone; `None` when the zone is unknown.
    pub fn local(&self, utc_ms: u64) -> Option<Local> {
        let tz: Tz = self.zone.parse().ok()?;
        let utc = Utc
            .timestamp_millis_opt(i64::try_from(utc_ms).ok()?)
            .single()?;
        let local = utc.with_timezone(&tz);
        let weekday = Weekday::ALL[local.weekday().num_days_from_monday() as usize];
        let minute = u16::try_from(local.hour() * 60 + local.minute()).ok()?;
        Some(Local {
            date: local.date_naive(),
            weekday,
            minute,
        })
    }

    /// Whether the hours are open at `utc_ms`; `None` when the zone is unknown.
    pub fn is_open_at(&self, utc_ms: u64) -> Option<bool> {
        let local = self.local(utc_ms)?;
        Some(
            self.spans_on(local.date)
                .iter()
                .any(|s| (s.start..s.end).contains(&local.minute)),
        )
    }

    /// The first moment at or after `from_ms` and before `until_ms` when the hours are open;
    /// `None` when they do not open in that time or the zone is unknown. A range that starts in
    /// the hour daylight saving skips opens when the clocks show a time of it again.
    pub fn next_open_at(&self, from_ms: u64, until_ms: u64) -> Option<u64> {
        if from_ms >= until_ms {
            return None;
        }
        if self.is_open_at(from_ms)? {
            return Some(from_ms);
        }
        let tz: Tz = self.zone.parse().ok()?;
        let mut date = self.local(from_ms)?.date;
        // Every day from the local date of `from_ms` to the one of `until_ms`, and one more for
        // a zone ahead of UTC.
        let days = (until_ms - from_ms) / DAY_MS + 2;
        for _ in 0..days {
            let mut spans = self.spans_on(date).to_vec();
            crate::sort::by_key(&mut spans, |s| s.start);
            for span in spans {
                let opens = (span.start..span.end).find_map(|minute| {
                    let time =
                        date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
                    let utc = tz.from_local_datetime(&time).earliest()?;
                    u64::try_from(utc.timestamp_millis()).ok()
                });
                match opens {
                    Some(at) if at >= until_ms => return None,
                    Some(at) if at > from_ms => return Some(at),
                    _ => {}
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// The opening ranges of a local date: none when it is closed, its special hours, else its
    /// weekday's.
    fn spans_on(&self, date: NaiveDate) -> &[Span] {
        if self.closed_on.contains(&date) {
            return &[];
        }
        let weekday = Weekday::ALL[date.weekday().num_days_from_monday() as usize];
        self.special
            .iter()
            .find(|(d, _)| *d == date)
            .map_or(&self.weekly[weekday.index()], |(_, spans)| spans)
    }

    /// The weekly hours in words, for callers who ring when it is closed: "Monday to Friday
    /// from 9 AM to 5:30 PM, and Saturday from 10 AM to 2 PM".
    pub fn describe(&self) -> String {
        self.describe_in("en-US")
    }

    /// The weekly hours in words of `language`: English, or Spanish for the `es-` languages
    /// ([`Hours::speaks`]); in English for any other.
    pub fn describe_in(&self, language: &str) -> String {
        let words = Words::of(language);
        let mut groups: Vec<(Weekday, Weekday, &Vec<Span>)> = Vec::new();
        for day in Weekday::ALL {
            let spans = &self.weekly[day.index()];
            if spans.is_empty() {
                continue;
            }
            match groups.last_mut() {
                Some((_, last, same)) if *same == spans && last.index() + 1 == day.index() => {
                    *last = day;
                }
                _ => groups.push((day, day, spans)),
            }
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(first, last, spans)| {
                let name = |d: &Weekday| words.days[d.index()];
                let days = if first == last {
                    format!("{}{}", words.one_day, name(first))
                } else {
                    let (from, to) = (words.from_day, words.to);
                    format!("{from}{} {to} {}", name(first), name(last))
                };
                let times: Vec<String> = spans
                    .iter()
                    .map(|s| {
                        let (start, end) = (words.time(s.start), words.time(s.end));
                        format!("{} {start} {} {end}", words.from, words.to)
                    })
                    .collect();
                format!("{days} {}", times.join(&format!(" {} ", words.and)))
            })
            .collect();
        match parts.split_last() {
            None => words.closed.to_owned(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{}, {} {last}", rest.join(", "), words.and),
        }
    }

    /// Whether [`Hours::describe_in`] has words of its own for `language`.
    pub fn speaks(language: &str) -> bool {
        language.starts_with("en-") || language.starts_with("es-")
    }

    fn spans(&mut self, ranges: &str) -> Vec<Span> {
        let mut out = Vec::new();
        for range in ranges.split(',').map(str::trim) {
            match parse_span(range) {
                Some(span) => out.push(span),
                None => self.problems.push(format!(
                    "`{range}` is not a range of the same day such as `09:00-17:30`"
                )),
            }
        }
        out
    }

    fn date(&mut self, text: &str) -> Option<NaiveDate> {
        // `YYYY-MM-DD` read by hand: chrono's format parser would weigh more in the worker than
        // this one format needs (see `crate::iso`).
        let date = text
            .trim()
            .split_once('-')
            .and_then(|(y, md)| Some((y, md.split_once('-')?)))
            .filter(|(y, (m, d))| y.len() == 4 && m.len() == 2 && d.len() == 2)
            .and_then(|(y, (m, d))| {
                NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
            });
        if date.is_none() {
            self.problems
                .push(format!("`{text}` is not a date such as `2026-12-25`"));
        }
        date
    }
}

/// `HH:MM-HH:MM` within one day, start before end (`24:00` may end it).
fn parse_span(text: &str) -> Option<Span> {
    let (start, end) = text.split_once('-')?;
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let (start, end) = (minute(start)?, minute(end)?);
    (start < end).then_some(Span { start, end })
}

/// `540` as "9 AM", `1050` as "5:30 PM", `720` as "noon", `1440` as "midnight".
/// The words hours are said in.
struct Words {
    days: [&'static str; 7],
    /// Before a single day's name (Spanish: "el sábado").
    one_day: &'static str,
    /// Before a range of days, with its space ("de lunes"); English takes none.
    from_day: &'static str,
    /// Before a range of hours.
    from: &'static str,
    to: &'static str,
    and: &'static str,
    closed: &'static str,
    noon: &'static str,
    midnight: &'static str,
}

impl Words {
    fn of(language: &str) -> &'static Words {
        const EN: Words = Words {
            days: [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
            one_day: "",
            from_day: "",
            from: "from",
            to: "to",
            and: "and",
            closed: "closed",
            noon: "noon",
            midnight: "midnight",
        };
        const ES: Words = Words {
            days: [
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ],
            one_day: "el ",
            from_day: "de ",
            from: "de",
            to: "a",
            and: "y",
            closed: "cerrado",
            noon: "mediodía",
            midnight: "medianoche",
        };
        if language.starts_with("es-") {
            &ES
        } else {
            &EN
        }
    }

    /// A time of day: `noon`, `8 AM`, `5:30 PM` (English), `mediodía`, ... (Spanish).
    fn time(&self, minute: u16) -> String {
        match minute {
            720 => self.noon.to_owned(),
            0 | 1440 => self.midnight.to_owned(),
            _ => spoken(minute),
        }
    }
}

fn spoken(minute: u16) -> String {
    let (h, m) = (minute / 60, minute % 60);
    match (h, m) {
        (12, 0) => return "noon".to_owned(),
        (0 | 24, 0) => return "midnight".to_owned(),
        _ => {}
    }
    let (hour12, half) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    let mut out = hour12.to_string();
    if m > 0 {
        let _ = write!(out, ":{m:02}");
    }
    out.push(' ');
    out.push_str(half);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    /// Milliseconds of a UTC moment.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> u64 {
        let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap();
        u64::try_from(t.timestamp_millis()).unwrap()
    }

    fn office() -> Hours {
        let mut h = Hours::new("America/New_York");
        h.open(Mon..=Fri, "09:00-17:30");
        h.open(Sat, "10:00-12:00, 13:00-14:00");
        h.closed_on("2026-12-25");
        h.special("2026-12-24", "09:00-12:00");
        h
    }

    #[test]
    fn the_edges_of_every_range_in_winter() {
        // New York is UTC-5 in January. 2026-01-05 is a Monday.
        let h = office();
        assert_eq!(h.is_open_at(utc(2026, 1, 5, 13, 59)), Some(false), "08:59");
        assert_eq!(h.is_open_at(utc(2026, 1, 5, 14, 0)), Some(true), "09:00");
        assert_eq!(h.is_open_at(utc(2026, 1, 5, 22, 29)), Some(true), "17:29");
        assert_eq!(h.is_open_at(utc(2026, 1, 5, 22, 30)), Some(false), "17:30");
        // Saturday 2026-01-10: two ranges with a lunch break.
        assert_eq!(h.is_open_at(utc(2026, 1, 10, 15, 0)), Some(true), "10:00");
        assert_eq!(h.is_open_at(utc(2026, 1, 10, 17, 0)), Some(false), "12:00");
        assert_eq!(h.is_open_at(utc(2026, 1, 10, 18, 0)), Some(true), "13:00");
        assert_eq!(h.is_open_at(utc(2026, 1, 10, 19, 0)), Some(false), "14:00");
        // Sunday closed.
        assert_eq!(h.is_open_at(utc(2026, 1, 11, 15, 0)), Some(false));
    }

    #[test]
    fn closures_and_special_days_win_over_the_weekday() {
        let h = office();
        // Friday 2026-12-25 at 10:00 local (15:00 UTC): closed for Christmas.
        assert_eq!(h.is_open_at(utc(2026, 12, 25, 15, 0)), Some(false));
        // Thursday 2026-12-24: open 09:00-12:00 only.
        assert_eq!(h.is_open_at(utc(2026, 12, 24, 16, 59)), Some(true), "11:59");
        assert_eq!(h.is_open_at(utc(2026, 12, 24, 17, 0)), Some(false), "12:00");
    }

    #[test]
    fn daylight_saving_starts_and_ends() {
        // 2026-03-08 (a Sunday) 02:00 EST jumps to 03:00 EDT; on Monday 2026-03-09 New York is
        // UTC-4, so 09:00 local is 13:00 UTC, not 14:00.
        let h = office();
        assert_eq!(
            h.is_open_at(utc(2026, 3, 9, 12, 59)),
            Some(false),
            "08:59 EDT"
        );
        assert_eq!(
            h.is_open_at(utc(2026, 3, 9, 13, 0)),
            Some(true),
            "09:00 EDT"
        );
        // 2026-11-01 (a Sunday) 02:00 EDT falls back to 01:00 EST; on Monday 2026-11-02 09:00
        // local is 14:00 UTC again.
        assert_eq!(
            h.is_open_at(utc(2026, 11, 2, 13, 59)),
            Some(false),
            "08:59 EST"
        );
        assert_eq!(
            h.is_open_at(utc(2026, 11, 2, 14, 0)),
            Some(true),
            "09:00 EST"
        );
        // Within the changes: 06:59 UTC on 2026-03-08 is 01:59 EST, 07:00 is 03:00 EDT.
        let mut night = Hours::new("America/New_York");
        night.open(Sun, "02:00-03:00");
        assert_eq!(
            night.is_open_at(utc(2026, 3, 8, 6, 59)),
            Some(false),
            "01:59"
        );
        assert_eq!(
            night.is_open_at(utc(2026, 3, 8, 7, 0)),
            Some(false),
            "03:00"
        );
        // 05:30 and 06:30 UTC on 2026-11-01 are both 01:30 local (EDT, then EST).
        night.open(Sun, "01:00-02:00");
        assert_eq!(night.is_open_at(utc(2026, 11, 1, 5, 30)), Some(true));
        assert_eq!(night.is_open_at(utc(2026, 11, 1, 6, 30)), Some(true));
        assert_eq!(
            night.is_open_at(utc(2026, 11, 1, 7, 0)),
            Some(true),
            "02:00 EST"
        );
    }

    #[test]
    fn the_next_opening_is_found_across_nights_weekends_closures_and_clock_changes() {
        let h = office();
        let far = utc(2027, 1, 1, 0, 0);
        // Open now: now.
        let monday_ten = utc(2026, 1, 5, 15, 0);
        assert_eq!(h.next_open_at(monday_ten, far), Some(monday_ten));
        // Monday 08:00 local: 09:00 the same day.
        assert_eq!(
            h.next_open_at(utc(2026, 1, 5, 13, 0), far),
            Some(utc(2026, 1, 5, 14, 0))
        );
        // Friday 18:00 local: Saturday 10:00; Saturday 12:30: 13:00; Saturday 15:00: Monday 09:00.
        assert_eq!(
            h.next_open_at(utc(2026, 1, 9, 23, 0), far),
            Some(utc(2026, 1, 10, 15, 0))
        );
        assert_eq!(
            h.next_open_at(utc(2026, 1, 10, 17, 30), far),
            Some(utc(2026, 1, 10, 18, 0))
        );
        assert_eq!(
            h.next_open_at(utc(2026, 1, 10, 20, 0), far),
            Some(utc(2026, 1, 12, 14, 0))
        );
        // Before it opens, or with the end at the opening: never.
        let saturday_night = utc(2026, 1, 10, 20, 0);
        assert_eq!(
            h.next_open_at(saturday_night, utc(2026, 1, 12, 14, 0)),
            None
        );
        assert_eq!(h.next_open_at(saturday_night, saturday_night), None);
        // Thursday 2026-12-24 after noon: Christmas is closed, so Saturday 10:00 (UTC-5).
        assert_eq!(
            h.next_open_at(utc(2026, 12, 24, 18, 0), far),
            Some(utc(2026, 12, 26, 15, 0))
        );
        // Sunday 2026-03-08 evening: Monday 09:00 EDT is 13:00 UTC.
        assert_eq!(
            h.next_open_at(utc(2026, 3, 8, 23, 0), far),
            Some(utc(2026, 3, 9, 13, 0))
        );
        // A range that starts in the skipped hour opens when it ends: 02:30 on 2026-03-08 does
        // not exist, 03:00 EDT (07:00 UTC) does.
        let mut night = Hours::new("America/New_York");
        night.open(Sun, "02:30-04:00");
        assert_eq!(
            night.next_open_at(utc(2026, 3, 8, 0, 0), far),
            Some(utc(2026, 3, 8, 7, 0))
        );
        // A zone ahead of UTC: Tokyo's Monday 09:00 is Sunday 24:00 UTC.
        let mut tokyo = Hours::new("Asia/Tokyo");
        tokyo.open(Mon, "09:00-10:00");
        assert_eq!(
            tokyo.next_open_at(utc(2026, 1, 4, 12, 0), far),
            Some(utc(2026, 1, 5, 0, 0))
        );
        // Hours that never open, and an unknown zone.
        assert_eq!(Hours::new("America/New_York").next_open_at(0, far), None);
        assert_eq!(Hours::new("Mars/Base").next_open_at(0, far), None);
    }

    #[test]
    fn the_checker_hears_of_bad_zones_ranges_dates_and_overlaps() {
        let mut h = Hours::new("Mars/Olympus_Mons");
        h.open(Mon, "17:00-09:00");
        h.open(Tue, "9-5");
        h.open(Wed, "09:00-12:00, 11:00-13:00");
        h.closed_on("2026-02-30");
        let problems = h.problems().join("\n");
        for needle in [
            "`17:00-09:00`",
            "`9-5`",
            "2026-02-30",
            "Wednesday overlap",
            "Mars/Olympus_Mons",
        ] {
            assert!(problems.contains(needle), "{needle} not in:\n{problems}");
        }
        assert_eq!(h.is_open_at(0), None, "an unknown zone has no local time");
        assert!(office().problems().is_empty(), "{:?}", office().problems());
    }

    #[test]
    fn the_hours_in_spanish_words() {
        let mut h = Hours::new("America/New_York");
        h.open(Mon..=Fri, "09:00-17:30");
        h.open(Sat, "10:00-12:00, 13:00-14:00");
        assert_eq!(
            h.describe_in("es-US"),
            "de lunes a viernes de 9 AM a 5:30 PM, y el sábado de 10 AM a mediodía y de 1 PM a 2 PM"
        );
        assert_eq!(Hours::new("UTC").describe_in("es-MX"), "cerrado");
        assert!(Hours::speaks("es-US") && Hours::speaks("en-GB") && !Hours::speaks("fr-FR"));
    }

    #[test]
    fn the_hours_in_words() {
        assert_eq!(
            office().describe(),
            "Monday to Friday from 9 AM to 5:30 PM, and Saturday from 10 AM to noon and from 1 PM to 2 PM"
        );
        let mut h = Hours::new("America/New_York");
        h.open([Mon, Wed], "00:00-24:00");
        assert_eq!(
            h.describe(),
            "Monday from midnight to midnight, and Wednesday from midnight to midnight"
        );
        assert_eq!(Hours::new("America/New_York").describe(), "closed");
    }
}
