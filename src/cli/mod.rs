//! The command line: `serve`, `check-config`, `migrate` and the administration commands.
//!
//! This is the one layer that may use every module. Errors become exit codes here (see
//! [`exit`]); `anyhow` is used only in this module tree.

mod check_config;
pub mod exit;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

/// SIP2 authentication server for libraries.
#[derive(Debug, Parser)]
#[command(name = "sip2auth", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  sip2auth serve --demo\n  sip2auth --config /etc/sip2auth/sip2.toml serve\n  sip2auth check-config sip2.toml"
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
    /// Check a configuration file and list every problem with its key path.
    #[command(
        after_help = "Example:\n  sip2auth check-config /etc/sip2auth/sip2.toml\n\nExit status: 0 valid, 2 problems found."
    )]
    CheckConfig {
        /// File to check (default: --config, then ./sip2.toml).
        file: Option<PathBuf>,
    },
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::CheckConfig { file } => {
            let path = file
                .or(cli.config)
                .unwrap_or_else(|| PathBuf::from("sip2.toml"));
            check_config::run(&path)
        }
    }
}

/// Loads the configuration: the given file, else ./sip2.toml when present, else defaults; then
/// the environment overrides.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let default_path = Path::new("sip2.toml");
    let mut config = match path {
        Some(path) => Config::load(path).with_context(|| {
            "fix the configuration file, or check it with `sip2auth check-config FILE`"
        })?,
        None if default_path.exists() => Config::load(default_path)?,
        None => Config::default(),
    };
    config.apply_env(|name| std::env::var(name).ok());
    Ok(config)
}
