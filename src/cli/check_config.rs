//! `sip2auth check-config [FILE]`: every problem, with its key path.

use std::path::Path;
use std::process::ExitCode;

use super::output::Exit;
use crate::config::{self, Config};

/// Reports the file's problems, the environment overrides' and the pepper key's, all in one run.
pub(crate) fn run(path: &Path) -> ExitCode {
    let lookup = |name: &str| std::env::var(name).ok();
    let (config, mut problems) = match Config::load(path) {
        Ok(config) => (config, config::Problems::default()),
        Err(err @ (config::Error::Read { .. } | config::Error::Syntax { .. })) => {
            eprintln!("{err}");
            return Exit::Usage.into();
        }
        // The file's problems, then what can still be checked with the defaults.
        Err(config::Error::Invalid { problems, .. }) => (Config::default(), problems),
    };
    let mut config = config;
    config.apply_env(lookup);
    problems.extend(env_problems(&config));
    if let Some(pepper) = pepper_problem(&config) {
        problems.extend(pepper);
    }
    if let Some(tls) = tls_problem(&config) {
        problems.extend(tls);
    }
    if problems.is_empty() {
        println!("{}: ok", path.display());
        return Exit::Ok.into();
    }
    let err = config::Error::Invalid {
        path: path.to_owned(),
        problems,
    };
    println!("{err}");
    Exit::Usage.into()
}

/// Values taken from the environment, which override the file: named by their variable.
fn env_problems(config: &Config) -> config::Problems {
    let mut problems = config::Problems::default();
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if from_env(config::ENV_DATABASE_URL).is_some() {
        let url = &config.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            let scheme: String = url
                .expose_secret()
                .split(':')
                .next()
                .unwrap_or_default()
                .chars()
                .take(16)
                .collect();
            problems.push_at(
                config::ENV_DATABASE_URL,
                format!(
                    "scheme {scheme:?} is not supported: it must start with sqlite:, postgres:// \
                     or postgresql:// (it overrides database.url)"
                ),
            );
        }
    }
    if let Some(hex) = &config.security.pepper.key_hex_from_env {
        if let Err(err) =
            crate::auth::PepperKey::parse(hex.expose_secret().as_bytes(), "from SIP2AUTH_PEPPER")
        {
            problems.push_at(config::security::ENV_PEPPER, err.to_string());
        }
    }
    problems
}

/// The server refuses to start without its pepper key, so say so before it is started.
fn pepper_problem(config: &Config) -> Option<config::Problems> {
    let pepper = &config.security.pepper;
    if pepper.key_hex_from_env.is_some() || pepper.key_file.is_file() {
        return None;
    }
    let mut problems = config::Problems::default();
    problems.push_at(
        "security.pepper.key_file",
        format!(
            "{} does not exist (create it with `sip2auth pepper generate --out {}`, or set {})",
            pepper.key_file.display(),
            pepper.key_file.display(),
            config::security::ENV_PEPPER
        ),
    );
    Some(problems)
}

/// The server refuses to start on a certificate and key that do not load: say so first.
fn tls_problem(config: &Config) -> Option<config::Problems> {
    let error = crate::net::TlsAcceptor::configured(&config.server.tls).err()?;
    let mut problems = config::Problems::default();
    problems.push_at("server.tls.certificate", error.to_string());
    Some(problems)
}
