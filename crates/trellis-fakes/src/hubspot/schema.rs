//! The properties the fake's objects have, and HubSpot's checks of written
//! values: unknown properties, read-only ones, picklist options, and the
//! properties a new deal must have.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Properties every object has and HubSpot sets itself.
pub(crate) const READ_ONLY: [&str; 3] = ["hs_object_id", "createdate", "hs_lastmodifieddate"];

/// A property definition, as `GET /crm/v3/properties/{object}` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub kind: PropertyKind,
    /// Allowed values of an enumeration (a deal's stages, its pipelines).
    pub options: Vec<String>,
    /// `hasUniqueValue`: usable as an upsert's `idProperty`.
    pub unique: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    Text,
    Number,
    Date,
    DateTime,
    Enumeration,
}

impl Property {
    pub fn text(name: &str) -> Property {
        Property::of(name, PropertyKind::Text)
    }

    /// A text property with unique values, such as the one holding the
    /// Trellis id.
    pub fn unique_text(name: &str) -> Property {
        Property {
            unique: true,
            ..Property::text(name)
        }
    }

    pub fn number(name: &str) -> Property {
        Property::of(name, PropertyKind::Number)
    }

    pub fn date(name: &str) -> Property {
        Property::of(name, PropertyKind::Date)
    }

    pub fn datetime(name: &str) -> Property {
        Property::of(name, PropertyKind::DateTime)
    }

    /// A picklist: values outside `options` are refused.
    pub fn choice(name: &str, options: &[&str]) -> Property {
        Property {
            options: options.iter().map(|o| o.to_string()).collect(),
            ..Property::of(name, PropertyKind::Enumeration)
        }
    }

    fn of(name: &str, kind: PropertyKind) -> Property {
        Property {
            name: name.to_owned(),
            kind,
            options: Vec::new(),
            unique: false,
        }
    }

    /// HubSpot's description of the property.
    pub(crate) fn to_json(&self) -> Value {
        let (kind, field_type) = match self.kind {
            PropertyKind::Text => ("string", "text"),
            PropertyKind::Number => ("number", "number"),
            PropertyKind::Date => ("date", "date"),
            PropertyKind::DateTime => ("datetime", "date"),
            PropertyKind::Enumeration => ("enumeration", "select"),
        };
        let options: Vec<Value> = self
            .options
            .iter()
            .enumerate()
            .map(|(order, value)| {
                json!({ "label": value, "value": value, "displayOrder": order, "hidden": false })
            })
            .collect();
        json!({
            "name": self.name,
            "label": self.name,
            "type": kind,
            "fieldType": field_type,
            "groupName": "trellis",
            "options": options,
            "hasUniqueValue": self.unique,
            "calculated": false,
            "modificationMetadata": { "readOnlyValue": READ_ONLY.contains(&self.name.as_str()) },
        })
    }
}

/// HubSpot's default deal stages of the default pipeline.
pub const DEAL_STAGES: [&str; 7] = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
];

/// One refused value: HubSpot's error code, the property, its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub code: &'static str,
    pub property: String,
    pub message: String,
}

/// An object type's properties.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    pub singular: &'static str,
    pub properties: BTreeMap<String, Property>,
    pub required_on_create: &'static [&'static str],
}

impl Schema {
    /// Deals with HubSpot's usual properties and the Trellis defaults of
    /// `[crm]`. A new deal needs a name, a pipeline and a stage.
    pub fn deals() -> Schema {
        Schema::with(
            "deal",
            &["dealname", "pipeline", "dealstage"],
            [
                Property::text("dealname"),
                Property::number("amount"),
                Property::datetime("closedate"),
                Property::choice("pipeline", &["default"]),
                Property::choice("dealstage", &DEAL_STAGES),
                Property::text("description"),
                Property::unique_text("trellis_registration_id"),
                Property::text("trellis_case_number"),
                Property::text("trellis_partner"),
                Property::text("trellis_status"),
                Property::date("trellis_hold_until"),
            ],
        )
    }

    pub fn companies() -> Schema {
        Schema::with(
            "company",
            &[],
            [
                Property::text("name"),
                Property::text("domain"),
                Property::text("city"),
                Property::unique_text("trellis_account_id"),
            ],
        )
    }

    /// An object the fake has no defaults for: only what the options add.
    pub fn custom() -> Schema {
        Schema::with("object", &[], [])
    }

    fn with<const N: usize>(
        singular: &'static str,
        required_on_create: &'static [&'static str],
        properties: [Property; N],
    ) -> Schema {
        let mut schema = Schema {
            singular,
            properties: BTreeMap::new(),
            required_on_create,
        };
        for name in READ_ONLY {
            let kind = if name == "hs_object_id" {
                Property::number(name)
            } else {
                Property::datetime(name)
            };
            schema.add(kind);
        }
        properties.into_iter().for_each(|p| schema.add(p));
        schema
    }

    pub fn add(&mut self, property: Property) {
        self.properties.insert(property.name.clone(), property);
    }

    pub fn is_unique(&self, name: &str) -> bool {
        self.properties.get(name).is_some_and(|p| p.unique)
    }

    /// What HubSpot would refuse in `values`, written to a new record when
    /// `creating`.
    pub fn check(&self, values: &BTreeMap<String, String>, creating: bool) -> Vec<Problem> {
        let mut problems: Vec<Problem> = values
            .iter()
            .filter_map(|(name, value)| self.check_value(name, value))
            .collect();
        if creating {
            problems.extend(
                self.required_on_create
                    .iter()
                    .filter(|name| values.get(**name).is_none_or(|v| v.is_empty()))
                    .map(|name| Problem {
                        code: "REQUIRED_PROPERTY",
                        property: name.to_string(),
                        message: format!(
                            "Property \"{name}\" is required to create a {}",
                            self.singular
                        ),
                    }),
            );
        }
        problems
    }

    fn check_value(&self, name: &str, value: &str) -> Option<Problem> {
        let problem = |code, message| {
            Some(Problem {
                code,
                property: name.to_owned(),
                message,
            })
        };
        let Some(property) = self.properties.get(name) else {
            return problem(
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{name}\" does not exist"),
            );
        };
        if READ_ONLY.contains(&name) {
            return problem(
                "READ_ONLY_VALUE",
                format!("\"{name}\" is a read only property; its value cannot be set."),
            );
        }
        let allowed = property.kind != PropertyKind::Enumeration
            || value.is_empty()
            || property.options.iter().any(|o| o == value);
        if allowed {
            return None;
        }
        problem(
            "INVALID_OPTION",
            format!(
                "{value} was not one of the allowed options: [{}]",
                property.options.join(", ")
            ),
        )
    }
}
