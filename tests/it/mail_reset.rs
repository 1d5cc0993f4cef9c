//! Forgotten PIN or password over the real web listener, with mail written as real `.eml`
//! files by the file transport: the link from the mail sets a new PIN (then taken by SIP2 and
//! the web log-in), a GET uses nothing up, a link works once (also from two tabs at once),
//! expires, and is replaced by a newer one; unknown cards and cards without email get the same
//! page; the limits per account and per address; the temporary-password mode; notification
//! mails after a change and a hard lock; the desk's reset link and the state of the last reset
//! mail. On SQLite and PostgreSQL.

use chrono::Duration;
use sip2auth::accounts::patron::CardRef;
use sip2auth::accounts::{DeskResetMail, MailState, Operator};
use sip2auth::config::ResetMode;
use sip2auth::store::Backend;

use crate::support::mail::{file_mail_config, settle, wait_for_mails, Mail};
use crate::support::web::{start_web, Page, Visitor, WebTest};

const JANE: &str = "21234000012345";
const JANE_PIN: &str = "4931";
/// Active, no email on file.
const FINCH: &str = "21234000055555";
const UNKNOWN: &str = "21234000099999";
const NEW_PIN: &str = "5827";

async fn forgot(visitor: &mut Visitor, path: &str, card: &str) -> Page {
    let form = visitor.get(path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    visitor.post(path, &[("csrf", &csrf), ("card", card)]).await
}

async fn set_new(visitor: &mut Visitor, link: &str, new: &str, confirm: &str) -> Page {
    let form = visitor.get(link).await;
    if form.status != 200 {
        return form;
    }
    let csrf = form.csrf();
    visitor
        .post(link, &[("csrf", &csrf), ("new", new), ("confirm", confirm)])
        .await
}

fn jane() -> CardRef {
    CardRef {
        institution: "MAIN".into(),
        card: JANE.into(),
    }
}

async fn accounts(web: &WebTest) -> sip2auth::accounts::Accounts {
    let config = web_config_of(web);
    sip2auth::accounts::Accounts::with_authenticator(
        web.server.store.clone(),
        &config,
        web.server.clock.clone(),
        web.server.auth.clone(),
    )
}

fn web_config_of(_web: &WebTest) -> sip2auth::config::Config {
    // The accounts of a test only queue mail; the server's outbox task sends it.
    file_mail_config(std::path::Path::new("/nonexistent"))
}

async fn a_reset_link_sets_a_new_pin_once_and_sip2_takes_it(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let mut old_session = web.visitor();
    assert_eq!(old_session.log_in(JANE, JANE_PIN).await.status, 303);
    assert_eq!(old_session.get("/account").await.status, 200);

    let mut visitor = web.visitor();
    let login = visitor.get("/login").await;
    assert!(
        login.body.contains("href=\"/forgot-pin\""),
        "{}",
        login.body
    );
    let sent = forgot(&mut visitor, "/forgot-pin", JANE).await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("photo ID"), "{}", sent.body);
    let mail = wait_for_mails(folder.path(), 1).await.remove(0);
    assert!(
        mail.header("To").contains("jane.doe@example.org"),
        "{}",
        mail.raw
    );
    assert!(
        mail.header("Subject").contains("Reset your PIN"),
        "{}",
        mail.raw
    );
    assert!(mail.text().contains("Ask at any desk"), "the contact line");
    assert!(mail.raw.contains("text/html") && mail.raw.contains("text/plain"));
    let link = mail.reset_path();
    assert!(mail.text().contains(&format!("{}{link}", web.origin)));

    // GET twice: the form only, nothing used up.
    for _ in 0..2 {
        let form = visitor.get(&link).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("Choose a new PIN"), "{}", form.body);
    }
    // The change pages' rules and refusals; the link stays valid.
    let refused = set_new(&mut visitor, &link, "1234", "1234").await;
    assert_eq!(refused.status, 200);
    assert!(refused.body.contains("sequence"), "{}", refused.body);
    let mismatch = set_new(&mut visitor, &link, NEW_PIN, "5828").await;
    assert!(mismatch.body.contains("not the same"), "{}", mismatch.body);
    let done = set_new(&mut visitor, &link, NEW_PIN, NEW_PIN).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Your new PIN is set"), "{}", done.body);
    assert!(visitor.session_cookie().is_none(), "not logged in");
    assert_eq!(visitor.get("/account").await.status, 303);

    // The second use fails; the old session has ended; the new PIN works on the web and SIP2.
    let again = set_new(&mut visitor, &link, "6193", "6193").await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("cannot be used"));
    assert_eq!(old_session.get("/account").await.status, 303);
    assert!(web.sip2_accepts(JANE, NEW_PIN).await);
    assert!(!web.sip2_accepts(JANE, JANE_PIN).await);
    assert_eq!(visitor.log_in(JANE, NEW_PIN).await.status, 303);
    // The "PIN changed" notice follows.
    let notice = wait_for_mails(folder.path(), 2).await;
    assert!(notice[1].header("Subject").contains("Your PIN was changed"));
    assert!(notice[1].text().contains("Not you?"));
}

sip2auth::store_test_on_both_backends!(a_reset_link_sets_a_new_pin_once_and_sip2_takes_it);

async fn unknown_cards_and_cards_without_email_get_the_same_page(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let mut pages = Vec::new();
    for card in [JANE, FINCH, UNKNOWN] {
        let mut visitor = web.visitor();
        pages.push(forgot(&mut visitor, "/forgot-pin", card).await);
    }
    for page in &pages[1..] {
        assert_eq!(page.status, pages[0].status);
        assert_eq!(page.body, pages[0].body, "one page whatever the account");
    }
    let mails = settle(&web.server.store, folder.path(), 1).await;
    assert!(mails[0].header("To").contains("jane.doe@example.org"));
    // A malformed card number is a form error (it names no account).
    let mut visitor = web.visitor();
    let bad = forgot(&mut visitor, "/forgot-pin", "12|34").await;
    assert!(bad.body.contains("aria-invalid=\"true\""), "{}", bad.body);
}

sip2auth::store_test_on_both_backends!(unknown_cards_and_cards_without_email_get_the_same_page);

async fn a_newer_link_replaces_the_older_and_a_link_expires(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let mut visitor = web.visitor();
    forgot(&mut visitor, "/forgot-pin", JANE).await;
    let first = wait_for_mails(folder.path(), 1)
        .await
        .remove(0)
        .reset_path();
    forgot(&mut visitor, "/forgot-pin", JANE).await;
    let second = wait_for_mails(folder.path(), 2)
        .await
        .remove(1)
        .reset_path();
    assert_ne!(first, second);
    assert_eq!(visitor.get(&first).await.status, 410, "the older link");
    assert_eq!(visitor.get(&second).await.status, 200);
    // A tampered token fails.
    let mut tampered = second.clone();
    let last = if tampered.ends_with('0') { '1' } else { '0' };
    tampered.pop();
    tampered.push(last);
    assert_eq!(visitor.get(&tampered).await.status, 410);
    // 31 minutes later the link has expired.
    web.server.clock.advance(Duration::minutes(31));
    assert_eq!(visitor.get(&second).await.status, 410);
    let late = set_new(&mut visitor, &second, NEW_PIN, NEW_PIN).await;
    assert_eq!(late.status, 410);
    assert!(web.sip2_accepts(JANE, JANE_PIN).await, "nothing changed");
}

sip2auth::store_test_on_both_backends!(a_newer_link_replaces_the_older_and_a_link_expires);

async fn two_tabs_use_a_link_once(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let mut visitor = web.visitor();
    forgot(&mut visitor, "/forgot-pin", JANE).await;
    let link = wait_for_mails(folder.path(), 1)
        .await
        .remove(0)
        .reset_path();
    let mut tabs = Vec::new();
    for pin in ["5827", "6193", "7048", "8315"] {
        let mut tab = web.visitor();
        let csrf = tab.get(&link).await.csrf();
        tabs.push((tab, csrf, pin));
    }
    let posts = tabs.iter_mut().map(|(tab, csrf, pin)| {
        let link = link.clone();
        async move {
            let page = tab
                .post(&link, &[("csrf", csrf), ("new", pin), ("confirm", pin)])
                .await;
            (page.status.as_u16(), *pin)
        }
    });
    let results = futures_util::future::join_all(posts).await;
    let winners: Vec<&str> = results
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, pin)| *pin)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 410),
        "{results:?}"
    );
    assert!(web.sip2_accepts(JANE, winners[0]).await);
}

sip2auth::store_test_on_both_backends!(two_tabs_use_a_link_once);

async fn reset_requests_are_limited_per_account_and_per_address(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let mut visitor = web.visitor();
    for _ in 0..4 {
        let page = forgot(&mut visitor, "/forgot-pin", JANE).await;
        assert_eq!(
            page.status, 200,
            "the page says nothing of the account limit"
        );
    }
    settle(&web.server.store, folder.path(), 3).await;
    // The requests neither locked nor changed the account.
    assert!(web.sip2_accepts(JANE, JANE_PIN).await);
    // 20 requests per address per hour: the 21st (any card) is refused with 429.
    for _ in 4..20 {
        assert_eq!(
            forgot(&mut visitor, "/forgot-pin", UNKNOWN).await.status,
            200
        );
    }
    let refused = forgot(&mut visitor, "/forgot-pin", FINCH).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").parse::<u64>().is_ok());
    // An hour later the window has passed: Jane may ask again.
    web.server.clock.advance(Duration::minutes(61));
    assert_eq!(forgot(&mut visitor, "/forgot-pin", JANE).await.status, 200);
    settle(&web.server.store, folder.path(), 4).await;
}

sip2auth::store_test_on_both_backends!(reset_requests_are_limited_per_account_and_per_address);

async fn the_temporary_password_mode_mails_a_password_to_change_at_log_in(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let mut config = file_mail_config(folder.path());
    config.web.reset = ResetMode::TemporaryPassword;
    let web = start_web(backend, config).await;
    let mut visitor = web.visitor();
    let page = forgot(&mut visitor, "/forgot-password", JANE).await;
    assert!(
        page.body.contains("temporary online password"),
        "{}",
        page.body
    );
    let mail: Mail = wait_for_mails(folder.path(), 1).await.remove(0);
    assert!(!mail.text().contains("/reset/"), "no link in this mode");
    let password = mail.temporary_password();
    assert!(password.len() >= 12, "{password}");
    let logged_in = visitor.log_in(JANE, &password).await;
    assert_eq!(logged_in.status, 303);
    assert_eq!(
        logged_in.location(),
        "/change-password",
        "must change it first"
    );
    assert!(
        web.sip2_accepts(JANE, JANE_PIN).await,
        "the PIN is untouched"
    );
}

sip2auth::store_test_on_both_backends!(
    the_temporary_password_mode_mails_a_password_to_change_at_log_in
);

async fn a_change_and_a_hard_lock_send_notices_and_a_link_clears_the_lock(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let mut visitor = web.visitor();
    visitor.log_in(JANE, JANE_PIN).await;
    let changed = visitor.change_pin(JANE_PIN, NEW_PIN, NEW_PIN).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let notice = wait_for_mails(folder.path(), 1).await.remove(0);
    assert!(notice.header("Subject").contains("Your PIN was changed"));
    // Ten wrong PINs over SIP2 (past the temporary locks): the hard lock and its notice.
    for round in 0..10 {
        if round > 0 && round % 5 == 0 {
            web.server.clock.advance(Duration::minutes(16));
        }
        assert!(!web.sip2_accepts(JANE, "6193").await);
    }
    let mails = wait_for_mails(folder.path(), 2).await;
    assert!(
        mails[1].header("Subject").contains("Your PIN is locked"),
        "{}",
        mails[1].raw
    );
    web.server.clock.advance(Duration::minutes(16));
    assert!(!web.sip2_accepts(JANE, NEW_PIN).await, "hard-locked");
    // The reset link clears it.
    forgot(&mut visitor, "/forgot-pin", JANE).await;
    let link = wait_for_mails(folder.path(), 3)
        .await
        .remove(2)
        .reset_path();
    let done = set_new(&mut visitor, &link, "7048", "7048").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(web.sip2_accepts(JANE, "7048").await);
}

sip2auth::store_test_on_both_backends!(
    a_change_and_a_hard_lock_send_notices_and_a_link_clears_the_lock
);

async fn the_desk_sends_a_reset_link_and_sees_the_last_reset_mail(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let web = start_web(backend, file_mail_config(folder.path())).await;
    let desk = accounts(&web).await;
    assert_eq!(desk.last_reset_mail(&jane()).await.expect("state"), None);
    let operator = Operator::new("alice").expect("operator");
    let queued = desk
        .send_reset_link(&operator, &jane(), sip2auth::accounts::CredentialKind::Pin)
        .await
        .expect("queued");
    assert_eq!(queued, DeskResetMail::Queued);
    let finch = CardRef {
        institution: "MAIN".into(),
        card: FINCH.into(),
    };
    let none = desk
        .send_reset_link(&operator, &finch, sip2auth::accounts::CredentialKind::Pin)
        .await
        .expect("answered");
    assert_eq!(none, DeskResetMail::NoEmail);
    let mail = wait_for_mails(folder.path(), 1).await.remove(0);
    let mut visitor = web.visitor();
    assert_eq!(visitor.get(&mail.reset_path()).await.status, 200);
    // The server's outbox task marks it sent; the desk sees that, with its time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let state = loop {
        let state = desk
            .last_reset_mail(&jane())
            .await
            .expect("state")
            .expect("one");
        if state.state == MailState::Sent || std::time::Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert_eq!(state.state, MailState::Sent);
    assert_eq!(state.operator.as_deref(), Some("staff:alice"));
    assert!(state.finished_at.is_some());
    let audit = desk
        .audit_log(Some(JANE), sip2auth::accounts::AuditQuery::default())
        .await
        .expect("audit");
    assert!(
        audit.iter().any(|e| e.entry.action == "reset_mail"
            && e.entry.actor == "staff:alice"
            && e.entry.outcome == "queued"),
        "{audit:?}"
    );
    let status = desk.mail_status().await.expect("status");
    assert_eq!((status.sent, status.failed, status.queued), (1, 0, 0));
}

sip2auth::store_test_on_both_backends!(the_desk_sends_a_reset_link_and_sees_the_last_reset_mail);
