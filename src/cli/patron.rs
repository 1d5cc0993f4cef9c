//! `sip2auth patron …`: patrons from the command line. PINs and passwords come from a prompt
//! without echo (twice when set) or from standard input (`--pin-stdin`, `--password-stdin`),
//! never from arguments; a generated one-time PIN is printed once.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::admin::{finish, open, OperatorArg};
use super::output::{fact, money, report, show_secret_once};
use super::prompt::{self, Source};
use crate::accounts::patron::{CardRef, PatronChanges, PinReset};
use crate::accounts::Accounts;
use crate::config::Config;
use crate::store::{Currency, PatronDetails, PatronFilter, PatronId, PatronStatus, PersonName};

/// The card a command addresses.
#[derive(Debug, Clone, Args)]
pub struct CardArgs {
    /// Library card number.
    pub card: String,
    /// Institution that issued the card [default: server.institution_id]
    #[arg(long)]
    pub institution: Option<String>,
}

impl CardArgs {
    fn at(&self, config: &Config) -> CardRef {
        CardRef {
            institution: self
                .institution
                .clone()
                .unwrap_or_else(|| config.server.institution_id.clone()),
            card: self.card.trim().to_owned(),
        }
    }
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "write the date as YYYY-MM-DD".into())
}

fn amount(text: &str) -> Result<i64, String> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && frac.len() <= 2
        && whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit());
    if !ok {
        return Err("write the amount like 12.50".into());
    }
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| "bad amount")?;
    Ok(whole.parse::<i64>().map_err(|_| "bad amount")? * 100 + cents)
}

fn currency(text: &str) -> Result<Currency, String> {
    text.to_ascii_uppercase()
        .parse::<Currency>()
        .map_err(|e| e.to_string())
}

/// Descriptive fields; on `update`, an empty value ("") clears an optional field.
#[derive(Debug, Clone, Args)]
pub struct DetailArgs {
    #[arg(long)]
    pub family_name: Option<String>,
    #[arg(long)]
    pub given_names: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// YYYY-MM-DD
    #[arg(long, value_name = "DATE")]
    pub birth_date: Option<String>,
    /// Patron class (category).
    #[arg(long)]
    pub class: Option<String>,
    #[arg(long)]
    pub home_library: Option<String>,
    /// Last day of registration, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Amount owed, e.g. 12.50.
    #[arg(long, value_parser = amount)]
    pub fines: Option<i64>,
    /// Amount above which the patron is blocked, e.g. 20.00.
    #[arg(long, value_name = "AMOUNT")]
    pub fine_limit: Option<String>,
    /// ISO 4217 currency code [default on add: USD]
    #[arg(long, value_parser = currency)]
    pub currency: Option<Currency>,
}

type Optional<T> = Option<Option<T>>;

/// `Some("")` -> `Some(None)` (clear); `Some(v)` -> parsed.
fn optional<T>(
    value: &Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Optional<T>, String> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => parse(v).map(|v| Some(Some(v))),
    }
}

fn text(v: &str) -> Result<String, String> {
    Ok(v.to_owned())
}

impl DetailArgs {
    fn changes(&self) -> Result<PatronChanges, String> {
        Ok(PatronChanges {
            family_name: self.family_name.clone(),
            given_names: self.given_names.clone(),
            email: optional(&self.email, text)?,
            phone: optional(&self.phone, text)?,
            birth_date: optional(&self.birth_date, date)
                .map_err(|e| format!("--birth-date: {e}"))?,
            class: optional(&self.class, text)?,
            home_library: optional(&self.home_library, text)?,
            expires: optional(&self.expires, date).map_err(|e| format!("--expires: {e}"))?,
            fines_minor: self.fines,
            fine_limit_minor: optional(&self.fine_limit, amount)
                .map_err(|e| format!("--fine-limit: {e}"))?,
            currency: self.currency,
        })
    }
}

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
        /// Read the first PIN from standard input.
        #[arg(long)]
        pin_stdin: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Show a patron (never a PIN or hash).
    #[command(after_help = "Example:\n  sip2auth patron show 21000123")]
    Show(CardArgs),
    /// List patrons, optionally filtered by name.
    #[command(after_help = "Example:\n  sip2auth patron list --name okafor --limit 20")]
    List {
        /// Part of the name, case-insensitive.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        institution: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Show patrons after this id (paging).
        #[arg(long)]
        after: Option<i64>,
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

pub async fn run(command: PatronCommand, config: &Config) -> anyhow::Result<ExitCode> {
    use PatronCommand as P;
    let operator = match &command {
        P::Show(_) | P::List { .. } => None,
        P::Add { operator, .. }
        | P::Update { operator, .. }
        | P::SetPin { operator, .. }
        | P::SetPassword { operator, .. }
        | P::ResetPin { operator, .. }
        | P::Unlock { operator, .. }
        | P::Block { operator, .. }
        | P::Unblock { operator, .. }
        | P::MarkLost { operator, .. }
        | P::Remove { operator, .. } => match operator.operator() {
            Ok(op) => Some(op),
            Err(err) => return Ok(report(&err)),
        },
    };
    let op = || {
        operator
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--operator is required"))
    };
    // Secrets are read before the database is opened, so a prompt never holds a connection.
    let secret = match &command {
        P::Add {
            with_pin,
            pin_stdin,
            ..
        } if *with_pin || *pin_stdin => Some(prompt::secret(
            Source::stdin_if(*pin_stdin),
            "new PIN",
            true,
        )?),
        P::SetPin { pin_stdin, .. } => Some(prompt::secret(
            Source::stdin_if(*pin_stdin),
            "new PIN",
            true,
        )?),
        P::ResetPin {
            chosen: true,
            pin_stdin,
            ..
        } => Some(prompt::secret(
            Source::stdin_if(*pin_stdin),
            "PIN chosen by the patron",
            true,
        )?),
        P::SetPassword { password_stdin, .. } => Some(prompt::secret(
            Source::stdin_if(*password_stdin),
            "new password",
            true,
        )?),
        _ => None,
    };
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    let usage = |message: String| -> ExitCode {
        eprintln!("error: {message}");
        super::output::Exit::Usage.into()
    };
    Ok(match command {
        P::Add { card, details, .. } => {
            let at = card.at(config);
            let changes = match details.changes() {
                Ok(c) => c,
                Err(e) => return Ok(usage(e)),
            };
            let Some(family) = changes.family_name.clone() else {
                return Ok(usage("--family-name is required to add a patron".into()));
            };
            let base = PatronDetails {
                name: PersonName::new(family, ""),
                email: None,
                phone: None,
                birth_date: None,
                patron_class: None,
                home_library: None,
                expires_on: None,
                fines_owed_minor: 0,
                fee_limit_minor: None,
                currency: currency("USD").map_err(anyhow::Error::msg)?,
            };
            let details = apply(changes, base);
            let result = accounts.add_patron(&op()?, &at, details, secret).await;
            finish(result, |id: PatronId| {
                println!("patron {id} created with card {}", at.card)
            })
        }
        P::Show(card) => {
            let at = card.at(config);
            match accounts.patron(&at).await {
                Ok(record) => show(&accounts, record).await,
                Err(err) => report(&err),
            }
        }
        P::List {
            name,
            institution,
            limit,
            after,
        } => {
            let filter = PatronFilter {
                institution,
                name_contains: name,
                after: after.map(PatronId),
                limit,
            };
            finish(accounts.patrons(&filter).await, |patrons| {
                println!(
                    "{:<8} {:<10} {:<30} {:<10} EXPIRES",
                    "ID", "INSTITUTION", "NAME", "STATUS"
                );
                for p in patrons {
                    println!(
                        "{:<8} {:<10} {:<30} {:<10} {}",
                        p.id,
                        p.institution,
                        p.details.name.display,
                        status_word(&p.status),
                        p.details.expires_on.map_or("-".into(), |d| d.to_string())
                    );
                }
            })
        }
        P::Update { card, details, .. } => {
            let changes = match details.changes() {
                Ok(c) => c,
                Err(e) => return Ok(usage(e)),
            };
            let at = card.at(config);
            finish(accounts.update_patron(&op()?, &at, changes).await, |()| {
                println!("patron with card {} updated", at.card)
            })
        }
        P::SetPin { card, .. } => {
            let at = card.at(config);
            let Some(pin) = secret else {
                return Ok(usage("no PIN given".into()));
            };
            finish(accounts.set_pin(&op()?, &at, &pin).await, |()| {
                println!("PIN set for card {}", at.card)
            })
        }
        P::SetPassword { card, .. } => {
            let at = card.at(config);
            let Some(password) = secret else {
                return Ok(usage("no password given".into()));
            };
            finish(accounts.set_password(&op()?, &at, &password).await, |()| {
                println!("online password set for card {}", at.card)
            })
        }
        P::ResetPin { card, .. } => {
            let at = card.at(config);
            finish(
                accounts.reset_pin(&op()?, &at, secret.as_ref()).await,
                |reset| match reset {
                    PinReset::Issued(pin) => {
                        println!("PIN reset for card {}; locks cleared. Give the patron this one-time PIN;", at.card);
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
        P::Unlock { card, .. } => {
            let at = card.at(config);
            finish(accounts.unlock(&op()?, &at).await, |()| {
                println!("card {}: locks cleared", at.card)
            })
        }
        P::Block { card, reason, .. } => {
            let at = card.at(config);
            finish(accounts.block(&op()?, &at, &reason).await, |()| {
                println!("card {}: patron blocked", at.card)
            })
        }
        P::Unblock { card, .. } => {
            let at = card.at(config);
            finish(accounts.unblock(&op()?, &at).await, |()| {
                println!("card {}: patron active", at.card)
            })
        }
        P::MarkLost { card, found, .. } => {
            let at = card.at(config);
            finish(accounts.mark_lost(&op()?, &at, !found).await, |()| {
                println!(
                    "card {} marked {}",
                    at.card,
                    if found { "found" } else { "lost" }
                )
            })
        }
        P::Remove { card, .. } => {
            let at = card.at(config);
            finish(accounts.remove_patron(&op()?, &at).await, |()| {
                println!("patron with card {} removed", at.card)
            })
        }
    })
}

fn apply(changes: PatronChanges, base: PatronDetails) -> PatronDetails {
    changes.apply(base)
}

fn status_word(status: &PatronStatus) -> String {
    match status {
        PatronStatus::Active => "active".into(),
        PatronStatus::Blocked { .. } => "blocked".into(),
        PatronStatus::CardLost => "card-lost".into(),
    }
}

async fn show(accounts: &Accounts, record: crate::store::PatronRecord) -> ExitCode {
    let p = &record.patron;
    let d = &p.details;
    println!("patron {}", p.id);
    fact("name", &d.name.display);
    fact("institution", &p.institution);
    let cards = accounts.store().cards(p.id).await.unwrap_or_default();
    let cards = cards
        .iter()
        .map(|c| {
            if c.lost {
                format!("{} (lost)", c.number)
            } else {
                c.number.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    fact("cards", cards);
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
    let limit = d
        .fee_limit_minor
        .map_or("no limit".into(), |l| format!("limit {}", money(l)));
    fact(
        "fines",
        format!("{} {} ({limit})", money(d.fines_owed_minor), d.currency),
    );
    let credential = |c: &Option<crate::store::CredentialHash>| match c {
        None => "not set".to_string(),
        Some(c) => {
            let mut text = format!("set (key {})", c.key_id);
            if c.must_change {
                text.push_str(", must change");
            }
            if let Some(t) = c.default_expires_at {
                text.push_str(&format!(
                    ", one-time until {}",
                    t.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            text
        }
    };
    fact("PIN", credential(&p.pin));
    fact("online password", credential(&p.password));
    let lock = match p.pin_lock.locked_until {
        Some(until) => format!(
            "{} failure(s), locked until {}",
            p.pin_lock.failures,
            until.format("%Y-%m-%d %H:%M UTC")
        ),
        None => format!("{} failure(s)", p.pin_lock.failures),
    };
    fact("PIN lock", lock);
    super::output::Exit::Ok.into()
}
