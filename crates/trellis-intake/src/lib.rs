//! Intake parsers: each channel's outside input turned into the fields of a
//! registration draft, with no IO, so every parser can be unit-tested,
//! property-tested and fuzzed. Channel adapters in the server authenticate,
//! call these, build the same `Draft`, and hand it to the same core.

pub mod csv_rows;
pub mod email;
mod fields;
pub mod hubspot;
pub mod signature;
pub mod slack;

pub use fields::{consent_answer, Fields};
