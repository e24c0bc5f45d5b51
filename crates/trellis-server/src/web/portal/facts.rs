//! What a registration's page lists about it, label by label: the prospect,
//! its deadlines with the days left, and a deal's terms. Worded here so the
//! template only lays them out.

use crate::web::words::days_left;
use time::OffsetDateTime;
use trellis_domain::registration::{Lifecycle, RegistrationKind, Status};
use trellis_domain::values::day;
use trellis_store::{DealRecord, RegistrationRecord};

/// One labelled line of the page.
pub(super) struct Fact {
    pub label: &'static str,
    pub value: String,
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
    }
}

/// Everything the page lists about `record` at `now`, in reading order.
pub(super) fn facts(record: &RegistrationRecord, now: OffsetDateTime) -> Vec<Fact> {
    let kind = match record.kind {
        RegistrationKind::Lead => "Lead",
        RegistrationKind::Deal => "Deal",
    };
    let contact = format!("{} <{}>", record.contact_name, record.contact_email);
    let optional = [
        ("Website", record.company_domain.as_ref()),
        ("Use case", record.use_case.as_ref()),
        ("Segment", record.market.segment.as_ref()),
        ("Product", record.market.product.as_ref()),
    ];
    let mut facts = vec![fact("Kind", kind), fact("Contact", contact)];
    facts.extend(
        optional
            .into_iter()
            .filter_map(|(label, value)| Some(fact(label, value?.as_str()))),
    );
    facts.push(fact("Submitted", day(record.life.submitted_at)));
    facts.extend(deadlines(&record.life, now));
    if let Some(deal) = &record.deal {
        facts.extend(deal_terms(deal));
    }
    facts
}

/// The protection and the first-meeting deadline, with the days left while
/// they run.
fn deadlines(life: &Lifecycle, now: OffsetDateTime) -> Vec<Fact> {
    let running = life.status == Status::Approved;
    let mut facts = Vec::new();
    if let Some(until) = life.hold_until {
        let value = match running {
            true => format!("{} ({})", day(until), days_left(until, now)),
            false => day(until),
        };
        facts.push(fact("Protected until", value));
    }
    match (life.first_meeting_at, life.meeting_due) {
        (Some(held), _) => facts.push(fact("First meeting", format!("held on {}", day(held)))),
        (None, Some(due)) if running => facts.push(fact(
            "First meeting due",
            format!("{} ({})", day(due), days_left(due, now)),
        )),
        _ => {}
    }
    facts
}

fn deal_terms(deal: &DealRecord) -> Vec<Fact> {
    let amount = format!("{} {}", deal.amount.decimal(), deal.amount.currency);
    let mut facts = vec![
        fact("Deal stage", deal.stage.as_str()),
        fact("Amount", amount),
        fact("Expected close", deal.expected_close.to_string()),
    ];
    if let Some(step) = &deal.next_step {
        facts.push(fact("Next step", step.as_str()));
    }
    facts
}
