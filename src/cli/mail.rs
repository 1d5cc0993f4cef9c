//! `sip2auth mail status`: the outbox's depth and failures (mails waiting, being sent, sent,
//! given up; the oldest waiting; reset requests not yet looked up). Exit status 0 when nothing
//! has failed, 1 when some mail was given up (so a cron job or a check can notice).

use std::process::ExitCode;

use clap::Subcommand;

use super::admin::{finish, open};
use super::output::timestamp;
use super::output::Exit;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Show the outbox: mails waiting, being sent, sent and failed.
    #[command(
        after_help = "Example:\n  sip2auth mail status\n\nExit status: 0 no failed mail, 1 some failed."
    )]
    Status,
}

pub(crate) async fn run(command: MailCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let accounts = match open(config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    let MailCommand::Status = command;
    let mut failed = false;
    let code = finish(accounts.mail_status().await, |counts| {
        println!("transport:      {}", transport_name(config));
        println!("queued:         {}", counts.queued);
        println!("sending:        {}", counts.sending);
        println!("sent:           {}", counts.sent);
        println!("failed:         {}", counts.failed);
        println!(
            "reset requests: {} not yet looked up",
            counts.reset_requests
        );
        match counts.oldest_waiting {
            Some(at) => println!("oldest waiting: {}", timestamp(at)),
            None => println!("oldest waiting: none"),
        }
        failed = counts.failed > 0;
    });
    if failed {
        return Ok(Exit::Refused.into());
    }
    Ok(code)
}

fn transport_name(config: &Config) -> &'static str {
    match config.mail.transport {
        crate::config::MailTransport::None => "none (mail is off)",
        crate::config::MailTransport::Smtp => "smtp",
        crate::config::MailTransport::File => "file",
    }
}
