//! What an import did, counted as it goes: the [`Summary`] the CLI prints, the progress bar
//! reads and the audit record keeps.
//!
//! Plain values; uses [`super::row`] only. Must not import `store`, `auth`, `sip2` or `cli`.

use super::row::Rejection;

/// What became of one written row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowOutcome {
    Created,
    Updated,
    Unchanged,
}

impl RowOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Created => "created",
            RowOutcome::Updated => "updated",
            RowOutcome::Unchanged => "unchanged",
        }
    }
}

/// One valid row's outcome, when the import was asked for them (`ImportOptions::row_outcomes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowResult {
    pub line: u64,
    pub card: String,
    pub outcome: RowOutcome,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Existing patrons who already had a PIN: the file's PIN was not applied to them.
    pub pins_kept: u64,
    /// New patrons without a PIN in the file who were given the default PIN from their phone
    /// (`security.default_credential`); in a dry run, those who would be.
    pub default_pins: u64,
    /// New patrons left without any PIN: none in the file, and no default PIN (the policy is
    /// off, or the phone has too few digits).
    pub created_without_pin: u64,
    /// PINs that break the PIN rules, stored flagged must-change (`--weak-pins must-change`).
    pub weak_pins_flagged: u64,
    /// Patrons loaded without the file's PIN because it breaks the rules (`--weak-pins skip`).
    pub weak_pins_skipped: u64,
    pub rejected: Vec<Rejection>,
    /// `--strict` refused the file because of `rejected`: nothing was written.
    pub refused: bool,
    /// Rows that passed every check, and how many of them were written (in committed batches).
    pub valid_rows: u64,
    pub written_rows: u64,
    /// Patrons missing from the file that `--sync` expired or removed (or would, in a dry run).
    pub sync_expired: u64,
    pub sync_removed: u64,
    /// Ctrl-C stopped the import after `written_rows` rows; the sync was not applied.
    pub interrupted: bool,
    /// Each valid row's outcome, in file order (only when asked for).
    pub row_results: Vec<RowResult>,
}

impl Summary {
    /// Counts one row's outcome, and keeps it when `keep` (the API's per-row answer).
    pub(super) fn count(&mut self, line: u64, card: &str, outcome: RowOutcome, keep: bool) {
        match outcome {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Updated => self.updated += 1,
            RowOutcome::Unchanged => self.unchanged += 1,
        }
        if keep {
            self.row_results.push(RowResult {
                line,
                card: card.to_owned(),
                outcome,
            });
        }
    }
}

impl Summary {
    /// The reason text of the import's audit record.
    pub(super) fn audit_reason(&self) -> String {
        format!(
            "created {}, updated {}, unchanged {}, rejected {}, default PINs {}, weak PINs \
             flagged must-change {}, weak PINs skipped {}, sync expired {}, sync removed {}",
            self.created,
            self.updated,
            self.unchanged,
            self.rejected.len(),
            self.default_pins,
            self.weak_pins_flagged,
            self.weak_pins_skipped,
            self.sync_expired,
            self.sync_removed
        )
    }
}
