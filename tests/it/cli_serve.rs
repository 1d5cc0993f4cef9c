//! `sip2auth serve` as a process: it answers SIP2 on the address it prints, drains and exits 0
//! on SIGTERM, and keeps demo and production databases apart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for any one step; the loops below poll at most this long.
const STEP: Duration = Duration::from_secs(20);

fn sip2auth(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sip2auth"));
    command
        .current_dir(dir)
        .env_remove("SIP2AUTH_DATABASE_URL")
        .env_remove("SIP2AUTH_PEPPER")
        .env_remove("SIP2AUTH_PEPPER_FILE")
        .env_remove("SIP2AUTH_CONFIG")
        .env("RUST_LOG", "info");
    command
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sip2.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://sip2auth.db\"\n",
    )
    .expect("config written");
    path
}

/// Starts `serve` and returns the child and the address from its ready line.
fn start(dir: &Path, args: &[&str]) -> (Child, SocketAddr) {
    let mut child = sip2auth(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let address = line
        .split_whitespace()
        .find_map(|word| word.trim_end_matches(':').parse::<SocketAddr>().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, address)
}

fn exchange(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(STEP)).expect("timeout");
    stream.write_all(request).expect("send");
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while stream.read(&mut byte).expect("read") == 1 && byte[0] != b'\r' {
        response.push(byte[0]);
    }
    String::from_utf8_lossy(&response).into_owned()
}

fn wait_for_exit(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[test]
fn serve_answers_on_the_printed_address_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let generated = sip2auth(dir.path())
        .args(["pepper", "generate", "--out", "pepper.key"])
        .output()
        .expect("pepper generate");
    assert!(generated.status.success(), "{generated:?}");
    let (mut child, address) = start(
        dir.path(),
        &["--config", config.to_str().expect("utf-8 path"), "serve"],
    );
    let status = exchange(address, b"9900302.00AY1AZFCA5\r");
    assert!(status.starts_with("98Y"), "{status}");
    assert!(
        status.ends_with("AY1AZ") || status.contains("AY1AZ"),
        "{status}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert_eq!(
        wait_for_exit(&mut child),
        Some(0),
        "SIGTERM drains and exits 0"
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr read");
    assert!(stderr.contains("shutdown requested"), "{stderr}");
}

#[test]
fn sighup_applies_a_new_log_level_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sip2.toml");
    let with_level = |level: &str| {
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://sip2auth.db\"\n\
             [logging]\nlevel = \"{level}\"\n"
        )
    };
    std::fs::write(&config, with_level("warn")).expect("config written");
    let generated = sip2auth(dir.path())
        .args(["pepper", "generate", "--out", "pepper.key"])
        .output()
        .expect("pepper generate");
    assert!(generated.status.success(), "{generated:?}");
    let mut command = sip2auth(dir.path());
    command
        .env_remove("RUST_LOG")
        .args(["--config", config.to_str().expect("utf-8 path"), "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    assert!(line.contains("ready"), "{line}");

    std::fs::write(&config, with_level("info")).expect("config rewritten");
    let hangup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(hangup.success());
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + STEP;
    let mut seen = String::new();
    while Instant::now() < deadline && !seen.contains("log level applied") {
        let mut next = String::new();
        if stderr.read_line(&mut next).expect("stderr read") == 0 {
            break;
        }
        seen.push_str(&next);
    }
    assert!(seen.contains("log level applied"), "{seen}");
    assert!(
        !seen.contains("sip2auth ready"),
        "the INFO ready line was filtered at warn: {seen}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(
        wait_for_exit(&mut child),
        Some(0),
        "still serving, then drains"
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr read");
    assert!(
        rest.contains("shutdown requested"),
        "INFO lines after the reload: {rest}"
    );
}

#[test]
fn the_demo_serves_its_world_and_a_normal_serve_refuses_the_demo_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, address) = start(dir.path(), &["serve", "--demo", "--listen", "127.0.0.1:0"]);
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(STEP)).expect("timeout");
    stream
        .write_all(
            b"9300CNsc_user|COk7Qp2vXe9LmT4wZs|CPBRANCH1|\r\
              6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|\r",
        )
        .expect("send");
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    while !seen.contains("CQ") {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("|BLY|CQY|"), "{seen}");
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert_eq!(
        wait_for_exit(&mut child),
        Some(0),
        "SIGINT drains and exits 0"
    );

    // The demo database holds published secrets: a normal serve refuses it.
    let refused = sip2auth(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SIP2AUTH_DATABASE_URL", "sqlite://demo/sip2auth-demo.db")
        .env("SIP2AUTH_PEPPER_FILE", "demo/pepper.key")
        .output()
        .expect("serve runs");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("demo database"));

    // And demo mode refuses any other database.
    let other = sip2auth(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("SIP2AUTH_DATABASE_URL", "sqlite://elsewhere.db")
        .output()
        .expect("serve runs");
    assert_eq!(other.status.code(), Some(2), "{other:?}");
    assert!(String::from_utf8_lossy(&other.stderr).contains("demo mode uses its own database"));
}

/// The terminal a new user adds for a PC-booking system: login-free from one address, allowed
/// only the 63. Its 98 advertises exactly what it may send, and a 23 is refused as not allowed.
#[test]
fn a_terminal_allowed_only_63_is_advertised_63_and_told_its_23_is_not_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let config = config.to_str().expect("utf-8 path");
    let generated = sip2auth(dir.path())
        .args(["pepper", "generate", "--out", "pepper.key"])
        .output()
        .expect("pepper generate");
    assert!(generated.status.success(), "{generated:?}");
    // Administration commands never create a database: `migrate` does.
    let migrated = sip2auth(dir.path())
        .args(["--config", config, "migrate"])
        .output()
        .expect("migrate");
    assert!(migrated.status.success(), "{migrated:?}");
    let added = sip2auth(dir.path())
        .args([
            "--config",
            config,
            "terminal",
            "add",
            "booking",
            "--login-free",
        ])
        .args(["--cidr", "127.0.0.1/32", "--allow-messages", "63"])
        .args(["--operator", "tester"])
        .output()
        .expect("terminal add");
    assert!(added.status.success(), "{added:?}");
    let (mut child, address) = start(dir.path(), &["--config", config, "serve"]);

    let status = exchange(address, b"9900302.00\r");
    let bx = status
        .split('|')
        .find_map(|field| field.strip_prefix("BX"))
        .unwrap_or_else(|| panic!("no BX in {status}"));
    // 23 01 N, 99 97 93 Y (session control), 63 Y, 35 N, every circulation message N.
    assert_eq!(bx, "NNNNYYYYNNNNNNNN", "{status}");
    assert!(status.starts_with("98Y"), "{status}");

    let refused = exchange(
        address,
        b"2300120250314    093000AOMAIN|AA21234000012345|AC|AD1234|\r",
    );
    assert!(refused.starts_with("24"), "{refused}");
    assert!(
        refused.contains("|AFThis terminal may not send this message|"),
        "{refused}"
    );
    assert!(!refused.contains("circulation"), "{refused}");
    assert!(refused.contains("|BLN|CQN|"), "{refused}");

    let answered = exchange(
        address,
        b"6300120250314    093000          AOMAIN|AA21234000012345|AC|\r",
    );
    assert!(answered.starts_with("64"), "{answered}");
    assert!(answered.contains("|AFUnknown library card|"), "{answered}");

    let _ = child.kill();
    let _ = child.wait();
}

/// A port already taken is reported once, with the address, and `serve` exits non-zero.
#[test]
fn a_port_in_use_is_said_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to occupy");
    let port = taken.local_addr().expect("address").port();
    let config = dir.path().join("sip2.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"sqlite://sip2auth.db\"\n"
        ),
    )
    .expect("config written");
    let generated = sip2auth(dir.path())
        .args(["pepper", "generate", "--out", "pepper.key"])
        .output()
        .expect("pepper generate");
    assert!(generated.status.success(), "{generated:?}");
    let out = sip2auth(dir.path())
        .args(["--config", config.to_str().expect("utf-8 path"), "serve"])
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("in use").count(),
        1,
        "said once, in: {stderr}"
    );
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

#[test]
fn the_demo_serves_the_patron_pages_and_sigterm_drains_both_listeners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = sip2auth(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no patron pages URL in {line:?}"));
    assert!(line.contains("card 21234000012345, PIN 4931"), "{line}");
    let web: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a host:port URL");
    assert_ne!(web.port(), 8080, "a free port when SIP2 has one");
    let mut page = TcpStream::connect(web).expect("connect to the web listener");
    page.set_read_timeout(Some(STEP)).expect("timeout");
    page.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("</html>") {
        let n = page.read(&mut buf).expect("read");
        assert!(n > 0, "closed early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("Log in to My Account"), "{seen}");
    // The keep-alive connection stays open; SIGTERM still stops both listeners.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(
        wait_for_exit(&mut child),
        Some(0),
        "SIGTERM drains and exits 0"
    );
}

/// Reads the admin listener's address from serve's ready line.
fn admin_address(line: &str) -> SocketAddr {
    line.split("admin listener on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|word| word.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no admin URL in {line:?}"))
        .parse()
        .expect("a host:port URL")
}

/// One HTTP/1.1 GET over a plain socket; the whole answer (the server closes after it).
fn http_get(address: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect to the admin listener");
    stream.set_read_timeout(Some(STEP)).expect("timeout");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("send");
    let mut seen = String::new();
    stream.read_to_string(&mut seen).expect("read");
    seen
}

#[test]
fn the_demo_runs_the_admin_listener_and_is_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = sip2auth(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let admin_line = lines.next().expect("ready line").expect("text");
    let admin = admin_address(&admin_line);
    let key = admin_line
        .split("with demo API key (scope admin): ")
        .nth(1)
        .unwrap_or_else(|| panic!("no demo API key in {admin_line:?}"));
    assert!(key.starts_with("s2a_") && key.len() == 68, "{key}");
    assert_ne!(admin.port(), 9090, "a free port when SIP2 has one");
    let ready = http_get(admin, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains(r#"{"status":"ready"}"#), "{ready}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(
        wait_for_exit(&mut child),
        Some(0),
        "SIGTERM drains and exits 0"
    );
}
