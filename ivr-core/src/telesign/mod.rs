//! The Telesign Voice wire contract: pure types and functions, no I/O.
//!
//! Nothing here knows about HTTP or the Workers runtime, so all of it runs under plain host
//! `cargo test`. Source: Telesign's Voice pages in `shared/telesign-voice/`. Where they
//! disagree we are lenient in what we accept and exact in what we send.
//!
//! - [`event`]: [`decode_event`] turns a webhook body into a typed [`Event`].
//! - [`action`]: validated [`Action`]s and their JSON-RPC 2.0 form.
//! - [`rules`]: which action may answer which event ([`may_answer`], [`expects_reply`]).
//! - [`signature`]: webhook signatures ([`verify`], [`sign`], [`authorization_header`]).
//! - [`dial`]: the outbound `dial` request and the reading of Telesign's answer.
//! - [`phone`], [`language`]: the value types actions and events share.
//!
//! # Error codes
//!
//! Every error has a stable `code()`, meant for logs and response bodies:
//!
//! | code | type | when |
//! | --- | --- | --- |
//! | `invalid_json` | [`DecodeError`] | the body is not UTF-8 JSON (a trailing comma included) |
//! | `invalid_event` | [`DecodeError`] | the body is JSON but not an object |
//! | `missing_field` | [`DecodeError`] | `event` or `reference_id` is absent, `null` or `""` |
//! | `invalid_field` | [`DecodeError`] | a field has the wrong JSON type, or a bad value: a `to`/`from`/`caller_id` that is not a phone number, a `duration` that is not a non-negative integer, a `reference_id` over 128 bytes, a `data` that is neither an object nor a list of objects |
//! | `invalid_action` | [`ActionError`] | a value an action cannot carry (`field()` names it) |
//! | `missing_signature` | [`SignatureError`] | neither `Authorization` nor `X-TS-Authorization` |
//! | `malformed_signature` | [`SignatureError`] | a header that is not `TSA <customer_id>:<base64>` (or bare base64) |
//! | `customer_id_mismatch` | [`SignatureError`] | the header's customer id is not ours |
//! | `bad_signature` | [`SignatureError`] | the signature does not match the body |
//! | `invalid_api_key` | [`SignatureError`] | our configured key does not decode (configuration error) |
//! | `dial_rejected` | [`DialError`] | 200 with a rejection status |
//! | `dial_bad_request` | [`DialError`] | 400 |
//! | `dial_unauthorized` | [`DialError`] | 401 |
//! | `dial_rate_limited` | [`DialError`] | 429 (with `Retry-After` seconds) |
//! | `dial_upstream_error` | [`DialError`] | 5xx or an undocumented HTTP status |
//! | `dial_invalid_response` | [`DialError`] | a documented HTTP status with an unreadable body |
//!
//! Unknown event names are not errors: they decode to [`EventKind::Unknown`]. Unknown status
//! values decode to the `Unknown(String)` variant of their enum.

pub mod action;
pub mod dial;
pub mod event;
pub mod language;
pub mod phone;
pub mod rules;
pub mod signature;

pub use action::{
    Action, ActionError, CollectDigits, Dial, DialOptions, Method, Play, SendDtmf, Speak,
};
pub use dial::{
    dial_request, interpret_dial_response, DialAccepted, DialError, DialRequest, DEFAULT_API_URL,
};
pub use event::{
    decode_event, CallCompleted, CallLegCompleted, CallStatus, DecodeError, DialCompleted,
    DialStatus, Direction, Event, EventKind, EventName, HangupCause, MediaCompleted, MediaStatus,
    Parties,
};
pub use language::{Language, UnknownLanguage};
pub use phone::{PhoneNumber, PhoneNumberError};
pub use rules::{
    allowed_methods, completions, expects_reply, may_answer, silence_expected, Completion,
};
pub use signature::{authorization_header, sign, verify, SignatureError};
