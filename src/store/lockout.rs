//! Lockout counters: atomic reservation of PIN and online-password attempts, success resets and
//! staff unlock. Every change is one conditional `UPDATE … RETURNING`, so the counters hold under
//! concurrent attempts, on SQLite (writes serialised by the database lock) and on PostgreSQL
//! (row lock; the WHERE clause is re-checked against the committed row), including several
//! server instances sharing one PostgreSQL database. Must not import `auth` or `sip2`: policies
//! arrive as parameters.
//!
//! # Reservation protocol (the caller is the authentication engine)
//! 1. `reserve_*_attempt` **before** verifying. It counts the attempt as a failure up front and
//!    either grants a slot or refuses (locked). A refusal means: do not verify at all.
//! 2. Verify the credential (take the CPU permit *before* reserving, so a "busy" answer never
//!    consumes a slot).
//! 3. Correct: `record_*_success` (counter back to 0, temporary lock cleared).
//!    Wrong: nothing more to write; the failure was counted by the reservation.
//!    `FailureEffect` tells what the wrong attempt did (e.g. `HardLock`: notify the patron).
//!
//! So N concurrent wrong attempts run at most as many verifications as slots are granted.
//!
//! # PIN semantics (`LockPolicy`, SECURITY.md §1.2: 5 → 15 min, 10 → hard)
//! Let `f` be the stored count of consecutive failures (including in-flight reservations).
//! - A slot is granted iff `f < hard_threshold` and the account is not temporarily locked
//!   (`locked_until` is unset or `<= now`). Granting sets `f := f + 1` and returns
//!   `Granted { attempt: f }`.
//! - In the same statement, when the new `f` is a multiple of `temp_threshold` and still below
//!   `hard_threshold`, `locked_until := now + temp_lock`. The lock is set before verification, so
//!   concurrent attempts are refused at once; a correct credential in that slot clears it.
//! - The hard lock is the state `f >= hard_threshold`: no slot is ever granted again until
//!   `unlock`. A temporary lock expiring does NOT reset `f` (failures span temporary locks).
//! - `record_pin_success` sets `f := 0` and clears `locked_until`. Since no slot is granted at
//!   `f >= hard_threshold`, only an attempt reserved before the hard threshold was reached can
//!   succeed; an established hard lock is cleared only by `unlock`.
//! - A threshold of 0 disables that lock.
//!
//! # Online password semantics (`PasswordLockPolicy`: 10 → 15 min, doubling, capped at 24 h)
//! - A slot is granted iff not locked at `now`; `f := f + 1`.
//! - When the new `f` is a multiple of `threshold`, in the same statement:
//!   `locked_until := now + min(base_lock * 2^locks, max_lock)` and `locks := locks + 1`
//!   (`locks` counts locks since the last success). Never permanent.
//! - `record_password_success` sets `f := 0`, `locks := 0`, clears `locked_until`.
//!
//! `unlock` clears both credentials' counters and locks.

use chrono::{DateTime, Duration, Utc};

use super::error::{Error, Result};
use super::values::{count_u32, opt_time_from_secs, PatronId};
use super::Store;

/// PIN lockout parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    /// Every this many consecutive failures set a temporary lock (0: never).
    pub temp_threshold: u32,
    /// How long a temporary lock lasts.
    pub temp_lock: Duration,
    /// This many consecutive failures set the hard lock (0: never).
    pub hard_threshold: u32,
}

/// Online-password lockout parameters (exponential, never permanent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordLockPolicy {
    /// Every this many consecutive failures set a lock (0: never).
    pub threshold: u32,
    /// Length of the first lock; each further lock doubles it.
    pub base_lock: Duration,
    /// Upper bound of a lock's length.
    pub max_lock: Duration,
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptSlot {
    /// Verify now; this is consecutive failure number `attempt` if the credential is wrong.
    Granted { attempt: u32 },
    /// Temporarily locked: refuse without verifying.
    LockedUntil(DateTime<Utc>),
    /// Locked until staff or a reset token unlocks: refuse without verifying.
    HardLocked,
}

/// What a wrong credential in a granted slot did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureEffect {
    Counted,
    TemporaryLock,
    HardLock,
}

/// Failure counters of one credential, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockCounters {
    /// Consecutive failures since the last success or unlock.
    pub failures: u32,
    /// A lock in force until this time (may lie in the past: then it has lifted).
    pub locked_until: Option<DateTime<Utc>>,
    /// Password only: locks set since the last success (drives the doubling).
    pub locks: u32,
}

impl LockPolicy {
    /// What a wrong credential in `Granted { attempt }` did.
    pub fn effect_of_failure(&self, attempt: u32) -> FailureEffect {
        if self.hard_threshold != 0 && attempt >= self.hard_threshold {
            FailureEffect::HardLock
        } else if self.temp_threshold != 0 && attempt.is_multiple_of(self.temp_threshold) {
            FailureEffect::TemporaryLock
        } else {
            FailureEffect::Counted
        }
    }

    /// Whether stored counters refuse an attempt at `now` (for display; decisions use the
    /// atomic reservation).
    pub fn refusal(&self, counters: &LockCounters, now: DateTime<Utc>) -> Option<AttemptSlot> {
        if self.hard_threshold != 0 && counters.failures >= self.hard_threshold {
            return Some(AttemptSlot::HardLocked);
        }
        temporary_lock(counters, now)
    }
}

impl PasswordLockPolicy {
    /// What a wrong password in `Granted { attempt }` did.
    pub(crate) fn effect_of_failure(&self, attempt: u32) -> FailureEffect {
        if self.threshold != 0 && attempt.is_multiple_of(self.threshold) {
            FailureEffect::TemporaryLock
        } else {
            FailureEffect::Counted
        }
    }

    /// Whether stored counters refuse an attempt at `now` (for display; decisions use the
    /// atomic reservation).
    pub(crate) fn refusal(
        &self,
        counters: &LockCounters,
        now: DateTime<Utc>,
    ) -> Option<AttemptSlot> {
        temporary_lock(counters, now)
    }
}

/// A threshold as bound in SQL: 0 (disabled) becomes a value no counter reaches.
fn threshold(value: u32) -> i64 {
    if value == 0 {
        i64::MAX
    } else {
        i64::from(value)
    }
}

/// Seconds of a lock length, at least 1 and at most 2^32 (so doubling 30 times stays in i64).
fn lock_secs(length: Duration) -> i64 {
    length.num_seconds().clamp(1, 1 << 32)
}

const RESERVE_PIN: &str = "UPDATE patrons SET pin_failures = pin_failures + 1, \
    pin_locked_until = CASE WHEN pin_failures + 1 < $3 AND (pin_failures + 1) % $4 = 0 \
    THEN $5 ELSE pin_locked_until END \
    WHERE id = $1 AND pin_failures < $3 AND (pin_locked_until IS NULL OR pin_locked_until <= $2) \
    RETURNING pin_failures";

const RESERVE_PASSWORD: &str = "UPDATE patrons SET password_failures = password_failures + 1, \
    password_locked_until = CASE WHEN (password_failures + 1) % $3 = 0 THEN $2 + CASE \
      WHEN password_locks >= 30 THEN $5 \
      WHEN ($4 << CAST(password_locks AS INTEGER)) >= $5 THEN $5 \
      ELSE ($4 << CAST(password_locks AS INTEGER)) END \
    ELSE password_locked_until END, \
    password_locks = CASE WHEN (password_failures + 1) % $3 = 0 THEN password_locks + 1 \
    ELSE password_locks END \
    WHERE id = $1 AND (password_locked_until IS NULL OR password_locked_until <= $2) \
    RETURNING password_failures";

/// How often a refused reservation re-reads the row when the refusal reason vanished in between
/// (a success or unlock raced with it).
const RESERVE_TRIES: usize = 4;

/// Which credential's counters a reservation reads back.
#[derive(Debug, Clone, Copy)]
enum Counter {
    Pin,
    Password,
}

impl Counter {
    fn select_sql(self) -> &'static str {
        match self {
            Counter::Pin => {
                "SELECT pin_failures AS failures, pin_locked_until AS locked_until \
                 FROM patrons WHERE id = $1"
            }
            Counter::Password => {
                "SELECT password_failures AS failures, password_locked_until AS locked_until \
                 FROM patrons WHERE id = $1"
            }
        }
    }

    fn locked_until_column(self) -> &'static str {
        match self {
            Counter::Pin => "patrons.pin_locked_until",
            Counter::Password => "patrons.password_locked_until",
        }
    }
}

/// A lock still in force at `now`, if any.
fn temporary_lock(counters: &LockCounters, now: DateTime<Utc>) -> Option<AttemptSlot> {
    counters
        .locked_until
        .filter(|until| *until > now)
        .map(AttemptSlot::LockedUntil)
}

#[derive(sqlx::FromRow)]
struct CounterRow {
    failures: i64,
    locked_until: Option<i64>,
}

impl Store {
    /// Reserves one PIN verification for `patron` at `now` (see the module docs for the exact
    /// semantics). `NotFound` if the patron does not exist.
    pub async fn reserve_pin_attempt(
        &self,
        patron: PatronId,
        now: DateTime<Utc>,
        policy: &LockPolicy,
    ) -> Result<AttemptSlot> {
        let binds = [
            threshold(policy.hard_threshold),
            threshold(policy.temp_threshold),
            now.timestamp() + lock_secs(policy.temp_lock),
        ];
        self.reserve(RESERVE_PIN, Counter::Pin, patron, now, binds, |counters| {
            policy.refusal(counters, now)
        })
        .await
    }

    /// Reserves one online-password verification (exponential lock; never hard-locks).
    pub async fn reserve_password_attempt(
        &self,
        patron: PatronId,
        now: DateTime<Utc>,
        policy: &PasswordLockPolicy,
    ) -> Result<AttemptSlot> {
        let base = lock_secs(policy.base_lock);
        let max = lock_secs(policy.max_lock).max(base);
        let binds = [threshold(policy.threshold), base, max];
        self.reserve(
            RESERVE_PASSWORD,
            Counter::Password,
            patron,
            now,
            binds,
            |counters| temporary_lock(counters, now),
        )
        .await
    }

    /// Runs a reservation statement (`$1` patron, `$2` now, `$3`..`$5` the policy's `binds`). When
    /// it grants nothing, re-reads the counters and returns `refusal`'s answer; when that finds no
    /// reason any more (a success or unlock raced with it), tries again.
    async fn reserve(
        &self,
        sql: &'static str,
        counter: Counter,
        patron: PatronId,
        now: DateTime<Utc>,
        binds: [i64; 3],
        refusal: impl Fn(&LockCounters) -> Option<AttemptSlot>,
    ) -> Result<AttemptSlot> {
        for _ in 0..RESERVE_TRIES {
            let granted = with_pool!(self, |pool| {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(patron.0)
                    .bind(now.timestamp())
                    .bind(binds[0])
                    .bind(binds[1])
                    .bind(binds[2])
                    .fetch_optional(pool)
                    .await
            })?;
            if let Some(attempt) = granted {
                return Ok(AttemptSlot::Granted {
                    attempt: count_u32(attempt),
                });
            }
            if let Some(refused) = refusal(&self.counters(patron, counter).await?) {
                return Ok(refused);
            }
        }
        Err(Error::Contended)
    }

    /// After a correct PIN: consecutive failures back to 0, temporary lock cleared.
    pub async fn record_pin_success(&self, patron: PatronId) -> Result<()> {
        self.execute_for(
            patron,
            "UPDATE patrons SET pin_failures = 0, pin_locked_until = NULL \
             WHERE id = $1 AND (pin_failures <> 0 OR pin_locked_until IS NOT NULL)",
        )
        .await
    }

    /// After a correct online password: failures, lock and lock count cleared.
    pub async fn record_password_success(&self, patron: PatronId) -> Result<()> {
        self.execute_for(
            patron,
            "UPDATE patrons SET password_failures = 0, password_locked_until = NULL, \
             password_locks = 0 WHERE id = $1 AND (password_failures <> 0 \
             OR password_locked_until IS NOT NULL OR password_locks <> 0)",
        )
        .await
    }

    /// Staff action or reset: clears every counter and lock (PIN and password), including the
    /// PIN hard lock. `NotFound` if the patron does not exist.
    pub async fn unlock(&self, patron: PatronId) -> Result<()> {
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE patrons SET pin_failures = 0, pin_locked_until = NULL, \
                 password_failures = 0, password_locked_until = NULL, password_locks = 0 \
                 WHERE id = $1",
            )
            .bind(patron.0)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        super::patrons::found(done, "patron")
    }

    async fn execute_for(&self, patron: PatronId, sql: &'static str) -> Result<()> {
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(patron.0)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The stored failures and lock of one credential (`locks` is not read: refusals ignore it).
    async fn counters(&self, patron: PatronId, counter: Counter) -> Result<LockCounters> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, CounterRow>(counter.select_sql())
                .bind(patron.0)
                .fetch_optional(pool)
                .await
        })?;
        let row = row.ok_or(Error::NotFound { what: "patron" })?;
        Ok(LockCounters {
            failures: count_u32(row.failures),
            locked_until: opt_time_from_secs(row.locked_until, counter.locked_until_column())?,
            locks: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin_policy() -> LockPolicy {
        LockPolicy {
            temp_threshold: 5,
            temp_lock: Duration::minutes(15),
            hard_threshold: 10,
        }
    }

    #[test]
    fn failure_effects_follow_the_thresholds() {
        let p = pin_policy();
        assert_eq!(p.effect_of_failure(4), FailureEffect::Counted);
        assert_eq!(p.effect_of_failure(5), FailureEffect::TemporaryLock);
        assert_eq!(p.effect_of_failure(9), FailureEffect::Counted);
        assert_eq!(p.effect_of_failure(10), FailureEffect::HardLock);
    }

    #[test]
    fn disabled_thresholds_never_lock() {
        let p = LockPolicy {
            temp_threshold: 0,
            temp_lock: Duration::minutes(15),
            hard_threshold: 0,
        };
        assert_eq!(p.effect_of_failure(1000), FailureEffect::Counted);
        assert_eq!(threshold(0), i64::MAX);
    }
}
