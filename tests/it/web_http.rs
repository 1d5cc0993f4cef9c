//! The patron pages over real HTTP against the real application (SIP2 and web in one app), on
//! both backends: cookies and headers (SECURITY.md §2 item 34), CSRF and origin checks, rate
//! limits, bad input, sessions (rotation, epoch, idle and absolute lifetimes), the one lock
//! counter shared with SIP2, and a PIN changed on the web answering over SIP2 at once.

use chrono::Duration;
use sip2auth::store::Backend;

use crate::support::web::{start_web, web_config, Visitor, WebTest};

const JANE: &str = "21234000012345";
const JANE_PIN: &str = "4931";
const LOCKE: &str = "21234000077777";
const LOCKE_PIN: &str = "7264";
const NEWMAN: &str = "21234000066666";
const NEWMAN_DEFAULT_PIN: &str = "8042";
const NOPIN: &str = "21234000088888";
const NEUTRAL: &str = "The card number or the PIN/password is not right.";

async fn logged_in(web: &WebTest, card: &str, pin: &str) -> Visitor {
    let mut visitor = web.visitor();
    let answer = visitor.log_in(card, pin).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    visitor
}

async fn cookies_and_headers_follow_the_policy(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut visitor = web.visitor();
    let form = visitor.get("/login").await;
    let csp = form.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(form.header("referrer-policy"), "no-referrer");
    assert_eq!(form.header("cache-control"), "no-store");
    assert!(form
        .body
        .contains(r#"autocomplete="username" inputmode="numeric""#));
    assert!(!form.body.contains("type=\"number\""));

    let answer = visitor.log_in(JANE, JANE_PIN).await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location(), "/account");
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sip2auth-session="))
        .expect("a session cookie");
    assert!(
        session.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http: {session}");

    let account = visitor.get("/account").await;
    assert_eq!(account.status, 200);
    assert_eq!(account.header("cache-control"), "no-store");
    assert!(account.body.contains("Doe, Jane"));
    assert!(account.body.contains("••••••••••2345"));
    assert!(!account.body.contains(JANE), "the card is masked");

    // Session fixation: a planted session id is never adopted; log-in makes a new one.
    let planted = "a".repeat(64);
    let mut fixated = web.visitor();
    fixated
        .cookies
        .insert("sip2auth-session".into(), planted.clone());
    assert_eq!(fixated.log_in(JANE, JANE_PIN).await.status, 303);
    let made = fixated.session_cookie().expect("session");
    assert_ne!(made, planted);
    assert_ne!(made, visitor.session_cookie().expect("session"));

    let well_known = visitor.get("/.well-known/change-password").await;
    assert!(well_known.status.is_redirection());
    assert_eq!(well_known.location(), "/change-password");
}

async fn https_public_url_gives_host_prefixed_secure_cookies(backend: Backend) {
    let mut config = web_config();
    config.web.public_url = "https://account.example.org".into();
    let web = start_web(backend, config).await;
    let mut visitor = web.visitor();
    assert_eq!(visitor.origin, "https://account.example.org");
    let form = visitor.get("/login").await;
    assert!(form
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("__Host-sip2auth-login=") && c.contains("; Secure")));
    let answer = visitor.log_in(JANE, JANE_PIN).await;
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-sip2auth-session="))
        .expect("a __Host- session cookie");
    assert!(
        session.ends_with("; Path=/; HttpOnly; SameSite=Lax; Secure"),
        "{session}"
    );
    assert!(!session.contains("Domain"), "{session}");
}

async fn every_form_refuses_a_missing_or_wrong_csrf_token(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut visitor = web.visitor();
    let form = visitor.get("/login").await;
    let token = form.csrf();
    for csrf in [None, Some("0".repeat(64))] {
        let mut fields = vec![("card", JANE), ("secret", JANE_PIN)];
        if let Some(csrf) = &csrf {
            fields.push(("csrf", csrf));
        }
        let answer = visitor.post("/login", &fields).await;
        assert_eq!(answer.status, 403, "log-in with csrf {csrf:?}");
        assert!(visitor.session_cookie().is_none());
    }
    // The token without its cookie is refused too (double submit).
    let mut stranger = web.visitor();
    let answer = stranger
        .post(
            "/login",
            &[("csrf", &token), ("card", JANE), ("secret", JANE_PIN)],
        )
        .await;
    assert_eq!(answer.status, 403);

    let mut patron = logged_in(&web, JANE, JANE_PIN).await;
    let forms: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/change-pin",
            vec![("old", JANE_PIN), ("new", "5827"), ("confirm", "5827")],
        ),
        (
            "/change-password",
            vec![
                ("old", JANE_PIN),
                ("new", "Tr4vel!Books"),
                ("confirm", "Tr4vel!Books"),
            ],
        ),
        ("/sessions/end-others", vec![]),
        ("/logout", vec![]),
    ];
    let wrong = "f".repeat(64);
    for (path, fields) in &forms {
        for csrf in [None, Some(wrong.as_str())] {
            let mut sent = fields.clone();
            if let Some(csrf) = csrf {
                sent.push(("csrf", csrf));
            }
            let answer = patron.post(path, &sent).await;
            assert_eq!(answer.status, 403, "{path} with csrf {csrf:?}");
        }
    }
    // Nothing happened: still logged in, and the PIN is unchanged.
    assert_eq!(patron.get("/account").await.status, 200);
    assert!(web.sip2_accepts(JANE, JANE_PIN).await);
}

async fn a_post_from_another_site_is_refused(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut patron = logged_in(&web, JANE, JANE_PIN).await;
    let csrf = patron.session_csrf("/account").await;
    let body = format!("csrf={csrf}").into_bytes();
    let foreign = patron
        .post_raw(
            "/logout",
            body.clone(),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, 403);
    let cross = patron
        .post_raw(
            "/logout",
            body.clone(),
            &[("origin", ""), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(patron.get("/account").await.status, 200, "still logged in");
    let own = patron.post_raw("/logout", body, &[]).await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("You are logged out"));
    assert_eq!(patron.get("/account").await.location(), "/login");
}

async fn bad_input_gets_a_clear_4xx_and_changes_nothing(backend: Backend) {
    let mut config = web_config();
    config.web.max_body_bytes = 2048;
    let web = start_web(backend, config).await;
    let mut visitor = web.visitor();
    let csrf = visitor.get("/login").await.csrf();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            format!("csrf={csrf}&card={JANE}&secret={}", "9".repeat(4096)).into_bytes(),
            413,
            "too large",
        ),
        (
            [
                format!("csrf={csrf}&card=2123").as_bytes(),
                b"\xff&secret=1",
            ]
            .concat(),
            400,
            "raw invalid UTF-8",
        ),
        (
            format!("csrf={csrf}&card=%ff%fe&secret=1").into_bytes(),
            400,
            "percent-encoded invalid UTF-8",
        ),
        (
            format!("csrf={csrf}&card={JANE}").into_bytes(),
            400,
            "missing secret",
        ),
        (
            format!("csrf={csrf}&card=2123|AD1234&secret={JANE_PIN}").into_bytes(),
            400,
            "a card with |",
        ),
        (
            format!("csrf={csrf}&card=2123%01456&secret={JANE_PIN}").into_bytes(),
            400,
            "a card with a control character",
        ),
    ];
    for (body, status, what) in cases {
        let answer = visitor.post_raw("/login", body, &[]).await;
        assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.body);
        assert!(
            answer.header("content-type").starts_with("text/html"),
            "{what}"
        );
        assert!(!answer.body.contains("panicked") && !answer.body.contains("at src/"));
        assert!(visitor.session_cookie().is_none(), "{what}");
    }
    // Nothing was counted against Jane: five wrong PINs would lock, one correct one works.
    let record = web
        .server
        .store
        .find_by_card("MAIN", JANE)
        .await
        .expect("lookup")
        .expect("Jane");
    assert_eq!(record.patron.pin_lock.failures, 0);
    let answer = visitor.log_in(JANE, JANE_PIN).await;
    assert_eq!(answer.status, 303);
    // An unknown page is a 404 page, not an error.
    assert_eq!(visitor.get("/no/such/page").await.status, 404);
}

async fn unknown_card_wrong_pin_and_no_pin_get_one_neutral_message(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut pages = Vec::new();
    for (card, secret) in [(JANE, "5827"), ("21234000099999", "5827"), (NOPIN, "5827")] {
        let mut visitor = web.visitor();
        let answer = visitor.log_in(card, secret).await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains(NEUTRAL), "{card}");
        assert!(answer.body.contains("aria-invalid=\"true\""));
        let csrf = answer.csrf();
        pages.push(answer.body.replace(&csrf, "").replace(card, ""));
    }
    assert_eq!(pages[0], pages[1], "unknown card looks like a wrong PIN");
    // And costs the same: an unknown card is checked against the dummy hash.
    let before = web.server.auth.pool_counts();
    web.visitor().log_in("21234000099998", "5827").await;
    let after = web.server.auth.pool_counts();
    assert_eq!(after.dummy_verifications, before.dummy_verifications + 1);
    assert_eq!(after.verifications, before.verifications);
    assert_eq!(pages[0], pages[2], "no PIN on file looks like a wrong PIN");
}

async fn wrong_web_pins_lock_the_account_for_sip2_too(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    for _ in 0..5 {
        let mut visitor = web.visitor();
        let answer = visitor.log_in(LOCKE, "5827").await;
        assert!(answer.body.contains(NEUTRAL));
    }
    let mut visitor = web.visitor();
    let locked = visitor.log_in(LOCKE, LOCKE_PIN).await;
    assert_eq!(locked.status, 200);
    assert!(
        locked.body.contains("locked until 2025-03-14 09:45 UTC"),
        "{}",
        locked.body
    );
    assert!(visitor.session_cookie().is_none());
    assert!(
        !web.sip2_accepts(LOCKE, LOCKE_PIN).await,
        "one counter: SIP2 refuses"
    );
    web.server.clock.advance(Duration::minutes(16));
    assert!(web.sip2_accepts(LOCKE, LOCKE_PIN).await, "the lock lifts");
    assert_eq!(web.visitor().log_in(LOCKE, LOCKE_PIN).await.status, 303);
}

async fn log_in_rate_limits_answer_429_with_retry_after(backend: Backend) {
    let mut config = web_config();
    config.web.login_attempts_per_card = 3;
    config.web.login_attempts_per_address = 6;
    let web = start_web(backend, config).await;
    for _ in 0..3 {
        assert_eq!(web.visitor().log_in(JANE, "5827").await.status, 200);
    }
    let limited = web.visitor().log_in(JANE, JANE_PIN).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let wait: i64 = limited.header("retry-after").parse().expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    // Other cards go on, until the address's own limit.
    assert_eq!(web.visitor().log_in(LOCKE, LOCKE_PIN).await.status, 303);
    assert_eq!(web.visitor().log_in(NOPIN, "5827").await.status, 200);
    let by_address = web.visitor().log_in(NEWMAN, NEWMAN_DEFAULT_PIN).await;
    assert_eq!(by_address.status, 429);
    assert!(!by_address.header("retry-after").is_empty());
    web.server.clock.advance(Duration::minutes(15));
    assert_eq!(web.visitor().log_in(JANE, JANE_PIN).await.status, 303);
}

async fn a_pin_changed_on_the_web_works_over_sip2_at_once(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut patron = logged_in(&web, JANE, JANE_PIN).await;
    let refused = patron.change_pin(JANE_PIN, "1234", "1235").await;
    assert_eq!(refused.status, 200);
    for sentence in [
        "PIN cannot be a sequence like 1234",
        "PIN is one of the most commonly used PINs",
        "The two entries are not the same.",
    ] {
        assert!(refused.body.contains(sentence), "{sentence}");
    }
    assert!(
        refused.body.contains(r##"<a href="#new">"##),
        "summary links the field"
    );
    assert!(refused
        .body
        .contains(r#"aria-describedby="new-hint new-error-1 new-error-2""#));
    let wrong_old = patron.change_pin("5555", "5827", "5827").await;
    assert!(wrong_old.body.contains("This is not your current one."));
    assert!(
        web.sip2_accepts(JANE, JANE_PIN).await,
        "nothing changed yet"
    );

    let before = patron.session_cookie().expect("session");
    let changed = patron.change_pin(JANE_PIN, "5827", "5827").await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(changed.location(), "/account?changed=pin");
    assert_ne!(patron.session_cookie().expect("session"), before, "new id");
    assert!(patron
        .get("/account?changed=pin")
        .await
        .body
        .contains("Your PIN is changed."));
    assert!(web.sip2_accepts(JANE, "5827").await, "the new PIN at once");
    assert!(!web.sip2_accepts(JANE, JANE_PIN).await, "the old one fails");
    let audit = web
        .server
        .store
        .list_audit(&Default::default())
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.entry.action == "pin_set"
        && e.entry.actor == "patron:web"
        && e.entry.outcome == "ok"));
}

async fn a_credential_change_ends_every_other_session(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut phone = logged_in(&web, JANE, JANE_PIN).await;
    let mut library_pc = logged_in(&web, JANE, JANE_PIN).await;
    let stale = library_pc.cookies.clone();
    let account = library_pc.get("/account").await;
    assert_eq!(
        account.body.matches("<li>").count(),
        2,
        "two sessions listed"
    );
    let csrf = library_pc.session_csrf("/change-password").await;
    let changed = library_pc
        .post(
            "/change-password",
            &[
                ("csrf", &csrf),
                ("old", JANE_PIN),
                ("new", "Tr4vel!Books"),
                ("confirm", "Tr4vel!Books"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let ended = phone.get("/account").await;
    assert_eq!(ended.location(), "/login?ended=1");
    assert_eq!(library_pc.get("/account").await.status, 200);
    let mut old_cookie = web.visitor();
    old_cookie.cookies = stale;
    assert_eq!(
        old_cookie.get("/account").await.location(),
        "/login?ended=1"
    );
    // The password now logs in; it must differ from the PIN.
    assert_eq!(web.visitor().log_in(JANE, "Tr4vel!Books").await.status, 303);
    let csrf = library_pc.session_csrf("/change-password").await;
    let same_as_pin = library_pc
        .post(
            "/change-password",
            &[
                ("csrf", &csrf),
                ("old", "Tr4vel!Books"),
                ("new", JANE_PIN),
                ("confirm", JANE_PIN),
            ],
        )
        .await;
    assert_eq!(same_as_pin.status, 200);
    assert!(
        same_as_pin.body.contains("field-error"),
        "{}",
        same_as_pin.body
    );
}

async fn sign_out_everywhere_else_ends_only_the_others(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut first = logged_in(&web, JANE, JANE_PIN).await;
    let mut second = logged_in(&web, JANE, JANE_PIN).await;
    let csrf = second.session_csrf("/account").await;
    let answer = second
        .post("/sessions/end-others", &[("csrf", &csrf)])
        .await;
    assert_eq!(answer.location(), "/account?ended=1");
    assert_eq!(second.get("/account").await.status, 200);
    assert_eq!(first.get("/account").await.location(), "/login?ended=1");
}

async fn idle_and_absolute_lifetimes_end_a_session(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut idle = logged_in(&web, JANE, JANE_PIN).await;
    let mut busy = logged_in(&web, LOCKE, LOCKE_PIN).await;
    web.server.clock.advance(Duration::minutes(14));
    assert_eq!(
        idle.get("/account").await.status,
        200,
        "14 minutes idle is fine"
    );
    assert_eq!(busy.get("/account").await.status, 200);
    web.server.clock.advance(Duration::minutes(16));
    assert_eq!(idle.get("/account").await.location(), "/login?ended=1");
    let notice = idle.get("/login?ended=1").await;
    assert!(notice.body.contains("Your session ended"));
    // Active every 10 minutes, the session still ends 8 hours after log-in.
    let mut busy = logged_in(&web, LOCKE, LOCKE_PIN).await;
    for _ in 0..47 {
        web.server.clock.advance(Duration::minutes(10));
        assert_eq!(busy.get("/account").await.status, 200);
    }
    web.server.clock.advance(Duration::minutes(10));
    assert_eq!(busy.get("/account").await.location(), "/login?ended=1");
}

async fn a_default_pin_leads_only_to_the_change_page(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut patron = web.visitor();
    let answer = patron.log_in(NEWMAN, NEWMAN_DEFAULT_PIN).await;
    assert_eq!(answer.location(), "/change-pin");
    assert_eq!(patron.get("/account").await.location(), "/change-pin");
    assert_eq!(
        patron.get("/change-password").await.location(),
        "/change-pin"
    );
    let page = patron.get("/change-pin").await;
    assert!(page.body.contains("Your PIN is temporary."));
    assert!(page.body.contains(r#"value="21234000066666" readonly"#));
    let same = patron
        .change_pin(NEWMAN_DEFAULT_PIN, NEWMAN_DEFAULT_PIN, NEWMAN_DEFAULT_PIN)
        .await;
    assert_eq!(same.status, 200);
    assert!(same.body.contains("field-error"));
    let changed = patron.change_pin(NEWMAN_DEFAULT_PIN, "5827", "5827").await;
    assert_eq!(changed.location(), "/account?changed=pin");
    let account = patron.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("PIN: set"));
    assert!(web.sip2_accepts(NEWMAN, "5827").await);
}

sip2auth::store_test_on_both_backends!(
    cookies_and_headers_follow_the_policy,
    https_public_url_gives_host_prefixed_secure_cookies,
    every_form_refuses_a_missing_or_wrong_csrf_token,
    a_post_from_another_site_is_refused,
    bad_input_gets_a_clear_4xx_and_changes_nothing,
    unknown_card_wrong_pin_and_no_pin_get_one_neutral_message,
    wrong_web_pins_lock_the_account_for_sip2_too,
    log_in_rate_limits_answer_429_with_retry_after,
    a_pin_changed_on_the_web_works_over_sip2_at_once,
    a_credential_change_ends_every_other_session,
    sign_out_everywhere_else_ends_only_the_others,
    idle_and_absolute_lifetimes_end_a_session,
    a_default_pin_leads_only_to_the_change_page,
);

async fn the_pages_follow_accept_language_and_the_switch_on_every_page(backend: Backend) {
    let web = start_web(backend, web_config()).await;
    let mut visitor = web.visitor();
    let english = visitor.get("/login").await;
    assert!(english.body.contains(r#"<html lang="en">"#));
    assert!(english
        .body
        .contains(r#"href="/login?lang=es" lang="es" hreflang="es">Español</a>"#));
    let spanish = visitor
        .get_with("/login", &[("accept-language", "es-MX,es;q=0.9,en;q=0.4")])
        .await;
    assert!(spanish.body.contains(r#"<html lang="es">"#));
    assert!(spanish.body.contains("Entrar en Mi cuenta"));
    // A choice on the page wins over Accept-Language, and is remembered.
    let chosen = visitor
        .get_with("/login?lang=en", &[("accept-language", "es")])
        .await;
    assert!(chosen.body.contains("Log in to My Account"));
    assert!(chosen
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("sip2auth-lang=en;")));
    let remembered = visitor
        .get_with("/login", &[("accept-language", "es")])
        .await;
    assert!(remembered.body.contains("Log in to My Account"));
    // In Spanish, rule refusals are Spanish too, each at its field.
    visitor.get("/login?lang=es").await;
    assert_eq!(visitor.log_in(JANE, JANE_PIN).await.status, 303);
    let account = visitor.get("/account").await;
    assert!(account.body.contains("Mi cuenta") && account.body.contains("Buena:"));
    assert!(account.body.contains(r#"href="/account?lang=en""#));
    let refused = visitor.change_pin(JANE_PIN, "1234", "1234").await;
    assert!(
        refused
            .body
            .contains("El PIN no puede ser una secuencia como 1234"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("El PIN es uno de los más usados"));
}

sip2auth::store_test_on_both_backends!(
    the_pages_follow_accept_language_and_the_switch_on_every_page
);

async fn wrong_online_passwords_lock_the_password_only(backend: Backend) {
    let mut config = web_config();
    config.web.login_attempts_per_card = 100;
    let web = start_web(backend, config).await;
    let mut patron = logged_in(&web, JANE, JANE_PIN).await;
    let csrf = patron.session_csrf("/change-password").await;
    let set = patron
        .post(
            "/change-password",
            &[
                ("csrf", &csrf),
                ("old", JANE_PIN),
                ("new", "Tr4vel!Books"),
                ("confirm", "Tr4vel!Books"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    for _ in 0..10 {
        let wrong = web.visitor().log_in(JANE, "Wr0ng!Guess").await;
        assert!(wrong.body.contains(NEUTRAL));
    }
    let locked = web.visitor().log_in(JANE, "Tr4vel!Books").await;
    assert!(locked.body.contains("locked until"), "{}", locked.body);
    // Its own counter: the PIN still logs in, on the web and over SIP2.
    assert_eq!(web.visitor().log_in(JANE, JANE_PIN).await.status, 303);
    assert!(web.sip2_accepts(JANE, JANE_PIN).await);
}

sip2auth::store_test_on_both_backends!(wrong_online_passwords_lock_the_password_only);
