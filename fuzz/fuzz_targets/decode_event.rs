//! The event decoder and the signature check on arbitrary bytes: no panic, only documented codes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ivr_core::telesign::{decode_event, verify};

fuzz_target!(|data: &[u8]| {
    if let Err(e) = decode_event(data) {
        assert!(matches!(
            e.code(),
            "invalid_json" | "invalid_event" | "missing_field" | "invalid_field"
        ));
    }
    let header = String::from_utf8_lossy(data);
    let _ = verify(Some(&header), Some(&header), data, "customer", "a2V5");
});
