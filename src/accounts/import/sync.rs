//! `import --sync`: the file is the whole list of an institution's patrons, so the patrons of
//! that institution it no longer holds are expired (their last valid day becomes yesterday) or
//! removed. Planned before any write ([`SyncPlan`]) so that a file that would change more than
//! the allowed share of patrons (a truncated export, the wrong file) is refused before it touches
//! anything; applied after the last batch, in one transaction with one audit record per patron.
//!
//! A patron counts as present when any of their cards is in the file, valid or rejected (a
//! rejected row is still the ILS saying the patron exists). Uses `store` and the accounts'
//! audit; must not import `sip2` or `cli`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::Days;

use super::{ImportOptions, ParsedFile, Summary};
use crate::accounts::{Accounts, Error, Operator};
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::{PatronId, SyncAction};

/// What happens to the patrons missing from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Their registration ends yesterday: cards answer "expired", and a later file may renew it.
    Expire,
    /// They are deleted with their cards.
    Remove,
}

impl std::str::FromStr for SyncMode {
    type Err = String;

    fn from_str(text: &str) -> Result<SyncMode, String> {
        match text {
            "expire" => Ok(SyncMode::Expire),
            "remove" => Ok(SyncMode::Remove),
            _ => Err(format!("unknown sync mode {text:?}: use expire or remove")),
        }
    }
}

/// How a sync runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SyncOptions {
    pub mode: SyncMode,
    /// The largest share (0 to 1) of an institution's patrons a sync may change.
    pub max_share: f64,
    /// Apply the sync even above `max_share`.
    pub force: bool,
}

/// The patrons a sync will change, found before the import writes anything.
#[derive(Debug, Default)]
pub(super) struct SyncPlan {
    /// (patron, one of their cards for the audit record).
    missing: Vec<(PatronId, String)>,
}

impl Accounts {
    /// Finds the patrons of the file's institutions that the file does not hold; refuses when
    /// they are more than the allowed share (unless forced) or when a rejected row cannot be
    /// told apart (no card).
    pub(super) async fn plan_sync(
        &self,
        file: &ParsedFile,
        sync: &SyncOptions,
    ) -> Result<SyncPlan, Error> {
        let unknown = file.rejected.iter().filter(|r| r.card.is_none()).count();
        if unknown > 0 && !sync.force {
            return Err(Error::Refused(format!(
                "--sync: {unknown} rejected row(s) have no readable card, so the patrons missing \
                 from the file cannot be told; fix those rows or add --force"
            )));
        }
        let mut listed: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for record in &file.records {
            listed
                .entry(record.institution.as_str())
                .or_default()
                .insert(record.card.as_str());
        }
        let rejected: HashSet<&str> = file
            .rejected
            .iter()
            .filter_map(|r| r.card.as_deref())
            .collect();
        let today = self.clock.now().date_naive();
        let mut plan = SyncPlan::default();
        for (institution, cards) in &listed {
            let stored = self.store.institution_cards(institution).await?;
            let present: BTreeSet<PatronId> = stored
                .iter()
                .filter(|c| {
                    cards.contains(c.card_number.as_str())
                        || rejected.contains(c.card_number.as_str())
                })
                .map(|c| c.patron)
                .collect();
            let mut patrons: BTreeMap<PatronId, (&str, bool)> = BTreeMap::new();
            for card in &stored {
                let active = card.expires_on.is_none_or(|day| day >= today);
                patrons
                    .entry(card.patron)
                    .or_insert((card.card_number.as_str(), active));
            }
            let missing: Vec<(PatronId, String)> = patrons
                .iter()
                .filter(|(id, (_, active))| {
                    !present.contains(id) && (sync.mode == SyncMode::Remove || *active)
                })
                .map(|(id, (card, _))| (*id, (*card).to_owned()))
                .collect();
            let total = patrons.len();
            let share = missing.len() as f64 / total.max(1) as f64;
            if share > sync.max_share && !sync.force {
                return Err(Error::Refused(format!(
                    "--sync would {} {} of the {total} patron(s) of {institution} ({:.0}%), \
                     missing from the file: more than the {:.0}% allowed (import.sync_max_share, \
                     --sync-max-share); nothing was written; check the export, or add --force",
                    match sync.mode {
                        SyncMode::Expire => "expire",
                        SyncMode::Remove => "remove",
                    },
                    missing.len(),
                    share * 100.0,
                    sync.max_share * 100.0
                )));
            }
            plan.missing.extend(missing);
        }
        Ok(plan)
    }

    /// Expires or removes the planned patrons (or, in a dry run, only counts them).
    pub(super) async fn apply_sync(
        &self,
        operator: &Operator,
        plan: SyncPlan,
        options: &ImportOptions,
        sync: &SyncOptions,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        let count = plan.missing.len() as u64;
        let (action, outcome) = match sync.mode {
            SyncMode::Expire => {
                let today = self.clock.now().date_naive();
                let last_day = today.checked_sub_days(Days::new(1)).unwrap_or(today);
                summary.sync_expired = count;
                (SyncAction::Expire { last_day }, AuditOutcome::Expired)
            }
            SyncMode::Remove => {
                summary.sync_removed = count;
                (SyncAction::Remove, AuditOutcome::Removed)
            }
        };
        if options.dry_run || plan.missing.is_empty() {
            return Ok(());
        }
        let audit: Vec<_> = plan
            .missing
            .iter()
            .map(|(_, card)| {
                self.audit_entry(
                    operator,
                    Some(card),
                    AuditAction::ImportSync,
                    outcome,
                    Some("missing from the import file (--sync)".into()),
                )
            })
            .collect();
        let ids: Vec<PatronId> = plan.missing.iter().map(|(id, _)| *id).collect();
        self.store.apply_sync(&ids, action, &audit).await?;
        Ok(())
    }
}
