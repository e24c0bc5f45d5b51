//! Effects that leave the process. `crm` holds the CRM connectors: one
//! trait, one real client per vendor, each speaking the vendor's documented
//! REST API. What to send and when (the sync queue, retries, dead letters)
//! lives in the store and the server; this crate only talks to the CRM.

pub mod crm;
