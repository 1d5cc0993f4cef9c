//! The mail outbox and the queue of forgotten-PIN requests.
//!
//! An outbox row is the intent of one mail to one patron (what kind, for which credential, on
//! whose behalf), never its text: the message and any token or temporary password in it are
//! made when it is sent. Rows are claimed by a single conditional `UPDATE … RETURNING`, so of
//! several instances sharing one database exactly one sends each mail; a claim is a lease, and
//! a row whose sender died is claimed again once the lease ends. Failed sends go back to the
//! queue with a later due time until the caller gives up (`failed`).
//!
//! Reset requests are the typed card or email waiting for the background lookup; each is taken
//! (deleted and returned) by one `DELETE … RETURNING`. Their rate windows are counted per key
//! (pseudonymised by the caller) in one upsert.
//!
//! Must not import `auth`, `sip2` or any mail code.

use chrono::{DateTime, Utc};

use super::error::Result;
use super::values::{time_from_secs, PatronId};
use super::web_sessions::MustChange;
use super::Store;

/// What a mail tells the patron. The text is what the outbox stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A reset link (or a temporary password) for the credential of the row.
    Reset,
    PinChanged,
    PasswordChanged,
    /// Too many wrong PINs: locked until a reset or staff.
    HardLock,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRenewed,
}

impl MailKind {
    pub const ALL: [MailKind; 7] = [
        MailKind::Reset,
        MailKind::PinChanged,
        MailKind::PasswordChanged,
        MailKind::HardLock,
        MailKind::TwoFactorEnabled,
        MailKind::TwoFactorDisabled,
        MailKind::RecoveryCodesRenewed,
    ];

    /// The stored text, also the name of the mail's templates.
    pub const fn as_str(self) -> &'static str {
        match self {
            MailKind::Reset => "reset",
            MailKind::PinChanged => "pin-changed",
            MailKind::PasswordChanged => "password-changed",
            MailKind::HardLock => "hard-lock",
            MailKind::TwoFactorEnabled => "two-factor-enabled",
            MailKind::TwoFactorDisabled => "two-factor-disabled",
            MailKind::RecoveryCodesRenewed => "recovery-codes-renewed",
        }
    }

    fn parse(text: &str) -> Result<MailKind> {
        MailKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or(super::Error::corrupt("mail_outbox.kind"))
    }
}

/// Where a mail is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailState {
    Queued,
    Sending,
    Sent,
    Failed,
}

impl MailState {
    pub const ALL: [MailState; 4] = [
        MailState::Queued,
        MailState::Sending,
        MailState::Sent,
        MailState::Failed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sending => "sending",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<MailState> {
        MailState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or(super::Error::corrupt("mail_outbox.state"))
    }
}

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub patron: PatronId,
    pub kind: MailKind,
    /// The credential a reset sets.
    pub credential: Option<MustChange>,
    /// Who asked for it on the patron's behalf (`staff:NAME`), if not the patron.
    pub operator: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// A mail claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: i64,
    pub patron: PatronId,
    pub kind: MailKind,
    pub credential: Option<MustChange>,
    pub operator: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// The last mail of a kind to a patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    pub state: MailState,
    pub credential: Option<MustChange>,
    pub operator: Option<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// When it was sent or given up.
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Rows per state, and the oldest mail still waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// Reset requests not yet looked up.
    pub reset_requests: u64,
}

/// How a reset request names the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetLookup {
    Card,
    Email,
}

impl ResetLookup {
    fn as_str(self) -> &'static str {
        match self {
            ResetLookup::Card => "card",
            ResetLookup::Email => "email",
        }
    }
}

/// A reset request as the patron typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRequest {
    pub lookup: ResetLookup,
    pub value: String,
    pub credential: MustChange,
    pub requested_at: DateTime<Utc>,
}

/// Claims the oldest due row: `$1` now, `$2` end of the lease. The condition is repeated
/// outside the sub-select so that, of two claimers of one row, the second matches nothing.
const CLAIM: &str = "UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, \
    claimed_until = $2 WHERE id = (SELECT id FROM mail_outbox WHERE \
      (state = 'queued' AND next_attempt_at <= $1) OR (state = 'sending' AND claimed_until <= $1) \
      ORDER BY id LIMIT 1) \
    AND ((state = 'queued' AND next_attempt_at <= $1) \
      OR (state = 'sending' AND claimed_until <= $1)) \
    RETURNING id, patron_id, kind, credential, operator, attempts";

const COUNT_RATE: &str = "INSERT INTO reset_rate_windows (rate_key, window_start, requests) \
    VALUES ($1, $2, 1) ON CONFLICT (rate_key) DO UPDATE SET \
    requests = CASE WHEN reset_rate_windows.window_start <= $3 THEN 1 \
      ELSE reset_rate_windows.requests + 1 END, \
    window_start = CASE WHEN reset_rate_windows.window_start <= $3 THEN $2 \
      ELSE reset_rate_windows.window_start END \
    RETURNING requests, window_start";

type ClaimRow = (i64, i64, String, Option<String>, Option<String>, i64);
type RecordRow = (
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Store {
    /// Queues a mail, due at once.
    pub async fn queue_mail(&self, mail: &NewMail<'_>) -> Result<i64> {
        let now = mail.now.timestamp();
        let id = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO mail_outbox (patron_id, kind, credential, operator, state, \
                 next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'queued', $5, $5) \
                 RETURNING id",
            )
            .bind(mail.patron.0)
            .bind(mail.kind.as_str())
            .bind(mail.credential.map(MustChange::as_str))
            .bind(mail.operator)
            .bind(now)
            .fetch_one(pool)
            .await
        })?;
        Ok(id)
    }

    /// Claims the oldest mail due at `now` for `lease`; `None` when nothing is due.
    pub async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Option<ClaimedMail>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, ClaimRow>(CLAIM)
                .bind(now.timestamp())
                .bind((now + lease).timestamp())
                .fetch_optional(pool)
                .await
        })?;
        let Some((id, patron, kind, credential, operator, attempts)) = row else {
            return Ok(None);
        };
        Ok(Some(ClaimedMail {
            id,
            patron: PatronId(patron),
            kind: MailKind::parse(&kind)?,
            credential: MustChange::parse(credential.as_deref()),
            operator,
            attempts: count(attempts),
        }))
    }

    /// The mail went out.
    pub async fn mail_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.finish_mail(id, MailState::Sent, now, None).await
    }

    /// The mail is given up (too many attempts, or nobody to send it to).
    pub async fn mail_failed(&self, id: i64, now: DateTime<Utc>, error: &str) -> Result<()> {
        self.finish_mail(id, MailState::Failed, now, Some(error))
            .await
    }

    async fn finish_mail(
        &self,
        id: i64,
        state: MailState,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        with_pool!(self, |pool| sqlx::query(
            "UPDATE mail_outbox SET state = $2, finished_at = $3, claimed_until = NULL, \
             last_error = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(state.as_str())
        .bind(now.timestamp())
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The send failed: back to the queue, due at `next_attempt_at`.
    pub async fn mail_retry(
        &self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        with_pool!(self, |pool| sqlx::query(
            "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $2, \
             claimed_until = NULL, last_error = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(next_attempt_at.timestamp())
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The newest mail of `kind` to the patron, if any.
    pub async fn last_mail(&self, patron: PatronId, kind: MailKind) -> Result<Option<MailRecord>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, RecordRow>(
                "SELECT state, credential, operator, attempts, created_at, finished_at, \
                 last_error FROM mail_outbox WHERE patron_id = $1 AND kind = $2 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(patron.0)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await
        })?;
        let Some((state, credential, operator, attempts, created, finished, error)) = row else {
            return Ok(None);
        };
        Ok(Some(MailRecord {
            state: MailState::parse(&state)?,
            credential: MustChange::parse(credential.as_deref()),
            operator,
            attempts: count(attempts),
            created_at: time_from_secs(created, "mail_outbox.created_at")?,
            finished_at: finished
                .map(|at| time_from_secs(at, "mail_outbox.finished_at"))
                .transpose()?,
            last_error: error,
        }))
    }

    /// Rows per state, the oldest waiting mail and the reset requests not yet looked up.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, i64, i64)>(
                "SELECT state, COUNT(*), MIN(created_at) FROM mail_outbox GROUP BY state",
            )
            .fetch_all(pool)
            .await
        })?;
        let requests = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM reset_requests")
                .fetch_one(pool)
                .await
        })?;
        let mut counts = OutboxCounts {
            reset_requests: u64::try_from(requests).unwrap_or(0),
            ..OutboxCounts::default()
        };
        for (state, n, oldest) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match MailState::parse(&state)? {
                MailState::Queued => counts.queued = n,
                MailState::Sending => counts.sending = n,
                MailState::Sent => counts.sent = n,
                MailState::Failed => counts.failed = n,
            }
            if matches!(state.as_str(), "queued" | "sending") {
                let oldest = time_from_secs(oldest, "mail_outbox.created_at")?;
                counts.oldest_waiting =
                    Some(counts.oldest_waiting.map_or(oldest, |o| o.min(oldest)));
            }
        }
        Ok(counts)
    }

    /// Deletes sent and failed mails finished before `cutoff`; returns how many.
    pub async fn purge_finished_mail(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        self.delete_rows(
            "DELETE FROM mail_outbox WHERE state IN ('sent', 'failed') AND finished_at < $1",
            cutoff.timestamp(),
        )
        .await
    }

    /// Queues a reset request as typed.
    pub async fn queue_reset_request(&self, request: &ResetRequest) -> Result<()> {
        with_pool!(self, |pool| sqlx::query(
            "INSERT INTO reset_requests (lookup, value, credential, requested_at) \
             VALUES ($1, $2, $3, $4)"
        )
        .bind(request.lookup.as_str())
        .bind(&request.value)
        .bind(request.credential.as_str())
        .bind(request.requested_at.timestamp())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Takes the oldest reset request (it is deleted); `None` when none waits or another
    /// instance took it first.
    pub async fn take_reset_request(&self) -> Result<Option<ResetRequest>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String, String, i64)>(
                "DELETE FROM reset_requests WHERE id = (SELECT MIN(id) FROM reset_requests) \
                 RETURNING lookup, value, credential, requested_at",
            )
            .fetch_optional(pool)
            .await
        })?;
        let Some((lookup, value, credential, at)) = row else {
            return Ok(None);
        };
        Ok(Some(ResetRequest {
            lookup: if lookup == "email" {
                ResetLookup::Email
            } else {
                ResetLookup::Card
            },
            value,
            credential: MustChange::parse(Some(&credential)).unwrap_or(MustChange::Pin),
            requested_at: time_from_secs(at, "reset_requests.requested_at")?,
        }))
    }

    /// Counts one reset request under `key` in a fixed window of `window` length: returns the
    /// requests in the current window (this one included) and when it started.
    pub async fn count_reset_request(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<(u32, DateTime<Utc>)> {
        let (requests, start) = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, i64)>(COUNT_RATE)
                .bind(key)
                .bind(now.timestamp())
                .bind((now - window).timestamp())
                .fetch_one(pool)
                .await
        })?;
        Ok((
            count(requests),
            time_from_secs(start, "reset_rate_windows.window_start")?,
        ))
    }

    /// Deletes rate windows that started at or before `cutoff`.
    pub async fn purge_reset_rate_windows(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        self.delete_rows(
            "DELETE FROM reset_rate_windows WHERE window_start <= $1",
            cutoff.timestamp(),
        )
        .await
    }

    /// The patrons of `institution` whose email on file is `email` (ignoring ASCII case).
    pub async fn patrons_with_email(
        &self,
        institution: &str,
        email: &str,
    ) -> Result<Vec<PatronId>> {
        let ids = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM patrons WHERE institution = $1 AND lower(email) = lower($2) \
                 ORDER BY id",
            )
            .bind(institution)
            .bind(email)
            .fetch_all(pool)
            .await
        })?;
        Ok(ids.into_iter().map(PatronId).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_state_reads_back_from_its_text() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()).unwrap(), kind);
        }
        for state in MailState::ALL {
            assert_eq!(MailState::parse(state.as_str()).unwrap(), state);
        }
        assert!(MailKind::parse("bogus").is_err());
    }
}
