//! Terminal accounts: add (with a generated ≥128-bit secret or one given by the operator), list,
//! show, change settings or secret, enable/disable, remove. Networks are kept normalised
//! (`10.0.4.5/24` is `10.0.4.0/24`). Every change is audited with the operator's name.
//!
//! Uses `store` (terminal rows, typed through `auth::Terminal`), `auth` (the terminal type) and
//! `credentials` (hashing). Must not import `sip2` or `cli`.

use ipnet::IpNet;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use super::terminal_changes::TerminalChanges;
use super::{Accounts, Error, Operator};
use crate::auth::{
    AuditAction, AuditOutcome, CertificateLogin, NewTerminal, Terminal, TerminalSettings,
};

/// Characters of a generated secret: no look-alikes (0/O, 1/I/l), nothing SIP2 treats specially.
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 26 characters of a 32-symbol alphabet: 130 bits.
const SECRET_CHARS: usize = 26;
/// Shortest secret an operator may choose.
const MIN_GIVEN_SECRET_CHARS: usize = 16;

/// A fresh random terminal secret (130 bits from the OS generator).
fn generate_secret() -> SecretString {
    let mut rng = rand::rngs::OsRng;
    let text: String = (0..SECRET_CHARS)
        .map(|_| char::from(SECRET_ALPHABET[rng.gen_range(0..SECRET_ALPHABET.len())]))
        .collect();
    SecretString::from(text)
}

/// Checks a login id: 1-64 printable ASCII characters without spaces or `|`.
fn check_login_id(login_id: &str) -> Result<(), Error> {
    if login_id.is_empty()
        || login_id.len() > 64
        || !login_id.chars().all(|c| c.is_ascii_graphic() && c != '|')
    {
        return Err(Error::Invalid {
            what: "terminal login id",
            reason: "use 1-64 printable characters without spaces or |".into(),
        });
    }
    Ok(())
}

/// zxcvbn's top strength score (4 of 0-4): "very unguessable", at least 10^10 guesses.
const TOP_ZXCVBN_SCORE: u8 = 4;

/// Checks a secret chosen by the operator (never echoed back in the reason): at least
/// [`MIN_GIVEN_SECRET_CHARS`] characters, or a shorter one with zxcvbn's top score, so that no
/// online guessing rate matters.
fn check_given_secret(secret: &SecretString) -> Result<(), Error> {
    let text = secret.expose_secret();
    let count = text.chars().count();
    let strong = || u8::from(zxcvbn::zxcvbn(text, &[]).score()) >= TOP_ZXCVBN_SCORE;
    let reason = if count < MIN_GIVEN_SECRET_CHARS && !strong() {
        format!("a terminal secret needs at least {MIN_GIVEN_SECRET_CHARS} characters, or a shorter one that is very hard to guess (zxcvbn score {TOP_ZXCVBN_SCORE}); or let sip2auth generate one")
    } else if count > 128 {
        "a terminal secret can have at most 128 characters".into()
    } else if text.chars().any(|c| c.is_control() || c == '|') {
        "a terminal secret cannot contain | or control characters".into()
    } else if text.chars().skip(1).all(|c| text.starts_with(c)) {
        "a terminal secret cannot be one repeated character".into()
    } else {
        return Ok(());
    };
    Err(Error::Refused(reason))
}

/// `nets` with each network's host bits cleared (`10.0.4.5/24` is `10.0.4.0/24`), duplicates
/// dropped; and each network that was written with host bits, with what it means.
pub(crate) fn normalised_cidrs(nets: &[IpNet]) -> (Vec<IpNet>, Vec<(IpNet, IpNet)>) {
    let mut normalised: Vec<IpNet> = Vec::with_capacity(nets.len());
    let mut changed = Vec::new();
    for net in nets {
        let truncated = net.trunc();
        if truncated != *net {
            changed.push((*net, truncated));
        }
        if !normalised.contains(&truncated) {
            normalised.push(truncated);
        }
    }
    (normalised, changed)
}

/// Checks settings that depend on each other.
fn check_settings(settings: &TerminalSettings) -> Result<(), Error> {
    if settings.login_optional && settings.allowed_cidrs.is_empty() {
        return Err(Error::Invalid {
            what: "terminal settings",
            reason: "login-free access needs at least one --cidr to allow it from".into(),
        });
    }
    if settings.certificate_login == CertificateLogin::Skip93
        && settings.client_certificate.is_none()
    {
        return Err(Error::Invalid {
            what: "terminal settings",
            reason: "--cert-login skip-93 needs a client certificate (--client-cert-sha256, or \
                     --client-ca with --client-subject)"
                .into(),
        });
    }
    if settings.institution.trim().is_empty() || settings.institution.contains('|') {
        return Err(Error::Invalid {
            what: "institution",
            reason: "give a non-empty institution id without |".into(),
        });
    }
    Ok(())
}

impl Accounts {
    /// Creates a terminal. With `secret = None` a secret is generated and returned (show it once).
    pub async fn add_terminal(
        &self,
        operator: &Operator,
        login_id: &str,
        settings: TerminalSettings,
        secret: Option<SecretString>,
    ) -> Result<(Terminal, Option<SecretString>), Error> {
        check_login_id(login_id)?;
        let mut settings = settings;
        settings.allowed_cidrs = normalised_cidrs(&settings.allowed_cidrs).0;
        check_settings(&settings)?;
        let (secret, generated) = secret_to_set(secret)?;
        let hash = self.credentials.terminal_secret(&secret).await?;
        let new = NewTerminal {
            login_id: login_id.to_owned(),
            password: Some(hash),
            settings,
        };
        let id = self
            .store
            .create_terminal(&new.row())
            .await
            .map_err(|e| match e {
                crate::store::Error::Duplicate { .. } => Error::Duplicate {
                    what: "terminal",
                    id: login_id.to_owned(),
                },
                other => other.into(),
            })?;
        self.audit_terminal(operator, AuditAction::TerminalAdd, login_id)
            .await?;
        let terminal = self
            .store
            .get_terminal(id)
            .await?
            .map(Terminal::from_row)
            .transpose()?
            .ok_or_else(|| not_found(login_id))?;
        Ok((terminal, generated.then_some(secret)))
    }

    /// The terminal with this login id.
    pub async fn terminal(&self, login_id: &str) -> Result<Terminal, Error> {
        self.store
            .terminal_by_login(login_id)
            .await?
            .map(Terminal::from_row)
            .transpose()?
            .ok_or_else(|| not_found(login_id))
    }

    /// Changes a terminal's settings (not its secret, nor whether it is enabled: those have their
    /// own commands). The changes are applied to a copy of the current settings; the result is
    /// checked as a new terminal's would be.
    pub(crate) async fn update_terminal(
        &self,
        operator: &Operator,
        login_id: &str,
        changes: TerminalChanges,
    ) -> Result<Terminal, Error> {
        let terminal = self.terminal(login_id).await?;
        let mut settings = terminal.settings.clone();
        changes.apply(&mut settings);
        settings.enabled = terminal.settings.enabled;
        settings.allowed_cidrs = normalised_cidrs(&settings.allowed_cidrs).0;
        check_settings(&settings)?;
        self.store
            .update_terminal(terminal.id, &settings.columns())
            .await?;
        self.audit_terminal(operator, AuditAction::TerminalUpdate, login_id)
            .await?;
        self.terminal(login_id).await
    }

    /// `secret` sealed as `terminal`'s upstream password: bound to its row, under the active
    /// pepper key. The plain text is never stored or shown.
    pub(crate) fn seal_upstream_password(
        &self,
        terminal: &Terminal,
        secret: &SecretString,
    ) -> crate::auth::SealedPassword {
        let sealed = self.credentials.authenticator().sealer().seal(
            crate::auth::SealPurpose::UpstreamPassword,
            &crate::auth::upstream::record(terminal.id),
            secret.expose_secret().as_bytes(),
        );
        crate::auth::SealedPassword(sealed)
    }

    /// Every terminal, by login id.
    pub(crate) async fn terminals(&self) -> Result<Vec<Terminal>, Error> {
        let rows = self.store.list_terminals().await?;
        Ok(rows
            .into_iter()
            .map(Terminal::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Replaces a terminal's secret; with `None` a new one is generated and returned.
    pub(crate) async fn set_terminal_secret(
        &self,
        operator: &Operator,
        login_id: &str,
        secret: Option<SecretString>,
    ) -> Result<Option<SecretString>, Error> {
        let terminal = self.terminal(login_id).await?;
        let (secret, generated) = secret_to_set(secret)?;
        let stored = self.credentials.terminal_secret(&secret).await?;
        self.store
            .set_terminal_password_hash(terminal.id, Some(&stored))
            .await?;
        self.audit_terminal(operator, AuditAction::TerminalSetPassword, login_id)
            .await?;
        Ok(generated.then_some(secret))
    }

    /// Enables or disables a terminal (a disabled terminal cannot log in).
    pub async fn set_terminal_enabled(
        &self,
        operator: &Operator,
        login_id: &str,
        enabled: bool,
    ) -> Result<(), Error> {
        let terminal = self.terminal(login_id).await?;
        self.store
            .set_terminal_enabled(terminal.id, enabled)
            .await?;
        let action = if enabled {
            AuditAction::TerminalEnable
        } else {
            AuditAction::TerminalDisable
        };
        self.audit_terminal(operator, action, login_id).await
    }

    /// Deletes a terminal.
    pub async fn remove_terminal(&self, operator: &Operator, login_id: &str) -> Result<(), Error> {
        let terminal = self.terminal(login_id).await?;
        self.store.remove_terminal(terminal.id).await?;
        self.audit_terminal(operator, AuditAction::TerminalRemove, login_id)
            .await
    }
}

impl Accounts {
    /// Appends the audit record of a staff action on a terminal (no card; the login id as reason).
    async fn audit_terminal(
        &self,
        operator: &Operator,
        action: AuditAction,
        login_id: &str,
    ) -> Result<(), Error> {
        let reason = format!("terminal {login_id}");
        self.audit(operator, None, action, AuditOutcome::Ok, Some(reason))
            .await
    }
}

/// The secret to hash: the operator's (checked) or a generated one; `true` when generated (to
/// be shown once).
fn secret_to_set(given: Option<SecretString>) -> Result<(SecretString, bool), Error> {
    match given {
        Some(given) => {
            check_given_secret(&given)?;
            Ok((given, false))
        }
        None => Ok((generate_secret(), true)),
    }
}

fn not_found(login_id: &str) -> Error {
    Error::NotFound {
        what: "terminal",
        id: login_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_normalised_to_their_network_once() {
        let nets: Vec<IpNet> = ["10.0.4.5/24", "10.0.4.0/24", "192.0.2.7/32"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        let (normalised, changed) = normalised_cidrs(&nets);
        let shown: Vec<String> = normalised.iter().map(IpNet::to_string).collect();
        assert_eq!(shown, ["10.0.4.0/24", "192.0.2.7/32"]);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].1.to_string(), "10.0.4.0/24");
    }

    #[test]
    fn generated_secrets_are_long_random_and_distinct() {
        let a = generate_secret();
        let b = generate_secret();
        assert_eq!(a.expose_secret().len(), SECRET_CHARS);
        assert_ne!(a.expose_secret(), b.expose_secret());
        // 26 symbols of 5 bits each.
        assert!(SECRET_CHARS * 5 >= 128 && SECRET_ALPHABET.len() == 32);
    }

    #[test]
    fn weak_given_secrets_are_refused_without_echo() {
        let short = SecretString::from("abc123".to_string());
        let err = check_given_secret(&short).unwrap_err().to_string();
        assert!(!err.contains("abc123"), "{err}");
        assert!(check_given_secret(&SecretString::from("a".repeat(20))).is_err());
        assert!(
            check_given_secret(&SecretString::from("correct-horse-battery".to_string())).is_ok()
        );
    }

    #[test]
    fn a_short_secret_passes_only_with_the_top_strength_score() {
        let guessable = SecretString::from("Password123!".to_string());
        assert!(u8::from(zxcvbn::zxcvbn("Password123!", &[]).score()) < TOP_ZXCVBN_SCORE);
        assert!(check_given_secret(&guessable).is_err());
        let random = "q7#Vz!m2Kp9@wX";
        assert!(random.len() < MIN_GIVEN_SECRET_CHARS);
        assert_eq!(
            u8::from(zxcvbn::zxcvbn(random, &[]).score()),
            TOP_ZXCVBN_SCORE
        );
        assert!(check_given_secret(&SecretString::from(random.to_string())).is_ok());
    }
}
