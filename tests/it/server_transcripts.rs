//! Every fixtures/transcripts/*.sip file, replayed byte for byte against a fresh server, on
//! SQLite and on PostgreSQL.

use crate::support;

use sip2auth::store::Backend;

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {
        mod transcript {
            use super::*;

            $(
                async fn $name(backend: Backend) {
                    let server = support::start(backend).await;
                    support::transcript::replay(&server, stringify!($name)).await;
                }
            )*
            sip2auth::store_test_on_both_backends!($($name),*);
        }

        #[test]
        fn every_transcript_file_is_listed() {
            let listed = [$(stringify!($name)),*];
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transcripts");
            for entry in std::fs::read_dir(dir).expect("transcripts dir") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "sip") {
                    let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
                    assert!(listed.contains(&stem), "{stem}.sip is not replayed");
                }
            }
        }
    };
}

transcripts!(
    login_defence,
    block_patron,
    block_patron_refused,
    circulation_refused,
    deny_mode,
    detail_without_pin,
    end_session,
    error_detection,
    error_detection_off,
    error_detection_required,
    garbage,
    locked,
    login_accepted,
    login_refused,
    login_wrong_address,
    malformed,
    minimal_detail,
    no_login_refused_address,
    no_login_terminal,
    patron_information,
    patron_status,
    pin_not_echoed,
    pre_login_refused,
    terminators,
    unknown_command,
);
