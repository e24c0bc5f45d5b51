//! `[crm]`: which CRM is the source of truth, and how a registration's
//! fields map onto its records. Secrets (tokens, client secrets, key files)
//! never live here; they come from the environment.

use super::reader::{Element, Origin, TableReader};
use std::collections::BTreeMap;

/// The Trellis fields a mapping may name, as a registration's snapshot
/// offers them to the CRM.
pub const RECORD_FIELDS: &[&str] = &[
    "case_number",
    "kind",
    "status",
    "partner",
    "partner_id",
    "company",
    "domain",
    "contact_name",
    "contact_email",
    "amount",
    "currency",
    "expected_close",
    "hold_until",
    "meeting_due",
    "first_meeting_at",
    "registered_at",
    "region",
    "segment",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmProvider {
    Hubspot,
    Salesforce,
}

impl CrmProvider {
    pub const ALL: [CrmProvider; 2] = [CrmProvider::Hubspot, CrmProvider::Salesforce];

    pub const fn as_str(self) -> &'static str {
        match self {
            CrmProvider::Hubspot => "hubspot",
            CrmProvider::Salesforce => "salesforce",
        }
    }
}

/// The CRM side of the program. Defaults follow each vendor's conventions:
/// HubSpot deals and companies keyed by custom unique properties, a custom
/// Salesforce registration object keyed by an External ID field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrmConfig {
    pub provider: CrmProvider,
    /// The vendor's API base; tests point it at a local fake. For
    /// Salesforce, the instance URL the token answer names wins over it.
    pub base_url: String,
    /// The object a registration becomes: HubSpot `deals` or a custom
    /// object type; a Salesforce sObject such as `Partner_Registration__c`.
    pub object: String,
    /// The unique property (HubSpot) or External ID field (Salesforce)
    /// holding the Trellis registration id, so every write is an upsert.
    pub id_property: String,
    /// The object a registration's account becomes (`companies`, `Account`).
    pub account_object: String,
    /// The unique property holding the Trellis account id.
    pub account_id_property: String,
    /// Trellis field (see [`RECORD_FIELDS`]) to CRM property, for the
    /// registration's record.
    pub fields: BTreeMap<String, String>,
    /// Trellis field to CRM property, for the account's record (`company`
    /// and `domain` make sense here).
    pub account_fields: BTreeMap<String, String>,
    /// Constant CRM property values sent only when a record is created
    /// (a deal's pipeline and first stage): afterwards the CRM owns them.
    pub on_create: BTreeMap<String, String>,
    /// The CRM property holding the sales stage, read back from the CRM.
    pub stage_property: String,
    /// CRM stage values that close a registration as won or lost.
    pub won_stages: Vec<String>,
    pub lost_stages: Vec<String>,
    /// A CRM date property that, once set, is the first customer meeting.
    pub meeting_property: Option<String>,
    pub salesforce: SalesforceSettings,
}

/// `[crm.salesforce]`: where to sign in and which API version to speak.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SalesforceSettings {
    pub login_url: String,
    /// The integration user, for the JWT bearer flow.
    pub username: Option<String>,
    /// Such as `v61.0`.
    pub api_version: String,
    /// The lookup relationship from the registration object to its account
    /// (`Account__r` for a custom lookup field `Account__c`). A registration
    /// names its account through it by the account's External ID, so one
    /// upsert call links them without first looking up Salesforce ids.
    pub account_relationship: String,
}

impl CrmConfig {
    /// The defaults for `provider`, before the file's keys apply.
    pub fn defaults(provider: CrmProvider) -> CrmConfig {
        let pairs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let salesforce = SalesforceSettings {
            login_url: "https://login.salesforce.com".into(),
            username: None,
            api_version: "v61.0".into(),
            account_relationship: "Account__r".into(),
        };
        match provider {
            CrmProvider::Hubspot => CrmConfig {
                provider,
                base_url: "https://api.hubapi.com".into(),
                object: "deals".into(),
                id_property: "trellis_registration_id".into(),
                account_object: "companies".into(),
                account_id_property: "trellis_account_id".into(),
                fields: pairs(&[
                    ("company", "dealname"),
                    ("amount", "amount"),
                    ("expected_close", "closedate"),
                    ("case_number", "trellis_case_number"),
                    ("partner", "trellis_partner"),
                    ("status", "trellis_status"),
                    ("hold_until", "trellis_hold_until"),
                ]),
                account_fields: pairs(&[("company", "name"), ("domain", "domain")]),
                on_create: pairs(&[
                    ("pipeline", "default"),
                    ("dealstage", "appointmentscheduled"),
                ]),
                stage_property: "dealstage".into(),
                won_stages: vec!["closedwon".into()],
                lost_stages: vec!["closedlost".into()],
                meeting_property: None,
                salesforce,
            },
            CrmProvider::Salesforce => CrmConfig {
                provider,
                base_url: "https://login.salesforce.com".into(),
                object: "Partner_Registration__c".into(),
                id_property: "Trellis_Id__c".into(),
                account_object: "Account".into(),
                account_id_property: "Trellis_Account_Id__c".into(),
                fields: pairs(&[
                    ("company", "Name"),
                    ("amount", "Amount__c"),
                    ("case_number", "Case_Number__c"),
                    ("partner", "Partner__c"),
                    ("status", "Status__c"),
                    ("hold_until", "Hold_Until__c"),
                ]),
                account_fields: pairs(&[("company", "Name"), ("domain", "Website")]),
                on_create: BTreeMap::new(),
                stage_property: "Stage__c".into(),
                won_stages: vec!["Closed Won".into()],
                lost_stages: vec!["Closed Lost".into()],
                meeting_property: Some("First_Meeting__c".into()),
                salesforce,
            },
        }
    }

    /// Every CRM property the mapping names on the registration's object,
    /// for `trellis crm check`.
    pub fn record_properties(&self) -> Vec<&str> {
        let mut names: Vec<&str> = std::iter::once(self.id_property.as_str())
            .chain(self.fields.values().map(String::as_str))
            .chain(self.on_create.keys().map(String::as_str))
            .chain(std::iter::once(self.stage_property.as_str()))
            .chain(self.meeting_property.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Every CRM property the mapping names on the account's object.
    pub fn account_properties(&self) -> Vec<&str> {
        let mut names: Vec<&str> = std::iter::once(self.account_id_property.as_str())
            .chain(self.account_fields.values().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// What a CRM stage value means for the registration, if anything.
    pub fn outcome_of_stage(&self, stage: &str) -> Option<StageOutcome> {
        if self.won_stages.iter().any(|s| s == stage) {
            Some(StageOutcome::Won)
        } else if self.lost_stages.iter().any(|s| s == stage) {
            Some(StageOutcome::Lost)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOutcome {
    Won,
    Lost,
}

/// `None` when the file has no `[crm]` table: nothing is synced.
pub(crate) fn read(mut document: TableReader<'_, '_>) -> Option<CrmConfig> {
    if !document.is_present() {
        document.finish();
        return None;
    }
    let provider = document.choice(
        "provider",
        CrmProvider::Hubspot,
        &CrmProvider::ALL,
        CrmProvider::as_str,
    );
    let mut crm = CrmConfig::defaults(provider.value);
    crm.base_url = url(&mut document, "base_url", &crm.base_url);
    crm.object = document.string("object", &crm.object).value;
    crm.id_property = document.string("id_property", &crm.id_property).value;
    crm.account_object = document.string("account_object", &crm.account_object).value;
    crm.account_id_property = document
        .string("account_id_property", &crm.account_id_property)
        .value;
    crm.stage_property = document.string("stage_property", &crm.stage_property).value;
    let won: Vec<&str> = crm.won_stages.iter().map(String::as_str).collect();
    let lost: Vec<&str> = crm.lost_stages.iter().map(String::as_str).collect();
    let (won, lost) = (
        document.strings("won_stages", &won).value,
        document.strings("lost_stages", &lost).value,
    );
    (crm.won_stages, crm.lost_stages) = (won, lost);
    let meeting = document.string("meeting_property", "");
    if !matches!(meeting.origin, Origin::Default) {
        crm.meeting_property = Some(meeting.value).filter(|name| !name.is_empty());
    }
    if let Some(fields) = field_map(&mut document, "fields") {
        crm.fields = fields;
    }
    if let Some(fields) = field_map(&mut document, "account_fields") {
        crm.account_fields = fields;
    }
    if let Some(values) = constants(&mut document) {
        crm.on_create = values;
    }
    crm.salesforce = read_salesforce(document.section("salesforce"), &crm.salesforce);
    document.finish();
    Some(crm)
}

fn read_salesforce(
    mut section: TableReader<'_, '_>,
    defaults: &SalesforceSettings,
) -> SalesforceSettings {
    let login_url = url(&mut section, "login_url", &defaults.login_url);
    let username = section.string("username", "");
    let api_version = section.string("api_version", &defaults.api_version);
    if let Origin::File(span) = &api_version.origin {
        let valid = api_version
            .value
            .strip_prefix('v')
            .and_then(|number| number.split_once('.'))
            .is_some_and(|(major, minor)| {
                !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) && minor == "0"
            });
        if !valid {
            let span = span.clone();
            section.error(
                &span,
                "api_version",
                "write the version as Salesforce does, such as v61.0",
            );
        }
    }
    let relationship = section.string("account_relationship", &defaults.account_relationship);
    if let Origin::File(span) = &relationship.origin {
        if relationship.value.trim().is_empty() {
            let span = span.clone();
            section.error(
                &span,
                "account_relationship",
                "name the lookup relationship to the account, such as Account__r",
            );
        }
    }
    section.finish();
    SalesforceSettings {
        login_url,
        username: Some(username.value).filter(|name| !name.is_empty()),
        api_version: api_version.value,
        account_relationship: relationship.value,
    }
}

/// An http(s) URL without a trailing slash.
fn url(section: &mut TableReader<'_, '_>, key: &'static str, default: &str) -> String {
    let setting = section.string(key, default);
    if let Origin::File(span) = &setting.origin {
        let value = setting.value.trim_end_matches('/');
        if !(value.starts_with("https://") || value.starts_with("http://")) {
            let span = span.clone();
            section.error(&span, key, "write an http:// or https:// URL");
            return default.to_owned();
        }
        return value.to_owned();
    }
    setting.value
}

/// `[crm.fields]`-style table: Trellis field to CRM property name.
fn field_map(
    section: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<BTreeMap<String, String>> {
    let read = section.map(
        key,
        "a table of Trellis field = \"CRM property\"",
        |diagnostics, name, element| {
            if !RECORD_FIELDS.contains(&name) {
                let message = format!(
                    "`{name}` is not a Trellis field; mappable fields: {}",
                    RECORD_FIELDS.join(", ")
                );
                diagnostics.error(&element.span, &element.key, message);
                return None;
            }
            property_name(diagnostics, &element)
        },
    );
    matches!(read.origin, Origin::File(_)).then(|| {
        read.value
            .into_iter()
            .map(|named| (named.name, named.value))
            .collect()
    })
}

/// `[crm.on_create]`: CRM property to a constant value.
fn constants(section: &mut TableReader<'_, '_>) -> Option<BTreeMap<String, String>> {
    let read = section.map(
        "on_create",
        "a table of CRM property = \"value\"",
        |diagnostics, _, element| property_name(diagnostics, &element),
    );
    matches!(read.origin, Origin::File(_)).then(|| {
        read.value
            .into_iter()
            .map(|named| (named.name, named.value))
            .collect()
    })
}

fn property_name(
    diagnostics: &mut super::reader::Diagnostics<'_>,
    element: &Element<'_, '_>,
) -> Option<String> {
    match element.value.as_str() {
        Some(text) if !text.trim().is_empty() => Some(text.to_owned()),
        _ => {
            diagnostics.error(&element.span, &element.key, "write a non-empty string");
            None
        }
    }
}
