//! The SIP2 relay against a real, independent SIP2 server as the upstream ILS: pysip2's
//! `SIP2Server` from PyPI (tests/peers/ils_upstream.py, in the venv scripts/python-peers.sh
//! prepares), which prints every message it receives (code, whether it carried AD and a
//! trailer, never a value). The terminal `sc_user` is relayed to it; its sessions are driven
//! over a real socket.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sip2auth::auth::{
    upstream_password_record, ErrorDetection, PatronMode, SealPurpose, SealedPassword, Terminal,
    Upstream,
};
use sip2auth::sip2::RequestSet;
use sip2auth::store::{Backend, CredentialHash, NewPatron};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support;
use crate::support::logs::captured;
use crate::support::tls::{peer_script, peers_python};
use crate::support::world::{self, SC_USER_LOGIN, SC_USER_PASSWORD};
use crate::support::{seal, start, Client, TestServer};

const UPSTREAM_LOGIN: &str = "relay-sc01";
const UPSTREAM_PASSWORD: &str = "ils-pass-Hq8Lw2Zr";
/// A patron of the test's own with a PIN no log line can hold by chance (timestamps, latencies).
const CARD: &str = "21234000010101";
const PIN: &str = "5819273640";
const LOCK_CARD: &str = "21234000077777";
const LOCK_PIN: &str = "7264";

/// The upstream ILS process and what it printed.
struct Ils {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Ils {
    async fn start(port: u16, idle_timeout: Option<f64>) -> Ils {
        let mut command = Command::new(peers_python());
        command
            .arg(peer_script("ils_upstream.py"))
            .arg(port.to_string())
            .arg(UPSTREAM_LOGIN)
            .arg(UPSTREAM_PASSWORD);
        if let Some(idle) = idle_timeout {
            command.arg(idle.to_string());
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the upstream ILS starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .expect("the ILS listens in time")
            .expect("read")
            .expect("a line");
        let port = first
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a port line: {first}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                sink.lock().expect("lines").push(line);
            }
        });
        Ils { child, port, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    fn received(&self, code: &str) -> Vec<String> {
        let prefix = format!("recv {code} ");
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Relays `sc_user` to `ils` (any message allowed by default), with `change` applied.
async fn relay_sc_user(server: &TestServer, ils: &Ils, change: impl FnOnce(&mut Upstream)) {
    relay_terminal(server, "sc_user", ils.port, UPSTREAM_PASSWORD, change).await;
}

async fn relay_terminal(
    server: &TestServer,
    login: &str,
    port: u16,
    password: &str,
    change: impl FnOnce(&mut Upstream),
) {
    let row = server
        .store
        .terminal_by_login(login)
        .await
        .expect("read")
        .expect("the terminal");
    let terminal = Terminal::from_row(row).expect("typed");
    let mut upstream = Upstream::new(format!("127.0.0.1:{port}"), UPSTREAM_LOGIN);
    upstream.password = Some(SealedPassword(server.auth.sealer().seal(
        SealPurpose::UpstreamPassword,
        &upstream_password_record(terminal.id),
        password.as_bytes(),
    )));
    change(&mut upstream);
    let mut settings = terminal.settings.clone();
    settings.allowed_messages = RequestSet::default();
    settings.upstream = Some(upstream);
    server
        .store
        .update_terminal(terminal.id, &settings.columns())
        .await
        .expect("relayed");
}

/// Adds the patron `CARD` with `PIN` (a copy of Jane's details).
async fn add_patron(server: &TestServer) {
    let details = server
        .store
        .find_by_card("MAIN", "21234000012345")
        .await
        .expect("lookup")
        .expect("Jane")
        .patron
        .details;
    let hashed = world::hasher(&support::test_config())
        .hash(PIN.as_bytes())
        .expect("hash");
    let patron = NewPatron {
        institution: "MAIN".into(),
        card_number: CARD.into(),
        details,
        pin: Some(CredentialHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
            must_change: false,
            default_expires_at: None,
        }),
        password: None,
    };
    server.store.create_patron(&patron).await.expect("patron");
}

async fn logged_in(server: &TestServer) -> Client {
    let mut client = server.client().await;
    assert_eq!(client.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    client
}

/// `answer` carries a valid downstream trailer with sequence `seq`.
fn assert_sealed(answer: &str, seq: u8) {
    let body = &answer[..answer.len() - 9];
    assert_eq!(
        answer,
        seal(body, Some(seq)),
        "trailer made for the terminal"
    );
}

fn checkout(card: &str, pin: &str, item: &str) -> String {
    format!(
        "11YN20250314    09300020250314    093000AOMAIN|AA{card}|AB{item}|ACterm-ac-secret|AD{pin}|"
    )
}

async fn a_self_check_session_is_relayed_with_the_ils_answers(backend: Backend) {
    let logs = captured();
    let server = start(backend).await;
    add_patron(&server).await;
    let ils = Ils::start(0, None).await;
    relay_sc_user(&server, &ils, |_| {}).await;
    let mut client = logged_in(&server).await;

    let status = client.exchange(&seal("9900302.00", Some(1))).await;
    assert!(
        status.starts_with("98Y"),
        "on-line with the upstream: {status}"
    );
    let bx = status
        .split("|BX")
        .nth(1)
        .expect("BX")
        .get(..16)
        .expect("16");
    assert_eq!(
        &bx[1..3],
        "YY",
        "checkout and checkin from the upstream: {bx}"
    );
    assert_eq!(&bx[7..9], "YY", "63 and 35 answered here: {bx}");
    assert_eq!(&bx[13..14], "N", "15 the upstream does not answer: {bx}");

    let patron = format!("6300120250314    093000          AOMAIN|AA{CARD}|AC|AD{PIN}|");
    let patron = client.exchange(&seal(&patron, Some(2))).await;
    assert!(patron.contains("|BLY|CQY|"), "answered here: {patron}");
    assert!(!patron.contains("Name From ILS"), "local mode: {patron}");
    assert!(ils.received("63").is_empty(), "63 stays here in local mode");

    let out = client
        .exchange(&seal(&checkout(CARD, PIN, "3900012"), Some(3)))
        .await;
    assert!(
        out.starts_with("121NNY"),
        "the ILS's checkout: {out}\n{}\n{:?}",
        logs.text(),
        ils.lines()
    );
    assert!(
        out.contains("|AB3900012|AJRelayed Title|AH20250404|"),
        "{out}"
    );
    assert!(out.contains("|AFChecked out at the ILS|"), "{out}");
    assert_sealed(&out, 3);
    let forwarded = ils.received("11");
    assert_eq!(forwarded, ["recv 11 ad=no az=yes"], "forwarded without AD");

    let checkin = "09N20250314    09300020250314    093000APBR1|AOMAIN|AB3900012|ACterm-ac-secret|";
    let back = client.exchange(&seal(checkin, Some(4))).await;
    assert!(back.starts_with("101YNN"), "the ILS's checkin: {back}");
    assert!(back.contains("|AQMain shelves|"), "{back}");
    assert_sealed(&back, 4);

    let item = client
        .exchange(&seal("1720250314    093000AOMAIN|ABX1|AC|", Some(5)))
        .await;
    assert!(
        item.contains("|AJItem Title é|"),
        "UTF-8 text byte for byte: {item}"
    );

    let end = format!("3520250314    093000AOMAIN|AA{CARD}|AC|AD{PIN}|");
    let end = client.exchange(&seal(&end, Some(6))).await;
    assert!(end.starts_with("36Y"), "35 answered here: {end}");
    assert!(ils.received("35").is_empty());
    assert_eq!(
        ils.received("93").len(),
        1,
        "one upstream login for the session"
    );
    drop(client);

    let text = logs.text();
    assert!(text.contains("relayed"), "each forwarded message is logged");
    assert!(
        text.contains("upstream_ok=Some(true)"),
        "with the upstream's ok flag"
    );
    for secret in [PIN, UPSTREAM_PASSWORD, SC_USER_PASSWORD, "term-ac-secret"] {
        assert!(!text.contains(secret), "the logs contain {secret:?}");
    }
    let in_clear = server
        .db
        .text_columns_containing(&[UPSTREAM_PASSWORD])
        .await
        .expect("scan");
    assert!(
        in_clear.is_empty(),
        "upstream password in clear: {in_clear:?}"
    );
    ils.stop().await;
}

async fn a_wrong_pin_on_a_checkout_is_refused_here_and_never_forwarded(backend: Backend) {
    let logs = captured();
    let server = start(backend).await;
    let ils = Ils::start(0, None).await;
    relay_sc_user(&server, &ils, |_| {}).await;
    let mut client = logged_in(&server).await;
    for attempt in 0..5u8 {
        let wrong = format!("{}", 8000 + u32::from(attempt) * 111);
        let out = client
            .exchange(&checkout(LOCK_CARD, &wrong, "3900099"))
            .await;
        assert!(out.starts_with("120NUN"), "refused here: {out}");
        assert!(
            out.contains("|AFInvalid PIN|") || out.contains("|AFAccount locked"),
            "{out}"
        );
        assert!(!out.contains(&wrong), "the PIN is not echoed");
    }
    assert!(
        ils.received("11").is_empty(),
        "the ILS saw no 11: {:?}",
        ils.lines()
    );
    // The wrong PINs counted toward the lock: the right one is refused now.
    let locked = client
        .exchange(&checkout(LOCK_CARD, LOCK_PIN, "3900099"))
        .await;
    assert!(locked.contains("|AFAccount locked"), "locked: {locked}");
    assert!(ils.received("11").is_empty());
    // Without AD the checkout is the ILS's to decide.
    let plain = "11YN20250314    09300020250314    093000AOMAIN|AA21234000077777|AB39|AC|";
    let out = client.exchange(plain).await;
    assert!(out.starts_with("121"), "{out}");
    assert_eq!(
        ils.received("11"),
        ["recv 11 ad=no az=yes"],
        "with the upstream side's own trailer"
    );
    assert!(!logs.text().contains(LOCK_PIN));
    ils.stop().await;
}

async fn merge_mode_answers_a_64_with_the_ils_fields_and_our_validity(backend: Backend) {
    let server = start(backend).await;
    let ils = Ils::start(0, None).await;
    add_patron(&server).await;
    relay_sc_user(&server, &ils, |u| u.patron_mode = PatronMode::Merge).await;
    let mut client = logged_in(&server).await;
    let request = format!("6300120250314    093000          AOMAIN|AA{CARD}|AC|AD{PIN}|");
    let answer = client.exchange(&seal(&request, Some(1))).await;
    assert!(
        answer.contains("AEName From ILS"),
        "the ILS's name: {answer}"
    );
    assert!(answer.contains("|BV2.50|"), "the ILS's fines: {answer}");
    assert!(
        answer.contains("|AUILS-ITEM-1|"),
        "the ILS's items: {answer}"
    );
    assert!(
        answer.contains("|BLY|CQY|"),
        "our BL and CQ, not the ILS's N: {answer}"
    );
    assert_eq!(ils.received("63"), ["recv 63 ad=no az=yes"], "without AD");
    // A wrong PIN is answered here alone.
    let wrong = format!("6300120250314    093000          AOMAIN|AA{CARD}|AC|AD9157|");
    let answer = client.exchange(&seal(&wrong, Some(2))).await;
    assert!(answer.contains("|CQN|"), "{answer}");
    assert!(!answer.contains("Name From ILS"), "{answer}");
    assert_eq!(ils.received("63").len(), 1);
    ils.stop().await;
}

async fn trailers_are_made_on_each_side_for_that_side(backend: Backend) {
    let server = start(backend).await;
    let ils = Ils::start(0, None).await;
    relay_sc_user(&server, &ils, |u| u.error_detection = ErrorDetection::Off).await;
    relay_terminal(&server, "plain", ils.port, UPSTREAM_PASSWORD, |_| {}).await;
    let mut client = logged_in(&server).await;
    let item = client
        .exchange(&seal("1720250314    093000AOMAIN|ABX1|AC|", Some(7)))
        .await;
    assert_sealed(&item, 7);
    assert_eq!(ils.received("17"), ["recv 17 ad=no az=no"]);

    let mut plain = server.client().await;
    assert_eq!(
        plain.exchange("9300CNplain|COp5Hy8MzC3vRt6KeW|").await,
        "941"
    );
    let item = plain.exchange("1720250314    093000AOMAIN|ABX2|AC|").await;
    assert!(item.starts_with("18"), "{item}");
    assert!(
        !item.contains("AZ"),
        "no trailer to a terminal with error detection off: {item}"
    );
    assert_eq!(
        ils.received("17").last().map(String::as_str),
        Some("recv 17 ad=no az=yes")
    );
    ils.stop().await;
}

async fn an_upstream_closing_an_idle_connection_is_reconnected(backend: Backend) {
    let server = start(backend).await;
    let ils = Ils::start(0, Some(1.0)).await;
    relay_sc_user(&server, &ils, |_| {}).await;
    let mut client = logged_in(&server).await;
    let item = "1720250314    093000AOMAIN|ABX1|AC|";
    assert!(client.exchange(item).await.starts_with("18"));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let again = client.exchange(item).await;
    assert!(
        again.starts_with("18"),
        "answered after the ILS closed: {again}"
    );
    let opened = ils
        .lines()
        .iter()
        .filter(|l| *l == "connection open")
        .count();
    assert_eq!(opened, 2, "a new upstream connection: {:?}", ils.lines());
    ils.stop().await;
}

async fn an_upstream_refusing_the_relay_login_is_off_line_with_a_clear_log_line(backend: Backend) {
    let logs = captured();
    let server = start(backend).await;
    let ils = Ils::start(0, None).await;
    add_patron(&server).await;
    relay_terminal(&server, "sc_user", ils.port, "not-the-password", |_| {}).await;
    let mut client = logged_in(&server).await;
    let status = client.exchange("9900302.00").await;
    assert!(status.starts_with("98N"), "off-line: {status}");
    assert!(
        status.contains("AFThe library system is unavailable"),
        "{status}"
    );
    let out = client.exchange(&checkout(CARD, PIN, "39")).await;
    assert!(out.starts_with("120NUN"), "{out}");
    assert!(
        out.contains("|AFThe library system is unavailable"),
        "{out}"
    );
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("upstream login refused") && l.contains(UPSTREAM_LOGIN)),
        "a clear log line"
    );
    assert!(!text.contains("not-the-password"));
    ils.stop().await;
}

async fn an_upstream_down_or_slow_is_answered_in_time_and_service_resumes(backend: Backend) {
    let server = start(backend).await;
    let ils = Ils::start(0, None).await;
    let port = ils.port;
    relay_sc_user(&server, &ils, |u| u.timeout = Duration::from_secs(1)).await;
    let mut client = logged_in(&server).await;

    let started = Instant::now();
    let slow = client
        .exchange("1720250314    093000AOMAIN|ABSLOW|AC|")
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "answered within the timeout"
    );
    assert!(slow.starts_with("18"), "{slow}");
    assert!(
        slow.contains("|AFThe library system is unavailable"),
        "{slow}"
    );
    let next = client.exchange("1720250314    093000AOMAIN|ABX1|AC|").await;
    assert!(next.contains("|AJItem Title"), "service resumes: {next}");

    ils.stop().await;
    let started = Instant::now();
    let down = client.exchange("1720250314    093000AOMAIN|ABX1|AC|").await;
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "answered within the timeout"
    );
    assert!(
        down.contains("|AFThe library system is unavailable"),
        "{down}"
    );
    let status = client.exchange("9900302.00").await;
    assert!(
        status.starts_with("98N"),
        "off-line while the ILS is down: {status}"
    );

    let ils = Ils::start(port, None).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client.exchange("1720250314    093000AOMAIN|ABX1|AC|").await;
        if answer.contains("|AJItem Title") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(client.exchange("9900302.00").await.starts_with("98Y"));
    ils.stop().await;
}

/// The TLS front of tests/peers/tls_front.py, in front of an ILS that speaks no TLS.
async fn tls_front(backend_port: u16, certificate: &support::tls::Issued) -> (Child, u16) {
    let mut child = Command::new(peers_python())
        .arg(peer_script("tls_front.py"))
        .arg(backend_port.to_string())
        .arg(&certificate.certificate)
        .arg(&certificate.key)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the TLS front starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
        .await
        .expect("the TLS front listens in time")
        .expect("read")
        .expect("a line");
    let port = first
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a port line: {first}"));
    (child, port)
}

async fn a_tls_upstream_is_used_only_with_a_certificate_its_ca_vouches_for(backend: Backend) {
    let recorder = sip2auth::instruments::recorder().expect("the process's recorder");
    let server = start(backend).await;
    let ils = Ils::start(0, None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ils_certificate = support::tls::server_certificate(dir.path(), "ils");
    let stranger = support::tls::server_certificate(dir.path(), "stranger");
    let (_front, port) = tls_front(ils.port, &ils_certificate).await;

    let ca = ils_certificate.pem.clone();
    relay_sc_user(&server, &ils, |u| {
        u.address = format!("127.0.0.1:{port}");
        u.tls = true;
        u.ca_pem = Some(ca);
    })
    .await;
    let mut client = logged_in(&server).await;
    let item = client.exchange("1720250314    093000AOMAIN|ABX1|AC|").await;
    assert!(item.starts_with("18"), "{item}");
    assert!(!item.contains("unavailable"), "relayed over TLS: {item}");
    assert_eq!(ils.received("17").len(), 1, "{:?}", ils.lines());
    let scrape = recorder.render();
    let forwarded = scrape
        .lines()
        .find(|l| l.starts_with("sip2auth_relay_forwarded_total{") && l.contains("message=\"17\""))
        .unwrap_or_else(|| panic!("the forwarded 17 is counted:\n{scrape}"));
    assert!(forwarded.ends_with(" 1"), "{forwarded}");
    assert!(
        scrape.contains("sip2auth_relay_upstream_duration_seconds_count{message=\"17\"} 1"),
        "its latency recorded:\n{scrape}"
    );

    let wrong_ca = stranger.pem.clone();
    relay_sc_user(&server, &ils, |u| {
        u.address = format!("127.0.0.1:{port}");
        u.tls = true;
        u.ca_pem = Some(wrong_ca);
        u.timeout = Duration::from_secs(2);
    })
    .await;
    let mut client = logged_in(&server).await;
    let refused = client.exchange("1720250314    093000AOMAIN|ABX2|AC|").await;
    assert!(refused.starts_with("18"), "protocol-valid: {refused}");
    assert!(
        refused.contains("The library system is unavailable"),
        "a certificate its CA does not vouch for is never used: {refused}"
    );
    assert_eq!(
        ils.received("17").len(),
        1,
        "nothing reached the ILS: {:?}",
        ils.lines()
    );
    ils.stop().await;
}

sip2auth::store_test_on_both_backends!(
    a_tls_upstream_is_used_only_with_a_certificate_its_ca_vouches_for,
    a_self_check_session_is_relayed_with_the_ils_answers,
    a_wrong_pin_on_a_checkout_is_refused_here_and_never_forwarded,
    merge_mode_answers_a_64_with_the_ils_fields_and_our_validity,
    trailers_are_made_on_each_side_for_that_side,
    an_upstream_closing_an_idle_connection_is_reconnected,
    an_upstream_refusing_the_relay_login_is_off_line_with_a_clear_log_line,
    an_upstream_down_or_slow_is_answered_in_time_and_service_resumes
);
