//! The contract test: schemathesis (from the Python package registry, in the virtual environment
//! `scripts/contract-deps.sh` prepares) reads `/api/v1/openapi.json` from the real admin listener
//! and drives every operation with generated requests, checking each answer against the
//! document (status codes, content types, schemas, authentication). Bounded: a fixed number of
//! examples per operation, deterministic generation, and a limit on the whole run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use sip2auth::accounts::api_key::ApiScope;
use sip2auth::store::Backend;

use crate::support::admin::{admin_config, start_admin};

/// The longest the whole run may take before it counts as hung.
const RUN_LIMIT: Duration = Duration::from_secs(600);

fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("SIP2AUTH_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(home).join(".cache"));
    let found = std::fs::read_dir(cache.join("sip2auth-contract"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/schemathesis"))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "the contract test needs schemathesis: run `bash scripts/contract-deps.sh` \
             (scripts/test.sh does) or set SIP2AUTH_SCHEMATHESIS"
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_the_contract_of_its_openapi_document() {
    let mut config = admin_config();
    // The contract run sends hundreds of requests a minute, and some with made-up keys.
    config.admin.requests_per_minute = 100_000;
    config.admin.unknown_keys_per_minute = 100_000;
    let admin = start_admin(Backend::Sqlite, config).await;
    let key = admin.key("contract", ApiScope::Admin).await;
    let document = admin.get("/api/v1/openapi.json").await;
    assert_eq!(document.status, 200, "{}", document.body);
    let document = document.json();
    assert_eq!(document["openapi"], "3.1.0");
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|path| path.as_object().map_or(0, |methods| methods.len()))
        .sum();

    let base = format!("http://{}/api/v1", admin.admin_addr);
    // schemathesis keeps a cache in its working directory: not in the repository.
    let work = tempfile::tempdir().expect("temp dir");
    let run = tokio::process::Command::new(schemathesis())
        .current_dir(work.path())
        .args(["run", &format!("{base}/openapi.json"), "--url", &base])
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .args(["--checks", "all", "--max-examples", "20"])
        // A schema cannot say which PINs the PIN rules refuse, which request codes this server
        // answers, or which cards are taken: such schema-valid requests get 422 or 409 by
        // design. Every other check runs.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--generation-deterministic", "--request-timeout", "10"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("schemathesis finishes within its limit")
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "contract broken:\n{report}");
    let tested = format!("{operations}/{operations}");
    assert!(
        report.contains(&tested),
        "every operation tested ({tested}):\n{report}"
    );
}
