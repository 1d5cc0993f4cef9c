//! Test support for mail: the web test configuration with mail written as `.eml` files to a
//! temporary folder (the file transport) or sent to a real SMTP server on loopback (aiosmtpd
//! from PyPI, in the venv `scripts/python-peers.sh` prepares, started here on a free port and
//! writing each message it receives to a folder), and reading the delivered mails back: their
//! headers, their decoded text, and the reset link or temporary password in them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sip2auth::config::{Config, MailTransport, SmtpSecurity};
use sip2auth::store::Store;

use super::tls::{peer_script, peers_python};
use super::web::web_config;

/// The web test configuration, mail on, with quick outbox passes and retries.
pub fn mail_config(transport: MailTransport) -> Config {
    let mut config = web_config();
    config.mail.transport = transport;
    config.mail.from = "Springfield Library <library@springfield.example>".into();
    config.mail.contact = "Ask at any desk or call 555-0100".into();
    config.mail.poll_interval = Duration::from_millis(50);
    config.mail.retry_initial = Duration::from_secs(60);
    config.mail.smtp.timeout = Duration::from_secs(5);
    config
}

/// Mail to files in `folder`.
pub fn file_mail_config(folder: &Path) -> Config {
    let mut config = mail_config(MailTransport::File);
    config.mail.folder = folder.to_owned();
    config
}

/// Mail over plain SMTP to 127.0.0.1:`port`.
pub fn smtp_mail_config(port: u16) -> Config {
    let mut config = mail_config(MailTransport::Smtp);
    config.mail.smtp.host = "127.0.0.1".into();
    config.mail.smtp.port = port;
    config.mail.smtp.security = SmtpSecurity::None;
    config
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running aiosmtpd; stopped on drop.
pub struct SmtpServer {
    child: Child,
}

impl SmtpServer {
    /// Starts the server on `port`, writing what it receives into `folder`; returns once it
    /// listens.
    pub fn start(port: u16, folder: &Path) -> SmtpServer {
        let mut child = Command::new(peers_python())
            .arg(peer_script("smtp_server.py"))
            .arg(port.to_string())
            .arg(folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd starts (run scripts/python-peers.sh)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("ready line");
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        SmtpServer { child }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One delivered mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
}

impl Mail {
    /// A header's value (unfolded).
    pub fn header(&self, name: &str) -> String {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    }

    /// The whole message with quoted-printable soft breaks and escapes undone (good enough to
    /// find links and words in either part).
    pub fn text(&self) -> String {
        let joined = self.raw.replace("=\r\n", "").replace("=\n", "");
        let mut out = Vec::with_capacity(joined.len());
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The path of the reset link in the mail (`/reset/TOKEN`).
    pub fn reset_path(&self) -> String {
        let text = self.text();
        let start = text.find("/reset/").expect("a reset link in the mail");
        let token: String = text[start + 7..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        assert_eq!(token.len(), 64, "a 256-bit token in hex");
        format!("/reset/{token}")
    }

    /// The temporary password in the mail (the line after "Your temporary online password is:").
    pub fn temporary_password(&self) -> String {
        let text = self.text();
        let after = text
            .split("temporary online password is:")
            .nth(1)
            .expect("a temporary password in the mail");
        after
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .expect("the password line")
            .to_owned()
    }
}

/// Every mail in `folder`, oldest first (by file name for aiosmtpd, by time for the file
/// transport).
pub fn mails(folder: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let modified = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(_, path)| Mail {
            raw: std::fs::read_to_string(&path).expect("mail"),
        })
        .collect()
}

/// Waits until `folder` holds `count` mails (or fails after 10 s), and returns them.
pub async fn wait_for_mails(folder: &Path, count: usize) -> Vec<Mail> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = mails(folder);
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} mails in {}, found {}",
            folder.display(),
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits for `count` mails and for the outbox to be idle (no request to look up, no mail
/// queued or being sent), then checks that `folder` holds exactly `count` mails.
pub async fn settle(store: &Store, folder: &Path, count: usize) -> Vec<Mail> {
    wait_for_mails(folder, count).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = store.outbox_counts().await.expect("outbox counts");
        if counts.reset_requests == 0 && counts.queued == 0 && counts.sending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox stays busy: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A mail handed to the transport is on disk before its row is marked sent.
    let found = mails(folder);
    assert_eq!(found.len(), count, "mails in {}", folder.display());
    found
}
