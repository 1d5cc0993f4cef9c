//! Terminal queries: create, find, list, update, enable, re-key and remove rows of `terminals`,
//! and the row mapping to [`Terminal`]. The types live in [`terminal`](super::terminal); must not
//! import `sip2` or `auth`.

use ipnet::IpNet;

use super::error::{Error, Result};
use super::patrons::found;
use super::terminal::{NewTerminal, StoredHash, Terminal, TerminalSettings};
use super::values::{parse_column, time_from_secs, TerminalId};
use super::Store;

/// `SELECT <the TerminalRow columns> FROM terminals`, followed by `$rest`: a constant statement.
macro_rules! select_terminals {
    ($rest:literal) => {
        concat!(
            "SELECT id, login_id, password_hash, password_key_id, institution, location_code, \
             enabled, allowed_cidrs, login_optional, patron_credential, allowed_messages, \
             patron_detail, charset, terminator, error_detection, created_at, updated_at \
             FROM terminals ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct TerminalRow {
    id: i64,
    login_id: String,
    password_hash: Option<String>,
    password_key_id: Option<i64>,
    institution: String,
    location_code: Option<String>,
    enabled: bool,
    allowed_cidrs: String,
    login_optional: bool,
    patron_credential: String,
    allowed_messages: String,
    patron_detail: String,
    charset: String,
    terminator: String,
    error_detection: String,
    created_at: i64,
    updated_at: i64,
}

impl TerminalRow {
    fn into_terminal(self) -> Result<Terminal> {
        let password = match (self.password_hash, self.password_key_id) {
            (Some(phc), Some(key_id)) => Some(StoredHash {
                phc,
                key_id: u32::try_from(key_id)
                    .map_err(|_| Error::corrupt("terminals.password_key_id"))?,
            }),
            _ => None,
        };
        let allowed_cidrs = self
            .allowed_cidrs
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| parse_column(c, "terminals.allowed_cidrs"))
            .collect::<Result<_>>()?;
        Ok(Terminal {
            id: TerminalId(self.id),
            login_id: self.login_id,
            password,
            settings: TerminalSettings {
                institution: self.institution,
                location_code: self.location_code,
                enabled: self.enabled,
                allowed_cidrs,
                login_optional: self.login_optional,
                patron_credential: parse_column(
                    &self.patron_credential,
                    "terminals.patron_credential",
                )?,
                allowed_messages: parse_column(
                    &self.allowed_messages,
                    "terminals.allowed_messages",
                )?,
                patron_detail: parse_column(&self.patron_detail, "terminals.patron_detail")?,
                charset: parse_column(&self.charset, "terminals.charset")?,
                terminator: parse_column(&self.terminator, "terminals.terminator")?,
                error_detection: parse_column(&self.error_detection, "terminals.error_detection")?,
            },
            created_at: time_from_secs(self.created_at, "terminals.created_at")?,
            updated_at: time_from_secs(self.updated_at, "terminals.updated_at")?,
        })
    }
}

fn cidr_text(cidrs: &[IpNet]) -> String {
    cidrs
        .iter()
        .map(IpNet::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Binds the eleven settings columns in the order institution … error_detection.
macro_rules! bind_settings {
    ($query:expr, $s:expr) => {
        $query
            .bind(&$s.institution)
            .bind(&$s.location_code)
            .bind($s.enabled)
            .bind(cidr_text(&$s.allowed_cidrs))
            .bind($s.login_optional)
            .bind($s.patron_credential.as_str())
            .bind($s.allowed_messages.to_text())
            .bind($s.patron_detail.as_str())
            .bind($s.charset.as_str())
            .bind($s.terminator.as_str())
            .bind($s.error_detection.as_str())
    };
}

impl Store {
    /// Creates a terminal. `Duplicate { what: "terminal login id" }` if the login id is taken.
    pub async fn create_terminal(&self, new: &NewTerminal) -> Result<TerminalId> {
        let now = self.now_secs();
        let id = with_pool!(self, |pool| {
            let query = sqlx::query_scalar::<_, i64>(
                "INSERT INTO terminals (login_id, password_hash, password_key_id, institution, \
                 location_code, enabled, allowed_cidrs, login_optional, patron_credential, \
                 allowed_messages, patron_detail, charset, terminator, error_detection, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $15) RETURNING id",
            )
            .bind(&new.login_id)
            .bind(new.password.as_ref().map(|h| h.phc.as_str()))
            .bind(new.password.as_ref().map(|h| i64::from(h.key_id)));
            bind_settings!(query, new.settings)
                .bind(now)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| Error::from_sqlx(e, "terminal login id"))?;
        Ok(TerminalId(id))
    }

    /// The terminal with this login id, if any.
    pub async fn terminal_by_login(&self, login_id: &str) -> Result<Option<Terminal>> {
        const SQL: &str = select_terminals!("WHERE login_id = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, TerminalRow>(SQL)
                .bind(login_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(TerminalRow::into_terminal).transpose()
    }

    /// The terminal with this id, if any.
    pub async fn get_terminal(&self, id: TerminalId) -> Result<Option<Terminal>> {
        const SQL: &str = select_terminals!("WHERE id = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, TerminalRow>(SQL)
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        row.map(TerminalRow::into_terminal).transpose()
    }

    /// Every terminal, ordered by login id.
    pub async fn list_terminals(&self) -> Result<Vec<Terminal>> {
        const SQL: &str = select_terminals!("ORDER BY login_id");
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, TerminalRow>(SQL).fetch_all(pool).await
        })?;
        rows.into_iter().map(TerminalRow::into_terminal).collect()
    }

    /// Replaces a terminal's settings.
    pub async fn update_terminal(&self, id: TerminalId, settings: &TerminalSettings) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            let query = sqlx::query(
                "UPDATE terminals SET institution = $2, location_code = $3, enabled = $4, \
                 allowed_cidrs = $5, login_optional = $6, patron_credential = $7, \
                 allowed_messages = $8, patron_detail = $9, charset = $10, terminator = $11, \
                 error_detection = $12, updated_at = $13 WHERE id = $1",
            )
            .bind(id.0);
            bind_settings!(query, settings)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "terminal")
    }

    /// Sets (or with `None` removes) a terminal's login hash.
    pub async fn set_terminal_password_hash(
        &self,
        id: TerminalId,
        hash: Option<&StoredHash>,
    ) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE terminals SET password_hash = $2, password_key_id = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id.0)
            .bind(hash.map(|h| h.phc.as_str()))
            .bind(hash.map(|h| i64::from(h.key_id)))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        found(done, "terminal")
    }

    /// Enables or disables a terminal.
    pub async fn set_terminal_enabled(&self, id: TerminalId, enabled: bool) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            sqlx::query("UPDATE terminals SET enabled = $2, updated_at = $3 WHERE id = $1")
                .bind(id.0)
                .bind(enabled)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "terminal")
    }

    /// Deletes a terminal and its failure events.
    pub async fn remove_terminal(&self, id: TerminalId) -> Result<()> {
        let done = self
            .delete_rows("DELETE FROM terminals WHERE id = $1", id.0)
            .await?;
        found(done, "terminal")
    }

    /// Number of terminals.
    pub async fn count_terminals(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM terminals").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ConnectOptions;

    /// The `DEFAULT` clauses of the terminals table in one migration, in column order.
    fn schema_defaults(migration: &str) -> Vec<String> {
        let table = migration
            .split("CREATE TABLE terminals (")
            .nth(1)
            .and_then(|rest| rest.split(");").next())
            .expect("the terminals table");
        table
            .lines()
            .filter_map(|line| line.split_once(" NOT NULL DEFAULT "))
            .map(|(column, default)| {
                let value = default.split_whitespace().next().unwrap_or_default();
                let column = column.split_whitespace().next().unwrap_or_default();
                format!("{column} = {}", value.trim_end_matches(','))
            })
            .collect()
    }

    #[test]
    fn both_backends_state_the_same_terminal_defaults() {
        let sqlite = include_str!("migrations/sqlite/0001_credential_store.sql");
        let postgres = include_str!("migrations/postgres/0001_credential_store.sql");
        assert_eq!(schema_defaults(sqlite), schema_defaults(postgres));
        assert!(schema_defaults(sqlite).len() >= 9);
    }

    /// A row inserted with only the required columns reads back as `TerminalSettings::new`,
    /// which the command line's flags take their defaults from.
    #[tokio::test]
    async fn the_schema_defaults_are_the_rust_defaults() {
        // One connection: every connection to `sqlite::memory:` is a database of its own.
        let options = ConnectOptions {
            max_connections: 1,
            ..ConnectOptions::default()
        };
        let store = Store::connect("sqlite::memory:", &options)
            .await
            .expect("in-memory store");
        store.migrate().await.expect("migrated");
        with_pool!(store, |pool| {
            sqlx::query(
                "INSERT INTO terminals (login_id, institution, created_at, updated_at) \
                 VALUES ('bare', 'MAIN', 0, 0)",
            )
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .expect("a bare row");
        let bare = store
            .terminal_by_login("bare")
            .await
            .expect("read")
            .expect("found");
        assert_eq!(bare.settings, TerminalSettings::new("MAIN"));
    }
}
