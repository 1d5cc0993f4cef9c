//! `sip2auth check-config [FILE]`: every problem, with its key path.

use std::path::Path;
use std::process::ExitCode;

use super::exit;
use crate::config::{self, Config};

pub fn run(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(mut config) => {
            config.apply_env(|name| std::env::var(name).ok());
            let missing_pepper = pepper_problem(&config);
            if let Some(problem) = missing_pepper {
                println!("{}: 1 problem(s):\n  {problem}", path.display());
                return exit::code(exit::USAGE);
            }
            println!("{}: ok", path.display());
            exit::code(exit::OK)
        }
        Err(err @ config::Error::Read { .. }) => {
            eprintln!("{err}");
            exit::code(exit::USAGE)
        }
        Err(err) => {
            println!("{err}");
            exit::code(exit::USAGE)
        }
    }
}

/// The server refuses to start without its pepper key, so say so before it is started.
fn pepper_problem(config: &Config) -> Option<String> {
    let pepper = &config.security.pepper;
    if pepper.key_hex_from_env.is_some() || pepper.key_file.is_file() {
        return None;
    }
    Some(format!(
        "security.pepper.key_file: {} does not exist (create it with 32 random bytes, e.g. `head -c 32 /dev/urandom > {}`, or set {})",
        pepper.key_file.display(),
        pepper.key_file.display(),
        config::security::ENV_PEPPER
    ))
}
