//! `serve --demo`: a self-contained demo world under `./demo` — its own SQLite database (marked
//! as a demo in the meta table), a locally generated pepper key, and the terminals and patrons of
//! `fixtures/demo/` (embedded in the binary). Demo mode refuses any other database, and a normal
//! `serve` refuses a demo database, so demo secrets never reach production.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;

use crate::accounts::demo::{self, DemoPatron};
use crate::accounts::patron::CardRef;
use crate::accounts::{Accounts, Operator};
use crate::app::DEMO_MARKER;
use crate::auth::pepper::write_new_key_file;
use crate::auth::{ErrorDetection, PatronCredential, PatronDetail, TerminalSettings, Terminator};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::sip2::{Charset, RequestSet};
use crate::store::{PatronStatus, Store};

const DEMO_DIR: &str = "demo";
const DEMO_DATABASE: &str = "sip2auth-demo.db";
const SEEDED: &str = "seeded";
const TERMINALS: &str = include_str!("../../fixtures/demo/terminal.toml");

/// Points the configuration at the demo database and pepper (created if missing) and, unless
/// configured otherwise, at 127.0.0.1:6001.
pub(crate) fn prepare(config: &mut Config) -> anyhow::Result<()> {
    let dir = PathBuf::from(DEMO_DIR);
    let url = format!("sqlite://{}", dir.join(DEMO_DATABASE).display());
    if std::env::var(crate::config::ENV_DATABASE_URL).is_ok_and(|set| !set.is_empty() && set != url)
    {
        bail!(
            "demo mode uses its own database ({url}); unset {} to run the demo",
            crate::config::ENV_DATABASE_URL
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    config.database.url = url.into();
    let pepper = &mut config.security.pepper;
    pepper.key_file = dir.join("pepper.key");
    pepper.key_hex_from_env = None;
    pepper.previous_keys.clear();
    if !pepper.key_file.exists() {
        write_new_key_file(&pepper.key_file)
            .with_context(|| format!("cannot write {}", pepper.key_file.display()))?;
    }
    write_demo_config(&dir)?;
    if config.server.listen == crate::config::ServerConfig::default().listen {
        config.server.listen = SocketAddr::from(([127, 0, 0, 1], 6001));
    }
    Ok(())
}

/// The demo folder's own `sip2.toml`: administration commands run in that folder (or given
/// `--config demo/sip2.toml`) use the demo database and pepper. Written once, never overwritten.
fn write_demo_config(dir: &std::path::Path) -> anyhow::Result<()> {
    let path = dir.join("sip2.toml");
    if path.exists() {
        return Ok(());
    }
    let text = format!(
        "# Written by `sip2auth serve --demo`: administration commands run in this folder use\n\
         # the demo database and pepper (paths are relative to this file).\n\
         [database]\nurl = \"sqlite://{DEMO_DATABASE}\"\n\n[security.pepper]\nkey_file = \"pepper.key\"\n\n\
         [mail]\ntransport = \"file\"\nfolder = \"outbox\"\nfrom = \"{DEMO_SENDER}\"\n"
    );
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// `sip2auth demo cards`: the demo patrons with their PINs (demo data only; published).
pub(crate) fn print_cards() -> anyhow::Result<()> {
    println!("{:<16} {:<22} {:<6} STANDING", "CARD", "NAME", "PIN");
    for patron in demo::patrons()? {
        let mut standing = patron.standing();
        if patron.card_lost() {
            standing.push_str(", card lost");
        }
        if patron.default_pin {
            standing.push_str(", one-time PIN (must change)");
        }
        println!(
            "{:<16} {:<22} {:<6} {standing}",
            patron.card_number,
            patron.display_name(),
            patron.pin().unwrap_or("-"),
        );
    }
    println!("terminal: sc_user / k7Qp2vXe9LmT4wZs (expiry dates move with today's date)");
    Ok(())
}

/// A fresh demo API key (scope admin) for each demo start, replacing the previous one: shown in
/// the ready output so the README's `curl` calls work. Demo mode only.
pub(crate) async fn api_key(accounts: &Accounts) -> anyhow::Result<SecretString> {
    let operator = Operator::new("demo")?;
    match accounts.revoke_api_key(&operator, DEMO_API_KEY).await {
        Ok(()) | Err(crate::accounts::Error::NotFound { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    let scope = crate::accounts::api_key::ApiScope::Admin;
    Ok(accounts.add_api_key(&operator, DEMO_API_KEY, scope).await?)
}

/// The demo patron with two-step log-in on, and its published key (demo data only: the
/// README gives it, so an authenticator app can be set up with it).
const DEMO_TWO_FACTOR_CARD: &str = "21234000013579";
const DEMO_TWO_FACTOR_KEY: &str = "DEMOTOTPSECRETFORTESSOTP23456723";

/// The name of the demo's API key.
const DEMO_API_KEY: &str = "demo";

/// Seeds the demo world once, through the app's own accounts (one hashing pool); refuses a
/// database that is not a demo database.
pub(crate) async fn seed(
    store: &Store,
    accounts: &Accounts,
    clock: SharedClock,
) -> anyhow::Result<()> {
    match store.get_meta(DEMO_MARKER).await?.as_deref() {
        Some(SEEDED) => return Ok(()),
        Some(_) => {}
        None if store.count_patrons().await? > 0 || store.count_terminals().await? > 0 => {
            bail!("demo mode refuses this database: it holds data and is not a demo database")
        }
        None => store.set_meta(DEMO_MARKER, "seeding").await?,
    }
    let operator = Operator::new("demo")?;
    let today = clock.now().date_naive();
    for terminal in demo_terminals()? {
        let secret = terminal.password.clone().map(SecretString::from);
        if accounts.terminal(&terminal.login_id).await.is_err() {
            accounts
                .add_terminal(&operator, &terminal.login_id, terminal.settings()?, secret)
                .await?;
        }
    }
    for patron in demo::patrons()? {
        create(&patron, accounts, &operator, today).await?;
    }
    let two_step = CardRef {
        institution: "MAIN".into(),
        card: DEMO_TWO_FACTOR_CARD.into(),
    };
    accounts
        .enrol_known_two_factor(&two_step, DEMO_TWO_FACTOR_KEY)
        .await?;
    store.set_meta(DEMO_MARKER, SEEDED).await?;
    Ok(())
}

/// The line printed once the server listens.
pub(crate) fn ready_line(
    address: SocketAddr,
    web: Option<&str>,
    demo: bool,
    mail: &crate::config::MailConfig,
) -> String {
    let mail = match mail.transport {
        crate::config::MailTransport::File if demo => format!(
            "; mails (reset links, notices) are written as .eml files under {}/",
            mail.folder.display()
        ),
        _ => String::new(),
    };
    let web = match web {
        Some(url) if demo => format!(
            "; patron pages on {url} (card 21234000012345, PIN 4931; the demo cards table \
             lists the others)"
        ),
        Some(url) => format!("; patron pages on {url}"),
        None => String::new(),
    };
    if demo {
        format!(
            "sip2auth demo ready on {address}: log in as sc_user / k7Qp2vXe9LmT4wZs; demo cards \
             and PINs: sip2auth demo cards (try: sip2auth probe {address} --login sc_user \
             --patron 21234000012345); admin commands run in ./demo use the demo database{web}{mail}"
        )
    } else {
        format!("sip2auth ready on {address}{web}")
    }
}

/// The demo serves the patron pages too: on 127.0.0.1:8080 unless configured otherwise, or on
/// a free port when SIP2 listens on one (port 0), so several demos can run side by side.
pub(crate) fn prepare_web(config: &mut Config) {
    config.web.enabled = true;
    if config.web.listen == crate::config::WebConfig::default().listen
        && config.server.listen.port() == 0
    {
        config.web.listen.set_port(0);
    }
}

/// The demo's sender address.
const DEMO_SENDER: &str = "Demo Library <library@demo.invalid>";

/// The folder the demo's mails are written to, one `.eml` file per mail.
pub(crate) const DEMO_OUTBOX: &str = "demo/outbox";

/// The demo sends its mails (reset links, notices) to files under `demo/outbox/`, unless mail
/// is configured otherwise.
pub(crate) fn prepare_mail(config: &mut Config) {
    if config.mail.transport != crate::config::MailTransport::None {
        return;
    }
    config.mail.transport = crate::config::MailTransport::File;
    config.mail.folder = PathBuf::from(DEMO_OUTBOX);
    if config.mail.from.is_empty() {
        config.mail.from = DEMO_SENDER.into();
    }
}

/// The demo runs the admin listener too (health, metrics): on 127.0.0.1:9090 unless configured
/// otherwise, or on a free port when SIP2 listens on one.
pub(crate) fn prepare_admin(config: &mut Config) {
    config.admin.enabled = true;
    if config.admin.listen == crate::config::AdminConfig::default().listen
        && config.server.listen.port() == 0
    {
        config.admin.listen.set_port(0);
    }
}

#[derive(Debug, Deserialize)]
struct TerminalFile {
    terminal: Vec<DemoTerminal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTerminal {
    login_id: String,
    password: Option<String>,
    institution: String,
    location_code: Option<String>,
    allowed_cidrs: Vec<IpNet>,
    login_optional: bool,
    patron_credential: String,
    allowed_messages: Vec<String>,
    patron_detail: String,
    charset: String,
    terminator: String,
    error_detection: String,
}

impl DemoTerminal {
    fn settings(&self) -> anyhow::Result<TerminalSettings> {
        let mut settings = TerminalSettings::new(self.institution.clone());
        settings.location_code = self.location_code.clone();
        settings.allowed_cidrs = self.allowed_cidrs.clone();
        settings.login_optional = self.login_optional;
        settings.patron_credential = parse::<PatronCredential>(&self.patron_credential)?;
        settings.allowed_messages = self
            .allowed_messages
            .join(" ")
            .parse::<RequestSet>()
            .map_err(|err| anyhow::anyhow!("demo terminal {}: {err}", self.login_id))?;
        settings.patron_detail = parse::<PatronDetail>(&self.patron_detail)?;
        settings.charset = parse::<Charset>(&self.charset)?;
        settings.terminator = parse::<Terminator>(&self.terminator)?;
        settings.error_detection = parse::<ErrorDetection>(&self.error_detection)?;
        Ok(settings)
    }
}

fn parse<T: std::str::FromStr>(text: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|err| anyhow::anyhow!("demo fixture value {text:?}: {err}"))
}

fn demo_terminals() -> anyhow::Result<Vec<DemoTerminal>> {
    Ok(toml::from_str::<TerminalFile>(TERMINALS)
        .context("fixtures/demo/terminal.toml")?
        .terminal)
}

/// Creates one demo patron through the account operations (PIN rules, audit).
async fn create(
    patron: &DemoPatron,
    accounts: &Accounts,
    operator: &Operator,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let at = CardRef {
        institution: patron.institution().to_owned(),
        card: patron.card_number.clone(),
    };
    if accounts.patron(&at).await.is_ok() {
        return Ok(());
    }
    let pin = patron.pin().map(SecretString::from);
    let first_pin = if patron.default_pin {
        None
    } else {
        pin.clone()
    };
    accounts
        .add_patron(operator, &at, patron.details(today)?, first_pin)
        .await
        .with_context(|| format!("demo patron {}", patron.card_number))?;
    if let (true, Some(pin)) = (patron.default_pin, &pin) {
        accounts.set_one_time_pin(operator, &at, pin).await?;
    }
    if let PatronStatus::Blocked { reason } = patron.status() {
        accounts.block(operator, &at, &reason).await?;
    }
    if patron.card_lost() {
        accounts.mark_lost(operator, &at, true).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_terminals_parse() {
        let terminals = demo_terminals().expect("terminals");
        assert!(terminals.iter().any(|t| t.login_id == "sc_user"));
        for terminal in &terminals {
            terminal.settings().expect("settings");
        }
    }

    #[test]
    fn path_is_relative_to_the_working_directory() {
        let path = std::path::Path::new(DEMO_DIR).join(DEMO_DATABASE);
        assert_eq!(path, std::path::Path::new("demo/sip2auth-demo.db"));
    }
}
