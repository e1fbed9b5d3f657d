//! How a sensitive caller entry (`gather(..).sensitive()`) is kept while its call lives: sealed
//! with a key from the `SESSION_SEAL_KEY` secret, so that someone who can read the KV namespace or
//! the Durable Object's storage reads neither the value nor anything that tells it apart from
//! another value of the same length.
//!
//! The construction is a synthetic-IV scheme (SIV, RFC 5297's idea, over HMAC-SHA-256 alone):
//! the tag is an HMAC of the call, the variable's name and the value; the value is encrypted by
//! XOR with a keystream of HMAC-SHA-256 blocks of the tag and a counter (HMAC as a PRF in counter
//! mode); opening decrypts and checks the tag in constant time. Nothing random is needed (the core
//! has no source of randomness), and a value sealed twice gives the same text, which only tells
//! that the same call kept the same value in the same variable. Two keys are derived from the
//! secret, one per purpose. SHA-256 is in the worker already (Telesign's signatures), so this
//! needs no cipher crate: ChaCha20 (the `chacha20` crate), tried first, made the wasm bigger for
//! the same job.
//!
//! The body of a key press names its digits, and a session keeps a fingerprint of the last body
//! to recognise a redelivery: [`Sealer::fingerprint`] keys it, so that it cannot be checked
//! against guessed bodies either.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The secret the key is read from, declared by every flow with a sensitive entry.
pub const SEAL_KEY: &str = "SESSION_SEAL_KEY";

/// The shortest secret accepted: 32 bytes of `openssl rand -base64 32` make 44 characters.
pub const SEAL_KEY_MIN_LEN: usize = 32;

/// What a sealed text starts with: the version of the construction.
const PREFIX: &str = "s1.";
const TAG_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// Seals and opens the sensitive values of calls with one secret. Its two HMACs are kept keyed:
/// each use clones one instead of hashing its key's pads again (two SHA-256 blocks saved each
/// time, of the three or four an HMAC of a short input takes).
#[derive(Clone)]
pub struct Sealer {
    encryption: HmacSha256,
    authentication: HmacSha256,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The sealer of `secret`; `None` when it is too short to be a key.
    pub fn new(secret: &str) -> Option<Self> {
        let secret = secret.trim();
        let derive = |purpose: &[u8]| keyed(&mac(&keyed(secret.as_bytes()), &[purpose]));
        (secret.len() >= SEAL_KEY_MIN_LEN).then(|| Sealer {
            encryption: derive(b"telesign-ivr seal: encryption"),
            authentication: derive(b"telesign-ivr seal: authentication"),
        })
    }

    /// `value`, sealed for the variable `name` of the call `call`.
    pub fn seal(&self, call: &str, name: &str, value: &str) -> String {
        let tag = self.tag(call, name, value.as_bytes());
        let mut sealed = tag.to_vec();
        let start = sealed.len();
        sealed.extend_from_slice(value.as_bytes());
        self.apply_keystream(&tag, &mut sealed[start..]);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The value [`Sealer::seal`] sealed for this call and name; `None` when `sealed` was sealed
    /// with another key, for another call or name, or altered.
    pub fn open(&self, call: &str, name: &str, sealed: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < TAG_LEN {
            return None;
        }
        let (tag, body) = raw.split_at(TAG_LEN);
        let mut value = body.to_vec();
        self.apply_keystream(tag, &mut value);
        let expected = self.tag(call, name, &value);
        if !bool::from(expected.as_slice().ct_eq(tag)) {
            return None;
        }
        String::from_utf8(value).ok()
    }

    /// A body's fingerprint, keyed: equal for equal bodies, and useless without the key.
    pub fn fingerprint(&self, fingerprint: &str) -> String {
        let tag = mac(
            &self.authentication,
            &[b"fingerprint\0", fingerprint.as_bytes()],
        );
        crate::hex::hex(&tag[..8])
    }

    fn tag(&self, call: &str, name: &str, value: &[u8]) -> [u8; TAG_LEN] {
        // Each part's length first, so that no two (call, name, value) give the same input.
        let call_len = (call.len() as u64).to_be_bytes();
        let name_len = (name.len() as u64).to_be_bytes();
        let full = mac(
            &self.authentication,
            &[
                b"value\0",
                &call_len,
                call.as_bytes(),
                &name_len,
                name.as_bytes(),
                value,
            ],
        );
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// XORs `bytes` with the keystream of `tag`: HMAC-SHA-256(key, "stream" | tag | counter),
    /// block after block.
    fn apply_keystream(&self, tag: &[u8], bytes: &mut [u8]) {
        for (counter, chunk) in (0u64..).zip(bytes.chunks_mut(32)) {
            let block = mac(
                &self.encryption,
                &[b"stream\0", tag, &counter.to_be_bytes()],
            );
            for (byte, key) in chunk.iter_mut().zip(block) {
                *byte ^= key;
            }
        }
    }
}

/// An HMAC keyed with `key`, ready for its input.
fn keyed(key: &[u8]) -> HmacSha256 {
    // An HMAC takes a key of any length, so this never fails; the fallback only spares a panic.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

/// The HMAC of `parts`, one after the other, with the keyed `key`.
fn mac(key: &HmacSha256, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = key.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k7Yb0tq2m6uJ3nC9xVfE1sLrP4dZ8gHwQaT5yKcMiOe=";

    #[test]
    fn a_value_seals_and_a_body_fingerprints_as_before() {
        // Sealed and fingerprinted by the construction as it was first written: sessions live
        // across a deploy, so the same key must still open and recognise what they keep.
        let sealer = Sealer::new(KEY).unwrap();
        let sealed = "s1.qBGIQ2C18GCW_EVpYOOZXjtwvM2iuyLK";
        assert_eq!(sealer.seal("call-1", "account", "12345674"), sealed);
        assert_eq!(
            sealer.open("call-1", "account", sealed).as_deref(),
            Some("12345674")
        );
        assert_eq!(sealer.fingerprint("abc"), "0132b2e6e741d329");
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_call_name_and_key() {
        let sealer = Sealer::new(KEY).unwrap();
        let sealed = sealer.seal("CALL1", "account", "12345674");
        assert!(sealed.starts_with("s1."));
        assert!(!sealed.contains("12345674"));
        assert_eq!(
            sealer.open("CALL1", "account", &sealed).as_deref(),
            Some("12345674")
        );
        assert_eq!(sealer.open("CALL2", "account", &sealed), None);
        assert_eq!(sealer.open("CALL1", "pin", &sealed), None);
        let other = Sealer::new(&KEY.replace('k', "j")).unwrap();
        assert_eq!(other.open("CALL1", "account", &sealed), None);
        // Deterministic: the same value in the same place seals the same.
        assert_eq!(sealed, sealer.seal("CALL1", "account", "12345674"));
        assert_ne!(sealed, sealer.seal("CALL1", "account", "12345675"));
    }

    #[test]
    fn an_altered_or_malformed_text_does_not_open() {
        let sealer = Sealer::new(KEY).unwrap();
        let sealed = sealer.seal("C", "v", "0000");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let altered = format!("s1.{}", URL_SAFE_NO_PAD.encode(raw));
        assert_eq!(sealer.open("C", "v", &altered), None);
        for bad in ["", "s1.", "s1.!!", "0000", "s2.AAAA", "s1.AAAA"] {
            assert_eq!(sealer.open("C", "v", bad), None, "{bad}");
        }
        // A value longer than one keystream block: no block of it is sealed alike.
        let long = "7".repeat(96);
        let sealed = sealer.seal("C", "v", &long);
        assert_eq!(
            sealer.open("C", "v", &sealed).as_deref(),
            Some(long.as_str())
        );
        let raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        let body = &raw[TAG_LEN..];
        assert!(body[..32] != body[32..64] && body[32..64] != body[64..]);
        // The empty value seals and opens too.
        let empty = sealer.seal("C", "v", "");
        assert_eq!(sealer.open("C", "v", &empty).as_deref(), Some(""));
    }

    #[test]
    fn a_short_secret_is_no_key_and_the_debug_form_shows_nothing() {
        assert!(Sealer::new("short").is_none());
        assert!(Sealer::new(&" ".repeat(40)).is_none());
        let sealer = Sealer::new(KEY).unwrap();
        assert_eq!(format!("{sealer:?}"), "Sealer(..)");
    }

    #[test]
    fn fingerprints_are_keyed() {
        let a = Sealer::new(KEY).unwrap();
        let b = Sealer::new(&KEY.replace('k', "j")).unwrap();
        assert_eq!(a.fingerprint("00ff"), a.fingerprint("00ff"));
        assert_ne!(a.fingerprint("00ff"), a.fingerprint("00fe"));
        assert_ne!(a.fingerprint("00ff"), b.fingerprint("00ff"));
        assert_eq!(a.fingerprint("00ff").len(), 16);
    }
}
