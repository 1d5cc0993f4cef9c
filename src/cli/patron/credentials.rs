//! `patron set-pin | set-password | reset-pin`, and reading the secret any `patron` command
//! needs (a prompt without echo, asked twice, or one line of standard input).
//!
//! Never prints a PIN or password, except the generated one-time PIN of `reset-pin`, once,
//! through `cli::output::show_secret_once`. Uses `accounts` and the CLI prompt and output
//! helpers; must not import `server`, `sip2` or `store`.

use std::process::ExitCode;

use secrecy::SecretString;

use super::output::usage;
use super::PatronCommand;
use crate::accounts::patron::{CardRef, PinReset};
use crate::accounts::{Accounts, Operator};
use crate::cli::admin::finish;
use crate::cli::output::show_secret_once;
use crate::cli::prompt::{self, Source};

/// The secret `command` needs, read before the database is opened (so a prompt never holds a
/// connection); `None` for commands that take none.
pub(super) async fn read(command: &PatronCommand) -> anyhow::Result<Option<SecretString>> {
    use PatronCommand as P;
    let (stdin, what) = match command {
        P::Add {
            with_pin,
            pin_stdin,
            ..
        } if *with_pin || *pin_stdin => (*pin_stdin, "new PIN"),
        P::SetPin { pin_stdin, .. } => (*pin_stdin, "new PIN"),
        P::ResetPin {
            chosen: true,
            pin_stdin,
            ..
        } => (*pin_stdin, "PIN chosen by the patron"),
        P::SetPassword { password_stdin, .. } => (*password_stdin, "new password"),
        _ => return Ok(None),
    };
    Ok(Some(
        prompt::secret(Source::stdin_if(stdin), what, true).await?,
    ))
}

pub(super) async fn set_pin(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    pin: Option<SecretString>,
) -> ExitCode {
    let Some(pin) = pin else {
        return usage("no PIN given");
    };
    finish(accounts.set_pin(op, at, &pin).await, |()| {
        println!("PIN set for card {}", at.card)
    })
}

pub(super) async fn set_password(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    password: Option<SecretString>,
) -> ExitCode {
    let Some(password) = password else {
        return usage("no password given");
    };
    finish(accounts.set_password(op, at, &password).await, |()| {
        println!("online password set for card {}", at.card)
    })
}

/// `chosen` is the patron's PIN with `--chosen`; without it a one-time PIN is issued and shown.
pub(super) async fn reset_pin(
    accounts: &Accounts,
    op: &Operator,
    at: &CardRef,
    chosen: Option<SecretString>,
) -> ExitCode {
    finish(
        accounts.reset_pin(op, at, chosen.as_ref()).await,
        |reset| match reset {
            PinReset::Issued(pin) => {
                println!(
                    "PIN reset for card {}; locks cleared. Give the patron this one-time PIN;",
                    at.card
                );
                println!("it must be changed at first use and expires if unused:");
                show_secret_once("one-time PIN", &pin);
            }
            PinReset::Chosen => println!(
                "PIN reset for card {} to the patron's choice; locks cleared",
                at.card
            ),
        },
    )
}
