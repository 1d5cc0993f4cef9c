//! `/metrics` on the admin listener after known traffic over real sockets: every counter moves
//! by exactly what the traffic did, the gauges follow connections and sessions, and no label
//! carries a card number, a name or a secret.
//!
//! The recorder is one per process (as in production); nextest runs each test in a process of
//! its own, and each test reads differences between two scrapes.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use sip2auth::store::Backend;

use crate::support::admin::{admin_config, start_admin, AdminTest};
use crate::support::world::SC_USER_LOGIN;
use crate::support::STEP_TIMEOUT;

const CARD: &str = "21234000012345";
const PIN: &str = "4931";
const UNKNOWN_CARD: &str = "29999000099999";

/// The samples of one scrape: (name, labels) -> value.
struct Scrape(BTreeMap<(String, BTreeMap<String, String>), f64>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("label=value");
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            let value = value.parse().expect("a number");
            samples.insert((name.to_owned(), labels), value);
        }
        Scrape(samples)
    }

    /// The sample with exactly these labels; 0 when the series does not exist yet.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }
}

async fn scrape(admin: &AdminTest) -> (Scrape, String) {
    let answer = admin.get("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        answer.content_type
    );
    (Scrape::parse(&answer.body), answer.body)
}

fn patron_information(card: &str, pin: &str) -> String {
    format!("6300120250314    093005          AOMAIN|AA{card}|AC|AD{pin}|")
}

const REQUESTS: &str = "sip2auth_sip2_requests_total";

async fn a_known_session_moves_each_counter_by_exactly_its_traffic(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let (before, _) = scrape(&admin).await;
    let pool_before = admin.server.auth.pool_counts();
    let mut client = admin.server.client().await;
    assert!(client.exchange(SC_USER_LOGIN).await.starts_with("941"));
    assert!(client
        .exchange(&patron_information(CARD, PIN))
        .await
        .contains("|CQY|"));
    for _ in 0..2 {
        assert!(client
            .exchange(&patron_information(CARD, "0000"))
            .await
            .contains("|CQN|"));
    }
    assert!(client
        .exchange(&patron_information(UNKNOWN_CARD, PIN))
        .await
        .contains("|BLN|"));

    let (during, text) = scrape(&admin).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        during.value(name, labels) - before.value(name, labels)
    };
    let requests =
        |message, outcome| moved(REQUESTS, &[("message", message), ("outcome", outcome)]);
    assert_eq!(requests("93", "login_accepted"), 1.0, "{text}");
    assert_eq!(requests("63", "valid"), 1.0, "{text}");
    assert_eq!(requests("63", "wrong_credential"), 2.0, "{text}");
    assert_eq!(requests("63", "unknown_card"), 1.0, "{text}");
    let counted = |message| {
        moved(
            "sip2auth_sip2_request_duration_seconds_count",
            &[("message", message)],
        )
    };
    assert_eq!(counted("63"), 4.0, "one latency per 63: {text}");
    assert_eq!(counted("93"), 1.0, "{text}");
    // Every check took one hashing slot: the queue-wait histogram counts exactly the jobs run.
    let pool_after = admin.server.auth.pool_counts();
    let jobs = (pool_after.verifications + pool_after.dummy_verifications + pool_after.hashes)
        - (pool_before.verifications + pool_before.dummy_verifications + pool_before.hashes);
    assert_eq!(
        moved("sip2auth_hash_queue_wait_seconds_count", &[]),
        jobs as f64,
        "{text}"
    );
    assert_eq!(moved("sip2auth_hash_busy_total", &[]), 0.0, "{text}");
    assert_eq!(
        moved("sip2auth_sip2_login_failures_total", &[]),
        0.0,
        "{text}"
    );
    assert_eq!(
        during.value("sip2auth_sip2_open_connections", &[]),
        1.0,
        "{text}"
    );
    let sessions = [("terminal", "sc_user")];
    assert_eq!(
        during.value("sip2auth_sip2_logged_in_sessions", &sessions),
        1.0,
        "{text}"
    );
    assert!(
        during.value("sip2auth_hash_pool_size", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        during.value("sip2auth_hash_pool_in_use", &[]),
        0.0,
        "{text}"
    );
    assert_eq!(during.value("sip2auth_database_up", &[]), 1.0, "{text}");
    assert!(
        during.value("sip2auth_database_pool_size", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        during.value("sip2auth_legacy_hash_patrons", &[]),
        0.0,
        "{text}"
    );
    for secret in [CARD, UNKNOWN_CARD, PIN, "Jane", "Doe", "k7Qp2vXe9LmT4wZs"] {
        assert!(!text.contains(secret), "{secret} in the scrape: {text}");
    }

    // The session ends: the gauges come back down (the server notices the close on its own).
    drop(client);
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let (after, text) = scrape(&admin).await;
        let open = after.value("sip2auth_sip2_open_connections", &[]);
        let logged_in = after.value("sip2auth_sip2_logged_in_sessions", &sessions);
        if open == 0.0 && logged_in == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gauges stay up: {text}"
        );
        tokio::task::yield_now().await;
    }
}

async fn failed_logins_and_locks_are_counted(backend: Backend) {
    let config = admin_config();
    let threshold = config.security.lockout.pin_temporary_threshold;
    let admin = start_admin(backend, config).await;
    let (before, _) = scrape(&admin).await;
    let mut guesser = admin.server.client().await;
    assert!(guesser
        .exchange("9300CNsc_user|COwrong|")
        .await
        .starts_with("940"));
    let mut client = admin.server.client().await;
    assert!(client.exchange(SC_USER_LOGIN).await.starts_with("941"));
    for _ in 0..threshold {
        assert!(client
            .exchange(&patron_information(CARD, "0000"))
            .await
            .contains("|CQN|"));
    }
    let (after, text) = scrape(&admin).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(
        moved("sip2auth_sip2_login_failures_total", &[]),
        1.0,
        "{text}"
    );
    let refused = [("message", "93"), ("outcome", "login_refused")];
    assert_eq!(moved(REQUESTS, &refused), 1.0, "{text}");
    let temporary = [("credential", "pin"), ("kind", "temporary")];
    assert_eq!(moved("sip2auth_locks_set_total", &temporary), 1.0, "{text}");
    let hard = [("credential", "pin"), ("kind", "hard")];
    assert_eq!(moved("sip2auth_locks_set_total", &hard), 0.0, "{text}");
}

async fn database_errors_and_down_are_exported_during_an_outage(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let (before, _) = scrape(&admin).await;
    let _outage = crate::support::outage::Outage::begin(&admin.server).await;
    let mut client = admin.server.client().await;
    client.exchange(SC_USER_LOGIN).await;
    let (after, text) = scrape(&admin).await;
    assert_eq!(after.value("sip2auth_database_up", &[]), 0.0, "{text}");
    // Which kind depends on how the backend refuses (a closed pool, a database that refuses
    // connections); some error is counted either way.
    let errors = |scrape: &Scrape| {
        ["unavailable", "other"]
            .iter()
            .map(|kind| scrape.value("sip2auth_database_errors_total", &[("kind", kind)]))
            .sum::<f64>()
    };
    assert!(errors(&after) > errors(&before), "{text}");
}

sip2auth::store_test_on_both_backends!(
    a_known_session_moves_each_counter_by_exactly_its_traffic,
    failed_logins_and_locks_are_counted,
    database_errors_and_down_are_exported_during_an_outage
);

/// The process's own scrape (the web test application runs no admin listener).
fn render() -> Scrape {
    let recorder = sip2auth::instruments::recorder().expect("the process's recorder");
    Scrape::parse(&recorder.render())
}

#[tokio::test]
async fn web_log_ins_are_counted_by_outcome() {
    use crate::support::web::{start_web, web_config};
    let web = start_web(Backend::Sqlite, web_config()).await;
    let before = render();
    let mut visitor = web.visitor();
    assert_eq!(visitor.log_in(CARD, PIN).await.status, 303);
    let mut stranger = web.visitor();
    assert_eq!(stranger.log_in(CARD, "0000").await.status, 200);
    let after = render();
    let moved = |outcome| {
        let labels = [("outcome", outcome)];
        after.value("sip2auth_web_logins_total", &labels)
            - before.value("sip2auth_web_logins_total", &labels)
    };
    assert_eq!(moved("logged_in"), 1.0);
    assert_eq!(moved("refused"), 1.0);
}
