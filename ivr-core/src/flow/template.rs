//! Placeholders in prompts and dial numbers: `{account}` is the session variable `account`,
//! `{caller}` / `{called}` the caller's and the called number. Filters after `|` shape the
//! value, left to right: `{account|digits}` reads it digit by digit ("1 2 3 4"), `{caller|last4}`
//! keeps the last four characters, `{name|or:there}` says `there` when `name` is not set. `{{`
//! writes a literal `{`.
//!
//! A variable that is not set and has no `or:` default is never spoken as nothing: [`render`]
//! says which one is missing, and the engine sends the call to the step's fallback (or the
//! flow's `on_error` step). The checker ([`parse`]) refuses unknown filters and malformed
//! placeholders before a call reaches them.

use std::fmt;

/// The filters a placeholder may apply.
pub const FILTERS: [&str; 3] = ["digits", "last4", "or:<text>"];

/// A variable a template needs that is not set and has no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub String);

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A `{` without its `}`, an empty name, or a name of other characters than letters,
    /// digits and `_`.
    Malformed(String),
    /// A filter that is not one of [`FILTERS`].
    UnknownFilter { name: String, filter: String },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Malformed(why) => f.write_str(why),
            TemplateError::UnknownFilter { name, filter } => write!(
                f,
                "`{{{name}|{filter}}}` uses the unknown filter `{filter}` (known: {})",
                FILTERS.join(", ")
            ),
        }
    }
}

/// One placeholder: the variable and its filters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'t> {
    pub name: &'t str,
    pub filters: Vec<&'t str>,
}

impl Placeholder<'_> {
    /// Whether the placeholder says what to speak when its variable is not set.
    pub fn has_default(&self) -> bool {
        self.filters.iter().any(|f| f.starts_with("or:"))
    }
}

/// Fills the placeholders of `text`; `lookup` answers a variable's value.
pub fn render<'a>(text: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> Result<String, Missing> {
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
            // An unclosed brace is literal text (the checker reports it).
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let placeholder = split(&after[..close]);
        let mut value: Option<String> = lookup(placeholder.name).map(str::to_owned);
        for filter in &placeholder.filters {
            value = match (*filter, value) {
                ("digits", Some(v)) => Some(spaced(&v)),
                ("last4", Some(v)) => {
                    let start = v.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
                    Some(v[start..].to_owned())
                }
                (f, None) if f.starts_with("or:") => Some(f["or:".len()..].to_owned()),
                (_, v) => v,
            };
        }
        match value {
            Some(v) => out.push_str(&v),
            None => return Err(Missing(placeholder.name.to_owned())),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every placeholder of `text`, or what is wrong with it (for the checker).
pub fn parse(text: &str) -> Result<Vec<Placeholder<'_>>, TemplateError> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let Some(close) = after.find('}') else {
            return Err(TemplateError::Malformed(format!(
                "`{}` opens a placeholder that is not closed with `}}` (write `{{{{` for a brace)",
                &rest[open..]
            )));
        };
        let placeholder = split(&after[..close]);
        let name_ok = !placeholder.name.is_empty()
            && placeholder
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(TemplateError::Malformed(format!(
                "`{{{}}}` does not name a variable (letters, digits and _)",
                &after[..close]
            )));
        }
        for filter in &placeholder.filters {
            if !matches!(*filter, "digits" | "last4") && !filter.starts_with("or:") {
                return Err(TemplateError::UnknownFilter {
                    name: placeholder.name.to_owned(),
                    filter: (*filter).to_owned(),
                });
            }
        }
        found.push(placeholder);
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// The names of the variables `text` refers to (for diagrams), whatever their form.
pub fn placeholders(text: &str) -> Vec<&str> {
    parse(text)
        .map(|list| list.into_iter().map(|p| p.name).collect())
        .unwrap_or_default()
}

fn split(inner: &str) -> Placeholder<'_> {
    let mut parts = inner.split('|');
    let name = parts.next().unwrap_or_default().trim();
    Placeholder {
        name,
        filters: parts.map(str::trim).collect(),
    }
}

fn spaced(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for (i, c) in value.chars().filter(|c| *c != '+').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
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

    fn ok(text: &str) -> String {
        render(text, vars).unwrap_or_else(|Missing(m)| panic!("{m} missing in {text:?}"))
    }

    #[test]
    fn fills_variables_and_filters() {
        assert_eq!(ok("Account {account}."), "Account 12345678.");
        assert_eq!(
            ok("You are {caller|digits}"),
            "You are 1 5 5 5 8 6 7 5 3 0 9"
        );
        assert_eq!(ok("ending {account|last4}"), "ending 5678");
        assert_eq!(ok("ending {account|last4|digits}"), "ending 5 6 7 8");
        assert_eq!(ok("{ account }"), "12345678");
    }

    #[test]
    fn an_unset_variable_takes_its_default_or_is_missing() {
        assert_eq!(ok("Hello {name|or:there}."), "Hello there.");
        assert_eq!(ok("Hello {account|or:there}."), "Hello 12345678.");
        assert_eq!(
            render("Hello {name}.", vars),
            Err(Missing("name".to_owned()))
        );
        assert_eq!(
            render("{name|digits}", vars),
            Err(Missing("name".to_owned()))
        );
    }

    #[test]
    fn braces_can_be_escaped_and_an_unclosed_one_is_text() {
        assert_eq!(ok("{{literal} {account|last4}"), "{literal} 5678");
        assert_eq!(ok("open { brace"), "open { brace");
        assert_eq!(
            render("last4 of short {x|last4}", |_| Some("12")),
            Ok("last4 of short 12".to_owned())
        );
        assert_eq!(
            render("multibyte {x|last4}", |_| Some("héllo")),
            Ok("multibyte éllo".to_owned())
        );
    }

    #[test]
    fn the_checker_sees_placeholders_unknown_filters_and_malformed_ones() {
        let found = parse("{a} and {b|digits|or:none} not {{c}").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!((found[1].name, found[1].has_default()), ("b", true));
        assert_eq!(placeholders("{a} and {b|digits}"), vec!["a", "b"]);
        assert!(matches!(
            parse("{name|upper}"),
            Err(TemplateError::UnknownFilter { filter, .. }) if filter == "upper"
        ));
        for bad in ["Thanks {name", "{}", "{first name}", "{né}"] {
            assert!(
                matches!(parse(bad), Err(TemplateError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
