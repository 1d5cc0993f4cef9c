//! Files with secrets or personal data: the SQLite database is created owner-only, a pepper key
//! file open to other users is refused with a message that says how to fix it, and the database
//! URL can come from a file (a systemd credential).

use std::os::unix::fs::PermissionsExt;

use crate::cli_common::Env;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_database_is_created_readable_by_its_owner_only() {
    let env = Env::without_database();
    let migrated = env.run(&["migrate"], None);
    assert_eq!(migrated.code, 0, "{}", migrated.all());
    assert_eq!(mode(&env.path("db.sqlite")), 0o600);
}

#[test]
fn a_pepper_key_open_to_other_users_is_refused() {
    let env = Env::new();
    std::fs::set_permissions(&env.pepper, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let added = env.run(&["terminal", "add", "selfcheck-1"], None);
    assert_eq!(added.code, 2, "{}", added.all());
    assert!(
        added.stderr.contains("is open to other users (mode 644)")
            && added.stderr.contains("chmod 600"),
        "{}",
        added.stderr
    );
    let listed = env.run(&["terminal", "list"], None);
    assert!(
        !listed.stdout.contains("selfcheck-1"),
        "nothing was added: {}",
        listed.all()
    );

    std::fs::set_permissions(&env.pepper, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let added = env.run(&["terminal", "add", "selfcheck-1"], None);
    assert_eq!(
        added.code,
        0,
        "group-readable (root:sip2auth 0640) is allowed: {}",
        added.all()
    );
}

#[test]
fn the_database_url_can_come_from_a_file() {
    let env = Env::without_database();
    let elsewhere = env.path("from-file.sqlite");
    let url_file = env.path("database-url");
    crate::cli_common::write_owner_only(
        &url_file,
        format!("sqlite://{}\n", elsewhere.display()).as_bytes(),
    );
    let migrated = env
        .command(&["migrate"])
        .env_remove("SIP2AUTH_DATABASE_URL")
        .env("SIP2AUTH_DATABASE_URL_FILE", &url_file)
        .output()
        .expect("runs");
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(elsewhere.exists(), "the URL in the file was used");
    assert!(!env.path("db.sqlite").exists());

    let missing = env
        .command(&["migrate"])
        .env_remove("SIP2AUTH_DATABASE_URL")
        .env("SIP2AUTH_DATABASE_URL_FILE", env.path("no-such-file"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read the database URL from"),
        "{stderr}"
    );
}
