//! Reading the fake's records: a list page by page, and CRM search with
//! HubSpot's filters, one sort, pages of at most 200 and its cap of 10,000
//! results.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::reply::Reply;
use super::store::{Crm, Objects, Record};

const LIST_LIMIT: usize = 100;
const SEARCH_LIMIT: usize = 200;
const SEARCH_CAP: usize = 10_000;
const MAX_FILTER_GROUPS: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Search {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Sort>,
    #[serde(default)]
    properties: Vec<String>,
    limit: Option<usize>,
    after: Option<Value>,
}

#[derive(Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sort {
    property_name: String,
    #[serde(default)]
    direction: String,
}

impl Crm {
    /// `GET /crm/v3/objects/{object}?limit&after&properties`, by id.
    pub fn list(&self, object: &str, query: &HashMap<String, String>) -> Reply {
        if !self.schemas.contains_key(object) {
            return Reply::unknown_object(object);
        }
        let limit = match page_size(query.get("limit").map(String::as_str), 10, LIST_LIMIT) {
            Ok(limit) => limit,
            Err(reply) => return reply,
        };
        let start = match query.get("after").map(|after| after.parse::<u64>()) {
            None => Bound::Unbounded,
            Some(Ok(after)) => Bound::Excluded(after),
            Some(Err(_)) => return Reply::invalid("after must be a value from paging.next.after"),
        };
        let only: HashSet<&str> = query
            .get("properties")
            .map(|names| {
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let empty = Objects::default();
        let objects = self.objects.get(object).unwrap_or(&empty);
        let ids: Vec<u64> = objects
            .records
            .range((start, Bound::Unbounded))
            .map(|(id, _)| *id)
            .take(limit + 1)
            .collect();
        let page = &ids[..ids.len().min(limit)];
        let mut body = json!({
            "results": page.iter().map(|id| objects.to_json(*id, Some(&only))).collect::<Vec<_>>(),
        });
        if let (true, Some(last)) = (ids.len() > limit, page.last()) {
            body["paging"] = json!({ "next": {
                "after": last.to_string(),
                "link": format!("/crm/v3/objects/{object}?after={last}"),
            }});
        }
        Reply::ok(body)
    }

    /// `POST /crm/v3/objects/{object}/search`.
    pub fn search(&self, object: &str, body: &[u8]) -> Reply {
        if !self.schemas.contains_key(object) {
            return Reply::unknown_object(object);
        }
        let search: Search = match serde_json::from_slice(body) {
            Ok(search) => search,
            Err(error) => return Reply::invalid(format!("Invalid input JSON: {error}")),
        };
        let empty = Objects::default();
        let objects = self.objects.get(object).unwrap_or(&empty);
        let planned = search.page().and_then(|page| {
            let groups = search.conditions()?;
            let ordered = search.order(objects, modified_floor(&groups))?;
            Ok((page, groups, ordered))
        });
        let ((limit, offset), groups, ordered) = match planned {
            Ok(planned) => planned,
            Err(reply) => return reply,
        };
        // When the order already leaves out what the filters would (a
        // search by modification from a floor), the rest is only counted.
        let prefiltered = groups.is_empty()
            || (search.by_modification() && groups.iter().flatten().all(Condition::is_floor));
        let (mut total, mut page, mut ordered) = (0, Vec::new(), ordered);
        for id in ordered.by_ref() {
            let Some(record) = objects.records.get(&id) else {
                continue;
            };
            if !prefiltered
                && !groups
                    .iter()
                    .any(|group| group.iter().all(|c| c.holds(id, record)))
            {
                continue;
            }
            if total >= offset && page.len() < limit {
                page.push(id);
            }
            total += 1;
            if prefiltered && page.len() == limit {
                break;
            }
        }
        total += ordered.count();
        let only: HashSet<&str> = search.properties.iter().map(String::as_str).collect();
        let results: Vec<Value> = page
            .iter()
            .map(|id| objects.to_json(*id, Some(&only)))
            .collect();
        let mut body = json!({ "total": total, "results": results });
        if offset + limit < total {
            body["paging"] = json!({ "next": { "after": (offset + limit).to_string() } });
        }
        Reply::ok(body)
    }
}

impl Search {
    /// The page size and offset, within HubSpot's limits.
    fn page(&self) -> Result<(usize, usize), Reply> {
        if self.filter_groups.len() > MAX_FILTER_GROUPS {
            return Err(Reply::invalid(format!(
                "A search takes at most {MAX_FILTER_GROUPS} filterGroups"
            )));
        }
        let limit = self.limit.unwrap_or(10);
        if !(1..=SEARCH_LIMIT).contains(&limit) {
            return Err(Reply::invalid(format!(
                "limit must be between 1 and {SEARCH_LIMIT}"
            )));
        }
        let offset = match &self.after {
            None => 0,
            Some(Value::String(text)) => text
                .parse()
                .map_err(|_| Reply::invalid("after must be a number"))?,
            Some(other) => other
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| Reply::invalid("after must be a number"))?,
        };
        if offset + limit > SEARCH_CAP {
            return Err(Reply::invalid(format!(
                "A search returns at most {SEARCH_CAP} results; narrow the filters to read further"
            )));
        }
        Ok((limit, offset))
    }

    fn by_modification(&self) -> bool {
        matches!(self.sorts.as_slice(), [sort] if sort.property_name == "hs_lastmodifieddate")
    }

    /// The filter groups, each filter read once.
    fn conditions(&self) -> Result<Vec<Vec<Condition<'_>>>, Reply> {
        self.filter_groups
            .iter()
            .map(|group| group.filters.iter().map(Condition::read).collect())
            .collect()
    }

    /// Record ids in the requested order: by `hs_lastmodifieddate` either
    /// way (from `floor` on, when the filters set one), or by id. The fake
    /// sorts by nothing else.
    fn order<'a>(
        &self,
        objects: &'a Objects,
        floor: Option<i64>,
    ) -> Result<Box<dyn Iterator<Item = u64> + 'a>, Reply> {
        let by_id = || Box::new(objects.records.keys().copied());
        match self.sorts.as_slice() {
            [] => Ok(by_id()),
            [sort] if self.by_modification() => {
                let from = (floor.unwrap_or(i64::MIN), 0);
                let ids = objects.by_modified.range(from..).map(|(_, id)| *id);
                Ok(if sort.direction == "DESCENDING" {
                    Box::new(ids.rev())
                } else {
                    Box::new(ids)
                })
            }
            [sort] if sort.property_name == "hs_object_id" => Ok(by_id()),
            [sort] => Err(Reply::invalid(format!(
                "this fake sorts only by hs_lastmodifieddate or hs_object_id, not {}",
                sort.property_name
            ))),
            _ => Err(Reply::invalid("A search takes at most one sort")),
        }
    }
}

/// The earliest `hs_lastmodifieddate` any filter group lets through, when
/// every group sets one: a search by modification need not look earlier.
fn modified_floor(groups: &[Vec<Condition<'_>>]) -> Option<i64> {
    let floors = groups.iter().map(|group| {
        group
            .iter()
            .filter(|c| c.property == "hs_lastmodifieddate")
            .filter_map(|c| match (&c.operator, &c.wanted) {
                (Operator::Gt, Key::Number(n)) => i64::try_from(*n).ok()?.checked_add(1),
                (Operator::Gte, Key::Number(n)) => i64::try_from(*n).ok(),
                _ => None,
            })
            .max()
    });
    floors.collect::<Option<Vec<i64>>>()?.into_iter().min()
}

enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    HasProperty,
    NotHasProperty,
}

/// A filter read once: the property, the operator, the value compared.
struct Condition<'a> {
    property: &'a str,
    operator: Operator,
    wanted: Key,
}

impl<'a> Condition<'a> {
    fn read(filter: &'a Filter) -> Result<Condition<'a>, Reply> {
        let operator = match filter.operator.as_str() {
            "EQ" => Operator::Eq,
            "NEQ" => Operator::Neq,
            "GT" => Operator::Gt,
            "GTE" => Operator::Gte,
            "LT" => Operator::Lt,
            "LTE" => Operator::Lte,
            "HAS_PROPERTY" => Operator::HasProperty,
            "NOT_HAS_PROPERTY" => Operator::NotHasProperty,
            other => {
                return Err(Reply::invalid(format!(
                    "this fake does not support the {other} operator"
                )))
            }
        };
        let wanted = match &filter.value {
            Value::String(text) => Key::of(text),
            Value::Number(number) => Key::of(&number.to_string()),
            _ => Key::Text(String::new()),
        };
        Ok(Condition {
            property: &filter.property_name,
            operator,
            wanted,
        })
    }

    /// A lower bound on `hs_lastmodifieddate`, which [`modified_floor`]
    /// turns into where a search by modification starts.
    fn is_floor(&self) -> bool {
        self.property == "hs_lastmodifieddate"
            && matches!(self.operator, Operator::Gt | Operator::Gte)
            && matches!(self.wanted, Key::Number(_))
    }

    fn holds(&self, id: u64, record: &Record) -> bool {
        let actual = match self.property {
            "hs_object_id" => Some(Key::Number(i128::from(id))),
            "createdate" => Some(Key::Number(i128::from(record.created_at))),
            "hs_lastmodifieddate" => Some(Key::Number(i128::from(record.modified_at))),
            name => record.properties.get(name).map(|text| Key::of(text)),
        };
        let Some(actual) = actual else {
            return matches!(self.operator, Operator::Neq | Operator::NotHasProperty);
        };
        let order = actual.compare(&self.wanted);
        match self.operator {
            Operator::Eq => order.is_eq(),
            Operator::Neq => order.is_ne(),
            Operator::Gt => order.is_gt(),
            Operator::Gte => order.is_ge(),
            Operator::Lt => order.is_lt(),
            Operator::Lte => order.is_le(),
            Operator::HasProperty => true,
            Operator::NotHasProperty => false,
        }
    }
}

/// A value compared as HubSpot does: numbers and instants by magnitude
/// (instants as Unix milliseconds), text as text.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    Number(i128),
    Text(String),
}

impl Key {
    fn of(text: &str) -> Key {
        if let Ok(number) = text.trim().parse::<i128>() {
            return Key::Number(number);
        }
        match OffsetDateTime::parse(text.trim(), &Rfc3339) {
            Ok(instant) => Key::Number(instant.unix_timestamp_nanos() / 1_000_000),
            Err(_) => Key::Text(text.to_owned()),
        }
    }

    fn compare(&self, other: &Key) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Number(a), Key::Number(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Number(a), Key::Text(b)) => a.to_string().cmp(b),
            (Key::Text(a), Key::Number(b)) => a.cmp(&b.to_string()),
        }
    }
}

fn page_size(text: Option<&str>, default: usize, max: usize) -> Result<usize, Reply> {
    let Some(text) = text else {
        return Ok(default);
    };
    text.parse::<usize>()
        .ok()
        .filter(|limit| (1..=max).contains(limit))
        .ok_or_else(|| Reply::invalid(format!("limit must be between 1 and {max}")))
}
