//! `sip2auth api-key …` through the real binary: a key is shown once and stored only as a
//! digest, listed with its scope and last use, audited on add and revoke, refused once revoked;
//! the same keys as the admin API checks them (through the library).

use sip2auth::accounts::api_key::ApiScope;
use sip2auth::accounts::Accounts;

use crate::cli_common::Env;

fn key_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .expect("key line")
        .trim()
        .to_owned()
}

async fn accounts(env: &Env) -> Accounts {
    Accounts::new(env.store().await, &env.config(), sip2auth::clock::system())
        .await
        .expect("accounts")
}

/// Every byte of the SQLite database and its WAL, as text.
fn database_bytes(env: &Env) -> String {
    ["db.sqlite", "db.sqlite-wal"]
        .iter()
        .filter_map(|name| std::fs::read(env.path(name)).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

#[tokio::test]
async fn a_key_is_shown_once_stored_as_a_digest_and_listed_with_its_last_use() {
    let env = Env::new();
    let out = env.run(&["api-key", "add", "ils-sync", "--scope", "write"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let key = key_of(&out.stdout);
    assert!(
        key.starts_with("s2a_") && key.len() == 4 + 64,
        "256 bits in hex: {key}"
    );
    assert!(out.stdout.contains("shown once"), "{}", out.stdout);
    let list = env.run(&["api-key", "list"], None);
    assert_eq!(list.code, 0, "{}", list.all());
    assert!(!list.all().contains(&key), "key shown again");
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("ils-sync"))
        .expect("listed");
    assert!(row.contains("write") && row.ends_with("never"), "{row}");
    assert!(
        !database_bytes(&env).contains(&key[4..]),
        "the key itself is not stored"
    );

    let accounts = accounts(&env).await;
    let found = accounts
        .authenticate_api_key(&key)
        .await
        .unwrap()
        .expect("a known key");
    assert_eq!(
        (found.name.as_str(), found.scope),
        ("ils-sync", ApiScope::Write)
    );
    let mut wrong = key.clone();
    wrong.replace_range(10..11, if &key[10..11] == "0" { "1" } else { "0" });
    assert_eq!(accounts.authenticate_api_key(&wrong).await.unwrap(), None);
    assert_eq!(accounts.authenticate_api_key("").await.unwrap(), None);
    let list = env.run(&["api-key", "list"], None);
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("ils-sync"))
        .expect("listed");
    assert!(
        !row.ends_with("never") && row.ends_with("UTC"),
        "last use shown: {row}"
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_and_both_changes_are_audited() {
    let env = Env::new();
    let out = env.run(
        &[
            "api-key",
            "add",
            "nightly",
            "--scope",
            "read",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let key = key_of(&out.stdout);
    let again = env.run(&["api-key", "add", "nightly", "--scope", "admin"], None);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("already exists"), "{}", again.all());
    let revoke = env.run(&["api-key", "revoke", "nightly", "--operator", "bob"], None);
    assert_eq!(revoke.code, 0, "{}", revoke.all());
    let accounts = accounts(&env).await;
    assert_eq!(accounts.authenticate_api_key(&key).await.unwrap(), None);
    let list = env.run(&["api-key", "list"], None);
    assert!(!list.stdout.contains("nightly"), "{}", list.stdout);
    let twice = env.run(&["api-key", "revoke", "nightly", "--operator", "bob"], None);
    assert_ne!(twice.code, 0);
    assert!(twice.stderr.contains("not found"), "{}", twice.all());
    let audit = env.run(&["audit", "--json"], None);
    assert!(!audit.all().contains(&key[4..]), "no key in the audit log");
    let lines: Vec<&str> = audit.stdout.lines().collect();
    let added = lines
        .iter()
        .find(|l| l.contains("api_key_add"))
        .expect("add audited");
    assert!(
        added.contains("staff:alice") && added.contains("scope=read"),
        "{added}"
    );
    let revoked = lines
        .iter()
        .find(|l| l.contains("api_key_revoke"))
        .expect("revoke audited");
    assert!(
        revoked.contains("staff:bob") && revoked.contains("nightly"),
        "{revoked}"
    );
}

#[test]
fn a_bad_scope_or_name_is_refused_with_a_clear_message() {
    let env = Env::new();
    let out = env.run(&["api-key", "add", "x", "--scope", "root"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("read") && out.stderr.contains("admin"),
        "{}",
        out.all()
    );
    let out = env.run(&["api-key", "add", "two words", "--scope", "read"], None);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("API key name"), "{}", out.all());
}
