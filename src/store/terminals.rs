//! Terminal queries: create, find, list, update, enable, re-key and remove rows of `terminals`,
//! and the mapping of a fetched row to [`TerminalRow`]. The row types live in
//! [`terminal`](super::terminal); the typed terminal is `auth`'s. Must not import `sip2` or `auth`.

use sqlx::{Database, Encode, Type};

use super::error::{Error, Result};
use super::patron_row::Binds;
use super::patrons::found;
use super::terminal::{NewTerminalRow, StoredHash, TerminalColumns, TerminalRow};
use super::values::{time_from_secs, TerminalId};
use super::Store;

/// `SELECT <the FetchedRow columns> FROM terminals`, followed by `$rest`: a constant statement.
macro_rules! select_terminals {
    ($rest:literal) => {
        concat!(
            "SELECT id, login_id, password_hash, password_key_id, institution, location_code, \
             enabled, allowed_cidrs, login_optional, patron_credential, allowed_messages, \
             patron_detail, charset, terminator, error_detection, restricted, \
             denied_restrictions, detail_without_pin, require_tls, client_cert_sha256, \
             client_ca_pem, client_subject, certificate_login, upstream, upstream_password_sealed, \
             created_at, updated_at FROM terminals ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct FetchedRow {
    id: i64,
    login_id: String,
    password_hash: Option<String>,
    password_key_id: Option<i64>,
    #[sqlx(flatten)]
    columns: TerminalColumns,
    created_at: i64,
    updated_at: i64,
}

impl FetchedRow {
    fn into_row(self) -> Result<TerminalRow> {
        let password = match (self.password_hash, self.password_key_id) {
            (Some(phc), Some(key_id)) => Some(StoredHash {
                phc,
                key_id: u32::try_from(key_id)
                    .map_err(|_| Error::corrupt("terminals.password_key_id"))?,
            }),
            _ => None,
        };
        Ok(TerminalRow {
            id: TerminalId(self.id),
            login_id: self.login_id,
            password,
            columns: self.columns,
            created_at: time_from_secs(self.created_at, "terminals.created_at")?,
            updated_at: time_from_secs(self.updated_at, "terminals.updated_at")?,
        })
    }
}

/// Binds the twenty-one settings columns in the order institution … upstream_password_sealed.
fn bind_columns<'q, DB, Q>(query: Q, c: &'q TerminalColumns) -> Q
where
    DB: Database,
    Q: Binds<'q, DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
{
    query
        .with(&c.institution)
        .with(&c.location_code)
        .with(c.enabled)
        .with(&c.allowed_cidrs)
        .with(c.login_optional)
        .with(&c.patron_credential)
        .with(&c.allowed_messages)
        .with(&c.patron_detail)
        .with(&c.charset)
        .with(&c.terminator)
        .with(&c.error_detection)
        .with(&c.restricted)
        .with(&c.denied_restrictions)
        .with(&c.detail_without_pin)
        .with(c.require_tls)
        .with(&c.client_cert_sha256)
        .with(&c.client_ca_pem)
        .with(&c.client_subject)
        .with(&c.certificate_login)
        .with(&c.upstream)
        .with(&c.upstream_password_sealed)
}

impl Store {
    /// Creates a terminal. `Duplicate { what: "terminal login id" }` if the login id is taken.
    pub async fn create_terminal(&self, new: &NewTerminalRow) -> Result<TerminalId> {
        let now = self.now_secs();
        let id = with_pool!(self, |pool| {
            let query = sqlx::query_scalar::<_, i64>(
                "INSERT INTO terminals (login_id, password_hash, password_key_id, institution, \
                 location_code, enabled, allowed_cidrs, login_optional, patron_credential, \
                 allowed_messages, patron_detail, charset, terminator, error_detection, \
                 restricted, denied_restrictions, detail_without_pin, require_tls, \
                 client_cert_sha256, client_ca_pem, client_subject, certificate_login, \
                 upstream, upstream_password_sealed, created_at, updated_at) VALUES ($1, $2, \
                 $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                 $20, $21, $22, $23, $24, $25, $25) RETURNING id",
            )
            .bind(&new.login_id)
            .bind(new.password.as_ref().map(|h| h.phc.as_str()))
            .bind(new.password.as_ref().map(|h| i64::from(h.key_id)));
            bind_columns(query, &new.columns)
                .bind(now)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| Error::from_sqlx(e, "terminal login id"))?;
        Ok(TerminalId(id))
    }

    /// The terminal with this login id, if any.
    pub async fn terminal_by_login(&self, login_id: &str) -> Result<Option<TerminalRow>> {
        const SQL: &str = select_terminals!("WHERE login_id = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, FetchedRow>(SQL)
                .bind(login_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(FetchedRow::into_row).transpose()
    }

    /// The terminal with this id, if any.
    pub async fn get_terminal(&self, id: TerminalId) -> Result<Option<TerminalRow>> {
        const SQL: &str = select_terminals!("WHERE id = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, FetchedRow>(SQL)
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        row.map(FetchedRow::into_row).transpose()
    }

    /// Every terminal, ordered by login id.
    pub async fn list_terminals(&self) -> Result<Vec<TerminalRow>> {
        const SQL: &str = select_terminals!("ORDER BY login_id");
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, FetchedRow>(SQL).fetch_all(pool).await
        })?;
        rows.into_iter().map(FetchedRow::into_row).collect()
    }

    /// Replaces a terminal's settings.
    pub async fn update_terminal(&self, id: TerminalId, columns: &TerminalColumns) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            let query = sqlx::query(
                "UPDATE terminals SET institution = $2, location_code = $3, enabled = $4, \
                 allowed_cidrs = $5, login_optional = $6, patron_credential = $7, \
                 allowed_messages = $8, patron_detail = $9, charset = $10, terminator = $11, \
                 error_detection = $12, restricted = $13, denied_restrictions = $14, \
                 detail_without_pin = $15, require_tls = $16, client_cert_sha256 = $17, \
                 client_ca_pem = $18, client_subject = $19, certificate_login = $20, \
                 upstream = $21, upstream_password_sealed = $22, updated_at = $23 WHERE id = $1",
            )
            .bind(id.0);
            bind_columns(query, columns)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "terminal")?;
        self.raise_terminal_generation().await
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
        found(done, "terminal")?;
        self.raise_terminal_generation().await
    }

    /// Deletes a terminal and its failure events.
    pub async fn remove_terminal(&self, id: TerminalId) -> Result<()> {
        let done = self
            .delete_rows("DELETE FROM terminals WHERE id = $1", id.0)
            .await?;
        found(done, "terminal")?;
        self.raise_terminal_generation().await
    }

    /// The terminal generation: raised after every change to a terminal that open sessions must
    /// see (settings, enabled, removal), so each server instance can notice one with a single
    /// cheap read.
    pub(crate) async fn terminal_generation(&self) -> Result<i64> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT generation FROM terminal_generation WHERE id = 1")
                .fetch_one(pool)
                .await
        })?)
    }

    /// Raises the terminal generation (after the change it announces is written).
    async fn raise_terminal_generation(&self) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE terminal_generation SET generation = generation + 1 WHERE id = 1")
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Number of terminals.
    pub async fn count_terminals(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM terminals").await
    }
}

impl Store {
    /// Inserts a terminal with only the required columns, so the schema's defaults fill the
    /// rest (the test that keeps them and the typed defaults in step reads it back).
    #[cfg(test)]
    pub(crate) async fn insert_bare_terminal_for_test(
        &self,
        login_id: &str,
        institution: &str,
    ) -> Result<u64> {
        Ok(with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO terminals (login_id, institution, created_at, updated_at) \
                 VALUES ($1, $2, 0, 0)",
            )
            .bind(login_id)
            .bind(institution)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?)
    }
}

#[cfg(test)]
mod tests {
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
        let sqlite = include_str!("migrations/sqlite/0002_terminal_access.sql");
        let postgres = include_str!("migrations/postgres/0002_terminal_access.sql");
        assert_eq!(sqlite.replace("INTEGER", "BIGINT"), postgres);
    }
}
