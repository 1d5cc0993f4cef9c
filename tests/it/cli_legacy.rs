//! Legacy ILS hashes through the real binary: an import of Koha, Evergreen and FOLIO hashes, a
//! SIP2 login over a real socket with the right PIN (CQ=Y) that replaces the legacy hash with an
//! argon2id one, a wrong PIN counted like any other, `patron list --legacy` and
//! `patron expire-legacy`.
//!
//! The hashes are test vectors from the reference implementations (see `src/auth/legacy.rs`).

use crate::cli_common;

use cli_common::Env;
use sip2auth::app::App;
use sip2auth::auth::Authenticator;
use sip2auth::server::Server;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "Legacy-Secret-For-Tests-42";
/// Crypt-Eksblowfish `t/bcrypt.t` (Koha's bcrypt): "U*U".
const KOHA: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
/// Evergreen's `crypt(md5(salt || md5('4931')), gen_salt('bf', 10))` (pgcrypto).
const EVERGREEN: &str = "{evergreen}$2a$10$9T0w3.1ySPJsYH6fbLNX1.qYWYNKUVwDIirEDS4WK6X3FqvWWZZaW";
/// mod-login `MongoAuthSourceTest` user jack: "BigBadWolf".
const FOLIO: &str =
    "{folio}573547B9EF48329FD2285F256C0A330C27D3D0A5:5FB532B6D2926506E3EE32EF3AA73E6B6342E9D5";

fn import_legacy(env: &Env) {
    assert_eq!(env.run(&["migrate"], None).code, 0);
    let csv = format!(
        "card,institution,family_name,pin\n\
         L0001,MAIN,Koha,{KOHA}\nL0002,MAIN,Evergreen,{EVERGREEN}\nL0003,MAIN,Folio,{FOLIO}\n"
    );
    let path = env.path("legacy.csv");
    std::fs::write(&path, csv).unwrap();
    let out = env.run(&["import", path.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        !out.all().contains("CCCCCCCC"),
        "hash echoed: {}",
        out.all()
    );
}

async fn start(env: &Env) -> (std::net::SocketAddr, CancellationToken) {
    let mut config = env.config();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    let store = env.store().await;
    let clock = sip2auth::clock::system();
    let auth = Authenticator::new(store.clone(), &config.security, clock.clone())
        .await
        .expect("authenticator");
    let app = App::with_authenticator(config, store, auth, clock);
    let server = Server::bind(app.config(), app.sip2()).await.expect("bind");
    let address = server.local_addr().expect("address");
    let shutdown = app.shutdown();
    tokio::spawn(app.run(server));
    (address, shutdown)
}

/// Logs in as the terminal, sends one 63 for `card` with `pin`, returns the 64 answer.
async fn patron_information(address: std::net::SocketAddr, card: &str, pin: &str) -> String {
    patron_information_at(address, "sc-legacy", card, pin).await
}

/// As [`patron_information`], logged in as terminal `login` (whose secret is [`SECRET`]).
async fn patron_information_at(
    address: std::net::SocketAddr,
    login: &str,
    card: &str,
    pin: &str,
) -> String {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut answer = Vec::new();
    let login = format!("9300CN{login}|CO{SECRET}|\r");
    write.write_all(login.as_bytes()).await.unwrap();
    lines.read_until(b'\r', &mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"941"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    answer.clear();
    let request = format!("6300120250101    120000          AOMAIN|AA{card}|AD{pin}|\r");
    write.write_all(request.as_bytes()).await.unwrap();
    lines.read_until(b'\r', &mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn add_terminal(env: &Env) {
    let add = env.run(
        &[
            "terminal",
            "add",
            "sc-legacy",
            "--cidr",
            "127.0.0.0/8",
            "--password-stdin",
        ],
        Some(&format!("{SECRET}\n")),
    );
    assert_eq!(add.code, 0, "{}", add.all());
}

async fn stored_pin(env: &Env, card: &str) -> (String, u32) {
    let store = env.store().await;
    let record = store.find_by_card("MAIN", card).await.unwrap().unwrap();
    let pin = record.patron.pin.expect("pin on file");
    (pin.phc, pin.key_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_koha_pin_logs_in_over_sip2_and_is_rehashed_to_argon2id() {
    let env = Env::new();
    import_legacy(&env);
    add_terminal(&env);
    let listed = env.run(&["patron", "list", "--legacy"], None);
    assert_eq!(listed.code, 0, "{}", listed.all());
    assert!(
        listed.stdout.contains("3 legacy hash(es) remain"),
        "{}",
        listed.stdout
    );
    for (card, scheme) in [
        ("L0001", "koha"),
        ("L0002", "evergreen"),
        ("L0003", "folio"),
    ] {
        assert!(
            listed
                .stdout
                .lines()
                .any(|l| l.contains(card) && l.contains(scheme)),
            "{card}: {}",
            listed.stdout
        );
    }
    assert!(stored_pin(&env, "L0001").await.0.starts_with("{koha:"));
    // explain foresees what the server does with a legacy hash: it is checked, not refused.
    let explained = env.run(&["explain", "L0001"], None);
    assert_eq!(explained.code, 0, "{}", explained.all());
    assert!(
        explained.stdout.contains("legacy ILS hash"),
        "{}",
        explained.stdout
    );
    assert!(
        !explained.stdout.contains("not configured"),
        "{}",
        explained.stdout
    );
    assert!(explained.stdout.contains("CQ=Y"), "{}", explained.stdout);

    let (address, shutdown) = start(&env).await;
    let wrong = patron_information(address, "L0001", "U*V").await;
    assert!(wrong.contains("|CQN|"), "{wrong}");
    let store = env.store().await;
    let record = store.find_by_card("MAIN", "L0001").await.unwrap().unwrap();
    assert_eq!(
        record.patron.pin_lock.failures, 1,
        "a wrong legacy PIN counts"
    );

    let answer = patron_information(address, "L0001", "U*U").await;
    assert!(answer.starts_with("64"), "{answer}");
    assert!(answer.contains("|CQY|"), "{answer}");
    let (phc, key_id) = stored_pin(&env, "L0001").await;
    assert!(phc.starts_with("$argon2id$"), "legacy hash still stored");
    assert_eq!(key_id, env.config().security.pepper.key_id);
    // The argon2id hash (with the pepper) now answers the same PIN.
    assert!(patron_information(address, "L0001", "U*U")
        .await
        .contains("|CQY|"));

    for (card, pin) in [("L0002", "4931"), ("L0003", "BigBadWolf")] {
        let answer = patron_information(address, card, pin).await;
        assert!(answer.contains("|CQY|"), "{card}: {answer}");
        assert!(
            stored_pin(&env, card).await.0.starts_with("$argon2id$"),
            "{card}"
        );
    }
    shutdown.cancel();
    let listed = env.run(&["patron", "list", "--legacy"], None);
    assert!(
        listed.stdout.contains("0 legacy hash(es) remain"),
        "{}",
        listed.stdout
    );
}

#[test]
fn expire_legacy_removes_hashes_older_than_the_limit() {
    let env = Env::new();
    import_legacy(&env);
    let young = env.run(
        &[
            "patron",
            "expire-legacy",
            "--older-than",
            "90days",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(young.code, 0, "{}", young.all());
    assert!(
        young.stdout.contains("0 legacy hash(es) removed"),
        "{}",
        young.stdout
    );
    assert!(young.stdout.contains("3 younger"), "{}", young.stdout);
    let all = env.run(
        &[
            "patron",
            "expire-legacy",
            "--older-than",
            "0s",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(all.code, 0, "{}", all.all());
    assert!(
        all.stdout.contains("3 legacy hash(es) removed"),
        "{}",
        all.stdout
    );
    let shown = env.run(&["patron", "show", "L0001"], None);
    assert!(
        shown.stdout.contains("PIN") && shown.stdout.contains("not set"),
        "{}",
        shown.stdout
    );
    let listed = env.run(&["patron", "list", "--legacy"], None);
    assert!(
        listed.stdout.contains("0 legacy hash(es) remain"),
        "{}",
        listed.stdout
    );
}

#[test]
fn a_malformed_legacy_hash_rejects_the_row_without_showing_it() {
    let env = Env::new();
    assert_eq!(env.run(&["migrate"], None).code, 0);
    let path = env.path("bad.csv");
    std::fs::write(
        &path,
        "card,institution,family_name,pin\nB1,MAIN,Bad,{folio}NOTHEX:ABCDEF0123\n",
    )
    .unwrap();
    let out = env.run(&["import", path.to_str().unwrap()], None);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("folio hash is malformed"),
        "{}",
        out.all()
    );
    assert!(!out.all().contains("NOTHEX"), "{}", out.all());
}

/// The `password` column takes an online password in clear (the password rules apply) or a
/// legacy ILS hash; a password terminal then checks it over SIP2, and the legacy one is re-hashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_column_takes_clear_and_legacy_passwords() {
    let env = Env::new();
    assert_eq!(env.run(&["migrate"], None).code, 0);
    let csv = format!(
        "card,family_name,given_names,password\n\
         P0001,Folio,Jack,{FOLIO}\nP0002,Clear,Jill,Lantern-Quiet-Harbor-71\nP0003,Weak,Joe,abc\n"
    );
    let path = env.path("passwords.csv");
    std::fs::write(&path, csv).unwrap();
    let out = env.run(&["import", path.to_str().unwrap()], None);
    assert_eq!(out.code, 5, "one row rejected: {}", out.all());
    assert!(out.all().contains("password refused"), "{}", out.all());
    for secret in ["Lantern-Quiet-Harbor-71", "abc\n", "573547B9EF48"] {
        assert!(
            !out.all().contains(secret),
            "{secret} echoed: {}",
            out.all()
        );
    }
    let stored = |card: &'static str| {
        let env = &env;
        async move {
            let store = env.store().await;
            let record = store.find_by_card("MAIN", card).await.unwrap();
            record.and_then(|r| r.patron.password).map(|h| h.phc)
        }
    };
    assert!(stored("P0001").await.unwrap().starts_with("{folio:"));
    assert!(stored("P0002").await.unwrap().starts_with("$argon2id$"));
    assert!(
        stored("P0003").await.is_none(),
        "the rejected row is not loaded"
    );
    let add = env.run(
        &[
            "terminal",
            "add",
            "pc-booking",
            "--credential",
            "password",
            "--cidr",
            "127.0.0.0/8",
            "--password-stdin",
        ],
        Some(&format!("{SECRET}\n")),
    );
    assert_eq!(add.code, 0, "{}", add.all());
    let (address, shutdown) = start(&env).await;
    for (card, password) in [
        ("P0001", "BigBadWolf"),
        ("P0002", "Lantern-Quiet-Harbor-71"),
    ] {
        let answer = patron_information_at(address, "pc-booking", card, password).await;
        assert!(answer.contains("|CQY|"), "{card}: {answer}");
    }
    assert!(
        stored("P0001").await.unwrap().starts_with("$argon2id$"),
        "the legacy password is re-hashed at its first check"
    );
    shutdown.cancel();
    // A second import never overwrites the password the patron now has.
    let before = stored("P0002").await;
    let out = env.run(&["import", path.to_str().unwrap()], None);
    assert_eq!(out.code, 5, "{}", out.all());
    assert_eq!(stored("P0002").await, before);
}
