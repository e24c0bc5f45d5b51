//! CSV bulk upload, shared by `POST /api/v1/intake/csv` and `trellis import
//! registrations`. The whole file is read and checked first (a file that is
//! not CSV, or is too long, is refused whole and nothing is imported); then
//! each row is validated like an API body, repeated companies within the
//! file are reported against their first row, and the rest are registered in
//! batches, where a refused row never stops the good ones. The answer is one
//! result per row.

use crate::input::RegistrationRequest;
use crate::problem::ApiError;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Read;
use time::OffsetDateTime;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::registration::{Channel, Draft};
use trellis_domain::DomainError;
use trellis_intake::csv_rows::{self, FileError};
use trellis_store::{Registered, Store, StoreError};
use utoipa::ToSchema;

/// Rows registered per transaction: large enough that the commit and each
/// batch's statements are amortized (a 100,000-row import took a quarter
/// longer in batches of 500), small enough that a registration waiting
/// behind the import waits a fraction of a second (about 60 ms a batch at a
/// million accounts).
const BATCH: usize = 1000;

/// What became of one row. Row numbers count the header as row 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowResult {
    pub row: u64,
    /// registered | duplicate | invalid | refused
    pub status: &'static str,
    pub case_number: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Summary {
    pub rows: usize,
    pub registered: usize,
    pub duplicate: usize,
    pub invalid: usize,
    pub refused: usize,
    /// Columns the file has that Trellis does not read.
    pub ignored_columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsvReport {
    pub rows: Vec<RowResult>,
    pub summary: Summary,
}

impl CsvReport {
    /// The same table as CSV, for `Accept: text/csv` and the command line.
    pub fn to_csv(&self) -> Result<String, ApiError> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let internal = |e: csv::Error| ApiError::Internal(e.into());
        out.write_record(["row", "status", "case_number", "reason"])
            .map_err(internal)?;
        for r in &self.rows {
            let row = r.row.to_string();
            let fields = [
                row.as_str(),
                r.status,
                r.case_number.as_deref().unwrap_or(""),
                r.reason.as_deref().unwrap_or(""),
            ];
            out.write_record(fields).map_err(internal)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
        String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.into()))
    }
}

/// Where an import writes, and as whom.
pub struct Importer<'a> {
    pub store: &'a Store,
    pub program: &'a Program,
    pub partner: PartnerId,
    pub actor: Actor,
    pub now: OffsetDateTime,
}

/// A row as the parser left it.
type ParsedRow = Result<csv_rows::Row, csv_rows::RowError>;

/// A row that passed validation and is waiting to be registered.
struct Pending {
    row: u64,
    draft: Draft,
}

impl Importer<'_> {
    /// Imports a whole file; `progress` hears (rows done, rows in the file).
    pub async fn import(
        &self,
        bytes: impl Read,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<CsvReport, ApiError> {
        let (header, parsed) = parse(bytes)?;
        let mut summary = Summary {
            rows: parsed.len(),
            ignored_columns: header,
            ..Summary::default()
        };
        let (mut results, pending) = self.validate(parsed);
        let (rows, checked) = (summary.rows, results.len());
        let written = self
            .register_all(&pending, |done| progress(checked + done, rows))
            .await?;
        results.extend(written);
        results.sort_by_key(|r| r.row);
        for r in &results {
            *match r.status {
                "registered" => &mut summary.registered,
                "duplicate" => &mut summary.duplicate,
                "invalid" => &mut summary.invalid,
                _ => &mut summary.refused,
            } += 1;
        }
        progress(summary.rows, summary.rows);
        Ok(CsvReport {
            rows: results,
            summary,
        })
    }

    /// Validates every row and drops repeats of a company seen earlier in
    /// the file (same registrable domain, or same normalized name).
    fn validate(&self, parsed: Vec<ParsedRow>) -> (Vec<RowResult>, Vec<Pending>) {
        let mut results = Vec::new();
        let mut pending = Vec::new();
        let mut first_row: HashMap<String, u64> = HashMap::new();
        for row in parsed {
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    results.push(result(e.number, "invalid", None, Some(e.reason)));
                    continue;
                }
            };
            match RegistrationRequest::from(row.fields).into_draft(self.partner, Channel::Csv) {
                Err(ApiError::Invalid(errors)) => {
                    let reason = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    results.push(result(row.number, "invalid", None, Some(reason)));
                }
                Err(other) => {
                    results.push(result(row.number, "invalid", None, Some(other.detail())))
                }
                Ok(draft) => {
                    let key = draft.domain.as_ref().map_or_else(
                        || format!("name:{}", draft.company_name.key()),
                        |d| format!("domain:{}", d.as_str()),
                    );
                    match first_row.get(&key) {
                        Some(first) => results.push(result(
                            row.number,
                            "duplicate",
                            None,
                            Some(format!("the same company as row {first}")),
                        )),
                        None => {
                            first_row.insert(key, row.number);
                            pending.push(Pending {
                                row: row.number,
                                draft,
                            });
                        }
                    }
                }
            }
        }
        (results, pending)
    }

    /// Looks up the near names of every row at once (against many rows,
    /// in one pass over each name index), then registers the rows batch by
    /// batch; `progress` hears how many rows are done.
    async fn register_all(
        &self,
        pending: &[Pending],
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<RowResult>, ApiError> {
        let drafts = pending.iter().map(|p| p.draft.clone()).collect();
        let prepared = self.store.prepare_many(drafts, self.program).await?;
        let mut chunks = pending.chunks(BATCH);
        let mut results = Vec::with_capacity(pending.len());
        let each_batch = |outcomes: Vec<Result<Registered, StoreError>>| {
            let chunk = chunks.next().unwrap_or_default();
            results.extend(chunk.iter().zip(outcomes).map(row_result));
            progress(results.len());
        };
        let (program, actor, now) = (self.program, &self.actor, self.now);
        self.store
            .register_in_batches(prepared, BATCH, program, actor, now, each_batch)
            .await?;
        Ok(results)
    }
}

/// What became of a row the store was asked to register.
fn row_result((p, outcome): (&Pending, Result<Registered, StoreError>)) -> RowResult {
    match outcome {
        Ok(done) => result(
            p.row,
            "registered",
            Some(done.registration.case_number().to_string()),
            None,
        ),
        Err(StoreError::Domain(already @ DomainError::AlreadyRegistered { .. })) => {
            result(p.row, "duplicate", None, Some(already.to_string()))
        }
        Err(e) => result(p.row, "refused", None, Some(e.to_string())),
    }
}

fn result(
    row: u64,
    status: &'static str,
    case_number: Option<String>,
    reason: Option<String>,
) -> RowResult {
    RowResult {
        row,
        status,
        case_number,
        reason,
    }
}

/// Reads the whole file; any whole-file problem refuses it before anything
/// is imported.
fn parse(bytes: impl Read) -> Result<(Vec<String>, Vec<ParsedRow>), ApiError> {
    let refuse = |e: FileError| ApiError::invalid("file", e.to_string());
    let (header, mut rows) = csv_rows::read(bytes, csv_rows::MAX_ROWS).map_err(refuse)?;
    let parsed: Vec<_> = rows.by_ref().collect();
    rows.finish().map_err(refuse)?;
    Ok((header.ignored.clone(), parsed))
}
