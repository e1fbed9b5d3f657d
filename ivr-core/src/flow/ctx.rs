//! What user code (`decide` and `fetch` steps) sees of a call, and the HTTP requests it builds.

use std::collections::BTreeMap;

/// The view of a call that user code (`decide`, `fetch`) gets: variables to read and write, and
/// who is calling.
pub struct Ctx<'a> {
    pub(crate) vars: &'a mut BTreeMap<String, String>,
    pub(crate) caller: Option<&'a str>,
    pub(crate) called: Option<&'a str>,
    pub(crate) settings: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    /// A session variable (collected digits, values passed when the call was placed, ...).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
    pub fn set_var(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_owned(), value.into());
    }
    /// The caller's number in E.164 form (the called party's, for outbound calls).
    pub fn caller(&self) -> Option<&str> {
        self.caller
    }
    /// The number that was called, in E.164 form.
    pub fn called(&self) -> Option<&str> {
        self.called
    }
    /// A setting the flow declares (`Flow::config`, `Flow::secrets`), from the worker's
    /// environment. A declared one always has a value while the flow's code runs: a worker
    /// without it does not run the code (the call goes to the flow's `on_error` step).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }
}

/// An HTTP request built by a `fetch` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl FetchRequest {
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
    pub fn post_json(url: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            method: "POST".to_owned(),
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(body.into()),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The answer to a [`FetchRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl FetchResponse {
    /// An answer with this status and body, and no headers.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The value of the header `name` (any case), if the answer has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body read as JSON: a `serde_json::Value`, or a type of yours that derives
    /// `Deserialize`. The error says why it could not be read; returned from a step's reading
    /// code, it sends the call to the step's error exit.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        // As every read of the worker: one copy of each deserializer in the wasm.
        crate::json::read(self.body.as_bytes()).map_err(|e| format!("not JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::FetchResponse;

    #[test]
    fn an_answer_reads_as_json_or_says_why_not() {
        #[derive(Debug, serde::Deserialize)]
        struct Balance {
            balance: String,
        }
        let answer = FetchResponse::new(200, r#"{"balance": "12.50"}"#);
        let value: serde_json::Value = answer.json().unwrap();
        assert_eq!(value["balance"], "12.50");
        assert_eq!(answer.json::<Balance>().unwrap().balance, "12.50");
        let e = FetchResponse::new(200, "<html>")
            .json::<serde_json::Value>()
            .unwrap_err();
        assert!(e.starts_with("not JSON: expected value"), "{e}");
        let e = FetchResponse::new(200, "{}").json::<Balance>().unwrap_err();
        assert!(e.contains("missing field `balance`"), "{e}");
    }
}
