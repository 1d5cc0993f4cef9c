//! `sip2auth check-config [FILE]`: every problem, with its key path.

use std::path::Path;
use std::process::ExitCode;

use super::output::Exit;
use crate::config::{self, Config};

pub fn run(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(mut config) => {
            config.apply_env(|name| std::env::var(name).ok());
            if let Some(problems) = pepper_problem(&config) {
                let err = config::Error::Invalid {
                    path: path.to_owned(),
                    problems,
                };
                println!("{err}");
                return Exit::Usage.into();
            }
            println!("{}: ok", path.display());
            Exit::Ok.into()
        }
        Err(err @ config::Error::Read { .. }) => {
            eprintln!("{err}");
            Exit::Usage.into()
        }
        Err(err) => {
            println!("{err}");
            Exit::Usage.into()
        }
    }
}

/// The server refuses to start without its pepper key, so say so before it is started.
fn pepper_problem(config: &Config) -> Option<config::Problems> {
    let pepper = &config.security.pepper;
    if pepper.key_hex_from_env.is_some() || pepper.key_file.is_file() {
        return None;
    }
    let mut problems = config::Problems::default();
    problems.push_at(
        "security.pepper.key_file",
        format!(
            "{} does not exist (create it with `sip2auth pepper generate --out {}`, or set {})",
            pepper.key_file.display(),
            pepper.key_file.display(),
            config::security::ENV_PEPPER
        ),
    );
    Some(problems)
}
