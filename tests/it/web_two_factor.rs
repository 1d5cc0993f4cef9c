//! Two-step log-in (TOTP) in a real browser against the real application on both backends:
//! enrolment with the key read off the page and codes computed here from it (RFC 6238), a
//! wrong first code, the ten recovery codes shown once, the code asked after the PIN, a code
//! refused the second time (replay, also across log-ins), a recovery code accepted once, a new
//! set cancelling the old, turning it off with the PIN and a current code, the classes that
//! must use it (sent to the enrolment page, cannot turn it off), and wrong codes counting on
//! the PIN's lock (which SIP2 then refuses too). Over HTTP: no key or recovery code in any log
//! line at TRACE, nor in clear in the database.

use chrono::{DateTime, Duration, Utc};
use sip2auth::clock::Clock;
use sip2auth::store::Backend;

use crate::support::browser::Browser;
use crate::support::logs::captured;
use crate::support::web::{start_web, web_config, WebTest};

const JANE: &str = "21234000012345";
const JANE_PIN: &str = "4931";
const WRONG_CODE: &str = "This code is not right, or it was already used.";

fn url(web: &WebTest, path: &str) -> String {
    format!("http://{}{path}", web.web_addr)
}

/// The six-digit code of `secret` (base32, as the page shows it) at `at`.
fn code_at(secret: &str, at: DateTime<Utc>) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret.replace(' ', "")).expect("base32 key");
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("RFC 6238 settings");
    let seconds = u64::try_from(at.timestamp()).expect("after 1970");
    totp.generate(seconds).to_string()
}

/// A code that is none of the three the server accepts at `at`.
fn wrong_code_at(secret: &str, at: DateTime<Utc>) -> String {
    let near: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|s| code_at(secret, at + Duration::seconds(*s)))
        .collect();
    (0..1000)
        .map(|n| format!("{:06}", 271_828 + n))
        .find(|c| !near.contains(c))
        .expect("a wrong code")
}

async fn log_in(browser: &Browser, web: &WebTest, card: &str, secret: &str) {
    browser.goto(&url(web, "/login")).await;
    browser.fill("card", card).await;
    browser.fill("secret", secret).await;
    browser.follow("#submit").await;
}

async fn enter_code(browser: &Browser, code: &str) {
    browser.fill("code", code).await;
    browser.follow("#submit").await;
}

async fn log_out(browser: &Browser) {
    browser.follow("#logout").await;
    assert!(browser.main_text().await.contains("You are logged out"));
}

/// Enrols the logged-in patron from the enrolment page; returns the key and the recovery codes.
async fn enrol(browser: &mut Browser, web: &WebTest, shot: &str) -> (String, Vec<String>) {
    assert_eq!(browser.path().await, "/two-factor");
    let secret = browser.text("#totp-secret").await.replace(' ', "");
    assert_eq!(secret.len(), 32, "a 160-bit key in base32: {secret}");
    let label = browser.attr("#qr svg", "aria-label").await;
    assert_eq!(label.as_deref(), Some("QR code for your authenticator app"));
    browser.check_page(shot).await;
    let now = web.server.clock.now();
    browser.fill("code", &wrong_code_at(&secret, now)).await;
    browser.follow("#enable").await;
    assert!(browser.text("#code-error-1").await.contains(WRONG_CODE));
    assert_eq!(
        browser.text("#totp-secret").await.replace(' ', ""),
        secret,
        "the pending key stays until confirmed"
    );
    browser.fill("code", &code_at(&secret, now)).await;
    browser.follow("#enable").await;
    assert!(browser.main_text().await.contains("Two-step log-in is on."));
    let codes: Vec<String> = browser
        .text("#recovery-codes")
        .await
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    browser.check_page(&format!("{shot}-recovery-codes")).await;
    (secret, codes)
}

async fn browser_two_factor_enrol_log_in_replay_recovery_and_turn_off(backend: Backend) {
    let mut browser = Browser::start(&format!("two_factor_{backend}")).await;
    let web = start_web(backend, web_config()).await;
    let clock = &web.server.clock;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/account");
    assert!(browser
        .text("#two-factor-state")
        .await
        .contains("Two-step log-in: off"));
    browser.follow("#two-factor").await;
    let (secret, codes) = enrol(&mut browser, &web, "two-factor-enrol").await;
    let stored = web
        .server
        .db
        .text_columns_containing(&[&secret, &codes[0], &codes[0].replace('-', "")])
        .await
        .expect("scan");
    assert!(stored.is_empty(), "in clear in the database: {stored:?}");
    log_out(&browser).await;

    // The code after the PIN; the code of the enrolment step is already used.
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/login/code");
    browser.check_page("code").await;
    browser.goto(&url(&web, "/account")).await;
    assert_eq!(browser.path().await, "/login", "no session before the code");
    browser.goto(&url(&web, "/login/code")).await;
    enter_code(&browser, &code_at(&secret, clock.now())).await;
    assert!(browser.text("#code-error-1").await.contains(WRONG_CODE));
    browser.check_page("code-replayed").await;
    clock.advance(Duration::seconds(30));
    let code = code_at(&secret, clock.now());
    enter_code(&browser, &code).await;
    assert_eq!(browser.path().await, "/account");
    assert!(browser
        .text("#two-factor-state")
        .await
        .contains("10 recovery code(s) left"));
    log_out(&browser).await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    enter_code(&browser, &code).await;
    assert!(
        browser.text("#code-error-1").await.contains(WRONG_CODE),
        "the same code in a new log-in"
    );

    // A recovery code works once (typed in capitals, without dashes).
    enter_code(&browser, &codes[0].replace('-', "").to_uppercase()).await;
    assert_eq!(browser.path().await, "/account");
    assert!(browser
        .text("#two-factor-state")
        .await
        .contains("9 recovery code(s) left"));
    log_out(&browser).await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    enter_code(&browser, &codes[0]).await;
    assert!(browser.text("#code-error-1").await.contains(WRONG_CODE));
    enter_code(&browser, &codes[1]).await;
    assert_eq!(browser.path().await, "/account");

    // A new set cancels the old one.
    browser.follow("#two-factor").await;
    browser.check_page("two-factor-manage").await;
    browser.follow("#new-codes").await;
    let fresh = browser.text("#recovery-codes").await;
    assert_eq!(fresh.lines().filter(|l| !l.trim().is_empty()).count(), 10);
    assert!(!fresh.contains(&codes[2]));
    log_out(&browser).await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    enter_code(&browser, &codes[2]).await;
    assert!(
        browser.text("#code-error-1").await.contains(WRONG_CODE),
        "an old-set code"
    );
    let first_new = fresh.lines().next().expect("a code").trim().to_owned();
    enter_code(&browser, &first_new).await;
    assert_eq!(browser.path().await, "/account");

    // Turning it off needs the PIN and a current code.
    browser.follow("#two-factor").await;
    browser.fill("secret", "5827").await;
    clock.advance(Duration::seconds(30));
    browser.fill("code", &code_at(&secret, clock.now())).await;
    browser.follow("#disable").await;
    assert!(browser
        .text("#secret-error-1")
        .await
        .contains("This is not your current one."));
    browser.fill("secret", JANE_PIN).await;
    browser
        .fill("code", &wrong_code_at(&secret, clock.now()))
        .await;
    browser.follow("#disable").await;
    assert!(browser.text("#code-error-1").await.contains(WRONG_CODE));
    browser.check_page("two-factor-disable-refused").await;
    browser.fill("secret", JANE_PIN).await;
    browser.fill("code", &code_at(&secret, clock.now())).await;
    browser.follow("#disable").await;
    assert_eq!(browser.path().await, "/account?changed=two-factor-off");
    assert!(browser
        .text("#two-factor-state")
        .await
        .contains("Two-step log-in: off"));
    log_out(&browser).await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/account", "no code asked any more");
    let trail = web
        .server
        .store
        .list_audit(&sip2auth::store::AuditQuery::default())
        .await
        .expect("audit");
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    for action in [
        "two_factor_enable",
        "recovery_code_use",
        "recovery_codes_issue",
        "two_factor_disable",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    browser.close().await;
}

async fn browser_two_factor_required_for_a_class_and_wrong_codes_lock(backend: Backend) {
    let mut browser = Browser::start(&format!("two_factor_required_{backend}")).await;
    let mut config = web_config();
    config.web.two_factor_required_classes = vec!["ADULT".into()];
    let web = start_web(backend, config).await;
    let clock = &web.server.clock;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/two-factor");
    assert!(browser
        .main_text()
        .await
        .contains("Your library requires two-step log-in for your card"));
    for elsewhere in ["/account", "/change-pin", "/change-password"] {
        browser.goto(&url(&web, elsewhere)).await;
        assert_eq!(browser.path().await, "/two-factor", "{elsewhere}");
    }
    let (secret, _codes) = enrol(&mut browser, &web, "two-factor-required").await;
    browser.goto(&url(&web, "/account")).await;
    assert_eq!(browser.path().await, "/account");
    browser.follow("#two-factor").await;
    assert!(browser
        .main_text()
        .await
        .contains("so it cannot be turned off"));
    assert!(
        !browser
            .main_text()
            .await
            .contains("Turn off two-step log-in"),
        "no form to turn it off"
    );
    log_out(&browser).await;

    // Wrong codes count on the PIN's lock: the fifth sets it, SIP2 refuses the PIN too.
    log_in(&browser, &web, JANE, JANE_PIN).await;
    let wrong = wrong_code_at(&secret, clock.now());
    for _ in 0..5 {
        enter_code(&browser, &wrong).await;
        assert!(browser.text("#code-error-1").await.contains(WRONG_CODE));
    }
    enter_code(&browser, &code_at(&secret, clock.now())).await;
    let locked = browser.main_text().await;
    assert!(locked.contains("Account locked"), "{locked}");
    browser.check_page("two-factor-locked").await;
    assert!(!web.sip2_accepts(JANE, JANE_PIN).await, "SIP2 refuses too");
    clock.advance(Duration::minutes(16));
    log_in(&browser, &web, JANE, JANE_PIN).await;
    enter_code(&browser, &code_at(&secret, clock.now())).await;
    assert_eq!(browser.path().await, "/account", "after the lock lifted");
    browser.close().await;
}

sip2auth::store_test_on_both_backends!(
    browser_two_factor_enrol_log_in_replay_recovery_and_turn_off,
    browser_two_factor_required_for_a_class_and_wrong_codes_lock,
);

/// The value of `<code id="totp-secret">` or every `<code>` of the recovery list in a page.
fn codes_in(body: &str) -> Vec<String> {
    body.split("<code")
        .skip(1)
        .filter_map(|part| part.split_once('>'))
        .filter_map(|(_, rest)| rest.split_once("</code>"))
        .map(|(inner, _)| inner.trim().to_owned())
        .collect()
}

async fn two_factor_leaves_no_key_or_recovery_code_in_the_logs(backend: Backend) {
    let logs = captured();
    let web = start_web(backend, web_config()).await;
    let clock = &web.server.clock;
    let mut visitor = web.visitor();
    assert_eq!(visitor.log_in(JANE, JANE_PIN).await.status, 303);
    let enrol = visitor.get("/two-factor").await;
    let secret = codes_in(&enrol.body)
        .into_iter()
        .next()
        .expect("the key")
        .replace(' ', "");
    let csrf = enrol.csrf();
    let enabled = visitor
        .post(
            "/two-factor/enable",
            &[("csrf", &csrf), ("code", &code_at(&secret, clock.now()))],
        )
        .await;
    let codes = codes_in(&enabled.body);
    assert_eq!(codes.len(), 10, "{}", enabled.body);
    let mut next = web.visitor();
    let half = next.log_in(JANE, JANE_PIN).await;
    assert_eq!(half.location(), "/login/code");
    let login_csrf = next.get("/login/code").await.csrf();
    let used = next
        .post("/login/code", &[("csrf", &login_csrf), ("code", &codes[0])])
        .await;
    assert_eq!(used.location(), "/account");
    let mut again = web.visitor();
    again.log_in(JANE, JANE_PIN).await;
    let login_csrf = again.get("/login/code").await.csrf();
    clock.advance(Duration::seconds(30));
    let step = again
        .post(
            "/login/code",
            &[
                ("csrf", &login_csrf),
                ("code", &code_at(&secret, clock.now())),
            ],
        )
        .await;
    assert_eq!(step.location(), "/account");
    let text = logs.text();
    assert!(
        text.contains("web pages listening"),
        "the capture saw the web side"
    );
    let mut secrets = vec![secret.clone(), secret.to_lowercase()];
    for code in &codes {
        secrets.push(code.clone());
        secrets.push(code.replace('-', ""));
    }
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret:?} appears in the logs"
        );
    }
}

sip2auth::store_test_on_both_backends!(two_factor_leaves_no_key_or_recovery_code_in_the_logs);

/// `serve --demo` seeds a patron with two-step log-in on under the key the demo README
/// publishes: the PIN alone leads to the code page, the code from that key logs in.
#[tokio::test]
async fn the_demo_patron_with_two_step_log_in_takes_a_code_from_the_published_key() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sip2auth"))
        .current_dir(dir.path())
        .env_remove("SIP2AUTH_DATABASE_URL")
        .env_remove("SIP2AUTH_PEPPER")
        .env_remove("SIP2AUTH_PEPPER_FILE")
        .env_remove("SIP2AUTH_CONFIG")
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let origin = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no patron pages URL in {line:?}"))
        .trim_end_matches(['/', ';', ')'])
        .to_owned();
    let mut visitor = crate::support::web::Visitor::at(&origin);
    let half = visitor.log_in("21234000013579", "5093").await;
    let code_page = half.location().to_owned();
    let csrf = visitor.get("/login/code").await.csrf();
    // The server's clock is the real one here; a step boundary between the two reads at
    // most moves the code one step, which the server still accepts.
    let code = code_at("DEMO TOTP SECR ETFO RTES SOTP 2345 6723", Utc::now());
    let done = visitor
        .post("/login/code", &[("csrf", &csrf), ("code", &code)])
        .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code_page, "/login/code");
    assert_eq!(done.location(), "/account", "{}", done.body);
}

/// Turns two-step log-in on for Jane over HTTP; returns the key.
async fn enrol_over_http(web: &WebTest) -> String {
    let mut visitor = web.visitor();
    assert_eq!(visitor.log_in(JANE, JANE_PIN).await.status, 303);
    let enrol = visitor.get("/two-factor").await;
    let secret = codes_in(&enrol.body)
        .into_iter()
        .next()
        .expect("the key")
        .replace(' ', "");
    let code = code_at(&secret, web.server.clock.now());
    let enabled = visitor
        .post(
            "/two-factor/enable",
            &[("csrf", &enrol.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(codes_in(&enabled.body).len(), 10, "{}", enabled.body);
    secret
}

async fn the_code_page_needs_its_half_done_log_in_its_form_token_and_no_delay(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let clock = &web.server.clock;
    let secret = enrol_over_http(&web).await;
    let mut visitor = web.visitor();
    assert_eq!(visitor.get("/login/code").await.location(), "/login");
    assert_eq!(
        visitor.log_in(JANE, JANE_PIN).await.location(),
        "/login/code"
    );
    assert!(
        visitor.session_cookie().is_none(),
        "no session before the code"
    );
    let csrf = visitor.get("/login/code").await.csrf();
    clock.advance(Duration::seconds(30));
    let forged = visitor
        .post(
            "/login/code",
            &[
                ("csrf", &"0".repeat(64)),
                ("code", &code_at(&secret, clock.now())),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "a wrong form token");
    clock.advance(Duration::minutes(6));
    let late = visitor
        .post(
            "/login/code",
            &[("csrf", &csrf), ("code", &code_at(&secret, clock.now()))],
        )
        .await;
    assert_eq!(
        late.location(),
        "/login?ended=1",
        "after web.two_factor_timeout"
    );
    assert!(visitor.session_cookie().is_none());
}

sip2auth::store_test_on_both_backends!(
    the_code_page_needs_its_half_done_log_in_its_form_token_and_no_delay
);

/// Every two-step change mails the patron a "not you?" notice: on, new recovery codes, off.
async fn two_step_changes_mail_the_patron_a_notice(backend: Backend) {
    let folder = tempfile::tempdir().expect("outbox folder");
    let web = start_web(
        backend,
        crate::support::mail::file_mail_config(folder.path()),
    )
    .await;
    let clock = &web.server.clock;
    let mut visitor = web.visitor();
    assert_eq!(visitor.log_in(JANE, JANE_PIN).await.status, 303);
    let enrol = visitor.get("/two-factor").await;
    let secret = codes_in(&enrol.body)
        .into_iter()
        .next()
        .expect("the key")
        .replace(' ', "");
    let csrf = enrol.csrf();
    let code = code_at(&secret, clock.now());
    let enabled = visitor
        .post("/two-factor/enable", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(codes_in(&enabled.body).len(), 10, "{}", enabled.body);
    let csrf = visitor.get("/two-factor").await.csrf();
    visitor
        .post("/two-factor/recovery-codes", &[("csrf", &csrf)])
        .await;
    clock.advance(Duration::seconds(30));
    let csrf = visitor.get("/two-factor").await.csrf();
    let code = code_at(&secret, clock.now());
    let off = visitor
        .post(
            "/two-factor/disable",
            &[("csrf", &csrf), ("secret", JANE_PIN), ("code", &code)],
        )
        .await;
    assert_eq!(off.location(), "/account?changed=two-factor-off");
    let mails = crate::support::mail::wait_for_mails(folder.path(), 3).await;
    let subjects: Vec<String> = mails.iter().map(|m| m.header("Subject")).collect();
    for expected in ["is on", "recovery codes", "is off"] {
        assert!(
            subjects.iter().any(|s| s.to_lowercase().contains(expected)),
            "{expected:?} in {subjects:?}"
        );
    }
    assert!(
        mails.iter().all(|m| !m.raw.contains(&secret)),
        "no key in a notice"
    );
}

sip2auth::store_test_on_both_backends!(two_step_changes_mail_the_patron_a_notice);
