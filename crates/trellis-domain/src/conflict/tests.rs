//! Channel-conflict policies: who competes, who may be approved, who wins.

use super::{check_approval, competes, same_segment, settle, Settlement, Trigger};
use crate::ids::{AccountId, ConflictId, PartnerId, RegistrationId};
use crate::program::{ConflictPolicy, Program};
use crate::registration::{Lifecycle, Market, Member, Status};
use crate::values::day;
use crate::DomainError;
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Registration `n` was submitted `n` days after this.
const START: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
/// When the winning meeting in these tests was held.
const MET: OffsetDateTime = datetime!(2026-03-20 15:30 UTC);

const ACTIVE: [Status; 3] = [Status::Submitted, Status::MoreInfo, Status::Approved];
const INACTIVE: [Status; 4] = [Status::Declined, Status::Won, Status::Lost, Status::Expired];
const POLICIES: [ConflictPolicy; 3] = ConflictPolicy::ALL;

// ---------------------------------------------------------------- helpers

/// Registration `id` of partner `partner`, submitted `id` days after `START`,
/// on the whole market, in `status`.
fn member(id: i64, partner: i64, status: Status) -> Member {
    Member {
        id: RegistrationId(id),
        partner_id: PartnerId(partner),
        account_id: AccountId(1),
        conflict_id: Some(ConflictId(1)),
        market: Market::default(),
        life: Lifecycle {
            status,
            ..Lifecycle::submitted(START + Duration::days(id))
        },
    }
}

/// Registration `id` of its own partner (partner `100 + id`).
fn claim(id: i64, status: Status) -> Member {
    member(id, 100 + id, status)
}

fn submitted_on(mut m: Member, at: OffsetDateTime) -> Member {
    m.life.submitted_at = at;
    m
}

fn in_market(mut m: Member, market: Market) -> Member {
    m.market = market;
    m
}

fn market(segment: Option<&str>, product: Option<&str>) -> Market {
    Market {
        segment: segment.map(str::to_owned),
        region: None,
        product: product.map(str::to_owned),
    }
}

fn reg(id: i64) -> RegistrationId {
    RegistrationId(id)
}

fn regs(ids: &[i64]) -> Vec<RegistrationId> {
    ids.iter().copied().map(RegistrationId).collect()
}

/// The members with these statuses, numbered from 1.
fn claims(statuses: &[Status]) -> Vec<Member> {
    (1..).zip(statuses).map(|(id, s)| claim(id, *s)).collect()
}

fn blocked_by(policy: ConflictPolicy, members: &[Member], id: i64) -> String {
    match check_approval(policy, members, reg(id)) {
        Err(DomainError::Conflict(message)) => message,
        other => panic!("expected REG-{id:06} to be blocked, got {other:?}"),
    }
}

fn settled(policy: ConflictPolicy, members: &[Member], trigger: &Trigger) -> Settlement {
    settle(policy, members, trigger)
        .unwrap_or_else(|| panic!("{trigger:?} under {policy:?} did not settle"))
}

fn policy_other_than(policy: ConflictPolicy) -> impl Iterator<Item = ConflictPolicy> {
    POLICIES.into_iter().filter(move |p| *p != policy)
}

// --------------------------------------------------------------- competes

#[test]
fn a_partner_never_competes_with_itself() {
    for policy in POLICIES {
        for status in ACTIVE.into_iter().chain(INACTIVE) {
            let existing = member(1, 7, status);
            assert!(
                !competes(policy, PartnerId(7), &Market::default(), &existing),
                "{policy:?} {status:?}"
            );
        }
    }
}

#[test]
fn inactive_registrations_never_compete() {
    for policy in POLICIES {
        for status in INACTIVE {
            let existing = member(1, 7, status);
            assert!(
                !competes(policy, PartnerId(8), &Market::default(), &existing),
                "{policy:?} {status:?}"
            );
        }
    }
}

#[test]
fn active_claims_of_other_partners_compete_under_every_policy() {
    for policy in POLICIES {
        for status in ACTIVE {
            let existing = member(1, 7, status);
            assert!(
                competes(policy, PartnerId(8), &Market::default(), &existing),
                "{policy:?} {status:?}"
            );
        }
    }
}

#[test]
fn split_by_segment_separates_claims_on_named_different_segments_or_products() {
    let ent = Some("enterprise");
    let smb = Some("smb");
    let crm = Some("crm");
    let erp = Some("erp");
    // (new claim, existing claim, same segment and product?)
    let rows = [
        (market(None, None), market(None, None), true),
        (market(ent, None), market(ent, None), true),
        (market(ent, None), market(smb, None), false),
        (market(ent, crm), market(ent, erp), false),
        (market(None, crm), market(None, erp), false),
        (market(ent, crm), market(smb, crm), false),
        (market(ent, crm), market(smb, erp), false),
        (market(ent, crm), market(ent, crm), true),
        // A claim that names no segment (or product) covers them all.
        (market(ent, None), market(None, None), true),
        (market(None, None), market(ent, None), true),
        (market(ent, crm), market(None, None), true),
        (market(None, None), market(smb, erp), true),
        (market(ent, crm), market(ent, None), true),
        (market(ent, None), market(ent, erp), true),
        (market(None, crm), market(smb, crm), true),
        (market(None, crm), market(smb, erp), false),
        // Names compare without regard to case.
        (market(Some("Enterprise"), None), market(ent, None), true),
        (
            market(Some("ENTERPRISE"), Some("CRM")),
            market(ent, crm),
            true,
        ),
        (
            market(Some("Mid-Market"), None),
            market(Some("mid-market"), None),
            true,
        ),
        (
            market(Some("Éducation"), None),
            market(Some("éducation"), None),
            true,
        ),
        (
            market(Some("ÖFFENTLICH"), None),
            market(Some("öffentlich"), None),
            true,
        ),
        (
            market(Some("Éducation"), None),
            market(Some("education"), None),
            false,
        ),
        (
            market(Some("mid market"), None),
            market(Some("mid-market"), None),
            false,
        ),
    ];
    for (new, old, same) in rows {
        let case = format!("{new:?} vs {old:?}");
        assert_eq!(same_segment(&new, &old), same, "{case}");
        assert_eq!(same_segment(&old, &new), same, "{case} (reversed)");
        let existing = in_market(member(1, 7, Status::Approved), old);
        assert_eq!(
            competes(
                ConflictPolicy::SplitBySegment,
                PartnerId(8),
                &new,
                &existing
            ),
            same,
            "{case}"
        );
        for policy in policy_other_than(ConflictPolicy::SplitBySegment) {
            assert!(
                competes(policy, PartnerId(8), &new, &existing),
                "{policy:?}: {case}"
            );
        }
    }
}

#[test]
fn the_region_never_separates_claims() {
    let east = Market {
        region: Some("east".into()),
        ..market(Some("smb"), None)
    };
    let west = Market {
        region: Some("west".into()),
        ..market(Some("smb"), None)
    };
    assert!(same_segment(&east, &west));
    let existing = in_market(member(1, 7, Status::Submitted), west);
    assert!(competes(
        ConflictPolicy::SplitBySegment,
        PartnerId(8),
        &east,
        &existing
    ));
}

// --------------------------------------------------------- check_approval

#[test]
fn only_first_registered_ever_blocks_an_approval() {
    let sets = [
        claims(&[Status::Submitted, Status::Submitted]),
        claims(&[Status::MoreInfo, Status::Submitted, Status::Submitted]),
        claims(&[Status::Approved, Status::Submitted]),
    ];
    for policy in policy_other_than(ConflictPolicy::FirstRegistered) {
        for members in &sets {
            for m in members {
                assert_eq!(
                    check_approval(policy, members, m.id),
                    Ok(()),
                    "{policy:?} {members:?}"
                );
            }
        }
    }
}

#[test]
fn an_earlier_claim_awaiting_a_decision_blocks_a_later_one() {
    for pending in [Status::Submitted, Status::MoreInfo] {
        let members = claims(&[pending, Status::Submitted]);
        let message = blocked_by(ConflictPolicy::FirstRegistered, &members, 2);
        assert_eq!(
            message,
            "REG-000001 registered this account first (on 2026-03-03) and still awaits a decision; \
             under the first_registered policy decide it first",
            "{pending:?}"
        );
        assert_eq!(
            check_approval(ConflictPolicy::FirstRegistered, &members, reg(1)),
            Ok(()),
            "the earlier claim itself may be approved"
        );
    }
}

#[test]
fn an_earlier_claim_already_decided_does_not_block() {
    for decided in INACTIVE.into_iter().chain([Status::Approved]) {
        let members = claims(&[decided, Status::Submitted]);
        assert_eq!(
            check_approval(ConflictPolicy::FirstRegistered, &members, reg(2)),
            Ok(()),
            "{decided:?}"
        );
    }
}

#[test]
fn a_later_claim_never_blocks_an_earlier_one() {
    for later in ACTIVE {
        let members = claims(&[Status::Submitted, later, later]);
        assert_eq!(
            check_approval(ConflictPolicy::FirstRegistered, &members, reg(1)),
            Ok(()),
            "{later:?}"
        );
    }
}

#[test]
fn the_submission_time_decides_who_is_earlier_not_the_id() {
    // REG-000005 was submitted before REG-000002.
    let members = vec![
        claim(2, Status::Submitted),
        submitted_on(claim(5, Status::Submitted), START),
    ];
    let message = blocked_by(ConflictPolicy::FirstRegistered, &members, 2);
    assert!(message.starts_with("REG-000005 registered this account first (on 2026-03-02)"));
    assert_eq!(
        check_approval(ConflictPolicy::FirstRegistered, &members, reg(5)),
        Ok(())
    );
}

#[test]
fn a_tie_on_submission_time_goes_to_the_lower_id() {
    let members = vec![
        submitted_on(claim(4, Status::Submitted), START),
        submitted_on(claim(3, Status::Submitted), START),
    ];
    let message = blocked_by(ConflictPolicy::FirstRegistered, &members, 4);
    assert!(message.starts_with("REG-000003 registered"), "{message}");
    assert_eq!(
        check_approval(ConflictPolicy::FirstRegistered, &members, reg(3)),
        Ok(())
    );
}

#[test]
fn the_message_names_the_earliest_pending_claim_whatever_the_order() {
    let members = vec![
        claim(1, Status::Declined),
        claim(3, Status::MoreInfo),
        submitted_on(claim(4, Status::Submitted), START + Duration::hours(1)),
        claim(9, Status::Submitted),
        claim(2, Status::Submitted),
    ];
    let mut orders = vec![members.clone()];
    orders.push(members.iter().rev().cloned().collect());
    for order in orders {
        let message = blocked_by(ConflictPolicy::FirstRegistered, &order, 9);
        assert!(
            message.starts_with(&format!(
                "REG-000004 registered this account first (on {})",
                day(START)
            )),
            "{message}"
        );
    }
}

#[test]
fn an_id_outside_the_conflict_is_not_blocked() {
    let members = claims(&[Status::Submitted, Status::Submitted]);
    for policy in POLICIES {
        assert_eq!(check_approval(policy, &members, reg(99)), Ok(()));
        assert_eq!(check_approval(policy, &[], reg(1)), Ok(()));
    }
}

// ----------------------------------------------------------------- settle

#[test]
fn the_first_meeting_wins_under_first_meeting_and_split_by_segment() {
    let members = claims(&[
        Status::Approved,
        Status::Approved,
        Status::Submitted,
        Status::MoreInfo,
        Status::Declined,
        Status::Expired,
    ]);
    let trigger = Trigger::MeetingLogged {
        id: reg(2),
        held_at: MET,
    };
    for policy in policy_other_than(ConflictPolicy::FirstRegistered) {
        assert_eq!(
            settle(policy, &members, &trigger),
            Some(Settlement {
                winner: Some(reg(2)),
                declined: regs(&[1, 3, 4]),
                reason: format!(
                    "REG-000002 logged the first meeting, on 2026-03-20, under the {} policy",
                    policy.as_str()
                ),
            }),
            "{policy:?}"
        );
    }
}

#[test]
fn a_meeting_under_first_registered_settles_only_as_members_closing_would() {
    let sets = [
        claims(&[Status::Approved, Status::Approved]),
        claims(&[Status::Approved, Status::Submitted, Status::Lost]),
        claims(&[Status::Declined, Status::Approved]),
        claims(&[Status::Expired, Status::Lost]),
    ];
    for members in sets {
        let trigger = Trigger::MeetingLogged {
            id: reg(2),
            held_at: MET,
        };
        assert_eq!(
            settle(ConflictPolicy::FirstRegistered, &members, &trigger),
            settle(
                ConflictPolicy::FirstRegistered,
                &members,
                &Trigger::MemberClosed
            ),
            "{members:?}"
        );
    }
    let lone = claims(&[Status::Declined, Status::Approved]);
    let trigger = Trigger::MeetingLogged {
        id: reg(2),
        held_at: MET,
    };
    assert_eq!(
        settle(ConflictPolicy::FirstRegistered, &lone, &trigger).and_then(|s| s.winner),
        Some(reg(2))
    );
    let two = claims(&[Status::Approved, Status::Approved]);
    assert_eq!(
        settle(ConflictPolicy::FirstRegistered, &two, &trigger),
        None
    );
}

#[test]
fn the_approved_claim_wins_under_first_registered() {
    let members = claims(&[
        Status::Lost,
        Status::Approved,
        Status::Submitted,
        Status::MoreInfo,
        Status::Won,
    ]);
    assert_eq!(
        settle(
            ConflictPolicy::FirstRegistered,
            &members,
            &Trigger::Approved(reg(2))
        ),
        Some(Settlement {
            winner: Some(reg(2)),
            declined: regs(&[3, 4]),
            reason: "REG-000002 was the earliest registration to be approved, under the first_registered policy"
                .into(),
        })
    );
}

#[test]
fn an_approval_settles_nothing_under_the_meeting_policies() {
    for policy in policy_other_than(ConflictPolicy::FirstRegistered) {
        let members = claims(&[Status::Approved, Status::Submitted]);
        assert_eq!(
            settle(policy, &members, &Trigger::Approved(reg(1))),
            None,
            "{policy:?}"
        );
        // ...unless the approved claim is the only one left.
        let members = claims(&[Status::Approved, Status::Declined]);
        assert_eq!(
            settle(policy, &members, &Trigger::Approved(reg(1))).and_then(|s| s.winner),
            Some(reg(1)),
            "{policy:?}"
        );
    }
}

#[test]
fn staff_may_pick_any_winner_under_every_policy() {
    let members = claims(&[
        Status::Submitted,
        Status::Approved,
        Status::MoreInfo,
        Status::Declined,
    ]);
    for policy in POLICIES {
        for winner in [1, 2, 3] {
            let trigger = Trigger::Manual {
                winner: reg(winner),
                reason: "the customer asked for this partner".into(),
            };
            let expected: Vec<RegistrationId> = regs(&[1, 2, 3])
                .into_iter()
                .filter(|id| *id != reg(winner))
                .collect();
            assert_eq!(
                settle(policy, &members, &trigger),
                Some(Settlement {
                    winner: Some(reg(winner)),
                    declined: expected,
                    reason: "the customer asked for this partner".into(),
                }),
                "{policy:?} winner {winner}"
            );
        }
    }
}

#[test]
fn when_one_claimant_is_left_it_wins() {
    let members = claims(&[
        Status::Declined,
        Status::Expired,
        Status::MoreInfo,
        Status::Lost,
    ]);
    for policy in POLICIES {
        assert_eq!(
            settle(policy, &members, &Trigger::MemberClosed),
            Some(Settlement {
                winner: Some(reg(3)),
                declined: vec![],
                reason: "REG-000003 is the only claimant still active".into(),
            }),
            "{policy:?}"
        );
    }
}

#[test]
fn when_no_claimant_is_left_nobody_wins() {
    for members in [
        claims(&[Status::Declined, Status::Won]),
        claims(&[Status::Lost, Status::Expired, Status::Declined]),
        vec![],
    ] {
        for policy in POLICIES {
            assert_eq!(
                settle(policy, &members, &Trigger::MemberClosed),
                Some(Settlement {
                    winner: None,
                    declined: vec![],
                    reason: "no claimant is still active".into(),
                }),
                "{policy:?} {members:?}"
            );
        }
    }
}

#[test]
fn while_two_claimants_are_left_closing_settles_nothing() {
    for (a, b) in ACTIVE.into_iter().flat_map(|a| ACTIVE.map(|b| (a, b))) {
        let members = claims(&[Status::Declined, a, Status::Lost, b]);
        for policy in POLICIES {
            assert_eq!(
                settle(policy, &members, &Trigger::MemberClosed),
                None,
                "{policy:?} {a:?} {b:?}"
            );
        }
    }
}

#[test]
fn the_default_program_settles_by_first_meeting() {
    let policy = Program::default().registration.conflict_policy;
    assert_eq!(policy, ConflictPolicy::FirstMeeting);
    let members = claims(&[Status::Approved, Status::Approved]);
    let trigger = Trigger::MeetingLogged {
        id: reg(1),
        held_at: MET,
    };
    assert_eq!(settled(policy, &members, &trigger).declined, regs(&[2]));
    assert!(settle(policy, &members, &Trigger::Approved(reg(1))).is_none());
}

// ------------------------------------------------------------- properties

fn any_policy() -> impl Strategy<Value = ConflictPolicy> {
    proptest::sample::select(POLICIES.to_vec())
}

fn any_status() -> impl Strategy<Value = Status> {
    proptest::sample::select(Status::ALL.to_vec())
}

fn any_name() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just("smb".to_owned()),
        Just("SMB".to_owned()),
        Just("Enterprise".to_owned()),
        Just("éducation".to_owned()),
        Just("ÉDUCATION".to_owned()),
        "[a-zA-Z]{1,6}",
    ])
}

fn any_market() -> impl Strategy<Value = Market> {
    (any_name(), any_name(), any_name()).prop_map(|(segment, region, product)| Market {
        segment,
        region,
        product,
    })
}

/// Up to six members with distinct ids, a few partners, submission times that
/// may tie, listed in any order.
fn any_members() -> impl Strategy<Value = Vec<Member>> {
    proptest::collection::vec((any_status(), 0i64..4, 0i64..3, any_market()), 0..=6)
        .prop_map(|rows| {
            (1..)
                .zip(rows)
                .map(|(id, (status, partner, days, market))| {
                    let m = in_market(member(id, partner, status), market);
                    submitted_on(m, START + Duration::days(days))
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

fn any_trigger(members: &[Member]) -> BoxedStrategy<Trigger> {
    let ids: Vec<RegistrationId> = members.iter().map(|m| m.id).chain([reg(42)]).collect();
    let id = proptest::sample::select(ids);
    prop_oneof![
        id.clone().prop_map(Trigger::Approved),
        id.clone()
            .prop_map(|id| Trigger::MeetingLogged { id, held_at: MET }),
        Just(Trigger::MemberClosed),
        id.prop_map(|winner| Trigger::Manual {
            winner,
            reason: "staff decided".into(),
        }),
    ]
    .boxed()
}

fn active_ids(members: &[Member]) -> Vec<RegistrationId> {
    members
        .iter()
        .filter(|m| m.life.status.is_active())
        .map(|m| m.id)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn same_segment_is_symmetric_and_reflexive(a in any_market(), b in any_market()) {
        prop_assert_eq!(same_segment(&a, &b), same_segment(&b, &a));
        prop_assert!(same_segment(&a, &a));
        prop_assert!(same_segment(&a, &Market::default()));
        let upper = Market {
            segment: a.segment.as_ref().map(|s| s.to_uppercase()),
            product: a.product.as_ref().map(|s| s.to_uppercase()),
            region: None,
        };
        prop_assert!(same_segment(&a, &upper));
    }

    #[test]
    fn competing_needs_another_partner_and_an_active_claim(
        policy in any_policy(),
        partner in 0i64..4,
        market in any_market(),
        existing in any_members().prop_filter("one member", |m| !m.is_empty()),
    ) {
        let existing = &existing[0];
        let result = competes(policy, PartnerId(partner), &market, existing);
        let split = policy == ConflictPolicy::SplitBySegment;
        let expected = existing.partner_id != PartnerId(partner)
            && existing.life.status.is_active()
            && (!split || same_segment(&market, &existing.market));
        prop_assert_eq!(result, expected);
    }

    #[test]
    fn check_approval_ignores_the_order_of_members(
        members in any_members(),
        pick in any::<prop::sample::Index>(),
        policy in any_policy(),
    ) {
        prop_assume!(!members.is_empty());
        let id = members[pick.index(members.len())].id;
        let mut sorted = members.clone();
        sorted.sort_by_key(|m| m.id);
        let result = check_approval(policy, &members, id);
        prop_assert_eq!(&result, &check_approval(policy, &sorted, id));
        let me = members.iter().find(|m| m.id == id).map(|m| (m.life.submitted_at, m.id));
        let blocked = policy == ConflictPolicy::FirstRegistered
            && members.iter().any(|m| {
                matches!(m.life.status, Status::Submitted | Status::MoreInfo)
                    && Some((m.life.submitted_at, m.id)) < me
            });
        prop_assert_eq!(result.is_err(), blocked);
    }

    #[test]
    fn a_settlement_declines_exactly_the_other_active_claimants(
        (policy, members, trigger) in (any_policy(), any_members())
            .prop_flat_map(|(p, m)| {
                let t = any_trigger(&m);
                (Just(p), Just(m), t)
            }),
    ) {
        let active = active_ids(&members);
        let result = settle(policy, &members, &trigger);
        let first_registered = policy == ConflictPolicy::FirstRegistered;
        let chosen = match &trigger {
            Trigger::Manual { winner, .. } => Some(*winner),
            Trigger::MeetingLogged { id, .. } if !first_registered => Some(*id),
            Trigger::Approved(id) if first_registered => Some(*id),
            _ => None,
        };
        match chosen {
            Some(winner) => {
                prop_assert_eq!(result.as_ref().map(|s| s.winner), Some(Some(winner)));
            }
            // Otherwise only the last claimant standing (or nobody) wins.
            None => match active.as_slice() {
                [] => prop_assert_eq!(result.as_ref().map(|s| s.winner), Some(None)),
                [only] => prop_assert_eq!(result.as_ref().map(|s| s.winner), Some(Some(*only))),
                _ => prop_assert_eq!(&result, &None),
            },
        }
        if let Some(s) = result {
            prop_assert!(!s.reason.is_empty());
            if let Some(winner) = s.winner {
                prop_assert!(!s.declined.contains(&winner));
            }
            let mut expected = active.clone();
            expected.retain(|id| Some(*id) != s.winner);
            // Declined in member order, each once, only active claimants.
            prop_assert_eq!(&s.declined, &expected);
            for id in &s.declined {
                let m = members.iter().find(|m| m.id == *id);
                prop_assert!(m.is_some_and(|m| m.life.status.is_active()));
            }
        }
    }
}
