//! `sip2auth probe HOST:PORT`: a small SIP2 client for staff and load-balancer health checks.
//! Logs in (93, unless the terminal is login-free), asks SC status (99), optionally checks a
//! patron (63), prints every response field by field with its spec name, and exits non-zero when
//! any step fails. Secrets come from a prompt or stdin; every network step has a timeout.
//!
//! Uses `sip2` (messages, encoder, parser, framing) only; no database.

mod client;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::ExposeSecret;

use super::output::Exit;
use super::prompt::{self, Source};
use crate::sip2::message::{LoginRequest, PatronInformationRequest, ScStatusRequest};
use crate::sip2::{
    Charset, Language, PrintWidth, ProtocolVersion, Request, Response, Secret, SipDate, Summary,
};
use client::Client;
use report::{print_login, print_patron, print_status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TerminatorArg {
    Cr,
    Crlf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sip2auth probe sip.example.org:6001 --login selfcheck-01\n  \
    printf '%s\\n%s\\n' \"$SECRET\" \"$PIN\" | sip2auth probe 127.0.0.1:6001 --login selfcheck-01 \
    --password-stdin --patron 21000123 --pin-stdin\n  \
    sip2auth probe 10.0.0.5:6001            # login-free terminal: SC status only\n\n\
    Exit codes: 0 every step succeeded, 1 a step failed or timed out, 2 usage error,\n  \
    3 server unreachable (no connection)."
)]
pub struct ProbeArgs {
    /// Server address, HOST:PORT.
    pub address: String,
    /// Terminal login id (CN); without it no 93 login is sent (login-free terminals).
    #[arg(long, value_name = "ID")]
    pub login: Option<String>,
    /// Read the terminal secret from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Location code (CP) sent in the login.
    #[arg(long)]
    pub location: Option<String>,
    /// Also check this patron card with a 63 Patron Information request.
    #[arg(long, value_name = "CARD")]
    pub patron: Option<String>,
    /// Read the patron PIN from standard input (after the terminal secret, if that is read too).
    #[arg(long, requires = "patron")]
    pub pin_stdin: bool,
    /// Send the 63 without a PIN (only checks that the card is known).
    #[arg(long, requires = "patron", conflicts_with = "pin_stdin")]
    pub no_pin: bool,
    /// Institution id (AO) in the 63.
    #[arg(long, default_value = "MAIN")]
    pub institution: String,
    /// Add AY/AZ error detection to every request and require it in answers.
    #[arg(long)]
    pub checksums: bool,
    /// Message terminator.
    #[arg(long, value_enum, default_value_t = TerminatorArg::Cr)]
    pub terminator: TerminatorArg,
    /// Character set: utf-8, latin-1 or cp850.
    #[arg(long, default_value = "utf-8", value_parser = |s: &str| s.parse::<Charset>().map_err(|e| e.to_string()))]
    pub charset: Charset,
    /// Longest wait for the connection and for each answer, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = seconds)]
    pub timeout: Duration,
}

pub(crate) async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let password = match &args.login {
        Some(_) => Some(
            prompt::secret(
                Source::stdin_if(args.password_stdin),
                "terminal secret",
                false,
            )
            .await?,
        ),
        None => None,
    };
    let pin = match (&args.patron, args.no_pin) {
        (Some(_), false) => {
            Some(prompt::secret(Source::stdin_if(args.pin_stdin), "patron PIN", false).await?)
        }
        _ => None,
    };
    let mut client = match Client::connect(&args).await {
        Ok(client) => client,
        Err(message) => {
            eprintln!("probe: {message} (check HOST:PORT, that the server runs, and firewalls)");
            return Ok(Exit::Unavailable.into());
        }
    };
    let mut ok = true;
    if let (Some(login), Some(password)) = (&args.login, &password) {
        let request = Request::LoginRequest(LoginRequest {
            uid_algorithm: b'0',
            pwd_algorithm: b'0',
            login_user_id: login.clone(),
            login_password: Secret::new(password.expose_secret().as_bytes().to_vec()),
            location_code: args.location.clone(),
            extra: Vec::new(),
        });
        match client.exchange(&request, "93 Login").await {
            Ok(Response::LoginResponse(r)) => {
                print_login(&r);
                if !r.ok {
                    return Ok(fail(
                        "login refused (check the login id, the secret and the source address)",
                    ));
                }
            }
            Ok(other) => {
                return Ok(fail(&format!(
                    "unexpected answer to the login: {}",
                    name(&other)
                )))
            }
            Err(message) => return Ok(fail(&message)),
        }
    }
    let status = Request::ScStatusRequest(ScStatusRequest {
        status_code: 0,
        max_print_width: PrintWidth {
            width: 80,
            space_padded: false,
        },
        protocol_version: ProtocolVersion::V2_00,
        extra: Vec::new(),
    });
    match client.exchange(&status, "99 SC Status").await {
        Ok(Response::AcsStatusResponse(r)) => {
            print_status(&r);
            ok &= r.online_status;
        }
        Ok(other) => {
            return Ok(fail(&format!(
                "unexpected answer to SC status: {}",
                name(&other)
            )))
        }
        Err(message) => return Ok(fail(&message)),
    }
    if let Some(card) = &args.patron {
        let request = Request::PatronInformationRequest(PatronInformationRequest {
            language: Language::ENGLISH,
            transaction_date: SipDate::local(chrono::Local::now().naive_local()),
            summary: Summary::default(),
            institution_id: args.institution.clone(),
            patron_identifier: card.clone(),
            terminal_password: None,
            patron_password: pin
                .as_ref()
                .map(|p| Secret::new(p.expose_secret().as_bytes().to_vec())),
            start_item: None,
            end_item: None,
            extra: Vec::new(),
        });
        match client.exchange(&request, "63 Patron Information").await {
            Ok(Response::PatronInformationResponse(r)) => {
                print_patron(&r);
                ok &= r.valid_patron == Some(true);
                if pin.is_some() {
                    ok &= r.valid_patron_password == Some(true);
                }
            }
            Ok(other) => {
                return Ok(fail(&format!(
                    "unexpected answer to the patron check: {}",
                    name(&other)
                )))
            }
            Err(message) => return Ok(fail(&message)),
        }
    }
    if ok {
        println!("probe: ok");
        Ok(Exit::Ok.into())
    } else {
        Ok(fail("a check failed (see the fields above)"))
    }
}

/// `5`, `5s` or `500ms`.
fn seconds(text: &str) -> Result<Duration, String> {
    let bad = || "write the timeout like 5s or 500ms".to_string();
    let duration = if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().map_err(|_| bad())?)
    } else {
        Duration::from_secs(text.trim_end_matches('s').parse().map_err(|_| bad())?)
    };
    if duration.is_zero() || duration > Duration::from_secs(300) {
        return Err("the timeout must be between 1ms and 300s".into());
    }
    Ok(duration)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("probe: {message}");
    Exit::Refused.into()
}

fn name(response: &Response) -> String {
    let code = response.code();
    format!(
        "{} ({})",
        Response::name_of(code).unwrap_or("unknown"),
        String::from_utf8_lossy(&code)
    )
}
