//! Phone numbers as Telesign exchanges them.
//!
//! Telesign's pages write the same number both as `15555551212` and as `+15555551212`, so
//! parsing accepts both and keeps only the digits. On the wire (actions, dial requests) we send
//! the bare digits, the form of Telesign's current pages, its OpenAPI example and its own
//! events; in our records ([`serde`]) we write the E.164 form with `+`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The fewest digits we accept: shorter strings are extensions or short codes, not numbers
/// Telesign can dial.
const MIN_DIGITS: usize = 7;
/// E.164 caps a number, country code included, at 15 digits.
const MAX_DIGITS: usize = 15;

/// A phone number in international form: 7 to 15 digits, country code first.
///
/// `Debug` prints it masked (see [`PhoneNumber::masked`]) so that logging an event or an
/// action does not leak caller numbers; ask for [`PhoneNumber::e164`] explicitly when the full
/// number is wanted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why a string is not a [`PhoneNumber`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneNumberError {
    reason: &'static str,
}

impl PhoneNumber {
    /// Parses `15555551212` or `+15555551212`, ignoring surrounding whitespace.
    ///
    /// Separators (spaces, dashes, parentheses) are refused rather than stripped: every number
    /// we handle comes from Telesign or from configuration, and a formatted number there is a
    /// mistake worth reporting.
    pub fn parse(s: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let trimmed = s.trim();
        let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let reason = if digits.is_empty() {
            "it is empty"
        } else if !digits.bytes().all(|b| b.is_ascii_digit()) {
            "only digits and one leading + are allowed"
        } else if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            "it must have 7 to 15 digits"
        } else {
            return Ok(PhoneNumber(digits.to_owned()));
        };
        Err(PhoneNumberError { reason })
    }

    /// The digits alone, `15555551212`: the form sent to Telesign.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The E.164 form, `+15555551212`.
    pub fn e164(&self) -> String {
        format!("+{}", self.0)
    }

    /// `+*******1212`: every digit but the last four hidden, for logs.
    pub fn masked(&self) -> String {
        let visible = self.0.len().saturating_sub(4);
        let tail = self.0.get(visible..).unwrap_or_default();
        format!("+{}{tail}", "*".repeat(visible))
    }
}

impl PhoneNumberError {
    /// A short human explanation, e.g. "it must have 7 to 15 digits".
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for PhoneNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a phone number: {}", self.reason)
    }
}

impl std::error::Error for PhoneNumberError {}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

/// Records hold the E.164 form.
impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.e164())
    }
}

/// Accepts whatever [`PhoneNumber::parse`] accepts.
impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PhoneNumber::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `serialize_with` helper: the wire form Telesign receives, digits without `+`.
pub(crate) fn serialize_digits<S: Serializer>(
    number: &PhoneNumber,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(number.digits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_with_and_without_plus() {
        let plain = PhoneNumber::parse("15555551212").unwrap();
        let plus = PhoneNumber::parse(" +15555551212\n").unwrap();
        assert_eq!(plain, plus);
        assert_eq!(plain.digits(), "15555551212");
        assert_eq!(plain.e164(), "+15555551212");
    }

    #[test]
    fn length_bounds() {
        assert!(PhoneNumber::parse("1234567").is_ok());
        assert!(PhoneNumber::parse("123456789012345").is_ok());
        assert_eq!(
            PhoneNumber::parse("123456").unwrap_err().reason(),
            "it must have 7 to 15 digits"
        );
        assert_eq!(
            PhoneNumber::parse("+1234567890123456")
                .unwrap_err()
                .reason(),
            "it must have 7 to 15 digits"
        );
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            "   ",
            "+",
            "++15555551212",
            "1555-555-1212",
            "1 555 555 1212",
            "(555)5551212",
            "15555551212+",
            "anonymous",
            "１５５５５５５１２１２", // full-width digits are not ASCII digits
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn masks_all_but_last_four() {
        let number = PhoneNumber::parse("15555551212").unwrap();
        assert_eq!(number.masked(), "+*******1212");
        assert_eq!(PhoneNumber::parse("1234567").unwrap().masked(), "+***4567");
        assert_eq!(format!("{number:?}"), r#"PhoneNumber("+*******1212")"#);
    }

    #[test]
    fn serde_writes_e164_and_reads_leniently() {
        let number = PhoneNumber::parse("15555551212").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), r#""+15555551212""#);
        let read: PhoneNumber = serde_json::from_str(r#""15555551212""#).unwrap();
        assert_eq!(read, number);
        assert!(serde_json::from_str::<PhoneNumber>(r#""12""#).is_err());
    }
}
