//! `sip2auth probe` against the real SIP2 server (started in-process on 127.0.0.1:0 with the
//! same temporary database), with the terminal and patron created through the real binary.

use crate::cli_common;

use std::time::{Duration, Instant};

use cli_common::Env;
use sip2auth::app::App;
use sip2auth::server::Server;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "Probe-Secret-For-Tests-42";

async fn start(env: &Env) -> (std::net::SocketAddr, CancellationToken) {
    let mut config = env.config();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    let store = env.store().await;
    let clock = sip2auth::clock::system();
    let app = App::build(config, store, clock)
        .await
        .expect("authenticator");
    let server = Server::bind(app.config(), app.sip2()).await.expect("bind");
    let address = server.local_addr().expect("address");
    let shutdown = app.shutdown();
    tokio::spawn(app.run(server));
    (address, shutdown)
}

async fn run(env: &Env, args: Vec<String>, stdin: String) -> cli_common::Out {
    let env_args: Vec<String> = args;
    let dir = env.dir.path().to_owned();
    let config = env.config.clone();
    let pepper = env.pepper.clone();
    tokio::task::spawn_blocking(move || {
        let env = Env {
            dir: tempfile::tempdir_in(dir).unwrap(),
            config,
            pepper,
        };
        let refs: Vec<&str> = env_args.iter().map(String::as_str).collect();
        env.run(&refs, Some(&stdin))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_logs_in_checks_status_and_a_patron_field_by_field() {
    let env = Env::new();
    let add = env.run(
        &[
            "terminal",
            "add",
            "sc-probe",
            "--cidr",
            "127.0.0.0/8",
            "--password-stdin",
        ],
        Some(&format!("{SECRET}\n")),
    );
    assert_eq!(add.code, 0, "{}", add.all());
    let patron = env.run(
        &[
            "patron",
            "add",
            "21000777",
            "--family-name",
            "Okafor",
            "--pin-stdin",
        ],
        Some("4931\n"),
    );
    assert_eq!(patron.code, 0, "{}", patron.all());
    let (address, shutdown) = start(&env).await;
    let address = address.to_string();
    let base = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "probe",
            address.as_str(),
            "--login",
            "sc-probe",
            "--password-stdin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let good = run(
        &env,
        base(&["--patron", "21000777", "--pin-stdin"]),
        format!("{SECRET}\n4931\n"),
    )
    .await;
    assert_eq!(good.code, 0, "{}", good.all());
    for field in [
        "ok",
        "on-line status",
        "AO institution id",
        "BL valid patron",
        "CQ valid patron password",
        "AE personal name",
        "probe: ok",
    ] {
        assert!(
            good.stdout.contains(field),
            "{field} missing:\n{}",
            good.stdout
        );
    }
    assert!(
        !good.all().contains(SECRET) && !good.all().contains("4931"),
        "secret echoed"
    );
    let wrong_pin = run(
        &env,
        base(&["--patron", "21000777", "--pin-stdin"]),
        format!("{SECRET}\n2749\n"),
    )
    .await;
    assert_eq!(wrong_pin.code, 1, "{}", wrong_pin.all());
    let checksums = run(
        &env,
        base(&["--checksums", "--terminator", "crlf"]),
        format!("{SECRET}\n"),
    )
    .await;
    assert_eq!(checksums.code, 0, "{}", checksums.all());
    let wrong_secret = run(&env, base(&[]), "Not-The-Right-Secret-1\n".to_string()).await;
    assert_eq!(wrong_secret.code, 1, "{}", wrong_secret.all());
    assert!(
        wrong_secret.stderr.contains("login refused"),
        "{}",
        wrong_secret.stderr
    );
    shutdown.cancel();
}

#[tokio::test]
async fn probe_fails_fast_with_a_bounded_timeout_when_nothing_answers() {
    let env = Env::new();
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let out = run(
        &env,
        vec!["probe".into(), address, "--timeout".into(), "500ms".into()],
        String::new(),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("no answer within"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_unreachable_server_exits_3_and_says_what_to_check() {
    let env = Env::new();
    // A port that was just free: nothing listens on it.
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let out = run(&env, vec!["probe".into(), address], String::new()).await;
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.stderr.contains("cannot connect"), "{}", out.stderr);
    assert!(out.stderr.contains("HOST:PORT"), "{}", out.stderr);
}
