//! Makes the test database unavailable, then available again.
//!
//! PostgreSQL: connections to the test database are refused (`ALLOW_CONNECTIONS false`) and the
//! open ones terminated; ending the outage allows connections again, and the server's pool
//! reconnects on its own. SQLite has no server to stop and open files survive anything done to
//! the path, so the outage there closes the store's pool: it shows the answers while the
//! database is gone, and has no end (recovery is exercised on PostgreSQL).

use sip2auth::store::Backend;
use sqlx::Connection;

use super::TestServer;

pub struct Outage {
    /// The PostgreSQL database refused connections (none on SQLite).
    postgres: Option<String>,
}

fn admin_url() -> String {
    std::env::var(sip2auth::store::testing::PG_URL_ENV)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn admin(sql: &str) {
    let mut connection = sqlx::PgConnection::connect(&admin_url())
        .await
        .expect("admin connection");
    sqlx::query(sql)
        .execute(&mut connection)
        .await
        .expect("admin statement");
    connection.close().await.expect("close admin connection");
}

impl Outage {
    pub async fn begin(server: &TestServer) -> Outage {
        match server.db.backend() {
            Backend::Sqlite => {
                server.store.close().await;
                Outage { postgres: None }
            }
            Backend::Postgres => {
                let url = server.db.url();
                let name = url.rsplit('/').next().expect("database name");
                let name = name.split('?').next().unwrap_or_default().to_owned();
                admin(&format!(
                    "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
                ))
                .await;
                admin(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await;
                Outage {
                    postgres: Some(name),
                }
            }
        }
    }

    /// Ends the outage; false when it cannot end (SQLite).
    pub async fn end(self) -> bool {
        match self.postgres {
            None => false,
            Some(name) => {
                admin(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")).await;
                true
            }
        }
    }
}
