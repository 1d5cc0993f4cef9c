//! `POST /api/v1/patrons/import` (scope `write`): the bulk upsert an ILS sync calls, through the
//! same import code as `sip2auth import` (the same rows and rules, batches of one transaction,
//! PINs hashed on the pool). The body is the CSV import format (`text/csv`) or JSON lines
//! (`application/x-ndjson`), up to `admin.max_import_bytes`. Idempotent: the same body again
//! changes nothing (a PIN a patron already has is never overwritten). `?sync=expire|remove`
//! also expires or removes the institution's patrons missing from the body, refused (409) above
//! `import.sync_max_share` unless `force=true`. The answer gives each row's outcome.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use super::problem::{Problem, ProblemDocument, ProblemKind};
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::import::{
    parse_csv, parse_json_lines, FileFormat, ImportOptions, Progress, Summary, SyncMode,
    SyncOptions, WeakPins,
};
use crate::accounts::patron::Currency;

/// Rows written per transaction.
const BATCH_ROWS: usize = 500;

/// How the import runs.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ImportQuery {
    /// Institution of rows without an `institution` value; default `server.institution_id`.
    institution: Option<String>,
    /// Also expire or remove the institution's patrons missing from the body.
    #[param(inline)]
    sync: Option<SyncParam>,
    /// Apply the sync even when it changes more than `import.sync_max_share` of the patrons.
    #[serde(default)]
    force: bool,
    /// Check and count, write nothing.
    #[serde(default)]
    dry_run: bool,
    /// Write nothing when any row is rejected.
    #[serde(default)]
    strict: bool,
    /// A clear PIN breaking the PIN rules: stored must-change (default), skipped, or its row
    /// rejected.
    #[param(inline)]
    weak_pins: Option<WeakPinsParam>,
}

/// `sync=`: what happens to the patrons missing from the body.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(super) enum SyncParam {
    Expire,
    Remove,
}

/// `weak_pins=`: what happens to a row whose PIN breaks the rules.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(super) enum WeakPinsParam {
    MustChange,
    Skip,
    RejectRow,
}

/// A row that was not imported.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RejectedRow {
    line: u64,
    card: Option<String>,
    reason: String,
}

/// A row that was written (or, in a dry run, would be).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct WrittenRow {
    line: u64,
    card: String,
    /// `created`, `updated` or `unchanged`.
    outcome: &'static str,
}

/// What the import did.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ImportAnswer {
    dry_run: bool,
    rows: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    default_pins: u64,
    weak_pins_flagged: u64,
    sync_expired: u64,
    sync_removed: u64,
    written: Vec<WrittenRow>,
    rejected: Vec<RejectedRow>,
}

/// No progress bar over HTTP.
struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _total_rows: u64) {}
    fn advance(&mut self, _done_rows: u64, _summary: &Summary) {}
}

/// Which reader the body's content type names.
#[derive(Debug, Clone, Copy)]
enum BodyFormat {
    Csv,
    JsonLines,
}

fn body_format(headers: &HeaderMap) -> Result<BodyFormat, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence.to_ascii_lowercase().as_str() {
        "text/csv" => Ok(BodyFormat::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
            Ok(BodyFormat::JsonLines)
        }
        _ => Err(Problem::new(ProblemKind::UnsupportedMediaType)
            .detail("send text/csv (the import format) or application/x-ndjson (JSON lines)")),
    }
}

fn options(admin: &Shared, query: &ImportQuery) -> ImportOptions {
    let config = admin.handles.accounts.config();
    let sync = query.sync.map(|mode| SyncOptions {
        mode: match mode {
            SyncParam::Expire => SyncMode::Expire,
            SyncParam::Remove => SyncMode::Remove,
        },
        max_share: config.import.sync_max_share,
        force: query.force,
    });
    let weak_pins = match query.weak_pins {
        None | Some(WeakPinsParam::MustChange) => WeakPins::MustChange,
        Some(WeakPinsParam::Skip) => WeakPins::Skip,
        Some(WeakPinsParam::RejectRow) => WeakPins::RejectRow,
    };
    ImportOptions {
        batch_size: BATCH_ROWS,
        strict: query.strict,
        dry_run: query.dry_run,
        default_currency: Currency::default(),
        phc_key_id: None,
        weak_pins,
        sync,
        row_outcomes: true,
    }
}

fn answer(summary: Summary, dry_run: bool) -> ImportAnswer {
    ImportAnswer {
        dry_run,
        rows: summary.rows,
        created: summary.created,
        updated: summary.updated,
        unchanged: summary.unchanged,
        default_pins: summary.default_pins,
        weak_pins_flagged: summary.weak_pins_flagged,
        sync_expired: summary.sync_expired,
        sync_removed: summary.sync_removed,
        written: summary
            .row_results
            .into_iter()
            .map(|r| WrittenRow {
                line: r.line,
                card: r.card,
                outcome: r.outcome.as_str(),
            })
            .collect(),
        rejected: summary
            .rejected
            .into_iter()
            .map(|r| RejectedRow {
                line: r.line,
                card: r.card,
                reason: r.reason,
            })
            .collect(),
    }
}

#[utoipa::path(post, path = "/patrons/import", summary = "Bulk upsert of patrons, optionally a full sync (scope write)",
    params(ImportQuery),
    request_body(description = "The CSV import format, or JSON lines keyed by its column names",
        content((String = "text/csv"), (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "What the import did, row by row", body = ImportAnswer),
        (status = 400, description = "A bad query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The sync would change more than the allowed share", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than admin.max_import_bytes", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Neither text/csv nor application/x-ndjson", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A body that is not an import (bad header, no rows), or strict with rejected rows", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn import(
    State(admin): State<Shared>,
    caller: CallerOf,
    query: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportAnswer>, Problem> {
    let operator = caller.may(ApiScope::Write)?;
    let Query(query) = query?;
    let format = body_format(&headers)?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(ProblemKind::BodyTooLarge)
            .detail("the body is larger than admin.max_import_bytes"),
        _ => Problem::new(ProblemKind::BadRequest).detail(rejection.body_text()),
    })?;
    let options = options(&admin, &query);
    let accounts = &admin.handles.accounts;
    let file_format = FileFormat {
        institution: accounts
            .config()
            .server
            .institution_or_default(query.institution.as_deref()),
        ..FileFormat::default()
    };
    let parsed = match format {
        BodyFormat::Csv => parse_csv(&body, &file_format)?,
        BodyFormat::JsonLines => parse_json_lines(&body, &file_format)?,
    };
    // A dropped request ends the import between batches: what was committed stays, and the
    // same body sent again finishes it.
    let summary = accounts
        .import(
            &operator,
            parsed,
            &options,
            &mut Quiet,
            &CancellationToken::new(),
        )
        .await?;
    if summary.refused {
        return Err(Problem::new(ProblemKind::Invalid).detail(format!(
            "strict: {} row(s) rejected, nothing was written; the first: {}",
            summary.rejected.len(),
            summary
                .rejected
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        )));
    }
    Ok(Json(answer(summary, query.dry_run)))
}
