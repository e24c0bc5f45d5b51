//! A registration as the CRM sees it: its Trellis fields renamed to the
//! CRM's properties by `[crm.fields]` and `[crm.account_fields]`.

use std::collections::BTreeMap;
use trellis_domain::program::CrmConfig;
use trellis_store::SyncItem;
use trellis_sync::crm::{AccountRecord, Record};

pub fn record_of(item: &SyncItem, config: &CrmConfig) -> Record {
    let fields = item.fields();
    let mapped = |mapping: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        mapping
            .iter()
            .filter_map(|(field, property)| {
                let value = fields.get(field.as_str())?;
                Some((property.clone(), value.clone()))
            })
            .collect()
    };
    let mut properties = mapped(&config.fields);
    // A record the CRM has not confirmed yet gets its starting values
    // (pipeline, first stage); after that the CRM owns them.
    if item.record_id.is_none() {
        for (property, value) in &config.on_create {
            properties
                .entry(property.clone())
                .or_insert_with(|| value.clone());
        }
    }
    let registration = &item.registration;
    Record {
        external_id: registration.id.0.to_string(),
        record_id: item.record_id.clone(),
        properties,
        account: AccountRecord {
            external_id: registration.account_id.0.to_string(),
            properties: mapped(&config.account_fields),
        },
    }
}
