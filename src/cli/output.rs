//! Exit codes of the administration commands and the plain-text output helpers they share.
//!
//! Owns the exit-code table (documented in the README) and the mapping from `accounts::Error` to
//! it. Prints to stdout (results) and stderr (errors, progress); never prints a secret except the
//! one-time generated one, through [`show_secret_once`].

use std::process::ExitCode;

use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{Error, ErrorKind};

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Exit {
    /// Done.
    Ok = 0,
    /// Refused or failed: a rule refused the request, a probe check failed, `--strict` refused.
    Refused = 1,
    /// Usage or configuration error (bad option, bad CSV header, missing pepper key).
    Usage = 2,
    /// The database (or, for `probe`, the SIP2 server) could not be reached.
    Unavailable = 3,
    /// The patron, card or terminal does not exist.
    NotFound = 4,
    /// Import finished, but some rows were rejected (the valid rows were written).
    Partial = 5,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// The exit code for an account error.
pub(crate) fn exit_for(err: &Error) -> Exit {
    match (err.kind(), err) {
        (_, Error::Pepper(_)) => Exit::Usage,
        (ErrorKind::Refused, _) => Exit::Refused,
        (ErrorKind::Invalid, _) => Exit::Usage,
        (ErrorKind::Unavailable, _) => Exit::Unavailable,
        (ErrorKind::NotFound, _) => Exit::NotFound,
        (ErrorKind::Internal, _) => Exit::Refused,
    }
}

/// Prints an account error with a hint of what to do, and returns its exit code.
pub(crate) fn report(err: &Error) -> ExitCode {
    let exit = exit_for(err);
    let terminal = matches!(
        err,
        Error::NotFound {
            what: "terminal",
            ..
        }
    );
    let hint = match exit {
        Exit::NotFound if terminal => " (check the login id: `sip2auth terminal list` shows them)",
        Exit::NotFound => " (check the card number, and --institution)",
        Exit::Usage if matches!(err, Error::Pepper(_)) => {
            " (set security.pepper.key_file, SIP2AUTH_PEPPER_FILE or SIP2AUTH_PEPPER)"
        }
        _ => "",
    };
    eprintln!("error: {err}{hint}");
    exit.into()
}

/// One labelled line: `  label: value`, labels aligned.
pub(crate) fn fact(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<20} {value}");
}

/// Shows a generated secret, the only time it is ever displayed.
pub(crate) fn show_secret_once(label: &str, secret: &SecretString) {
    println!("{label}: {}", secret.expose_secret());
    println!("(shown once: it is stored only as a hash and cannot be displayed again)");
}

/// A moment for staff: `2025-03-14 09:30 UTC`.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
