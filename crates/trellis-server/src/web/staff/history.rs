//! A registration's audit trail as staff read it: the partner-facing
//! timeline's wording (`web/status.rs`), with who made each change.

use super::views::Partners;
use crate::web::words::{timeline_item, TimelineItem};
use std::collections::HashMap;
use trellis_domain::ids::PartnerId;
use trellis_store::EventRecord;

/// Who an event's actor label (`staff-user:2`, `staff:3`, `partner:12`,
/// `system`, `crm`) names.
enum Who {
    StaffUser(i64),
    Token(i64),
    Partner(PartnerId),
    System,
    Crm,
    Unknown,
}

fn who(label: &str) -> Who {
    let id = |rest: &str| rest.parse::<i64>().ok();
    match label.split_once(':') {
        Some(("staff-user", n)) => id(n).map_or(Who::Unknown, Who::StaffUser),
        Some(("staff", n)) => id(n).map_or(Who::Unknown, Who::Token),
        Some(("partner", n)) => id(n).map_or(Who::Unknown, |n| Who::Partner(PartnerId(n))),
        _ => match label {
            "system" => Who::System,
            "crm" => Who::Crm,
            _ => Who::Unknown,
        },
    }
}

/// The staff users and partners the events' actors name, to look up once.
pub fn actors(events: &[EventRecord]) -> (Vec<i64>, Vec<PartnerId>) {
    let (mut staff, mut partners) = (Vec::new(), Vec::new());
    for event in events {
        match who(&event.actor) {
            Who::StaffUser(id) => staff.push(id),
            Who::Partner(id) => partners.push(id),
            _ => {}
        }
    }
    (staff, partners)
}

/// The events as timeline lines naming who did what.
pub fn timeline(
    events: &[EventRecord],
    partners: &Partners,
    staff: &HashMap<i64, String>,
) -> Vec<TimelineItem> {
    events
        .iter()
        .map(|event| {
            let name = match who(&event.actor) {
                Who::StaffUser(id) => staff
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("staff user {id}")),
                Who::Token(id) => format!("API token {id}"),
                Who::Partner(id) => partners.name(id),
                Who::System => "Trellis".to_owned(),
                Who::Crm => "the CRM".to_owned(),
                Who::Unknown => event.actor.clone(),
            };
            TimelineItem {
                who: Some(name),
                ..timeline_item(event)
            }
        })
        .collect()
}
