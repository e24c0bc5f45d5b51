//! `[crm]`: providers, defaults, mappings and the errors they report.

use super::*;

#[test]
fn no_crm_table_means_nothing_is_synced() {
    assert_eq!(accepted("name = \"P\"\n").program.crm, None);
}

#[test]
fn a_provider_alone_takes_that_vendors_defaults() {
    let crm = accepted("[crm]\nprovider = \"salesforce\"\n")
        .program
        .crm
        .expect("a crm");
    assert_eq!(crm, CrmConfig::defaults(CrmProvider::Salesforce));
    let crm = accepted("[crm]\n").program.crm.expect("a crm");
    assert_eq!(crm.provider, CrmProvider::Hubspot);
    assert_eq!(crm.object, "deals");
}

#[test]
fn mappings_replace_the_defaults_and_name_their_properties() {
    let text = r#"
[crm]
provider = "hubspot"
base_url = "http://127.0.0.1:9000/"
object = "p_partner_registration"
won_stages = ["closedwon", "won_upsell"]
meeting_property = "trellis_first_meeting"
[crm.fields]
company = "registration_name"
case_number = "case"
[crm.on_create]
pipeline = "partners"
"#;
    let crm = accepted(text).program.crm.expect("a crm");
    assert_eq!(crm.base_url, "http://127.0.0.1:9000");
    assert_eq!(crm.won_stages, ["closedwon", "won_upsell"]);
    assert_eq!(crm.lost_stages, ["closedlost"]);
    assert_eq!(
        crm.record_properties(),
        [
            "case",
            "dealstage",
            "pipeline",
            "registration_name",
            "trellis_first_meeting",
            "trellis_registration_id"
        ]
    );
    assert_eq!(crm.outcome_of_stage("won_upsell"), Some(StageOutcome::Won));
    assert_eq!(crm.outcome_of_stage("closedlost"), Some(StageOutcome::Lost));
    assert_eq!(crm.outcome_of_stage("qualified"), None);
}

#[test]
fn each_mistake_is_reported_at_its_line() {
    let text = r#"[crm]
provider = "pipedrive"
base_url = "api.hubapi.com"
[crm.fields]
colour = "x"
amount = ""
[crm.salesforce]
api_version = "61"
"#;
    let issues = rejected(text);
    let found: Vec<(usize, &str)> = issues
        .iter()
        .map(|issue| (issue.line, issue.key.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (2, "crm.provider"),
            (3, "crm.base_url"),
            (5, "crm.fields.colour"),
            (6, "crm.fields.amount"),
            (8, "crm.salesforce.api_version"),
        ]
    );
    assert!(
        issues[0].message.contains("hubspot, salesforce"),
        "{}",
        issues[0].message
    );
    assert!(
        issues[2].message.contains("case_number"),
        "{}",
        issues[2].message
    );
}

#[test]
fn salesforce_settings_name_the_sign_in_and_the_account_relationship() {
    let text = r#"
[crm]
provider = "salesforce"
[crm.salesforce]
login_url = "https://acme.my.salesforce.com/"
username = "trellis@acme.example"
api_version = "v62.0"
account_relationship = "Customer__r"
"#;
    let crm = accepted(text).program.crm.expect("a crm");
    assert_eq!(crm.salesforce.login_url, "https://acme.my.salesforce.com");
    assert_eq!(
        crm.salesforce.username.as_deref(),
        Some("trellis@acme.example")
    );
    assert_eq!(crm.salesforce.api_version, "v62.0");
    assert_eq!(crm.salesforce.account_relationship, "Customer__r");
    let defaults = accepted("[crm]\nprovider = \"salesforce\"\n").program.crm;
    let defaults = defaults.expect("a crm").salesforce;
    assert_eq!(defaults.account_relationship, "Account__r");
    assert_eq!(defaults.username, None);
}

#[test]
fn an_empty_account_relationship_is_reported() {
    let issues = rejected("[crm]\n[crm.salesforce]\naccount_relationship = \" \"\n");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].key, "crm.salesforce.account_relationship");
    assert_eq!(issues[0].line, 3);
}
