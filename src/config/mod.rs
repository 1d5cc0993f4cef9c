//! Configuration: `sip2.toml` -> typed, validated [`Config`].
//!
//! Every default lives here (one source of truth): a missing key takes its default, an unknown key
//! is an error (`deny_unknown_fields`), and [`Config::load`] reports every problem with its key
//! path. Precedence: defaults < file < command-line flags < environment (applied by the CLI via
//! [`Config::apply_env`]). Secrets (pepper, database URL with a password) come from the
//! environment or a file outside the repository, never from `sip2.toml` itself.
//!
//! Uses nothing else in the crate.

pub(crate) mod admin;
mod document;
mod login_defence;
pub(crate) mod mail;
mod problems;
mod secret;
pub mod security;
pub mod server;
mod transport;
pub(crate) mod web;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub(crate) use admin::AdminConfig;
pub use mail::{MailConfig, MailTransport, SmtpSecurity};
pub(crate) use problems::Problems;
pub(crate) use secret::DatabaseUrl;
pub(crate) use security::SecurityConfig;
pub(crate) use server::{MessagesConfig, ServerConfig};
pub use web::{ResetLookupBy, ResetMode, WebConfig, WebLogin};

/// Environment variable that overrides `database.url`.
pub(crate) const ENV_DATABASE_URL: &str = "SIP2AUTH_DATABASE_URL";
/// A file holding the database URL (a systemd credential, a mounted secret); read by the CLI at
/// start-up when `SIP2AUTH_DATABASE_URL` is not set.
pub(crate) const ENV_DATABASE_URL_FILE: &str = "SIP2AUTH_DATABASE_URL_FILE";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub security: SecurityConfig,
    pub messages: MessagesConfig,
    pub audit: AuditConfig,
    pub import: ImportConfig,
    pub logging: LoggingConfig,
    pub web: WebConfig,
    pub admin: AdminConfig,
    pub mail: MailConfig,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created on first use) or `postgres://…`; may carry a password, so it is
    /// held as a secret (`Debug` redacts it).
    pub url: DatabaseUrl,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: std::time::Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://sip2auth.db".into(),
            max_connections: 16,
            acquire_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Audit entries older than this are purged.
    #[serde(with = "humantime_serde")]
    pub retention: std::time::Duration,
    /// How often the server purges expired records (audit entries past `retention`, terminal
    /// failure events past `security.terminal_budget.window`, expired reset tokens); it also
    /// purges once at start.
    #[serde(with = "humantime_serde")]
    pub purge_interval: std::time::Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention: std::time::Duration::from_secs(365 * 24 * 3600),
            purge_interval: std::time::Duration::from_secs(3600),
        }
    }
}

/// `[import]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// The largest share (0 to 1) of an institution's patrons that `import --sync` may expire
    /// or remove without `--force`.
    pub sync_max_share: f64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            sync_max_share: 0.1,
        }
    }
}

/// `[logging]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A tracing filter directive such as `info` or `sip2auth=debug`; `RUST_LOG` overrides it.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {} problem(s):\n{problems}", problems.len())]
    Invalid { path: PathBuf, problems: Problems },
}

/// A `sqlite:` URL with a relative file path, rewritten with the path under `dir`; `None` for
/// any other URL (absolute paths, `:memory:`, PostgreSQL).
fn sqlite_url_in(url: &str, dir: &Path) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (file, query) = match rest.split_once('?') {
        Some((file, query)) => (file, Some(query)),
        None => (rest, None),
    };
    if file.is_empty() || file.starts_with(':') || Path::new(file).is_absolute() {
        return None;
    }
    let joined = dir.join(file);
    Some(match query {
        Some(query) => format!("sqlite://{}?{query}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    })
}

impl Config {
    /// Reads, parses and validates a TOML file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            config.resolve_paths(dir);
        }
        Ok(config)
    }

    /// Makes the relative paths of a configuration file (pepper key files, TLS certificate and
    /// key, the web's locales folder, a `sqlite:` database path) relative to the file's
    /// directory, so the file works from any working directory.
    /// The built-in defaults (no file) and environment overrides stay relative to the working
    /// directory.
    fn resolve_paths(&mut self, dir: &Path) {
        self.server.tls.resolve_paths(dir);
        let pepper = &mut self.security.pepper;
        if pepper.key_file.is_relative() {
            pepper.key_file = dir.join(&pepper.key_file);
        }
        for key in &mut pepper.previous_keys {
            if key.file.is_relative() {
                key.file = dir.join(&key.file);
            }
        }
        for path in [
            &mut self.mail.templates_dir,
            &mut self.mail.folder,
            &mut self.mail.smtp.credentials_file,
        ] {
            if !path.as_os_str().is_empty() && path.is_relative() {
                *path = dir.join(&*path);
            }
        }
        if !self.web.locales_dir.as_os_str().is_empty() && self.web.locales_dir.is_relative() {
            self.web.locales_dir = dir.join(&self.web.locales_dir);
        }
        if let Some(url) = sqlite_url_in(self.database.url.expose_secret(), dir) {
            self.database.url = url.into();
        }
    }

    #[cfg(test)]
    /// Parses and validates TOML text (the path in errors is `<text>`), reporting every
    /// problem: unknown keys, values of the wrong type and invalid values, each at its key path.
    pub(crate) fn from_toml(text: &str) -> Result<Config, Error> {
        Self::parse(text, Path::new("<text>"))
    }

    fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        document::read(text).map_err(|refusal| match refusal {
            document::Refusal::Syntax(message) => Error::Syntax {
                path: path.to_owned(),
                message,
            },
            document::Refusal::Invalid(problems) => Error::Invalid {
                path: path.to_owned(),
                problems,
            },
        })
    }

    /// Applies environment overrides (highest precedence).
    pub(crate) fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        if let Some(url) = lookup(ENV_DATABASE_URL).filter(|url| !url.is_empty()) {
            self.database.url = DatabaseUrl::from(url);
        }
        self.security.apply_env(&lookup);
    }

    /// Every validation problem, each with its key path.
    pub(crate) fn problems(&self) -> Problems {
        let mut problems = Problems::default();
        self.server.validate(&mut problems.at("server"));
        self.messages.validate(&mut problems.at("messages"));
        self.security.validate(&mut problems.at("security"));
        self.web.validate(&mut problems.at("web"));
        self.mail.validate(&mut problems.at("mail"));
        let mut others = vec![("server.listen", self.server.listen)];
        if self.web.enabled {
            others.push(("web.listen", self.web.listen));
        }
        self.admin.validate(&mut problems.at("admin"), &others);
        let mut db = problems.at("database");
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            db.push(
                "url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if self.database.max_connections == 0 {
            db.push("max_connections", "must be at least 1");
        }
        if self.audit.retention.is_zero() {
            problems
                .at("audit")
                .push("retention", "must be longer than 0s");
        }
        if self.audit.purge_interval < std::time::Duration::from_secs(1) {
            problems
                .at("audit")
                .push("purge_interval", "must be at least 1s");
        }
        if !(0.0..=1.0).contains(&self.import.sync_max_share) {
            problems.at("import").push(
                "sync_max_share",
                "must be a share between 0 and 1 (0.1 is 10%)",
            );
        }
        if self.logging.level.trim().is_empty() {
            problems.at("logging").push("level", "must not be empty");
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_file_holds_every_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sip2.toml");
        let loaded = Config::load(&path).expect("reference sip2.toml loads");
        // The file's relative paths are taken from its directory.
        let mut expected = Config::default();
        expected.resolve_paths(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(loaded, expected);
    }

    #[test]
    fn relative_sqlite_paths_move_under_the_file_directory_others_do_not() {
        let dir = Path::new("/etc/sip2auth");
        assert_eq!(
            sqlite_url_in("sqlite://data/x.db?mode=rwc", dir).as_deref(),
            Some("sqlite:///etc/sip2auth/data/x.db?mode=rwc")
        );
        assert_eq!(
            sqlite_url_in("sqlite:x.db", dir).as_deref(),
            Some("sqlite:///etc/sip2auth/x.db")
        );
        for unchanged in ["sqlite:///var/x.db", "sqlite::memory:", "postgres://db/x"] {
            assert_eq!(sqlite_url_in(unchanged, dir), None, "{unchanged}");
        }
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(Config::from_toml("").expect("empty"), Config::default());
    }

    #[test]
    fn unknown_key_is_refused_with_its_name() {
        let err = Config::from_toml("[server]\nlisen = \"0.0.0.0:6001\"\n").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let err = Config::from_toml(
            "[database]\nurl = \"mysql://x\"\nmax_connections = 0\n[server]\nmax_frame_bytes = 10\n",
        )
        .unwrap_err();
        let text = err.to_string();
        for key in [
            "database.url",
            "database.max_connections",
            "server.max_frame_bytes",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
    }

    #[test]
    fn a_default_pin_shorter_than_the_pin_minimum_is_refused() {
        let err = Config::from_toml(
            "[security.pin]\nmin_length = 6\n[security.default_credential]\nenabled = true\ndigits = 4\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("security.default_credential.digits"),
            "{err}"
        );
    }

    #[test]
    fn environment_overrides_the_database_url() {
        let mut config = Config::default();
        config.apply_env(|name| (name == ENV_DATABASE_URL).then(|| "postgres://db/x".to_string()));
        assert_eq!(config.database.url, "postgres://db/x");
    }

    #[test]
    fn a_printed_config_shows_neither_the_database_password_nor_the_pepper() {
        let pepper = "5e".repeat(32);
        let mut config = Config::default();
        config.apply_env(|name| match name {
            ENV_DATABASE_URL => Some("postgres://sip2auth:s3cret-pw@db.example/x".into()),
            security::ENV_PEPPER => Some(pepper.clone()),
            _ => None,
        });
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret-pw") && !shown.contains(&pepper),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"), "{shown}");
        assert_eq!(
            config.database.url.expose_secret(),
            "postgres://sip2auth:s3cret-pw@db.example/x"
        );
        let hex = config
            .security
            .pepper
            .key_hex_from_env
            .as_ref()
            .map(|h| h.expose_secret());
        assert_eq!(hex, Some(pepper.as_str()));
    }
}
