//! Placeholders in prompts and dial numbers: `{account}` is the session variable `account`,
//! `{caller}` / `{called}` the caller's and the called number. A filter after `|` shapes the value
//! for speech: `{account|digits}` reads it digit by digit ("1 2 3 4"), `{caller|last4}` keeps the
//! last four characters. An unknown variable becomes empty text; `{{` writes a literal `{`.

/// Fills the placeholders of `text`; `lookup` answers a variable's value.
pub fn render<'a>(text: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            out.push('{');
            rest = stripped;
            continue;
        }
        let Some(close) = after.find('}') else {
            // An unclosed brace is literal text.
            out.push_str(&rest[open..]);
            return out;
        };
        let (name, filter) = match after[..close].split_once('|') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (after[..close].trim(), None),
        };
        let value = lookup(name).unwrap_or("");
        match filter {
            Some("digits") => push_spaced(&mut out, value),
            Some("last4") => {
                let start = value.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
                out.push_str(&value[start..]);
            }
            _ => out.push_str(value),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The names of the variables `text` refers to (for validation and diagrams).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inner = &after[..close];
        names.push(inner.split('|').next().unwrap_or(inner).trim());
        rest = &after[close + 1..];
    }
    names
}

fn push_spaced(out: &mut String, value: &str) {
    for (i, c) in value.chars().filter(|c| *c != '+').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<&'static str> {
        match name {
            "account" => Some("12345678"),
            "caller" => Some("+15558675309"),
            _ => None,
        }
    }

    #[test]
    fn fills_variables_and_filters() {
        assert_eq!(render("Account {account}.", vars), "Account 12345678.");
        assert_eq!(
            render("You are {caller|digits}", vars),
            "You are 1 5 5 5 8 6 7 5 3 0 9"
        );
        assert_eq!(render("ending {account|last4}", vars), "ending 5678");
        assert_eq!(render("{ account }", vars), "12345678");
    }

    #[test]
    fn unknown_variables_are_empty_and_braces_can_be_escaped() {
        assert_eq!(render("[{missing}]", vars), "[]");
        assert_eq!(render("{{literal} {account|last4}", vars), "{literal} 5678");
        assert_eq!(render("open { brace", vars), "open { brace");
        assert_eq!(
            render("last4 of short {x|last4}", |_| Some("12")),
            "last4 of short 12"
        );
        assert_eq!(
            render("multibyte {x|last4}", |_| Some("héllo")),
            "multibyte éllo"
        );
    }

    #[test]
    fn lists_placeholders() {
        assert_eq!(placeholders("{a} and {b|digits} not {{c}"), vec!["a", "b"]);
    }
}
