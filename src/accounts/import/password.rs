//! The import's online passwords (the `password` column): checked against the password rules
//! when a row is prepared (a password the rules refuse rejects its row: there is no temporary
//! password to fall back on), hashed on the auth hashing pool with the batch's PINs, and written
//! only to a new patron or one without a password, like the PIN. A legacy ILS hash is kept as
//! the PIN's is, until the first successful check replaces it.
//!
//! Uses `credentials` (through [`Accounts`]); must not import `sip2` or `cli`.

use super::row::{PasswordSource, PatronRecord};
use crate::accounts::{Accounts, Error};
use crate::auth::PasswordContext;
use crate::store::{CredentialHash, Patron};

/// The patron's own details the password rules check a row's password against.
fn password_context<'a>(record: &'a PatronRecord, library: &'a str) -> PasswordContext<'a> {
    PasswordContext {
        card: Some(&record.card),
        names: [
            Some(record.family_name.as_str()),
            record.given_names.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect(),
        email: record.email.as_deref(),
        library_name: Some(library),
    }
}

impl Accounts {
    /// Why the row's password in clear cannot be imported (every rule it breaks), if it cannot.
    pub(super) fn refused_import_password(&self, record: &PatronRecord) -> Option<String> {
        let Some(PasswordSource::Clear(password)) = &record.password else {
            return None;
        };
        let library = self.config.server.library_name.as_str();
        self.credentials
            .check_password(password, &password_context(record, library))
            .err()
            .map(|all| format!("password refused: {all}"))
    }

    /// The hash the row's password is written with: `None` when there is none, or when the
    /// patron already has a password (an import never overwrites one).
    pub(super) async fn import_password(
        &self,
        record: &PatronRecord,
        before: Option<&Patron>,
    ) -> Result<Option<CredentialHash>, Error> {
        if before.is_some_and(|patron| patron.password.is_some()) {
            return Ok(None);
        }
        let hash = match &record.password {
            None => return Ok(None),
            Some(PasswordSource::Legacy(legacy)) => legacy.credential(self.clock.now()),
            Some(PasswordSource::Clear(password)) => {
                let library = self.config.server.library_name.as_str();
                let context = password_context(record, library);
                // The rules already passed in `prepare`; a refusal here means they changed
                // between the two calls.
                self.credentials
                    .new_password(password, &context, None)
                    .await?
                    .map_err(|all| {
                        Error::Refused(format!("line {}: password refused: {all}", record.line))
                    })?
            }
        };
        Ok(Some(hash))
    }
}
