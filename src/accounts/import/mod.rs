//! Bulk import of an ILS patron export (the CSV format of [`row`], its columns in [`column`]):
//! the file is parsed ([`file`]), every row checked first (PIN rules included), then valid rows
//! are upserted by card in batches of one transaction each ([`batch`]), their PINs hashed in
//! parallel on the auth hashing pool, and counted in a [`Summary`].
//!
//! New patrons without a PIN in the file get the default PIN from their phone when
//! `security.default_credential` is enabled; existing patrons never do (see [`batch`]).
//!
//! Resuming: an import never overwrites a PIN a patron already has (the store's rule), so a rerun
//! after an interruption hashes nothing for the rows already written and rewrites nothing that
//! already matches; it does only the remaining work. Rejections name the line and the reason,
//! never a PIN. Uses `store` and `credentials`; must not import `sip2` or `cli`.

mod batch;
pub mod column;
mod file;
pub mod header;
pub mod row;
mod summary;

use super::{Accounts, Error, Operator};
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::Currency;
use batch::Prepared;

pub use column::{Column, COLUMNS};
pub use file::{check_card, parse_csv, ParsedFile};
pub use header::{Header, HeaderError};
pub use row::{PatronRecord, PinSource, RecordStatus, Rejection};
pub use summary::Summary;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
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
}

/// Told after every batch; the CLI draws a progress bar from it.
pub trait Progress {
    fn start(&mut self, total_rows: u64);
    fn advance(&mut self, done_rows: u64, summary: &Summary);
}

impl Accounts {
    /// Checks every row (format, PIN rules, PHC policy), then writes the valid ones.
    pub async fn import(
        &self,
        operator: &Operator,
        file: ParsedFile,
        options: &ImportOptions,
        progress: &mut dyn Progress,
    ) -> Result<Summary, Error> {
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
        progress.start(ready.len() as u64);
        let mut done = 0u64;
        let batch_size = options.batch_size.max(1);
        let mut rows = ready.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<Prepared> = rows.by_ref().take(batch_size).collect();
            done += batch.len() as u64;
            self.import_batch(operator, batch, options, &mut summary)
                .await?;
            progress.advance(done, &summary);
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
}
