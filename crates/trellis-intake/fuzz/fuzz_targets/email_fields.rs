//! Raw bytes through `parse_message` then `extract_fields`, and the bytes as
//! text straight into `extract_fields`. From `crates/trellis-intake`, seeded
//! with the fixtures:
//!
//! ```text
//! cargo +nightly fuzz run -O email_fields fuzz/corpus/email_fields tests/fixtures/email \
//!     -- -dict=fuzz/email_fields.dict
//! ```
//!
//! `-O` matters: without it cargo-fuzz turns on debug assertions, and
//! mail-parser 0.11 has `debug_assert!`s that malformed MIME reaches (release
//! builds compile them out; `parse_message` contains them with
//! `catch_unwind`, but libFuzzer aborts on any panic before it unwinds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trellis_intake::email::{extract_fields, parse_message};

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = parse_message(data) {
        let _ = extract_fields(&mail.text);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = extract_fields(text);
    }
});
