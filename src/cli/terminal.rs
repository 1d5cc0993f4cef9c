//! `sip2auth terminal …`: terminal accounts from the command line. Secrets are generated (and
//! shown once) or read from standard input with `--password-stdin`; never taken from arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ipnet::IpNet;

use super::admin::{finish, open, operator_of, required, OperatorArg};
use super::output::{fact, show_secret_once, timestamp};
use super::prompt::{self, Source};
use super::terminal_upstream::UpstreamArgs;
use crate::accounts::terminal::normalised_cidrs;
use crate::accounts::terminal_changes::{served_only, CertificateChange, TerminalChanges};
use crate::accounts::Error as AccountsError;
use crate::auth::{
    CertificateBinding, CertificateLogin, DetailWithoutPin, ErrorDetection, PatronCredential,
    PatronDetail, RestrictedAnswer, Restrictions, Terminal, TerminalSettings, Terminator, Upstream,
};
use crate::config::Config;
use crate::net::{CertificateAuthority, Fingerprint, SubjectName};
use crate::sip2::{Charset, RequestSet};

#[derive(Debug, Subcommand)]
pub enum TerminalCommand {
    /// Create a terminal account; prints its generated secret once.
    #[command(
        after_help = "Example:\n  sip2auth terminal add selfcheck-01 --institution MAIN \
        --location BRANCH1 --cidr 10.1.2.0/24 --operator alice\n  \
        printf '%s\\n' \"$SECRET\" | sip2auth terminal add ezproxy --password-stdin --detail minimal\n  \
        sip2auth terminal add selfcheck-02 --cidr 10.1.2.0/24 --client-cert-sha256 \"$(openssl x509 \
        -noout -fingerprint -sha256 -in selfcheck-02.pem | cut -d= -f2)\" --cert-login skip-93 \
        --operator alice\n  \
        sip2auth terminal add selfcheck-03 --client-ca terminals-ca.pem --client-subject \
        'CN=selfcheck-03' --operator alice"
    )]
    Add(AddArgs),
    /// Change a terminal's settings; only the options given change (the secret stays).
    #[command(
        after_help = "Example:\n  sip2auth terminal update selfcheck-01 --cidr 10.1.2.0/24 \
        --detail minimal --operator alice\n  \
        sip2auth terminal update ezproxy --login-free false --operator alice\n  \
        sip2auth terminal update pc-booking --restricted deny --deny expired,blocked,lost,fines \
        --operator alice\n  \
        sip2auth terminal update selfcheck-01 --require-tls true --operator alice\n  \
        printf '%s\\n' \"$ILS_PASSWORD\" | sip2auth terminal update selfcheck-01 --upstream \
        ils.example.org:6001 --upstream-login sip2auth-sc01 --upstream-password-stdin \
        --patron-mode merge --operator alice"
    )]
    Update(UpdateArgs),
    /// List terminals.
    #[command(after_help = "Example:\n  sip2auth terminal list")]
    List,
    /// Show one terminal's settings (never its secret).
    #[command(after_help = "Example:\n  sip2auth terminal show selfcheck-01")]
    Show { login_id: String },
    /// Replace a terminal's secret (generated and shown once, or from stdin).
    #[command(
        after_help = "Example:\n  sip2auth terminal set-password selfcheck-01 --operator alice"
    )]
    SetPassword {
        login_id: String,
        /// Read the new secret from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Disable a terminal: it can no longer log in.
    #[command(after_help = "Example:\n  sip2auth terminal disable selfcheck-01 --operator alice")]
    Disable {
        login_id: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Enable a disabled terminal.
    #[command(after_help = "Example:\n  sip2auth terminal enable selfcheck-01 --operator alice")]
    Enable {
        login_id: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Delete a terminal account.
    #[command(after_help = "Example:\n  sip2auth terminal remove selfcheck-01 --operator alice")]
    Remove {
        login_id: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
}

impl TerminalCommand {
    /// The `--operator` of a mutating command; `None` for the read-only ones.
    fn operator(&self) -> Option<&OperatorArg> {
        match self {
            TerminalCommand::Add(AddArgs { operator, .. })
            | TerminalCommand::Update(UpdateArgs { operator, .. })
            | TerminalCommand::SetPassword { operator, .. }
            | TerminalCommand::Disable { operator, .. }
            | TerminalCommand::Enable { operator, .. }
            | TerminalCommand::Remove { operator, .. } => Some(operator),
            TerminalCommand::List | TerminalCommand::Show { .. } => None,
        }
    }
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Login id the terminal sends in its 93 login (CN).
    pub login_id: String,
    /// Institution id (AO) [default: server.institution_id]
    #[arg(long)]
    pub institution: Option<String>,
    /// Location code (CP) of the terminal.
    #[arg(long)]
    pub location: Option<String>,
    /// Source network allowed to connect as this terminal (repeat for several).
    #[arg(long = "cidr", value_name = "NET")]
    pub cidrs: Vec<IpNet>,
    /// Allow this terminal to skip the 93 login from its --cidr networks.
    #[arg(long)]
    pub login_free: bool,
    /// Which patron credential the terminal checks: pin, password or either.
    #[arg(long, default_value_t = defaults().patron_credential, value_parser = parse::<PatronCredential>)]
    pub credential: PatronCredential,
    /// Request codes the terminal may send, e.g. "23 63 35 01" [default: 23 63 35; 93, 99 and
    /// 97 are always allowed]
    #[arg(long, value_name = "CODES", value_parser = allowable_messages)]
    pub allow_messages: Option<RequestSet>,
    /// Patron detail in answers: full or minimal.
    #[arg(long, default_value_t = defaults().patron_detail, value_parser = parse::<PatronDetail>)]
    pub detail: PatronDetail,
    /// Character set: utf-8, latin-1 or cp850.
    #[arg(long, default_value_t = defaults().charset, value_parser = parse::<Charset>)]
    pub charset: Charset,
    /// Message terminator: cr or crlf.
    #[arg(long, default_value_t = defaults().terminator, value_parser = parse::<Terminator>)]
    pub terminator: Terminator,
    /// Error detection (AY/AZ checksums): off, auto or required.
    #[arg(long, default_value_t = defaults().error_detection, value_parser = parse::<ErrorDetection>)]
    pub error_detection: ErrorDetection,
    /// How patron restrictions are told: flags (status flags, CQ as verified) or deny (CQ=N
    /// with the reason, for clients that read only BL and CQ).
    #[arg(long, default_value_t = defaults().restricted, value_parser = parse::<RestrictedAnswer>)]
    pub restricted: RestrictedAnswer,
    /// The restrictions deny mode refuses: any of expired, blocked, lost, fines (or none).
    #[arg(long = "deny", value_name = "LIST", default_value_t = defaults().denied_restrictions, value_parser = parse::<Restrictions>)]
    pub denied_restrictions: Restrictions,
    /// What a check without a verified PIN shows: minimal (validity, flags, messages) or full
    /// (also name and fees, for a terminal trusted for barcode-only look-ups).
    #[arg(long, default_value_t = defaults().detail_without_pin, value_parser = parse::<DetailWithoutPin>)]
    pub detail_without_pin: DetailWithoutPin,
    /// Refuse this terminal over plain text (its 93 and its login-free address).
    #[arg(long)]
    pub require_tls: bool,
    #[command(flatten)]
    pub certificate: CertificateArgs,
    /// With a client certificate: skip-93 (the certificate logs the terminal in) or
    /// require-93 (the terminal still sends its 93, over that certificate's connection).
    #[arg(long, default_value_t = defaults().certificate_login, value_parser = parse::<CertificateLogin>)]
    pub cert_login: CertificateLogin,
    /// Read the secret from the first line of standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub operator: OperatorArg,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Login id of the terminal to change.
    pub login_id: String,
    /// Institution id (AO).
    #[arg(long)]
    pub institution: Option<String>,
    /// Location code (CP); an empty value removes it.
    #[arg(long)]
    pub location: Option<String>,
    /// Source networks allowed to connect as this terminal: replaces the list (repeat for
    /// several).
    #[arg(long = "cidr", value_name = "NET", conflicts_with = "any_address")]
    pub cidrs: Vec<IpNet>,
    /// Allow the terminal to connect from any address (clears its networks).
    #[arg(long)]
    pub any_address: bool,
    /// Whether the terminal may skip the 93 login from its networks: true or false.
    #[arg(long, value_name = "BOOL")]
    pub login_free: Option<bool>,
    /// Which patron credential the terminal checks: pin, password or either.
    #[arg(long, value_parser = parse::<PatronCredential>)]
    pub credential: Option<PatronCredential>,
    /// Request codes the terminal may send, e.g. "23 63 35 01"; "default" for 23 63 35.
    #[arg(long, value_name = "CODES", value_parser = allowable_messages_or_default)]
    pub allow_messages: Option<RequestSet>,
    /// Patron detail in answers: full or minimal.
    #[arg(long, value_parser = parse::<PatronDetail>)]
    pub detail: Option<PatronDetail>,
    /// Character set: utf-8, latin-1 or cp850.
    #[arg(long, value_parser = parse::<Charset>)]
    pub charset: Option<Charset>,
    /// Message terminator: cr or crlf.
    #[arg(long, value_parser = parse::<Terminator>)]
    pub terminator: Option<Terminator>,
    /// Error detection (AY/AZ checksums): off, auto or required.
    #[arg(long, value_parser = parse::<ErrorDetection>)]
    pub error_detection: Option<ErrorDetection>,
    /// How patron restrictions are told: flags or deny.
    #[arg(long, value_parser = parse::<RestrictedAnswer>)]
    pub restricted: Option<RestrictedAnswer>,
    /// The restrictions deny mode refuses: any of expired, blocked, lost, fines (or none).
    #[arg(long = "deny", value_name = "LIST", value_parser = parse::<Restrictions>)]
    pub denied_restrictions: Option<Restrictions>,
    /// What a check without a verified PIN shows: minimal or full.
    #[arg(long, value_parser = parse::<DetailWithoutPin>)]
    pub detail_without_pin: Option<DetailWithoutPin>,
    /// Whether the terminal is refused over plain text: true or false.
    #[arg(long, value_name = "BOOL")]
    pub require_tls: Option<bool>,
    #[command(flatten)]
    pub certificate: CertificateArgs,
    /// Unbind the terminal from its client certificate.
    #[arg(long, conflicts_with_all = ["client_cert_sha256", "client_ca"])]
    pub no_client_cert: bool,
    /// With a client certificate: skip-93 or require-93.
    #[arg(long, value_parser = parse::<CertificateLogin>)]
    pub cert_login: Option<CertificateLogin>,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    #[command(flatten)]
    pub operator: OperatorArg,
}

/// The client certificate a terminal is bound to, for `add` and `update` alike.
#[derive(Debug, Args)]
pub struct CertificateArgs {
    /// Bind the terminal to the client certificate with this SHA-256 fingerprint (64 hex
    /// digits, colons allowed), as `openssl x509 -noout -fingerprint -sha256` prints it.
    #[arg(long, value_name = "HEX", value_parser = parse::<Fingerprint>, conflicts_with = "client_ca")]
    pub client_cert_sha256: Option<Fingerprint>,
    /// Bind the terminal to client certificates issued by this CA (a PEM file, stored in the
    /// database) with the subject --client-subject.
    #[arg(long, value_name = "FILE", requires = "client_subject")]
    pub client_ca: Option<PathBuf>,
    /// The exact subject of the terminal's certificate under --client-ca, e.g.
    /// "CN=selfcheck-03, O=City Library" (attributes in any order).
    #[arg(long, value_name = "DN", requires = "client_ca", value_parser = parse::<SubjectName>)]
    pub client_subject: Option<SubjectName>,
}

impl CertificateArgs {
    /// The binding the flags name (`None` if none is given); reads the CA file.
    fn binding(&self) -> Result<Option<CertificateBinding>, AccountsError> {
        if let Some(pinned) = self.client_cert_sha256 {
            return Ok(Some(CertificateBinding::Fingerprint(pinned)));
        }
        let (Some(path), Some(subject)) = (&self.client_ca, &self.client_subject) else {
            return Ok(None);
        };
        let invalid = |reason: String| AccountsError::Invalid {
            what: "--client-ca",
            reason: format!("{}: {reason}", path.display()),
        };
        let pem = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let authority = CertificateAuthority::from_pem(&pem).map_err(|e| invalid(e.to_string()))?;
        Ok(Some(CertificateBinding::Authority {
            authority,
            subject: subject.clone(),
        }))
    }
}

impl UpdateArgs {
    /// The changes the options ask for (`binding`: the certificate flags, read before); the
    /// options not given keep their value.
    fn changes(
        self,
        binding: Option<CertificateBinding>,
        upstream: Option<Upstream>,
    ) -> TerminalChanges {
        let certificate = match binding {
            _ if self.no_client_cert => CertificateChange::Unbind,
            Some(binding) => CertificateChange::Bind(binding),
            None => CertificateChange::Keep,
        };
        let allowed_cidrs = if self.any_address {
            Some(Vec::new())
        } else {
            Some(self.cidrs).filter(|c| !c.is_empty())
        };
        TerminalChanges {
            institution: self.institution,
            location_code: self.location.map(Some),
            allowed_cidrs,
            login_optional: self.login_free,
            patron_credential: self.credential,
            allowed_messages: self.allow_messages,
            patron_detail: self.detail,
            charset: self.charset,
            terminator: self.terminator,
            error_detection: self.error_detection,
            restricted: self.restricted,
            denied_restrictions: self.denied_restrictions,
            detail_without_pin: self.detail_without_pin,
            require_tls: self.require_tls,
            certificate,
            certificate_login: self.cert_login,
            upstream: Some(upstream),
        }
    }
}

/// `--allow-messages`: request codes, each one this server serves (a terminal allowed only
/// messages that are always refused would be told it may send them).
fn allowable_messages(text: &str) -> Result<RequestSet, String> {
    let requests = parse::<RequestSet>(text)?;
    served_only(&requests, &crate::server::allowable_message_codes())?;
    Ok(requests)
}

/// `--allow-messages` of `terminal update`: as for `add`, or `default` for the default list.
fn allowable_messages_or_default(text: &str) -> Result<RequestSet, String> {
    if text.trim() == "default" {
        return Ok(RequestSet::default());
    }
    allowable_messages(text)
}

/// The settings a new terminal has unless a flag says otherwise: the flags' defaults are read
/// from them, so the command line and the store's defaults cannot drift apart.
fn defaults() -> TerminalSettings {
    TerminalSettings::new(String::new())
}

pub(crate) async fn run(command: TerminalCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let operator = match operator_of(command.operator()) {
        Ok(operator) => operator,
        Err(code) => return Ok(code),
    };
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    // Invariant: every mutating command has an `--operator`, resolved above.
    let op = || required(&operator);
    Ok(match command {
        TerminalCommand::Add(args) => {
            let binding = match args.certificate.binding() {
                Ok(binding) => binding,
                Err(err) => return Ok(super::output::report(&err)),
            };
            let secret = given_secret(args.password_stdin).await?;
            if args.cidrs.is_empty() {
                eprintln!(
                    "warning: no --cidr given: terminal {} may connect from any address",
                    args.login_id
                );
            }
            note_normalised(&args.cidrs);
            let mut settings = TerminalSettings::new(
                config
                    .server
                    .institution_or_default(args.institution.as_deref()),
            );
            settings.location_code = args.location;
            settings.allowed_cidrs = args.cidrs;
            settings.login_optional = args.login_free;
            settings.patron_credential = args.credential;
            settings.allowed_messages = args.allow_messages.unwrap_or_default();
            settings.patron_detail = args.detail;
            settings.charset = args.charset;
            settings.terminator = args.terminator;
            settings.error_detection = args.error_detection;
            settings.restricted = args.restricted;
            settings.denied_restrictions = args.denied_restrictions;
            settings.detail_without_pin = args.detail_without_pin;
            settings.require_tls = args.require_tls;
            settings.client_certificate = binding;
            settings.certificate_login = args.cert_login;
            let result = accounts
                .add_terminal(&op()?, &args.login_id, settings, secret)
                .await;
            finish(result, |(terminal, generated)| {
                println!("terminal {} created", terminal.login_id);
                print_terminal(&terminal);
                if let Some(secret) = generated {
                    show_secret_once("secret", &secret);
                }
            })
        }
        TerminalCommand::Update(args) => {
            note_normalised(&args.cidrs);
            let binding = match args.certificate.binding() {
                Ok(binding) => binding,
                Err(err) => return Ok(super::output::report(&err)),
            };
            let login_id = args.login_id.clone();
            let current = match accounts.terminal(&login_id).await {
                Ok(terminal) => terminal,
                Err(err) => return Ok(super::output::report(&err)),
            };
            let password = if args.upstream.upstream_password_stdin {
                let secret = prompt::secret(Source::Stdin, "upstream password", false).await?;
                Some(accounts.seal_upstream_password(&current, &secret))
            } else {
                None
            };
            let mut args = args;
            let upstream_args = std::mem::take(&mut args.upstream);
            let upstream = match upstream_args.applied(current.settings.upstream, password) {
                Ok(upstream) => upstream,
                Err(err) => return Ok(super::output::report(&err)),
            };
            let result = accounts
                .update_terminal(&op()?, &login_id, args.changes(binding, upstream))
                .await;
            finish(result, |terminal| {
                println!("terminal {login_id} updated");
                print_terminal(&terminal);
            })
        }
        TerminalCommand::List => finish(accounts.terminals().await, |terminals| {
            println!(
                "{:<24} {:<12} {:<8} {:<10} CIDRS",
                "LOGIN", "INSTITUTION", "ENABLED", "CREDENTIAL"
            );
            for t in terminals {
                let s = &t.settings;
                println!(
                    "{:<24} {:<12} {:<8} {:<10} {}",
                    t.login_id,
                    s.institution,
                    if s.enabled { "yes" } else { "no" },
                    s.patron_credential,
                    cidrs(&s.allowed_cidrs)
                );
            }
        }),
        TerminalCommand::Show { login_id } => {
            finish(accounts.terminal(&login_id).await, |t| print_terminal(&t))
        }
        TerminalCommand::SetPassword {
            login_id,
            password_stdin,
            ..
        } => {
            let secret = given_secret(password_stdin).await?;
            let result = accounts
                .set_terminal_secret(&op()?, &login_id, secret)
                .await;
            finish(result, |generated| {
                println!("terminal {login_id}: secret replaced");
                if let Some(secret) = generated {
                    show_secret_once("secret", &secret);
                }
            })
        }
        TerminalCommand::Disable { login_id, .. } => finish(
            accounts
                .set_terminal_enabled(&op()?, &login_id, false)
                .await,
            |()| println!("terminal {login_id} disabled"),
        ),
        TerminalCommand::Enable { login_id, .. } => finish(
            accounts.set_terminal_enabled(&op()?, &login_id, true).await,
            |()| println!("terminal {login_id} enabled"),
        ),
        TerminalCommand::Remove { login_id, .. } => {
            finish(accounts.remove_terminal(&op()?, &login_id).await, |()| {
                println!("terminal {login_id} removed")
            })
        }
    })
}

/// Says which networks were written with host bits, and what is stored instead.
fn note_normalised(nets: &[IpNet]) {
    for (given, stored) in normalised_cidrs(nets).1 {
        eprintln!("note: {given} is the network {stored}; stored as {stored}");
    }
}

fn cidrs(nets: &[IpNet]) -> String {
    if nets.is_empty() {
        "any".into()
    } else {
        nets.iter()
            .map(IpNet::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn print_terminal(t: &Terminal) {
    let s = &t.settings;
    fact("login id", &t.login_id);
    fact("institution", &s.institution);
    fact("location", s.location_code.as_deref().unwrap_or("-"));
    fact("enabled", if s.enabled { "yes" } else { "no" });
    fact(
        "secret",
        if t.password.is_some() {
            "set (hashed)"
        } else {
            "none"
        },
    );
    fact("allowed from", cidrs(&s.allowed_cidrs));
    fact(
        "login-free",
        if s.login_optional {
            "yes (from the allowed networks)"
        } else {
            "no"
        },
    );
    fact("credential", s.patron_credential);
    let messages = s.allowed_messages.to_string();
    fact(
        "allowed messages",
        if messages.is_empty() {
            "all".to_string()
        } else {
            messages
        },
    );
    fact("detail", s.patron_detail);
    fact("charset", s.charset);
    fact("terminator", s.terminator);
    fact("error detection", s.error_detection);
    fact("restricted", s.restricted);
    fact(
        "deny",
        Some(s.denied_restrictions.to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "none".into()),
    );
    fact("detail without PIN", s.detail_without_pin);
    fact("require TLS", if s.require_tls { "yes" } else { "no" });
    match &s.client_certificate {
        None => fact("client certificate", "none"),
        Some(CertificateBinding::Fingerprint(pinned)) => {
            fact("client certificate", format!("SHA-256 {pinned}"))
        }
        Some(CertificateBinding::Authority { subject, .. }) => fact(
            "client certificate",
            format!("issued by its CA to {subject}"),
        ),
    }
    if s.client_certificate.is_some() {
        fact("certificate login", s.certificate_login);
    }
    for (name, value) in super::terminal_upstream::facts(s.upstream.as_ref()) {
        fact(name, value);
    }
    fact("created", timestamp(t.created_at));
}

/// The terminal secret from standard input when `--password-stdin` is given.
async fn given_secret(from_stdin: bool) -> anyhow::Result<Option<secrecy::SecretString>> {
    Ok(if from_stdin {
        Some(prompt::secret(Source::Stdin, "terminal secret", false).await?)
    } else {
        None
    })
}
