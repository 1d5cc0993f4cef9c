//! The second factor of a web log-in: TOTP codes (RFC 6238: HMAC-SHA1, six digits, 30-second
//! steps, one step either side accepted, through `totp-rs`), the secret sealed at rest with the
//! pepper-derived key of [`SealPurpose::TotpSecret`] and bound to its record, the recovery codes
//! (80 random bits each, kept as an HMAC-SHA256 digest under a key derived from the pepper, so
//! a copied database reveals neither), and the lock counter a wrong code counts on: the counter
//! of the credential the log-in passed, through the same atomic reservation as a PIN.
//!
//! Uses `store` and `config`; must not import `sip2`, `server` or `accounts`. Nothing here logs
//! a secret or a code.

use chrono::{DateTime, Utc};
use rand::Rng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::attempt::Which;
use super::authenticator::Authenticator;
use super::patron::WebChecked;
use super::sealing::{SealError, SealPurpose};
use super::Result;
use crate::store::{AttemptSlot, PatronId};

/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;
/// Seconds of one time step.
const STEP_SECONDS: u64 = 30;
/// Digits of a code.
const DIGITS: usize = 6;
/// How many recovery codes one set holds.
pub(crate) const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (base32 letters: 5 bits each, 80 bits).
const RECOVERY_CHARS: usize = 16;
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// The label of the key recovery-code digests are made with.
const RECOVERY_LABEL: &[u8] = b"sip2auth v1: recovery code digest";

/// A TOTP shared secret in clear (only in memory, zeroed on drop). `Debug` prints nothing of it.
pub(crate) struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub(crate) fn generate() -> TotpSecret {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rand::rngs::OsRng.fill(&mut bytes[..]);
        TotpSecret(bytes)
    }

    /// A secret given as base32 (a published demo key); `None` unless it is 160 bits.
    pub(crate) fn from_base32(text: &str) -> Option<TotpSecret> {
        let secret = totp_rs::Secret::try_from_base32(text.replace(' ', "")).ok()?;
        let bytes = secret.as_ref().to_vec();
        (bytes.len() == SECRET_BYTES).then(|| TotpSecret(Zeroizing::new(bytes)))
    }

    fn totp(&self, issuer: &str, account: &str) -> Option<totp_rs::Totp> {
        let clean = |text: &str| text.replace(':', " ");
        totp_rs::Builder::new()
            .with_secret(self.0.to_vec())
            .with_issuer(Some(clean(issuer)))
            .with_account_name(clean(account))
            .build()
            .ok()
    }

    /// The secret as an authenticator app takes it typed in (base32, no padding), shown once.
    pub(crate) fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(totp_rs::Secret::from(self.0.to_vec()).to_base32())
    }

    /// The `otpauth://totp/…` URL a QR code carries.
    pub(crate) fn otpauth_url(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        Zeroizing::new(
            self.totp(issuer, account)
                .and_then(|totp| totp.to_url().ok())
                .unwrap_or_default(),
        )
    }

    /// The time step whose code `code` is, within one step of `now`; `None` when it is none.
    pub(crate) fn matched_step(&self, code: &str, now: DateTime<Utc>) -> Option<i64> {
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("sip2auth", "check")?;
        let seconds = u64::try_from(now.timestamp()).ok()?;
        // Every candidate step is computed and compared, so the time taken does not say which.
        let origin = seconds / STEP_SECONDS;
        let mut found = None;
        for step in origin.saturating_sub(1)..=origin + 1 {
            let expected = totp.generate(step * STEP_SECONDS).to_string();
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found.and_then(|step| i64::try_from(step).ok())
    }
}

/// A fresh recovery code, `xxxx-xxxx-xxxx-xxxx`.
pub(crate) fn new_recovery_code() -> Zeroizing<String> {
    let mut rng = rand::rngs::OsRng;
    let mut code = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 3));
    for index in 0..RECOVERY_CHARS {
        if index > 0 && index % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(RECOVERY_ALPHABET[rng.gen_range(0..32)]));
    }
    code
}

/// What the patron typed in the code field. `Debug` prints neither code.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SecondFactor {
    /// Six digits: a TOTP code.
    Code(String),
    /// A recovery code, normalised (lower case, no dashes or spaces).
    Recovery(Zeroizing<String>),
    /// Neither.
    Malformed,
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecondFactor::Code(_) => "Code([redacted])",
            SecondFactor::Recovery(_) => "Recovery([redacted])",
            SecondFactor::Malformed => "Malformed",
        })
    }
}

impl SecondFactor {
    pub(crate) fn parse(typed: &str) -> SecondFactor {
        let squeezed: Zeroizing<String> = Zeroizing::new(
            typed
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .flat_map(char::to_lowercase)
                .collect(),
        );
        if squeezed.len() == DIGITS && squeezed.bytes().all(|b| b.is_ascii_digit()) {
            return SecondFactor::Code(squeezed.to_string());
        }
        if squeezed.len() == RECOVERY_CHARS
            && squeezed.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
        {
            return SecondFactor::Recovery(squeezed);
        }
        SecondFactor::Malformed
    }
}

/// Whether the second factor may be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecondFactorSlot {
    /// Check it; a wrong one is failure number `attempt` of the counter.
    Granted { attempt: u32 },
    /// Locked: until this time, or (`None`) until staff or a reset unlock it.
    Locked { until: Option<DateTime<Utc>> },
}

fn which(checked: WebChecked) -> Which {
    match checked {
        WebChecked::Pin => Which::Pin,
        WebChecked::Password => Which::Password,
    }
}

impl Authenticator {
    /// Seals a TOTP secret for the row `record` ("patron:ID").
    pub(crate) fn seal_totp(&self, record: &str, secret: &TotpSecret) -> String {
        self.sealer()
            .seal(SealPurpose::TotpSecret, record, &secret.0)
    }

    /// Opens a TOTP secret sealed for `record`.
    pub(crate) fn open_totp(
        &self,
        record: &str,
        sealed: &str,
    ) -> std::result::Result<TotpSecret, SealError> {
        self.sealer()
            .open(SealPurpose::TotpSecret, record, sealed)
            .map(TotpSecret)
    }

    /// The digest a recovery code (normalised, see [`SecondFactor`]) of `record` is kept as,
    /// under pepper key `key_id`; `None` when that key is not configured.
    pub(crate) fn recovery_digest(&self, key_id: u32, record: &str, code: &str) -> Option<String> {
        let key = self.inner.hasher.keys().get(key_id)?;
        let derived = key.derive(RECOVERY_LABEL);
        let mut message = Zeroizing::new(Vec::with_capacity(record.len() + 1 + code.len()));
        message.extend_from_slice(record.as_bytes());
        message.push(0x1f);
        message.extend_from_slice(code.as_bytes());
        Some(hex::encode(super::pepper::hmac_sha256(
            derived.as_ref(),
            &message,
        )))
    }

    /// The key id new recovery-code digests are made with.
    pub(crate) fn active_key_id(&self) -> u32 {
        self.inner.hasher.keys().active_id()
    }

    /// Reserves one second-factor check on the lock counter of the credential the log-in
    /// passed (counted as a failure up front, as every check is; see `store::lockout`).
    pub(crate) async fn reserve_second_factor(
        &self,
        checked: WebChecked,
        patron: PatronId,
    ) -> Result<SecondFactorSlot> {
        let store = &self.inner.store;
        let now = self.now();
        let slot = match which(checked) {
            Which::Pin => {
                store
                    .reserve_pin_attempt(patron, now, &self.pin_policy())
                    .await?
            }
            Which::Password => {
                store
                    .reserve_password_attempt(patron, now, &self.password_policy())
                    .await?
            }
        };
        Ok(match slot {
            AttemptSlot::Granted { attempt } => SecondFactorSlot::Granted { attempt },
            AttemptSlot::LockedUntil(until) => SecondFactorSlot::Locked { until: Some(until) },
            AttemptSlot::HardLocked => SecondFactorSlot::Locked { until: None },
        })
    }

    /// Closes a granted second-factor check: a right code clears the counter, a wrong one
    /// stays counted (and a lock it set is audited and counted as a PIN's would be).
    pub(crate) async fn second_factor_checked(
        &self,
        checked: WebChecked,
        patron: PatronId,
        card: &str,
        attempt: u32,
        right: bool,
    ) -> Result<()> {
        let which = which(checked);
        if right {
            let store = &self.inner.store;
            match which {
                Which::Pin => store.record_pin_success(patron).await?,
                Which::Password => store.record_password_success(patron).await?,
            }
            return Ok(());
        }
        // The holder as stored now: a lock this failure sets may mail them.
        let Some(holder) = self.inner.store.get_patron(patron).await? else {
            return Ok(());
        };
        self.count_failure(which, attempt, super::patron::WEB_ACTOR, card, &holder)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().expect("time")
    }

    #[test]
    fn the_rfc_6238_sha1_vector_matches_at_its_step_and_one_step_either_side_only() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s, code 94287082 (8
        // digits); its last six digits are the six-digit code.
        let secret = TotpSecret(Zeroizing::new(b"12345678901234567890".to_vec()));
        assert_eq!(secret.matched_step("287082", at(59)), Some(1));
        assert_eq!(secret.matched_step("287082", at(59 + 30)), Some(1));
        assert_eq!(secret.matched_step("287082", at(59 - 30)), Some(1));
        assert_eq!(secret.matched_step("287082", at(59 + 60)), None);
        assert_eq!(secret.matched_step("287083", at(59)), None);
        assert_eq!(secret.matched_step("28708", at(59)), None);
        assert_eq!(secret.matched_step("28708a", at(59)), None);
    }

    #[test]
    fn what_is_typed_is_a_code_a_recovery_code_or_neither() {
        assert_eq!(
            SecondFactor::parse(" 123 456 "),
            SecondFactor::Code("123456".into())
        );
        let code = new_recovery_code();
        assert_eq!(code.len(), 19);
        let typed = code.to_uppercase();
        assert_eq!(
            SecondFactor::parse(&typed),
            SecondFactor::Recovery(Zeroizing::new(code.replace('-', "")))
        );
        assert_eq!(SecondFactor::parse("12345"), SecondFactor::Malformed);
        assert_eq!(SecondFactor::parse(""), SecondFactor::Malformed);
        assert_ne!(new_recovery_code(), new_recovery_code());
    }

    #[test]
    fn debug_shows_nothing_of_a_secret() {
        let secret = TotpSecret::generate();
        assert_eq!(format!("{secret:?}"), "TotpSecret([redacted])");
        assert_eq!(secret.base32().len(), 32);
    }
}
