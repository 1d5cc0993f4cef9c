//! What an import did, counted as it goes: the [`Summary`] the CLI prints, the progress bar
//! reads and the audit record keeps.
//!
//! Plain values; uses [`super::row`] only. Must not import `store`, `auth`, `sip2` or `cli`.

use super::row::Rejection;

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
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
    pub rejected: Vec<Rejection>,
    /// `--strict` refused the file because of `rejected`: nothing was written.
    pub refused: bool,
}

impl Summary {
    /// The reason text of the import's audit record.
    pub(super) fn audit_reason(&self) -> String {
        format!(
            "created {}, updated {}, unchanged {}, rejected {}, default PINs {}",
            self.created,
            self.updated,
            self.unchanged,
            self.rejected.len(),
            self.default_pins
        )
    }
}
