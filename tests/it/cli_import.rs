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
            "--weak-pins",
            "reject-row",
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
    let strict = env.run(
        &["import", BAD_ROWS, "--strict", "--weak-pins", "reject-row"],
        None,
    );
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
    let out = env.run(
        &[
            "import",
            &file,
            "--batch-size",
            "1000",
            "--weak-pins",
            "reject-row",
        ],
        None,
    );
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
        .command(&[
            "import",
            &file,
            "--jobs",
            "2",
            "--batch-size",
            "50",
            "--weak-pins",
            "reject-row",
        ])
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
        &[
            "import",
            &file,
            "--jobs",
            "2",
            "--batch-size",
            "50",
            "--weak-pins",
            "reject-row",
        ],
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

#[test]
fn crlf_files_report_the_same_line_numbers_as_lf_files() {
    let env = Env::new();
    let lf = std::fs::read_to_string(BAD_ROWS).unwrap();
    let crlf = env.path("bad_rows_crlf.csv");
    std::fs::write(&crlf, lf.replace('\n', "\r\n")).unwrap();
    let report = env.path("rejects.csv");
    let out = env.run(
        &[
            "import",
            crlf.to_str().unwrap(),
            "--weak-pins",
            "reject-row",
            "--reject-report",
            report.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 5, "{}", out.all());
    for expected in [
        "line 3 (card 3100002): pin refused",
        "line 9: has 4 fields, the header has 8",
        "line 13 (card 3100012): fines must be an amount",
    ] {
        assert!(
            out.stderr.contains(expected),
            "{expected:?} in\n{}",
            out.stderr
        );
    }
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.contains("\n3,3100002,"), "{written}");
    assert!(written.contains("\n13,3100012,"), "{written}");
}

#[test]
fn the_delimiter_is_detected_and_said_or_given() {
    let env = Env::new();
    let semicolons = env.path("semicolons.csv");
    std::fs::write(
        &semicolons,
        "card;institution;family_name;given_names;fines\n4100001;MAIN;Dupont;Anne, Marie;1.50\n",
    )
    .unwrap();
    let out = env.run(&["import", semicolons.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("fields separated by semicolon (;) (detected"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("1 created"), "{}", out.stdout);
    let tabs = env.path("tabs.tsv");
    std::fs::write(
        &tabs,
        "card\tinstitution\tfamily_name\n4100002\tMAIN\tTab\n",
    )
    .unwrap();
    let given = env.run(
        &["import", tabs.to_str().unwrap(), "--delimiter", "tab"],
        None,
    );
    assert_eq!(given.code, 0, "{}", given.all());
    assert!(!given.stderr.contains("detected"), "{}", given.stderr);
    let wrong = env.run(
        &["import", tabs.to_str().unwrap(), "--delimiter", ";"],
        None,
    );
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    let bad = env.run(
        &["import", tabs.to_str().unwrap(), "--delimiter", "|"],
        None,
    );
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("unknown delimiter"), "{}", bad.stderr);
}

#[test]
fn a_header_only_file_and_a_binary_file_are_refused() {
    let env = Env::new();
    let header_only = env.path("header.csv");
    std::fs::write(&header_only, "card,institution,family_name\r\n").unwrap();
    let out = env.run(&["import", header_only.to_str().unwrap()], None);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("no patron rows"), "{}", out.stderr);
    let binary = env.path("export.xlsx");
    let mut bytes = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00".to_vec();
    bytes.extend((0u8..=255).cycle().take(2048));
    std::fs::write(&binary, &bytes).unwrap();
    let out = env.run(&["import", binary.to_str().unwrap()], None);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("binary data"), "{}", out.stderr);
    assert!(!out.stderr.contains("unknown column"), "{}", out.stderr);
}

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/patrons.csv");

#[tokio::test]
async fn ils_exports_import_with_their_profile() {
    use sip2auth::store::PatronStatus;
    let env = Env::new();
    let koha = env.path("koha.csv");
    std::fs::write(
        &koha,
        "borrowernumber,cardnumber,surname,firstname,title,email,phone,dateofbirth,branchcode,\
         categorycode,dateenrolled,dateexpiry,lost\n\
         1,K0001,García,Ana,Ms,ana@example.org,555 0101,1980-02-03,CPL,PT,2020-01-01,2027-12-31,0\n\
         2,K0002,Okafor,Chidi,,,,,CPL,ST,2020-01-01,2027-12-31,1\n",
    )
    .unwrap();
    let unmapped = env.run(&["import", koha.to_str().unwrap()], None);
    assert_eq!(unmapped.code, 2, "{}", unmapped.all());
    assert!(
        unmapped
            .stderr
            .contains("unknown column \"borrowernumber\"")
            && unmapped.stderr.contains("--profile koha|evergreen|folio"),
        "{}",
        unmapped.stderr
    );
    let out = env.run(
        &[
            "import",
            koha.to_str().unwrap(),
            "--profile",
            "koha",
            "--institution",
            "CPL",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("2 created"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("profile koha: skipped 3 column(s) it does not map: borrowernumber, title, dateenrolled"),
        "{}",
        out.stderr
    );
    let store = env.store().await;
    let ana = store
        .find_by_card("CPL", "K0001")
        .await
        .unwrap()
        .expect("K0001");
    assert_eq!(ana.patron.details.name.display, "García, Ana");
    assert_eq!(ana.patron.details.patron_class.as_deref(), Some("PT"));
    assert_eq!(ana.patron.details.home_library.as_deref(), Some("CPL"));
    assert_eq!(
        ana.patron.details.expires_on.unwrap().to_string(),
        "2027-12-31"
    );
    let lost = store
        .find_by_card("CPL", "K0002")
        .await
        .unwrap()
        .expect("K0002");
    assert_eq!(lost.patron.status, PatronStatus::CardLost);

    let folio = env.path("folio.csv");
    std::fs::write(
        &folio,
        "id,username,barcode,active,patronGroup,personal.lastName,personal.firstName,\
         personal.email,personal.phone,personal.dateOfBirth,expirationDate\n\
         u1,fa,F0001,true,undergrad,Fagerlund,Eva,eva@example.org,+46 8 123,1999-05-06,2028-01-31T23:59:59.000+00:00\n\
         u2,fb,F0002,false,staff,Berg,Nils,,,,\n",
    )
    .unwrap();
    let out = env.run(
        &["import", folio.to_str().unwrap(), "--profile", "folio"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let eva = store
        .find_by_card("MAIN", "F0001")
        .await
        .unwrap()
        .expect("F0001");
    assert_eq!(
        eva.patron.details.expires_on.unwrap().to_string(),
        "2028-01-31"
    );
    assert_eq!(
        eva.patron.details.patron_class.as_deref(),
        Some("undergrad")
    );
    let inactive = store
        .find_by_card("MAIN", "F0002")
        .await
        .unwrap()
        .expect("F0002");
    assert!(matches!(
        inactive.patron.status,
        PatronStatus::Blocked { .. }
    ));

    let evergreen = env.path("evergreen.csv");
    std::fs::write(
        &evergreen,
        "usrname,barcode,family_name,first_given_name,day_phone,dob,profile,home_ou,expire_date,barred\n\
         ev1,E0001,Nakamura,Yui,555-0199,1975-11-12,Patrons,BR1,2029-03-01 00:00:00-05,f\n\
         ev2,E0002,Silva,João,,,Patrons,BR1,2029-03-01 00:00:00-05,t\n",
    )
    .unwrap();
    let out = env.run(
        &[
            "import",
            evergreen.to_str().unwrap(),
            "--profile",
            "evergreen",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let barred = store
        .find_by_card("MAIN", "E0002")
        .await
        .unwrap()
        .expect("E0002");
    assert!(matches!(barred.patron.status, PatronStatus::Blocked { .. }));
    let yui = store
        .find_by_card("MAIN", "E0001")
        .await
        .unwrap()
        .expect("E0001");
    assert_eq!(yui.patron.details.phone.as_deref(), Some("555-0199"));
}

#[tokio::test]
async fn a_mapping_file_names_the_columns_and_status_values() {
    use sip2auth::store::PatronStatus;
    let env = Env::new();
    let map = env.path("columns.toml");
    std::fs::write(
        &map,
        "[columns]\ncard = \"Barcode\"\nfamily_name = \"Last name\"\ngiven_names = \"First name\"\n\
         status = \"State\"\ninstitution = \"Site\"\n\
         [status]\nA = \"active\"\nS = \"blocked\"\nL = \"lost\"\n",
    )
    .unwrap();
    let file = env.path("export.csv");
    std::fs::write(
        &file,
        "Barcode;Last name;First name;State;Site;Notes\n\
         M001;Weber;Jonas;A;EAST;x\nM002;Klein;Mia;S;EAST;y\nM003;Brandt;Ole;L;WEST;\nM004;Hahn;Ida;Q;EAST;\n",
    )
    .unwrap();
    let out = env.run(
        &[
            "import",
            file.to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(out.stdout.contains("3 created"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("line 5 (card M004): status \"Q\" is not active, blocked or lost"),
        "{}",
        out.stderr
    );
    let store = env.store().await;
    let mia = store
        .find_by_card("EAST", "M002")
        .await
        .unwrap()
        .expect("M002");
    assert!(matches!(mia.patron.status, PatronStatus::Blocked { .. }));
    let ole = store
        .find_by_card("WEST", "M003")
        .await
        .unwrap()
        .expect("M003");
    assert_eq!(ole.patron.status, PatronStatus::CardLost);
    let bad_map = env.path("bad.toml");
    std::fs::write(&bad_map, "[columns]\nsurname = \"Last name\"\n").unwrap();
    let out = env.run(
        &[
            "import",
            file.to_str().unwrap(),
            "--map",
            bad_map.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("not one of our columns"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn the_demo_patrons_file_imports() {
    let env = Env::new();
    let out = env.run(&["import", DEMO], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("9 created, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        out.stdout
    );
    let store = env.store().await;
    let temporary = store
        .find_by_card("MAIN", "21234000066666")
        .await
        .unwrap()
        .expect("default-PIN patron");
    assert!(temporary.patron.pin.expect("pin").must_change);
    let lost = store
        .find_by_card("MAIN", "21234000044444")
        .await
        .unwrap()
        .expect("lost card");
    assert_eq!(lost.patron.status, sip2auth::store::PatronStatus::CardLost);
}

/// BAD_ROWS has three rows whose PIN the rules refuse (lines 3, 6 and 10: a sequence, letters,
/// the birth year); by default they load, their PIN flagged must-change.
#[tokio::test]
async fn a_weak_pin_still_loads_the_patron_flagged_or_without_it() {
    let env = Env::new();
    let out = env.run(&["import", BAD_ROWS], None);
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(
        out.stdout
            .contains("3 PIN(s) break the PIN rules: they were stored flagged must-change"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("card 3100002"), "{}", out.stderr);
    let explained = env.run(&["explain", "3100002"], None);
    assert_eq!(explained.code, 0, "{}", explained.all());
    assert!(explained.stdout.contains("BL=Y"), "{}", explained.stdout);
    assert!(
        explained.stdout.contains("must be changed"),
        "{}",
        explained.stdout
    );
    let store = env.store().await;
    let flagged = store
        .find_by_card("MAIN", "3100002")
        .await
        .unwrap()
        .unwrap();
    assert!(flagged.patron.pin.expect("pin kept").must_change);

    let skip = Env::new();
    let out = skip.run(&["import", BAD_ROWS, "--weak-pins", "skip"], None);
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(
        out.stdout
            .contains("patron(s) were loaded without their PIN, which breaks the PIN rules"),
        "{}",
        out.stdout
    );
    let explained = skip.run(&["explain", "3100002"], None);
    assert_eq!(explained.code, 0, "{}", explained.all());
    let valid = explained
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("valid patron (BL)"))
        .unwrap_or_default();
    assert!(
        valid.trim_end().ends_with('Y') && explained.stdout.contains("no PIN on file"),
        "{}",
        explained.stdout
    );

    let reject = Env::new();
    let out = reject.run(&["import", BAD_ROWS, "--weak-pins", "reject-row"], None);
    assert!(out.stderr.contains("line 3 (card 3100002): pin refused"));
    let explained = reject.run(&["explain", "3100002"], None);
    assert_eq!(explained.code, 4, "{}", explained.all());
}

/// The fixture without the rows of `drop` cards (by index among its 36 rows).
fn fixture_without(env: &Env, name: &str, drop: usize) -> String {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let mut lines = text.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    kept.extend(lines.skip(drop).map(str::to_string));
    let path = env.path(name);
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    path.display().to_string()
}

async fn audit_actions(env: &Env) -> Vec<(String, String, Option<String>)> {
    env.store()
        .await
        .list_audit(&sip2auth::store::AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.entry.action, e.entry.outcome, e.entry.reason))
        .collect()
}

#[tokio::test]
async fn sync_expires_the_patrons_missing_from_the_file_within_the_allowed_share() {
    let env = Env::new();
    assert_eq!(env.run(&["import", FIXTURE], None).code, 0);
    // 3 of 36 missing (8%): within the default 10%.
    let small = fixture_without(&env, "minus3.csv", 3);
    let dry = env.run(&["import", &small, "--sync", "--dry-run"], None);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout
            .contains("sync: 3 patron(s) missing from the file would be expired"),
        "{}",
        dry.stdout
    );
    let out = env.run(&["import", &small, "--sync"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("sync: 3 patron(s) missing from the file were expired"),
        "{}",
        out.stdout
    );
    let store = env.store().await;
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let gone = store
        .find_by_card("MAIN", "21000100")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.patron.details.expires_on, Some(yesterday));
    let explained = env.run(&["explain", "21000100"], None);
    assert!(explained.stdout.contains("expired"), "{}", explained.stdout);
    let audit = audit_actions(&env).await;
    assert_eq!(
        audit
            .iter()
            .filter(|(a, o, _)| a == "import_sync" && o == "expired")
            .count(),
        3
    );
    // A rerun expires nobody more: the three are already expired.
    let again = env.run(&["import", &small, "--sync"], None);
    assert!(
        again.stdout.contains("sync: 0 patron(s)"),
        "{}",
        again.stdout
    );
}

#[tokio::test]
async fn sync_is_refused_above_the_share_unless_forced_and_can_remove() {
    let env = Env::new();
    assert_eq!(env.run(&["import", FIXTURE], None).code, 0);
    // 16 of 36 missing; 9 of them not yet expired, so an expiring sync would change 25%.
    let half = fixture_without(&env, "half.csv", 16);
    let refused = env.run(&["import", &half, "--sync"], None);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains("--sync would expire 9 of the 36 patron(s) of MAIN (25%), missing from the file: more than the 10% allowed")
            && refused.stderr.contains("--force"),
        "{}",
        refused.stderr
    );
    let store = env.store().await;
    let kept = store
        .find_by_card("MAIN", "21000100")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.patron.details.expires_on, None, "nothing was written");
    let config_share = Env::with_config(&format!(
        "{}[import]\nsync_max_share = 0.5\n",
        cli_common::CHEAP_HASHING
    ));
    assert_eq!(config_share.run(&["import", FIXTURE], None).code, 0);
    let half_there = fixture_without(&config_share, "half.csv", 16);
    let allowed = config_share.run(&["import", &half_there, "--sync=remove"], None);
    assert_eq!(allowed.code, 0, "{}", allowed.all());
    assert!(
        allowed
            .stdout
            .contains("sync: 16 patron(s) missing from the file were removed"),
        "{}",
        allowed.stdout
    );
    assert_eq!(
        config_share.store().await.count_patrons().await.unwrap(),
        20
    );
    let narrow = env.run(&["import", &half, "--sync", "--sync-max-share", "5%"], None);
    assert_eq!(narrow.code, 1, "{}", narrow.all());
    let forced = env.run(&["import", &half, "--sync=remove", "--force"], None);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(store.count_patrons().await.unwrap(), 20);
    let audit = audit_actions(&env).await;
    assert_eq!(
        audit
            .iter()
            .filter(|(a, o, _)| a == "import_sync" && o == "removed")
            .count(),
        16
    );
}

/// Ctrl-C: a real SIGINT mid-run ends the import after the batch being written, with an audit
/// record and a statement of what was written.
#[tokio::test]
async fn sigint_stops_the_import_and_says_what_it_wrote() {
    let env = Env::with_config("");
    let (file, _) = generated(&env, "sigint.csv", 1_000);
    let mut child = env
        .command(&[
            "import",
            &file,
            "--jobs",
            "2",
            "--batch-size",
            "50",
            "--sync",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("line") > 0,
            "ended early"
        );
        if let Some(rest) = line.strip_prefix("progress: ") {
            let done: u64 = rest.split('/').next().unwrap().parse().unwrap();
            if done >= 100 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no progress");
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{rest}");
    let said = rest
        .lines()
        .find(|l| l.starts_with("interrupted (Ctrl-C): "))
        .unwrap_or_else(|| panic!("no interruption line in {rest}"));
    let written: u64 = said
        .trim_start_matches("interrupted (Ctrl-C): ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(said.contains("--sync was not applied"), "{said}");
    assert!((100..1_000).contains(&written), "{said}");
    assert_eq!(env.store().await.count_patrons().await.unwrap(), written);
    let audit = audit_actions(&env).await;
    let record = audit
        .iter()
        .find(|(a, o, _)| a == "import" && o == "interrupted")
        .expect("an interrupted audit record");
    assert!(
        record
            .2
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("interrupted after {written} of")),
        "{record:?}"
    );
}

#[test]
fn pins_already_on_file_are_said_once_per_run() {
    let env = Env::new();
    assert_eq!(env.run(&["import", FIXTURE], None).code, 0);
    let out = env.run(&["import", FIXTURE, "--batch-size", "1"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let all = out.all();
    assert_eq!(all.matches("already had a PIN").count(), 1, "{all}");
    assert!(
        out.stdout
            .contains("existing patron(s) already had a PIN: the file's PIN was not applied"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}
