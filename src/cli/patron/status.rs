//! `patron unlock | block | unblock | mark-lost`: a patron's standing from the command line.
//!
//! Uses `accounts` and the CLI output helpers; must not import `server`, `sip2` or `store` SQL.

use std::process::ExitCode;

use crate::accounts::patron::CardRef;
use crate::accounts::{Accounts, Operator};
use crate::cli::admin::finish;

pub(super) async fn unlock(accounts: &Accounts, op: &Operator, at: &CardRef) -> ExitCode {
    finish(accounts.unlock(op, at).await, |()| {
        println!("card {}: locks cleared", at.card)
    })
}

pub(super) async fn block(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    reason: &str,
) -> ExitCode {
    finish(accounts.block(op, at, reason).await, |_| {
        println!("card {}: patron blocked", at.card)
    })
}

pub(super) async fn unblock(accounts: &Accounts, op: &Operator, at: &CardRef) -> ExitCode {
    finish(accounts.unblock(op, at).await, |()| {
        println!("card {}: patron active", at.card)
    })
}

pub(super) async fn mark_lost(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    found: bool,
) -> ExitCode {
    finish(accounts.mark_lost(op, at, !found).await, |()| {
        println!(
            "card {} marked {}",
            at.card,
            if found { "found" } else { "lost" }
        )
    })
}
