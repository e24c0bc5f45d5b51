//! Trellis business rules.
//!
//! Everything here is a plain function of (state, command, program, now): no
//! database, no HTTP, no clock. That keeps every rule testable in microseconds
//! and every decision explainable from the events it returns.

pub mod channels;
pub mod conflict;
pub mod dedupe;
pub mod error;
pub mod event;
pub mod ids;
pub mod lifecycle;
pub mod partner;
pub mod program;
pub mod registration;
pub mod tiering;
pub mod values;

pub use error::DomainError;
