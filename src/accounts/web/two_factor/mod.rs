//! The patron's two-factor log-in on the web: enrolment (a secret kept server-side, sealed,
//! while pending, and turned on only by a correct code), the ten recovery codes shown once
//! (kept as keyed digests; a new set cancels the old one), turning it off (the PIN or password
//! and a current code), the classes that must use it; the second step of a log-in (a half-done
//! log-in bound to its own cookie, whose code counts on the lock counter of the credential that
//! passed, and whose accepted time step is stored so no code works twice) is [`second_step`].
//!
//! Uses `auth` (codes, sealing, digests, lock counters) and `store` through [`Accounts`]; must
//! not import `sip2`, `server` or `http`. Nothing here logs a secret or a code.

mod second_step;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{SessionToken, WebSession};
use crate::accounts::{Accounts, Error, Notice, Operator};
use crate::auth::two_factor::{new_recovery_code, SecondFactor, TotpSecret, RECOVERY_CODES};
use crate::auth::{AuditAction, AuditOutcome, CredentialVerdict, Presented, WebChecked};
use crate::store::{CheckedCredential, PatronId, TwoFactorRow};
use second_step::Checked;

/// Where the patron's two-factor log-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TwoFactorState {
    Off,
    On { recovery_left: usize },
}

/// A secret being enrolled, to show once as text and as a QR code. `Debug` shows nothing.
pub(crate) struct Enrolment {
    pub secret: Zeroizing<String>,
    pub url: Zeroizing<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// A fresh set of recovery codes, to show once. `Debug` shows nothing.
pub(crate) struct RecoveryCodes(pub Vec<Zeroizing<String>>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} [redacted])", self.0.len())
    }
}

/// What confirming an enrolment did.
#[derive(Debug)]
pub(crate) enum ConfirmOutcome {
    Enabled(RecoveryCodes),
    /// Not the current code of the pending secret: nothing changed.
    WrongCode,
    /// No enrolment is pending (it was confirmed in another tab, or never begun).
    NothingPending,
}

/// What turning two-factor log-in off did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DisableOutcome {
    Disabled,
    WrongSecret,
    WrongCode,
    /// The patron's class must use two-factor log-in.
    Required,
    /// Locked after failures: until this time, or (`None`) until staff or a reset unlock it.
    Locked {
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    Busy,
}

/// What the second step of a log-in did.
#[derive(Debug)]
pub(crate) enum SecondStepOutcome {
    LoggedIn {
        token: SessionToken,
        session: WebSession,
    },
    /// Wrong, already used, or not a code: counted toward the lock; try again.
    WrongCode,
    /// No such half-done log-in, or it took too long: log in again.
    Expired,
    Locked {
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
}

fn record_id(patron: PatronId) -> String {
    format!("patron:{}", patron.0)
}

fn checked_of(checked: CheckedCredential) -> WebChecked {
    match checked {
        CheckedCredential::Pin => WebChecked::Pin,
        CheckedCredential::Password => WebChecked::Password,
    }
}

impl Accounts {
    /// The patron's two-factor record, if two-factor log-in is on.
    async fn enabled_two_factor(&self, patron: PatronId) -> Result<Option<TwoFactorRow>, Error> {
        Ok(self
            .store
            .two_factor(patron)
            .await?
            .filter(|row| row.secret_sealed.is_some()))
    }

    /// Whether the patron's class must use two-factor log-in.
    pub(super) async fn two_factor_required(&self, patron: PatronId) -> Result<bool, Error> {
        let classes = &self.config.web.two_factor_required_classes;
        if classes.is_empty() {
            return Ok(false);
        }
        let class = self
            .store
            .get_patron(patron)
            .await?
            .and_then(|p| p.details.patron_class);
        Ok(class.is_some_and(|class| classes.contains(&class)))
    }

    /// Whether a patron of a required class has not enrolled yet (then every page but the
    /// enrolment page sends them there).
    pub(super) async fn must_enrol(&self, patron: PatronId) -> Result<bool, Error> {
        Ok(self.two_factor_required(patron).await?
            && self.enabled_two_factor(patron).await?.is_none())
    }

    /// Where the session's patron stands, and whether their class requires it.
    pub(crate) async fn two_factor_state(
        &self,
        session: &WebSession,
    ) -> Result<(TwoFactorState, bool), Error> {
        let required = self.two_factor_required(session.patron).await?;
        if self.enabled_two_factor(session.patron).await?.is_none() {
            return Ok((TwoFactorState::Off, required));
        }
        let left = self
            .store
            .unused_recovery_codes(session.patron)
            .await?
            .len();
        Ok((
            TwoFactorState::On {
                recovery_left: left,
            },
            required,
        ))
    }

    /// Begins (or shows again) an enrolment: the pending secret, made now if there is none.
    /// `None` when two-factor log-in is already on.
    pub(crate) async fn begin_two_factor(
        &self,
        session: &WebSession,
        issuer: &str,
    ) -> Result<Option<Enrolment>, Error> {
        let record = record_id(session.patron);
        let stored = self.store.two_factor(session.patron).await?;
        if stored.as_ref().is_some_and(|r| r.secret_sealed.is_some()) {
            return Ok(None);
        }
        let auth = self.credentials.authenticator();
        let pending = stored
            .and_then(|row| row.pending_sealed)
            .and_then(|sealed| auth.open_totp(&record, &sealed).ok());
        let secret = match pending {
            Some(secret) => secret,
            None => {
                let secret = TotpSecret::generate();
                let sealed = auth.seal_totp(&record, &secret);
                self.store
                    .set_pending_two_factor(session.patron, &sealed, self.clock.now())
                    .await?;
                secret
            }
        };
        Ok(Some(Enrolment {
            secret: secret.base32(),
            url: secret.otpauth_url(issuer, &super::view::masked(&session.card)),
        }))
    }

    /// Turns two-factor log-in on with the first code of the pending secret.
    pub(crate) async fn confirm_two_factor(
        &self,
        session: &WebSession,
        typed: &str,
    ) -> Result<ConfirmOutcome, Error> {
        let record = record_id(session.patron);
        let Some(sealed) = self
            .store
            .two_factor(session.patron)
            .await?
            .and_then(|row| row.pending_sealed)
        else {
            return Ok(ConfirmOutcome::NothingPending);
        };
        let auth = self.credentials.authenticator();
        let Ok(secret) = auth.open_totp(&record, &sealed) else {
            return Ok(ConfirmOutcome::NothingPending);
        };
        let SecondFactor::Code(code) = SecondFactor::parse(typed) else {
            return Ok(ConfirmOutcome::WrongCode);
        };
        let now = self.clock.now();
        let Some(step) = secret.matched_step(&code, now) else {
            return Ok(ConfirmOutcome::WrongCode);
        };
        let (codes, digests) = self.recovery_set(session.patron);
        if !self
            .store
            .confirm_two_factor(session.patron, &sealed, step, &digests, now)
            .await?
        {
            return Ok(ConfirmOutcome::NothingPending);
        }
        self.audit(
            &Operator::patron_web(),
            Some(session.card()),
            AuditAction::TwoFactorEnable,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        self.notify_patron(session.patron, Notice::TwoFactorEnabled)
            .await?;
        Ok(ConfirmOutcome::Enabled(codes))
    }

    /// Turns two-factor log-in on for a patron with a known key (base32), without recovery
    /// codes: the demo's published key. Refused when the key is not 160 bits.
    pub(crate) async fn enrol_known_two_factor(
        &self,
        at: &crate::accounts::patron::CardRef,
        secret_base32: &str,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        let patron = record.patron.id;
        let secret = TotpSecret::from_base32(secret_base32).ok_or(Error::Invalid {
            what: "TOTP key",
            reason: "give 32 base32 characters (160 bits)".into(),
        })?;
        let sealed = self
            .credentials
            .authenticator()
            .seal_totp(&record_id(patron), &secret);
        let now = self.clock.now();
        self.store
            .set_pending_two_factor(patron, &sealed, now)
            .await?;
        self.store
            .confirm_two_factor(patron, &sealed, 0, &[], now)
            .await?;
        self.audit(
            &Operator::new("demo")?,
            Some(&at.card),
            AuditAction::TwoFactorEnable,
            AuditOutcome::Ok,
            None,
        )
        .await
    }

    /// Ten new recovery codes and their digests.
    fn recovery_set(&self, patron: PatronId) -> (RecoveryCodes, Vec<(u32, String)>) {
        let auth = self.credentials.authenticator();
        let key_id = auth.active_key_id();
        let record = record_id(patron);
        let codes: Vec<Zeroizing<String>> =
            (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let digests = codes
            .iter()
            .filter_map(|code| {
                let bare = code.replace('-', "");
                auth.recovery_digest(key_id, &record, &bare)
                    .map(|digest| (key_id, digest))
            })
            .collect();
        (RecoveryCodes(codes), digests)
    }

    /// A new set of recovery codes (the old set stops working); `None` when two-factor log-in
    /// is off.
    pub(crate) async fn new_recovery_codes(
        &self,
        session: &WebSession,
    ) -> Result<Option<RecoveryCodes>, Error> {
        if self.enabled_two_factor(session.patron).await?.is_none() {
            return Ok(None);
        }
        let (codes, digests) = self.recovery_set(session.patron);
        self.store
            .replace_recovery_codes(session.patron, &digests)
            .await?;
        self.audit(
            &Operator::patron_web(),
            Some(session.card()),
            AuditAction::RecoveryCodesIssue,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        self.notify_patron(session.patron, Notice::RecoveryCodesRenewed)
            .await?;
        Ok(Some(codes))
    }

    /// Turns two-factor log-in off, given the PIN or password (as the log-in takes it) and a
    /// current code; both count toward the lock like a log-in.
    pub(crate) async fn disable_two_factor(
        &self,
        session: &WebSession,
        secret: SecretString,
        typed: &str,
    ) -> Result<DisableOutcome, Error> {
        if self.two_factor_required(session.patron).await? {
            return Ok(DisableOutcome::Required);
        }
        let auth = self.credentials.authenticator();
        let kind = super::login::credential(self.config.web.login_with);
        let (decision, checked) = auth
            .check_web(
                &self.config.server.institution_id,
                session.card(),
                kind,
                Presented::Given(secret),
            )
            .await
            .map_err(super::auth_error)?;
        match decision.credential {
            CredentialVerdict::Valid | CredentialVerdict::DefaultToChange => {}
            CredentialVerdict::Locked { until } => return Ok(DisableOutcome::Locked { until }),
            CredentialVerdict::Busy => return Ok(DisableOutcome::Busy),
            _ => return Ok(DisableOutcome::WrongSecret),
        }
        let checked = match checked {
            Some(WebChecked::Password) => CheckedCredential::Password,
            _ => CheckedCredential::Pin,
        };
        match self
            .check_second_factor(session.patron, session.card(), checked, typed)
            .await?
        {
            Checked::Right => {}
            Checked::Wrong => return Ok(DisableOutcome::WrongCode),
            Checked::Locked(until) => return Ok(DisableOutcome::Locked { until }),
        }
        self.store.remove_two_factor(session.patron).await?;
        self.audit(
            &Operator::patron_web(),
            Some(session.card()),
            AuditAction::TwoFactorDisable,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        self.notify_patron(session.patron, Notice::TwoFactorDisabled)
            .await?;
        Ok(DisableOutcome::Disabled)
    }
}
