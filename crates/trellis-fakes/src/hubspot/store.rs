//! The fake's records, kept in memory: upserts by unique property, edits a
//! sales rep would make, and associations. Lookups go through hash indexes
//! so a benchmark's hundred thousand records cost no scans per input.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::reply::{batch_error, iso, now_millis, Reply};
use super::schema::{Problem, Property, Schema};

/// The most inputs a batch takes, upserts and associations alike.
pub(crate) const BATCH_LIMIT: usize = 100;

/// A record as a snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub id: String,
    pub properties: BTreeMap<String, String>,
    /// `createdate` and `hs_lastmodifieddate`, Unix milliseconds.
    pub created_at: i64,
    pub modified_at: i64,
}

pub(super) struct Record {
    pub properties: BTreeMap<String, String>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// One object type's records and indexes.
#[derive(Default)]
pub(super) struct Objects {
    pub records: BTreeMap<u64, Record>,
    /// Unique property, then value, to record id.
    unique: HashMap<String, HashMap<String, u64>>,
    /// (modified at, id), for searches sorted by modification.
    pub by_modified: BTreeSet<(i64, u64)>,
}

pub(crate) struct Crm {
    pub(super) schemas: HashMap<String, Schema>,
    pub(super) objects: HashMap<String, Objects>,
    associations: HashMap<(String, String), BTreeSet<(u64, u64)>>,
    next_id: u64,
    /// Answer refused values with a 207 when every input has a trace id.
    multi_status: bool,
    pub created: u64,
    pub updated: u64,
}

#[derive(Deserialize)]
struct Batch<T> {
    inputs: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpsertInput {
    id_property: Option<String>,
    id: String,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
    object_write_trace_id: Option<String>,
}

#[derive(Deserialize)]
struct Pair {
    from: ObjectId,
    to: ObjectId,
}

#[derive(Deserialize)]
struct ObjectId {
    id: Value,
}

impl Crm {
    pub fn new(extra: Vec<(String, Property)>, multi_status: bool) -> Crm {
        let mut schemas = HashMap::from([
            ("deals".to_owned(), Schema::deals()),
            ("companies".to_owned(), Schema::companies()),
        ]);
        for (object, property) in extra {
            schemas
                .entry(object)
                .or_insert_with(Schema::custom)
                .add(property);
        }
        Crm {
            schemas,
            objects: HashMap::new(),
            associations: HashMap::new(),
            next_id: 1001,
            multi_status,
            created: 0,
            updated: 0,
        }
    }

    /// `POST /crm/v3/objects/{object}/batch/upsert`.
    pub fn upsert(&mut self, object: &str, body: &[u8]) -> Reply {
        let Some(schema) = self.schemas.get(object) else {
            return Reply::unknown_object(object);
        };
        let inputs: Vec<UpsertInput> = match read_batch(body) {
            Ok(inputs) => inputs,
            Err(reply) => return reply,
        };
        if let Some(refusal) = refuse_keys(schema, &inputs) {
            return refusal;
        }
        let objects = self.objects.entry(object.to_owned()).or_default();
        let values: Vec<BTreeMap<String, String>> = inputs.iter().map(text_values).collect();
        let problems: Vec<Vec<Problem>> = inputs
            .iter()
            .zip(&values)
            .map(|(input, values)| {
                let key = input.id_property.as_deref().unwrap_or_default();
                schema.check(values, objects.find(key, &input.id).is_none())
            })
            .collect();
        let partial = self.multi_status && inputs.iter().all(|i| i.object_write_trace_id.is_some());
        if !partial && problems.iter().any(|p| !p.is_empty()) {
            return Reply::refused_values(&problems.concat());
        }
        let now = now_millis();
        let (mut results, mut errors) = (Vec::new(), Vec::new());
        for ((input, values), problems) in inputs.iter().zip(values).zip(&problems) {
            if !problems.is_empty() {
                let trace = input.object_write_trace_id.as_deref().unwrap_or_default();
                errors.push(batch_error(problems, trace));
                continue;
            }
            let key = input.id_property.as_deref().unwrap_or_default();
            let (id, new) = objects.upsert(schema, key, &input.id, values, &mut self.next_id, now);
            if new {
                self.created += 1;
            } else {
                self.updated += 1;
            }
            let mut result = objects.to_json(id, None);
            result["new"] = json!(new);
            if let Some(trace) = &input.object_write_trace_id {
                result["objectWriteTraceId"] = json!(trace);
            }
            results.push(result);
        }
        batch_reply(results, errors)
    }

    /// `POST /crm/v4/associations/{from}/{to}/batch/associate/default`.
    pub fn associate(&mut self, from: &str, to: &str, body: &[u8]) -> Reply {
        for object in [from, to] {
            if !self.schemas.contains_key(object) {
                return Reply::unknown_object(object);
            }
        }
        let pairs: Vec<Pair> = match read_batch(body) {
            Ok(pairs) => pairs,
            Err(reply) => return reply,
        };
        let (mut results, mut errors) = (Vec::new(), Vec::new());
        for pair in pairs {
            let ids = (
                self.existing(from, &pair.from.id),
                self.existing(to, &pair.to.id),
            );
            let (Some(from_id), Some(to_id)) = ids else {
                errors.push(json!({
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": format!("No {from} with id {} or no {to} with id {}", pair.from.id, pair.to.id),
                    "context": { "fromObjectId": [pair.from.id], "toObjectId": [pair.to.id] },
                }));
                continue;
            };
            self.associations
                .entry((from.to_owned(), to.to_owned()))
                .or_default()
                .insert((from_id, to_id));
            results.push(json!({
                "from": { "id": from_id.to_string() },
                "to": { "id": to_id.to_string() },
                "associationSpec": { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": default_type_id(from, to) },
            }));
        }
        batch_reply(results, errors)
    }

    /// `GET /crm/v3/properties/{object}`.
    pub fn properties(&self, object: &str) -> Reply {
        match self.schemas.get(object) {
            Some(schema) => Reply::ok(json!({
                "results": schema.properties.values().map(Property::to_json).collect::<Vec<_>>(),
            })),
            None => Reply::unknown_object(object),
        }
    }

    /// Creates a record directly, as if it had been there all along.
    pub fn seed(&mut self, object: &str, values: BTreeMap<String, String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let schema = self
            .schemas
            .entry(object.to_owned())
            .or_insert_with(Schema::custom);
        let objects = self.objects.entry(object.to_owned()).or_default();
        objects.insert(schema, id, values, now_millis());
        id
    }

    /// Sets one property as a sales rep would in HubSpot, which moves
    /// `hs_lastmodifieddate` forward. `false` when there is no such record.
    pub fn edit(&mut self, object: &str, id: u64, property: &str, value: &str) -> bool {
        let Some(schema) = self.schemas.get(object) else {
            return false;
        };
        let Some(objects) = self.objects.get_mut(object) else {
            return false;
        };
        let Some(previous) = objects.records.get(&id).map(|r| r.modified_at) else {
            return false;
        };
        let values = BTreeMap::from([(property.to_owned(), value.to_owned())]);
        objects.update(schema, id, values, now_millis().max(previous + 1));
        true
    }

    pub fn snapshot(&self, object: &str) -> Vec<StoredRecord> {
        let Some(objects) = self.objects.get(object) else {
            return Vec::new();
        };
        objects
            .records
            .iter()
            .map(|(id, record)| record.stored(*id))
            .collect()
    }

    /// The record of `object` whose unique `property` is `value`.
    pub fn find(&self, object: &str, property: &str, value: &str) -> Option<StoredRecord> {
        let objects = self.objects.get(object)?;
        let id = objects.find(property, value)?;
        Some(objects.records.get(&id)?.stored(id))
    }

    pub fn associations(&self, from: &str, to: &str) -> Vec<(String, String)> {
        self.associations
            .get(&(from.to_owned(), to.to_owned()))
            .into_iter()
            .flatten()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn existing(&self, object: &str, id: &Value) -> Option<u64> {
        let id = match id {
            Value::String(text) => text.parse().ok()?,
            other => other.as_u64()?,
        };
        self.objects
            .get(object)?
            .records
            .contains_key(&id)
            .then_some(id)
    }
}

impl Record {
    fn stored(&self, id: u64) -> StoredRecord {
        StoredRecord {
            id: id.to_string(),
            properties: self.properties.clone(),
            created_at: self.created_at,
            modified_at: self.modified_at,
        }
    }
}

impl Objects {
    pub fn find(&self, property: &str, value: &str) -> Option<u64> {
        self.unique.get(property)?.get(value).copied()
    }

    /// Creates or updates the record whose `key` property is `id`.
    fn upsert(
        &mut self,
        schema: &Schema,
        key: &str,
        id: &str,
        mut values: BTreeMap<String, String>,
        next_id: &mut u64,
        now: i64,
    ) -> (u64, bool) {
        values.insert(key.to_owned(), id.to_owned());
        if let Some(existing) = self.find(key, id) {
            self.update(schema, existing, values, now);
            return (existing, false);
        }
        let new = *next_id;
        *next_id += 1;
        self.insert(schema, new, values, now);
        (new, true)
    }

    fn insert(&mut self, schema: &Schema, id: u64, values: BTreeMap<String, String>, now: i64) {
        let record = Record {
            properties: BTreeMap::new(),
            created_at: now,
            modified_at: now,
        };
        self.records.insert(id, record);
        self.by_modified.insert((now, id));
        self.update(schema, id, values, now);
    }

    fn update(&mut self, schema: &Schema, id: u64, values: BTreeMap<String, String>, now: i64) {
        let Some(record) = self.records.get_mut(&id) else {
            return;
        };
        self.by_modified.remove(&(record.modified_at, id));
        record.modified_at = now;
        self.by_modified.insert((now, id));
        for (name, value) in values {
            if schema.is_unique(&name) {
                let index = self.unique.entry(name.clone()).or_default();
                if let Some(old) = record.properties.get(&name) {
                    index.remove(old);
                }
                index.insert(value.clone(), id);
            }
            record.properties.insert(name, value);
        }
    }

    /// A record in HubSpot's shape, with all its properties or `only` these
    /// (and those HubSpot always returns).
    pub fn to_json(&self, id: u64, only: Option<&HashSet<&str>>) -> Value {
        let Some(record) = self.records.get(&id) else {
            return Value::Null;
        };
        let mut properties: Map<String, Value> = record
            .properties
            .iter()
            .filter(|(name, _)| only.is_none_or(|only| only.contains(name.as_str())))
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        properties.insert("hs_object_id".into(), json!(id.to_string()));
        properties.insert("createdate".into(), json!(iso(record.created_at)));
        properties.insert("hs_lastmodifieddate".into(), json!(iso(record.modified_at)));
        json!({
            "id": id.to_string(),
            "properties": properties,
            "createdAt": iso(record.created_at),
            "updatedAt": iso(record.modified_at),
            "archived": false,
        })
    }
}

/// Reads `{"inputs": [...]}`, refusing bad JSON and oversized batches as
/// HubSpot does.
fn read_batch<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, Reply> {
    let batch: Batch<T> = serde_json::from_slice(body).map_err(|error| {
        Reply::invalid(format!(
            "Invalid input JSON on line {}, column {}: {error}",
            error.line(),
            error.column()
        ))
    })?;
    if batch.inputs.len() > BATCH_LIMIT {
        return Err(Reply::invalid(format!(
            "Batch input of {} exceeds the limit of {BATCH_LIMIT} inputs",
            batch.inputs.len()
        )));
    }
    Ok(batch.inputs)
}

/// Refuses a batch whose keys cannot work: an `idProperty` missing, not a
/// property, or not unique; or one id twice.
fn refuse_keys(schema: &Schema, inputs: &[UpsertInput]) -> Option<Reply> {
    let mut seen = HashSet::new();
    let mut duplicates = Vec::new();
    for input in inputs {
        let Some(key) = input.id_property.as_deref() else {
            return Some(Reply::invalid("idProperty is required to upsert"));
        };
        if !schema.properties.contains_key(key) {
            return Some(Reply::refused_values(&[Problem {
                code: "PROPERTY_DOESNT_EXIST",
                property: key.to_owned(),
                message: format!("Property \"{key}\" does not exist"),
            }]));
        }
        if !schema.is_unique(key) {
            return Some(Reply::invalid(format!(
                "{key} is not a unique identifier property"
            )));
        }
        if !seen.insert(input.id.as_str()) {
            duplicates.push(input.id.as_str());
        }
    }
    (!duplicates.is_empty()).then(|| {
        Reply::invalid(format!(
            "Duplicate IDs found in batch input: [{}]",
            duplicates.join(", ")
        ))
    })
}

/// HubSpot takes numbers and booleans as property values and keeps text.
fn text_values(input: &UpsertInput) -> BTreeMap<String, String> {
    input
        .properties
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect()
}

/// 200 when every input went through, 207 with `errors` otherwise.
fn batch_reply(results: Vec<Value>, errors: Vec<Value>) -> Reply {
    let now = iso(now_millis());
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    });
    if errors.is_empty() {
        return Reply::ok(body);
    }
    body["numErrors"] = json!(errors.len());
    body["errors"] = Value::Array(errors);
    Reply {
        status: StatusCode::MULTI_STATUS,
        body,
    }
}

/// HubSpot's id for the unlabelled deal-to-company association; other pairs
/// get a stand-in, the fake not modelling labels.
fn default_type_id(from: &str, to: &str) -> u32 {
    match (from, to) {
        ("deals", "companies") => 341,
        ("companies", "deals") => 342,
        _ => 1,
    }
}
