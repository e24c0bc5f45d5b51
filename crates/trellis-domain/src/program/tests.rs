//! Whole-file behaviour of [`Program::parse`]: one table per rule family.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::tiering::{Benefits, ReviewRules};

mod crm;
mod notify;
mod tiering;

fn rejected(text: &str) -> Vec<ConfigIssue> {
    match Program::parse(text) {
        Ok(parsed) => panic!("expected errors for {text:?}, got {parsed:#?}"),
        Err(ConfigErrors(errors)) => errors,
    }
}

fn accepted(text: &str) -> ParsedProgram {
    Program::parse(text).unwrap_or_else(|errors| panic!("{text:?} was rejected:\n{errors}"))
}

fn tier(id: &str, label: &str) -> Tier {
    Tier {
        id: id.to_owned(),
        label: label.to_owned(),
    }
}

#[test]
fn default_program() {
    let program = Program::default();
    assert_eq!(program.name, "Trellis partner program");
    assert_eq!(
        program.tiers,
        [
            tier("registered", "Registered"),
            tier("select", "Select"),
            tier("elite", "Elite")
        ]
    );
    assert_eq!(
        program.registration,
        RegistrationRules {
            hold_days: 90,
            meeting_sla_days: 14,
            response_sla_hours: 48,
            conflict_policy: ConflictPolicy::FirstMeeting,
            auto_approve: false,
        }
    );
    assert_eq!(program.dedupe.fuzzy_threshold, 0.88);
}

#[test]
fn files_that_set_nothing_give_the_default_program() {
    let cases = [
        ("empty", ""),
        ("whitespace", " \n\t\n"),
        ("comments", "# nothing to change yet\n"),
        ("empty sections", "[registration]\n[dedupe]\n"),
    ];
    for (name, text) in cases {
        let parsed = accepted(text);
        assert_eq!(parsed.program, Program::default(), "{name}");
        assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
    }
}

#[test]
fn every_key_is_read() {
    let text = r#"
name = "Acme partner program"
tiers = ["Authorized", "Gold Plus"]

[registration]
hold_days = 120
meeting_sla_days = 30
response_sla_hours = 24
conflict_policy = "split_by_segment"
auto_approve = true

[dedupe]
fuzzy_threshold = 0.9

[intake]
email_address = "deals@acme.com"

[intake.captcha]
provider = "turnstile"
site_key = "0x4AAA"
secret = "0x4AAA-secret"

[intake.hubspot]
company_name = "partner_company_field"
partner_id = ["partner_ref", "trellis_partner_id"]

[notify]
escalation_email = "Partners@Acme.com"
meeting_reminder_days = 5
"#;
    let expected = Program {
        name: "Acme partner program".to_owned(),
        tiers: vec![
            tier("authorized", "Authorized"),
            tier("gold-plus", "Gold Plus"),
        ],
        registration: RegistrationRules {
            hold_days: 120,
            meeting_sla_days: 30,
            response_sla_hours: 24,
            conflict_policy: ConflictPolicy::SplitBySegment,
            auto_approve: true,
        },
        dedupe: DedupeRules {
            fuzzy_threshold: 0.9,
        },
        intake: IntakeRules {
            email_address: "deals@acme.com".into(),
            captcha: Captcha {
                provider: CaptchaProvider::Turnstile,
                site_key: Some("0x4AAA".into()),
                secret: Some("0x4AAA-secret".into()),
                verify_url: "https://challenges.cloudflare.com/turnstile/v0/siteverify".into(),
            },
            hubspot: HubspotFields {
                company_name: vec!["partner_company_field".into()],
                partner_id: vec!["partner_ref".into(), "trellis_partner_id".into()],
                ..HubspotFields::default()
            },
        },
        notify: NotifyRules {
            escalation_email: Some("Partners@acme.com".into()),
            meeting_reminder_days: 5,
            ..NotifyRules::default()
        },
        // The built-in criteria name no tier of this program.
        criteria: Vec::new(),
        review: ReviewRules::default(),
        benefits: Benefits {
            by_tier: BTreeMap::new(),
            response_sla_hours: BTreeMap::new(),
            ..Program::default().benefits
        },
        crm: None,
    };
    assert_eq!(accepted(text).program, expected);
}

#[test]
fn keys_left_out_keep_their_defaults() {
    let program = accepted("[registration]\nhold_days = 60\n").program;
    assert_eq!(program.registration.hold_days, 60);
    assert_eq!(
        program,
        Program {
            registration: RegistrationRules {
                hold_days: 60,
                ..RegistrationRules::default()
            },
            ..Program::default()
        }
    );
}

#[test]
fn values_in_other_toml_spellings() {
    type Check = fn(&Program) -> bool;
    let cases: [(&str, Check); 5] = [
        ("[registration]\nhold_days = 0x5A", |p| {
            p.registration.hold_days == 90
        }),
        ("[registration]\nhold_days = 1_00", |p| {
            p.registration.hold_days == 100
        }),
        ("registration.hold_days = 30", |p| {
            p.registration.hold_days == 30
        }),
        ("[dedupe]\nfuzzy_threshold = 1", |p| {
            p.dedupe.fuzzy_threshold == 1.0
        }),
        ("[dedupe]\nfuzzy_threshold = 5e-1", |p| {
            p.dedupe.fuzzy_threshold == 0.5
        }),
    ];
    for (text, holds) in cases {
        assert!(holds(&accepted(text).program), "{text:?}");
    }
}

#[test]
fn every_conflict_policy_is_accepted_by_its_serde_name() {
    for policy in ConflictPolicy::ALL {
        let json = serde_json::to_value(policy).expect("serializes");
        assert_eq!(json, policy.as_str());
        let text = format!("[registration]\nconflict_policy = \"{}\"", policy.as_str());
        assert_eq!(accepted(&text).program.registration.conflict_policy, policy);
    }
}

#[test]
fn both_tier_syntaxes_mean_the_same() {
    let expected = vec![
        tier("registered", "Registered"),
        tier("gold-plus", "Gold Plus"),
    ];
    let cases = [
        ("labels", "tiers = [\"Registered\", \"Gold Plus\"]"),
        (
            "array of tables",
            "[[tiers]]\nid = \"registered\"\nlabel = \"Registered\"\n\n\
             [[tiers]]\nid = \"gold-plus\"\nlabel = \"Gold Plus\"\n",
        ),
        (
            "tables with ids left out",
            "[[tiers]]\nlabel = \"Registered\"\n[[tiers]]\nlabel = \"Gold Plus\"\n",
        ),
        (
            "inline tables",
            "tiers = [{ id = \"registered\", label = \"Registered\" }, { label = \"Gold Plus\" }]",
        ),
        (
            "labels with stray spaces",
            "tiers = [\" Registered\", \"Gold Plus \"]",
        ),
    ];
    for (name, text) in cases {
        assert_eq!(accepted(text).program.tiers, expected, "{name}");
    }
}

#[test]
fn explicit_tier_ids_may_differ_from_labels() {
    let text = "[[tiers]]\nid = \"gold\"\nlabel = \"Gold (renamed 2025)\"\n";
    assert_eq!(
        accepted(text).program.tiers,
        [tier("gold", "Gold (renamed 2025)")]
    );
}

/// A file with exactly one problem: where it is reported and what it says.
struct ErrorCase {
    name: &'static str,
    text: &'static str,
    line: usize,
    key: &'static str,
    message: &'static str,
}

const ERROR_CASES: &[ErrorCase] = &[
    ErrorCase {
        name: "escalation address that is no address",
        text: "[notify]\nescalation_email = \"partner team\"\n",
        line: 2,
        key: "notify.escalation_email",
        message: "partner team",
    },
    ErrorCase {
        name: "meeting reminder too early",
        text: "[notify]\nmeeting_reminder_days = 45\n",
        line: 2,
        key: "notify.meeting_reminder_days",
        message: "between 1 and 30",
    },
    // TOML syntax, reported by the parser.
    ErrorCase {
        name: "value missing",
        text: "name = \"x\"\n[registration]\nhold_days =\n",
        line: 3,
        key: "",
        message: "invalid TOML",
    },
    ErrorCase {
        name: "duplicate key",
        text: "[registration]\nhold_days = 1\nhold_days = 2\n",
        line: 3,
        key: "",
        message: "duplicate key",
    },
    ErrorCase {
        name: "unclosed array",
        text: "tiers = [\"A\",\n",
        line: 1,
        key: "",
        message: "unclosed array",
    },
    // Unknown keys.
    ErrorCase {
        name: "top-level typo",
        text: "nmae = \"Acme\"\n",
        line: 1,
        key: "nmae",
        message: "unknown key `nmae`; accepted keys: name, tiers, registration, dedupe",
    },
    ErrorCase {
        name: "registration typo",
        text: "[registration]\nhold_day = 90\n",
        line: 2,
        key: "registration.hold_day",
        message: "accepted keys: hold_days, meeting_sla_days, response_sla_hours, \
                  conflict_policy, auto_approve",
    },
    ErrorCase {
        name: "dedupe typo",
        text: "\n[dedupe]\nthreshold = 0.9\n",
        line: 3,
        key: "dedupe.threshold",
        message: "accepted keys: fuzzy_threshold",
    },
    ErrorCase {
        name: "unknown section",
        text: "[crm_sync]\nenabled = true\n",
        line: 1,
        key: "crm_sync",
        message: "unknown key `crm_sync`",
    },
    ErrorCase {
        name: "unknown tier key",
        text: "[[tiers]]\nlabel = \"Gold\"\ncolour = \"gold\"\n",
        line: 3,
        key: "tiers[0].colour",
        message: "accepted keys: id, label",
    },
    // Wrong types.
    ErrorCase {
        name: "integer as string",
        text: "[registration]\nhold_days = \"ninety\"\n",
        line: 2,
        key: "registration.hold_days",
        message: "expected an integer, found a string",
    },
    ErrorCase {
        name: "integer as float",
        text: "[registration]\nresponse_sla_hours = 48.0\n",
        line: 2,
        key: "registration.response_sla_hours",
        message: "expected an integer, found a float",
    },
    ErrorCase {
        name: "boolean as string",
        text: "[registration]\nauto_approve = \"yes\"\n",
        line: 2,
        key: "registration.auto_approve",
        message: "expected a boolean (true or false), found a string",
    },
    ErrorCase {
        name: "number as string",
        text: "[dedupe]\nfuzzy_threshold = \"high\"\n",
        line: 2,
        key: "dedupe.fuzzy_threshold",
        message: "expected a number, found a string",
    },
    ErrorCase {
        name: "policy as integer",
        text: "[registration]\nconflict_policy = 1\n",
        line: 2,
        key: "registration.conflict_policy",
        message: "expected one of first_meeting, first_registered, split_by_segment, \
                  found an integer",
    },
    ErrorCase {
        name: "name as integer",
        text: "name = 5\n",
        line: 1,
        key: "name",
        message: "expected a string, found an integer",
    },
    ErrorCase {
        name: "section as integer",
        text: "registration = 5\n",
        line: 1,
        key: "registration",
        message: "expected a table, found an integer",
    },
    ErrorCase {
        name: "section as array of tables",
        text: "[[dedupe]]\nfuzzy_threshold = 0.9\n",
        line: 1,
        key: "dedupe",
        message: "expected a table, found an array",
    },
    ErrorCase {
        name: "integer as date",
        text: "[registration]\nhold_days = 2025-01-01\n",
        line: 2,
        key: "registration.hold_days",
        message: "expected an integer, found a date-time",
    },
    ErrorCase {
        name: "tiers as string",
        text: "tiers = \"Gold\"\n",
        line: 1,
        key: "tiers",
        message: "expected an array of tier labels or [[tiers]] tables, found a string",
    },
    ErrorCase {
        name: "tier as integer",
        text: "tiers = [\n  \"Gold\",\n  2,\n]\n",
        line: 3,
        key: "tiers[1]",
        message: "expected a tier label or a table with `id` and `label`, found an integer",
    },
    ErrorCase {
        name: "tier label as integer",
        text: "[[tiers]]\nlabel = 5\n",
        line: 2,
        key: "tiers[0].label",
        message: "expected a string, found an integer",
    },
    // Out of range.
    ErrorCase {
        name: "hold_days zero",
        text: "[registration]\nhold_days = 0\n",
        line: 2,
        key: "registration.hold_days",
        message: "must be between 1 and 730 (found 0)",
    },
    ErrorCase {
        name: "hold_days too long",
        text: "[registration]\nhold_days = 731\n",
        line: 2,
        key: "registration.hold_days",
        message: "must be between 1 and 730 (found 731)",
    },
    ErrorCase {
        name: "hold_days negative",
        text: "[registration]\nhold_days = -1\n",
        line: 2,
        key: "registration.hold_days",
        message: "(found -1)",
    },
    ErrorCase {
        name: "hold_days beyond u32",
        text: "[registration]\nhold_days = 99999999999999999999\n",
        line: 2,
        key: "registration.hold_days",
        message: "(found 99999999999999999999)",
    },
    ErrorCase {
        name: "hold_days in hex",
        text: "[registration]\nhold_days = 0xFFFF\n",
        line: 2,
        key: "registration.hold_days",
        message: "(found 0xFFFF)",
    },
    ErrorCase {
        name: "meeting_sla_days zero",
        text: "[registration]\nmeeting_sla_days = 0\n",
        line: 2,
        key: "registration.meeting_sla_days",
        message: "must be between 1 and 365 (found 0)",
    },
    ErrorCase {
        name: "meeting_sla_days too long",
        text: "[registration]\nhold_days = 730\nmeeting_sla_days = 366\n",
        line: 3,
        key: "registration.meeting_sla_days",
        message: "must be between 1 and 365 (found 366)",
    },
    ErrorCase {
        name: "response_sla_hours zero",
        text: "[registration]\nresponse_sla_hours = 0\n",
        line: 2,
        key: "registration.response_sla_hours",
        message: "must be between 1 and 2160 (found 0)",
    },
    ErrorCase {
        name: "response_sla_hours too long",
        text: "[registration]\nresponse_sla_hours = 2161\n",
        line: 2,
        key: "registration.response_sla_hours",
        message: "must be between 1 and 2160 (found 2161)",
    },
    ErrorCase {
        name: "fuzzy_threshold too loose",
        text: "[dedupe]\nfuzzy_threshold = 0.49\n",
        line: 2,
        key: "dedupe.fuzzy_threshold",
        message: "must be between 0.5 and 1 (found 0.49)",
    },
    ErrorCase {
        name: "fuzzy_threshold above one",
        text: "[dedupe]\nfuzzy_threshold = 1.01\n",
        line: 2,
        key: "dedupe.fuzzy_threshold",
        message: "(found 1.01)",
    },
    ErrorCase {
        name: "fuzzy_threshold integer",
        text: "[dedupe]\nfuzzy_threshold = 2\n",
        line: 2,
        key: "dedupe.fuzzy_threshold",
        message: "(found 2)",
    },
    ErrorCase {
        name: "fuzzy_threshold nan",
        text: "[dedupe]\nfuzzy_threshold = nan\n",
        line: 2,
        key: "dedupe.fuzzy_threshold",
        message: "(found nan)",
    },
    // Conflict policy.
    ErrorCase {
        name: "unknown policy",
        text: "[registration]\nconflict_policy = \"first_come\"\n",
        line: 2,
        key: "registration.conflict_policy",
        message: "unknown value `first_come`; accepted values: first_meeting, \
                  first_registered, split_by_segment",
    },
    ErrorCase {
        name: "policy in the wrong case",
        text: "[registration]\nconflict_policy = \"FirstMeeting\"\n",
        line: 2,
        key: "registration.conflict_policy",
        message: "unknown value `FirstMeeting`",
    },
    // meeting_sla_days must not exceed hold_days.
    ErrorCase {
        name: "meeting after hold, both written",
        text: "[registration]\nhold_days = 10\nmeeting_sla_days = 20\n",
        line: 3,
        key: "registration.meeting_sla_days",
        message: "must not exceed hold_days (10)",
    },
    ErrorCase {
        name: "meeting after hold, meeting written",
        text: "[registration]\nmeeting_sla_days = 100\n",
        line: 2,
        key: "registration.meeting_sla_days",
        message: "must not exceed hold_days (90)",
    },
    ErrorCase {
        name: "meeting after hold, hold written",
        text: "[registration]\nhold_days = 10\n",
        line: 2,
        key: "registration.hold_days",
        message: "must be at least meeting_sla_days (14, the default)",
    },
    // Tiers.
    ErrorCase {
        name: "no tiers",
        text: "name = \"x\"\ntiers = []\n",
        line: 2,
        key: "tiers",
        message: "a program needs at least one tier",
    },
    ErrorCase {
        name: "duplicate labels",
        text: "tiers = [\n  \"Gold\",\n  \"Silver\",\n  \"gold\",\n]\n",
        line: 4,
        key: "tiers[2]",
        message: "duplicate tier id `gold`: tiers[0] on line 2 already uses it",
    },
    ErrorCase {
        name: "duplicate explicit ids",
        text: "[[tiers]]\nid = \"gold\"\nlabel = \"Gold\"\n\n\
               [[tiers]]\nid = \"gold\"\nlabel = \"Gold Plus\"\n",
        line: 6,
        key: "tiers[1].id",
        message: "duplicate tier id `gold`: tiers[0].id on line 2 already uses it",
    },
    ErrorCase {
        name: "explicit id clashes with derived id",
        text: "[[tiers]]\nlabel = \"Gold\"\n[[tiers]]\nid = \"gold\"\nlabel = \"Old gold\"\n",
        line: 4,
        key: "tiers[1].id",
        message: "tiers[0].label on line 2 already uses it",
    },
    ErrorCase {
        name: "empty label",
        text: "tiers = [\"Gold\", \"\"]\n",
        line: 1,
        key: "tiers[1]",
        message: "tier label must not be empty",
    },
    ErrorCase {
        name: "blank label",
        text: "tiers = [\"   \"]\n",
        line: 1,
        key: "tiers[0]",
        message: "tier label must not be empty",
    },
    ErrorCase {
        name: "empty label in a table",
        text: "[[tiers]]\nid = \"gold\"\nlabel = \"\"\n",
        line: 3,
        key: "tiers[0].label",
        message: "tier label must not be empty",
    },
    ErrorCase {
        name: "missing label",
        text: "\n[[tiers]]\nid = \"gold\"\n",
        line: 2,
        key: "tiers[0].label",
        message: "every tier needs a label",
    },
    ErrorCase {
        name: "empty id",
        text: "[[tiers]]\nid = \"\"\nlabel = \"Gold\"\n",
        line: 2,
        key: "tiers[0].id",
        message: "tier id must not be empty",
    },
    ErrorCase {
        name: "id with capitals",
        text: "[[tiers]]\nid = \"Gold Plus\"\nlabel = \"Gold Plus\"\n",
        line: 2,
        key: "tiers[0].id",
        message: "tier id `Gold Plus` must be a lowercase slug of a-z, 0-9 and `-`, \
                  such as `gold-plus`",
    },
    ErrorCase {
        name: "id with underscore, inline",
        text: "tiers = [{ id = \"gold_plus\", label = \"Gold Plus\" }]\n",
        line: 1,
        key: "tiers[0].id",
        message: "such as `gold-plus`",
    },
    ErrorCase {
        name: "id with nothing to suggest",
        text: "[[tiers]]\nid = \"日本\"\nlabel = \"Japan\"\n",
        line: 2,
        key: "tiers[0].id",
        message: "must be a lowercase slug of a-z, 0-9 and `-`",
    },
    ErrorCase {
        name: "label without ASCII letters",
        text: "tiers = [\"Registered\", \"日本\"]\n",
        line: 1,
        key: "tiers[1]",
        message: "cannot make a tier id from `日本`",
    },
];

#[test]
fn each_rule_reports_its_line_key_and_message() {
    assert_each_case(ERROR_CASES);
}

/// Each case's file is rejected with exactly its one error.
fn assert_each_case(cases: &[ErrorCase]) {
    for case in cases {
        let errors = rejected(case.text);
        let [error] = errors.as_slice() else {
            panic!("{}: expected exactly one error, got {errors:#?}", case.name);
        };
        assert_eq!(
            (error.line, error.key.as_str()),
            (case.line, case.key),
            "{}: {error}",
            case.name
        );
        assert!(
            error.message.contains(case.message),
            "{}: {:?} does not contain {:?}",
            case.name,
            error.message,
            case.message
        );
    }
}

#[test]
fn columns_point_at_the_offending_key_or_element() {
    let cases = [
        ("[registration]\n  hold_days = 0\n", 2, 3),
        ("tiers = [\"Gold\", \"\"]\n", 1, 18),
        ("name = \"é\"\nnmae = 1\n", 2, 1),
        ("a = \"é\" =\n", 1, 9),
    ];
    for (text, line, column) in cases {
        let error = &rejected(text)[0];
        assert_eq!(
            (error.line, error.column),
            (line, column),
            "{text:?}: {error}"
        );
    }
}

#[test]
fn a_rejected_value_does_not_cause_follow_on_errors() {
    let cases = [
        (
            "hold_days out of range, meeting valid but above the default hold",
            "[registration]\nhold_days = 1000\nmeeting_sla_days = 200\n",
            "registration.hold_days",
        ),
        ("the only tier rejected", "tiers = [5]\n", "tiers[0]"),
        (
            "an id derived from a rejected label",
            "tiers = [\"Gold\", { label = \"\" }]\n",
            "tiers[1].label",
        ),
    ];
    for (name, text, key) in cases {
        let errors = rejected(text);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, [key], "{name}");
    }
}

#[test]
fn every_error_in_a_file_is_reported_in_file_order() {
    let text = r#"name = "Acme"
tiers = ["Gold", "", "gold"]
colour = "green"

[registration]
hold_day = 90
hold_days = 0
meeting_sla_days = "two weeks"
response_sla_hours = 2161
conflict_policy = "first_come"
auto_approve = "no"

[[tiers_extra]]

[dedupe]
fuzzy_threshold = 0.2
"#;
    let found: Vec<(usize, String)> = rejected(text)
        .into_iter()
        .map(|e| (e.line, e.key))
        .collect();
    let expected = [
        (2, "tiers[1]"),
        (2, "tiers[2]"),
        (3, "colour"),
        (6, "registration.hold_day"),
        (7, "registration.hold_days"),
        (8, "registration.meeting_sla_days"),
        (9, "registration.response_sla_hours"),
        (10, "registration.conflict_policy"),
        (11, "registration.auto_approve"),
        (13, "tiers_extra"),
        (16, "dedupe.fuzzy_threshold"),
    ]
    .map(|(line, key)| (line, key.to_owned()));
    assert_eq!(found, expected);
}

#[test]
fn a_tier_table_reports_all_its_problems() {
    let cases = [
        (
            "[[tiers]]\nid = \"Gold\"\nlabel = \"\"\nrank = 1\n",
            &["tiers[0].id", "tiers[0].label", "tiers[0].rank"][..],
        ),
        (
            "[[tiers]]\nid = 7\n",
            &["tiers[0].label", "tiers[0].id"][..],
        ),
    ];
    for (text, expected) in cases {
        let keys: Vec<String> = rejected(text).into_iter().map(|e| e.key).collect();
        assert_eq!(keys, expected, "{text:?}");
    }
}

#[test]
fn warnings_do_not_reject_the_file() {
    struct WarningCase {
        text: &'static str,
        line: usize,
        key: &'static str,
        message: &'static str,
    }
    let cases = [
        WarningCase {
            text: "\ntiers = [\"A\", \"B\", \"C\", \"D\", \"E\"]\n",
            line: 2,
            key: "tiers",
            message: "programs with more than four tiers are hard for partners to follow \
                      (found 5)",
        },
        WarningCase {
            text: "[[tiers]]\nlabel = \"A\"\n[[tiers]]\nlabel = \"B\"\n[[tiers]]\nlabel = \"C\"\n\
                   [[tiers]]\nlabel = \"D\"\n[[tiers]]\nlabel = \"E\"\n",
            line: 1,
            key: "tiers",
            message: "more than four tiers",
        },
        WarningCase {
            text: "tiers = [\"Registered\", \"Élite\"]\n",
            line: 1,
            key: "tiers[1]",
            message: "tier id `lite` made from `Élite` drops its non-ASCII characters",
        },
    ];
    for case in cases {
        let parsed = accepted(case.text);
        let [warning] = parsed.warnings.as_slice() else {
            panic!(
                "{:?}: expected one warning, got {:#?}",
                case.text, parsed.warnings
            );
        };
        assert_eq!((warning.line, warning.key.as_str()), (case.line, case.key));
        assert!(warning.message.contains(case.message), "{warning}");
    }
}

#[test]
fn four_tiers_are_fine() {
    let parsed = accepted("tiers = [\"A\", \"B\", \"C\", \"D\"]");
    assert_eq!(parsed.program.tiers.len(), 4);
    assert!(parsed.warnings.is_empty());
}

#[test]
fn warnings_are_dropped_when_the_file_has_errors() {
    let errors = rejected("tiers = [\"A\", \"B\", \"C\", \"D\", \"E\"]\nname = 1\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "name");
}

#[test]
fn issues_display_as_one_line_each() {
    let issue = |line, key: &str, message: &str| ConfigIssue {
        line,
        column: 1,
        key: key.to_owned(),
        message: message.to_owned(),
    };
    let errors = ConfigErrors(vec![
        issue(
            7,
            "registration.hold_days",
            "must be between 1 and 730 (found 0)",
        ),
        issue(9, "", "invalid TOML: duplicate key"),
    ]);
    assert_eq!(
        errors.0[0].to_string(),
        "line 7, column 1: registration.hold_days: must be between 1 and 730 (found 0)"
    );
    assert_eq!(
        errors.to_string(),
        "line 7, column 1: registration.hold_days: must be between 1 and 730 (found 0)\n\
         line 9, column 1: invalid TOML: duplicate key"
    );
}

#[test]
fn parsed_errors_display_with_their_position() {
    let errors = rejected("[registration]\nhold_days = 0\n");
    assert_eq!(
        ConfigErrors(errors).to_string(),
        "line 2, column 1: registration.hold_days: must be between 1 and 730 (found 0)"
    );
}

#[test]
fn tiers_are_looked_up_by_id() {
    let program = accepted("tiers = [\"Registered\", \"Gold Plus\"]").program;
    let cases = [
        ("registered", Some("Registered")),
        ("gold-plus", Some("Gold Plus")),
        ("Gold Plus", None),
        ("elite", None),
        ("", None),
    ];
    for (id, label) in cases {
        assert_eq!(program.tier(id).map(|t| t.label.as_str()), label, "{id:?}");
    }
    assert_eq!(program.lowest_tier(), &tier("registered", "Registered"));
    assert_eq!(Program::default().lowest_tier().id, "registered");
}

#[test]
fn programs_serialize_with_file_spellings() {
    let json = serde_json::to_value(Program::default()).expect("serializes");
    assert_eq!(json["registration"]["conflict_policy"], "first_meeting");
    assert_eq!(json["tiers"][0]["id"], "registered");
    assert_eq!(json["dedupe"]["fuzzy_threshold"], 0.88);
}

/// Lines built from the program's own keys and a mix of good and bad values,
/// so the walker (not just the TOML parser) sees unusual input.
fn program_like_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "name",
        "tiers",
        "hold_days",
        "meeting_sla_days",
        "response_sla_hours",
        "conflict_policy",
        "auto_approve",
        "fuzzy_threshold",
        "id",
        "label",
        "registration.hold_days",
        "bucket",
        "metric",
        "aggregate",
        "thresholds",
        "weights",
        "kinds",
        "max_age_days",
        "grace_margin",
        "base",
        "unknown",
    ]);
    let value = prop::sample::select(vec![
        "0",
        "1",
        "90",
        "-5",
        "0x7FFFFFFFFFFFFFFF",
        "99999999999999999999",
        "0.88",
        "nan",
        "-inf",
        "true",
        "\"\"",
        "\"Gold\"",
        "\"first_meeting\"",
        "[]",
        "[\"A\", \"a\", \"\", 1]",
        "[{ id = \"x\" }, { label = \"Élite\" }]",
        "{}",
        "{ select = 1, elite = 0.5 }",
        "{ gold = 2 }",
        "\"sum\"",
        "\"count_distinct_active\"",
        "\"capability\"",
        "[\"isv\", \"robot\"]",
        "1979-05-27",
    ]);
    let header = prop::sample::select(vec![
        "",
        "[registration]",
        "[dedupe]",
        "[[tiers]]",
        "[[criteria]]",
        "[review]",
        "[benefits]",
        "[benefits.tiers]",
        "[registration.extra]",
        "[[dedupe]]",
    ]);
    let line = prop_oneof![
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        header.prop_map(str::to_owned),
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

/// Whatever `parse` accepts satisfies the documented invariants.
fn assert_valid(program: &Program) {
    let rules = &program.registration;
    assert!(!program.tiers.is_empty());
    assert!(rules.meeting_sla_days <= rules.hold_days);
    assert!((1..=730).contains(&rules.hold_days));
    assert!((1..=365).contains(&rules.meeting_sla_days));
    assert!((1..=2160).contains(&rules.response_sla_hours));
    assert!((0.5..=1.0).contains(&program.dedupe.fuzzy_threshold));
    for (index, tier) in program.tiers.iter().enumerate() {
        assert!(!tier.label.is_empty());
        assert!(tier
            .id
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-')));
        assert!(!program.tiers[..index].iter().any(|t| t.id == tier.id));
    }
    for (index, criterion) in program.criteria.iter().enumerate() {
        assert!(!criterion.thresholds.is_empty());
        assert!(criterion
            .thresholds
            .keys()
            .all(|id| program.tier(id).is_some()));
        assert!(!program.criteria[..index]
            .iter()
            .any(|c| c.id == criterion.id));
    }
    let tiered = program.benefits.by_tier.keys();
    assert!(tiered
        .chain(program.benefits.response_sla_hours.keys())
        .all(|id| program.tier(id).is_some()));
}

fn assert_well_formed(result: &Result<ParsedProgram, ConfigErrors>, text: &str) {
    let line_count = text.split('\n').count();
    match result {
        Ok(parsed) => assert_valid(&parsed.program),
        Err(ConfigErrors(errors)) => {
            assert!(!errors.is_empty());
            for error in errors {
                assert!(
                    (1..=line_count).contains(&error.line),
                    "{error} in {text:?}"
                );
                assert!(error.column >= 1);
            }
        }
    }
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        assert_well_formed(&Program::parse(&text), &text);
    }

    #[test]
    fn never_panics_on_program_like_text(text in program_like_text()) {
        assert_well_formed(&Program::parse(&text), &text);
    }
}

#[test]
fn intake_errors_name_their_line() {
    let text = "[intake]\nemail_address = \"not an address\"\n\n[intake.captcha]\nprovider = \"friendly-robot\"\n";
    let errors = rejected(text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].key.as_str()),
        (2, "intake.email_address")
    );
    assert_eq!(
        (errors[1].line, errors[1].key.as_str()),
        (5, "intake.captcha.provider")
    );
    assert!(
        errors[1].message.contains("turnstile"),
        "{}",
        errors[1].message
    );
}

#[test]
fn hubspot_field_lists_must_hold_strings() {
    let errors =
        rejected("[intake.hubspot]\nconsent = [\"LEGAL_CONSENT.processing\", 7]\nemail = \"x\"\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].key.as_str()),
        (2, "intake.hubspot.consent")
    );
    assert!(
        errors[1].message.contains("unknown key `email`"),
        "{}",
        errors[1].message
    );
}
