//! Every masking rule in one place: what a log line, a call record or a tool shows of a phone
//! number or of a sensitive caller entry.

use crate::telesign::PhoneNumber;

/// A phone number with all but its last four digits hidden (`+*******5309`), as log lines show
/// it; anything that is not a phone number is not shown at all.
pub fn mask_number(number: &str) -> String {
    PhoneNumber::parse(number).map_or_else(|_| "<not a number>".to_owned(), |p| p.masked())
}

/// A sensitive entry as records keep it: a `*` per character, but the last `keep_last` ones
/// (`****5674`), so that the mask tells its length and no more than the flow chose to keep.
/// Never more than half of the entry is kept.
pub fn mask_entry(entry: &str, keep_last: u8) -> String {
    let len = entry.chars().count();
    let keep = usize::from(keep_last).min(len / 2);
    let mut out = "*".repeat(len - keep);
    out.extend(entry.chars().skip(len - keep));
    out
}

/// Keys pressed at (or ahead of) a sensitive entry, as tools show them: each digit a `*`, the
/// other keys (`*`, `#`, which tell nothing of the entry) as they are.
pub fn mask_keys(keys: &str) -> String {
    keys.chars()
        .map(|c| if c.is_ascii_digit() { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_four_digits_of_a_number() {
        assert_eq!(mask_number("+15558675309"), "+*******5309");
        assert_eq!(mask_number("15558675309"), "+*******5309");
        assert_eq!(mask_number("call me"), "<not a number>");
    }

    #[test]
    fn an_entry_keeps_its_length_and_at_most_half_of_its_digits() {
        assert_eq!(mask_entry("12345674", 0), "********");
        assert_eq!(mask_entry("12345674", 4), "****5674");
        assert_eq!(mask_entry("1234", 4), "**34");
        assert_eq!(mask_entry("123", 4), "**3");
        assert_eq!(mask_entry("", 4), "");
        assert_eq!(mask_keys("12345674#"), "********#");
    }
}
