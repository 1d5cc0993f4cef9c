//! `sip2auth patron …`: patrons from the command line. The subcommands are declared here and
//! dispatched to their nouns: the record ([`record`]: add, show, list, update, remove), PINs and
//! the password ([`credentials`]), standing ([`status`]: locks, blocks, lost cards); arguments
//! are parsed in [`args`] and printed in [`output`].
//!
//! PINs and passwords come from a prompt without echo (twice when set) or from standard input
//! (`--pin-stdin`, `--password-stdin`), never from arguments; a generated one-time PIN is printed
//! once, and a default PIN (from the phone) is announced without its digits. The work is done by
//! `accounts`; this module may use everything but does no SQL and no hashing itself.

mod args;
mod credentials;
pub(super) mod output;
mod record;
mod status;

use std::process::ExitCode;

use clap::Subcommand;

use super::admin::{open, operator_of, required, OperatorArg};
use crate::config::Config;
use crate::store::{PatronFilter, PatronId};

pub(crate) use args::{CardArgs, DetailArgs};

#[derive(Debug, Subcommand)]
pub enum PatronCommand {
    /// Create a patron (optionally with a PIN, asked without echo).
    #[command(
        after_help = "Example:\n  sip2auth patron add 21000123 --family-name Okafor --given-names Ada \
        --expires 2027-06-30 --with-pin --operator alice"
    )]
    Add {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        details: DetailArgs,
        /// Ask for a first PIN (twice, without echo).
        #[arg(long)]
        with_pin: bool,
        /// Read the first PIN from the first line of standard input (no prompt, no echo).
        #[arg(long)]
        pin_stdin: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Show a patron by card, or by the internal id `patron list` shows (never a PIN or hash).
    #[command(
        after_help = "Examples:\n  sip2auth patron show 21000123\n  sip2auth patron show 41"
    )]
    Show(CardArgs),
    /// List patrons, optionally filtered by name.
    #[command(after_help = "Example:\n  sip2auth patron list --name okafor --limit 20")]
    List {
        /// Part of the name; case and accents are ignored ("garcia" finds García).
        #[arg(long)]
        name: Option<String>,
        /// Only patrons of this institution (SIP2 AO).
        #[arg(long)]
        institution: Option<String>,
        /// At most this many patrons.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Show patrons after this id (paging).
        #[arg(long)]
        after: Option<i64>,
        /// Instead: how many PINs and passwords are still legacy hashes imported from an ILS
        /// (unpeppered), and whose.
        #[arg(long, conflicts_with_all = ["name", "after"])]
        legacy: bool,
    },
    /// Force a reset for legacy ILS hashes imported longer ago than --older-than.
    #[command(
        after_help = "Example:\n  sip2auth patron expire-legacy --older-than 90days --operator alice\n\n\
        The hashes are removed: those patrons get a new PIN or password from staff or by email."
    )]
    ExpireLegacy {
        /// Age of the import, e.g. 90days, 12weeks.
        #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
        older_than: std::time::Duration,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Change a patron's details ("" clears an optional field).
    #[command(
        after_help = "Example:\n  sip2auth patron update 21000123 --email ada@example.org --phone '' --operator alice"
    )]
    Update {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        details: DetailArgs,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Set the PIN the patron chose (PIN rules apply; asked twice without echo).
    #[command(
        after_help = "Example:\n  sip2auth patron set-pin 21000123 --operator alice\n  \
        printf '%s\\n' \"$PIN\" | sip2auth patron set-pin 21000123 --pin-stdin"
    )]
    SetPin {
        #[command(flatten)]
        card: CardArgs,
        /// Read the PIN from the first line of standard input (no prompt, no echo).
        #[arg(long)]
        pin_stdin: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Set the online password (password rules apply).
    #[command(after_help = "Example:\n  sip2auth patron set-password 21000123 --operator alice")]
    SetPassword {
        #[command(flatten)]
        card: CardArgs,
        /// Read the password from the first line of standard input (no prompt, no echo).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Staff reset at the desk: issue a one-time PIN (must change) or set the patron's choice.
    #[command(
        after_help = "Examples:\n  sip2auth patron reset-pin 21000123 --operator alice            \
        # prints a one-time PIN once\n  sip2auth patron reset-pin 21000123 --chosen --operator alice   \
        # the patron types a PIN"
    )]
    ResetPin {
        #[command(flatten)]
        card: CardArgs,
        /// Set a PIN the patron types instead of issuing a one-time PIN.
        #[arg(long)]
        chosen: bool,
        /// With --chosen: read the PIN from standard input.
        #[arg(long, requires = "chosen")]
        pin_stdin: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Clear PIN and password failure counters and locks.
    #[command(after_help = "Example:\n  sip2auth patron unlock 21000123 --operator alice")]
    Unlock {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Block a patron.
    #[command(
        after_help = "Example:\n  sip2auth patron block 21000123 --reason 'address unknown' --operator alice"
    )]
    Block {
        #[command(flatten)]
        card: CardArgs,
        /// Why (shown to staff).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Make a blocked patron active again.
    #[command(after_help = "Example:\n  sip2auth patron unblock 21000123 --operator alice")]
    Unblock {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Mark a card lost (or found again with --found).
    #[command(after_help = "Example:\n  sip2auth patron mark-lost 21000123 --operator alice")]
    MarkLost {
        #[command(flatten)]
        card: CardArgs,
        /// The card was found again: clear its lost mark.
        #[arg(long)]
        found: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Delete a patron and their cards.
    #[command(after_help = "Example:\n  sip2auth patron remove 21000123 --operator alice")]
    Remove {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        operator: OperatorArg,
    },
}

impl PatronCommand {
    /// The `--operator` of a mutating command; `None` for the read-only ones.
    fn operator(&self) -> Option<&OperatorArg> {
        use PatronCommand as P;
        match self {
            P::Show(_) | P::List { .. } => None,
            P::ExpireLegacy { operator, .. } => Some(operator),
            P::Add { operator, .. }
            | P::Update { operator, .. }
            | P::SetPin { operator, .. }
            | P::SetPassword { operator, .. }
            | P::ResetPin { operator, .. }
            | P::Unlock { operator, .. }
            | P::Block { operator, .. }
            | P::Unblock { operator, .. }
            | P::MarkLost { operator, .. }
            | P::Remove { operator, .. } => Some(operator),
        }
    }
}

pub(crate) async fn run(command: PatronCommand, config: &Config) -> anyhow::Result<ExitCode> {
    use PatronCommand as P;
    let operator = match operator_of(command.operator()) {
        Ok(operator) => operator,
        Err(code) => return Ok(code),
    };
    // Invariant: every mutating command has an `--operator`, resolved above.
    let op = || required(&operator);
    // Secrets are read before the database is opened, so a prompt never holds a connection.
    let secret = credentials::read(&command).await?;
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    let a = &accounts;
    Ok(match command {
        P::Add { card, details, .. } => {
            record::add(a, &op()?, &card.at(config), &details, secret).await
        }
        P::Show(card) => record::show(a, &card.at(config)).await,
        P::List { legacy: true, .. } => record::legacy(a).await,
        P::ExpireLegacy { older_than, .. } => record::expire_legacy(a, &op()?, older_than).await,
        P::List {
            name,
            institution,
            limit,
            after,
            ..
        } => {
            let filter = PatronFilter {
                institution,
                name_contains: name,
                after: after.map(PatronId),
                limit,
            };
            record::list(a, &filter).await
        }
        P::Update { card, details, .. } => {
            record::update(a, &op()?, &card.at(config), &details).await
        }
        P::Remove { card, .. } => record::remove(a, &op()?, &card.at(config)).await,
        P::SetPin { card, .. } => credentials::set_pin(a, &op()?, &card.at(config), secret).await,
        P::SetPassword { card, .. } => {
            credentials::set_password(a, &op()?, &card.at(config), secret).await
        }
        P::ResetPin { card, .. } => {
            credentials::reset_pin(a, &op()?, &card.at(config), secret).await
        }
        P::Unlock { card, .. } => status::unlock(a, &op()?, &card.at(config)).await,
        P::Block { card, reason, .. } => status::block(a, &op()?, &card.at(config), &reason).await,
        P::Unblock { card, .. } => status::unblock(a, &op()?, &card.at(config)).await,
        P::MarkLost { card, found, .. } => {
            status::mark_lost(a, &op()?, &card.at(config), found).await
        }
    })
}
