//! Test support for every module's tests (compiled for unit tests and with the `testing` cargo
//! feature, which the integration tests enable; never in the shipped binary; hidden from docs):
//! `TempDb`, a fresh, migrated, isolated database per test on either backend, the secret scanner
//! `text_columns_containing`, and `store_test_on_both_backends!`, the one "both backends" macro of
//! the unit and integration tests. Uses only `store` and `clock`; no test framework beyond tokio.
//!
//! PostgreSQL: a database with a random name is created through the admin URL in the environment
//! variable `SIP2AUTH_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! dropped `WITH (FORCE)` when the `TempDb` is dropped. SQLite: a file in the system temp
//! directory, deleted on drop.

use std::path::PathBuf;

use rand::Rng;
use sqlx::Connection;

use super::error::Result;
use super::{Backend, ConnectOptions, NewPatron, PatronDetails, PersonName, Store};

/// Environment variable naming the PostgreSQL admin URL used to create test databases.
pub const PG_URL_ENV: &str = "SIP2AUTH_TEST_PG_URL";
const PG_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, migrated database that disappears when dropped.
#[derive(Debug)]
pub struct TempDb {
    store: Store,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

fn random_name() -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("sip2auth_test_{n:016x}")
}

/// The admin URL with its database path replaced by `name` (query string kept).
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let (scheme, rest) = match base.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), base),
    };
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    format!("{scheme}{authority}/{name}{query}")
}

impl TempDb {
    /// A fresh migrated database with default connect options.
    pub async fn new(backend: Backend) -> Result<TempDb> {
        Self::with_options(backend, &ConnectOptions::default()).await
    }

    /// A fresh migrated database; `opts` (e.g. a manual clock) apply to `store()`.
    pub async fn with_options(backend: Backend, opts: &ConnectOptions) -> Result<TempDb> {
        let name = random_name();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.sqlite"));
                (format!("sqlite://{}", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin_url =
                    std::env::var(PG_URL_ENV).unwrap_or_else(|_| PG_URL_DEFAULT.to_owned());
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                let url = with_database(&admin_url, &name);
                (url, Cleanup::Database { admin_url, name })
            }
        };
        // From here on, `Drop` cleans up even if connecting or migrating fails.
        let mut db = TempDb {
            store: Store::connect(&url, opts).await?,
            url,
            cleanup,
        };
        db.store.migrate().await?;
        db.url.shrink_to_fit();
        Ok(db)
    }

    /// The database URL, for opening further `Store`s (another "instance") on the same data.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Every (table, column) of text type holding any of `needles`; see
    /// [`text_columns_containing`].
    pub async fn text_columns_containing(&self, needles: &[&str]) -> Result<Vec<(String, String)>> {
        text_columns_containing(&self.store, needles).await
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // A helper thread with its own runtime: Drop may run inside or outside a runtime.
                let dropper = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                            let _ = sqlx::query(&sql).execute(&mut admin).await;
                            let _ = admin.close().await;
                        }
                    });
                });
                let _ = dropper.join();
            }
        }
    }
}

/// A patron at `institution` holding `card_number`, with plain sample details and no credentials.
pub fn sample_patron(institution: &str, card_number: &str) -> NewPatron {
    NewPatron {
        institution: institution.to_owned(),
        card_number: card_number.to_owned(),
        details: PatronDetails {
            name: PersonName::new("Lovelace", "Ada"),
            email: Some("ada@example.org".to_owned()),
            phone: None,
            birth_date: None,
            patron_class: Some("adult".to_owned()),
            home_library: Some("main".to_owned()),
            expires_on: chrono::NaiveDate::from_ymd_opt(2030, 12, 31),
            fines_owed_minor: 0,
            fee_limit_minor: Some(1000),
            // Invariant: a constant three-letter code.
            currency: "EUR".parse().unwrap_or_else(|_| unreachable!()),
        },
        pin: None,
        password: None,
    }
}

/// Scans every text column of every table for each needle (substring match) and returns the
/// (table, column) pairs where one occurs. Used to prove that no PIN or password is stored in
/// clear.
pub(crate) async fn text_columns_containing(
    store: &Store,
    needles: &[&str],
) -> Result<Vec<(String, String)>> {
    let (list_sql, match_fn) = match store.backend() {
        Backend::Sqlite => (
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND UPPER(p.type) IN ('TEXT', '') ORDER BY 1, 2",
            "instr",
        ),
        Backend::Postgres => (
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND data_type IN ('text', 'character varying', 'character') ORDER BY 1, 2",
            "strpos",
        ),
    };
    let columns: Vec<(String, String)> = with_pool!(store, |pool| {
        sqlx::query_as(list_sql).fetch_all(pool).await
    })?;
    let mut hits = Vec::new();
    for (table, column) in columns {
        let sql = format!(
            "SELECT COUNT(*) FROM \"{table}\" WHERE {match_fn}(CAST(\"{column}\" AS TEXT), $1) > 0"
        );
        for needle in needles {
            let n: i64 = with_pool!(store, |pool| {
                sqlx::query_scalar(&sql).bind(*needle).fetch_one(pool).await
            })?;
            if n > 0 {
                hits.push((table.clone(), column.clone()));
                break;
            }
        }
    }
    Ok(hits)
}

/// What a [`store_test_on_both_backends!`] test takes: a fresh [`TempDb`] on the backend, or only
/// the [`Backend`] for a test that builds its own database.
pub trait BackendFixture: Sized {
    /// The value for `backend`; panics (failing the test) when the database cannot be made.
    fn for_backend(backend: Backend) -> impl std::future::Future<Output = Self>;
}

/// The fixture a test function takes, inferred from its parameter.
pub async fn fixture<F: BackendFixture>(backend: Backend) -> F {
    F::for_backend(backend).await
}

impl BackendFixture for Backend {
    async fn for_backend(backend: Backend) -> Backend {
        backend
    }
}

impl BackendFixture for TempDb {
    async fn for_backend(backend: Backend) -> TempDb {
        let expectation = match backend {
            Backend::Sqlite => "temporary SQLite database",
            Backend::Postgres => {
                "temporary PostgreSQL database (is SIP2AUTH_TEST_PG_URL reachable?)"
            }
        };
        TempDb::new(backend).await.expect(expectation)
    }
}

/// Instantiates each named `async fn(TempDb)` or `async fn(Backend)` test twice, as
/// `<name>::sqlite` and `<name>::postgres`; a `TempDb` test gets a fresh temporary database:
/// ```ignore
/// async fn duplicate_card_is_refused(db: TempDb) { … }
/// sip2auth::store_test_on_both_backends!(duplicate_card_is_refused);
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! store_test_on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(
                    $crate::store::testing::fixture(
                        $crate::store::Backend::Sqlite,
                    )
                    .await,
                )
                .await;
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(
                    $crate::store::testing::fixture(
                        $crate::store::Backend::Postgres,
                    )
                    .await,
                )
                .await;
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_replaces_the_admin_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t1"),
            "postgres://h:5432/t1"
        );
    }
}
