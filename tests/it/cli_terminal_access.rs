//! The terminal access settings through the real binary: `terminal add/update --restricted
//! deny --deny … --detail-without-pin …`, shown by `terminal show` and by `explain`, and the
//! strength rule for a secret chosen by staff (`--password-stdin` on add and set-password).

use crate::cli_common;

use cli_common::Env;

fn import_fixture(env: &Env) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/patrons.csv");
    let out = env.run(&["import", fixture, "--progress", "none"], None);
    assert_eq!(out.code, 0, "{}", out.all());
}

/// The value `terminal show` prints for `label`.
fn shown(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("no {label:?} in {stdout}"))
}

#[test]
fn access_settings_are_set_shown_and_changed_with_stated_defaults() {
    let env = Env::new();
    let plain = env.run(
        &["terminal", "add", "selfcheck", "--operator", "alice"],
        None,
    );
    assert_eq!(plain.code, 0, "{}", plain.all());
    assert_eq!(shown(&plain.stdout, "restricted"), "flags");
    assert_eq!(shown(&plain.stdout, "deny"), "expired,blocked,lost");
    assert_eq!(shown(&plain.stdout, "detail without PIN"), "minimal");
    let deny = env.run(
        &[
            "terminal",
            "add",
            "pcbook",
            "--restricted",
            "deny",
            "--deny",
            "expired,blocked,lost,fines",
            "--detail-without-pin",
            "full",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(deny.code, 0, "{}", deny.all());
    assert_eq!(shown(&deny.stdout, "restricted"), "deny");
    assert_eq!(shown(&deny.stdout, "deny"), "expired,blocked,lost,fines");
    assert_eq!(shown(&deny.stdout, "detail without PIN"), "full");
    let update = env.run(
        &[
            "terminal",
            "update",
            "pcbook",
            "--deny",
            "none",
            "--detail-without-pin",
            "minimal",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(update.code, 0, "{}", update.all());
    let show = env.run(&["terminal", "show", "pcbook"], None);
    assert_eq!(shown(&show.stdout, "restricted"), "deny", "unchanged");
    assert_eq!(shown(&show.stdout, "deny"), "none");
    assert_eq!(shown(&show.stdout, "detail without PIN"), "minimal");
    let bad = env.run(
        &[
            "terminal",
            "update",
            "pcbook",
            "--deny",
            "expired,stolen",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("stolen"), "{}", bad.stderr);
}

#[test]
fn explain_shows_what_a_deny_mode_terminal_is_told() {
    let env = Env::new();
    import_fixture(&env);
    let out = env.run(
        &[
            "terminal",
            "add",
            "pcbook",
            "--restricted",
            "deny",
            "--operator",
            "alice",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    // Row 5: blocked. At a flags-mode terminal a correct PIN is CQ=Y; in deny mode CQ=N.
    let flags = env.run(&["explain", "21000121"], None);
    assert!(flags.stdout.contains("BL=Y CQ=Y"), "{}", flags.stdout);
    let deny = env.run(&["explain", "21000121", "--terminal", "pcbook"], None);
    assert_eq!(deny.code, 0, "{}", deny.all());
    assert!(deny.stdout.contains("deny mode"), "{}", deny.stdout);
    assert!(deny.stdout.contains("BL=Y CQ=N"), "{}", deny.stdout);
    assert!(
        deny.stdout.contains("the patron is blocked"),
        "{}",
        deny.stdout
    );
}

#[test]
fn a_chosen_secret_needs_16_characters_or_the_top_strength_score() {
    let env = Env::new();
    let weak = env.run(
        &[
            "terminal",
            "add",
            "ezproxy",
            "--password-stdin",
            "--operator",
            "alice",
        ],
        Some("Password123!\n"),
    );
    assert_eq!(weak.code, 1, "{}", weak.all());
    assert!(
        weak.stderr.contains("at least 16 characters"),
        "{}",
        weak.stderr
    );
    assert!(!weak.all().contains("Password123!"));
    // 14 characters, but random: zxcvbn's top score.
    let strong = env.run(
        &[
            "terminal",
            "add",
            "ezproxy",
            "--password-stdin",
            "--operator",
            "alice",
        ],
        Some("q7#Vz!m2Kp9@wX\n"),
    );
    assert_eq!(strong.code, 0, "{}", strong.all());
    let weak = env.run(
        &[
            "terminal",
            "set-password",
            "ezproxy",
            "--password-stdin",
            "--operator",
            "alice",
        ],
        Some("Summer2024!!\n"),
    );
    assert_eq!(weak.code, 1, "{}", weak.all());
    let strong = env.run(
        &[
            "terminal",
            "set-password",
            "ezproxy",
            "--password-stdin",
            "--operator",
            "alice",
        ],
        Some("Lp4&rT8!zQ2#vN\n"),
    );
    assert_eq!(strong.code, 0, "{}", strong.all());
}
