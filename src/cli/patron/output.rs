//! What the `patron` commands print: a patron's record (`show`), the list table, and the
//! sentences about a first PIN. Plain text on stdout; errors go through `cli::output::report`.
//!
//! Never prints a PIN, password or hash: of a default PIN it names only how many phone digits it
//! uses and when it stops working. Uses `accounts` and `store` value types and `config`; must not
//! import `server` or `sip2`.

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::accounts::legacy::LegacyCredential;
use crate::accounts::patron::{CardRef, FirstPin, PatronAdded};
use crate::cli::output::{fact, timestamp, Exit};
use crate::config::security::DefaultCredentialConfig;
use crate::store::{
    Card, CredentialColumn, CredentialHash, Money, Patron, PatronRecord, PatronStatus,
};

/// Prints a usage error and returns its exit code.
pub(super) fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    Exit::Usage.into()
}

/// The result of `patron add`. `policy` is the default-PIN policy when enabled.
pub(super) fn added(at: &CardRef, added: &PatronAdded, policy: Option<&DefaultCredentialConfig>) {
    println!("patron {} created with card {}", added.id, at.card);
    match (&added.pin, policy) {
        (FirstPin::Default(issued), _) => println!(
            "default PIN set from the last {} digits of the phone (not shown): the patron must \
             change it before {} ({}); it stops working then",
            issued.digits,
            timestamp(issued.expires_at),
            lifetime(policy.map_or(Duration::ZERO, |p| p.lifetime)),
        ),
        (FirstPin::NotSet, Some(policy)) => println!(
            "no PIN set: the patron has no phone with at least {} digits for a default PIN \
             (use patron reset-pin)",
            policy.digits
        ),
        _ => {}
    }
}

/// After `patron update --phone` on a patron whose PIN is still a default or one-time PIN.
pub(super) fn pin_kept_after_phone_change(expires: DateTime<Utc>) {
    println!(
        "note: the PIN did not change with the phone; the patron's default or one-time PIN \
         still works until it is changed or until {}",
        timestamp(expires)
    );
}

/// A lifetime in days (or hours, minutes, seconds when shorter than a day), for staff.
pub(crate) fn lifetime(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The table of `patron list`: the internal id (which `patron show` also takes) and the cards.
pub(super) fn list(patrons: &[(Patron, Vec<Card>)]) {
    println!(
        "{:<8} {:<20} {:<10} {:<30} {:<10} EXPIRES",
        "ID", "CARDS", "INSTITUTION", "NAME", "STATUS"
    );
    for (p, cards) in patrons {
        let cards = if cards.is_empty() {
            "-".to_string()
        } else {
            card_list(cards)
        };
        println!(
            "{:<8} {:<20} {:<10} {:<30} {:<10} {}",
            p.id,
            cards,
            p.institution,
            p.details.name.display,
            status_word(&p.status),
            p.details.expires_on.map_or("-".into(), |d| d.to_string())
        );
    }
}

fn card_list(cards: &[Card]) -> String {
    cards
        .iter()
        .map(|c| {
            if c.lost {
                format!("{} (lost)", c.number)
            } else {
                c.number.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn status_word(status: &PatronStatus) -> String {
    match status {
        PatronStatus::Active => "active".into(),
        PatronStatus::Blocked { .. } => "blocked".into(),
        PatronStatus::CardLost => "card-lost".into(),
    }
}

/// `patron show`: every stored fact, and of the PIN and password only their flags.
/// `hard_threshold` is `security.lockout.pin_hard_threshold` (0: no hard lock).
pub(super) fn show(record: &PatronRecord, cards: &[Card], hard_threshold: u32) {
    let p = &record.patron;
    let d = &p.details;
    println!("patron {}", p.id);
    fact("name", &d.name.display);
    fact("institution", &p.institution);
    fact("cards", card_list(cards));
    let status = match &p.status {
        PatronStatus::Blocked { reason } => format!("blocked: {reason}"),
        other => status_word(other),
    };
    fact("status", status);
    fact("email", d.email.as_deref().unwrap_or("-"));
    fact("phone", d.phone.as_deref().unwrap_or("-"));
    fact(
        "birth date",
        d.birth_date.map_or("-".into(), |v| v.to_string()),
    );
    fact("class", d.patron_class.as_deref().unwrap_or("-"));
    fact("home library", d.home_library.as_deref().unwrap_or("-"));
    fact(
        "expires",
        d.expires_on.map_or("never".into(), |v| v.to_string()),
    );
    let limit = d.fee_limit_minor.map_or("no limit".into(), |l| {
        format!("limit {}", Money::from_minor(l))
    });
    fact(
        "fines",
        format!(
            "{} {} ({limit})",
            Money::from_minor(d.fines_owed_minor),
            d.currency
        ),
    );
    let credential = |c: &Option<CredentialHash>| match c {
        None => "not set".to_string(),
        Some(c) => {
            let legacy = crate::auth::hashing::legacy_of(&c.into());
            let mut text = match legacy {
                Some(l) => format!(
                    "legacy {} hash without the pepper (replaced at the next successful check)",
                    l.scheme()
                ),
                None => format!("set (key {})", c.key_id),
            };
            if c.must_change {
                text.push_str(", must change");
            }
            if let Some(t) = c.default_expires_at {
                text.push_str(&format!(", one-time or default PIN until {}", timestamp(t)));
            }
            text
        }
    };
    fact("PIN", credential(&p.pin));
    fact("online password", credential(&p.password));
    let hard_locked = hard_threshold != 0 && p.pin_lock.failures >= hard_threshold;
    let lock = match p.pin_lock.locked_until {
        _ if hard_locked => format!(
            "{} failure(s), locked until a staff reset (patron unlock or reset-pin) or an email \
             reset",
            p.pin_lock.failures
        ),
        Some(until) => format!(
            "{} failure(s), locked until {}",
            p.pin_lock.failures,
            timestamp(until)
        ),
        None => format!("{} failure(s)", p.pin_lock.failures),
    };
    fact("PIN lock", lock);
}

/// `patron list --legacy`: the count, then one line per legacy hash.
pub(super) fn legacy(found: &[LegacyCredential]) {
    println!(
        "{} legacy hash(es) remain (imported from an ILS, without the pepper; each is replaced \
         by an argon2id hash at the patron's next successful check)",
        found.len()
    );
    if found.is_empty() {
        return;
    }
    println!(
        "{:<8} {:<16} {:<30} {:<10} {:<10} IMPORTED",
        "ID", "CARD", "NAME", "FOR", "FROM"
    );
    for l in found {
        let column = match l.column {
            CredentialColumn::Pin => "pin",
            CredentialColumn::Password => "password",
        };
        println!(
            "{:<8} {:<16} {:<30} {:<10} {:<10} {}",
            l.patron,
            l.card.as_deref().unwrap_or("-"),
            l.name,
            column,
            l.scheme,
            l.since.map_or("-".into(), timestamp)
        );
    }
}
