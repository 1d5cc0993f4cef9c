//! `sip2auth audit [--card C] [--operator O] [--terminal T] [--action A] [--since D] [--until D]
//! [--limit N] [--json]`: the audit log, newest first, as a table or one JSON object a line.
//! Cards are stored pseudonymised, so `--card` is looked up by its pseudonym.
//!
//! Uses `accounts` and `store` value types; must not import `server` or `sip2`.

use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;

use super::admin::open;
use super::output::{report, timestamp, Exit};
use crate::config::Config;
use crate::store::{AuditEntry, AuditQuery};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sip2auth audit --card 21000123 --since 2025-03-01\n  \
    sip2auth audit --operator alice --limit 20\n  sip2auth audit --terminal selfcheck-01 --json"
)]
pub struct AuditArgs {
    /// Only records about this card (looked up by its pseudonym).
    #[arg(long, value_name = "CARD")]
    pub card: Option<String>,
    /// Only actions of this member of staff.
    #[arg(long, value_name = "NAME", conflicts_with = "terminal")]
    pub operator: Option<String>,
    /// Only actions of this terminal (its login id).
    #[arg(long, value_name = "LOGIN_ID")]
    pub terminal: Option<String>,
    /// Only records of this action, e.g. pin, reset_pin, block.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// From this moment on: YYYY-MM-DD (UTC midnight) or RFC 3339.
    #[arg(long, value_name = "DATE", value_parser = moment)]
    pub since: Option<DateTime<Utc>>,
    /// Before this moment: YYYY-MM-DD (UTC midnight) or RFC 3339.
    #[arg(long, value_name = "DATE", value_parser = moment)]
    pub until: Option<DateTime<Utc>>,
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// One JSON object a line instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn moment(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "write the date as YYYY-MM-DD or 2025-03-14T09:30:00Z".into())
}

pub(crate) async fn run(args: AuditArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    let actor = match (&args.operator, &args.terminal) {
        (Some(name), _) => Some(format!("staff:{}", name.trim())),
        (None, Some(login)) => Some(format!("terminal:{}", login.trim())),
        (None, None) => None,
    };
    let query = AuditQuery {
        since: args.since,
        until: args.until,
        actor,
        action: args.action.clone(),
        limit: args.limit.max(1),
        ..AuditQuery::default()
    };
    let entries = match accounts.audit_log(args.card.as_deref(), query).await {
        Ok(entries) => entries,
        Err(err) => return Ok(report(&err)),
    };
    if args.json {
        for entry in &entries {
            println!("{}", json(entry));
        }
    } else {
        table(&entries);
    }
    Ok(Exit::Ok.into())
}

fn json(e: &AuditEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "at": e.entry.at.to_rfc3339(),
        "actor": e.entry.actor,
        "card_pseudonym": e.entry.card_pseudonym,
        "action": e.entry.action,
        "outcome": e.entry.outcome,
        "reason": e.entry.reason,
    })
}

fn table(entries: &[AuditEntry]) {
    println!(
        "{:<20} {:<24} {:<22} {:<14} {:<12} REASON",
        "AT", "ACTOR", "ACTION", "OUTCOME", "CARD"
    );
    for e in entries {
        let card = e
            .entry
            .card_pseudonym
            .as_deref()
            .map_or("-".to_string(), |p| p.chars().take(10).collect());
        println!(
            "{:<20} {:<24} {:<22} {:<14} {:<12} {}",
            timestamp(e.entry.at),
            e.entry.actor,
            e.entry.action,
            e.entry.outcome,
            card,
            e.entry.reason.as_deref().unwrap_or("-")
        );
    }
    if entries.is_empty() {
        println!("(no audit records match)");
    }
}
