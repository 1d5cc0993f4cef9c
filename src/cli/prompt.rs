//! Reading secrets (PINs, passwords, terminal secrets) from a prompt without echo or from
//! standard input — never from the command line. Nothing read here is printed or logged. The
//! terminal and stdin are read on the blocking pool, never on the async reactor.

use std::io::BufRead;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Where a secret comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The terminal, without echo (rpassword).
    Prompt,
    /// The first line of standard input (for scripts: `printf '%s\n' "$PIN" | sip2auth …`).
    Stdin,
}

impl Source {
    pub(crate) fn stdin_if(flag: bool) -> Source {
        if flag {
            Source::Stdin
        } else {
            Source::Prompt
        }
    }
}

/// Reads one secret. With `confirm`, the prompt asks twice and refuses a mismatch.
pub(crate) async fn secret(
    source: Source,
    what: &str,
    confirm: bool,
) -> anyhow::Result<SecretString> {
    let what = what.to_owned();
    tokio::task::spawn_blocking(move || read(source, &what, confirm))
        .await
        .context("the prompt could not run")?
}

fn read(source: Source, what: &str, confirm: bool) -> anyhow::Result<SecretString> {
    match source {
        Source::Stdin => {
            // Zeroed when dropped (`clear` alone would leave the bytes in the buffer).
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read standard input")?;
            let value = line.trim_end_matches(['\n', '\r']).to_owned();
            if value.is_empty() {
                bail!("no {what} on standard input: send it as the first line");
            }
            Ok(SecretString::from(value))
        }
        Source::Prompt => {
            let first = prompt(&format!("{what}: "))?;
            if confirm {
                let again = prompt(&format!("{what} again: "))?;
                if first.expose_secret() != again.expose_secret() {
                    bail!("the two entries differ; nothing was changed");
                }
            }
            if first.expose_secret().is_empty() {
                bail!("empty {what}; nothing was changed");
            }
            Ok(first)
        }
    }
}

fn prompt(text: &str) -> anyhow::Result<SecretString> {
    rpassword::prompt_password(text)
        .map(SecretString::from)
        .context("cannot prompt without echo (no terminal?); use the --…-stdin option instead")
}
