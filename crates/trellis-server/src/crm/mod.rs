//! Keeping the CRM in step. `dispatch` sends registrations from the sync
//! queue in batches; `inbound` applies what sales recorded in the CRM (a
//! deal won or lost, a first meeting) through the same lifecycle commands
//! staff use; `records` maps a registration onto the CRM's properties;
//! `webhook` takes HubSpot's pushed changes.

pub mod dispatch;
pub mod inbound;
pub mod records;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;
use trellis_domain::program::CrmConfig;
use trellis_sync::crm::Crm;

/// A connected CRM and how Trellis maps onto it.
#[derive(Clone)]
pub struct CrmLink {
    pub crm: Arc<dyn Crm>,
    pub config: CrmConfig,
    /// Batches in flight at once: the CRM's latency, not Trellis, bounds a
    /// single sender.
    pub workers: usize,
    /// How long an idle sender waits before looking for work again.
    pub idle: Duration,
    /// How often changes are read back from the CRM.
    pub poll_every: Duration,
}

impl CrmLink {
    pub fn new(crm: Arc<dyn Crm>, config: CrmConfig) -> CrmLink {
        CrmLink {
            crm,
            config,
            workers: 4,
            idle: Duration::from_millis(500),
            poll_every: Duration::from_secs(60),
        }
    }
}
