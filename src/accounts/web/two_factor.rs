//! The patron's two-factor log-in on the web: enrolment (a secret kept server-side, sealed,
//! while pending, and turned on only by a correct code), the ten recovery codes shown once
//! (kept as keyed digests; a new set cancels the old one), turning it off (the PIN or password
//! and a current code), the classes that must use it, and the second step of a log-in: a
//! half-done log-in bound to its own cookie, whose code counts on the lock counter of the
//! credential that passed, and whose accepted time step is stored so no code works twice.
//!
//! Uses `auth` (codes, sealing, digests, lock counters) and `store` through [`Accounts`]; must
//! not import `sip2`, `server` or `http`. Nothing here logs a secret or a code.

use chrono::Duration;
use secrecy::SecretString;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{CredentialKind, SessionToken, WebSession};
use crate::accounts::{Accounts, Error, Operator};
use crate::auth::two_factor::{
    new_recovery_code, SecondFactor, SecondFactorSlot, TotpSecret, RECOVERY_CODES,
};
use crate::auth::{AuditAction, AuditOutcome, CredentialVerdict, Presented, WebChecked};
use crate::store::{CheckedCredential, HalfLoginRow, MustChange, PatronId, TwoFactorRow};

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
        Ok(DisableOutcome::Disabled)
    }

    /// After a right PIN or password: whether the log-in needs a code; if so, the half-done
    /// log-in's cookie token.
    pub(super) async fn half_log_in(
        &self,
        patron: PatronId,
        card: &str,
        checked: WebChecked,
        must_change: Option<CredentialKind>,
    ) -> Result<Option<SessionToken>, Error> {
        if self.enabled_two_factor(patron).await?.is_none() {
            return Ok(None);
        }
        let token = SessionToken(SecretString::from(super::random_token()));
        let half = HalfLoginRow {
            patron,
            card: card.to_owned(),
            checked: match checked {
                WebChecked::Pin => CheckedCredential::Pin,
                WebChecked::Password => CheckedCredential::Password,
            },
            must_change: must_change.map(MustChange::from),
            created_at: self.clock.now(),
        };
        self.store.create_half_login(&token.digest(), &half).await?;
        Ok(Some(token))
    }

    /// Whether a half-done log-in's cookie names one still waiting for its code.
    pub(crate) async fn half_login_waiting(&self, token: &SessionToken) -> Result<bool, Error> {
        Ok(self.live_half_login(token).await?.is_some())
    }

    async fn live_half_login(&self, token: &SessionToken) -> Result<Option<HalfLoginRow>, Error> {
        let Some(half) = self.store.half_login(&token.digest()).await? else {
            return Ok(None);
        };
        let timeout =
            Duration::from_std(self.config.web.two_factor_timeout).unwrap_or(Duration::minutes(5));
        if self.clock.now() - half.created_at >= timeout {
            self.store.delete_half_login(&token.digest()).await?;
            return Ok(None);
        }
        Ok(Some(half))
    }

    /// The second step of a log-in: the code (or a recovery code) for the half-done log-in.
    pub(crate) async fn web_second_step(
        &self,
        token: &SessionToken,
        typed: &str,
        user_agent: &str,
    ) -> Result<SecondStepOutcome, Error> {
        let Some(half) = self.live_half_login(token).await? else {
            return Ok(SecondStepOutcome::Expired);
        };
        match self
            .check_second_factor(half.patron, &half.card, half.checked, typed)
            .await?
        {
            Checked::Right => {}
            Checked::Wrong => return Ok(SecondStepOutcome::WrongCode),
            Checked::Locked(until) => {
                self.store.delete_half_login(&token.digest()).await?;
                return Ok(SecondStepOutcome::Locked { until });
            }
        }
        // Only the request that removes the half-done log-in starts the session.
        if !self.store.delete_half_login(&token.digest()).await? {
            return Ok(SecondStepOutcome::Expired);
        }
        let must_change = half.must_change.map(CredentialKind::from);
        let (token, session) = self
            .start_web_session(half.patron, &half.card, must_change, user_agent)
            .await?;
        Ok(SecondStepOutcome::LoggedIn { token, session })
    }

    /// One second-factor check on the lock counter of `checked`: a TOTP code of a step not
    /// yet accepted, or an unused recovery code (then used up).
    async fn check_second_factor(
        &self,
        patron: PatronId,
        card: &str,
        checked: CheckedCredential,
        typed: &str,
    ) -> Result<Checked, Error> {
        let auth = self.credentials.authenticator();
        let checked = checked_of(checked);
        let attempt = match auth
            .reserve_second_factor(checked, patron)
            .await
            .map_err(super::auth_error)?
        {
            SecondFactorSlot::Granted { attempt } => attempt,
            SecondFactorSlot::Locked { until } => return Ok(Checked::Locked(until)),
        };
        let right = match SecondFactor::parse(typed) {
            SecondFactor::Code(code) => self.accept_code(patron, &code).await?,
            SecondFactor::Recovery(code) => self.use_recovery(patron, card, &code).await?,
            SecondFactor::Malformed => false,
        };
        auth.second_factor_checked(checked, patron, card, attempt, right)
            .await
            .map_err(super::auth_error)?;
        Ok(if right {
            Checked::Right
        } else {
            Checked::Wrong
        })
    }

    /// A TOTP code: right for the patron's secret, and of a step later than the last accepted.
    async fn accept_code(&self, patron: PatronId, code: &str) -> Result<bool, Error> {
        let Some(row) = self.enabled_two_factor(patron).await? else {
            return Ok(false);
        };
        let sealed = row.secret_sealed.unwrap_or_default();
        let auth = self.credentials.authenticator();
        let secret = match auth.open_totp(&record_id(patron), &sealed) {
            Ok(secret) => secret,
            Err(err) => {
                tracing::warn!(patron_id = patron.0, error = %err, "TOTP secret does not open");
                return Ok(false);
            }
        };
        let Some(step) = secret.matched_step(code, self.clock.now()) else {
            return Ok(false);
        };
        Ok(self.store.accept_two_factor_step(patron, step).await?)
    }

    /// A recovery code: one of the patron's unused ones, then used up (audited).
    async fn use_recovery(&self, patron: PatronId, card: &str, code: &str) -> Result<bool, Error> {
        let auth = self.credentials.authenticator();
        let record = record_id(patron);
        let mut found = None;
        for row in self.store.unused_recovery_codes(patron).await? {
            let Some(digest) = auth.recovery_digest(row.key_id, &record, code) else {
                continue;
            };
            if bool::from(digest.as_bytes().ct_eq(row.digest.as_bytes())) {
                found = Some(row.id);
            }
        }
        let Some(id) = found else {
            return Ok(false);
        };
        if !self
            .store
            .use_recovery_code(patron, id, self.clock.now())
            .await?
        {
            return Ok(false);
        }
        self.audit(
            &Operator::patron_web(),
            Some(card),
            AuditAction::RecoveryCodeUse,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        Ok(true)
    }
}

/// The answer of one second-factor check.
enum Checked {
    Right,
    Wrong,
    Locked(Option<chrono::DateTime<chrono::Utc>>),
}
