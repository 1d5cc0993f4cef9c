//! `sip2auth explain` through the real binary: standing, flags, lock and PIN state, no secrets.

use crate::cli_common;

use cli_common::Env;
use sip2auth::store::LockPolicy;

fn import_fixture(env: &Env) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/patrons.csv");
    let out = env.run(&["import", fixture, "--progress", "none"], None);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test]
async fn explain_reports_standing_pin_and_lock_without_secrets() {
    let env = Env::new();
    import_fixture(&env);
    // Line 2: active, PIN set.
    let good = env.run(&["explain", "21000100"], None);
    assert_eq!(good.code, 0, "{}", good.all());
    assert!(good.stdout.contains("BL=Y, CQ=Y"), "{}", good.stdout);
    assert!(!good.all().contains("$argon2") && !good.all().contains("4931"));
    // Blocked (fixture row 4) and no-PIN (row 8) patrons.
    let blocked = env.run(&["explain", "21000121"], None);
    assert!(
        blocked.stdout.contains("blocked (address unknown)"),
        "{}",
        blocked.stdout
    );
    let no_pin = env.run(&["explain", "21000149"], None);
    assert!(
        no_pin.stdout.contains("no PIN on file"),
        "{}",
        no_pin.stdout
    );
    // Expired registration (row 5).
    let expired = env.run(&["explain", "21000128"], None);
    assert!(
        expired.stdout.contains("expired on 2024-12-31"),
        "{}",
        expired.stdout
    );
    // Lock the account through the store, as 10 wrong PINs would.
    let store = env.store().await;
    let id = store
        .find_by_card("MAIN", "21000100")
        .await
        .unwrap()
        .unwrap()
        .patron
        .id;
    let policy = LockPolicy {
        temp_threshold: 0,
        temp_lock: chrono::Duration::minutes(15),
        hard_threshold: 10,
    };
    for _ in 0..10 {
        store
            .reserve_pin_attempt(id, chrono::Utc::now(), &policy)
            .await
            .unwrap();
    }
    let locked = env.run(&["explain", "21000100"], None);
    assert!(locked.stdout.contains("hard-locked"), "{}", locked.stdout);
    assert!(
        locked.stdout.contains("CQ) ") || locked.stdout.contains("N: refused"),
        "{}",
        locked.stdout
    );
    // Staff reset clears it and issues a one-time PIN.
    assert_eq!(env.run(&["patron", "reset-pin", "21000100"], None).code, 0);
    let reset = env.run(&["explain", "21000100", "--terminal", "nosuch"], None);
    assert_eq!(reset.code, 4, "unknown terminal: {}", reset.all());
    assert_eq!(
        env.run(
            &["terminal", "add", "sc1", "--credential", "password"],
            None
        )
        .code,
        0
    );
    let as_terminal = env.run(&["explain", "21000100", "--terminal", "sc1"], None);
    assert!(
        as_terminal.stdout.contains("must be changed"),
        "{}",
        as_terminal.stdout
    );
    assert!(
        as_terminal.stdout.contains("online password"),
        "{}",
        as_terminal.stdout
    );
    let unknown = env.run(&["explain", "99999999"], None);
    assert_eq!(unknown.code, 4);
    assert!(unknown.stdout.contains("BL=N"));
}

#[test]
fn explain_keeps_the_sign_of_a_credit_balance() {
    let env = Env::new();
    let file = env.path("credit.csv");
    std::fs::write(
        &file,
        "card,institution,family_name,fines,fine_limit,currency\n\
         21000777,MAIN,Credit,-0.50,5.00,EUR\n",
    )
    .expect("write the import file");
    let out = env.run(
        &["import", file.to_str().unwrap(), "--progress", "none"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let explained = env.run(&["explain", "21000777"], None);
    assert_eq!(explained.code, 0, "{}", explained.all());
    assert!(
        explained.stdout.contains("owes -0.50 EUR (limit 5.00 EUR)"),
        "{}",
        explained.stdout
    );
    let show = env.run(&["patron", "show", "21000777"], None);
    assert!(show.stdout.contains("-0.50 EUR"), "{}", show.stdout);
}
