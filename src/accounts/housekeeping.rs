//! Housekeeping: the retention purge of records that have outlived their purpose.
//!
//! Owns [`Accounts::purge_expired`]: audit entries older than `audit.retention`, terminal
//! failure events older than `security.terminal_budget.window` (the budget only counts events
//! inside the window), reset tokens that have expired, sent or failed mails older than
//! `mail.retention`, and reset-request rate windows that have ended. When to run it belongs to the caller
//! (the server runs it at start and every `audit.purge_interval`).
//!
//! Uses `store` and `config`; must not import `sip2`, `server` or `cli`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Accounts, Error};

/// How many records one purge removed, per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PurgeCounts {
    pub audit_entries: u64,
    pub terminal_failures: u64,
    pub reset_tokens: u64,
    /// Web sessions past their idle timeout or lifetime, and finished log-in windows.
    pub web_sessions: u64,
}

impl PurgeCounts {
    #[cfg(test)]
    /// Records removed in total.
    pub(crate) fn total(&self) -> u64 {
        self.audit_entries + self.terminal_failures + self.reset_tokens + self.web_sessions
    }
}

impl Accounts {
    /// Deletes, as of `now`, every record past its retention. Each kind is purged by its own
    /// statement; a failure stops the purge and leaves the rest for the next run.
    pub(crate) async fn purge_expired(&self, now: DateTime<Utc>) -> Result<PurgeCounts, Error> {
        let config = self.config();
        let store = self.store();
        let audit_entries = store
            .purge_audit_before(cutoff(now, config.audit.retention))
            .await?;
        let terminal_failures = store
            .purge_terminal_failures_before(cutoff(now, config.security.terminal_budget.window))
            .await?;
        let reset_tokens = store.purge_expired_reset_tokens(now).await?;
        let web_sessions = self.purge_web_sessions(now).await?;
        // Mail history and request windows are bookkeeping, not counted records of the purge.
        store
            .purge_finished_mail(cutoff(now, config.mail.retention))
            .await?;
        store
            .purge_reset_rate_windows(cutoff(now, config.web.reset_rate_window))
            .await?;
        Ok(PurgeCounts {
            audit_entries,
            terminal_failures,
            reset_tokens,
            web_sessions,
        })
    }
}

/// `now - age`, saturating at the earliest representable time (a retention too long to
/// represent keeps everything).
fn cutoff(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration as Days, TimeZone};

    use super::*;
    use crate::auth::{Authenticator, KeyRing, NewTerminal, PepperKey, TerminalSettings};
    use crate::clock::{Clock, ManualClock, SharedClock};
    use crate::config::Config;
    use crate::store::testing::{sample_patron, TempDb};
    use crate::store::{
        AuditQuery, FailureKind, NewAuditEntry, NewTerminalFailure, Store, TokenDigest,
    };

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0)
            .single()
            .expect("valid date")
    }

    async fn accounts(store: Store, config: &Config, clock: SharedClock) -> Accounts {
        let keys = KeyRing::new(1, PepperKey::from_bytes([0x5a; 32]), Vec::new());
        let auth = Authenticator::with_keys(store.clone(), &config.security, clock.clone(), keys)
            .await
            .expect("authenticator");
        Accounts::with_authenticator(store, config, clock, auth)
    }

    fn audit_at(at: DateTime<Utc>, action: &str) -> NewAuditEntry {
        NewAuditEntry {
            at,
            actor: "staff:housekeeping-test".into(),
            card_pseudonym: None,
            action: action.into(),
            outcome: "ok".into(),
            reason: None,
        }
    }

    async fn audit_actions(store: &Store) -> Vec<String> {
        let mut actions: Vec<String> = store
            .list_audit(&AuditQuery::default())
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.entry.action)
            .collect();
        actions.sort();
        actions
    }

    async fn records_past_retention_are_purged_and_newer_ones_stay(db: TempDb) {
        let clock = Arc::new(ManualClock::new(start()));
        let mut config = Config::default();
        config.audit.retention = std::time::Duration::from_secs(30 * 24 * 3600);
        config.security.terminal_budget.window = std::time::Duration::from_secs(10 * 60);
        let store = db.store().clone();
        let accounts = accounts(store.clone(), &config, clock.clone()).await;

        let now = start();
        store
            .append_audit(&audit_at(now - Days::days(31), "old"))
            .await
            .expect("audit");
        store
            .append_audit(&audit_at(now - Days::days(29), "recent"))
            .await
            .expect("audit");
        let mut settings = TerminalSettings::new("MAIN");
        settings.allowed_cidrs = vec!["127.0.0.0/8".parse().expect("cidr")];
        let terminal = store
            .create_terminal(
                &NewTerminal {
                    login_id: "selfcheck-housekeeping".into(),
                    password: None,
                    settings,
                }
                .row(),
            )
            .await
            .expect("terminal");
        for (minutes_ago, card) in [(11, "old-card"), (9, "recent-card")] {
            store
                .record_terminal_failure(&NewTerminalFailure {
                    terminal,
                    card_pseudonym: card.into(),
                    kind: FailureKind::WrongCredential,
                    at: now - Days::minutes(minutes_ago),
                })
                .await
                .expect("failure");
        }
        let expired = store
            .create_patron(&sample_patron("MAIN", "21234000090001"))
            .await
            .expect("patron");
        let valid = store
            .create_patron(&sample_patron("MAIN", "21234000090002"))
            .await
            .expect("patron");
        store
            .issue_reset_token(expired, &TokenDigest([1; 32]), now - Days::minutes(1))
            .await
            .expect("token");
        store
            .issue_reset_token(valid, &TokenDigest([2; 32]), now + Days::minutes(29))
            .await
            .expect("token");

        let counts = accounts.purge_expired(clock.now()).await.expect("purge");
        assert_eq!(
            counts,
            PurgeCounts {
                audit_entries: 1,
                terminal_failures: 1,
                reset_tokens: 1,
                web_sessions: 0,
            }
        );
        assert_eq!(audit_actions(&store).await, vec!["recent".to_owned()]);
        let left = store
            .terminal_failure_counts(terminal, DateTime::<Utc>::MIN_UTC)
            .await
            .expect("counts");
        assert_eq!(left.failures, 1, "the event inside the window stays");
        assert_eq!(
            store
                .consume_reset_token(&TokenDigest([2; 32]), now)
                .await
                .expect("consume"),
            Some(valid),
            "the unexpired token stays usable"
        );

        // A second purge at the same time finds nothing; two days later the recent entry is
        // past retention too.
        let again = accounts.purge_expired(clock.now()).await.expect("purge");
        assert_eq!(again.total(), 0);
        clock.advance(Days::days(2));
        let later = accounts.purge_expired(clock.now()).await.expect("purge");
        assert_eq!(later.audit_entries, 1);
        assert_eq!(later.terminal_failures, 1);
        assert!(audit_actions(&store).await.is_empty());
    }

    #[test]
    fn cutoff_saturates_for_a_retention_too_long_to_represent() {
        let now = start();
        assert_eq!(
            cutoff(now, std::time::Duration::from_secs(60)),
            now - Days::minutes(1)
        );
        assert_eq!(
            cutoff(now, std::time::Duration::MAX),
            DateTime::<Utc>::MIN_UTC
        );
    }

    crate::store_test_on_both_backends!(records_past_retention_are_purged_and_newer_ones_stay);
}
