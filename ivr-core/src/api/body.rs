//! Strict reading of the API's JSON request bodies, with the stable codes shared by every route:
//! `invalid_json` (not JSON), `invalid_body` (not an object), `unknown_field`, `missing_field`,
//! `invalid_field` (wrong JSON type) are 400; values of the right type that cannot be used
//! (`invalid_vars`, `invalid_caller_id`, `unknown_flow`, ...) are 422.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::flow::{Flow, Registry};
use crate::telesign::{DialOptions, PhoneNumber};

/// At most this many vars per call.
pub const MAX_VARS: usize = 64;
/// Var names: 1 to 64 ASCII letters, digits and `_` (what flow templates can name).
pub const MAX_VAR_NAME_LEN: usize = 64;
/// Var values: at most 1024 characters each.
pub const MAX_VAR_VALUE_LEN: usize = 1024;

/// A request body: a JSON object whose fields are all known.
#[derive(Debug)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Parses `body` and refuses any field not in `allowed`.
    pub fn parse(body: &[u8], allowed: &[&str]) -> Result<Self, ApiError> {
        let value: Value = crate::json::read(body).map_err(|e| {
            ApiError::new(ErrorCode::InvalidJson, format!("the body is not JSON: {e}"))
        })?;
        let Value::Object(map) = value else {
            return Err(ApiError::new(
                ErrorCode::InvalidBody,
                "the body must be a JSON object",
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::new(
                ErrorCode::UnknownField,
                format!("unknown field `{unknown}`; allowed: {}", allowed.join(", ")),
            ));
        }
        Ok(Self(map))
    }

    /// A string field that must be present (`null` counts as absent).
    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_str(name)?
            .ok_or_else(|| ApiError::new(ErrorCode::MissingField, format!("`{name}` is required")))
    }

    /// A string field that may be absent or `null`.
    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// A boolean field that may be absent or `null` (then `false`).
    pub fn optional_bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(wrong_type(name, "true or false")),
        }
    }

    /// A whole number field that may be absent or `null`.
    pub fn optional_u32(&self, name: &str) -> Result<Option<u32>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            // `600.0` is a whole number too (JSON Schema's `integer`).
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
                        .map(|f| f as u64)
                })
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| wrong_type(name, "a whole number")),
        }
    }

    /// A field of any JSON type, absent and `null` alike being `None`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
}

/// 400 `invalid_field`: a field has the wrong JSON type.
pub fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidField,
        format!("`{name}` must be {expected}"),
    )
}

/// The outbound flow called `name`: 422 `unknown_flow` when there is none (an inbound flow
/// cannot be dialled).
pub fn outbound_flow<'r>(registry: &'r Registry, name: &str) -> Result<&'r Flow, ApiError> {
    registry.outbound(name).ok_or_else(|| {
        let why = if registry.get(name).is_some() {
            "is an inbound flow; only outbound flows can be dialled"
        } else {
            "is not a flow of this worker"
        };
        ApiError::new(ErrorCode::UnknownFlow, format!("`{name}` {why}"))
    })
}

/// The number to call: 422 `invalid_number` unless 7 to 15 digits with an optional `+`.
pub fn number(field: &str, text: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(text)
        .map_err(|e| ApiError::new(ErrorCode::InvalidNumber, format!("`{field}` is {e}")))
}

/// The caller id: the request's own, else the configured `CALLER_ID`; 422 `invalid_caller_id`
/// or `missing_caller_id`, and 500 `not_configured` when `CALLER_ID` itself is not a number.
pub fn caller_id(
    requested: Option<&str>,
    configured: Option<&str>,
) -> Result<PhoneNumber, ApiError> {
    match (requested, configured) {
        (Some(text), _) => PhoneNumber::parse(text).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidCallerId,
                format!("`caller_id_number` is {e}"),
            )
        }),
        (None, Some(text)) => PhoneNumber::parse(text).map_err(|e| {
            ApiError::new(
                ErrorCode::NotConfigured,
                format!("the CALLER_ID var is {e}"),
            )
        }),
        (None, None) => Err(ApiError::new(
            ErrorCode::MissingCallerId,
            "give `caller_id_number` or set the CALLER_ID var",
        )),
    }
}

/// The fields of a body that set the call's `dial` options.
pub const DIAL_OPTION_FIELDS: [&str; 4] = [
    "record_call",
    "max_call_duration",
    "send_dtmf",
    "is_primary",
];

/// The `dial` options of a `POST /calls` or `POST /campaigns` body, each checked as the dial
/// checks it: 400 `invalid_field` for a wrong JSON type, 422 `invalid_dial_option` for a value
/// Telesign would refuse.
pub fn dial_options(fields: &Fields) -> Result<DialOptions, ApiError> {
    let options = DialOptions {
        record_call: fields.optional_bool("record_call")?,
        max_call_duration: fields.optional_u32("max_call_duration")?,
        send_dtmf: fields.optional_str("send_dtmf")?.map(str::to_owned),
        is_primary: fields.optional_bool("is_primary")?,
    };
    options
        .check()
        .map_err(|e| ApiError::new(ErrorCode::InvalidDialOption, e.to_string()))?;
    Ok(options)
}

/// 422 `missing_vars` unless `vars` gives every variable `flow` needs (a value that is only
/// blanks counts as missing: it would be spoken as nothing).
pub fn needed_vars(flow: &Flow, vars: &BTreeMap<String, String>) -> Result<(), ApiError> {
    // A sensitive entry's variable is the caller's to give, and is never kept in the clear: a
    // request may not set it (it would sit in the pending call, the queue and the records).
    if let Some(name) = flow
        .sensitive_names()
        .iter()
        .find(|n| vars.contains_key(*n))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidVars,
            format!(
                "`{name}` is the variable of a sensitive entry of flow `{}`: the caller gives it, \
                 a request may not",
                flow.name
            ),
        ));
    }
    let missing: Vec<&str> = flow
        .needs
        .iter()
        .filter(|name| vars.get(*name).is_none_or(|v| v.trim().is_empty()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::MissingVars,
        format!(
            "flow `{}` needs the vars {}; missing: {}",
            flow.name,
            flow.needs.join(", "),
            missing.join(", ")
        ),
    ))
}

/// The call's vars: an object of strings, names of letters, digits and `_`; 422 `invalid_vars`.
pub fn vars(value: Option<&Value>) -> Result<BTreeMap<String, String>, ApiError> {
    let invalid = |why: String| ApiError::new(ErrorCode::InvalidVars, why);
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(map) = value else {
        return Err(invalid("`vars` must be an object of strings".to_owned()));
    };
    if map.len() > MAX_VARS {
        return Err(invalid(format!("`vars` has more than {MAX_VARS} entries")));
    }
    map.iter()
        .map(|(name, value)| {
            let name_ok = (1..=MAX_VAR_NAME_LEN).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !name_ok {
                return Err(invalid(format!(
                    "var name `{name}` must be 1 to {MAX_VAR_NAME_LEN} letters, digits or _"
                )));
            }
            match value {
                Value::String(s) if s.chars().count() <= MAX_VAR_VALUE_LEN => {
                    Ok((name.clone(), s.clone()))
                }
                Value::String(_) => Err(invalid(format!(
                    "var `{name}` is longer than {MAX_VAR_VALUE_LEN} characters"
                ))),
                _ => Err(invalid(format!("var `{name}` must be a string"))),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(crate::sort::collected)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::flow::say;

    fn codes(e: ApiError) -> (u16, &'static str) {
        (e.status, e.code.as_str())
    }

    #[test]
    fn fields_are_parsed_strictly() {
        let parse = |body: &str| Fields::parse(body.as_bytes(), &["a", "b"]);
        assert_eq!(codes(parse("{").unwrap_err()), (400, "invalid_json"));
        assert_eq!(
            codes(parse(r#"{"a":1,}"#).unwrap_err()),
            (400, "invalid_json")
        );
        assert_eq!(codes(parse("[]").unwrap_err()), (400, "invalid_body"));
        assert_eq!(
            codes(parse(r#"{"c":1}"#).unwrap_err()),
            (400, "unknown_field")
        );
        let f = parse(r#"{"a":"x","b":null}"#).unwrap();
        assert_eq!(f.required_str("a"), Ok("x"));
        assert_eq!(
            codes(f.required_str("b").unwrap_err()),
            (400, "missing_field")
        );
        assert_eq!(f.optional_str("b"), Ok(None));
        assert!(f.get("b").is_none());
        let f = parse(r#"{"a":5}"#).unwrap();
        assert_eq!(
            codes(f.required_str("a").unwrap_err()),
            (400, "invalid_field")
        );
    }

    #[test]
    fn only_outbound_flows_can_be_dialled() {
        let registry = Registry::new()
            .flow(Flow::inbound("menu").step("a", say("Hi")))
            .flow(Flow::outbound("remind").step("a", say("Hi")));
        assert_eq!(outbound_flow(&registry, "remind").unwrap().name, "remind");
        let e = outbound_flow(&registry, "menu").unwrap_err();
        assert_eq!(codes(e.clone()), (422, "unknown_flow"));
        assert!(e.message.contains("inbound"));
        assert_eq!(
            codes(outbound_flow(&registry, "x").unwrap_err()),
            (422, "unknown_flow")
        );
    }

    #[test]
    fn caller_id_comes_from_the_request_or_the_var() {
        assert_eq!(
            caller_id(Some("+15554441313"), Some("15550000000"))
                .unwrap()
                .digits(),
            "15554441313"
        );
        assert_eq!(
            caller_id(None, Some("15550000000")).unwrap().digits(),
            "15550000000"
        );
        assert_eq!(
            codes(caller_id(None, None).unwrap_err()),
            (422, "missing_caller_id")
        );
        assert_eq!(
            codes(caller_id(Some("12"), None).unwrap_err()),
            (422, "invalid_caller_id")
        );
        assert_eq!(
            codes(caller_id(None, Some("nope")).unwrap_err()),
            (500, "not_configured")
        );
    }

    #[test]
    fn numbers_must_be_phone_numbers() {
        assert_eq!(
            number("to", "+15555551212").unwrap().digits(),
            "15555551212"
        );
        let e = number("to", "555-1212").unwrap_err();
        assert_eq!(codes(e.clone()), (422, "invalid_number"));
        assert!(e.message.contains("`to`"));
    }

    #[test]
    fn vars_are_an_object_of_short_strings() {
        assert!(vars(None).unwrap().is_empty());
        let v = vars(Some(&json!({"name": "Alex", "when_2": "Tuesday"}))).unwrap();
        assert_eq!(v.get("name").map(String::as_str), Some("Alex"));
        for bad in [
            json!([]),
            json!("x"),
            json!({"n": 1}),
            json!({"n": null}),
            json!({"": "x"}),
            json!({"a-b": "x"}),
            json!({"long": "x".repeat(MAX_VAR_VALUE_LEN + 1)}),
            json!({"x".repeat(MAX_VAR_NAME_LEN + 1): "x"}),
            Value::Object(
                (0..=MAX_VARS)
                    .map(|i| (format!("v{i}"), json!("x")))
                    .collect(),
            ),
        ] {
            assert_eq!(
                codes(vars(Some(&bad)).unwrap_err()),
                (422, "invalid_vars"),
                "{bad}"
            );
        }
    }
}
