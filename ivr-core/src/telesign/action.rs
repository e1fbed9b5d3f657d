//! Actions: what we tell Telesign to do, as the reply to an event or (for `dial`) as a request
//! to `POST /v2/voice`.
//!
//! Every value is validated when the action is built, so an [`Action`] that exists can be sent.
//! The limits Telesign does not document (all but `max_call_duration`) are ours, chosen around
//! the pages' examples and defaults; they are the `pub const`s below.
//!
//! Serialized form: one JSON-RPC 2.0 object, `{"jsonrpc":"2.0","method":…,"params":{…}}`, with
//! unset optional parameters omitted and `hangup` carrying `"params":{}`. Phone numbers are sent
//! as bare digits, like Telesign's current pages and its own events.

use std::fmt;
use std::ops::RangeInclusive;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::language::Language;
use super::phone::{serialize_digits, PhoneNumber};

/// `collect_digits.max`. Telesign's default is 3; 64 leaves room for long account numbers.
pub const MAX_DIGITS_RANGE: RangeInclusive<u32> = 1..=64;
/// `collect_digits.timeout`, in ms: the wait for the first key (pages' example: 10 000).
pub const TIMEOUT_MS_RANGE: RangeInclusive<u32> = 1_000..=60_000;
/// `collect_digits.inter_digit_timeout`, in ms: the wait between keys (pages' example: 3 000).
pub const INTER_DIGIT_TIMEOUT_MS_RANGE: RangeInclusive<u32> = 500..=30_000;
/// `dial.max_call_duration`, in seconds: Telesign's documented default and maximum is four
/// hours.
pub const MAX_CALL_DURATION_SECS_RANGE: RangeInclusive<u32> = 1..=14_400;
/// Longest TTS message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest audio URL, in bytes.
pub const MAX_URL_LEN: usize = 2_048;
/// Longest `external_id`, in characters (our limit: Telesign documents none); it comes back on
/// every event, so it should stay small.
pub const MAX_EXTERNAL_ID_LEN: usize = 128;
/// Longest `send_dtmf` string (digits plus `w` pauses).
pub const MAX_DTMF_LEN: usize = 64;

/// Keys a caller can press to end digit collection.
pub const TERMINATOR_KEYS: &str = "0123456789*#";
/// What a call asks of its `dial` beyond the numbers: the parameters the fact sheet lists
/// besides `to`, `caller_id_number` and `external_id`. The same for a `dial` step of a flow,
/// `POST /calls` and `POST /campaigns` (stored with the campaign, so every field has a default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DialOptions {
    /// `record_call`: record the call (the file name arrives in `call_completed`).
    pub record_call: bool,
    /// `max_call_duration`, in seconds (within [`MAX_CALL_DURATION_SECS_RANGE`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_call_duration: Option<u32>,
    /// `send_dtmf`: tones sent once the number answers (an extension, a conference code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_dtmf: Option<String>,
    /// `is_primary`.
    pub is_primary: bool,
}

impl DialOptions {
    /// `dial` with these options, each checked as its own setter checks it. Only what was asked
    /// for is sent (`record_call: false` is left out, as in Telesign's examples).
    pub fn apply(&self, dial: Dial) -> Result<Dial, ActionError> {
        let mut dial = if self.record_call {
            dial.record_call(true)
        } else {
            dial
        };
        if let Some(seconds) = self.max_call_duration {
            dial = dial.max_call_duration(seconds)?;
        }
        if let Some(tones) = &self.send_dtmf {
            dial = dial.send_dtmf(tones)?;
        }
        if self.is_primary {
            dial = dial.is_primary(true);
        }
        Ok(dial)
    }

    /// Whether Telesign would take these options, checked as [`DialOptions::apply`] checks
    /// them: for the flow checker and the API's request bodies, before any number is known.
    pub fn check(&self) -> Result<(), ActionError> {
        Dial::new("15555550100", "15555550100")
            .and_then(|dial| self.apply(dial))
            .map(|_| ())
    }
}

/// Tones Telesign can send, plus `w` for a half-second pause.
pub const DTMF_CHARS: &str = "0123456789ABCD*#w";

named_enum! {
    /// The JSON-RPC method of an action.
    pub enum Method {
        /// Call a number (start an outbound call, or bridge an incoming one).
        Dial = "dial",
        /// Play an audio file.
        Play = "play",
        /// Say a text-to-speech message.
        Speak = "speak",
        /// Send DTMF tones into the call.
        SendDtmf = "send_dtmf",
        /// End the call.
        Hangup = "hangup",
        /// Play several audio files and texts in one action. Telesign's fact sheet says
        /// `incoming_call` may be answered with it, but no page we have documents its
        /// parameters or its completion event, so the worker never sends it: a prompt of
        /// several parts is played one part per event instead ([`crate::flow::Prompt::Parts`]).
        /// It is here so the call-state rules (and the simulator they are generated for) know
        /// it.
        PlayMultiple = "play_multiple",
    }
}

/// One instruction to Telesign. `Serialize` writes the whole JSON-RPC object, as
/// [`Action::to_json`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `dial`.
    Dial(Dial),
    /// `play`.
    Play(Play),
    /// `speak`.
    Speak(Speak),
    /// `send_dtmf`.
    SendDtmf(SendDtmf),
    /// `hangup`.
    Hangup,
}

impl Action {
    /// Which method this action calls.
    pub fn method(&self) -> Method {
        match self {
            Action::Dial(_) => Method::Dial,
            Action::Play(_) => Method::Play,
            Action::Speak(_) => Method::Speak,
            Action::SendDtmf(_) => Method::SendDtmf,
            Action::Hangup => Method::Hangup,
        }
    }

    /// The compact JSON-RPC 2.0 text to send, keys in the pages' order.
    pub fn to_json(&self) -> String {
        // Only strings, integers and booleans under string keys: serde_json cannot fail here.
        // Were it ever to, a hangup is the one answer that is safe in every call state.
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#.to_owned())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// `hangup` takes no parameters but the base action structure requires `params`.
        #[derive(Serialize)]
        struct NoParams {}

        let mut rpc = serializer.serialize_struct("Action", 3)?;
        rpc.serialize_field("jsonrpc", "2.0")?;
        rpc.serialize_field("method", self.method().as_str())?;
        match self {
            Action::Dial(params) => rpc.serialize_field("params", params)?,
            Action::Play(params) => rpc.serialize_field("params", params)?,
            Action::Speak(params) => rpc.serialize_field("params", params)?,
            Action::SendDtmf(params) => rpc.serialize_field("params", params)?,
            Action::Hangup => rpc.serialize_field("params", &NoParams {})?,
        }
        rpc.end()
    }
}

impl From<Dial> for Action {
    fn from(dial: Dial) -> Self {
        Action::Dial(dial)
    }
}

impl From<Play> for Action {
    fn from(play: Play) -> Self {
        Action::Play(play)
    }
}

impl From<Speak> for Action {
    fn from(speak: Speak) -> Self {
        Action::Speak(speak)
    }
}

impl From<SendDtmf> for Action {
    fn from(send_dtmf: SendDtmf) -> Self {
        Action::SendDtmf(send_dtmf)
    }
}

/// `dial` parameters. `Serialize` writes the `params` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dial {
    #[serde(serialize_with = "serialize_digits")]
    to: PhoneNumber,
    #[serde(serialize_with = "serialize_digits")]
    caller_id_number: PhoneNumber,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_call: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_call_duration: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send_dtmf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_primary: Option<bool>,
}

impl Dial {
    /// Calls `to`, showing `caller_id_number` (a number leased from Telesign).
    pub fn new(to: &str, caller_id_number: &str) -> Result<Dial, ActionError> {
        Ok(Dial {
            to: phone("to", to)?,
            caller_id_number: phone("caller_id_number", caller_id_number)?,
            record_call: None,
            external_id: None,
            max_call_duration: None,
            send_dtmf: None,
            is_primary: None,
        })
    }

    /// Records the call; the file name comes back in `call_completed`.
    pub fn record_call(mut self, record: bool) -> Self {
        self.record_call = Some(record);
        self
    }

    /// Our id for the call, echoed on each of its events: non-empty once trimmed, at most
    /// [`MAX_EXTERNAL_ID_LEN`] characters, no control characters.
    pub fn external_id(mut self, id: &str) -> Result<Self, ActionError> {
        let id = id.trim();
        let problem = if id.is_empty() {
            "must not be empty".to_owned()
        } else if id.chars().count() > MAX_EXTERNAL_ID_LEN {
            format!("must be at most {MAX_EXTERNAL_ID_LEN} bytes")
        } else if id.chars().any(char::is_control) {
            "must not contain control characters".to_owned()
        } else {
            self.external_id = Some(id.to_owned());
            return Ok(self);
        };
        Err(ActionError::new("external_id", problem))
    }

    /// Hangs up after this many seconds, within [`MAX_CALL_DURATION_SECS_RANGE`].
    pub fn max_call_duration(mut self, seconds: u32) -> Result<Self, ActionError> {
        self.max_call_duration = Some(in_range(
            "max_call_duration",
            seconds,
            MAX_CALL_DURATION_SECS_RANGE,
            "seconds",
        )?);
        Ok(self)
    }

    /// Tones to send once the callee answers: `0-9`, `A-D`, `*`, `#`, and `w` for a half-second
    /// pause; at most [`MAX_DTMF_LEN`] characters.
    pub fn send_dtmf(mut self, tones: &str) -> Result<Self, ActionError> {
        self.send_dtmf = Some(dtmf("send_dtmf", tones)?);
        Ok(self)
    }

    /// Marks this leg as the primary one of a bridged call.
    pub fn is_primary(mut self, primary: bool) -> Self {
        self.is_primary = Some(primary);
        self
    }

    /// The number dialled.
    pub fn to(&self) -> &PhoneNumber {
        &self.to
    }

    /// The caller id shown.
    pub fn caller_id_number(&self) -> &PhoneNumber {
        &self.caller_id_number
    }
}

/// `play` parameters. `Serialize` writes the `params` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Play {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    collect_digits: Option<CollectDigits>,
}

impl Play {
    /// Plays the audio file at `url`, which must be `https://` (Telesign fetches it from an
    /// allow-list of hosts; the file must be 16-bit PCM, at least 8 kHz).
    pub fn new(url: &str) -> Result<Play, ActionError> {
        Ok(Play {
            url: https_url(url)?,
            collect_digits: None,
        })
    }

    /// Also collects keys pressed during and after playback.
    pub fn collect(mut self, digits: CollectDigits) -> Self {
        self.collect_digits = Some(digits);
        self
    }

    /// The audio URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// `speak` parameters. `Serialize` writes the `params` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Speak {
    tts: Tts,
    #[serde(skip_serializing_if = "Option::is_none")]
    collect_digits: Option<CollectDigits>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Tts {
    message: String,
    language: Language,
}

impl Speak {
    /// Says `message` (not blank, at most [`MAX_MESSAGE_CHARS`] characters) in `language`, a
    /// tag from Telesign's table in any letter case (see [`Language`]).
    pub fn new(message: &str, language: &str) -> Result<Speak, ActionError> {
        if message.trim().is_empty() {
            return Err(ActionError::new("message", "must not be empty"));
        }
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ActionError::new(
                "message",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        Ok(Speak {
            tts: Tts {
                message: message.to_owned(),
                language: Language::parse(language)
                    .map_err(|e| ActionError::new("language", e.to_string()))?,
            },
            collect_digits: None,
        })
    }

    /// Also collects keys pressed during and after the message.
    pub fn collect(mut self, digits: CollectDigits) -> Self {
        self.collect_digits = Some(digits);
        self
    }

    /// The text spoken.
    pub fn message(&self) -> &str {
        &self.tts.message
    }

    /// The TTS language.
    pub fn language(&self) -> Language {
        self.tts.language
    }
}

/// `send_dtmf` parameters. `Serialize` writes the `params` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendDtmf {
    digits: String,
}

impl SendDtmf {
    /// Sends `digits` into the call; same alphabet and length as [`Dial::send_dtmf`].
    pub fn new(digits: &str) -> Result<SendDtmf, ActionError> {
        Ok(SendDtmf {
            digits: dtmf("digits", digits)?,
        })
    }
}

/// The `collect_digits` parameter of `play` and `speak`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectDigits {
    max: u32,
    #[serde(rename = "timeout", skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u32>,
    #[serde(
        rename = "inter_digit_timeout",
        skip_serializing_if = "Option::is_none"
    )]
    inter_digit_timeout_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    terminators: Option<String>,
}

impl CollectDigits {
    /// Collects up to `max` keys, within [`MAX_DIGITS_RANGE`]. `max` is always sent, although
    /// Telesign defaults it to 3, so that what we send says what we mean.
    pub fn new(max: u32) -> Result<Self, ActionError> {
        Ok(CollectDigits {
            max: in_range("max", max, MAX_DIGITS_RANGE, "digits")?,
            timeout_ms: None,
            inter_digit_timeout_ms: None,
            terminators: None,
        })
    }

    /// How long to wait for the first key, within [`TIMEOUT_MS_RANGE`].
    pub fn timeout_ms(mut self, ms: u32) -> Result<Self, ActionError> {
        self.timeout_ms = Some(in_range("timeout", ms, TIMEOUT_MS_RANGE, "ms")?);
        Ok(self)
    }

    /// How long to wait for each further key, within [`INTER_DIGIT_TIMEOUT_MS_RANGE`].
    pub fn inter_digit_timeout_ms(mut self, ms: u32) -> Result<Self, ActionError> {
        self.inter_digit_timeout_ms = Some(in_range(
            "inter_digit_timeout",
            ms,
            INTER_DIGIT_TIMEOUT_MS_RANGE,
            "ms",
        )?);
        Ok(self)
    }

    /// Keys that end collection early: one or more of `0-9`, `*`, `#`, each at most once.
    pub fn terminators(mut self, keys: &str) -> Result<Self, ActionError> {
        let mut seen = String::new();
        for key in keys.chars() {
            if !TERMINATOR_KEYS.contains(key) {
                return Err(ActionError::new(
                    "terminators",
                    format!("{key:?} is not a phone key (0-9, *, #)"),
                ));
            }
            if seen.contains(key) {
                return Err(ActionError::new(
                    "terminators",
                    format!("{key:?} is listed twice"),
                ));
            }
            seen.push(key);
        }
        if seen.is_empty() {
            return Err(ActionError::new("terminators", "must not be empty"));
        }
        self.terminators = Some(seen);
        Ok(self)
    }
}

/// A value an action cannot carry. [`code`](ActionError::code) is always `invalid_action`;
/// [`field`](ActionError::field) names the parameter and `Display` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    field: &'static str,
    message: String,
}

impl ActionError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        ActionError {
            field,
            message: message.into(),
        }
    }

    /// The stable error code, `invalid_action`.
    pub fn code(&self) -> &'static str {
        "invalid_action"
    }

    /// The parameter at fault, as named on the wire (`to`, `timeout`, `language`, …).
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ActionError {}

fn phone(field: &'static str, text: &str) -> Result<PhoneNumber, ActionError> {
    PhoneNumber::parse(text).map_err(|err| ActionError::new(field, err.to_string()))
}

fn in_range(
    field: &'static str,
    value: u32,
    range: RangeInclusive<u32>,
    unit: &str,
) -> Result<u32, ActionError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ActionError::new(
            field,
            format!(
                "{value} is outside {}..={} {unit}",
                range.start(),
                range.end()
            ),
        ))
    }
}

fn dtmf(field: &'static str, tones: &str) -> Result<String, ActionError> {
    if tones.is_empty() {
        return Err(ActionError::new(field, "must not be empty"));
    }
    if let Some(bad) = tones.chars().find(|c| !DTMF_CHARS.contains(*c)) {
        return Err(ActionError::new(
            field,
            format!("{bad:?} is not a DTMF tone (0-9, A-D, *, #) or w"),
        ));
    }
    if tones.len() > MAX_DTMF_LEN {
        return Err(ActionError::new(
            field,
            format!("must be at most {MAX_DTMF_LEN} characters"),
        ));
    }
    Ok(tones.to_owned())
}

/// An `https://` URL with a host, no credentials, no whitespace or control characters.
/// Surrounding whitespace is trimmed; the rest is sent as given.
fn https_url(url: &str) -> Result<String, ActionError> {
    let url = url.trim();
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .and_then(|_| url.get(8..));
    let problem = match rest {
        None => "must start with https://".to_owned(),
        Some(_) if url.len() > MAX_URL_LEN => format!("must be at most {MAX_URL_LEN} bytes"),
        Some(_) if url.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            "must not contain whitespace or control characters".to_owned()
        }
        Some(rest) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.split(':').next().unwrap_or_default();
            if authority.contains('@') {
                "must not contain credentials".to_owned()
            } else if host.is_empty() {
                "must name a host".to_owned()
            } else {
                return Ok(url.to_owned());
            }
        }
    };
    Err(ActionError::new("url", problem))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn json_of(action: impl Into<Action>) -> serde_json::Value {
        serde_json::from_str(&action.into().to_json()).unwrap()
    }

    #[test]
    fn methods() {
        let dial = Dial::new("15555551212", "15554441313").unwrap();
        for (action, method, name) in [
            (Action::Dial(dial), Method::Dial, "dial"),
            (
                Play::new("https://a.example/x.wav").unwrap().into(),
                Method::Play,
                "play",
            ),
            (
                Speak::new("Hi", "en-US").unwrap().into(),
                Method::Speak,
                "speak",
            ),
            (
                SendDtmf::new("1").unwrap().into(),
                Method::SendDtmf,
                "send_dtmf",
            ),
            (Action::Hangup, Method::Hangup, "hangup"),
        ] {
            assert_eq!(action.method(), method);
            assert_eq!(method.as_str(), name);
            assert_eq!(json_of(action.clone())["method"], name);
            assert_eq!(json_of(action)["jsonrpc"], "2.0");
        }
    }

    #[test]
    fn hangup_has_empty_params() {
        assert_eq!(
            Action::Hangup.to_json(),
            r#"{"jsonrpc":"2.0","method":"hangup","params":{}}"#
        );
    }

    #[test]
    fn dial_with_every_option() {
        let dial = Dial::new("+15555551212", " 15554441313 ")
            .unwrap()
            .record_call(true)
            .external_id(" ext-1 ")
            .unwrap()
            .max_call_duration(14_400)
            .unwrap()
            .send_dtmf("ww123#")
            .unwrap()
            .is_primary(false);
        assert_eq!(dial.to().digits(), "15555551212");
        assert_eq!(dial.caller_id_number().digits(), "15554441313");
        assert_eq!(
            Action::Dial(dial).to_json(),
            concat!(
                r#"{"jsonrpc":"2.0","method":"dial","params":{"to":"15555551212","#,
                r#""caller_id_number":"15554441313","record_call":true,"external_id":"ext-1","#,
                r#""max_call_duration":14400,"send_dtmf":"ww123#","is_primary":false}}"#
            )
        );
    }

    #[test]
    fn dial_validation() {
        let dial = || Dial::new("15555551212", "15554441313").unwrap();
        assert_eq!(Dial::new("555", "15554441313").unwrap_err().field(), "to");
        assert_eq!(
            Dial::new("15555551212", "+1-555").unwrap_err().field(),
            "caller_id_number"
        );
        assert!(dial().max_call_duration(1).is_ok());
        for bad in [0, 14_401, u32::MAX] {
            assert_eq!(
                dial().max_call_duration(bad).unwrap_err().field(),
                "max_call_duration"
            );
        }
        for bad in ["", "  ", "a\u{7}b", &"x".repeat(129)] {
            assert_eq!(dial().external_id(bad).unwrap_err().field(), "external_id");
        }
        assert!(dial().external_id(&"x".repeat(128)).is_ok());
        for bad in ["", "E", "a", "W", "1 2", &"1".repeat(65)] {
            assert_eq!(dial().send_dtmf(bad).unwrap_err().field(), "send_dtmf");
        }
        assert!(dial().send_dtmf("0123456789ABCD*#w").is_ok());
        assert!(dial().send_dtmf(&"1".repeat(64)).is_ok());
    }

    #[test]
    fn send_dtmf_action() {
        assert_eq!(
            Action::from(SendDtmf::new("1w2#").unwrap()).to_json(),
            r#"{"jsonrpc":"2.0","method":"send_dtmf","params":{"digits":"1w2#"}}"#
        );
        let err = SendDtmf::new("12x").unwrap_err();
        assert_eq!(err.field(), "digits");
        assert_eq!(
            err.to_string(),
            "invalid `digits`: 'x' is not a DTMF tone (0-9, A-D, *, #) or w"
        );
    }

    #[test]
    fn play_urls() {
        for good in [
            "https://url-pointing-to-audio-file.com",
            "HTTPS://cdn.example.com:8443/a/b.wav?v=1#t",
            " https://a.example/x.wav ",
        ] {
            assert!(Play::new(good).is_ok(), "{good:?}");
        }
        assert_eq!(
            Play::new(" https://a.example/x.wav ").unwrap().url(),
            "https://a.example/x.wav"
        );
        for (bad, problem) in [
            ("", "must start with https://"),
            ("http://a.example/x.wav", "must start with https://"),
            ("ftp://a.example/x.wav", "must start with https://"),
            ("https:/a.example", "must start with https://"),
            ("https://", "must name a host"),
            ("https:///x.wav", "must name a host"),
            ("https://:443/x.wav", "must name a host"),
            (
                "https://user:pw@a.example/x.wav",
                "must not contain credentials",
            ),
            (
                "https://a.example/x y.wav",
                "must not contain whitespace or control characters",
            ),
            (
                "https://a.example/\u{0}",
                "must not contain whitespace or control characters",
            ),
            ("héllo://a", "must start with https://"),
        ] {
            let err = Play::new(bad).unwrap_err();
            assert_eq!(err.field(), "url");
            assert_eq!(
                err.to_string(),
                format!("invalid `url`: {problem}"),
                "{bad:?}"
            );
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_URL_LEN));
        assert_eq!(
            Play::new(&long).unwrap_err().to_string(),
            "invalid `url`: must be at most 2048 bytes"
        );
    }

    #[test]
    fn speak_with_collect_digits() {
        let speak = Speak::new("Press 1.", "EN-us")
            .unwrap()
            .collect(CollectDigits::new(1).unwrap().terminators("#").unwrap());
        assert_eq!(speak.language(), Language::EnUs);
        assert_eq!(speak.message(), "Press 1.");
        assert_eq!(
            Action::Speak(speak).to_json(),
            concat!(
                r#"{"jsonrpc":"2.0","method":"speak","params":{"tts":{"message":"Press 1.","#,
                r##""language":"en-US"},"collect_digits":{"max":1,"terminators":"#"}}}"##
            )
        );
    }

    #[test]
    fn speak_validation() {
        for bad in ["", " \n\t"] {
            assert_eq!(Speak::new(bad, "en-US").unwrap_err().field(), "message");
        }
        assert!(Speak::new(&"é".repeat(MAX_MESSAGE_CHARS), "en-US").is_ok());
        assert_eq!(
            Speak::new(&"é".repeat(MAX_MESSAGE_CHARS + 1), "en-US")
                .unwrap_err()
                .field(),
            "message"
        );
        let err = Speak::new("Hi", "xx-XX").unwrap_err();
        assert_eq!((err.field(), err.code()), ("language", "invalid_action"));
        assert!(
            err.to_string().contains("not a supported TTS language"),
            "{err}"
        );
        assert_eq!(
            json_of(Speak::new("Hi \"you\"", "en-gb-wls").unwrap())["params"],
            json!({"tts": {"message": "Hi \"you\"", "language": "en-GB-WLS"}})
        );
    }

    #[test]
    fn collect_digits_ranges() {
        for (max, ok) in [(0, false), (1, true), (64, true), (65, false)] {
            assert_eq!(CollectDigits::new(max).is_ok(), ok, "max {max}");
        }
        let base = || CollectDigits::new(3).unwrap();
        for (ms, ok) in [(999, false), (1_000, true), (60_000, true), (60_001, false)] {
            assert_eq!(base().timeout_ms(ms).is_ok(), ok, "timeout {ms}");
        }
        for (ms, ok) in [(499, false), (500, true), (30_000, true), (30_001, false)] {
            assert_eq!(base().inter_digit_timeout_ms(ms).is_ok(), ok, "inter {ms}");
        }
        assert_eq!(
            base().timeout_ms(0).unwrap_err().to_string(),
            "invalid `timeout`: 0 is outside 1000..=60000 ms"
        );
        assert_eq!(
            base().inter_digit_timeout_ms(1).unwrap_err().field(),
            "inter_digit_timeout"
        );
        assert_eq!(CollectDigits::new(0).unwrap_err().field(), "max");
    }

    #[test]
    fn terminators() {
        let base = || CollectDigits::new(3).unwrap();
        assert!(base().terminators("0123456789*#").is_ok());
        for (bad, problem) in [
            ("", "must not be empty"),
            ("A", "'A' is not a phone key (0-9, *, #)"),
            ("w", "'w' is not a phone key (0-9, *, #)"),
            ("##", "'#' is listed twice"),
        ] {
            let err = base().terminators(bad).unwrap_err();
            assert_eq!(err.to_string(), format!("invalid `terminators`: {problem}"));
            assert_eq!(err.code(), "invalid_action");
        }
    }
}
