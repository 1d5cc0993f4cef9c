//! store: persistence of the credential database over sqlx, on SQLite (embedded default) and
//! PostgreSQL (several server instances sharing one database).
//!
//! Owns every SQL statement of the crate, the migrations (`migrations/{sqlite,postgres}`), and the
//! typed rows callers receive. Security counters (PIN and password failures, locks, reset tokens,
//! per-terminal failure events) are changed by single atomic statements, so they hold under
//! concurrent attempts and across instances.
//!
//! Both backends run the same code: portable runtime queries (`$1` placeholders) written once and
//! instantiated per pool by `with_pool!`/`with_tx!`; per-backend SQL exists only in the migrations
//! and in `testing`.
//!
//! Must not import: `sip2`, `auth` (no argon2, no pepper), `server`, `accounts`, `cli`. Callers
//! pass hashes, digests and pseudonyms already computed; the store never sees a PIN, password or
//! token in clear, and never logs or reports a stored hash.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::clock::{SharedClock, SystemClock};

/// Runs `$body` once per backend with `$pool` bound to the concrete pool: one source text, two
/// monomorphic instantiations. The body must evaluate to the same type on both arms.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}

/// Like `with_pool!`, but opens a transaction `$tx` first. On SQLite the transaction takes the
/// write lock at `BEGIN IMMEDIATE`, so a read-then-write body cannot fail with a stale snapshot
/// under concurrent writers. The body must commit explicitly; dropping `$tx` rolls back.
macro_rules! with_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
            $crate::store::Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                $body
            }
        }
    };
}

mod api_keys;
mod audit;
mod auth_support;
mod budget;
mod cards;
mod check;
mod credentials;
mod error;
mod health;
mod import;
mod legacy;
mod lockout;
mod meta;
mod outbox;
mod patron_row;
mod patrons;
mod terminal;
mod terminals;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
mod tokens;
mod two_factor;
pub(crate) mod values;
mod web_sessions;

pub(crate) use api_keys::ApiKeyRow;
pub use audit::{AuditEntry, AuditQuery, NewAuditEntry};
pub use budget::{FailureKind, NewTerminalFailure, TerminalFailureCounts};
pub use error::{Error, Result};
pub use health::PROBE_INTERVAL;
pub use import::{PatronImport, SyncAction, SyncCard, UpsertOutcome};
pub(crate) use legacy::CredentialColumn;
pub use lockout::{AttemptSlot, FailureEffect, LockCounters, LockPolicy, PasswordLockPolicy};
pub use outbox::{
    ClaimedMail, MailKind, MailRecord, MailState, NewMail, OutboxCounts, ResetLookup, ResetRequest,
};
pub use patrons::{
    Card, CredentialHash, NewPatron, Patron, PatronDetails, PatronFilter, PatronRecord,
    PatronStatus, PersonName,
};
pub use terminal::{NewTerminalRow, StoredHash, TerminalColumns, TerminalRow};
pub use tokens::TokenDigest;
pub use two_factor::{CheckedCredential, HalfLoginRow, RecoveryCodeRow, TwoFactorRow};
pub use values::{Currency, Money, MoneyError, PatronId, TerminalId};
pub use web_sessions::{MustChange, NewWebSession, WebSessionRow};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Connection settings that are not part of the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Upper bound on pooled connections.
    pub max_connections: u32,
    /// How long to wait for a pooled connection before reporting the database unavailable.
    pub acquire_timeout: Duration,
    /// SQLite only: how long a statement waits for another writer before giving up.
    pub busy_timeout: Duration,
    /// Source of `created_at` / `updated_at` times.
    pub clock: SharedClock,
    /// SQLite only: create the database file when it does not exist (`migrate`, `serve`, the
    /// demo). When false, a missing file is [`Error::NoDatabase`].
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            create_if_missing: true,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle on the credential database; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    clock: SharedClock,
    health: Arc<health::Health>,
}

/// A SQLite database file must be in an existing directory, and must exist unless it may be
/// created; both errors name the path. In-memory databases pass.
fn sqlite_file_check(path: &std::path::Path, create: bool) -> Result<()> {
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return Ok(());
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent.filter(|dir| !dir.is_dir()) {
        return Err(Error::NoDirectory {
            path: dir.to_owned(),
        });
    }
    if !path.exists() {
        if !create {
            return Err(Error::NoDatabase {
                path: path.to_owned(),
            });
        }
        create_private_file(path)?;
    }
    Ok(())
}

/// Creates an empty database file readable by its owner only (it holds names and birth dates);
/// SQLite gives the `-wal` and `-shm` files it creates beside it the same mode. A file created
/// by a racing process in the meantime is left as it is.
fn create_private_file(path: &std::path::Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::CreateFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Migrations this binary carries that the database lacks (`pending`), and ones the database
/// has that this binary does not know (`unknown`: a newer version migrated it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MigrationState {
    pub pending: usize,
    pub unknown: usize,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

impl Store {
    /// Opens a pool on `url` (`sqlite:path` / `sqlite://path`, or `postgres://…` /
    /// `postgresql://…`). A SQLite file is created on first use, in WAL mode with foreign keys
    /// on and the configured busy timeout. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store> {
        let scheme = url.split(':').next().unwrap_or_default();
        let pool = match scheme {
            "sqlite" => {
                let connect = SqliteConnectOptions::from_str(url)?;
                sqlite_file_check(connect.get_filename(), opts.create_if_missing)?;
                let connect = connect
                    .create_if_missing(opts.create_if_missing)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(opts.busy_timeout);
                let pool = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let connect = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Postgres(pool)
            }
            other => {
                return Err(Error::UnsupportedUrl {
                    scheme: other.chars().take(16).collect(),
                })
            }
        };
        Ok(Store {
            pool,
            clock: opts.clock.clone(),
            health: Arc::new(health::Health::new()),
        })
    }

    /// Applies the embedded migrations of this backend that are not yet applied. Safe to run from
    /// several instances at once (PostgreSQL takes an advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// How the database's applied migrations compare with the ones this binary carries.
    pub(crate) async fn migration_state(&self) -> Result<MigrationState> {
        let sql = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied: Vec<i64> = with_pool!(self, |pool| sqlx::query_scalar::<_, i64>(sql)
            .fetch_all(pool)
            .await)?;
        let migrator = match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATOR,
            Pool::Postgres(_) => &POSTGRES_MIGRATOR,
        };
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        Ok(MigrationState {
            pending: known.iter().filter(|v| !applied.contains(v)).count(),
            unknown: applied.iter().filter(|v| !known.contains(v)).count(),
        })
    }

    /// The engine behind this store.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn backend(&self) -> Backend {
        match &self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Round trip to the database (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Whether the database is on-line, without a query when a probe ran lately: the last
    /// probe answered and no query failed as unavailable since. Probes inline otherwise.
    pub(crate) async fn online(&self) -> bool {
        match self.health.known() {
            Some(online) => online,
            None => self.probe().await,
        }
    }

    /// Pings the database and records the answer for [`online`](Self::online).
    pub(crate) async fn probe(&self) -> bool {
        let before = self.health.probe_started();
        let answered = self.ping().await.is_ok();
        self.health.record(answered, before);
        answered
    }

    /// Connections open and in use right now.
    pub(crate) fn pool_usage(&self) -> (u32, u32) {
        let (size, idle) = with_pool!(self, |pool| (pool.size(), pool.num_idle()));
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        (size, size.saturating_sub(idle))
    }

    /// Closes the pool; later calls fail as unavailable.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await);
        // A closed pool never answers again: say so now rather than at the next probe.
        self.health.record(false, self.health.probe_started());
    }

    /// The current time, in unix seconds, from the configured clock.
    fn now_secs(&self) -> i64 {
        self.clock.now().timestamp()
    }
}
