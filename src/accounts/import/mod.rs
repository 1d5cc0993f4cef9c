//! Bulk import of an ILS patron export (the CSV format of [`row`]): every row is parsed and
//! checked first (PIN rules included), then valid rows are upserted by card in batches of one
//! transaction each, their PINs hashed in parallel on the auth hashing pool.
//!
//! Resuming: an import never overwrites a PIN a patron already has (the store's rule), so a rerun
//! after an interruption hashes nothing for the rows already written and rewrites nothing that
//! already matches; it does only the remaining work. Rejections name the line and the reason,
//! never a PIN. Uses `store` and `credentials`; must not import `sip2` or `cli`.

pub mod row;

use std::collections::HashMap;

use futures_util::future::join_all;

use super::{Accounts, Error, Operator};
use crate::auth::pin_rules::PinContext;
use crate::store::{
    CredentialHash, Currency, PatronDetails, PatronImport, PatronStatus, PersonName, UpsertOutcome,
};
pub use row::{Header, HeaderError, PatronRecord, PinSource, RecordStatus, Rejection, COLUMNS};

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

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Existing patrons who already had a PIN: the file's PIN was not applied to them.
    pub pins_kept: u64,
    pub rejected: Vec<Rejection>,
    /// `--strict` refused the file because of `rejected`: nothing was written.
    pub refused: bool,
}

/// Told after every batch; the CLI draws a progress bar from it.
pub trait Progress {
    fn start(&mut self, total_rows: u64);
    fn advance(&mut self, done_rows: u64, summary: &Summary);
}

/// A parsed CSV file: the valid rows and the rejected ones, both in file order.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub records: Vec<PatronRecord>,
    pub rejected: Vec<Rejection>,
}

/// Checks a card number as the import format does.
pub fn check_card(card: &str) -> Result<(), Error> {
    if card.is_empty() || card.len() > 64 || !card.chars().all(|c| c.is_ascii_graphic() && c != '|')
    {
        return Err(Error::Invalid {
            what: "card",
            reason: "a card number has 1-64 printable characters without spaces or |".into(),
        });
    }
    Ok(())
}

/// Parses CSV bytes: a bad header refuses the file; a bad row becomes a rejection.
pub fn parse_csv(bytes: &[u8]) -> Result<ParsedFile, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header_record = match records.next() {
        None => return Err(header_error(HeaderError::Empty)),
        Some(Err(e)) => {
            return Err(Error::Invalid {
                what: "CSV header",
                reason: e.to_string(),
            })
        }
        Some(Ok(record)) => record,
    };
    let names = header_record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>();
    let header = Header::parse(names.iter().map(String::as_str)).map_err(header_error)?;
    let width = names.len();
    let mut parsed = ParsedFile::default();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                parsed.rejected.push(Rejection {
                    line,
                    card: None,
                    reason: "malformed CSV (check quotes)".into(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1
            && record
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue; // a blank line
        }
        let reject = |reason: String| Rejection {
            line,
            card: None,
            reason,
        };
        if record.len() != width {
            parsed.rejected.push(reject(format!(
                "has {} fields, the header has {width}",
                record.len()
            )));
            continue;
        }
        let Ok(fields) = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<_>, _>>()
        else {
            parsed.rejected.push(reject(
                "is not valid UTF-8 (export the file as UTF-8)".into(),
            ));
            continue;
        };
        match header.record(line, &fields) {
            Ok(record) => {
                let key = (record.institution.clone(), record.card.clone());
                if let Some(first) = seen.get(&key) {
                    parsed.rejected.push(Rejection {
                        line,
                        card: Some(record.card),
                        reason: format!("card already appears on line {first}"),
                    });
                } else {
                    seen.insert(key, line);
                    parsed.records.push(record);
                }
            }
            Err(rejection) => parsed.rejected.push(rejection),
        }
    }
    Ok(parsed)
}

fn header_error(e: HeaderError) -> Error {
    Error::Invalid {
        what: "CSV header",
        reason: e.to_string(),
    }
}

/// A valid row ready for the store, with the PIN still to hash (if any).
struct Prepared {
    record: PatronRecord,
    details: PatronDetails,
    status: PatronStatus,
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
            self.import_batch(batch, options, &mut summary).await?;
            progress.advance(done, &summary);
        }
        if !options.dry_run {
            let reason = format!(
                "created {}, updated {}, unchanged {}, rejected {}",
                summary.created,
                summary.updated,
                summary.unchanged,
                summary.rejected.len()
            );
            self.audit(operator, None, "import", "ok", Some(reason))
                .await?;
        }
        Ok(summary)
    }

    /// Turns a record into store values and checks its PIN; the error is the row's rejection.
    fn prepare(
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
        match &record.pin {
            Some(PinSource::Clear(pin)) => {
                let context = PinContext {
                    card: Some(&record.card),
                    phone: record.phone.as_deref(),
                    birth_date: record.birth_date,
                };
                self.credentials
                    .check_pin(pin, &context)
                    .map_err(|r| reject(format!("pin refused: {r}")))?;
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
            None => {}
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
        Ok(Prepared {
            record,
            details,
            status,
        })
    }

    async fn import_batch(
        &self,
        batch: Vec<Prepared>,
        options: &ImportOptions,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        // Which rows exist, and which of them still need a PIN.
        let mut existing = Vec::with_capacity(batch.len());
        for row in &batch {
            let found = self
                .store
                .find_by_card(&row.record.institution, &row.record.card)
                .await?;
            existing.push(found.map(|r| r.patron));
        }
        let applies = |i: usize| {
            batch[i].record.pin.is_some() && existing[i].as_ref().map_or(true, |p| p.pin.is_none())
        };
        summary.pins_kept += (0..batch.len())
            .filter(|&i| batch[i].record.pin.is_some() && !applies(i))
            .count() as u64;
        if options.dry_run {
            for (i, row) in batch.iter().enumerate() {
                match &existing[i] {
                    None => summary.created += 1,
                    Some(p)
                        if p.details == row.details && p.status == row.status && !applies(i) =>
                    {
                        summary.unchanged += 1
                    }
                    Some(_) => summary.updated += 1,
                }
            }
            return Ok(());
        }
        let pins = join_all(
            (0..batch.len()).map(|i| self.import_pin(&batch[i].record, applies(i), options)),
        )
        .await;
        let mut imports = Vec::with_capacity(batch.len());
        for (row, pin) in batch.iter().zip(pins) {
            imports.push(PatronImport {
                institution: row.record.institution.clone(),
                card_number: row.record.card.clone(),
                details: row.details.clone(),
                pin: pin?,
            });
        }
        let outcomes = self.store.upsert_patrons(&imports).await?;
        for ((row, outcome), before) in batch.iter().zip(outcomes).zip(existing) {
            let (id, mut changed) = match outcome {
                UpsertOutcome::Created(id) => (id, None),
                UpsertOutcome::Updated(id) => (id, Some(true)),
                UpsertOutcome::Unchanged(id) => (id, Some(false)),
            };
            let current = before.map_or(PatronStatus::Active, |p| p.status);
            if current != row.status {
                self.store.set_status(id, &row.status).await?;
                changed = changed.map(|_| true);
            }
            match changed {
                None => summary.created += 1,
                Some(true) => summary.updated += 1,
                Some(false) => summary.unchanged += 1,
            }
        }
        Ok(())
    }

    async fn import_pin(
        &self,
        record: &PatronRecord,
        applies: bool,
        options: &ImportOptions,
    ) -> Result<Option<CredentialHash>, Error> {
        let hash = match &record.pin {
            _ if !applies => return Ok(None),
            None => return Ok(None),
            Some(PinSource::Clear(pin)) => {
                let context = PinContext {
                    card: Some(&record.card),
                    phone: record.phone.as_deref(),
                    birth_date: record.birth_date,
                };
                // The rules already passed in `prepare`; a refusal here means the rules changed
                // between the two calls.
                self.credentials
                    .new_pin(pin, &context, None)
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
        };
        Ok(Some(hash))
    }
}
