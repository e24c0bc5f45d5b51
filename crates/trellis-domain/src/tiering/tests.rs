//! Scorecards and review proposals against the built-in program.

use std::collections::BTreeMap;

use time::macros::date;

use super::*;
use crate::program::Program;

fn q(text: &str) -> Quantity {
    Quantity::parse(text).expect("a quantity")
}

fn observed(values: &[(&str, &str)]) -> BTreeMap<String, Observed> {
    values
        .iter()
        .map(|(id, value)| {
            let observation = Observed {
                value: q(value),
                evidence: vec![format!("https://evidence.example/{id}")],
            };
            (id.to_string(), observation)
        })
        .collect()
}

/// Exactly what the built-in Select asks of a reseller.
const SELECT: [(&str, &str); 6] = [
    ("revenue", "100000"),
    ("csat", "4"),
    ("registration_hygiene", "0.7"),
    ("certified_people", "2"),
    ("validated_offering", "1"),
    ("recent_proof", "1"),
];

const ELITE: [(&str, &str); 6] = [
    ("revenue", "500000"),
    ("csat", "4.5"),
    ("registration_hygiene", "0.85"),
    ("certified_people", "5"),
    ("validated_offering", "2"),
    ("recent_proof", "3"),
];

/// `base` with some values replaced.
fn with(base: &[(&str, &str)], changes: &[(&str, &str)]) -> BTreeMap<String, Observed> {
    let mut values = observed(base);
    values.extend(observed(changes));
    values
}

fn window() -> Window {
    Window::ending_with(
        WindowRule::Quarters,
        Quarter::parse("2026-Q3").expect("quarter"),
    )
}

fn program(text: &str) -> Program {
    Program::parse(text).expect("valid program").program
}

#[test]
fn criteria_apply_to_their_kinds() {
    let program = Program::default();
    let ids = |kind| -> Vec<&str> {
        applicable(&program.criteria, kind)
            .map(|c| c.id.as_str())
            .collect()
    };
    assert!(ids(PartnerKind::Reseller).contains(&"revenue"));
    assert!(!ids(PartnerKind::Isv).contains(&"revenue"));
    assert!(ids(PartnerKind::Isv).contains(&"joint_customers"));
    assert!(!ids(PartnerKind::Referral).contains(&"csat"));
    assert!(ids(PartnerKind::Referral).contains(&"certified_people"));
}

#[test]
fn the_highest_tier_whose_criteria_are_all_met() {
    let program = Program::default();
    let cases = [
        ("nothing measured", observed(&[]), "registered"),
        ("exactly select", observed(&SELECT), "select"),
        ("exactly elite", observed(&ELITE), "elite"),
        (
            "elite revenue, select proof",
            with(&ELITE, &[("recent_proof", "1")]),
            "select",
        ),
        (
            "one certification short of select",
            with(&SELECT, &[("certified_people", "1")]),
            "registered",
        ),
    ];
    for (name, values, expected) in cases {
        let tier = highest_qualified(&program, PartnerKind::Reseller, &values);
        assert_eq!(tier, expected, "{name}");
    }
}

#[test]
fn isvs_are_judged_on_joint_customers_not_revenue() {
    let program = Program::default();
    let isv = with(&SELECT, &[("revenue", "0"), ("joint_customers", "3")]);
    assert_eq!(
        highest_qualified(&program, PartnerKind::Isv, &isv),
        "select"
    );
    let reseller = highest_qualified(&program, PartnerKind::Reseller, &isv);
    assert_eq!(reseller, "registered");
}

#[test]
fn a_threshold_written_for_a_lower_tier_holds_above_it() {
    let program = program(
        r#"
[[criteria]]
id = "revenue"
label = "Revenue"
bucket = "outcome"
metric = "revenue"
aggregate = "sum"
thresholds = { select = 10, elite = 100 }

[[criteria]]
id = "csat"
label = "CSAT"
bucket = "outcome"
metric = "csat"
aggregate = "average"
thresholds = { select = 4 }
"#,
    );
    let kind = PartnerKind::Service;
    let unhappy = observed(&[("revenue", "1000"), ("csat", "3")]);
    assert_eq!(highest_qualified(&program, kind, &unhappy), "registered");
    let happy = observed(&[("revenue", "1000"), ("csat", "4")]);
    assert_eq!(highest_qualified(&program, kind, &happy), "elite");
}

#[test]
fn tiers_no_criterion_names_are_awarded_by_hand() {
    let custom = program("tiers = [\"Authorized\", \"Gold\"]");
    let values = observed(&ELITE);
    let tier = highest_qualified(&custom, PartnerKind::Reseller, &values);
    assert_eq!(tier, "authorized");
    let strategic = program("tiers = [\"Registered\", \"Select\", \"Elite\", \"Strategic\"]");
    let tier = highest_qualified(&strategic, PartnerKind::Reseller, &values);
    assert_eq!(tier, "elite");
}

#[test]
fn a_scorecard_says_what_is_missing_for_the_next_tier() {
    let program = Program::default();
    let values = with(&SELECT, &[("revenue", "72000"), ("certified_people", "1")]);
    let card = scorecard(
        &program,
        PartnerKind::Reseller,
        "registered",
        &values,
        &window(),
    );
    assert_eq!(card.next_tier.as_deref(), Some("select"));
    assert_eq!(card.window_label, "2025-Q4 to 2026-Q3");
    assert_eq!(
        card.missing,
        [
            "Partner revenue, rolling four quarters: 72000 of 100000 needed for Select \
             (2025-Q4 to 2026-Q3)",
            "Certified individuals: 1 of 2 needed for Select; add a certification with its \
             evidence",
        ]
    );
    let revenue = &card.criteria[0];
    assert_eq!(
        (revenue.id.as_str(), revenue.target, revenue.met),
        ("revenue", Some(q("100000")), false)
    );
    assert!((revenue.progress - 0.72).abs() < 1e-9);
    assert_eq!(revenue.evidence, ["https://evidence.example/revenue"]);
    // revenue 0.72, certified 0.5, the other four criteria met.
    let expected = (0.72 + 0.5 + 4.0) / 6.0;
    assert!((card.progress_to_next - expected).abs() < 1e-9);
}

#[test]
fn capability_criteria_say_what_to_add() {
    let program = Program::default();
    let card = scorecard(
        &program,
        PartnerKind::Referral,
        "registered",
        &observed(&[]),
        &window(),
    );
    let capability: Vec<&str> = (card.missing.iter())
        .filter(|line| line.contains("; add "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        capability,
        [
            "Certified individuals: 0 of 2 needed for Select; add a certification with its \
             evidence",
            "Validated integration, packaged service or practice: 0 of 1 needed for Select; \
             add a validated offering with its evidence",
            "Case studies, reviews or referenceable customers from the last year: 0 of 1 needed \
             for Select; add a proof with its evidence",
        ]
    );
    assert_eq!(card.progress_to_next, 0.0);
}

#[test]
fn at_the_top_tier_the_scorecard_shows_what_keeps_it() {
    let program = Program::default();
    let values = with(&ELITE, &[("csat", "4.4")]);
    let card = scorecard(&program, PartnerKind::Service, "elite", &values, &window());
    assert_eq!(card.next_tier, None);
    assert_eq!(card.progress_to_next, 1.0);
    assert_eq!(
        card.missing,
        ["Customer satisfaction (1 to 5): 4.4 of 4.5 needed for Elite (2025-Q4 to 2026-Q3)"]
    );
}

#[test]
fn a_next_tier_awarded_by_hand_shows_no_progress() {
    let program = program("tiers = [\"Registered\", \"Select\", \"Elite\", \"Strategic\"]");
    let card = scorecard(
        &program,
        PartnerKind::Reseller,
        "elite",
        &observed(&ELITE),
        &window(),
    );
    assert_eq!(card.next_tier.as_deref(), Some("strategic"));
    assert_eq!(card.progress_to_next, 0.0);
    assert_eq!(
        card.missing,
        ["Strategic is awarded by the program team; no measured criterion leads to it"]
    );
    assert!(card.criteria.iter().all(|c| c.met));
}

#[test]
fn scorecards_serialize_for_the_api() {
    let program = Program::default();
    let card = scorecard(
        &program,
        PartnerKind::Isv,
        "select",
        &observed(&SELECT),
        &window(),
    );
    let json = serde_json::to_value(&card).expect("json");
    assert_eq!(json["tier"], "select");
    assert_eq!(json["next_tier"], "elite");
    assert_eq!(json["criteria"][0]["id"], "joint_customers");
    assert_eq!(json["criteria"][0]["bucket"], "outcome");
    assert_eq!(json["criteria"][0]["target"], 10);
    assert_eq!(json["criteria"][1]["target"], 0.85);
    assert_eq!(json["window"]["start"], "2025-10-01T00:00:00Z");
    assert_eq!(json["window_label"], "2025-Q4 to 2026-Q3");
}

#[test]
fn nudges_fire_when_progress_crosses_the_threshold_upward() {
    let program = Program::default();
    let cases = [
        (0.7, 0.8, true),
        (0.0, 1.0, true),
        (0.79, 0.81, true),
        (0.8, 0.9, false),
        (0.9, 0.7, false),
        (0.5, 0.79, false),
    ];
    for (before, after, expected) in cases {
        assert_eq!(
            nudge_due(&program, before, after),
            expected,
            "{before} -> {after}"
        );
    }
}

fn standing(tier: &str) -> Standing {
    Standing {
        tier: tier.to_owned(),
        in_grace: false,
        exception: None,
    }
}

const NEXT_REVIEW: time::Date = date!(2027 - 03 - 31);

fn review(standing: &Standing, values: &BTreeMap<String, Observed>) -> Proposal {
    let program = Program::default();
    let kind = PartnerKind::Reseller;
    propose(&program, kind, standing, values, &window(), NEXT_REVIEW)
}

#[test]
fn an_exception_holds_the_tier_it_names() {
    let standing = Standing {
        exception: Some(("elite".to_owned(), date!(2027 - 01 - 31))),
        ..standing("select")
    };
    let proposal = review(&standing, &observed(&[]));
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Hold, "elite")
    );
    assert_eq!(proposal.current_tier, "select");
    assert_eq!(
        proposal.reasons,
        ["Elite is held by an exception until 2027-01-31, so this review leaves the tier as it is."]
    );
}

#[test]
fn meeting_a_higher_tier_proposes_an_upgrade_with_every_criterion() {
    let proposal = review(&standing("registered"), &observed(&ELITE));
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Upgrade, "elite")
    );
    assert_eq!(
        proposal.reasons[0],
        "Meets every criterion for Elite over 2025-Q4 to 2026-Q3."
    );
    assert_eq!(
        proposal.reasons[1],
        "Partner revenue, rolling four quarters: 500000, at or above the 500000 needed for Elite."
    );
    assert_eq!(proposal.reasons.len(), 7);
    assert!(proposal.recovery_plan.is_empty());
}

#[test]
fn meeting_the_current_tier_holds_it() {
    let proposal = review(&standing("select"), &observed(&SELECT));
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Hold, "select")
    );
    assert_eq!(
        proposal.reasons,
        ["Meets every criterion of Select over 2025-Q4 to 2026-Q3."]
    );
}

#[test]
fn a_small_miss_earns_grace_with_a_recovery_plan() {
    let values = with(&SELECT, &[("revenue", "92000"), ("csat", "3.6")]);
    let proposal = review(&standing("select"), &values);
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Grace, "select")
    );
    assert_eq!(
        proposal.reasons,
        [
            "Every missed criterion of Select is within the 10% grace margin, so Select is \
             kept until the next review on 2027-03-31.",
            "Partner revenue, rolling four quarters: 92000 of 100000 needed for Select \
             (2025-Q4 to 2026-Q3).",
            "Customer satisfaction (1 to 5): 3.6 of 4 needed for Select (2025-Q4 to 2026-Q3).",
        ]
    );
    assert_eq!(
        proposal.recovery_plan,
        [
            "Reach 100000 on Partner revenue, rolling four quarters (now 92000) by 2027-03-31",
            "Reach 4 on Customer satisfaction (1 to 5) (now 3.6) by 2027-03-31",
        ]
    );
}

#[test]
fn a_second_review_below_the_tier_downgrades() {
    let values = with(&SELECT, &[("revenue", "95000")]);
    let in_grace = Standing {
        in_grace: true,
        ..standing("select")
    };
    let proposal = review(&in_grace, &values);
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Downgrade, "registered")
    );
    assert_eq!(
        proposal.reasons[0],
        "Below the criteria of Select for the second review in a row, so the tier moves to \
         Registered."
    );
    assert!(proposal.recovery_plan.is_empty());
    let recovered = review(&in_grace, &observed(&SELECT));
    assert_eq!(recovered.action, Action::Hold);
}

#[test]
fn a_wide_miss_downgrades_to_the_highest_tier_still_met() {
    let values = with(&SELECT, &[("certified_people", "0")]);
    let proposal = review(&standing("elite"), &values);
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Downgrade, "registered")
    );
    let values = with(&ELITE, &[("revenue", "200000")]);
    let proposal = review(&standing("elite"), &values);
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Downgrade, "select")
    );
    assert_eq!(
        proposal.reasons,
        [
            "Missed the criteria of Elite by more than the 10% grace margin, so the tier moves \
             to Select, the highest tier whose criteria are met.",
            "Partner revenue, rolling four quarters: 200000 of 500000 needed for Elite \
             (2025-Q4 to 2026-Q3).",
        ]
    );
}

#[test]
fn the_grace_margin_boundary_is_inclusive() {
    let at_margin = with(&SELECT, &[("revenue", "90000")]);
    assert_eq!(
        review(&standing("select"), &at_margin).action,
        Action::Grace
    );
    let past_margin = with(&SELECT, &[("revenue", "89999.9999")]);
    let proposal = review(&standing("select"), &past_margin);
    assert_eq!(proposal.action, Action::Downgrade);
}

#[test]
fn the_first_tier_is_kept_even_when_it_asks_for_something() {
    let program = program(
        r#"
[[criteria]]
id = "certs"
label = "Certified individuals"
bucket = "capability"
metric = "certification"
aggregate = "count_distinct_active"
thresholds = { registered = 1, select = 2 }
"#,
    );
    let kind = PartnerKind::Service;
    let nothing = observed(&[]);
    let proposal = propose(
        &program,
        kind,
        &standing("registered"),
        &nothing,
        &window(),
        NEXT_REVIEW,
    );
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Hold, "registered")
    );
    assert_eq!(
        proposal.reasons,
        [
            "Registered is the program's first tier, so it is kept.",
            "Certified individuals: 0 of 1 needed for Registered; add a certification with its \
             evidence.",
        ]
    );
}

#[test]
fn a_tier_the_program_dropped_is_read_as_the_lowest() {
    let proposal = review(&standing("gold"), &observed(&SELECT));
    assert_eq!(
        (proposal.action, proposal.proposed_tier.as_str()),
        (Action::Upgrade, "select")
    );
    assert_eq!(proposal.current_tier, "gold");
}

#[test]
fn actions_use_their_api_spelling() {
    for action in [
        Action::Upgrade,
        Action::Hold,
        Action::Grace,
        Action::Downgrade,
    ] {
        let json = serde_json::to_value(action).expect("json");
        assert_eq!(json, action.as_str());
    }
}
