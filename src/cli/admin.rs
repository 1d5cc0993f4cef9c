//! The administration commands (`terminal`, `patron`, `import`, `explain`, `audit`, `api-key`, `probe`) as one clap
//! subcommand enum and one entry point, so the top-level CLI only has to flatten [`AdminCommand`]
//! and call [`run`]. Opens the database and the account context each command needs.
//!
//! May use everything; the work itself is done by `accounts` (and `sip2` for `probe`).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::output::{report, Exit};
use super::{api_key, audit, explain, import, patron, probe, terminal};
use crate::accounts::{Accounts, Error, Operator};
use crate::app::Creation;
use crate::config::Config;

/// Administration subcommands, flattened into the top-level command list.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage terminal accounts (self-checks, PC booking, proxies).
    #[command(
        subcommand,
        after_help = "Examples:\n  sip2auth terminal add selfcheck-01 --location BRANCH1 --cidr 10.1.2.0/24\n  \
        sip2auth terminal list\n  sip2auth terminal add ezproxy --login-free --cidr 10.0.9.17/32 --detail minimal"
    )]
    Terminal(terminal::TerminalCommand),
    /// Manage patrons: details, PIN and password, locks, blocks, lost cards.
    #[command(
        subcommand,
        after_help = "Examples:\n  sip2auth patron add 21000123 --family-name Okafor --with-pin\n  \
        sip2auth patron show 21000123\n  sip2auth patron reset-pin 21000123 --operator alice"
    )]
    Patron(patron::PatronCommand),
    /// Load patrons from an ILS export (CSV), upserting by card.
    Import(import::ImportArgs),
    /// Show what a terminal would be told about a card, and why (no PIN is checked).
    Explain(explain::ExplainArgs),
    /// The audit log, newest first, filtered by card, operator, terminal, action or time.
    Audit(audit::AuditArgs),
    /// Manage the keys of the admin API (shown once, stored hashed, revocable).
    #[command(
        subcommand,
        after_help = "Examples:\n  sip2auth api-key add ils-sync --scope write --operator alice\n  \
        sip2auth api-key list\n  sip2auth api-key revoke ils-sync --operator alice"
    )]
    ApiKey(api_key::ApiKeyCommand),
    /// The mail outbox: depth and failures.
    #[command(subcommand, after_help = "Example:\n  sip2auth mail status")]
    Mail(super::mail::MailCommand),
    /// SIP2 client: log in, send SC status, optionally check a patron; for staff and health checks.
    Probe(probe::ProbeArgs),
}

/// Runs an administration command with the loaded configuration (file + environment).
pub(crate) async fn run(command: AdminCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Terminal(cmd) => terminal::run(cmd, config).await,
        AdminCommand::Patron(cmd) => patron::run(cmd, config).await,
        AdminCommand::Import(args) => import::run(args, config).await,
        AdminCommand::Explain(args) => explain::run(args, config).await,
        AdminCommand::Audit(args) => audit::run(args, config).await,
        AdminCommand::ApiKey(cmd) => api_key::run(cmd, config).await,
        AdminCommand::Mail(cmd) => super::mail::run(cmd, config).await,
        AdminCommand::Probe(args) => probe::run(args).await,
    }
}

/// `--operator NAME`: who does a staff action (recorded in the audit log).
#[derive(Debug, Clone, Args)]
pub struct OperatorArg {
    /// Operator name recorded in the audit log [default: $USER]
    #[arg(long, value_name = "NAME", env = "USER", hide_env = true)]
    pub operator: Option<String>,
}

impl OperatorArg {
    pub(crate) fn operator(&self) -> Result<Operator, Error> {
        Operator::new(self.operator.as_deref().unwrap_or(""))
    }
}

/// The operator of a command, resolved before any work: `None` for a read-only command (no
/// `--operator`); an invalid name is reported and its exit code returned.
pub(crate) fn operator_of(arg: Option<&OperatorArg>) -> Result<Option<Operator>, ExitCode> {
    arg.map(OperatorArg::operator)
        .transpose()
        .map_err(|err| report(&err))
}

/// The operator of a mutating command, which [`operator_of`] resolved from its `--operator`.
pub(crate) fn required(operator: &Option<Operator>) -> anyhow::Result<Operator> {
    operator
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--operator is required"))
}

/// Connects to the existing database (never creating one), applies pending migrations and builds
/// the account context.
/// On failure prints what to fix and returns the exit code.
pub(crate) async fn open(config: &Config) -> Result<Accounts, ExitCode> {
    let clock = crate::clock::system();
    let store = match crate::app::open_store(config, clock.clone(), Creation::Never).await {
        Ok(store) => store,
        Err(err) => return Err(report(&Error::from(err))),
    };
    Accounts::new(store, config, clock)
        .await
        .map_err(|err| report(&err))
}

/// Maps the result of an account action to an exit code (printing the error, if any).
pub(crate) fn finish<T>(result: Result<T, Error>, on_ok: impl FnOnce(T)) -> ExitCode {
    match result {
        Ok(value) => {
            on_ok(value);
            Exit::Ok.into()
        }
        Err(err) => report(&err),
    }
}
