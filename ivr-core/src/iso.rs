//! Moments as the API reads them: RFC 3339 date-times and dates (`GET /calls?since=`, a campaign's
//! `start_at`, `DEV_CLOCK`), in milliseconds since the epoch.

use chrono::NaiveDate;

/// An RFC 3339 date-time (fractions of a second past the millisecond dropped) or a date, in
/// milliseconds since the epoch. Read by hand: chrono's format parser (`parse_from_rfc3339`,
/// `NaiveDate::from_str`) brings its whole format machinery into the wasm for these two formats;
/// chrono still checks the calendar. Its parser is the oracle of the tests.
pub fn iso_ms(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(5, 2)?, num(8, 2)?)?;
    if b.len() == 10 {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    }
    let separators: [(usize, &[u8]); 3] = [(10, b"Tt "), (13, b":"), (16, b":")];
    if !separators
        .iter()
        .all(|(at, ok)| b.get(*at).is_some_and(|c| ok.contains(c)))
    {
        return None;
    }
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut at = 19;
    let mut milli = 0;
    if b.get(at) == Some(&b'.') {
        let digits = b[at + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        milli = (0..3).fold(0, |n, i| {
            n * 10 + num(at + 1 + i, 1).filter(|_| i < digits).unwrap_or(0)
        });
        at += 1 + digits;
    }
    let offset_min = match &b[at..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    // A leap second (`:60`) is chrono's second 59 with 1000 ms more.
    let (second, milli) = if second == 60 {
        (59, 1000 + milli)
    } else {
        (second, milli)
    };
    let local = date.and_hms_milli_opt(hour, minute, second, milli)?;
    Some(local.and_utc().timestamp_millis() - offset_min * 60_000)
}
