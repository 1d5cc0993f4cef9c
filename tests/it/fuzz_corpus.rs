//! The committed fuzz corpus (fuzz/corpus/<target>/*) replayed on stable through the same code
//! the fuzz targets run (fuzz/harness/): every input of every target keeps its invariants. The
//! session corpus runs against a real store on SQLite and on PostgreSQL. Inputs a fuzz run
//! found (crashes, hangs) are kept in the corpus under their own names and listed in
//! FUZZING.md, so each finding stays a regression test here.

use std::path::PathBuf;

use sip2auth::store::Backend;

#[allow(dead_code)]
#[path = "../../fuzz/harness/mod.rs"]
mod harness;

/// Every input of one target's corpus, with its file name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("corpus input"))
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

/// Runs `run` on every input, naming the input that broke an invariant.
fn replay(target: &str, run: impl Fn(&[u8])) {
    for (name, data) in corpus(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(
            outcome.is_ok(),
            "fuzz/corpus/{target}/{name} breaks an invariant"
        );
    }
}

#[test]
fn the_frame_corpus_keeps_the_decoder_invariants() {
    replay("frame", harness::frame::run);
}

#[test]
fn the_message_corpus_keeps_the_parser_invariants() {
    replay("message", harness::message::run);
}

#[test]
fn the_session_corpus_gets_only_valid_responses_on_sqlite() {
    replay("session", |data| {
        harness::session::run_on(Backend::Sqlite, data)
    });
}

#[test]
fn the_session_corpus_gets_only_valid_responses_on_postgres() {
    replay("session", |data| {
        harness::session::run_on(Backend::Postgres, data)
    });
}
