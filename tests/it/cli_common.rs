//! Shared helpers of the `cli_*` tests: a temporary SQLite database, pepper key file and config
//! file, and a runner for the real `sip2auth` binary with those in its environment.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use sip2auth::config::Config;
use sip2auth::store::{ConnectOptions, Store};

/// Cheap test-only argon2 parameters (never for production).
pub const CHEAP_HASHING: &str = "[security.hashing]\nmemory_kib = 64\niterations = 1\n";

/// Writes `contents` to a new file readable by its owner only, as a pepper key must be.
pub fn write_owner_only(path: &std::path::Path, contents: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create an owner-only file");
    file.write_all(contents).expect("write it");
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub pepper: PathBuf,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Env {
    /// With cheap hashing parameters.
    pub fn new() -> Env {
        Env::with_config(CHEAP_HASHING)
    }

    /// With the given config text (the database URL and pepper come from the environment).
    pub fn with_config(text: &str) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("sip2.toml");
        std::fs::write(&config, text).expect("config");
        let pepper = dir.path().join("pepper.key");
        let key: String = (0..32)
            .map(|i| format!("{:02x}", (i * 37 + 11) % 256))
            .collect();
        write_owner_only(&pepper, format!("{key}\n").as_bytes());
        let env = Env {
            dir,
            config,
            pepper,
        };
        // Administration commands never create a database: make it as an administrator would.
        // (An invalid test config makes `migrate` fail here; that test then sees the same error.)
        let _ = env.command(&["migrate"]).output();
        env
    }

    /// Like [`Env::with_config`], without creating the database.
    pub fn without_database() -> Env {
        let env = Env::with_config(CHEAP_HASHING);
        let _ = std::fs::remove_file(env.dir.path().join("db.sqlite"));
        env
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("db.sqlite").display())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sip2auth"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("SIP2AUTH_PEPPER")
            .env("SIP2AUTH_PEPPER_FILE", &self.pepper)
            .env("SIP2AUTH_DATABASE_URL", self.url())
            .env("USER", "tester")
            .env_remove("RUST_LOG");
        cmd
    }

    /// Runs the binary to completion, feeding `stdin` if given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sip2auth");
        {
            let mut input = child.stdin.take().expect("stdin");
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).expect("write stdin");
            }
        }
        let output: Output = child.wait_with_output().expect("wait");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The loaded configuration, as the binary sees it.
    pub fn config(&self) -> Config {
        let mut config = Config::load(&self.config).expect("config loads");
        config.database.url = self.url().into();
        config.security.pepper.key_file = self.pepper.clone();
        config
    }

    /// Opens the database through the library (to inspect what the commands wrote).
    pub async fn store(&self) -> Store {
        Store::connect(&self.url(), &ConnectOptions::default())
            .await
            .expect("connect")
    }
}
