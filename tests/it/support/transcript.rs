//! Replays fixtures/transcripts/*.sip byte for byte (format: fixtures/transcripts/README.md).

use std::net::IpAddr;

use super::escapes::unescape;
use super::{Client, TestServer};

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Connect(IpAddr),
    Send(Vec<u8>),
    Expect(Vec<u8>),
    Closed,
}

/// Escapes bytes for a readable failure message.
pub fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'\r' => "\\r".to_owned(),
            b'\n' => "\\n".to_owned(),
            b'\\' => "\\\\".to_owned(),
            0x20..=0x7e => char::from(*b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

fn with_terminator(mut bytes: Vec<u8>) -> Vec<u8> {
    if !matches!(bytes.last(), Some(b'\r' | b'\n')) {
        bytes.push(b'\r');
    }
    bytes
}

/// Parses a transcript; it starts with an implicit connection from 127.0.0.1.
pub fn parse(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut connected = false;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@connect") {
            let address = rest.trim();
            let address = if address.is_empty() {
                "127.0.0.1"
            } else {
                address
            };
            steps.push(Step::Connect(address.parse().expect("@connect address")));
            connected = true;
            continue;
        }
        if !connected {
            steps.push(Step::Connect(IpAddr::from([127, 0, 0, 1])));
            connected = true;
        }
        let step = if line == "@closed" {
            Step::Closed
        } else if let Some(bytes) = line.strip_prefix("C: ") {
            Step::Send(with_terminator(unescape(bytes)))
        } else if let Some(bytes) = line.strip_prefix("R: ") {
            Step::Send(unescape(bytes))
        } else if let Some(bytes) = line.strip_prefix("S: ") {
            Step::Expect(with_terminator(unescape(bytes)))
        } else {
            panic!("transcript line {}: cannot read {line:?}", number + 1);
        };
        steps.push(step);
    }
    steps
}

/// Replays `name` (a file of fixtures/transcripts) against `server`.
pub async fn replay(server: &TestServer, name: &str) {
    let path = format!(
        "{}/fixtures/transcripts/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut client: Option<Client> = None;
    for (index, step) in parse(&text).into_iter().enumerate() {
        match step {
            Step::Connect(source) => {
                client = Some(Client::connect(server.addr, source).await);
            }
            Step::Send(bytes) => {
                let client = client.as_mut().expect("connected");
                client.send(&bytes).await;
            }
            Step::Expect(expected) => {
                let client = client.as_mut().expect("connected");
                let got = client.read_exact(expected.len()).await;
                assert_eq!(
                    escape(&got),
                    escape(&expected),
                    "{name}: step {index}: server answered differently"
                );
            }
            Step::Closed => {
                let client = client.as_mut().expect("connected");
                assert!(
                    client.is_closed().await,
                    "{name}: step {index}: connection still open"
                );
            }
        }
    }
}

#[test]
fn escapes_round_trip() {
    let bytes = unescape("a\\r\\n\\x16\\\\b");
    assert_eq!(bytes, b"a\r\n\x16\\b");
    assert_eq!(escape(&bytes), "a\\r\\n\\x16\\\\b");
}
