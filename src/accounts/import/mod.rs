//! Bulk import of an ILS patron export (the CSV format of [`row`], its columns in [`column`]):
//! the file is parsed ([`file`]), every row checked first (PIN rules included), then valid rows
//! are upserted by card in batches of one transaction each ([`batch`]), their PINs hashed in
//! parallel on the auth hashing pool, and counted in a [`Summary`].
//!
//! New patrons without a PIN in the file get the default PIN from their phone when
//! `security.default_credential` is enabled; existing patrons never do (see [`batch`]).
//!
//! With `--sync`, the patrons of the file's institutions that it no longer holds are expired or
//! removed ([`sync`]). Ctrl-C ends the import after the batch being written (see
//! [`Accounts::import`]).
//!
//! Resuming: an import never overwrites a PIN a patron already has (the store's rule), so a rerun
//! after an interruption hashes nothing for the rows already written and rewrites nothing that
//! already matches; it does only the remaining work. Rejections name the line and the reason,
//! never a PIN. Uses `store` and `credentials`; must not import `sip2` or `cli`.

mod batch;
pub(crate) mod column;
pub(crate) mod delimiter;
mod file;
pub(crate) mod header;
mod json_lines;
pub(crate) mod mapping;
mod password;
pub(crate) mod profile;
pub(crate) mod row;
mod summary;
mod sync;

use tokio_util::sync::CancellationToken;

use super::{Accounts, Error, Operator};
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::Currency;
use batch::Prepared;

pub(crate) use delimiter::Delimiter;
pub(crate) use file::{check_card, parse_csv, FileFormat, ParsedFile};
pub(crate) use json_lines::parse_json_lines;
pub(crate) use mapping::Mapping;
pub(crate) use profile::PROFILES;
pub use row::Rejection;
pub(crate) use summary::Summary;
pub(crate) use sync::{SyncMode, SyncOptions};

/// How an import runs.
#[derive(Debug, Clone)]
pub(crate) struct ImportOptions {
    /// Rows written per transaction.
    pub batch_size: usize,
    /// Refuse the whole file, before any write, when any row is rejected.
    pub strict: bool,
    /// Check everything and report what would happen, without writing or hashing.
    pub dry_run: bool,
    /// Currency of rows without a `currency` value.
    pub default_currency: Currency,
    /// Accept argon2id PHC strings as made by sip2auth with this pepper key id (another
    /// sip2auth instance sharing the key). Without it, PHC rows are rejected: a hash made by
    /// another system has no pepper and could never verify.
    pub phc_key_id: Option<u32>,
    /// What happens to a row whose PIN breaks the PIN rules.
    pub weak_pins: WeakPins,
    /// Expire or remove the institution's patrons missing from the file (`--sync`).
    pub sync: Option<SyncOptions>,
    /// Keep each valid row's outcome in [`Summary::row_results`] (the API answers per row).
    pub row_outcomes: bool,
}

/// What an import does with a row whose PIN (in clear) breaks the PIN rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeakPins {
    /// The patron is loaded without that PIN and must set a new one.
    Skip,
    /// The PIN is stored flagged must-change, as a default PIN is.
    #[default]
    MustChange,
    /// The whole row is rejected.
    RejectRow,
}

impl std::str::FromStr for WeakPins {
    type Err = String;

    fn from_str(text: &str) -> Result<WeakPins, String> {
        match text {
            "skip" => Ok(WeakPins::Skip),
            "must-change" => Ok(WeakPins::MustChange),
            "reject-row" => Ok(WeakPins::RejectRow),
            _ => Err(format!(
                "unknown policy {text:?}: use skip, must-change or reject-row"
            )),
        }
    }
}

/// Told after every batch; the CLI draws a progress bar from it.
pub(crate) trait Progress {
    fn start(&mut self, total_rows: u64);
    fn advance(&mut self, done_rows: u64, summary: &Summary);
}

impl Accounts {
    /// Checks every row (format, PIN rules, PHC policy), plans the sync (which may refuse the
    /// file), then writes the valid ones batch by batch and applies the sync. When `stop` is
    /// cancelled (Ctrl-C), the import ends after the batch being written: what was committed
    /// stays, the sync is not applied, and an `interrupted` audit record says how far it got.
    pub(crate) async fn import(
        &self,
        operator: &Operator,
        file: ParsedFile,
        options: &ImportOptions,
        progress: &mut (dyn Progress + Send),
        stop: &CancellationToken,
    ) -> Result<Summary, Error> {
        let plan = match &options.sync {
            Some(sync) => Some(self.plan_sync(&file, sync).await?),
            None => None,
        };
        let mut summary = Summary {
            rows: (file.records.len() + file.rejected.len()) as u64,
            rejected: file.rejected,
            ..Summary::default()
        };
        let mut ready = Vec::with_capacity(file.records.len());
        for record in file.records {
            match self.prepare(record, options) {
                Ok(prepared) => ready.push(prepared),
                Err(rejection) => summary.rejected.push(rejection),
            }
        }
        summary.rejected.sort_by_key(|r| r.line);
        if options.strict && !summary.rejected.is_empty() {
            summary.refused = true;
            return Ok(summary);
        }
        summary.valid_rows = ready.len() as u64;
        progress.start(summary.valid_rows);
        let batch_size = options.batch_size.max(1);
        let mut rows = ready.into_iter().peekable();
        while rows.peek().is_some() {
            if stop.is_cancelled() {
                return self.interrupted(operator, summary, options).await;
            }
            let batch: Vec<Prepared> = rows.by_ref().take(batch_size).collect();
            let size = batch.len() as u64;
            if !self
                .import_batch(operator, batch, options, &mut summary, stop)
                .await?
            {
                return self.interrupted(operator, summary, options).await;
            }
            summary.written_rows += size;
            progress.advance(summary.written_rows, &summary);
        }
        if let (Some(plan), Some(sync)) = (plan, &options.sync) {
            self.apply_sync(operator, plan, options, sync, &mut summary)
                .await?;
        }
        if !options.dry_run {
            let reason = summary.audit_reason();
            self.audit(
                operator,
                None,
                AuditAction::Import,
                AuditOutcome::Ok,
                Some(reason),
            )
            .await?;
        }
        Ok(summary)
    }

    /// Ends an import stopped by Ctrl-C: records how far it got.
    async fn interrupted(
        &self,
        operator: &Operator,
        mut summary: Summary,
        options: &ImportOptions,
    ) -> Result<Summary, Error> {
        summary.interrupted = true;
        if !options.dry_run {
            let reason = format!(
                "interrupted after {} of {} valid rows: {}; sync not applied",
                summary.written_rows,
                summary.valid_rows,
                summary.audit_reason()
            );
            self.audit(
                operator,
                None,
                AuditAction::Import,
                AuditOutcome::Interrupted,
                Some(reason),
            )
            .await?;
        }
        Ok(summary)
    }
}
