//! Behaviour of the SIP2 server that transcripts cannot show: limits, timeouts, oversized and
//! binary input, shutdown with a request in flight, the database going away and coming back, the
//! per-terminal failure budget (SECURITY.md §1.2, §2 item 13) and the retention purge at start.
//! Every test runs on SQLite and on PostgreSQL.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use sip2auth::auth::hashing::Hasher;
use sip2auth::auth::{KeyRing, PepperKey};
use sip2auth::config::server::UnknownCommand;
use sip2auth::store::testing::sample_patron;
use sip2auth::store::{AuditQuery, Backend, CredentialHash, NewAuditEntry, NewPatron};
use support::world::{self, SC_USER_LOGIN, TEST_PEPPER};
use support::{
    fixed_now, seal, start, start_with, test_config, Client, TestServer, World, STEP_TIMEOUT,
};

const VALID_63: &str = "6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|";

async fn login(client: &mut Client) {
    assert_eq!(client.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
}

/// A valid 64 for Jane Doe starts like this (no trailer requested).
const VALID_64_PREFIX: &str = "64              00120250314   Z093000";

async fn a_line_of_one_megabyte_closes_only_that_connection(backend: Backend) {
    let server = start(backend).await;
    let mut bystander = server.client().await;
    login(&mut bystander).await;
    let mut client = server.client().await;
    let line = vec![b'9'; 1024 * 1024];
    // The server closes once the line passes max_frame_bytes; the rest of the write may fail.
    let _ = tokio::io::AsyncWriteExt::write_all(&mut client.stream, &line).await;
    assert!(
        client.is_closed().await,
        "an oversized line closes the connection"
    );
    let answer = bystander.exchange(VALID_63).await;
    assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
    let mut fresh = server.client().await;
    login(&mut fresh).await;
}

async fn nul_bytes_and_invalid_utf8_inside_a_message_are_answered(backend: Backend) {
    let server = start(backend).await;
    let mut client = server.client().await;
    login(&mut client).await;
    client
        .send(b"6300120250314    093005          AOMAIN|AA2123\x004000012345|AC|AD4931|\r")
        .await;
    assert_eq!(
        client.read_message().await,
        "96",
        "a NUL inside a message asks for a resend"
    );
    client
        .send(b"6300120250314    093005          AOMAIN|AA\xff\xfe2123|AC|AD4931|\r")
        .await;
    let answer = client.read_message().await;
    assert!(answer.starts_with("64YYYY"), "{answer}");
    assert!(
        answer.contains("|BLN|CQN|"),
        "an unreadable card is an unknown card: {answer}"
    );
    let answer = client.exchange(VALID_63).await;
    assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
}

async fn idle_connections_are_closed_after_the_idle_timeout(backend: Backend) {
    let mut config = test_config();
    config.server.idle_timeout = Duration::from_secs(1);
    let server = start_with(backend, config).await;
    let mut client = server.client().await;
    login(&mut client).await;
    let started = std::time::Instant::now();
    assert!(client.is_closed().await, "idle connection closed");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed too early: {waited:?}"
    );
    let mut fresh = server.client().await;
    login(&mut fresh).await;
}

async fn connection_limits_hold_per_address_and_in_total(backend: Backend) {
    let mut config = test_config();
    config.server.max_connections_per_address = 2;
    config.server.max_connections = 3;
    let server = start_with(backend, config).await;
    let mut first = server.client_from([127, 0, 0, 7]).await;
    let mut second = server.client_from([127, 0, 0, 7]).await;
    login(&mut first).await;
    login(&mut second).await;
    let mut third = server.client_from([127, 0, 0, 7]).await;
    assert!(
        third.is_closed().await,
        "a third connection from one address is closed"
    );
    let mut other = server.client_from([127, 0, 0, 8]).await;
    login(&mut other).await;
    let mut over = server.client_from([127, 0, 0, 9]).await;
    assert!(
        over.is_closed().await,
        "a fourth connection in total is closed"
    );
    drop(first);
    // The slot frees when the server notices the close; retry a few times, bounded.
    let mut admitted = false;
    for _ in 0..50 {
        let mut again = server.client_from([127, 0, 0, 7]).await;
        again.send_message(SC_USER_LOGIN).await;
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncReadExt::read(&mut again.stream, &mut buf),
        )
        .await;
        if let Ok(Ok(n)) = read {
            if n > 0 {
                admitted = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a freed slot admits a new connection");
}

/// Wrong logins of `login` from `source`, one connection each (as a test suite's clients do).
async fn fail_logins(server: &TestServer, source: [u8; 4], login: &str, count: usize) {
    for _ in 0..count {
        let mut client = server.client_from(source).await;
        let answer = client.exchange(&format!("9300CN{login}|COwrong|")).await;
        assert_eq!(answer, "940");
    }
}

async fn eight_bad_logins_then_the_right_password_from_one_address_logs_in(backend: Backend) {
    let server = start(backend).await;
    fail_logins(&server, [127, 0, 0, 3], "sc_user", 8).await;
    let mut client = server.client_from([127, 0, 0, 3]).await;
    login(&mut client).await;
}

async fn ten_bad_logins_of_one_login_id_do_not_block_another_from_that_address(backend: Backend) {
    let server = start(backend).await;
    fail_logins(&server, [127, 0, 0, 6], "minimal", 10).await;
    let mut penalised = server.client_from([127, 0, 0, 6]).await;
    assert_eq!(
        penalised
            .exchange("9300CNminimal|COm3Rv8NcY2pLq6TgH|")
            .await,
        "940",
        "the login id that used its burst up is refused, right password or not"
    );
    let mut neighbour = server.client_from([127, 0, 0, 6]).await;
    login(&mut neighbour).await;
}

async fn a_sustained_brute_force_is_refused_without_hashing(backend: Backend) {
    let server = start(backend).await;
    let mut checked_before = None;
    for attempt in 0..60u32 {
        let mut client = server.client_from([127, 0, 0, 7]).await;
        let answer = client
            .exchange(&format!("9300CNguess{attempt}|COwrong|"))
            .await;
        assert_eq!(answer, "940");
        if attempt == 19 {
            checked_before = Some(server.auth.pool_counts());
        }
        server.clock.advance(chrono::Duration::milliseconds(600));
    }
    let before = checked_before.expect("counted at attempt 20");
    let after = server.auth.pool_counts();
    assert_eq!(
        (after.verifications, after.dummy_verifications),
        (before.verifications, before.dummy_verifications),
        "no login is checked while the penalty lasts"
    );
    // The guesser's address stays refused while it goes on; a known terminal is not.
    let mut client = server.client_from([127, 0, 0, 7]).await;
    assert_eq!(client.exchange(SC_USER_LOGIN).await, "940AY0AZFDFE");
    server.clock.advance(chrono::Duration::minutes(2));
    let mut client = server.client_from([127, 0, 0, 7]).await;
    login(&mut client).await;
}

async fn ninety_nine_with_version_one_gets_version_one(backend: Backend) {
    let server = start(backend).await;
    let mut client = server.client().await;
    let answer = client.exchange("9900301.00").await;
    assert_eq!(
        answer,
        "98YNNNNN10000320250314   Z0930001.00AOMAIN|AMMain Library|BXYNNNYYYYYNNNNNNN|"
    );
}

async fn unknown_commands_can_be_answered_with_96(backend: Backend) {
    let mut config = test_config();
    config.server.unknown_command = UnknownCommand::Resend;
    let server = start_with(backend, config).await;
    let mut client = server.client().await;
    login(&mut client).await;
    assert_eq!(client.exchange(&seal("88", Some(5))).await, "96AZFEF6");
    assert_eq!(client.exchange("88").await, "96");
}

async fn pin_required_turns_an_absent_pin_into_cq_n(backend: Backend) {
    let mut config = test_config();
    config.server.pin_required = true;
    let server = start_with(backend, config).await;
    let mut client = server.client().await;
    login(&mut client).await;
    let answer = client
        .exchange("6300020250314    093005          AOMAIN|AA21234000012345|AC|")
        .await;
    assert!(answer.contains("|BLY|CQN|"), "{answer}");
    assert!(answer.ends_with("AFPIN required|"), "{answer}");
}

async fn lost_card_can_be_answered_as_unknown(backend: Backend) {
    let mut config = test_config();
    config.server.lost_card_as_unknown = true;
    let server = start_with(backend, config).await;
    let mut client = server.client().await;
    login(&mut client).await;
    let answer = client
        .exchange("6300120250314    093005          AOMAIN|AA21234000044444|AC|AD6185|")
        .await;
    assert_eq!(
        answer,
        "64YYYY          00120250314   Z093000000000000000000000000000AOMAIN|AA21234000044444|AE|BLN|CQN|AFUnknown library card|"
    );
}

async fn shutdown_finishes_the_request_in_flight_then_closes(backend: Backend) {
    let mut config = test_config();
    config.server.shutdown_grace = Duration::from_secs(10);
    let mut server = start_with(backend, config.clone()).await;
    // A patron whose PIN hash is costly to verify, so the check is still running at shutdown.
    let mut costly = config.security.hashing.clone();
    costly.memory_kib = 64 * 1024;
    costly.iterations = 4;
    let keys = KeyRing::new(1, PepperKey::from_bytes(TEST_PEPPER), Vec::new());
    let hasher = Hasher::new(&costly, Arc::new(keys)).expect("hasher");
    let hashed = hasher.hash(b"5819").expect("hash");
    let mut patron = NewPatron {
        institution: "MAIN".into(),
        card_number: "21234000011111".into(),
        details: server
            .store
            .find_by_card("MAIN", "21234000012345")
            .await
            .expect("lookup")
            .expect("Jane")
            .patron
            .details,
        pin: Some(CredentialHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
            must_change: false,
            default_expires_at: None,
        }),
        password: None,
    };
    patron.details.birth_date = None;
    server.store.create_patron(&patron).await.expect("patron");
    let mut client = server.client().await;
    login(&mut client).await;
    client
        .send_message("6300120250314    093005          AOMAIN|AA21234000011111|AC|AD5819|")
        .await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    server.shutdown.cancel();
    let answer = client.read_message().await;
    assert!(
        answer.contains("|BLY|CQY|"),
        "the request in flight is answered: {answer}"
    );
    assert!(client.is_closed().await, "then the session closes");
    server.stop().await;
    let refused = tokio::net::TcpStream::connect(server.addr).await;
    assert!(refused.is_err(), "no new connections after shutdown");
}

async fn database_outage_is_answered_and_recovered_from(backend: Backend) {
    let server = start(backend).await;
    let mut client = server.client().await;
    login(&mut client).await;
    let online = client.exchange("9900302.00").await;
    assert!(online.starts_with("98Y"), "{online}");
    let outage = support::outage::Outage::begin(&server).await;
    // 99 reads the database probe's last answer: off-line within a probe interval.
    let offline = status_until(&mut client, "98N").await;
    assert!(
        offline.starts_with("98N"),
        "on-line N while the database is down: {offline}"
    );
    assert!(
        offline.contains("|AFService unavailable, please try again later|"),
        "{offline}"
    );
    let answer = client.exchange(VALID_63).await;
    assert_eq!(
        answer,
        "64YYYY          00120250314   Z093000000000000000000000000000AOMAIN|AA21234000012345|AE|BLN|CQN|AFService unavailable, please try again later|"
    );
    let answer = client
        .exchange("2300120250314    093000AOMAIN|AA21234000012345|AC|AD4931|")
        .await;
    assert!(
        answer.contains("|BLN|CQN|AFService unavailable"),
        "{answer}"
    );
    if !outage.end().await {
        return; // SQLite: the outage (a closed pool) has no end; see support::outage.
    }
    let online = status_until(&mut client, "98Y").await;
    assert!(online.starts_with("98Y"), "on-line again: {online}");
    let answer = client.exchange(VALID_63).await;
    assert!(answer.starts_with(VALID_64_PREFIX), "recovered: {answer}");
}

/// Sends 99 every 100 ms until the answer starts with `wanted`, for at most 5 s (the database
/// probe runs every second); returns the last answer.
async fn status_until(client: &mut Client, wanted: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = client.exchange("9900302.00").await;
        if answer.starts_with(wanted) || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// PIN of every patron created for the budget test: long enough that it cannot turn up in the
/// logs by chance (in a latency, a port, a database name).
const SPRAY_PIN: &str = "3948572610";
/// The wrong PIN the sprayer tries.
const SPRAYED_PIN: &str = "7260195834";

/// A 63 for `card` with `pin`, sealed with sequence `seq`.
fn information_request(card: &str, pin: &str, seq: u8) -> String {
    seal(
        &format!("6300120250314    093005          AOMAIN|AA{card}|AC|AD{pin}|"),
        Some(seq % 10),
    )
}

async fn a_terminal_spraying_wrong_pins_is_slowed_then_sent_to_log_in_again(backend: Backend) {
    let logs = support::logs::captured();
    let mut config = test_config();
    let budget = &mut config.security.terminal_budget;
    budget.delay_after_failures = 3;
    budget.delay_after_distinct_cards = 3;
    budget.delay = Duration::from_millis(10);
    budget.end_session_after_failures = 6;
    let world = World::new(backend, &config).await;
    // Distinct cards, one wrong PIN each: no account comes near its own lock.
    let hasher = world::hasher(&config);
    let cards: Vec<String> = (0..8).map(|n| format!("2123400007100{n}")).collect();
    for card in &cards {
        let hashed = hasher.hash(SPRAY_PIN.as_bytes()).expect("hash");
        let mut patron = sample_patron("MAIN", card);
        patron.pin = Some(CredentialHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
            must_change: false,
            default_expires_at: None,
        });
        world.store.create_patron(&patron).await.expect("patron");
    }
    let server = world.serve(config).await;

    let mut client = server.client().await;
    login(&mut client).await;
    // Failures 1-5 are answered on the same connection (from the 3rd on, after the delay).
    for (seq, card) in cards.iter().take(5).enumerate() {
        let answer = client
            .exchange(&information_request(card, SPRAYED_PIN, seq as u8 + 1))
            .await;
        assert!(
            answer.contains("|BLY|CQN|"),
            "failure {}: {answer}",
            seq + 1
        );
    }
    // The 6th is still answered, then the connection closes.
    let answer = client
        .exchange(&information_request(&cards[5], SPRAYED_PIN, 6))
        .await;
    assert!(answer.contains("|BLY|CQN|"), "failure 6: {answer}");
    assert!(
        client.is_closed().await,
        "the session ends at the end-session threshold"
    );

    // A new connection logs in again. The budget is counted in the database over the window, so
    // it carries over: a correct PIN is answered and the session stays open (slowed down) ...
    let mut again = server.client().await;
    login(&mut again).await;
    let answer = again
        .exchange(&information_request(&cards[6], SPRAY_PIN, 1))
        .await;
    assert!(answer.contains("|BLY|CQY|"), "correct PIN: {answer}");
    let answer = again
        .exchange(&information_request(&cards[7], SPRAY_PIN, 2))
        .await;
    assert!(
        answer.contains("|BLY|CQY|"),
        "the session stays open after a correct PIN: {answer}"
    );
    // ... but the next failure ends the session again.
    let answer = again
        .exchange(&information_request(&cards[6], SPRAYED_PIN, 3))
        .await;
    assert!(answer.contains("|BLY|CQN|"), "failure 7: {answer}");
    assert!(
        again.is_closed().await,
        "a failure over the threshold ends the new session too"
    );

    let text = logs.text();
    let alerts: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("terminal failure budget exceeded"))
        .filter(|line| line.contains("terminal=sc_user"))
        .collect();
    assert!(
        alerts.iter().any(|line| line.contains("action=EndSession")),
        "an alert when the session is ended: {alerts:#?}"
    );
    assert!(
        alerts.iter().any(|line| line.contains("action=Delay")),
        "an alert when the delay starts: {alerts:#?}"
    );
    assert!(
        text.contains("reason=\"terminal_failure_budget\""),
        "the session end is logged with its reason"
    );
    for pin in [SPRAY_PIN, SPRAYED_PIN] {
        assert!(!text.contains(pin), "the logs contain the PIN {pin}");
    }
}

fn audit_entry(days_ago: i64, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: fixed_now() - chrono::Duration::days(days_ago),
        actor: "staff:retention-test".into(),
        card_pseudonym: None,
        action: action.into(),
        outcome: "ok".into(),
        reason: None,
    }
}

async fn audit_entries_past_retention_are_purged_soon_after_start(backend: Backend) {
    let mut config = test_config();
    config.audit.retention = Duration::from_secs(90 * 24 * 3600);
    let world = World::new(backend, &config).await;
    for (days_ago, action) in [
        (400, "ancient"),
        (91, "expired"),
        (89, "kept"),
        (1, "recent"),
    ] {
        world
            .store
            .append_audit(&audit_entry(days_ago, action))
            .await
            .expect("audit entry");
    }
    let server = world.serve(config).await;
    let actions = || async {
        let mut actions: Vec<String> = server
            .store
            .list_audit(&AuditQuery {
                actor: Some("staff:retention-test".into()),
                ..AuditQuery::default()
            })
            .await
            .expect("audit")
            .into_iter()
            .map(|entry| entry.entry.action)
            .collect();
        actions.sort();
        actions
    };
    // The purge runs in its own task right after start: wait for it, bounded.
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let mut left = actions().await;
    while left.len() > 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = actions().await;
    }
    assert_eq!(left, vec!["kept".to_owned(), "recent".to_owned()]);
    // The server still answers.
    let mut client = server.client().await;
    login(&mut client).await;
}

sip2auth::store_test_on_both_backends!(
    a_line_of_one_megabyte_closes_only_that_connection,
    nul_bytes_and_invalid_utf8_inside_a_message_are_answered,
    idle_connections_are_closed_after_the_idle_timeout,
    connection_limits_hold_per_address_and_in_total,
    eight_bad_logins_then_the_right_password_from_one_address_logs_in,
    ten_bad_logins_of_one_login_id_do_not_block_another_from_that_address,
    a_sustained_brute_force_is_refused_without_hashing,
    ninety_nine_with_version_one_gets_version_one,
    unknown_commands_can_be_answered_with_96,
    pin_required_turns_an_absent_pin_into_cq_n,
    lost_card_can_be_answered_as_unknown,
    shutdown_finishes_the_request_in_flight_then_closes,
    database_outage_is_answered_and_recovered_from,
    a_terminal_spraying_wrong_pins_is_slowed_then_sent_to_log_in_again,
    audit_entries_past_retention_are_purged_soon_after_start,
);
