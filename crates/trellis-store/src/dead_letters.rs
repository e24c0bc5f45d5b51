//! Dead letters of every effect, named alike so staff can retry any of
//! them by one id: `crm-{event id}` (a registration the CRM would not take)
//! or `notification-{id}` (a message no relay would take).

use crate::db::Store;
use crate::error::Result;
use time::OffsetDateTime;

impl Store {
    /// Sends the dead letter named `id` again, due now with fresh attempts;
    /// false when there is none by that id.
    pub async fn retry_dead_letter(&self, id: &str, now: OffsetDateTime) -> Result<bool> {
        let number = |prefix: &str| id.strip_prefix(prefix).and_then(|n| n.parse::<i64>().ok());
        if let Some(event_id) = number("crm-") {
            return self.retry_crm_dead_letter(event_id, now).await;
        }
        if let Some(note) = number("notification-") {
            return self.retry_notification(note, now).await;
        }
        Ok(false)
    }
}
