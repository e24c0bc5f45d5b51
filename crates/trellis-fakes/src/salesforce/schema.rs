//! The objects the fake org has, their fields, and how describe shows them.
//! Defaults mirror a Trellis install with the default `[crm]` mapping.

use serde_json::{json, Value};

/// An sObject type.
#[derive(Debug, Clone)]
pub struct SObject {
    pub name: String,
    /// The three characters every id of this object starts with (`001`).
    pub id_prefix: String,
    /// Fields besides `Id`, `CreatedDate` and `SystemModstamp`, which every
    /// object has.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    /// Must have a value once the record is saved.
    pub required: bool,
    /// Marked External ID: upserts may key on it.
    pub external_id: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    Date,
    DateTime,
    /// A restricted picklist: only these values are accepted.
    Picklist(Vec<String>),
    /// A lookup to `to`, set through `relationship` (`Account__r`) by one
    /// of the target's External ID fields.
    Lookup {
        to: String,
        relationship: String,
    },
}

impl Field {
    pub fn new(name: &str, kind: FieldKind) -> Field {
        Field {
            name: name.into(),
            kind,
            required: false,
            external_id: false,
        }
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn external_id(mut self) -> Field {
        self.external_id = true;
        self
    }

    fn describe(&self) -> Value {
        let (kind, picklist, reference_to, relationship) = match &self.kind {
            FieldKind::Text => ("string", vec![], vec![], None),
            FieldKind::Number => ("double", vec![], vec![], None),
            FieldKind::Date => ("date", vec![], vec![], None),
            FieldKind::DateTime => ("datetime", vec![], vec![], None),
            FieldKind::Picklist(values) => ("picklist", values.clone(), vec![], None),
            FieldKind::Lookup { to, relationship } => {
                ("reference", vec![], vec![to.clone()], Some(relationship))
            }
        };
        let picklist: Vec<Value> = picklist
            .iter()
            .map(|value| json!({ "value": value, "label": value, "active": true }))
            .collect();
        json!({
            "name": self.name,
            "label": self.name.trim_end_matches("__c").replace('_', " "),
            "type": kind,
            "nillable": !self.required,
            "externalId": self.external_id,
            "restrictedPicklist": !picklist.is_empty(),
            "picklistValues": picklist,
            "referenceTo": reference_to,
            "relationshipName": relationship,
        })
    }
}

/// Fields every object has, answered by the store itself.
pub(super) const SYSTEM_FIELDS: [(&str, &str); 3] = [
    ("Id", "id"),
    ("CreatedDate", "datetime"),
    ("SystemModstamp", "datetime"),
];

impl SObject {
    pub fn new(name: &str, id_prefix: &str, fields: Vec<Field>) -> SObject {
        SObject {
            name: name.into(),
            id_prefix: id_prefix.into(),
            fields,
        }
    }

    pub(super) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The lookup field set through `relationship`, and the object it names.
    pub(super) fn relationship(&self, relationship: &str) -> Option<(&Field, &str)> {
        self.fields.iter().find_map(|field| match &field.kind {
            FieldKind::Lookup {
                to,
                relationship: name,
            } if name == relationship => Some((field, to.as_str())),
            _ => None,
        })
    }

    /// Whether `name` is a field SOQL may name: a system field or one of
    /// ours.
    pub(super) fn has_column(&self, name: &str) -> bool {
        SYSTEM_FIELDS.iter().any(|(system, _)| *system == name) || self.field(name).is_some()
    }

    pub(super) fn is_datetime(&self, name: &str) -> bool {
        matches!(name, "CreatedDate" | "SystemModstamp")
            || self
                .field(name)
                .is_some_and(|field| field.kind == FieldKind::DateTime)
    }

    /// The body of `GET .../sobjects/{name}/describe`, as much of it as a
    /// client reads.
    pub(super) fn describe(&self) -> Value {
        let system = SYSTEM_FIELDS.iter().map(|(name, kind)| {
            json!({ "name": name, "label": name, "type": kind, "nillable": false,
                    "externalId": false, "picklistValues": [], "referenceTo": [],
                    "relationshipName": null })
        });
        let fields: Vec<Value> = system
            .chain(self.fields.iter().map(Field::describe))
            .collect();
        json!({
            "name": self.name,
            "label": self.name.trim_end_matches("__c").replace('_', " "),
            "custom": self.name.ends_with("__c"),
            "keyPrefix": self.id_prefix,
            "fields": fields,
        })
    }
}

/// `Account` and `Partner_Registration__c` as the default `[crm]` mapping
/// expects them, with a restricted stage picklist.
pub fn default_objects() -> Vec<SObject> {
    use FieldKind::*;
    let stages = ["Prospecting", "Qualification", "Closed Won", "Closed Lost"];
    vec![
        SObject::new(
            "Account",
            "001",
            vec![
                Field::new("Name", Text).required(),
                Field::new("Website", Text),
                Field::new("Trellis_Account_Id__c", Text).external_id(),
            ],
        ),
        SObject::new(
            "Partner_Registration__c",
            "a01",
            vec![
                Field::new("Name", Text).required(),
                Field::new("Trellis_Id__c", Text).external_id(),
                Field::new("Amount__c", Number),
                Field::new("Case_Number__c", Text),
                Field::new("Partner__c", Text),
                Field::new("Status__c", Text),
                Field::new("Hold_Until__c", Date),
                Field::new(
                    "Stage__c",
                    Picklist(stages.iter().map(|s| s.to_string()).collect()),
                ),
                Field::new("First_Meeting__c", Date),
                Field::new(
                    "Account__c",
                    Lookup {
                        to: "Account".into(),
                        relationship: "Account__r".into(),
                    },
                ),
            ],
        ),
    ]
}
