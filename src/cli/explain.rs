//! `sip2auth explain CARD [--terminal ID]`: what a terminal would be told about a card and why,
//! without verifying a PIN and without showing any secret.

use std::process::ExitCode;

use clap::Args;

use super::admin::open;
use super::output::{fact, report, Exit};
use crate::accounts::patron::CardRef;
use crate::config::Config;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sip2auth explain 21000123\n  sip2auth explain 21000123 --terminal selfcheck-01\n\n\
    Exit codes: 0 explained, 4 unknown card or terminal, 3 database unavailable."
)]
pub struct ExplainArgs {
    /// Library card number.
    pub card: String,
    /// Explain as this terminal sees it (its institution, credential kind, enabled state).
    #[arg(long, value_name = "LOGIN_ID")]
    pub terminal: Option<String>,
    /// Institution of the card when no terminal is given [default: server.institution_id]
    #[arg(long)]
    pub institution: Option<String>,
}

pub async fn run(args: ExplainArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    let at = CardRef {
        institution: config
            .server
            .institution_or_default(args.institution.as_deref()),
        card: args.card.trim().to_owned(),
    };
    let explanation = match accounts.explain(&at, args.terminal.as_deref()).await {
        Ok(explanation) => explanation,
        Err(err) => return Ok(report(&err)),
    };
    println!("card {}: {}", at.card, explanation.verdict);
    for (label, text) in &explanation.facts {
        fact(label, text);
    }
    fact(
        "valid patron (BL)",
        if explanation.valid_patron { "Y" } else { "N" },
    );
    let credential = explanation.credential;
    fact(
        &format!("correct {credential} (CQ)"),
        &if explanation.pin_would_verify {
            format!("Y: a correct {credential} is accepted")
        } else {
            format!("N: refused whatever {credential} is typed")
        },
    );
    Ok(
        // A known card (even one answered as unknown because it is lost) is explained: exit 0.
        if explanation.card_on_file {
            Exit::Ok
        } else {
            Exit::NotFound
        }
        .into(),
    )
}
