//! cli: clap commands. The administration commands live in [`admin`]; the top-level command set
//! (serve, check-config, migrate) is owned by the lead and merged here.
//!
//! May use everything.

pub mod admin;
mod explain;
mod import;
mod output;
mod patron;
mod probe;
mod prompt;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::config::Config;

/// Minimal top level used on the `admin` branch to drive the administration commands.
#[derive(Debug, Parser)]
#[command(
    name = "sip2auth",
    version,
    about = "SIP2 authentication server for libraries"
)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: admin::AdminCommand,
}

/// Loads the configuration (file if given, then environment) and runs the command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = match &cli.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("error: {err}");
                return Ok(ExitCode::from(2));
            }
        },
        None => Config::default(),
    };
    config.apply_env(|name| std::env::var(name).ok());
    admin::run(cli.command, &config).await
}
