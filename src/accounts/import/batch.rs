//! One import batch: each valid row turned into store values ([`Accounts::prepare`], PIN rules
//! and PHC policy checked before any write), then the batch's PINs hashed in parallel on the
//! auth hashing pool and every row upserted by card in ONE transaction.
//!
//! Which PIN a row gets ([`PinPlan`]): the file's PIN when the patron is new or has none yet
//! (an existing PIN is never overwritten); for a NEW patron without a PIN in the file, the
//! default PIN from the phone when `security.default_credential` is enabled (audited as
//! `default_pin_issued`, see `accounts::patron::default_pin` for its rules); otherwise none.
//! Existing patrons never get a default PIN, so a rerun issues none. A PIN in clear that breaks
//! the PIN rules follows [`WeakPins`]: stored flagged must-change (hashed without the rules),
//! dropped (the patron sets one; no default PIN either), or the row rejected.
//!
//! Uses `store` and `credentials` (through [`Accounts`]); must not import `sip2` or `cli`.

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::row::{PatronRecord, PinSource, RecordStatus, Rejection};
use super::summary::RowOutcome;
use super::{ImportOptions, Summary, WeakPins};
use crate::accounts::patron::DefaultPin;
use crate::accounts::{Accounts, Error, Operator};
use crate::auth::pin_rules::PinContext;
use crate::store::{
    CredentialHash, Patron, PatronDetails, PatronImport, PatronStatus, PersonName, UpsertOutcome,
};

/// A valid row ready for the store, with the PIN still to hash (if any).
pub(super) struct Prepared {
    record: PatronRecord,
    details: PatronDetails,
    status: PatronStatus,
    /// The file's PIN breaks the PIN rules (`--weak-pins`): with `must-change` it is still in
    /// `record.pin`, hashed without the rules and flagged; with `skip` it was dropped.
    weak_pin: Option<WeakPins>,
}

/// The PIN a row is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PinPlan {
    /// No PIN is written (an existing patron keeps theirs; a new one stays without).
    None,
    /// The file's PIN (the patron is new, or has no PIN yet).
    FromFile,
    /// A new patron without a PIN in the file: the default PIN, if the policy gives one.
    Default,
}

impl PinPlan {
    fn of(row: &Prepared, existing: Option<&Patron>) -> PinPlan {
        match (&row.record.pin, existing) {
            (Some(_), None) => PinPlan::FromFile,
            (Some(_), Some(patron)) if patron.pin.is_none() => PinPlan::FromFile,
            (Some(_), Some(_)) => PinPlan::None,
            // A PIN skipped as weak is not replaced by a default one: the patron sets one.
            (None, None) if row.weak_pin == Some(WeakPins::Skip) => PinPlan::None,
            (None, None) => PinPlan::Default,
            (None, Some(_)) => PinPlan::None,
        }
    }
}

/// The patron's own details the PIN rules check a row's PIN against (the same for the check in
/// [`Accounts::prepare`] and the hashing in the batch).
fn pin_context(record: &PatronRecord) -> PinContext<'_> {
    PinContext {
        card: Some(&record.card),
        phone: record.phone.as_deref(),
        birth_date: record.birth_date,
    }
}

/// What a batch did with the file's PINs (see [`Summary`]).
#[derive(Debug, Default)]
struct PinCounts {
    kept: u64,
    flagged: u64,
    skipped: u64,
}

impl PinCounts {
    fn add_to(&self, summary: &mut Summary) {
        summary.pins_kept += self.kept;
        summary.weak_pins_flagged += self.flagged;
        summary.weak_pins_skipped += self.skipped;
    }
}

/// The hash written for a row, and whether it is a default PIN.
type RowPin = (Option<CredentialHash>, Option<DefaultPin>);

impl Accounts {
    /// Turns a record into store values and checks its PIN; the error is the row's rejection.
    pub(super) fn prepare(
        &self,
        record: PatronRecord,
        options: &ImportOptions,
    ) -> Result<Prepared, Rejection> {
        let reject = |reason: String| Rejection {
            line: record.line,
            card: Some(record.card.clone()),
            reason,
        };
        let currency = match &record.currency {
            Some(code) => code
                .parse()
                .map_err(|_| reject("currency must be a 3-letter code".into()))?,
            None => options.default_currency,
        };
        let mut weak_pin = None;
        match &record.pin {
            Some(PinSource::Clear(pin)) => {
                if let Err(reason) = self.credentials.check_pin(pin, &pin_context(&record)) {
                    if options.weak_pins == WeakPins::RejectRow {
                        return Err(reject(format!("pin refused: {reason}")));
                    }
                    weak_pin = Some(options.weak_pins);
                }
            }
            Some(PinSource::Phc(_)) => match options.phc_key_id {
                Some(id) if self.credentials.has_key(id) => {}
                Some(id) => {
                    return Err(reject(format!(
                        "pin PHC string: pepper key {id} is not configured"
                    )))
                }
                None => return Err(reject(
                    "pin is a PHC hash; hashes from another system carry no pepper and cannot be \
                     imported (give the PIN in clear, leave it empty, or pass --phc-key-id when \
                     the hash was made by sip2auth)"
                        .into(),
                )),
            },
            Some(PinSource::Legacy(_)) | None => {}
        }
        if let Some(reason) = self.refused_import_password(&record) {
            return Err(reject(reason));
        }
        let status = match &record.status {
            RecordStatus::Active => PatronStatus::Active,
            RecordStatus::Blocked { reason } => PatronStatus::Blocked {
                reason: reason
                    .clone()
                    .unwrap_or_else(|| "blocked in the ILS".into()),
            },
            RecordStatus::Lost => PatronStatus::CardLost,
        };
        let details = PatronDetails {
            name: PersonName::new(
                record.family_name.clone(),
                record.given_names.clone().unwrap_or_default(),
            ),
            email: record.email.clone(),
            phone: record.phone.clone(),
            birth_date: record.birth_date,
            patron_class: record.class.clone(),
            home_library: record.home_library.clone(),
            expires_on: record.expires,
            fines_owed_minor: record.fines_minor,
            fee_limit_minor: record.fine_limit_minor,
            currency,
        };
        let mut record = record;
        if weak_pin == Some(WeakPins::Skip) {
            record.pin = None;
        }
        Ok(Prepared {
            record,
            details,
            status,
            weak_pin,
        })
    }

    /// Writes one batch in one transaction; `Ok(false)` when `stop` ended it while hashing,
    /// before anything of it was written.
    pub(super) async fn import_batch(
        &self,
        operator: &Operator,
        batch: Vec<Prepared>,
        options: &ImportOptions,
        summary: &mut Summary,
        stop: &CancellationToken,
    ) -> Result<bool, Error> {
        // Which rows exist, and which PIN each gets.
        let mut existing = Vec::with_capacity(batch.len());
        for row in &batch {
            let found = self
                .store
                .find_by_card(&row.record.institution, &row.record.card)
                .await?;
            existing.push(found.map(|r| r.patron));
        }
        let plans: Vec<PinPlan> = batch
            .iter()
            .zip(&existing)
            .map(|(row, before)| PinPlan::of(row, before.as_ref()))
            .collect();
        // PIN counts of this batch, added to the summary once it is written.
        let mut pins = PinCounts::default();
        for ((row, plan), before) in batch.iter().zip(&plans).zip(&existing) {
            let has_pin = before.as_ref().is_some_and(|p| p.pin.is_some());
            match (row.weak_pin, plan) {
                (Some(WeakPins::MustChange), PinPlan::FromFile) => pins.flagged += 1,
                (Some(WeakPins::Skip), _) if !has_pin => pins.skipped += 1,
                (Some(WeakPins::Skip), _) => pins.kept += 1,
                _ if row.record.pin.is_some() && *plan == PinPlan::None => pins.kept += 1,
                _ => {}
            }
        }
        if options.dry_run {
            pins.add_to(summary);
            self.count_dry_run(&batch, &existing, &plans, summary, options.row_outcomes);
            return Ok(true);
        }
        // Hashing is the slow part: Ctrl-C drops it (nothing of this batch is written yet).
        let hashing = join_all(batch.iter().zip(&plans).zip(&existing).map(
            |((row, plan), before)| async move {
                let pin = self.import_pin(row, *plan, options).await;
                let password = self.import_password(&row.record, before.as_ref()).await;
                (pin, password)
            },
        ));
        let hashes = tokio::select! {
            hashes = hashing => hashes,
            () = stop.cancelled() => return Ok(false),
        };
        let mut imports = Vec::with_capacity(batch.len());
        let mut audit = Vec::new();
        for (row, (pin, password)) in batch.iter().zip(hashes) {
            let (hash, default) = pin?;
            let password = password?;
            if let Some(issued) = default {
                summary.default_pins += 1;
                audit.push(self.default_pin_audit_entry(operator, &row.record.card, &issued));
            }
            imports.push(PatronImport {
                institution: row.record.institution.clone(),
                card_number: row.record.card.clone(),
                details: row.details.clone(),
                pin: hash,
                password,
                status: row.status.clone(),
            });
        }
        // One transaction: details, status, PINs and the default-PIN audit records together.
        let outcomes = self.store.upsert_patrons(&imports, &audit).await?;
        pins.add_to(summary);
        for ((row, import), outcome) in batch.iter().zip(&imports).zip(outcomes) {
            let outcome = match outcome {
                UpsertOutcome::Created(_) => {
                    if import.pin.is_none() {
                        summary.created_without_pin += 1;
                    }
                    RowOutcome::Created
                }
                UpsertOutcome::Updated(_) => RowOutcome::Updated,
                UpsertOutcome::Unchanged(_) => RowOutcome::Unchanged,
            };
            summary.count(
                row.record.line,
                &row.record.card,
                outcome,
                options.row_outcomes,
            );
        }
        Ok(true)
    }

    /// What a dry run counts for a batch: who would be created (with or without a default PIN),
    /// updated or left unchanged.
    fn count_dry_run(
        &self,
        batch: &[Prepared],
        existing: &[Option<Patron>],
        plans: &[PinPlan],
        summary: &mut Summary,
        keep: bool,
    ) {
        for ((row, before), plan) in batch.iter().zip(existing).zip(plans) {
            let outcome = match before {
                None if *plan == PinPlan::Default => {
                    if self
                        .credentials
                        .default_pin_applies(row.record.phone.as_deref())
                    {
                        summary.default_pins += 1;
                    } else {
                        summary.created_without_pin += 1;
                    }
                    RowOutcome::Created
                }
                None => RowOutcome::Created,
                Some(p)
                    if p.details == row.details
                        && p.status == row.status
                        && *plan == PinPlan::None =>
                {
                    RowOutcome::Unchanged
                }
                Some(_) => RowOutcome::Updated,
            };
            summary.count(row.record.line, &row.record.card, outcome, keep);
        }
    }

    async fn import_pin(
        &self,
        row: &Prepared,
        plan: PinPlan,
        options: &ImportOptions,
    ) -> Result<RowPin, Error> {
        let record = &row.record;
        let pin = match plan {
            PinPlan::None => None,
            PinPlan::FromFile => record.pin.as_ref(),
            PinPlan::Default => {
                let default = self.default_pin(record.phone.as_deref()).await?;
                return Ok(
                    default.map_or((None, None), |(hash, issued)| (Some(hash), Some(issued)))
                );
            }
        };
        let hash = match pin {
            None => return Ok((None, None)),
            Some(PinSource::Clear(pin)) if row.weak_pin == Some(WeakPins::MustChange) => {
                self.credentials.weak_pin(pin).await?
            }
            Some(PinSource::Clear(pin)) => {
                // The rules already passed in `prepare`; a refusal here means the rules changed
                // between the two calls.
                self.credentials
                    .new_pin(pin, &pin_context(record), None)
                    .await?
                    .map_err(|reason| {
                        Error::Refused(format!("line {}: pin refused: {reason}", record.line))
                    })?
            }
            Some(PinSource::Phc(phc)) => CredentialHash {
                phc: phc.clone(),
                // `prepare` rejected PHC rows without a configured key id.
                key_id: options.phc_key_id.unwrap_or(0),
                must_change: false,
                default_expires_at: None,
            },
            Some(PinSource::Legacy(legacy)) => legacy.credential(self.clock.now()),
        };
        let hash = CredentialHash {
            must_change: hash.must_change || record.pin_must_change,
            ..hash
        };
        Ok((Some(hash), None))
    }
}
