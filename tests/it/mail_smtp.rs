//! Mail through a real SMTP server on loopback (aiosmtpd from PyPI, started by the test on a
//! free port): the forgotten-PIN flow end to end in a real browser (request, the link read from
//! the delivered mail, the new PIN, then log-in with it on the web and over SIP2), and an SMTP
//! outage while a reset is requested with two server instances sharing one database: the mail
//! waits in the outbox, and once the server is back it arrives exactly once. On SQLite and
//! PostgreSQL.

use std::time::{Duration, Instant};

use sip2auth::app::App;
use sip2auth::clock::SharedClock;
use sip2auth::http::WebServer;
use sip2auth::server::Server;
use sip2auth::store::{Backend, ConnectOptions, MailKind, MailState, Store};

use crate::support::browser::Browser;
use crate::support::mail::{free_port, settle, smtp_mail_config, wait_for_mails, SmtpServer};
use crate::support::web::start_web;
use crate::support::{world, World};

const JANE: &str = "21234000012345";
const JANE_PIN: &str = "4931";
const NEW_PIN: &str = "6193";
/// Long enough that no port, time or id in a log line contains it by chance.
const LOG_PIN: &str = "7305918264";

async fn browser_forgotten_pin_end_to_end_over_smtp(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let port = free_port();
    let _smtp = SmtpServer::start(port, folder.path());
    let web = start_web(backend, smtp_mail_config(port)).await;
    let mut browser = Browser::start(&format!("forgot_pin_{backend}")).await;
    let url = |path: &str| format!("http://{}{path}", web.web_addr);
    browser.goto(&url("/login")).await;
    browser.follow("a[href='/forgot-pin']").await;
    assert_eq!(browser.path().await, "/forgot-pin");
    browser.check_page("forgot-pin").await;
    browser.fill("card", JANE).await;
    browser.follow("#submit").await;
    assert!(browser.main_text().await.contains("Check your email"));
    browser.check_page("forgot-pin-sent").await;

    let mail = wait_for_mails(folder.path(), 1).await.remove(0);
    assert!(
        mail.header("To").contains("jane.doe@example.org"),
        "{}",
        mail.raw
    );
    assert!(mail.header("From").contains("library@springfield.example"));
    let link = mail.reset_path();
    browser.goto(&url(&link)).await;
    assert!(browser.main_text().await.contains("Choose a new PIN"));
    browser.check_page("reset-form").await;
    browser.fill("new", "1234").await;
    browser.fill("confirm", "1234").await;
    browser.follow("#submit").await;
    assert!(browser.text("#new-error-1").await.contains("sequence"));
    browser.check_page("reset-refused").await;
    browser.fill("new", NEW_PIN).await;
    browser.fill("confirm", NEW_PIN).await;
    browser.follow("#submit").await;
    assert!(browser.main_text().await.contains("Your new PIN is set"));
    browser.check_page("reset-done").await;

    browser.goto(&url("/login")).await;
    browser.fill("card", JANE).await;
    browser.fill("secret", NEW_PIN).await;
    browser.follow("#submit").await;
    assert_eq!(browser.path().await, "/account");
    assert!(web.sip2_accepts(JANE, NEW_PIN).await);
    assert!(!web.sip2_accepts(JANE, JANE_PIN).await);
    // The second use of the link is refused in the browser too.
    browser.goto(&url(&link)).await;
    assert!(browser.main_text().await.contains("cannot be used"));
    browser.close().await;
}

sip2auth::store_test_on_both_backends!(browser_forgotten_pin_end_to_end_over_smtp);

/// One more instance over the same database (its own pool and authenticator), SIP2 only, with
/// its own outbox task.
async fn second_instance(
    config: &sip2auth::config::Config,
    url: &str,
    clock: SharedClock,
) -> tokio_util::sync::CancellationToken {
    let options = ConnectOptions {
        clock: clock.clone(),
        ..ConnectOptions::default()
    };
    let store = Store::connect(url, &options).await.expect("second pool");
    let auth = world::authenticator(config, store.clone(), clock.clone()).await;
    let app = App::with_authenticator(config.clone(), store, auth, clock);
    let sip2 = Server::bind(app.config(), app.sip2()).await.expect("binds");
    let shutdown = app.shutdown();
    tokio::spawn(app.run(sip2));
    shutdown
}

async fn an_smtp_outage_loses_no_mail_and_two_instances_send_it_once(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let port = free_port();
    let config = smtp_mail_config(port);
    let world = World::new(backend, &config).await;
    let clock = world.clock.clone();
    let shared: SharedClock = clock.clone();
    let url = world.db.url().to_owned();
    let store = world.store.clone();
    let app = App::with_authenticator(
        config.clone(),
        store.clone(),
        world.auth.clone(),
        shared.clone(),
    );
    let sip2 = Server::bind(app.config(), app.sip2()).await.expect("binds");
    let web = WebServer::bind(app.config(), app.web()).await.expect("web");
    let web_addr = web.local_addr().expect("address");
    let first = app.shutdown();
    tokio::spawn(app.run_with(sip2, Some(web)));
    let second = second_instance(&config, &url, shared).await;

    // The SMTP server is down while the reset is requested.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = format!("http://{web_addr}");
    let form = http
        .get(format!("{base}/forgot-pin"))
        .send()
        .await
        .expect("GET");
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("login"))
        .expect("form cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let body = form.text().await.expect("body");
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("csrf") + marker.len();
    let csrf = &body[start..start + 64];
    let sent = http
        .post(format!("{base}/forgot-pin"))
        .header("origin", &base)
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&card={JANE}"))
        .send()
        .await
        .expect("POST");
    assert_eq!(sent.status(), 200);

    let jane = store
        .find_by_card("MAIN", JANE)
        .await
        .expect("lookup")
        .expect("Jane")
        .patron
        .id;
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiting = loop {
        let last = store.last_mail(jane, MailKind::Reset).await.expect("state");
        if let Some(mail) = last.filter(|m| m.last_error.is_some()) {
            break mail;
        }
        assert!(Instant::now() < deadline, "the first attempt fails");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(waiting.state, MailState::Queued, "kept for a retry");
    assert_eq!(waiting.attempts, 1);
    let counts = store.outbox_counts().await.expect("counts");
    assert_eq!((counts.queued, counts.failed), (1, 0));

    // Back up, and past the retry wait: one of the two instances sends it, once.
    let _smtp = SmtpServer::start(port, folder.path());
    clock.advance(chrono::Duration::seconds(61));
    wait_for_mails(folder.path(), 1).await;
    let mails = settle(&store, folder.path(), 1).await;
    assert!(mails[0].header("To").contains("jane.doe@example.org"));
    clock.advance(chrono::Duration::minutes(10));
    settle(&store, folder.path(), 1).await;
    let done = store
        .last_mail(jane, MailKind::Reset)
        .await
        .expect("state")
        .expect("the mail");
    assert_eq!(done.state, MailState::Sent);
    assert_eq!(done.attempts, 2);
    first.cancel();
    second.cancel();
}

sip2auth::store_test_on_both_backends!(an_smtp_outage_loses_no_mail_and_two_instances_send_it_once);

async fn no_token_or_temporary_password_in_any_log_at_trace(backend: Backend) {
    let logs = crate::support::logs::captured();
    let folder = tempfile::tempdir().expect("folder");
    let port = free_port();
    let _smtp = SmtpServer::start(port, folder.path());
    let web = start_web(backend, smtp_mail_config(port)).await;
    let mut visitor = web.visitor();
    let csrf = visitor.get("/forgot-pin").await.csrf();
    visitor
        .post("/forgot-pin", &[("csrf", &csrf), ("card", JANE)])
        .await;
    let link = wait_for_mails(folder.path(), 1)
        .await
        .remove(0)
        .reset_path();
    let token = link.trim_start_matches("/reset/").to_owned();
    let csrf = visitor.get(&link).await.csrf();
    let done = visitor
        .post(
            &link,
            &[("csrf", &csrf), ("new", LOG_PIN), ("confirm", LOG_PIN)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let mut config = smtp_mail_config(port);
    config.web.reset = sip2auth::config::ResetMode::TemporaryPassword;
    let temporary = start_web(backend, config).await;
    let mut visitor = temporary.visitor();
    let csrf = visitor.get("/forgot-password").await.csrf();
    visitor
        .post("/forgot-password", &[("csrf", &csrf), ("card", JANE)])
        .await;
    let mails = wait_for_mails(folder.path(), 3).await;
    let password = mails
        .iter()
        .find(|m| m.text().contains("temporary online password is:"))
        .expect("the temporary password mail")
        .temporary_password();
    assert_eq!(visitor.log_in(JANE, &password).await.status, 303);
    let text = logs.text();
    for secret in [token.as_str(), password.as_str(), LOG_PIN, "$argon2id$"] {
        assert!(!text.contains(secret), "{secret:?} appears in the logs");
    }
    assert!(text.contains("mail sent"), "the capture saw the outbox");
}

sip2auth::store_test_on_both_backends!(no_token_or_temporary_password_in_any_log_at_trace);
