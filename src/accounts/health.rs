//! Readiness of the shared state every request needs: the database answers, its migrations are
//! the ones this binary carries, and the pepper keys still match the fingerprints it records.
//!
//! Owns: [`NotReady`], the first failed check with a stable name. Uses `store` and `auth`
//! through [`Accounts`]; must not import `http`, `server` or `sip2`.

use crate::accounts::Accounts;

/// How often the background probe checks the database (the status answer reads its result).
pub(crate) use crate::store::PROBE_INTERVAL as DATABASE_PROBE_INTERVAL;

/// Why the shared state is not ready to serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotReady {
    #[error("the database does not answer")]
    DatabaseUnreachable,
    #[error("{pending} migration(s) not applied: run sip2auth migrate")]
    MigrationsPending { pending: usize },
    #[error("the database has {unknown} migration(s) this version does not know")]
    MigrationsUnknown { unknown: usize },
    #[error("a pepper key does not match the fingerprint recorded in the database")]
    PepperMismatch,
}

impl NotReady {
    /// The stable name of the failed check, as `/readyz` reports it.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            NotReady::DatabaseUnreachable => "database_unreachable",
            NotReady::MigrationsPending { .. } => "migrations_pending",
            NotReady::MigrationsUnknown { .. } => "migrations_unknown",
            NotReady::PepperMismatch => "pepper_mismatch",
        }
    }
}

impl Accounts {
    /// Checks the database, its migrations and the pepper, in that order; the first failure is
    /// the answer (any database error on the way counts as unreachable).
    pub(crate) async fn readiness(&self) -> Result<(), NotReady> {
        let unreachable = |_| NotReady::DatabaseUnreachable;
        self.store.ping().await.map_err(unreachable)?;
        let migrations = self.store.migration_state().await.map_err(unreachable)?;
        if migrations.pending > 0 {
            return Err(NotReady::MigrationsPending {
                pending: migrations.pending,
            });
        }
        if migrations.unknown > 0 {
            return Err(NotReady::MigrationsUnknown {
                unknown: migrations.unknown,
            });
        }
        let authenticator = self.credentials.authenticator();
        if !authenticator
            .pepper_matches()
            .await
            .map_err(|_| NotReady::DatabaseUnreachable)?
        {
            return Err(NotReady::PepperMismatch);
        }
        Ok(())
    }
}
