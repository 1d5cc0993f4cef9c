//! `sip2auth explain CARD [--terminal ID]`: what a terminal would be told about a card and why,
//! without verifying a PIN and without showing any secret.

use std::process::ExitCode;

use clap::Args;

use super::admin::open;
use super::output::{fact, report, Exit};
use crate::accounts::patron::CardRef;
use crate::auth::{Told, Typed};
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

pub(crate) async fn run(args: ExplainArgs, config: &Config) -> anyhow::Result<ExitCode> {
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
    for answer in &explanation.answers {
        fact(&typed_label(answer.typed), told_text(&answer.told));
    }
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

/// "correct PIN", "wrong password", ...
fn typed_label(typed: Typed) -> String {
    let (correct, noun) = match typed {
        Typed::Pin { correct } => (correct, "PIN"),
        Typed::Password { correct } => (correct, "password"),
    };
    format!("{} {noun}", if correct { "correct" } else { "wrong" })
}

/// BL, CQ, the status flags and AF as the terminal is told them.
fn told_text(told: &Told) -> String {
    let yn = |b: bool| if b { "Y" } else { "N" };
    let cq = told.valid_credential.map_or("left out", yn);
    let flags = if told.flags.is_empty() {
        "none".to_owned()
    } else {
        told.flags
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let af = if told.messages.is_empty() {
        "none".to_owned()
    } else {
        told.messages
            .iter()
            .map(|m| format!("\"{}\" (messages.{})", m.text, m.reason.key()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let shown = if told.name_and_fees {
        "name and fees shown"
    } else {
        "no name or fees"
    };
    format!(
        "BL={} CQ={cq}; flags: {flags}; AF: {af}; {shown}",
        yn(told.valid_patron)
    )
}
