//! `[[criteria]]`, `[review]` and `[benefits]`, and criteria sent as JSON.

use serde_json::json;

use super::*;
use crate::partner::PartnerKind;
use crate::tiering::{Aggregate, Bucket, Criterion, Quantity, WindowRule};

fn q(text: &str) -> Quantity {
    Quantity::parse(text).expect("a quantity")
}

fn thresholds(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(tier, value)| (tier.to_string(), q(value)))
        .collect()
}

fn ids(criteria: &[Criterion]) -> Vec<&str> {
    criteria.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn the_default_program_has_criteria_review_rules_and_benefits() {
    let program = Program::default();
    assert_eq!(
        ids(&program.criteria),
        [
            "revenue",
            "joint_customers",
            "csat",
            "registration_hygiene",
            "certified_people",
            "validated_offering",
            "recent_proof"
        ]
    );
    let revenue = program.criterion("revenue").expect("revenue");
    assert_eq!(
        revenue.thresholds,
        thresholds(&[("select", "100000"), ("elite", "500000")])
    );
    assert_eq!(revenue.weights["influenced"], q("0.5"));
    assert!(!revenue.requires_evidence);
    let proof = program.criterion("recent_proof").expect("proof");
    assert_eq!(
        (proof.metric.as_str(), proof.max_age_days),
        ("proof", Some(365))
    );
    assert!(proof.requires_evidence);
    assert_eq!(
        program.criterion("csat").expect("csat").thresholds["elite"],
        q("4.5")
    );
    assert_eq!(program.review, ReviewRules::default());
    assert_eq!(program.review.nudge_threshold, q("0.8"));
    assert_eq!(program.review.grace_margin, q("0.1"));
    assert_eq!(program.review.window, WindowRule::Quarters);
    assert_eq!(program.review.appeal_days, 30);
    assert!(program.review.auto_upgrade);
    assert_eq!(program.benefits.base.len(), 3);
    assert_eq!(program.benefits.by_tier["elite"].len(), 5);
    assert_eq!(program.response_sla_hours_for("elite"), 24);
    assert_eq!(program.response_sla_hours_for("select"), 48);
}

#[test]
fn default_criteria_pass_their_own_checks() {
    let json = serde_json::to_value(&Program::default().criteria).expect("json");
    let program = Program::default();
    assert_eq!(program.with_criteria_json(&json), Ok(program.clone()));
}

const ONE_CRITERION: &str = r#"
[[criteria]]
id = "certs"
label = "Certified engineers"
bucket = "capability"
metric = "certification"
aggregate = "count_distinct_active"
thresholds = { select = 2, elite = 4.0 }
kinds = ["service", "isv", "service"]
max_age_days = 730
"#;

#[test]
fn a_file_with_only_criteria_is_a_whole_program() {
    let program = accepted(ONE_CRITERION).program;
    let expected = Criterion {
        id: "certs".into(),
        label: "Certified engineers".into(),
        bucket: Bucket::Capability,
        metric: "certification".into(),
        aggregate: Aggregate::CountDistinctActive,
        thresholds: thresholds(&[("select", "2"), ("elite", "4")]),
        kinds: vec![PartnerKind::Service, PartnerKind::Isv],
        weights: BTreeMap::new(),
        requires_evidence: true,
        max_age_days: Some(730),
    };
    assert_eq!(program.criteria, [expected]);
    assert_eq!(
        Program {
            criteria: Vec::new(),
            ..program
        },
        Program {
            criteria: Vec::new(),
            ..Program::default()
        }
    );
}

#[test]
fn every_tiering_key_is_read() {
    let text = r#"
[[criteria]]
id = "pipeline"
label = "Pipeline"
bucket = "outcome"
metric = "pipeline"
aggregate = "sum"
thresholds = { registered = 0, elite = 1_000.5 }
weights = { sourced = 1, influenced = 0.25 }
requires_evidence = true

[review]
auto_upgrade = false
nudge_threshold = 0.75
grace_margin = 0
window = "trailing_365_days"
appeal_days = 14

[benefits]
base = ["Listing"]

[benefits.tiers]
elite = ["MDF", "Badge"]
select = "Support"

[benefits.response_sla_hours]
select = 36
"#;
    let program = accepted(text).program;
    let [pipeline] = program.criteria.as_slice() else {
        panic!("{:?}", program.criteria);
    };
    assert_eq!(
        pipeline.thresholds,
        thresholds(&[("registered", "0"), ("elite", "1000.5")])
    );
    assert_eq!(pipeline.weights["influenced"], q("0.25"));
    assert!(pipeline.requires_evidence);
    assert_eq!(
        program.review,
        ReviewRules {
            auto_upgrade: false,
            nudge_threshold: q("0.75"),
            grace_margin: Quantity::ZERO,
            window: WindowRule::Trailing365Days,
            appeal_days: 14,
        }
    );
    assert_eq!(program.benefits.base, ["Listing"]);
    assert_eq!(program.benefits.by_tier["select"], ["Support"]);
    assert_eq!(program.benefits.by_tier["elite"], ["MDF", "Badge"]);
    assert_eq!(program.response_sla_hours_for("select"), 36);
    // A written table replaces the built-in one: elite's 24 hours are gone.
    assert_eq!(program.response_sla_hours_for("elite"), 48);
}

#[test]
fn thresholds_accept_every_toml_number_spelling() {
    let cases = [
        ("4", "4"),
        ("4.0", "4"),
        ("4.25", "4.25"),
        ("5e-1", "0.5"),
        ("1_000", "1000"),
        ("0x10", "16"),
        ("-2", "-2"),
    ];
    for (written, expected) in cases {
        let text = ONE_CRITERION.replace("select = 2, elite = 4.0", &format!("select = {written}"));
        let program = accepted(&text).program;
        assert_eq!(
            program.criteria[0].thresholds["select"],
            q(expected),
            "{written}"
        );
    }
}

#[test]
fn evidence_is_required_of_capabilities_unless_the_file_says_otherwise() {
    let outcome = ONE_CRITERION
        .replace("\"capability\"", "\"outcome\"")
        .replace(
            "\"count_distinct_active\"\n",
            "\"count_distinct_active\"\nrequires_evidence = true\n",
        );
    assert!(accepted(&outcome).program.criteria[0].requires_evidence);
    let capability =
        ONE_CRITERION.replace("max_age_days", "requires_evidence = false\nmax_age_days");
    assert!(!accepted(&capability).program.criteria[0].requires_evidence);
}

#[test]
fn an_empty_criteria_list_leaves_every_tier_to_be_awarded_by_hand() {
    assert!(accepted("criteria = []").program.criteria.is_empty());
}

#[test]
fn custom_tiers_without_criteria_still_parse() {
    let program = accepted("tiers = [\"Authorized\", \"Gold\"]").program;
    assert!(program.criteria.is_empty());
    assert!(program.benefits.by_tier.is_empty());
    assert_eq!(program.benefits.base.len(), 3);

    // Tiers that keep a built-in id keep its thresholds, and only those.
    let program = accepted("tiers = [\"Registered\", \"Select\", \"Platinum\"]").program;
    assert_eq!(program.criteria.len(), 7);
    assert!(program
        .criteria
        .iter()
        .all(|c| c.thresholds.keys().eq(["select"])));
    assert_eq!(
        program.benefits.by_tier.keys().collect::<Vec<_>>(),
        ["select"]
    );
    assert!(program.benefits.response_sla_hours.is_empty());
}

#[test]
fn criteria_name_the_metrics_they_read() {
    let program = Program::default();
    let reading = |metric| ids_of(program.criteria_reading(metric));
    assert_eq!(reading("revenue"), ["revenue"]);
    assert_eq!(reading("revenue.influenced"), ["revenue"]);
    assert!(reading("revenue.guessed").is_empty());
    assert!(reading("revenue.").is_empty());
    assert!(reading("revenue_total").is_empty());
    assert_eq!(reading("certification"), ["certified_people"]);
    assert!(program.known_metric("proof"));
    assert!(!program.known_metric("certified_people"));
    assert!(program.metric_requires_evidence("certification"));
    assert!(!program.metric_requires_evidence("revenue.resold"));
    assert!(!program.metric_requires_evidence("unknown"));
    assert!(program.criterion("csat").is_some());
    assert!(program.criterion("nope").is_none());
}

fn ids_of<'a>(criteria: impl Iterator<Item = &'a Criterion>) -> Vec<&'a str> {
    criteria.map(|c| c.id.as_str()).collect()
}

#[test]
fn tiers_are_ranked_lowest_first() {
    let program = Program::default();
    assert_eq!(program.tier_rank("registered"), Some(0));
    assert_eq!(program.tier_rank("elite"), Some(2));
    assert_eq!(program.tier_rank("gold"), None);
}

/// A valid criterion, lines 1 to 7, which each case below breaks once.
macro_rules! criterion {
    ($($line:literal),* $(,)?) => {
        concat!(
            "[[criteria]]\n",
            "id = \"revenue\"\n",
            "label = \"Revenue\"\n",
            "bucket = \"outcome\"\n",
            "metric = \"revenue\"\n",
            "aggregate = \"sum\"\n",
            "thresholds = { select = 100, elite = 500 }\n",
            $($line, "\n"),*
        )
    };
}

const TIERING_ERROR_CASES: &[ErrorCase] = &[
    ErrorCase {
        name: "criteria as a string",
        text: "criteria = \"revenue\"\n",
        line: 1,
        key: "criteria",
        message: "expected an array of [[criteria]] tables, found a string",
    },
    ErrorCase {
        name: "criterion as an integer",
        text: "criteria = [1]\n",
        line: 1,
        key: "criteria[0]",
        message: "expected a [[criteria]] table, found an integer",
    },
    ErrorCase {
        name: "missing metric",
        text: "\n[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\naggregate = \"sum\"\n\
               thresholds = { select = 1 }\n",
        line: 2,
        key: "criteria[0].metric",
        message: "a criterion without a metric cannot be measured",
    },
    ErrorCase {
        name: "missing aggregate",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               thresholds = { select = 1 }\n",
        line: 1,
        key: "criteria[0].aggregate",
        message: "a criterion without an aggregate cannot be measured; write sum, average",
    },
    ErrorCase {
        name: "missing id",
        text: "[[criteria]]\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\naggregate = \"sum\"\n\
               thresholds = { select = 1 }\n",
        line: 1,
        key: "criteria[0].id",
        message: "every criterion needs an id",
    },
    ErrorCase {
        name: "missing label",
        text: "[[criteria]]\nid = \"x\"\nbucket = \"outcome\"\nmetric = \"x\"\naggregate = \"sum\"\n\
               thresholds = { select = 1 }\n",
        line: 1,
        key: "criteria[0].label",
        message: "every criterion needs a label",
    },
    ErrorCase {
        name: "missing bucket",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nmetric = \"x\"\naggregate = \"sum\"\n\
               thresholds = { select = 1 }\n",
        line: 1,
        key: "criteria[0].bucket",
        message: "every criterion needs a bucket: outcome or capability",
    },
    ErrorCase {
        name: "missing thresholds",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\n",
        line: 1,
        key: "criteria[0].thresholds",
        message: "a criterion without thresholds asks nothing of any tier",
    },
    ErrorCase {
        name: "id with capitals",
        text: "[[criteria]]\nid = \"Revenue\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = 1 }\n",
        line: 2,
        key: "criteria[0].id",
        message: "criterion id `Revenue` must be lowercase a-z, 0-9, `_` and `-`",
    },
    ErrorCase {
        name: "blank label",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"  \"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = 1 }\n",
        line: 3,
        key: "criteria[0].label",
        message: "criterion label must not be empty",
    },
    ErrorCase {
        name: "metric with a space",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"net revenue\"\n\
               aggregate = \"sum\"\nthresholds = { select = 1 }\n",
        line: 5,
        key: "criteria[0].metric",
        message: "metric `net revenue` must be lowercase a-z, 0-9, `_` and `.`",
    },
    ErrorCase {
        name: "unknown aggregate",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"median\"\nthresholds = { select = 1 }\n",
        line: 6,
        key: "criteria[0].aggregate",
        message: "unknown value `median`; accepted values: sum, average, latest, \
                  count_distinct_active",
    },
    ErrorCase {
        name: "unknown bucket value",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"results\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = 1 }\n",
        line: 4,
        key: "criteria[0].bucket",
        message: "unknown value `results`; accepted values: outcome, capability",
    },
    ErrorCase {
        name: "threshold for an unknown tier",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = 1, gold = 2 }\n",
        line: 7,
        key: "criteria[0].thresholds.gold",
        message: "unknown tier `gold`; the program's tiers are registered, select, elite",
    },
    ErrorCase {
        name: "thresholds that decrease",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = 500, elite = 100 }\n",
        line: 7,
        key: "criteria[0].thresholds.elite",
        message: "`elite` asks for 100, less than the 500 asked by `select` below it",
    },
    ErrorCase {
        name: "no thresholds",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = {}\n",
        line: 7,
        key: "criteria[0].thresholds",
        message: "needs at least one tier id = number",
    },
    ErrorCase {
        name: "thresholds as a number",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = 100\n",
        line: 7,
        key: "criteria[0].thresholds",
        message: "expected a table of tier id = number, found an integer",
    },
    ErrorCase {
        name: "threshold with five decimals",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"average\"\nthresholds = { select = 4.12345 }\n",
        line: 7,
        key: "criteria[0].thresholds.select",
        message: "`4.12345` has more than 4 decimals; round it to 4 or fewer",
    },
    ErrorCase {
        name: "threshold as a string",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = \"100k\" }\n",
        line: 7,
        key: "criteria[0].thresholds.select",
        message: "expected a number, found a string",
    },
    ErrorCase {
        name: "threshold too large",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = 1e300 }\n",
        line: 7,
        key: "criteria[0].thresholds.select",
        message: "is too large",
    },
    ErrorCase {
        name: "threshold not a number",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"sum\"\nthresholds = { select = nan }\n",
        line: 7,
        key: "criteria[0].thresholds.select",
        message: "`NaN` is not a number",
    },
    ErrorCase {
        name: "unknown partner kind",
        text: criterion!("kinds = [\"reseller\", \"distributor\"]"),
        line: 8,
        key: "criteria[0].kinds",
        message: "unknown partner kind `distributor`; accepted kinds: reseller, referral, \
                  service, isv",
    },
    ErrorCase {
        name: "weights on an average",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"outcome\"\nmetric = \"x\"\n\
               aggregate = \"average\"\nthresholds = { select = 1 }\nweights = { a = 1 }\n",
        line: 8,
        key: "criteria[0].weights",
        message: "`weights` applies only to aggregate = \"sum\"; this criterion uses \"average\"",
    },
    ErrorCase {
        name: "negative weight",
        text: criterion!("weights = { resold = 1, returned = -1 }"),
        line: 8,
        key: "criteria[0].weights.returned",
        message: "a weight must not be negative (found -1)",
    },
    ErrorCase {
        name: "weight key with capitals",
        text: criterion!("weights = { Resold = 1 }"),
        line: 8,
        key: "criteria[0].weights.Resold",
        message: "weight `Resold` must be lowercase a-z, 0-9 and `_`",
    },
    ErrorCase {
        name: "max_age_days on a sum",
        text: criterion!("max_age_days = 365"),
        line: 8,
        key: "criteria[0].max_age_days",
        message: "`max_age_days` applies only to aggregate = \"count_distinct_active\"",
    },
    ErrorCase {
        name: "max_age_days zero",
        text: "[[criteria]]\nid = \"x\"\nlabel = \"X\"\nbucket = \"capability\"\nmetric = \"x\"\n\
               aggregate = \"count_distinct_active\"\nthresholds = { select = 1 }\n\
               max_age_days = 0\n",
        line: 8,
        key: "criteria[0].max_age_days",
        message: "must be between 1 and 3650 (found 0)",
    },
    ErrorCase {
        name: "requires_evidence as a string",
        text: criterion!("requires_evidence = \"yes\""),
        line: 8,
        key: "criteria[0].requires_evidence",
        message: "expected a boolean",
    },
    ErrorCase {
        name: "unknown criterion key",
        text: criterion!("target = 5"),
        line: 8,
        key: "criteria[0].target",
        message: "unknown key `target`; accepted keys: id, label, bucket, metric, aggregate, \
                  thresholds, kinds, weights, requires_evidence, max_age_days",
    },
    ErrorCase {
        name: "duplicate criterion id",
        text: concat!(
            criterion!(),
            "[[criteria]]\nid = \"revenue\"\nlabel = \"Y\"\nbucket = \"outcome\"\n",
            "metric = \"y\"\naggregate = \"sum\"\nthresholds = { select = 1 }\n"
        ),
        line: 9,
        key: "criteria[1].id",
        message: "duplicate criterion id `revenue`: criteria[0].id on line 2 already uses it",
    },
    // [review]
    ErrorCase {
        name: "nudge threshold above one",
        text: "[review]\nnudge_threshold = 1.5\n",
        line: 2,
        key: "review.nudge_threshold",
        message: "must be between 0 and 1 (found 1.5)",
    },
    ErrorCase {
        name: "negative grace margin",
        text: "[review]\ngrace_margin = -0.1\n",
        line: 2,
        key: "review.grace_margin",
        message: "must be between 0 and 1 (found -0.1)",
    },
    ErrorCase {
        name: "grace margin as a string",
        text: "[review]\ngrace_margin = \"10%\"\n",
        line: 2,
        key: "review.grace_margin",
        message: "expected a number, found a string",
    },
    ErrorCase {
        name: "unknown window",
        text: "[review]\nwindow = \"monthly\"\n",
        line: 2,
        key: "review.window",
        message: "unknown value `monthly`; accepted values: quarters, trailing_365_days",
    },
    ErrorCase {
        name: "appeal days zero",
        text: "[review]\nappeal_days = 0\n",
        line: 2,
        key: "review.appeal_days",
        message: "must be between 1 and 365 (found 0)",
    },
    ErrorCase {
        name: "review typo",
        text: "[review]\nauto_upgrades = true\n",
        line: 2,
        key: "review.auto_upgrades",
        message: "accepted keys: auto_upgrade, nudge_threshold, grace_margin, window, appeal_days",
    },
    // [benefits]
    ErrorCase {
        name: "benefits for an unknown tier",
        text: "[benefits.tiers]\ngold = [\"Badge\"]\n",
        line: 2,
        key: "benefits.tiers.gold",
        message: "unknown tier `gold`; the program's tiers are registered, select, elite",
    },
    ErrorCase {
        name: "benefit as an integer",
        text: "[benefits.tiers]\nselect = [\"Badge\", 5]\n",
        line: 2,
        key: "benefits.tiers.select",
        message: "expected a string, found an integer",
    },
    ErrorCase {
        name: "SLA for an unknown tier",
        text: "[benefits.response_sla_hours]\ngold = 24\n",
        line: 2,
        key: "benefits.response_sla_hours.gold",
        message: "unknown tier `gold`",
    },
    ErrorCase {
        name: "SLA too long",
        text: "[benefits.response_sla_hours]\nelite = 2161\n",
        line: 2,
        key: "benefits.response_sla_hours.elite",
        message: "must be between 1 and 2160 (found 2161)",
    },
    ErrorCase {
        name: "base as an integer",
        text: "[benefits]\nbase = 5\n",
        line: 2,
        key: "benefits.base",
        message: "expected a string or a list of strings, found an integer",
    },
    ErrorCase {
        name: "benefits typo",
        text: "[benefits]\nbasic = []\n",
        line: 2,
        key: "benefits.basic",
        message: "accepted keys: base, tiers, response_sla_hours",
    },
];

#[test]
fn each_tiering_rule_reports_its_line_key_and_message() {
    assert_each_case(TIERING_ERROR_CASES);
}

#[test]
fn a_criterion_reports_all_its_problems_and_the_file_all_its_criteria() {
    let text = r#"[[criteria]]
id = "Bad Id"
label = ""
bucket = "results"
aggregate = "median"
thresholds = { gold = 1 }
kinds = ["robot"]

[[criteria]]
id = "ok"
label = "Fine"
bucket = "outcome"
metric = "x"
aggregate = "latest"
thresholds = { select = 2, elite = 1 }
max_age_days = 10

[review]
window = "weekly"
"#;
    let found: Vec<(usize, String)> = rejected(text)
        .into_iter()
        .map(|e| (e.line, e.key))
        .collect();
    let expected = [
        (1, "criteria[0].metric"),
        (2, "criteria[0].id"),
        (3, "criteria[0].label"),
        (4, "criteria[0].bucket"),
        (5, "criteria[0].aggregate"),
        (6, "criteria[0].thresholds.gold"),
        (7, "criteria[0].kinds"),
        (15, "criteria[1].thresholds.elite"),
        (16, "criteria[1].max_age_days"),
        (19, "review.window"),
    ]
    .map(|(line, key)| (line, key.to_owned()));
    assert_eq!(found, expected);
}

#[test]
fn tier_ids_are_not_checked_against_a_rejected_tier_list() {
    let text = "tiers = [\"Registered\", 5]\n[benefits.tiers]\nelite = [\"Badge\"]\n";
    let keys: Vec<String> = rejected(text).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["tiers[1]"]);
}

#[test]
fn criteria_sent_as_json_are_checked_like_the_file() {
    let program = Program::default();
    let criteria = json!([{
        "id": "csat",
        "label": "CSAT",
        "bucket": "outcome",
        "metric": "csat",
        "aggregate": "average",
        "thresholds": { "select": 4.2, "elite": 4.75 },
        "kinds": ["service"],
        "weights": null,
        "max_age_days": null,
    }]);
    let simulated = program.with_criteria_json(&criteria).expect("valid");
    assert_eq!(ids(&simulated.criteria), ["csat"]);
    assert_eq!(
        simulated.criteria[0].thresholds,
        thresholds(&[("select", "4.2"), ("elite", "4.75")])
    );
    assert_eq!(
        Program {
            criteria: program.criteria.clone(),
            ..simulated
        },
        program
    );
}

#[test]
fn json_criteria_errors_name_the_index_and_key_without_a_line() {
    let program = Program::default();
    let criteria = json!([
        { "id": "a", "label": "A", "bucket": "outcome", "metric": "a",
          "aggregate": "sum", "thresholds": { "select": 1 } },
        { "id": "b", "label": "B", "bucket": "outcome", "metric": "b",
          "aggregate": "median", "thresholds": { "gold": 1 }, "colour": "red" },
    ]);
    let ConfigErrors(errors) = program.with_criteria_json(&criteria).expect_err("invalid");
    let mut keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "criteria[1].aggregate",
            "criteria[1].colour",
            "criteria[1].thresholds.gold"
        ]
    );
    assert!(errors.iter().all(|e| (e.line, e.column) == (0, 0)));
    let shown = ConfigErrors(errors).to_string();
    assert!(
        shown.contains("criteria[1].aggregate: unknown value `median`"),
        "{shown}"
    );
    assert!(!shown.contains("line"), "{shown}");
}

#[test]
fn json_that_is_not_a_list_of_criteria_is_refused() {
    let program = Program::default();
    let cases = [
        (
            json!({ "id": "x" }),
            "criteria",
            "expected an array of [[criteria]] tables",
        ),
        (json!("revenue"), "criteria", "found a string"),
        (json!([3]), "criteria[0]", "expected a [[criteria]] table"),
        (json!(null), "criteria", "cannot be read as criteria"),
    ];
    for (json, key, message) in cases {
        let ConfigErrors(errors) = program.with_criteria_json(&json).expect_err("invalid");
        assert_eq!(errors.len(), 1, "{json}: {errors:?}");
        assert_eq!(errors[0].key, key, "{json}");
        assert!(errors[0].message.contains(message), "{json}: {}", errors[0]);
    }
    let empty = program.with_criteria_json(&json!([])).expect("no criteria");
    assert!(empty.criteria.is_empty());
}

#[test]
fn the_example_file_is_a_valid_program() {
    let text = include_str!("../../../../../trellis.example.toml");
    let parsed = accepted(text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.program, Program::default());
}
