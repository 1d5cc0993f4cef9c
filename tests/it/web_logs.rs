//! The web side at TRACE level leaves no secret in the logs (SECURITY.md §2 item 21, extended to
//! the web): no PIN, password, session token, CSRF token or argon2 PHC string, whatever the
//! pages are sent (right and wrong PINs, a change, a password, bad forms).

use sip2auth::store::{Backend, CredentialHash, NewPatron};

use crate::support::logs::captured;
use crate::support::web::{start_web, web_config};
use crate::support::world;

// Long values, so that no timing or id in a log line contains them by chance.
const CARD: &str = "21234000010101";
const PIN: &str = "5819273640";
const WRONG_PIN: &str = "7391046285";
const NEW_PIN: &str = "6042817359";
const PASSWORD: &str = "Qu1et!Reading";
const WRONG_PASSWORD: &str = "N0t-the-Password";

async fn the_web_side_logs_no_secret(backend: Backend) {
    let logs = captured();
    let web = start_web(backend, web_config()).await;
    let mut details = web
        .server
        .store
        .find_by_card("MAIN", "21234000012345")
        .await
        .expect("lookup")
        .expect("Jane")
        .patron
        .details;
    details.birth_date = None;
    let hashed = world::hasher(&web_config())
        .hash(PIN.as_bytes())
        .expect("hash");
    let patron = NewPatron {
        institution: "MAIN".into(),
        card_number: CARD.into(),
        details,
        pin: Some(CredentialHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
            must_change: false,
            default_expires_at: None,
        }),
        password: None,
    };
    web.server
        .store
        .create_patron(&patron)
        .await
        .expect("patron");
    let mut visitor = web.visitor();
    visitor.log_in(CARD, WRONG_PIN).await;
    visitor.log_in(CARD, WRONG_PASSWORD).await;
    let login_csrf = visitor.get("/login").await.csrf();
    assert_eq!(visitor.log_in(CARD, PIN).await.status, 303);
    let session = visitor.session_cookie().expect("session");
    let csrf = visitor.session_csrf("/change-pin").await;
    visitor.change_pin(WRONG_PIN, NEW_PIN, NEW_PIN).await;
    let changed = visitor.change_pin(PIN, NEW_PIN, NEW_PIN).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let csrf_after = visitor.session_csrf("/change-password").await;
    visitor
        .post(
            "/change-password",
            &[
                ("csrf", &csrf_after),
                ("old", NEW_PIN),
                ("new", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    visitor
        .post_raw("/login", format!("card=%ff&secret={PIN}").into_bytes(), &[])
        .await;
    let text = logs.text();
    for secret in [
        PIN,
        WRONG_PIN,
        NEW_PIN,
        PASSWORD,
        WRONG_PASSWORD,
        &session,
        &csrf,
        &csrf_after,
        &login_csrf,
        "$argon2id$",
    ] {
        assert!(!text.contains(secret), "{secret:?} appears in the logs");
    }
    assert!(
        text.contains("web pages listening"),
        "the capture saw the web side"
    );
}

sip2auth::store_test_on_both_backends!(the_web_side_logs_no_secret);
