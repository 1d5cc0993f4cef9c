//! `sip2auth api-key …`: the keys of the admin API. A new key is generated and shown once; only
//! its digest is stored. Listing shows each key's scope and when it was last used.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use super::admin::{finish, open, operator_of, required, OperatorArg};
use super::output::{show_secret_once, timestamp};
use crate::accounts::api_key::ApiScope;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for the admin API; prints it once.
    #[command(
        after_help = "Example:\n  sip2auth api-key add ils-sync --scope write --operator alice"
    )]
    Add {
        /// A name for the key (who uses it); audit records of its writes carry it.
        name: String,
        /// read: look-ups; write: also change patrons; admin: also manage terminals.
        #[arg(long, value_enum)]
        scope: Scope,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// List the keys with their scope and when each was last used (never the keys).
    #[command(after_help = "Example:\n  sip2auth api-key list")]
    List,
    /// Revoke a key: requests with it are refused at once.
    #[command(after_help = "Example:\n  sip2auth api-key revoke ils-sync --operator alice")]
    Revoke {
        name: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
}

/// `--scope`, as clap reads it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl From<Scope> for ApiScope {
    fn from(scope: Scope) -> ApiScope {
        match scope {
            Scope::Read => ApiScope::Read,
            Scope::Write => ApiScope::Write,
            Scope::Admin => ApiScope::Admin,
        }
    }
}

pub(crate) async fn run(command: ApiKeyCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let operator = match &command {
        ApiKeyCommand::Add { operator, .. } | ApiKeyCommand::Revoke { operator, .. } => {
            Some(operator)
        }
        ApiKeyCommand::List => None,
    };
    let operator = match operator_of(operator) {
        Ok(operator) => operator,
        Err(code) => return Ok(code),
    };
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    Ok(match command {
        ApiKeyCommand::Add { name, scope, .. } => {
            let scope = ApiScope::from(scope);
            let result = accounts
                .add_api_key(&required(&operator)?, &name, scope)
                .await;
            finish(result, |key| {
                println!("API key {} created (scope {})", name.trim(), scope.as_str());
                show_secret_once("key", &key);
            })
        }
        ApiKeyCommand::List => finish(accounts.api_keys().await, |keys| {
            println!("{:<24} {:<6} {:<20} LAST USED", "NAME", "SCOPE", "CREATED");
            for key in keys {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or_else(|| "never".to_owned(), timestamp)
                };
                println!(
                    "{:<24} {:<6} {:<20} {}",
                    key.name,
                    key.scope.as_str(),
                    when(key.created),
                    when(key.last_used)
                );
            }
        }),
        ApiKeyCommand::Revoke { name, .. } => {
            let result = accounts.revoke_api_key(&required(&operator)?, &name).await;
            finish(result, |()| println!("API key {} revoked", name.trim()))
        }
    })
}
