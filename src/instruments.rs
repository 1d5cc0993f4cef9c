//! The metrics the process exports: every name, its labels and its help text in one table
//! ([`INSTRUMENTS`]), the one Prometheus recorder of the process ([`recorder`]), and one small
//! typed function per event, so no caller builds a metric name or a label by hand.
//!
//! Labels carry only bounded, non-identifying values: SIP2 command codes, outcome names, a
//! terminal's login id, lock kinds. Never a card number, a patron's name or a secret.
//!
//! Uses `metrics` and `metrics-exporter-prometheus` only; anyone may use it (like `config` and
//! `clock`). The scrape itself is rendered by the admin listener (no HTTP server here).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

pub(crate) const SIP2_REQUESTS: &str = "sip2auth_sip2_requests_total";
pub(crate) const SIP2_REQUEST_SECONDS: &str = "sip2auth_sip2_request_duration_seconds";
pub(crate) const SIP2_CONNECTIONS: &str = "sip2auth_sip2_open_connections";
pub(crate) const SIP2_SESSIONS: &str = "sip2auth_sip2_logged_in_sessions";
pub(crate) const SIP2_LOGIN_FAILURES: &str = "sip2auth_sip2_login_failures_total";
pub(crate) const SIP2_LOGIN_PENALTIES: &str = "sip2auth_sip2_login_penalties_total";
pub(crate) const TERMINAL_BUDGET_ALERTS: &str = "sip2auth_terminal_budget_alerts_total";
pub(crate) const LOCKS_SET: &str = "sip2auth_locks_set_total";
pub(crate) const HASH_POOL_SIZE: &str = "sip2auth_hash_pool_size";
pub(crate) const HASH_POOL_IN_USE: &str = "sip2auth_hash_pool_in_use";
pub(crate) const HASH_QUEUE_SECONDS: &str = "sip2auth_hash_queue_wait_seconds";
pub(crate) const HASH_BUSY: &str = "sip2auth_hash_busy_total";
pub(crate) const WEB_LOGINS: &str = "sip2auth_web_logins_total";
pub(crate) const WEB_RESET_REQUESTS: &str = "sip2auth_web_reset_requests_total";
pub(crate) const MAIL_OUTBOX_DEPTH: &str = "sip2auth_mail_outbox_depth";
pub(crate) const MAIL_OUTBOX_FAILED: &str = "sip2auth_mail_outbox_failed";
pub(crate) const MAIL_SENT: &str = "sip2auth_mail_sent_total";
pub(crate) const MAIL_FAILURES: &str = "sip2auth_mail_failures_total";
pub(crate) const DATABASE_POOL_SIZE: &str = "sip2auth_database_pool_size";
pub(crate) const DATABASE_POOL_IN_USE: &str = "sip2auth_database_pool_in_use";
pub(crate) const DATABASE_ERRORS: &str = "sip2auth_database_errors_total";
pub(crate) const DATABASE_UP: &str = "sip2auth_database_up";
pub(crate) const LEGACY_PATRONS: &str = "sip2auth_legacy_hash_patrons";
pub(crate) const RELAY_FORWARDED: &str = "sip2auth_relay_forwarded_total";
pub(crate) const RELAY_SECONDS: &str = "sip2auth_relay_upstream_duration_seconds";

/// Every metric: name, kind, unit, help.
const INSTRUMENTS: &[(&str, Kind, Unit, &str)] = &[
    (
        SIP2_REQUESTS,
        Kind::Counter,
        Unit::Count,
        "SIP2 requests by command code (message) and outcome",
    ),
    (
        SIP2_REQUEST_SECONDS,
        Kind::Histogram,
        Unit::Seconds,
        "Time from a SIP2 request read to its answer written, by command code",
    ),
    (
        SIP2_CONNECTIONS,
        Kind::Gauge,
        Unit::Count,
        "Open SIP2 connections",
    ),
    (
        SIP2_SESSIONS,
        Kind::Gauge,
        Unit::Count,
        "SIP2 connections logged in, by terminal login id",
    ),
    (
        SIP2_LOGIN_FAILURES,
        Kind::Counter,
        Unit::Count,
        "Refused SIP2 terminal logins (93), penalised ones included",
    ),
    (
        SIP2_LOGIN_PENALTIES,
        Kind::Counter,
        Unit::Count,
        "Login-defence penalties started, by scope (login or address)",
    ),
    (
        TERMINAL_BUDGET_ALERTS,
        Kind::Counter,
        Unit::Count,
        "Terminal failure budgets exceeded (alerts raised)",
    ),
    (
        LOCKS_SET,
        Kind::Counter,
        Unit::Count,
        "Patron credential locks set, by credential and kind (temporary or hard)",
    ),
    (HASH_POOL_SIZE, Kind::Gauge, Unit::Count, "Hashing slots"),
    (
        HASH_POOL_IN_USE,
        Kind::Gauge,
        Unit::Count,
        "Hashing slots held at the time of the scrape",
    ),
    (
        HASH_QUEUE_SECONDS,
        Kind::Histogram,
        Unit::Seconds,
        "Wait for a hashing slot",
    ),
    (
        HASH_BUSY,
        Kind::Counter,
        Unit::Count,
        "Checks answered busy: no hashing slot within the queue timeout",
    ),
    (
        WEB_LOGINS,
        Kind::Counter,
        Unit::Count,
        "Patron web log-ins by outcome",
    ),
    (
        WEB_RESET_REQUESTS,
        Kind::Counter,
        Unit::Count,
        "Forgotten PIN/password requests on the web by outcome (the same for every account)",
    ),
    (
        MAIL_OUTBOX_DEPTH,
        Kind::Gauge,
        Unit::Count,
        "Mails waiting in the outbox (queued or being sent), as of this process's last pass",
    ),
    (
        MAIL_OUTBOX_FAILED,
        Kind::Gauge,
        Unit::Count,
        "Mails given up as failed and still kept in the outbox",
    ),
    (
        MAIL_SENT,
        Kind::Counter,
        Unit::Count,
        "Mails handed to the transport, by kind",
    ),
    (
        MAIL_FAILURES,
        Kind::Counter,
        Unit::Count,
        "Failed mail attempts by kind and result (retry: tried again later; given_up)",
    ),
    (
        DATABASE_POOL_SIZE,
        Kind::Gauge,
        Unit::Count,
        "Database connections open",
    ),
    (
        DATABASE_POOL_IN_USE,
        Kind::Gauge,
        Unit::Count,
        "Database connections in use at the time of the scrape",
    ),
    (
        DATABASE_ERRORS,
        Kind::Counter,
        Unit::Count,
        "Database errors by kind (unavailable or other)",
    ),
    (
        DATABASE_UP,
        Kind::Gauge,
        Unit::Count,
        "1 when the database answered the scrape's readiness check, else 0",
    ),
    (
        LEGACY_PATRONS,
        Kind::Gauge,
        Unit::Count,
        "Patrons with a PIN or password still in an imported ILS hash",
    ),
    (
        RELAY_FORWARDED,
        Kind::Counter,
        Unit::Count,
        "SIP2 messages forwarded to the upstream ILS, by command code and outcome (ok, not_ok, \
         answered, unavailable)",
    ),
    (
        RELAY_SECONDS,
        Kind::Histogram,
        Unit::Seconds,
        "Time the upstream ILS took to answer a forwarded message, by command code",
    ),
];

/// Latency buckets (seconds) of every `_seconds` histogram: argon2 checks take tens to hundreds
/// of milliseconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use; `None` when another recorder was installed
/// first (then nothing is exported, and the scrape says so).
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(install).clone()
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .ok()?;
    let handle = builder.install_recorder().ok()?;
    for &(name, kind, unit, help) in INSTRUMENTS {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, unit, help),
            Kind::Gauge => metrics::describe_gauge!(name, unit, help),
            Kind::Histogram => metrics::describe_histogram!(name, unit, help),
        }
    }
    Some(handle)
}

/// One SIP2 request answered (or ignored): `message` is the command code as the request log
/// shows it (two characters at most), `outcome` the request's outcome name.
pub(crate) fn sip2_request(message: &str, outcome: &'static str, took: Duration) {
    let message = message.to_owned();
    counter!(SIP2_REQUESTS, "message" => message.clone(), "outcome" => outcome).increment(1);
    histogram!(SIP2_REQUEST_SECONDS, "message" => message).record(took.as_secs_f64());
}

/// A message forwarded to the upstream: its command code, how it went, how long the upstream
/// took (only counted when it answered).
pub(crate) fn relay_forwarded(message: &str, outcome: &'static str, took: Option<Duration>) {
    let message = message.to_owned();
    counter!(RELAY_FORWARDED, "message" => message.clone(), "outcome" => outcome).increment(1);
    if let Some(took) = took {
        histogram!(RELAY_SECONDS, "message" => message).record(took.as_secs_f64());
    }
}

/// An open SIP2 connection, counted while this value lives.
#[derive(Debug)]
pub(crate) struct OpenConnection(());

impl OpenConnection {
    pub(crate) fn new() -> OpenConnection {
        gauge!(SIP2_CONNECTIONS).increment(1.0);
        OpenConnection(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        gauge!(SIP2_CONNECTIONS).decrement(1.0);
    }
}

/// A logged-in SIP2 session of one terminal, counted while this value lives.
#[derive(Debug)]
pub(crate) struct LoggedIn {
    terminal: String,
}

impl LoggedIn {
    pub(crate) fn new(terminal: &str) -> LoggedIn {
        let terminal = terminal.to_owned();
        gauge!(SIP2_SESSIONS, "terminal" => terminal.clone()).increment(1.0);
        LoggedIn { terminal }
    }

    pub(crate) fn terminal(&self) -> &str {
        &self.terminal
    }
}

impl Drop for LoggedIn {
    fn drop(&mut self) {
        gauge!(SIP2_SESSIONS, "terminal" => self.terminal.clone()).decrement(1.0);
    }
}

pub(crate) fn sip2_login_failure() {
    counter!(SIP2_LOGIN_FAILURES).increment(1);
}

/// `scope` is the login defence's penalty scope name (`login` or `address`).
pub(crate) fn sip2_login_penalty(scope: &'static str) {
    counter!(SIP2_LOGIN_PENALTIES, "scope" => scope).increment(1);
}

pub(crate) fn terminal_budget_alert() {
    counter!(TERMINAL_BUDGET_ALERTS).increment(1);
}

/// A lock set on a patron's `credential` (`pin` or `password`); `hard` or not.
pub(crate) fn lock_set(credential: &'static str, hard: bool) {
    let kind = if hard { "hard" } else { "temporary" };
    counter!(LOCKS_SET, "credential" => credential, "kind" => kind).increment(1);
}

pub(crate) fn hash_queue_wait(waited: Duration) {
    histogram!(HASH_QUEUE_SECONDS).record(waited.as_secs_f64());
}

pub(crate) fn hash_busy() {
    counter!(HASH_BUSY).increment(1);
}

pub(crate) fn hash_pool(size: usize, in_use: usize) {
    gauge!(HASH_POOL_SIZE).set(size as f64);
    gauge!(HASH_POOL_IN_USE).set(in_use as f64);
}

/// `outcome` is the log-in outcome's stable name.
pub(crate) fn web_log_in(outcome: &'static str) {
    counter!(WEB_LOGINS, "outcome" => outcome).increment(1);
}

/// A reset request on the web, by outcome.
pub(crate) fn reset_request(outcome: &'static str) {
    counter!(WEB_RESET_REQUESTS, "outcome" => outcome).increment(1);
}

/// The outbox after a pass: mails waiting, and mails given up.
pub(crate) fn mail_outbox(waiting: u64, failed: u64) {
    gauge!(MAIL_OUTBOX_DEPTH).set(waiting as f64);
    gauge!(MAIL_OUTBOX_FAILED).set(failed as f64);
}

/// A mail went out.
pub(crate) fn mail_sent(kind: &'static str) {
    counter!(MAIL_SENT, "kind" => kind).increment(1);
}

/// A mail attempt failed: `retry` or `given_up`.
pub(crate) fn mail_failure(kind: &'static str, result: &'static str) {
    counter!(MAIL_FAILURES, "kind" => kind, "result" => result).increment(1);
}

/// A database error: `unavailable` (cannot reach or use it now) or `other`.
pub(crate) fn database_error(unavailable: bool) {
    let kind = if unavailable { "unavailable" } else { "other" };
    counter!(DATABASE_ERRORS, "kind" => kind).increment(1);
}

pub(crate) fn database_pool(size: u32, in_use: u32) {
    gauge!(DATABASE_POOL_SIZE).set(f64::from(size));
    gauge!(DATABASE_POOL_IN_USE).set(f64::from(in_use));
}

pub(crate) fn database_up(up: bool) {
    gauge!(DATABASE_UP).set(if up { 1.0 } else { 0.0 });
}

pub(crate) fn legacy_patrons(left: u64) {
    gauge!(LEGACY_PATRONS).set(left as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_prefixed_unique_and_counters_end_in_total() {
        let mut names: Vec<&str> = INSTRUMENTS.iter().map(|(n, ..)| *n).collect();
        for &(name, kind, ..) in INSTRUMENTS {
            assert!(name.starts_with("sip2auth_"), "{name}");
            assert_eq!(
                matches!(kind, Kind::Counter),
                name.ends_with("_total"),
                "{name}"
            );
            if matches!(kind, Kind::Histogram) {
                assert!(name.ends_with("_seconds"), "{name}");
            }
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), INSTRUMENTS.len());
    }

    /// The alert rules and the dashboard name only metrics this table exports.
    #[test]
    fn the_deploy_files_name_only_exported_metrics() {
        let files = [
            include_str!("../deploy/sip2auth.rules.yml"),
            include_str!("../deploy/grafana-dashboard.json"),
        ];
        let mut seen = 0;
        for text in files {
            for (at, _) in text.match_indices("sip2auth_") {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name);
                assert!(
                    INSTRUMENTS.iter().any(|(known, ..)| *known == base),
                    "{name} is not exported"
                );
                seen += 1;
            }
        }
        assert!(seen > 10, "only {seen} metric names found");
    }
}
