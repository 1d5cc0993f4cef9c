//! The command line: `serve`, `check-config`, `migrate` and the administration commands
//! ([`admin`]).
//!
//! This is the one layer that may use every module. Errors become the exit codes of
//! [`output::Exit`]; `anyhow` is used only in this module tree.

pub(crate) mod admin;
mod api_key;
mod audit;
mod check_config;
mod demo;
mod explain;
mod import;
mod mail;
pub(crate) mod output;
mod patron;
mod pepper;
mod probe;
mod prompt;
mod serve;
mod terminal;
mod terminal_upstream;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use output::Exit;

/// SIP2 authentication server for libraries.
#[derive(Debug, Parser)]
#[command(name = "sip2auth", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  sip2auth serve --demo\n  sip2auth --config /etc/sip2auth/sip2.toml serve\n  sip2auth check-config sip2.toml\n  sip2auth terminal add selfcheck-1 --location BRANCH1 --cidr 10.0.4.0/24"
)]
pub struct Cli {
    /// Configuration file. Default: ./sip2.toml when present, else the built-in defaults.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "SIP2AUTH_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SIP2 server.
    Serve(serve::ServeArgs),
    /// Check a configuration file and list every problem with its key path.
    #[command(
        after_help = "Example:\n  sip2auth check-config /etc/sip2auth/sip2.toml\n\nExit status: 0 valid, 2 problems found."
    )]
    CheckConfig {
        /// File to check (default: --config, then ./sip2.toml).
        file: Option<PathBuf>,
    },
    /// Create or upgrade the database schema (the server also does this at start).
    #[command(
        after_help = "Example:\n  SIP2AUTH_DATABASE_URL=postgres://sip2auth@db/sip2auth sip2auth migrate"
    )]
    Migrate,
    /// Manage the pepper key (the secret mixed into every hash).
    #[command(
        subcommand,
        after_help = "Example:\n  sip2auth pepper generate --out /etc/sip2auth/pepper.key"
    )]
    Pepper(pepper::PepperCommand),
    /// The demo world of `serve --demo`.
    #[command(subcommand, after_help = "Example:\n  sip2auth demo cards")]
    Demo(DemoCommand),
    #[command(flatten)]
    Admin(Box<admin::AdminCommand>),
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// List the demo cards with their PINs and what each one shows.
    Cards,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    if let Command::CheckConfig { file } = &cli.command {
        let path = file
            .clone()
            .or(cli.config)
            .unwrap_or_else(|| PathBuf::from("sip2.toml"));
        return check_config::run(&path);
    }
    if let Command::Demo(DemoCommand::Cards) = &cli.command {
        return match demo::print_cards() {
            Ok(()) => Exit::Ok.into(),
            Err(err) => {
                eprintln!("error: {err:#}");
                Exit::Usage.into()
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return Exit::Refused.into();
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code_of(&err).into()
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli.config.as_deref())?;
    match cli.command {
        // Answered in `run` before the runtime starts (it must not need a valid --config).
        Command::CheckConfig { .. } => Ok(Exit::Usage.into()),
        Command::Serve(args) => serve::run(args, config, cli.config.clone()).await,
        Command::Migrate => {
            crate::telemetry::init(&config.logging);
            crate::app::open_store(
                &config,
                crate::clock::system(),
                crate::app::Creation::IfMissing,
            )
            .await
            .context(
                "cannot open or migrate the database: check database.url or SIP2AUTH_DATABASE_URL",
            )?;
            println!("database schema is up to date");
            Ok(Exit::Ok.into())
        }
        Command::Pepper(cmd) => pepper::run(cmd, &config),
        // Answered in `run` (no configuration or database needed).
        Command::Demo(_) => Ok(Exit::Ok.into()),
        Command::Admin(cmd) => admin::run(*cmd, &config).await,
    }
}

/// Database unavailable -> 3; everything else that stops a command -> 2 (fix the config/usage).
fn exit_code_of(err: &anyhow::Error) -> Exit {
    let unavailable = err.chain().any(|cause| {
        cause
            .downcast_ref::<crate::store::Error>()
            .is_some_and(crate::store::Error::is_unavailable)
            || cause
                .downcast_ref::<crate::auth::Error>()
                .is_some_and(crate::auth::Error::is_unavailable)
    });
    if unavailable {
        Exit::Unavailable
    } else {
        Exit::Usage
    }
}

/// Loads the configuration: the given file, else ./sip2.toml when present, else defaults; then
/// the environment overrides.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let default_path = Path::new("sip2.toml");
    let mut config = match path {
        Some(path) => Config::load(path).context(
            "fix the configuration file (`sip2auth check-config FILE` lists every problem)",
        )?,
        None if default_path.exists() => Config::load(default_path)?,
        None => Config::default(),
    };
    config.apply_env(|name| std::env::var(name).ok());
    apply_database_url_file(&mut config)?;
    Ok(config)
}

/// `SIP2AUTH_DATABASE_URL_FILE`: the URL (which may carry a password) read from a file, such as
/// the credential systemd's `LoadCredential=` provides; `SIP2AUTH_DATABASE_URL` takes precedence.
fn apply_database_url_file(config: &mut Config) -> anyhow::Result<()> {
    use crate::config::{ENV_DATABASE_URL, ENV_DATABASE_URL_FILE};
    let set = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    let Some(path) = set(ENV_DATABASE_URL_FILE) else {
        return Ok(());
    };
    if set(ENV_DATABASE_URL).is_some() {
        return Ok(());
    }
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the database URL from {} ({ENV_DATABASE_URL_FILE})",
            path.display()
        )
    })?;
    config.database.url = crate::config::DatabaseUrl::from(text.trim().to_owned());
    Ok(())
}
