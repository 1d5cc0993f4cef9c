//! A whole session at TRACE level leaves no secret in the logs (SECURITY.md §2 item 21): no PIN,
//! no terminal or login password, no AC, no argon2 PHC string; and each request is logged once
//! with its message type and outcome. After the session, no text column of the database holds
//! any of those values in clear (item 15).

use crate::support;

use sip2auth::store::{Backend, CredentialHash, NewPatron};
use support::logs::captured;
use support::world::{self, SC_USER_LOGIN, SC_USER_PASSWORD};
use support::{seal, start};

const PIN: &str = "5819273640";
const WRONG_PIN: &str = "7391046285";
const WRONG_LOGIN_PASSWORD: &str = "term-secret-XYZ";
const TERMINAL_PASSWORD_AC: &str = "acpass-Zq9";

async fn a_session_at_trace_level_logs_no_secret(backend: Backend) {
    let logs = captured();
    let server = start(backend).await;
    let mut details = server
        .store
        .find_by_card("MAIN", "21234000012345")
        .await
        .expect("lookup")
        .expect("Jane")
        .patron
        .details;
    details.birth_date = None;
    let hashed = world::hasher(&support::test_config())
        .hash(PIN.as_bytes())
        .expect("hash");
    let patron = NewPatron {
        institution: "MAIN".into(),
        card_number: "21234000010101".into(),
        details,
        pin: Some(CredentialHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
            must_change: false,
            default_expires_at: None,
        }),
        password: None,
    };
    server.store.create_patron(&patron).await.expect("patron");

    let mut client = server.client().await;
    let refused = client
        .exchange(&format!("9300CNsc_user|CO{WRONG_LOGIN_PASSWORD}|"))
        .await;
    assert_eq!(refused, "940");
    assert_eq!(client.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    for (pin, seq) in [(WRONG_PIN, 1), (PIN, 2)] {
        let request = format!(
            "6300120250314    093005          AOMAIN|AA21234000010101|AC{TERMINAL_PASSWORD_AC}|AD{pin}|"
        );
        let answer = client.exchange(&seal(&request, Some(seq))).await;
        assert!(answer.starts_with("64"), "{answer}");
    }
    let request = format!("2300120250314    093000AOMAIN|AA21234000010101|AC|AD{PIN}|");
    let answer = client.exchange(&request).await;
    assert!(answer.contains("|CQY|"), "{answer}");
    // A malformed message carrying the PIN: its parse error must not be logged with values.
    let answer = client.exchange(&format!("230AD{PIN}|")).await;
    assert_eq!(answer, "96");
    drop(client);

    let text = logs.text();
    for secret in [
        PIN,
        WRONG_PIN,
        WRONG_LOGIN_PASSWORD,
        SC_USER_PASSWORD,
        TERMINAL_PASSWORD_AC,
        "$argon2id$",
    ] {
        assert!(!text.contains(secret), "the logs contain {secret:?}");
    }
    // The session wrote to the database (failure counters, budget events): still no clear text.
    let in_clear = server
        .db
        .text_columns_containing(&[
            PIN,
            WRONG_PIN,
            WRONG_LOGIN_PASSWORD,
            SC_USER_PASSWORD,
            TERMINAL_PASSWORD_AC,
        ])
        .await
        .expect("scan");
    assert!(
        in_clear.is_empty(),
        "text columns holding a secret in clear: {in_clear:?}"
    );
    // Control: the scan does see stored text (the card number is kept in clear).
    let card = server
        .db
        .text_columns_containing(&["21234000010101"])
        .await
        .expect("scan");
    assert!(!card.is_empty(), "the scan reads the patron rows");
    assert!(
        text.contains("request=63"),
        "each request is logged with its type"
    );
    assert!(
        text.contains("outcome=\"wrong_credential\""),
        "and its outcome:\n{text}"
    );
    assert!(text.contains("latency_us="), "and its latency");
}

/// A login-defence penalty is one WARN line with the address (in the session span) and the login
/// id cut to 64 characters, never the secret tried.
async fn a_login_penalty_is_one_warn_line_without_the_secret(backend: Backend) {
    let logs = captured();
    let server = start(backend).await;
    let long_login = "x".repeat(300);
    for _ in 0..4 {
        let mut client = server.client_from([127, 0, 0, 8]).await;
        for _ in 0..3 {
            let answer = client
                .exchange(&format!("9300CN{long_login}|CO{WRONG_LOGIN_PASSWORD}|"))
                .await;
            assert_eq!(answer, "940");
        }
    }
    let text = logs.text();
    let penalties: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("penalty started"))
        .collect();
    assert_eq!(penalties.len(), 1, "one line per penalty:\n{text}");
    let line = penalties[0];
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("127.0.0.8"), "the address: {line}");
    assert!(line.contains(&"x".repeat(64)), "the login id: {line}");
    assert!(
        !line.contains(&"x".repeat(65)),
        "cut to 64 characters: {line}"
    );
    assert!(line.contains("truncated=true"), "{line}");
    assert!(
        !text.contains(WRONG_LOGIN_PASSWORD),
        "the secret tried is never logged"
    );
}

sip2auth::store_test_on_both_backends!(
    a_session_at_trace_level_logs_no_secret,
    a_login_penalty_is_one_warn_line_without_the_secret,
);
