//! `sip2auth import` through the real binary: the fixture, bad rows, --strict, --dry-run, a
//! 10,000-row file, and SECURITY.md §2 item 29 (1,000 rows with --jobs 2, progress, a kill and a
//! restart that finishes without duplicates, rejects reported without PIN values).

use crate::cli_common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cli_common::Env;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/patrons.csv");
const BAD_ROWS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/import/bad_rows.csv");

/// A file of `rows` patrons with distinct valid PINs; every 100th row has a PIN the rules refuse.
fn generated(env: &Env, name: &str, rows: usize) -> (String, Vec<String>) {
    let mut pins = Vec::with_capacity(rows);
    let mut text =
        String::from("card,institution,family_name,given_names,email,expires,fines,pin\n");
    for i in 0..rows {
        let pin = if i % 100 == 99 {
            ["1111", "1234", "9876", "2222"][(i / 100) % 4].to_string()
        } else {
            format!("{:06}", 400_000 + (i * 7919) % 500_000)
        };
        text.push_str(&format!(
            "P{i:07},MAIN,Family{i},Given{i},p{i}@example.org,2030-01-31,{}.{:02},{pin}\n",
            i % 7,
            i % 100
        ));
        pins.push(pin);
    }
    let path = env.path(name);
    std::fs::write(&path, text).expect("write csv");
    (path.display().to_string(), pins)
}

/// The rejected lines of an import's stderr; asserts none shows the row's PIN.
fn rejections(stderr: &str, pins: &[String]) -> usize {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("rejected:"))
        .collect();
    for line in &lines {
        let card = line
            .split("(card P")
            .nth(1)
            .expect("card")
            .split(')')
            .next()
            .unwrap();
        let index: usize = card.parse().expect("index");
        let reason = line.split("):").nth(1).expect("reason");
        assert!(reason.contains("pin refused"), "{line}");
        let pin = &pins[index];
        assert!(
            !reason.contains(&format!(" {pin}")) && !reason.ends_with(pin.as_str())
                || reason.contains(&format!("like {pin}")),
            "PIN in {line}"
        );
    }
    lines.len()
}

#[tokio::test]
async fn the_fixture_imports_and_a_rerun_changes_nothing() {
    let env = Env::new();
    let out = env.run(&["import", FIXTURE], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("36 created, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        out.stdout
    );
    let store = env.store().await;
    let lost = store
        .find_by_card("MAIN", "21000142")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lost.patron.status, sip2auth::store::PatronStatus::CardLost);
    let again = env.run(&["import", FIXTURE], None);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("0 created, 0 updated, 36 unchanged"),
        "{}",
        again.stdout
    );
    assert_eq!(store.count_patrons().await.unwrap(), 36);
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_reason_and_good_rows_still_load() {
    let env = Env::new();
    let report = env.path("rejects.csv");
    let out = env.run(
        &[
            "import",
            BAD_ROWS,
            "--reject-report",
            report.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 5, "partial: {}", out.all());
    for expected in [
        "line 3 (card 3100002): pin refused: PIN cannot be a sequence like 1234",
        "line 4 (card 3100003): birth_date must be a date written YYYY-MM-DD",
        "line 5: card is empty",
        "line 6 (card 3100005): pin refused: PIN can only contain the digits 0 to 9",
        "line 7 (card 3100006): status must be active, blocked or lost",
        "line 8 (card 3100001): card already appears on line 2",
        "line 9: has 4 fields, the header has 8",
        "line 10 (card 3100009): pin refused: PIN cannot be your date or year of birth",
        "line 11 (card 3100010): pin is a PHC hash",
        "line 13 (card 3100012): fines must be an amount",
    ] {
        assert!(
            out.stderr.contains(expected),
            "missing {expected:?} in\n{}",
            out.stderr
        );
    }
    assert!(
        out.stdout.contains("2 created") && out.stdout.contains("10 rejected"),
        "{}",
        out.stdout
    );
    let rejections: String = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("rejected:"))
        .collect();
    for pin in [
        "3456",
        "12a4",
        "1987",
        "c2FsdHNhbHRzYWx0",
        "5820",
        "7316",
        "8053",
    ] {
        assert!(!rejections.contains(pin), "PIN value {pin} printed");
    }
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.starts_with("line,card,reason") && !written.contains("12a4"));
    assert_eq!(env.store().await.count_patrons().await.unwrap(), 2);
}

#[tokio::test]
async fn strict_refuses_the_file_before_any_write_and_dry_run_writes_nothing() {
    let env = Env::new();
    let strict = env.run(&["import", BAD_ROWS, "--strict"], None);
    assert_eq!(strict.code, 1, "{}", strict.all());
    assert!(strict.stderr.contains("nothing was written") && strict.stderr.contains("line 3"));
    let dry = env.run(&["import", FIXTURE, "--dry-run"], None);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(dry.stdout.contains("dry run") && dry.stdout.contains("36 created"));
    assert_eq!(env.store().await.count_patrons().await.unwrap(), 0);
    let header = env.path("bad_header.csv");
    std::fs::write(&header, "card,institution,surname\n1,MAIN,X\n").unwrap();
    let out = env.run(&["import", header.to_str().unwrap()], None);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unknown column \"surname\""),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn ten_thousand_rows_import_in_batches() {
    let env = Env::new();
    let (file, pins) = generated(&env, "big.csv", 10_000);
    let started = Instant::now();
    let out = env.run(&["import", &file, "--batch-size", "1000"], None);
    assert_eq!(out.code, 5, "{}", out.all());
    let rejected = rejections(&out.stderr, &pins);
    assert!(rejected >= 100, "{rejected}");
    let created = 10_000 - rejected;
    assert!(
        out.stdout.contains(&format!("{created} created")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("progress:"),
        "progress lines when not a TTY"
    );
    assert_eq!(
        env.store().await.count_patrons().await.unwrap() as usize,
        created
    );
    eprintln!(
        "10,000 rows (cheap test hashing) in {:?}",
        started.elapsed()
    );
}

/// SECURITY.md §2 item 29, with the default argon2 parameters so the kill lands mid-run.
#[tokio::test]
async fn killed_import_resumes_without_duplicates_or_rehashing() {
    let env = Env::with_config("");
    let (file, pins) = generated(&env, "thousand.csv", 1_000);
    let mut child = env
        .command(&["import", &file, "--jobs", "2", "--batch-size", "50"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut killed_at = 0u64;
    for line in stderr.lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("progress: ") {
            let done: u64 = rest.split('/').next().unwrap().parse().unwrap();
            if done >= 500 {
                child.kill().expect("kill");
                killed_at = done;
                break;
            }
        }
        assert!(Instant::now() < deadline, "no progress");
    }
    let _ = child.wait();
    assert!((500..990).contains(&killed_at), "killed at {killed_at}");
    let store = env.store().await;
    let before = store.count_patrons().await.unwrap();
    assert!(
        (500..990).contains(&before),
        "{before} rows written before the kill"
    );
    let started = Instant::now();
    let rerun = env.run(
        &["import", &file, "--jobs", "2", "--batch-size", "50"],
        None,
    );
    let elapsed = started.elapsed();
    assert_eq!(rerun.code, 5, "{}", rerun.all());
    let valid = 1_000 - rejections(&rerun.stderr, &pins) as u64;
    assert_eq!(
        store.count_patrons().await.unwrap(),
        valid,
        "no duplicates, nothing missing"
    );
    assert!(
        rerun
            .stdout
            .contains(&format!("{} created", valid - before)),
        "only the remaining rows are created: {}",
        rerun.stdout
    );
    assert!(
        rerun.stdout.contains(&format!("{before} unchanged")),
        "{}",
        rerun.stdout
    );
    eprintln!("resume of {} rows took {elapsed:?}", valid - before);
}

#[test]
fn an_unwritable_reject_report_fails_the_import_and_says_so() {
    let env = Env::new();
    let report = env.path("no-such-dir/rejects.csv");
    let out = env.run(
        &[
            "import",
            BAD_ROWS,
            "--reject-report",
            report.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 1, "a nightly job must notice: {}", out.all());
    assert!(
        out.stderr.contains("cannot write the reject report"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--reject-report"), "{}", out.stderr);
}
