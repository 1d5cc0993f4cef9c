//! `sip2auth pepper generate`: writes a new random 32-byte pepper key file (0600), refusing to
//! overwrite one. The key itself is never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::output::Exit;
use crate::auth::pepper::write_new_key_file;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum PepperCommand {
    /// Write a new random key file (refuses to overwrite an existing one).
    #[command(
        after_help = "Example:\n  sip2auth pepper generate --out /etc/sip2auth/pepper.key\n\nKeep the key outside the database and back it up separately: without it no PIN can be\nverified. To rotate, generate a new key, give it a new security.pepper.key_id and list the\nold one under security.pepper.previous_keys."
    )]
    Generate {
        /// Where to write the key (default: `security.pepper.key_file`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub(crate) fn run(command: PepperCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        PepperCommand::Generate { out } => {
            let path = out.unwrap_or_else(|| config.security.pepper.key_file.clone());
            write_new_key_file(&path).map_err(|err| {
                anyhow::anyhow!("{err} (an existing key is never overwritten: remove it first only if no hash uses it)")
            })?;
            println!(
                "wrote a new pepper key to {} (owner read/write only)",
                path.display()
            );
            Ok(Exit::Ok.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pepper.key");
        let generate = || {
            run(
                PepperCommand::Generate {
                    out: Some(path.clone()),
                },
                &Config::default(),
            )
        };
        assert!(generate().is_ok());
        let first = std::fs::read(&path).expect("key written");
        assert!(
            generate().is_err(),
            "an existing key must not be overwritten"
        );
        assert_eq!(std::fs::read(&path).expect("key kept"), first);
    }
}
