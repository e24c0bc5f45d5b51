//! Writing registrations: their companies first, then the records, then the
//! associations the new records need. Each write is a batch upsert by a
//! unique property, so a repeat after a failure never duplicates anything.
//!
//! Calls for N registrations over C distinct companies, when nothing is
//! refused: `ceil(C/100)` company upserts, `ceil(N/100)` record upserts and
//! `ceil(A/100)` association calls, A being the records that need one (new
//! in this call, or with no known HubSpot id); on a first sync A = N.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use serde::Deserialize;
use serde_json::{json, Value};

use super::client::Call;
use super::error::{configuration_problem, refused, HubSpotError};
use super::{HubSpot, BATCH_LIMIT};
use crate::crm::{CrmError, Outcome, Record};

/// The most pairs one `batch/associate/default` call carries. HubSpot's
/// reference for that endpoint gives no figure; its CRM batch endpoints take
/// 100 inputs and HubSpot's own tools send this one at most 100, so 100 is
/// within the limit whichever it is.
pub const ASSOCIATION_BATCH_LIMIT: usize = 100;

/// One object to write, keyed by its Trellis id.
#[derive(Clone, Copy)]
struct Input<'a> {
    id: &'a str,
    properties: &'a BTreeMap<String, String>,
}

/// The object a batch writes and the unique property its ids go in.
#[derive(Clone, Copy)]
struct Target<'a> {
    object: &'a str,
    id_property: &'a str,
}

/// What became of one input.
#[derive(Debug, Clone)]
enum Written {
    Saved { record_id: String, new: bool },
    Refused(String),
}

/// A batch's answer: what HubSpot said of each input (`None`: nothing), or
/// the message of a 400 that refused the batch as a whole.
enum Sent {
    Answered(Vec<Option<Written>>),
    Refused(String),
}

type Isolating<'a> = Pin<Box<dyn Future<Output = Result<Vec<Written>, CrmError>> + Send + 'a>>;

impl HubSpot {
    pub(super) async fn upsert_records(
        &self,
        records: &[Record],
    ) -> Result<Vec<Outcome>, CrmError> {
        let account_target = Target {
            object: &self.config.account_object,
            id_property: &self.config.account_id_property,
        };
        let companies = self
            .write_all(
                account_target,
                records.iter().map(|r| Input {
                    id: &r.account.external_id,
                    properties: &r.account.properties,
                }),
            )
            .await?;
        let with_company = records.iter().filter(|r| {
            matches!(
                companies.get(r.account.external_id.as_str()),
                Some(Written::Saved { .. })
            )
        });
        let record_target = Target {
            object: &self.config.object,
            id_property: &self.config.id_property,
        };
        let registrations = self
            .write_all(
                record_target,
                with_company.map(|r| Input {
                    id: &r.external_id,
                    properties: &r.properties,
                }),
            )
            .await?;
        self.associate(records, &companies, &registrations).await?;
        Ok(records
            .iter()
            .map(|record| self.outcome(record, &companies, &registrations))
            .collect())
    }

    /// Upserts `inputs` (one per id) in batches of [`BATCH_LIMIT`].
    async fn write_all<'a>(
        &self,
        target: Target<'_>,
        inputs: impl Iterator<Item = Input<'a>>,
    ) -> Result<HashMap<&'a str, Written>, CrmError> {
        let inputs = unique(inputs);
        let mut written = HashMap::with_capacity(inputs.len());
        for batch in inputs.chunks(BATCH_LIMIT) {
            let outcomes = self.isolate(target, batch, None).await?;
            written.extend(batch.iter().map(|input| input.id).zip(outcomes));
        }
        Ok(written)
    }

    /// Writes `batch`, one outcome per input in order. When HubSpot refuses
    /// the whole batch without naming the culprit, the batch is halved until
    /// the refused inputs stand alone, so the others still go through. With
    /// `failure` the batch is already known to be refused (and why), and is
    /// not sent again whole. One bad input among 100 costs about ten extra
    /// calls: each halving sends one half, and the other only when needed.
    fn isolate<'a>(
        &'a self,
        target: Target<'a>,
        batch: &'a [Input<'a>],
        failure: Option<String>,
    ) -> Isolating<'a> {
        Box::pin(async move {
            let failure = match failure {
                Some(message) => message,
                None => match self.send_batch(target, batch).await? {
                    Sent::Answered(answers) => return self.fill_gaps(target, batch, answers).await,
                    Sent::Refused(message) => message,
                },
            };
            if batch.len() == 1 {
                return Ok(vec![Written::Refused(failure)]);
            }
            let (left, right) = batch.split_at(batch.len() / 2);
            let mut written = self.isolate(target, left, None).await?;
            // When the left half went through whole, what sank the batch lies
            // in the right half: HubSpot's message is about it.
            let left_clean = written.iter().all(|w| matches!(w, Written::Saved { .. }));
            written.extend(
                self.isolate(target, right, left_clean.then_some(failure))
                    .await?,
            );
            Ok(written)
        })
    }

    /// Sends again the inputs a partial answer (a 207) said nothing about.
    async fn fill_gaps(
        &self,
        target: Target<'_>,
        batch: &[Input<'_>],
        answers: Vec<Option<Written>>,
    ) -> Result<Vec<Written>, CrmError> {
        let gaps: Vec<Input<'_>> = batch
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_none())
            .map(|(input, _)| *input)
            .collect();
        let mut filled = if gaps.is_empty() {
            Vec::new().into_iter()
        } else {
            self.isolate(target, &gaps, None).await?.into_iter()
        };
        Ok(answers
            .into_iter()
            .filter_map(|answer| answer.or_else(|| filled.next()))
            .collect())
    }

    async fn send_batch(&self, target: Target<'_>, batch: &[Input<'_>]) -> Result<Sent, CrmError> {
        let inputs: Vec<Value> = batch
            .iter()
            .map(|input| {
                json!({
                    "idProperty": target.id_property,
                    "id": input.id,
                    "objectWriteTraceId": input.id,
                    "properties": input.properties,
                })
            })
            .collect();
        let path = format!("/crm/v3/objects/{}/batch/upsert", target.object);
        let call = Call::post(path, json!({ "inputs": inputs }));
        let reply = self.client.send(&call).await?;
        match reply.status {
            200 | 201 | 207 => read_answer(target, batch, &reply.body),
            400 => {
                let error = HubSpotError::from_value(&reply.body);
                match configuration_problem(target.object, &error) {
                    Some(problem) => Err(problem),
                    None => Ok(Sent::Refused(error.record_message())),
                }
            }
            status => Err(refused(&call.describe(), status, &reply.body)),
        }
    }

    /// Associates each record that may not be associated yet with its
    /// company: new in this call, or never synced as far as Trellis knows (a
    /// repeat after a dropped answer finds the record no longer new).
    async fn associate(
        &self,
        records: &[Record],
        companies: &HashMap<&str, Written>,
        registrations: &HashMap<&str, Written>,
    ) -> Result<(), CrmError> {
        let mut pairs: Vec<(&str, &str)> = records
            .iter()
            .filter_map(|record| {
                let Some(Written::Saved { record_id, new }) =
                    registrations.get(record.external_id.as_str())
                else {
                    return None;
                };
                let Some(Written::Saved {
                    record_id: company_id,
                    ..
                }) = companies.get(record.account.external_id.as_str())
                else {
                    return None;
                };
                (*new || record.record_id.is_none())
                    .then_some((record_id.as_str(), company_id.as_str()))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let path = format!(
            "/crm/v4/associations/{}/{}/batch/associate/default",
            self.config.object, self.config.account_object
        );
        for chunk in pairs.chunks(ASSOCIATION_BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(from, to)| json!({ "from": { "id": from }, "to": { "id": to } }))
                .collect();
            let call = Call::post(path.clone(), json!({ "inputs": inputs }));
            let reply = self.client.send(&call).await?;
            if !reply.is_success() {
                return Err(refused(&call.describe(), reply.status, &reply.body));
            }
            warn_unassociated(&reply.body);
        }
        Ok(())
    }

    fn outcome(
        &self,
        record: &Record,
        companies: &HashMap<&str, Written>,
        registrations: &HashMap<&str, Written>,
    ) -> Outcome {
        let account = record.account.external_id.as_str();
        match (
            companies.get(account),
            registrations.get(record.external_id.as_str()),
        ) {
            (Some(Written::Refused(message)), _) => Outcome::Rejected {
                message: format!(
                    "its account ({} {} = {account}) was not written: {message}",
                    self.config.account_object, self.config.account_id_property
                ),
            },
            (_, Some(Written::Saved { record_id, .. })) => Outcome::Synced {
                record_id: record_id.clone(),
            },
            (_, Some(Written::Refused(message))) => Outcome::Rejected {
                message: message.clone(),
            },
            (_, None) => Outcome::Rejected {
                message: "it was not sent, its account not being written".into(),
            },
        }
    }
}

/// A batch upsert's answer, 200 or 207.
#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(default)]
    results: Vec<Upserted>,
    #[serde(default)]
    errors: Vec<HubSpotError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Upserted {
    id: String,
    #[serde(default)]
    new: bool,
    #[serde(default)]
    properties: HashMap<String, Option<String>>,
    object_write_trace_id: Option<String>,
}

/// Matches results and errors to inputs by `objectWriteTraceId`, else by
/// the unique property HubSpot echoes (results may come in any order).
fn read_answer(target: Target<'_>, batch: &[Input<'_>], body: &Value) -> Result<Sent, CrmError> {
    let answer = BatchAnswer::deserialize(body).map_err(|error| CrmError::Unavailable {
        message: format!(
            "HubSpot's answer to the batch upsert of {} could not be read ({error}); the batch \
             is sent again later",
            target.object
        ),
        retry_after: None,
    })?;
    let position: HashMap<&str, usize> = batch
        .iter()
        .enumerate()
        .map(|(index, input)| (input.id, index))
        .collect();
    let mut answers: Vec<Option<Written>> = vec![None; batch.len()];
    let single = batch.len() == 1 && answer.results.len() == 1;
    for result in answer.results {
        let key = result
            .object_write_trace_id
            .as_deref()
            .or_else(|| result.properties.get(target.id_property)?.as_deref());
        let index = key.and_then(|key| position.get(key).copied());
        if let Some(index) = index.or(single.then_some(0)) {
            answers[index] = Some(Written::Saved {
                record_id: result.id,
                new: result.new,
            });
        }
    }
    let mut unattributed = None;
    for error in &answer.errors {
        let ids = error.trace_ids();
        if ids.is_empty() {
            unattributed.get_or_insert_with(|| error.record_message());
        }
        for index in ids.into_iter().filter_map(|id| position.get(id)) {
            answers[*index] = Some(Written::Refused(error.record_message()));
        }
    }
    if answers.iter().all(Option::is_none) {
        let message = unattributed
            .unwrap_or_else(|| "HubSpot's answer named none of the records sent".to_owned());
        return Ok(Sent::Refused(message));
    }
    Ok(Sent::Answered(answers))
}

/// A 207 from the association call: the records are written, so the sync
/// goes on; the missing links are logged for staff.
fn warn_unassociated(body: &Value) {
    let errors = body.get("errors").and_then(Value::as_array);
    for error in errors.into_iter().flatten() {
        let error = HubSpotError::from_value(error);
        tracing::warn!(
            hubspot = %error.said(),
            "HubSpot did not associate a registration with its company"
        );
    }
}

/// One input per id, in first-seen order; a later duplicate's properties
/// win, being the newer snapshot.
fn unique<'a>(inputs: impl Iterator<Item = Input<'a>>) -> Vec<Input<'a>> {
    let mut position = HashMap::new();
    let mut unique: Vec<Input<'a>> = Vec::new();
    for input in inputs {
        match position.entry(input.id) {
            Entry::Occupied(slot) => unique[*slot.get()] = input,
            Entry::Vacant(slot) => {
                slot.insert(unique.len());
                unique.push(input);
            }
        }
    }
    unique
}
