//! Per-terminal failure budgets (SECURITY.md §1.2): failures and unknown cards are recorded in the
//! store (so every server instance sees them) and counted over the configured window; crossing a
//! threshold delays answers, ends the session, and raises an alert (a `warn!` with the terminal
//! and the counts, never a card number).
//!
//! Uses `store` and `config`; must not import `sip2`, `server` or `accounts`.

use chrono::{DateTime, Utc};

use super::audit::{AuditAction, AuditOutcome};
use super::authenticator::{duration, Authenticator};
use super::decision::{BudgetAction, TerminalBudget};
use super::terminal_settings::TerminalProfile;
use super::Result;
use crate::config::security::TerminalBudgetConfig;
use crate::store::{FailureKind, NewTerminalFailure, TerminalFailureCounts};

/// What the counts (including this check's failure, if any) call for.
pub(super) fn evaluate(
    counts: &TerminalFailureCounts,
    config: &TerminalBudgetConfig,
    failed: Option<FailureKind>,
) -> TerminalBudget {
    let spraying = counts.failures >= config.delay_after_failures
        || counts.distinct_cards >= config.delay_after_distinct_cards;
    let enumerating = counts.unknown_cards >= config.throttle_after_unknown_cards;
    let action = if counts.failures >= config.end_session_after_failures {
        BudgetAction::EndSession
    } else if spraying || enumerating {
        BudgetAction::Delay(config.delay)
    } else {
        BudgetAction::None
    };
    // Alert once per crossing: when this check's failure brought a count to its threshold.
    let alert = match failed {
        Some(FailureKind::WrongCredential) => {
            counts.failures == config.delay_after_failures
                || counts.failures == config.end_session_after_failures
                || counts.distinct_cards == config.delay_after_distinct_cards
        }
        Some(FailureKind::UnknownCard) => {
            counts.unknown_cards == config.throttle_after_unknown_cards
        }
        None => false,
    };
    TerminalBudget { action, alert }
}

impl Authenticator {
    /// The start of the budget window that ends at `now`.
    pub(super) fn budget_window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let window = self.inner.config.terminal_budget.window;
        now.checked_sub_signed(duration(window))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The terminal's budget: from `counts` (read with the patron, before this check) when the
    /// check failed nothing; else records the failure and counts again, so the failure that
    /// crosses a threshold is the one that raises the alert.
    pub(super) async fn terminal_budget(
        &self,
        terminal: &TerminalProfile,
        card: &str,
        failed: Option<FailureKind>,
        counts: TerminalFailureCounts,
        now: DateTime<Utc>,
    ) -> Result<TerminalBudget> {
        let store = &self.inner.store;
        let config = &self.inner.config.terminal_budget;
        let counts = match failed {
            None => counts,
            Some(kind) => {
                store
                    .record_terminal_failure(&NewTerminalFailure {
                        terminal: terminal.id,
                        card_pseudonym: self.pseudonym(card),
                        kind,
                        at: now,
                    })
                    .await?;
                let since = self.budget_window_start(now);
                store.terminal_failure_counts(terminal.id, since).await?
            }
        };
        let budget = evaluate(&counts, config, failed);
        if budget.alert {
            crate::instruments::terminal_budget_alert();
            tracing::warn!(
                terminal = %terminal.login_id,
                terminal_id = terminal.id.0,
                failures = counts.failures,
                distinct_cards = counts.distinct_cards,
                unknown_cards = counts.unknown_cards,
                action = ?budget.action,
                "terminal failure budget exceeded"
            );
            let reason = format!(
                "failures={} distinct_cards={} unknown_cards={}",
                counts.failures, counts.distinct_cards, counts.unknown_cards
            );
            self.audit(
                &terminal.login_id,
                None,
                AuditAction::TerminalBudget,
                AuditOutcome::Alert,
                Some(&reason),
            )
            .await?;
        }
        Ok(budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(failures: u32, distinct_cards: u32, unknown_cards: u32) -> TerminalFailureCounts {
        TerminalFailureCounts {
            failures,
            distinct_cards,
            unknown_cards,
        }
    }

    #[test]
    fn thresholds_delay_then_end_the_session() {
        let config = TerminalBudgetConfig::default();
        let wrong = Some(FailureKind::WrongCredential);
        assert_eq!(
            evaluate(&counts(19, 3, 0), &config, wrong).action,
            BudgetAction::None
        );
        let at_20 = evaluate(&counts(20, 3, 0), &config, wrong);
        assert_eq!(at_20.action, BudgetAction::Delay(config.delay));
        assert!(at_20.alert);
        assert!(!evaluate(&counts(21, 3, 0), &config, wrong).alert);
        assert!(evaluate(&counts(10, 10, 0), &config, wrong).alert);
        let at_50 = evaluate(&counts(50, 3, 0), &config, wrong);
        assert_eq!(at_50.action, BudgetAction::EndSession);
        assert!(at_50.alert);
        let unknown = evaluate(&counts(0, 0, 50), &config, Some(FailureKind::UnknownCard));
        assert_eq!(unknown.action, BudgetAction::Delay(config.delay));
        assert!(unknown.alert);
        assert!(!evaluate(&counts(20, 3, 0), &config, None).alert);
    }
}
