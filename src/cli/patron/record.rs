//! `patron add | show | list | update | remove`: the patron record from the command line.
//!
//! Uses `accounts` and the CLI output helpers; must not import `server` or `sip2`, and never
//! prints a PIN, password or hash.

use std::process::ExitCode;

use secrecy::SecretString;

use super::args::DetailArgs;
use super::output::{self, usage};
use crate::accounts::patron::CardRef;
use crate::accounts::{Accounts, Error, Operator};
use crate::cli::admin::finish;
use crate::cli::output::{report, Exit};
use crate::store::{PatronFilter, PatronId};

pub(super) async fn add(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    details: &DetailArgs,
    pin: Option<SecretString>,
) -> ExitCode {
    let details = match details.new_patron() {
        Ok(details) => details,
        Err(message) => return usage(&message),
    };
    let policy = accounts.default_pin_policy();
    finish(accounts.add_patron(op, at, details, pin).await, |added| {
        output::added(at, &added, policy)
    })
}

/// `patron show CARD|ID`: by card first; a number that is no card is taken as the internal id
/// `patron list` shows.
pub(super) async fn show(accounts: &Accounts, at: &CardRef) -> ExitCode {
    let found = match accounts.patron(at).await {
        Err(Error::NotFound { .. }) if at.card.parse::<i64>().is_ok() => {
            let id = at.card.parse::<i64>().map(PatronId).unwrap_or(PatronId(0));
            accounts.patron_by_id(id).await
        }
        other => other,
    };
    let hard_threshold = accounts.config().security.lockout.pin_hard_threshold;
    match found {
        Ok(record) => match accounts.cards(record.patron.id).await {
            Ok(cards) => {
                output::show(&record, &cards, hard_threshold);
                Exit::Ok.into()
            }
            Err(err) => report(&err),
        },
        Err(err) => report(&err),
    }
}

pub(super) async fn list(accounts: &Accounts, filter: &PatronFilter) -> ExitCode {
    let patrons = match accounts.patrons(filter).await {
        Ok(patrons) => patrons,
        Err(err) => return report(&err),
    };
    let mut rows = Vec::with_capacity(patrons.len());
    for patron in patrons {
        match accounts.cards(patron.id).await {
            Ok(cards) => rows.push((patron, cards)),
            Err(err) => return report(&err),
        }
    }
    output::list(&rows);
    Exit::Ok.into()
}

/// Changes details. A changed phone never changes the PIN; when the patron still has a default
/// (or one-time) PIN, staff are reminded that it keeps working until changed or expired.
pub(super) async fn update(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    details: &DetailArgs,
) -> ExitCode {
    let changes = match details.changes() {
        Ok(changes) => changes,
        Err(message) => return usage(&message),
    };
    let phone_changed = changes.phone.is_some();
    let updated = match accounts.update_patron(op, at, changes).await {
        Ok(updated) => updated,
        Err(err) => return report(&err),
    };
    println!("patron with card {} updated", at.card);
    if phone_changed {
        let temporary = updated.patron.pin.and_then(|pin| pin.default_expires_at);
        if let Some(expires) = temporary {
            output::pin_kept_after_phone_change(expires);
        }
    }
    Exit::Ok.into()
}

pub(super) async fn remove(accounts: &Accounts, op: &Operator, at: &CardRef) -> ExitCode {
    finish(accounts.remove_patron(op, at).await, |()| {
        println!("patron with card {} removed", at.card)
    })
}

/// `patron list --legacy`: how many legacy hashes remain, and whose.
pub(super) async fn legacy(accounts: &Accounts) -> ExitCode {
    finish(accounts.legacy_credentials().await, |found| {
        output::legacy(&found)
    })
}

/// `patron expire-legacy --older-than AGE`.
pub(super) async fn expire_legacy(
    accounts: &Accounts,
    op: &Operator,
    older_than: std::time::Duration,
) -> ExitCode {
    finish(accounts.expire_legacy(op, older_than).await, |done| {
        println!(
            "{} legacy hash(es) removed: those patrons must get a new PIN or password \
             (staff reset or email reset); {} younger legacy hash(es) remain",
            done.expired, done.remaining
        )
    })
}
