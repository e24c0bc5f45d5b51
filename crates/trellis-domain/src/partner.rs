//! Partners: the companies that sell through the program.

use crate::ids::PartnerId;
use serde::{Deserialize, Serialize};

/// How a partner goes to market. Tier criteria and benefits can differ by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Reseller,
    Referral,
    Service,
    Isv,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 4] = [
        PartnerKind::Reseller,
        PartnerKind::Referral,
        PartnerKind::Service,
        PartnerKind::Isv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Reseller => "reseller",
            PartnerKind::Referral => "referral",
            PartnerKind::Service => "service",
            PartnerKind::Isv => "isv",
        }
    }

    pub fn parse(text: &str) -> Option<PartnerKind> {
        PartnerKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A partner as the rules see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub kind: PartnerKind,
    /// A tier id from the program (`registered`, `select`, `elite`).
    pub tier: String,
    /// Registrable mail domains whose senders speak for this partner
    /// (intake channels); validated as `WebDomain`s when they came in.
    pub email_domains: Vec<String>,
    pub regions: Vec<String>,
    pub segments: Vec<String>,
}
