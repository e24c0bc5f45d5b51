//! The fake org's records in memory: upserts by External ID with
//! Salesforce's validation (required fields, restricted picklists, unknown
//! fields, references by External ID) and SOQL selects over them.

use super::schema::{FieldKind, SObject};
use super::soql::{self, Query, Refusal, Scalar};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// A call-level failure: HTTP status, Salesforce error code, message.
pub(super) type Rejection = (u16, &'static str, String);

pub(super) struct Store {
    objects: Vec<SObject>,
    tables: HashMap<String, Table>,
    next_id: u64,
    pub created: u64,
    pub updated: u64,
}

#[derive(Default)]
struct Table {
    /// By Id; ids grow with creation, so this is also creation order.
    rows: BTreeMap<String, Row>,
    /// (External ID field, value) to Id.
    keys: HashMap<(String, String), String>,
}

#[derive(Clone)]
struct Row {
    id: String,
    fields: Map<String, Value>,
    created: OffsetDateTime,
    modstamp: OffsetDateTime,
}

/// One entry of a per-record `errors` array.
struct RecordError {
    code: &'static str,
    message: String,
    fields: Vec<String>,
}

impl RecordError {
    fn new(code: &'static str, message: String, fields: &[&str]) -> RecordError {
        RecordError {
            code,
            message,
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }
}

impl Store {
    pub(super) fn new(objects: Vec<SObject>) -> Store {
        Store {
            objects,
            tables: HashMap::new(),
            next_id: 0,
            created: 0,
            updated: 0,
        }
    }

    pub(super) fn object(&self, name: &str) -> Option<&SObject> {
        self.objects.iter().find(|object| object.name == name)
    }

    /// An sObject Collections upsert keyed on `key`: one result per record,
    /// in order, or why the whole call is refused.
    pub(super) fn upsert(
        &mut self,
        object: &str,
        key: &str,
        records: &[Value],
        now: OffsetDateTime,
    ) -> Result<Vec<Value>, Rejection> {
        let schema = self
            .object(object)
            .cloned()
            .ok_or_else(|| not_found(object))?;
        if !schema.field(key).is_some_and(|field| field.external_id) {
            return Err((
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {key}"),
            ));
        }
        let records: Vec<&Map<String, Value>> = records
            .iter()
            .map(|record| check_shape(&schema, record))
            .collect::<Result<_, _>>()?;
        Ok(records
            .into_iter()
            .map(|record| match self.save(&schema, key, record, now) {
                Ok((id, created)) => {
                    json!({ "id": id, "success": true, "errors": [], "created": created })
                }
                Err(error) => json!({
                    "id": null,
                    "success": false,
                    "errors": [{ "statusCode": error.code, "message": error.message,
                                 "fields": error.fields }],
                }),
            })
            .collect())
    }

    /// Changes an existing record as a person would in Salesforce's pages.
    pub(super) fn edit(
        &mut self,
        object: &str,
        external_id: &str,
        changes: Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        let schema = self
            .object(object)
            .cloned()
            .ok_or_else(|| format!("no object {object}"))?;
        let key = schema
            .fields
            .iter()
            .find(|field| field.external_id)
            .map(|field| field.name.clone())
            .ok_or_else(|| format!("{object} has no External ID field"))?;
        let index = (key.clone(), external_id.to_owned());
        let exists = self
            .tables
            .get(object)
            .is_some_and(|table| table.keys.contains_key(&index));
        if !exists {
            return Err(format!("no {object} with {key} = {external_id}"));
        }
        let mut record = changes;
        record.insert(key.clone(), Value::String(external_id.to_owned()));
        self.save(&schema, &key, &record, now)
            .map(drop)
            .map_err(|error| format!("{}: {}", error.code, error.message))
    }

    /// Every record of `object`, with its system fields, in creation order.
    pub(super) fn snapshot(&self, object: &str) -> Vec<Map<String, Value>> {
        let Some(table) = self.tables.get(object) else {
            return Vec::new();
        };
        table
            .rows
            .values()
            .map(|row| {
                let mut fields = row.fields.clone();
                for (name, _) in super::schema::SYSTEM_FIELDS {
                    fields.insert(name.into(), row.value(name));
                }
                fields
            })
            .collect()
    }

    /// The records a checked query selects, rendered as a query answers
    /// them.
    pub(super) fn select(&self, query: &Query, version: &str) -> Result<Vec<Value>, Refusal> {
        let schema = self.object(&query.object).ok_or_else(|| {
            (
                "INVALID_TYPE",
                format!("sObject type '{}' is not supported.", query.object),
            )
        })?;
        query.check(schema)?;
        let empty = Table::default();
        let table = self.tables.get(&query.object).unwrap_or(&empty);
        let mut rows: Vec<&Row> = table
            .rows
            .values()
            .filter(|row| match &query.filter {
                Some(condition) => soql::matches(condition, schema, &|field| row.scalar(field)),
                None => true,
            })
            .collect();
        rows.sort_by(|a, b| {
            query
                .order
                .iter()
                .map(|(field, descending)| {
                    let ordering = a.scalar(field).cmp(&b.scalar(field));
                    if *descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                })
                .find(|ordering| ordering.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        rows.truncate(query.limit.unwrap_or(usize::MAX));
        Ok(rows
            .into_iter()
            .map(|row| row.render(&query.object, &query.fields, version))
            .collect())
    }

    /// Validates and writes one record; answers its id and whether it is
    /// new.
    fn save(
        &mut self,
        schema: &SObject,
        key: &str,
        record: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(String, bool), RecordError> {
        let Some(Value::String(external_id)) = record.get(key) else {
            return Err(RecordError::new(
                "MISSING_ARGUMENT",
                format!("{key} not specified"),
                &[key],
            ));
        };
        let mut changes = Map::new();
        for (name, value) in record.iter().filter(|(name, _)| *name != "attributes") {
            let (field, value) = self.resolve(schema, name, value)?;
            changes.insert(field, value);
        }
        let table = self.tables.entry(schema.name.clone()).or_default();
        let index = (key.to_owned(), external_id.clone());
        let existing = table.keys.get(&index).and_then(|id| table.rows.get(id));
        let mut row = match existing {
            Some(row) => row.clone(),
            None => Row {
                id: format!("{}{:012}AAA", schema.id_prefix, self.next_id + 1),
                fields: Map::new(),
                created: now,
                modstamp: now,
            },
        };
        let created = existing.is_none();
        row.fields.extend(changes);
        row.modstamp = now;
        if let Some(missing) = schema
            .fields
            .iter()
            .find(|field| field.required && row.fields.get(&field.name).is_none_or(Value::is_null))
        {
            return Err(RecordError::new(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.name),
                &[&missing.name],
            ));
        }
        for field in schema.fields.iter().filter(|field| field.external_id) {
            if let Some(Value::String(value)) = row.fields.get(&field.name) {
                table
                    .keys
                    .insert((field.name.clone(), value.clone()), row.id.clone());
            }
        }
        let id = row.id.clone();
        table.rows.insert(id.clone(), row);
        if created {
            self.next_id += 1;
            self.created += 1;
        } else {
            self.updated += 1;
        }
        Ok((id, created))
    }

    /// A field of a record as it is stored: picklists checked, references
    /// by External ID turned into the lookup's id.
    fn resolve(
        &self,
        schema: &SObject,
        name: &str,
        value: &Value,
    ) -> Result<(String, Value), RecordError> {
        if let Some((lookup, target)) = schema.relationship(name) {
            let id = self.reference(lookup.name.as_str(), target, value)?;
            return Ok((lookup.name.clone(), Value::String(id)));
        }
        if let Some(field) = schema.field(name) {
            if let (FieldKind::Picklist(values), Value::String(text)) = (&field.kind, value) {
                if !values.contains(text) {
                    return Err(RecordError::new(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        format!("{name}: bad value for restricted picklist field: {text}"),
                        &[name],
                    ));
                }
            }
        }
        Ok((name.to_owned(), value.clone()))
    }

    /// The id of the `target` record a reference such as
    /// `{"attributes": {"type": "Account"}, "Trellis_Account_Id__c": "a1"}`
    /// names.
    fn reference(&self, lookup: &str, target: &str, value: &Value) -> Result<String, RecordError> {
        let invalid = |message: String| RecordError::new("INVALID_FIELD", message, &[lookup]);
        let key = value
            .as_object()
            .and_then(|fields| fields.iter().find(|(name, _)| *name != "attributes"));
        let Some((field, Value::String(external_id))) = key else {
            return Err(invalid(format!(
                "A reference to {target} must name one External ID field"
            )));
        };
        self.tables
            .get(target)
            .and_then(|table| table.keys.get(&(field.clone(), external_id.clone())))
            .cloned()
            .ok_or_else(|| {
                invalid(format!(
                    "Foreign key external ID: {external_id} not found for field {field} in \
                     entity {target}"
                ))
            })
    }
}

/// Checks what Salesforce refuses a whole collection for: a record without
/// its type, of another type, or with a field the object does not have.
fn check_shape<'a>(
    schema: &SObject,
    record: &'a Value,
) -> Result<&'a Map<String, Value>, Rejection> {
    let record = record.as_object().ok_or_else(|| {
        (
            400,
            "JSON_PARSER_ERROR",
            "Each record must be a JSON object".into(),
        )
    })?;
    let kind = record
        .get("attributes")
        .and_then(|attributes| attributes.get("type"))
        .and_then(Value::as_str);
    match kind {
        None => {
            return Err((
                400,
                "INVALID_TYPE",
                "Must send a concrete entity type.".into(),
            ))
        }
        Some(kind) if kind != schema.name => {
            return Err((
                400,
                "INVALID_TYPE",
                format!(
                    "Records in a collection must all be {}: found {kind}",
                    schema.name
                ),
            ))
        }
        Some(_) => {}
    }
    let unknown = record.keys().find(|name| {
        *name != "attributes" && schema.field(name).is_none() && schema.relationship(name).is_none()
    });
    match unknown {
        Some(name) => Err((
            400,
            "INVALID_FIELD",
            format!("No such column '{name}' on sobject of type {}", schema.name),
        )),
        None => Ok(record),
    }
}

fn not_found(object: &str) -> Rejection {
    (
        404,
        "NOT_FOUND",
        format!("The requested resource does not exist: {object}"),
    )
}

impl Row {
    fn value(&self, field: &str) -> Value {
        match field {
            "Id" => Value::String(self.id.clone()),
            "CreatedDate" => Value::String(super::datetime(self.created)),
            "SystemModstamp" => Value::String(super::datetime(self.modstamp)),
            _ => self.fields.get(field).cloned().unwrap_or(Value::Null),
        }
    }

    fn scalar(&self, field: &str) -> Scalar {
        match field {
            "CreatedDate" => Scalar::Time(self.created),
            "SystemModstamp" => Scalar::Time(self.modstamp),
            _ => match self.value(field) {
                Value::Null => Scalar::Null,
                Value::String(text) => Scalar::Text(text),
                other => Scalar::Text(other.to_string()),
            },
        }
    }

    fn render(&self, object: &str, fields: &[String], version: &str) -> Value {
        let mut record = Map::new();
        record.insert(
            "attributes".into(),
            json!({ "type": object, "url": format!("/services/data/{version}/sobjects/{object}/{}", self.id) }),
        );
        for field in fields {
            record.insert(field.clone(), self.value(field));
        }
        Value::Object(record)
    }
}
