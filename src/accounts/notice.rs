//! Notification mails ("your PIN was changed — not you? contact the library"): the one
//! function every caller uses, [`Accounts::notify_patron`], which queues the mail in the outbox
//! (never sends it in the request). A patron without an email on file, or a server without
//! mail, gets none.
//!
//! Uses `store` through [`Accounts`]; must not import `sip2`, `server`, `http` or `mail`.

use super::{Accounts, Error};
use crate::store::{MailKind, NewMail, PatronId};

/// What a notification mail tells the patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    PinChanged,
    PasswordChanged,
    /// Too many wrong PINs: locked until a reset or staff (queued by `auth` where it happens).
    HardLock,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRenewed,
}

impl Notice {
    pub(crate) fn kind(self) -> MailKind {
        match self {
            Notice::PinChanged => MailKind::PinChanged,
            Notice::PasswordChanged => MailKind::PasswordChanged,
            Notice::HardLock => MailKind::HardLock,
            Notice::TwoFactorEnabled => MailKind::TwoFactorEnabled,
            Notice::TwoFactorDisabled => MailKind::TwoFactorDisabled,
            Notice::RecoveryCodesRenewed => MailKind::RecoveryCodesRenewed,
        }
    }
}

impl Accounts {
    /// Queues the notification mail `notice` for the patron; returns whether one was queued
    /// (false: mail is off, or no email on file).
    pub async fn notify_patron(&self, patron: PatronId, notice: Notice) -> Result<bool, Error> {
        if !self.config.mail.enabled() {
            return Ok(false);
        }
        let Some(stored) = self.store.get_patron(patron).await? else {
            return Ok(false);
        };
        if stored
            .details
            .email
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
        {
            return Ok(false);
        }
        self.store
            .queue_mail(&NewMail {
                patron,
                kind: notice.kind(),
                credential: None,
                operator: None,
                now: self.clock.now(),
            })
            .await?;
        self.wake_outbox();
        Ok(true)
    }
}
