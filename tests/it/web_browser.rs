//! The patron pages in a real browser (headless chromium over WebDriver) against the real
//! application on port 0 with a fresh database (SQLite and PostgreSQL): log-in with a PIN, a password or either, a
//! wrong secret, an unknown card, a lock (also refused over SIP2), the forced change of a
//! default PIN, changing the PIN (mismatch, rule refusals at the field, success seen by SIP2),
//! changing the password, sign out everywhere else, log-out and idle expiry. Every page is
//! screenshotted and checked with axe-core.

use chrono::Duration;
use sip2auth::config::WebLogin;
use sip2auth::store::Backend;

use crate::support::browser::Browser;
use crate::support::web::{start_web, web_config, WebTest};

const JANE: &str = "21234000012345";
const JANE_PIN: &str = "4931";
const LOCKE: &str = "21234000077777";
const LOCKE_PIN: &str = "7264";
const NEWMAN: &str = "21234000066666";
const NEWMAN_DEFAULT_PIN: &str = "8042";
const PASSWORD: &str = "Tr4vel!Books";
const NEUTRAL: &str = "The card number or the PIN/password is not right.";

fn url(web: &WebTest, path: &str) -> String {
    format!("http://{}{path}", web.web_addr)
}

async fn log_in(browser: &Browser, web: &WebTest, card: &str, secret: &str) {
    browser.goto(&url(web, "/login")).await;
    browser.fill("card", card).await;
    browser.fill("secret", secret).await;
    browser.follow("#submit").await;
}

async fn log_out(browser: &mut Browser) {
    browser.follow("#logout").await;
    assert!(browser.main_text().await.contains("You are logged out"));
}

async fn change(browser: &Browser, old: &str, new: &str, confirm: &str) {
    browser.fill("old", old).await;
    browser.fill("new", new).await;
    browser.fill("confirm", confirm).await;
    browser.follow("#submit").await;
}

async fn browser_log_in_with_a_pin_a_password_or_either(backend: Backend) {
    let mut browser = Browser::start(&format!("log_in_{backend}")).await;
    // The checker itself finds a critical violation (an image without a text alternative).
    browser
        .goto("data:text/html,<html lang=en><title>t</title><main><img src=x.png></main></html>")
        .await;
    let found = browser.serious_violations().await;
    assert!(
        found.iter().any(|v| v.starts_with("image-alt")),
        "{found:?}"
    );
    let web = start_web(backend, web_config()).await;
    browser.goto(&url(&web, "/")).await;
    assert_eq!(browser.path().await, "/login");
    browser.check_page("login").await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/account");
    assert!(browser.text("#name").await.contains("Doe, Jane"));
    assert_eq!(browser.text("#card").await, "••••••••••2345");
    browser.check_page("my-account").await;
    // Set a first online password (confirmed with the PIN), then log in with it.
    browser.follow("#change-password").await;
    assert!(browser.main_text().await.contains("confirm with your PIN"));
    browser.check_page("change-password").await;
    change(&browser, JANE_PIN, PASSWORD, PASSWORD).await;
    assert_eq!(browser.path().await, "/account?changed=password");
    assert!(browser
        .main_text()
        .await
        .contains("Your online password is changed."));
    log_out(&mut browser).await;
    browser.check_page("logged-out").await;
    log_in(&browser, &web, JANE, PASSWORD).await;
    assert_eq!(browser.path().await, "/account", "either: the password");
    log_out(&mut browser).await;

    // login_with = "pin": the PIN logs in, the password does not.
    let mut config = web_config();
    config.web.login_with = WebLogin::Pin;
    let pin_only = start_web(backend, config).await;
    log_in(&browser, &pin_only, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/account", "pin: the PIN");
    log_out(&mut browser).await;
    // login_with = "password": a patron without a password cannot log in with the PIN.
    let mut config = web_config();
    config.web.login_with = WebLogin::Password;
    let password_only = start_web(backend, config).await;
    log_in(&browser, &password_only, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/login");
    assert!(browser.main_text().await.contains(NEUTRAL));
    browser.close().await;
}

async fn browser_wrong_secret_unknown_card_and_a_lock(backend: Backend) {
    let mut browser = Browser::start(&format!("refusals_{backend}")).await;
    let web = start_web(backend, web_config()).await;
    log_in(&browser, &web, JANE, "5827").await;
    assert!(browser.main_text().await.contains(NEUTRAL));
    assert_eq!(
        browser.attr("#secret", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        browser.attr(".error-summary a", "href").await.as_deref(),
        Some("#secret")
    );
    browser.check_page("wrong-pin").await;
    log_in(&browser, &web, "21234000099999", "5827").await;
    assert!(browser.main_text().await.contains(NEUTRAL));
    browser.check_page("unknown-card").await;
    for _ in 0..5 {
        log_in(&browser, &web, LOCKE, "5827").await;
    }
    log_in(&browser, &web, LOCKE, LOCKE_PIN).await;
    let locked = browser.main_text().await;
    assert!(locked.contains("Account locked"), "{locked}");
    assert!(
        locked.contains("locked until 2025-03-14 09:45 UTC"),
        "{locked}"
    );
    browser.check_page("locked").await;
    assert!(
        !web.sip2_accepts(LOCKE, LOCKE_PIN).await,
        "SIP2 refuses too"
    );
    browser.close().await;
}

async fn browser_default_pin_forced_change_then_sip2_takes_the_new_pin(backend: Backend) {
    let mut browser = Browser::start(&format!("change_pin_{backend}")).await;
    let web = start_web(backend, web_config()).await;
    log_in(&browser, &web, NEWMAN, NEWMAN_DEFAULT_PIN).await;
    assert_eq!(browser.path().await, "/change-pin");
    assert!(browser.main_text().await.contains("Your PIN is temporary."));
    browser.check_page("forced-change").await;
    browser.goto(&url(&web, "/account")).await;
    assert_eq!(browser.path().await, "/change-pin", "only the change page");
    // The show/hide control (progressive enhancement) reveals the PIN.
    browser.fill("new", "5827").await;
    browser.click("button[data-reveal=new]").await;
    assert_eq!(browser.attr("#new", "type").await.as_deref(), Some("text"));

    change(&browser, NEWMAN_DEFAULT_PIN, "5827", "5828").await;
    assert_eq!(
        browser.text("#confirm-error-1").await,
        "The two entries are not the same. Type the new one twice."
    );
    browser.check_page("change-pin-mismatch").await;
    change(&browser, NEWMAN_DEFAULT_PIN, "1234", "1234").await;
    assert_eq!(
        browser.text("#new-error-1").await,
        "PIN cannot be a sequence like 1234"
    );
    assert_eq!(
        browser.text("#new-error-2").await,
        "PIN is one of the most commonly used PINs"
    );
    assert_eq!(
        browser.attr("#new", "aria-describedby").await.as_deref(),
        Some("new-hint new-error-1 new-error-2")
    );
    browser.check_page("change-pin-rules").await;
    change(&browser, NEWMAN_DEFAULT_PIN, "5827", "5827").await;
    assert_eq!(browser.path().await, "/account?changed=pin");
    assert!(browser.main_text().await.contains("Your PIN is changed."));
    assert!(browser.text("#pin-state").await.contains("set"));
    browser.check_page("pin-changed").await;
    assert!(
        web.sip2_accepts(NEWMAN, "5827").await,
        "CQ=Y with the new PIN"
    );
    assert!(
        !web.sip2_accepts(NEWMAN, NEWMAN_DEFAULT_PIN).await,
        "the old one fails"
    );
    browser.close().await;
}

async fn browser_sign_out_everywhere_else_log_out_and_idle_expiry(backend: Backend) {
    let mut browser = Browser::start(&format!("sessions_{backend}")).await;
    let web = start_web(backend, web_config()).await;
    let mut elsewhere = web.visitor();
    assert_eq!(elsewhere.log_in(JANE, JANE_PIN).await.status, 303);
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert!(browser.text("#sessions").await.contains("this browser"));
    browser.follow("#end-others").await;
    assert!(browser
        .main_text()
        .await
        .contains("Every other session is signed out."));
    browser.check_page("signed-out-elsewhere").await;
    assert_eq!(elsewhere.get("/account").await.location(), "/login?ended=1");
    web.server.clock.advance(Duration::minutes(16));
    browser.goto(&url(&web, "/account")).await;
    assert_eq!(browser.path().await, "/login?ended=1");
    assert!(browser.main_text().await.contains("Your session ended"));
    browser.check_page("idle-expired").await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    log_out(&mut browser).await;
    browser.goto(&url(&web, "/account")).await;
    assert_eq!(browser.path().await, "/login");
    browser.close().await;
}

sip2auth::store_test_on_both_backends!(
    browser_log_in_with_a_pin_a_password_or_either,
    browser_wrong_secret_unknown_card_and_a_lock,
    browser_default_pin_forced_change_then_sip2_takes_the_new_pin,
    browser_sign_out_everywhere_else_log_out_and_idle_expiry,
);

/// The main flow in the second language, chosen with the switch on the page.
async fn browser_main_flow_in_spanish(backend: Backend) {
    let mut browser = Browser::start(&format!("spanish_{backend}")).await;
    let web = start_web(backend, web_config()).await;
    browser.goto(&url(&web, "/login")).await;
    browser.follow("a[hreflang=es]").await;
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("es"));
    assert!(browser.main_text().await.contains("Entrar en Mi cuenta"));
    browser.check_page("login-es").await;
    log_in(&browser, &web, JANE, "5827").await;
    assert!(browser
        .main_text()
        .await
        .contains("El número de carné o el PIN/contraseña no es correcto."));
    browser.check_page("wrong-pin-es").await;
    log_in(&browser, &web, JANE, JANE_PIN).await;
    assert_eq!(browser.path().await, "/account");
    assert!(browser.main_text().await.contains("Mi cuenta"));
    browser.check_page("my-account-es").await;
    browser.follow("#change-pin").await;
    change(&browser, JANE_PIN, "1234", "1235").await;
    assert_eq!(
        browser.text("#new-error-1").await,
        "El PIN no puede ser una secuencia como 1234"
    );
    assert!(browser
        .text("#confirm-error-1")
        .await
        .contains("no coinciden"));
    browser.check_page("change-pin-es").await;
    change(&browser, JANE_PIN, "5827", "5827").await;
    assert!(browser.main_text().await.contains("Su PIN ha cambiado."));
    assert!(web.sip2_accepts(JANE, "5827").await);
    browser.follow("#logout").await;
    assert!(browser
        .main_text()
        .await
        .contains("Ha salido de su cuenta."));
    browser.check_page("logged-out-es").await;
    browser.close().await;
}

sip2auth::store_test_on_both_backends!(browser_main_flow_in_spanish);
