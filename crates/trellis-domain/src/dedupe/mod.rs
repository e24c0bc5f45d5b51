//! Deduplication of prospect companies registered by partners.
//!
//! A registration is matched against known accounts in three steps, cheapest
//! and most certain first:
//!
//! 1. **Company domain.** The registrable domain ([`WebDomain`]) of the
//!    prospect's website, or of its contact's [`Email`] through
//!    [`company_domain_from_email`]. Free-mail domains ([`is_free_mail`]) are
//!    never company domains: two Gmail contacts are not one company.
//! 2. **Exact name.** The normalized [`company_key`] of the [`CompanyName`],
//!    which ignores case, accents, punctuation and legal forms
//!    ("ACME Inc." and "Acme GmbH" both give `acme`).
//! 3. **Fuzzy name.** Candidates found through indexed prefix scans on
//!    [`prefix_for_block`] of the key and of its [`reversed_key`], then scored
//!    with [`name_similarity`]; the caller picks the threshold.
//!
//! Everything here is a pure function of its input. Invalid input is reported
//! as a [`ValueError`] whose message can be shown to the partner as is.

mod company;
mod email;
mod error;
mod free_mail;
mod host;
mod similarity;
mod web_domain;

pub use company::{company_key, CompanyName};
pub use email::Email;
pub use error::ValueError;
pub use free_mail::{company_domain_from_email, is_free_mail};
pub use similarity::{name_similarity, prefix_for_block, reversed_key, NameProbe};
pub use web_domain::WebDomain;
