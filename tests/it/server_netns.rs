//! Terminal address rules from a real, distinct source address: a network namespace joined to
//! the host by a veth pair (as root; CI runs as root), each end with its own address, so the
//! server sees a client that is neither loopback nor an alias of it. A login-free terminal bound
//! to the namespace's address answers from there without a 93 and nowhere else; a terminal
//! allowed from 127.0.0.0/8 only is refused (940) from the namespace. Without root the test says
//! so and skips: the loopback-alias tests (`server_proxy`, `server_behaviour`) cover the same
//! rules from 127.0.0.x.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;

use sip2auth::auth::{NewTerminal, TerminalSettings};
use sip2auth::store::Backend;

use crate::support::world::SC_USER_LOGIN;
use crate::support::{start_with, test_config};

const VALID_63: &str = "6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|";

/// A namespace and its veth pair, removed on drop (deleting the namespace deletes the pair).
struct Netns {
    name: String,
    host: Ipv4Addr,
    inside: Ipv4Addr,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {}", args.join(" "));
}

impl Netns {
    fn new(tag: u8) -> Netns {
        let id = std::process::id() % 250;
        let name = format!("s2a{id}t{tag}");
        let (host_if, ns_if) = (format!("{name}h"), format!("{name}n"));
        let host = Ipv4Addr::new(10, 213 + tag, u8::try_from(id).unwrap_or(0), 1);
        let inside = Ipv4Addr::new(10, 213 + tag, u8::try_from(id).unwrap_or(0), 2);
        // A namespace left by an earlier, killed run of this process id goes first.
        let _ = Command::new("ip").args(["netns", "delete", &name]).status();
        ip(&["netns", "add", &name]);
        let netns = Netns { name, host, inside };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        ip(&["link", "set", &ns_if, "netns", &netns.name]);
        ip(&["addr", "add", &format!("{host}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        let exec = |args: &[&str]| {
            let mut all = vec!["netns", "exec", netns.name.as_str(), "ip"];
            all.extend_from_slice(args);
            ip(&all);
        };
        exec(&["addr", "add", &format!("{inside}/30"), "dev", &ns_if]);
        exec(&["link", "set", &ns_if, "up"]);
        exec(&["link", "set", "lo", "up"]);
        netns
    }

    /// Sends `messages` (CR-terminated) from inside the namespace; returns what came back.
    fn exchange(&self, server: SocketAddr, messages: &[&str]) -> String {
        let script = "import socket, sys\n\
            s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)\n\
            out = b''\n\
            for m in sys.argv[3:]:\n\
            \x20   s.sendall(m.encode() + b'\\r')\n\
            \x20   try:\n\
            \x20       out += s.recv(65536)\n\
            \x20   except OSError:\n\
            \x20       break\n\
            print(out.decode(errors='replace').replace('\\r', '\\n'))\n";
        let output = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", script])
            .arg(server.ip().to_string())
            .arg(server.port().to_string())
            .args(messages)
            .output()
            .expect("python3 in the namespace");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

async fn address_rules_hold_for_a_client_in_another_network_namespace(backend: Backend) {
    if !is_root() {
        eprintln!("not root: network namespaces need root; the loopback-alias tests cover this");
        return;
    }
    let netns = Netns::new(match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    });
    let mut config = test_config();
    config.server.listen = SocketAddr::from((netns.host, 0));
    let server = start_with(backend, config).await;
    let mut settings = TerminalSettings::new("MAIN");
    settings.login_optional = true;
    settings.allowed_cidrs = vec![format!("{}/32", netns.inside).parse().expect("net")];
    let kiosk = NewTerminal {
        login_id: "netns-kiosk".into(),
        password: None,
        settings,
    };
    server
        .store
        .create_terminal(&kiosk.row())
        .await
        .expect("terminal");

    let answer = tokio::task::block_in_place(|| netns.exchange(server.addr, &[VALID_63]));
    assert!(
        answer.starts_with("64"),
        "the login-free terminal of the namespace's address answers without a 93: {answer:?}"
    );
    let answer = tokio::task::block_in_place(|| netns.exchange(server.addr, &[SC_USER_LOGIN]));
    assert!(
        answer.starts_with("940"),
        "sc_user is allowed from 127.0.0.0/8 only: {answer:?}"
    );

    // From the host's own end of the pair, the kiosk's binding does not apply.
    let mut host = crate::support::Client::connect(server.addr, IpAddr::V4(netns.host)).await;
    host.send_message(VALID_63).await;
    assert!(host.is_closed().await, "no terminal: closed before login");
}

sip2auth::store_test_on_both_backends!(
    address_rules_hold_for_a_client_in_another_network_namespace
);
