//! Checks a flow can put on a gathered entry (`gather(..).check(luhn)`): common ones, written
//! once.

/// Whether `digits` ends in a correct Luhn check digit, as card numbers and many account numbers
/// do: a mistyped number is caught before any lookup. An empty entry, or one with anything but
/// digits, is not.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        sum += match (i % 2 == 1, d * 2) {
            (false, _) => d,
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
        };
    }
    !digits.is_empty() && sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::luhn;

    #[test]
    fn luhn_check_digit() {
        assert!(luhn("79927398713"));
        assert!(luhn("12345674"));
        assert!(!luhn("12345678"));
        assert!(!luhn("1234567a"));
        assert!(!luhn(""));
    }
}
