//! Webhook signatures.
//!
//! Telesign signs each event it posts: `Authorization: TSA <customer_id>:<signature>`, with the
//! bare `<signature>` repeated in `X-TS-Authorization`, where
//! `signature = base64(HMAC-SHA256(key = base64_decode(api_key), message = raw body))`.
//! Only the body is signed (no timestamp), so the signature proves origin, not freshness.
//!
//! **Key decoding.** Keys are decoded the way Telesign's SDKs do (PHP's `base64_decode`,
//! Python's non-validating `b64decode`): every character outside the standard base64 alphabet
//! `A-Z a-z 0-9 + /` is dropped (so `-`, `=`, whitespace and line breaks go), and what remains
//! is decoded with padding optional and unused trailing bits ignored. This is what makes the
//! SDKs' published test key (`EXAMPLE----TE8s…`) work; real keys are plain base64 and decode
//! the same either way. A key that leaves nothing, or leaves a length no base64 text can have
//! (4n + 1 characters), is [`SignatureError::InvalidKey`].

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The forgiving decoder behind the key rules above (the input has already lost its `=`).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why a webhook request is not accepted as coming from Telesign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// Neither `Authorization` nor `X-TS-Authorization` is present (or both are blank).
    Missing,
    /// A header is present but is not `TSA <customer_id>:<base64 signature>` (or, for
    /// `X-TS-Authorization`, a bare base64 signature).
    Malformed,
    /// The customer id in `Authorization` is not ours.
    CustomerMismatch,
    /// The signature does not match the body: wrong key, or a body altered on the way.
    Mismatch,
    /// Our configured API key is not base64: a configuration error, not the caller's.
    InvalidKey,
}

impl SignatureError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "missing_signature",
            SignatureError::Malformed => "malformed_signature",
            SignatureError::CustomerMismatch => "customer_id_mismatch",
            SignatureError::Mismatch => "bad_signature",
            SignatureError::InvalidKey => "invalid_api_key",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no Authorization or X-TS-Authorization header",
            SignatureError::Malformed => {
                "signature header is not `TSA <customer_id>:<base64 signature>`"
            }
            SignatureError::CustomerMismatch => "signature is for another customer id",
            SignatureError::Mismatch => "signature does not match the body",
            SignatureError::InvalidKey => "the configured Telesign API key is not base64",
        })
    }
}

impl std::error::Error for SignatureError {}

/// Checks that `body` was signed by Telesign for `customer_id`.
///
/// `authorization` and `x_ts_authorization` are the raw header values (`None` when absent; a
/// blank value counts as absent). A `TSA` `Authorization` wins; `X-TS-Authorization` alone
/// carries no customer id, so then only the signature is checked. An `Authorization` of
/// another scheme (Basic credentials on the event URL, a proxy's) is passed over when
/// `X-TS-Authorization` is there. The scheme must be
/// `TSA` exactly, as Telesign sends it. Customer ids are compared ignoring ASCII case and
/// surrounding whitespace; ids and signatures are compared in constant time.
///
/// The key is decoded first, so a misconfigured key is reported on every request.
pub fn verify(
    authorization: Option<&str>,
    x_ts_authorization: Option<&str>,
    body: &[u8],
    customer_id: &str,
    api_key: &str,
) -> Result<(), SignatureError> {
    let key = SigningKey::new(api_key)?;
    verify_keyed(authorization, x_ts_authorization, body, customer_id, &key)
}

/// [`verify`] with the key decoded and keyed beforehand: what the worker does for each event,
/// with the key its configuration made once.
pub fn verify_keyed(
    authorization: Option<&str>,
    x_ts_authorization: Option<&str>,
    body: &[u8],
    customer_id: &str,
    key: &SigningKey,
) -> Result<(), SignatureError> {
    let mac = key.mac(body);
    let presented = Presented::from_headers(authorization, x_ts_authorization)?;
    if let Some(presented_id) = presented.customer_id {
        if !same_customer_id(presented_id, customer_id) {
            return Err(SignatureError::CustomerMismatch);
        }
    }
    let signature = STANDARD
        .decode(presented.signature)
        .map_err(|_| SignatureError::Malformed)?;
    mac.verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The base64 signature Telesign would send for `body`.
pub fn sign(api_key: &str, body: &[u8]) -> Result<String, SignatureError> {
    let mac = SigningKey::new(api_key)?.mac(body);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `Authorization` value Telesign would send for `body`: `TSA <customer_id>:<signature>`.
/// For tests and the call simulator.
pub fn authorization_header(
    customer_id: &str,
    api_key: &str,
    body: &[u8],
) -> Result<String, SignatureError> {
    Ok(format!("TSA {customer_id}:{}", sign(api_key, body)?))
}

/// The API key, decoded as described in the module documentation and keyed: an event's check
/// clones it instead of decoding the key and hashing its pads again each time.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl SigningKey {
    pub fn new(api_key: &str) -> Result<Self, SignatureError> {
        let alphabet_only: String = api_key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
            .collect();
        let key = LENIENT
            .decode(alphabet_only)
            .map_err(|_| SignatureError::InvalidKey)?;
        if key.is_empty() {
            return Err(SignatureError::InvalidKey);
        }
        // HMAC takes keys of any length; the error branch cannot happen.
        HmacSha256::new_from_slice(&key)
            .map(SigningKey)
            .map_err(|_| SignatureError::InvalidKey)
    }

    /// An HMAC over `body` with this key.
    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(body);
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

fn same_customer_id(presented: &str, configured: &str) -> bool {
    let presented = presented.to_ascii_lowercase();
    let configured = configured.trim().to_ascii_lowercase();
    presented.as_bytes().ct_eq(configured.as_bytes()).into()
}

/// The parts of the signature headers.
#[derive(Debug, PartialEq, Eq)]
struct Presented<'a> {
    customer_id: Option<&'a str>,
    signature: &'a str,
}

impl<'a> Presented<'a> {
    fn from_headers(
        authorization: Option<&'a str>,
        x_ts_authorization: Option<&'a str>,
    ) -> Result<Self, SignatureError> {
        let non_blank = |value: Option<&'a str>| value.map(str::trim).filter(|v| !v.is_empty());
        let tsa = non_blank(authorization).filter(|a| a.starts_with("TSA"));
        match (tsa, non_blank(x_ts_authorization), non_blank(authorization)) {
            (Some(authorization), _, _) => Self::parse_tsa(authorization),
            (None, Some(signature), _) => Ok(Presented {
                customer_id: None,
                signature: token(signature)?,
            }),
            (None, None, Some(_)) => Err(SignatureError::Malformed),
            (None, None, None) => Err(SignatureError::Missing),
        }
    }

    /// `TSA <customer_id>:<signature>`, with one or more spaces or tabs after `TSA`.
    fn parse_tsa(value: &'a str) -> Result<Self, SignatureError> {
        let rest = value.strip_prefix("TSA").ok_or(SignatureError::Malformed)?;
        let credentials = rest.trim_start_matches([' ', '\t']);
        if credentials.len() == rest.len() {
            return Err(SignatureError::Malformed);
        }
        let (customer_id, signature) = credentials
            .split_once(':')
            .ok_or(SignatureError::Malformed)?;
        Ok(Presented {
            customer_id: Some(token(customer_id)?),
            signature: token(signature)?,
        })
    }
}

/// A non-empty run of visible ASCII other than `:`.
fn token(text: &str) -> Result<&str, SignatureError> {
    let visible = |b: u8| b.is_ascii_graphic() && b != b':';
    if !text.is_empty() && text.bytes().all(visible) {
        Ok(text)
    } else {
        Err(SignatureError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From Telesign's PHP SDK tests; only a lenient decoder accepts the key.
    const PHP_KEY: &str =
        "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==";
    const PHP_BODY: &[u8] = b"{'test': 123}";
    const PHP_SIGNATURE: &str = "B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744=";

    const KEY: &str = "bXktMzItYnl0ZS10ZWxlc2lnbi1hcGkta2V5LTAwMDE=";
    const BODY: &[u8] = br#"{"event":"incoming_call","reference_id":"534E1848235F482D983DE3E11A04F58A","data":{"to":"15555551212","from":"15558675309"}}"#;
    const SIGNATURE: &str = "TSWNgQblQhkMknySdt0VO61j4zKo8HC5HZzVRJBuVlc=";

    const CUSTOMER: &str = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";

    fn tsa(signature: &str) -> String {
        format!("TSA {CUSTOMER}:{signature}")
    }

    #[test]
    fn readme_vectors_sign() {
        assert_eq!(sign(PHP_KEY, PHP_BODY).unwrap(), PHP_SIGNATURE);
        assert_eq!(sign(KEY, BODY).unwrap(), SIGNATURE);
    }

    #[test]
    fn readme_vectors_verify() {
        for (key, body, signature) in [(PHP_KEY, PHP_BODY, PHP_SIGNATURE), (KEY, BODY, SIGNATURE)] {
            assert_eq!(
                verify(Some(&tsa(signature)), None, body, CUSTOMER, key),
                Ok(())
            );
            assert_eq!(
                verify(Some(&tsa(signature)), Some(signature), body, CUSTOMER, key),
                Ok(())
            );
            assert_eq!(verify(None, Some(signature), body, CUSTOMER, key), Ok(()));
        }
    }

    #[test]
    fn authorization_header_round_trips() {
        let header = authorization_header(CUSTOMER, KEY, BODY).unwrap();
        assert_eq!(header, tsa(SIGNATURE));
        assert_eq!(verify(Some(&header), None, BODY, CUSTOMER, KEY), Ok(()));
    }

    #[test]
    fn wrong_key_or_body() {
        let other_key = "b3RoZXIta2V5";
        assert_eq!(
            verify(Some(&tsa(SIGNATURE)), None, BODY, CUSTOMER, other_key),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(None, Some(SIGNATURE), BODY, CUSTOMER, PHP_KEY),
            Err(SignatureError::Mismatch)
        );
        let mut altered = BODY.to_vec();
        altered.push(b' ');
        assert_eq!(
            verify(Some(&tsa(SIGNATURE)), None, &altered, CUSTOMER, KEY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&tsa(SIGNATURE)), None, b"", CUSTOMER, KEY),
            Err(SignatureError::Mismatch)
        );
        // Well-formed base64 of the wrong length.
        assert_eq!(
            verify(None, Some("AAAA"), BODY, CUSTOMER, KEY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn customer_id() {
        let header = tsa(SIGNATURE);
        assert_eq!(
            verify(
                Some(&header),
                None,
                BODY,
                "FFFFFFFF-EEEE-DDDD-1234-AB1234567891",
                KEY
            ),
            Err(SignatureError::CustomerMismatch)
        );
        assert_eq!(
            verify(Some(&header), None, BODY, "", KEY),
            Err(SignatureError::CustomerMismatch)
        );
        assert_eq!(
            verify(Some(&header), None, BODY, &CUSTOMER.to_lowercase(), KEY),
            Ok(())
        );
        assert_eq!(
            verify(Some(&header), None, BODY, &format!(" {CUSTOMER}\n"), KEY),
            Ok(())
        );
    }

    #[test]
    fn missing_headers() {
        for (authorization, x_ts) in [(None, None), (Some(""), None), (Some(" \t"), Some(""))] {
            assert_eq!(
                verify(authorization, x_ts, BODY, CUSTOMER, KEY),
                Err(SignatureError::Missing)
            );
        }
        // A blank Authorization falls back to X-TS-Authorization.
        assert_eq!(
            verify(Some(""), Some(SIGNATURE), BODY, CUSTOMER, KEY),
            Ok(())
        );
    }

    #[test]
    fn a_tsa_authorization_wins_over_x_ts_authorization() {
        assert_eq!(
            verify(Some(&tsa("AAAA")), Some(SIGNATURE), BODY, CUSTOMER, KEY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn basic_credentials_in_authorization_leave_the_check_to_x_ts_authorization() {
        let basic = Some("Basic dXNlcjpwdw==");
        assert_eq!(verify(basic, Some(SIGNATURE), BODY, CUSTOMER, KEY), Ok(()));
        assert_eq!(
            verify(basic, Some("AAAA"), BODY, CUSTOMER, KEY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(basic, None, BODY, CUSTOMER, KEY),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn malformed_headers() {
        let cases = [
            "TSA".to_owned(),
            "TSA ".to_owned(),
            format!("tsa {CUSTOMER}:{SIGNATURE}"),
            format!("Tsa {CUSTOMER}:{SIGNATURE}"),
            format!("TSA{CUSTOMER}:{SIGNATURE}"),
            format!("TSA {CUSTOMER}{SIGNATURE}"),
            format!("TSA :{SIGNATURE}"),
            format!("TSA {CUSTOMER}:"),
            format!("TSA {CUSTOMER}: {SIGNATURE}"),
            format!("TSA {CUSTOMER} :{SIGNATURE}"),
            format!("TSA {CUSTOMER}:{SIGNATURE}:extra"),
            format!("TSA {CUSTOMER}:not base64!"),
            format!("TSA {CUSTOMER}:{}", &SIGNATURE[..SIGNATURE.len() - 1]),
            format!("Bearer {SIGNATURE}"),
            "TSA \u{0}:\u{ff}".to_owned(),
            "TSA é:ü".to_owned(),
            "🙂".to_owned(),
            ":".to_owned(),
        ];
        for header in &cases {
            assert_eq!(
                verify(Some(header), None, BODY, CUSTOMER, KEY),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        for x_ts in [
            tsa(SIGNATURE),
            format!("{SIGNATURE} x"),
            "%%%".to_owned(),
            "é".to_owned(),
        ] {
            assert_eq!(
                verify(None, Some(&x_ts), BODY, CUSTOMER, KEY),
                Err(SignatureError::Malformed),
                "{x_ts:?}"
            );
        }
    }

    #[test]
    fn header_whitespace_is_tolerated() {
        let padded = format!("  TSA \t {CUSTOMER}:{SIGNATURE}\r\n");
        assert_eq!(verify(Some(&padded), None, BODY, CUSTOMER, KEY), Ok(()));
        assert_eq!(
            verify(None, Some(&format!(" {SIGNATURE} ")), BODY, CUSTOMER, KEY),
            Ok(())
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "",
            " ",
            ":",
            "::",
            "TSA",
            "TSA :",
            "TSA ::",
            "TSA a:b:c",
            "T",
            "TS",
            "TSA\u{a0}a:b",
            "\u{0}",
            "TSA 🙂:🙂",
            "TSA a:====",
            "TSA a:=",
            "TSA a:A",
            "TSA a:AB",
            "TSA a:ABC",
        ];
        for a in odd {
            for b in odd {
                let result = verify(Some(a), Some(b), BODY, CUSTOMER, KEY);
                assert!(result.is_err(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn key_decoding() {
        // Padding optional, line breaks and stray characters dropped.
        let unpadded = KEY.trim_end_matches('=');
        assert_eq!(sign(unpadded, BODY).unwrap(), SIGNATURE);
        let wrapped = format!("{}\n{}", &KEY[..20], &KEY[20..]);
        assert_eq!(sign(&wrapped, BODY).unwrap(), SIGNATURE);
        for bad in ["", "====", "---", "A", "ABCDE"] {
            assert_eq!(sign(bad, BODY), Err(SignatureError::InvalidKey), "{bad:?}");
            assert_eq!(
                verify(Some(&tsa(SIGNATURE)), None, BODY, CUSTOMER, bad),
                Err(SignatureError::InvalidKey)
            );
        }
        assert_eq!(
            authorization_header(CUSTOMER, "", BODY),
            Err(SignatureError::InvalidKey)
        );
    }

    #[test]
    fn codes() {
        for (error, code) in [
            (SignatureError::Missing, "missing_signature"),
            (SignatureError::Malformed, "malformed_signature"),
            (SignatureError::CustomerMismatch, "customer_id_mismatch"),
            (SignatureError::Mismatch, "bad_signature"),
            (SignatureError::InvalidKey, "invalid_api_key"),
        ] {
            assert_eq!(error.code(), code);
            assert!(!error.to_string().is_empty());
        }
    }
}
