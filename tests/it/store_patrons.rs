//! Patron, card, credential-hash and meta behaviour of the store, on SQLite and PostgreSQL.

use chrono::{NaiveDate, TimeZone, Utc};
use sip2auth::store::testing::{sample_patron, TempDb};
use sip2auth::store::{
    ConnectOptions, CredentialHash, Error, PatronFilter, PatronStatus, PersonName, Store,
};
use sip2auth::store_test_on_both_backends;

fn pin(phc: &str) -> CredentialHash {
    CredentialHash {
        phc: phc.to_owned(),
        key_id: 1,
        must_change: true,
        default_expires_at: Utc.timestamp_opt(1_900_000_000, 0).single(),
    }
}

async fn patron_round_trips_every_column(db: TempDb) {
    let store = db.store();
    let mut new = sample_patron("MAIN", "2000001");
    new.details.name = PersonName::new("Øster", "Zoë");
    new.details.phone = Some("+43 1 234".into());
    new.details.birth_date = NaiveDate::from_ymd_opt(1990, 2, 28);
    new.details.fines_owed_minor = 1250;
    new.details.fee_limit_minor = None;
    new.details.currency = "CHF".parse().unwrap();
    new.pin = Some(pin("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    let id = store.create_patron(&new).await.unwrap();

    let got = store.get_patron(id).await.unwrap().expect("patron");
    assert_eq!(got.id, id);
    assert_eq!(got.institution, "MAIN");
    assert_eq!(got.details, new.details);
    assert_eq!(got.details.name.display, "Øster, Zoë");
    assert_eq!(got.status, PatronStatus::Active);
    assert_eq!(got.pin, new.pin);
    assert_eq!(got.password, None);
    assert_eq!(got.pin_lock.failures, 0);
    assert!(
        !format!("{got:?}").contains("argon2id"),
        "Debug must redact hashes"
    );

    let record = store
        .find_by_card("MAIN", "2000001")
        .await
        .unwrap()
        .expect("record");
    assert_eq!(record.patron, got);
    assert_eq!(record.card.number, "2000001");
    assert!(!record.card.lost);
    assert!(store
        .find_by_card("OTHER", "2000001")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_patron(sip2auth::store::PatronId(id.0 + 1000))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.count_patrons().await.unwrap(), 1);
}

async fn card_number_is_unique_per_institution(db: TempDb) {
    let store = db.store();
    let first = store
        .create_patron(&sample_patron("MAIN", "42"))
        .await
        .unwrap();
    let err = store
        .create_patron(&sample_patron("MAIN", "42"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Duplicate {
                what: "card number"
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.count_patrons().await.unwrap(),
        1,
        "failed create leaves nothing"
    );
    // Another institution may use the same number.
    let other = store
        .create_patron(&sample_patron("BRANCH", "42"))
        .await
        .unwrap();
    assert_ne!(first, other);
    // A second card for a patron obeys the same rule.
    let err = store.add_card(other, "42").await.unwrap_err();
    assert!(matches!(err, Error::Duplicate { .. }), "{err:?}");
    store.add_card(other, "43").await.unwrap();
    let err = store
        .add_card(sip2auth::store::PatronId(-1), "44")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

async fn lost_card_still_resolves_and_is_flagged(db: TempDb) {
    let store = db.store();
    let id = store
        .create_patron(&sample_patron("MAIN", "old"))
        .await
        .unwrap();
    store.add_card(id, "new").await.unwrap();
    store.mark_card_lost("MAIN", "old", true).await.unwrap();
    let old = store.find_by_card("MAIN", "old").await.unwrap().unwrap();
    assert!(old.card.lost && old.card.lost_at.is_some());
    assert_eq!(old.patron.id, id);
    let new = store.find_by_card("MAIN", "new").await.unwrap().unwrap();
    assert!(!new.card.lost);
    let cards = store.cards(id).await.unwrap();
    assert_eq!(
        cards.iter().map(|c| c.number.as_str()).collect::<Vec<_>>(),
        ["old", "new"]
    );
    let err = store
        .mark_card_lost("MAIN", "nope", true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
}

async fn update_status_and_remove(db: TempDb) {
    let store = db.store();
    let id = store
        .create_patron(&sample_patron("MAIN", "7"))
        .await
        .unwrap();
    let mut details = store.get_patron(id).await.unwrap().unwrap().details;
    details.email = None;
    details.fines_owed_minor = 300;
    details.expires_on = NaiveDate::from_ymd_opt(2027, 1, 1);
    store.update_patron(id, &details).await.unwrap();
    assert_eq!(
        store.get_patron(id).await.unwrap().unwrap().details,
        details
    );

    store.block(id, "unpaid fees").await.unwrap();
    let blocked = store.get_patron(id).await.unwrap().unwrap().status;
    assert_eq!(
        blocked,
        PatronStatus::Blocked {
            reason: "unpaid fees".into()
        }
    );
    store.set_status(id, &PatronStatus::CardLost).await.unwrap();
    assert_eq!(
        store.get_patron(id).await.unwrap().unwrap().status,
        PatronStatus::CardLost
    );
    store.unblock(id).await.unwrap();
    assert_eq!(
        store.get_patron(id).await.unwrap().unwrap().status,
        PatronStatus::Active
    );

    store.remove_patron(id).await.unwrap();
    assert!(store.get_patron(id).await.unwrap().is_none());
    assert!(
        store.find_by_card("MAIN", "7").await.unwrap().is_none(),
        "cards go too"
    );
    assert!(matches!(
        store.remove_patron(id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.update_patron(id, &details).await,
        Err(Error::NotFound { .. })
    ));
}

async fn list_patrons_filters_and_pages(db: TempDb) {
    let store = db.store();
    for (i, family) in ["Austen", "Brontë", "Carroll", "Austin"].iter().enumerate() {
        let mut p = sample_patron(if i == 3 { "BRANCH" } else { "MAIN" }, &format!("c{i}"));
        p.details.name = PersonName::new(*family, "X");
        store.create_patron(&p).await.unwrap();
    }
    let all = store.list_patrons(&PatronFilter::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    let main = PatronFilter {
        institution: Some("MAIN".into()),
        ..Default::default()
    };
    assert_eq!(store.list_patrons(&main).await.unwrap().len(), 3);
    let aust = PatronFilter {
        name_contains: Some("AUST".into()),
        ..Default::default()
    };
    assert_eq!(store.list_patrons(&aust).await.unwrap().len(), 2);
    let page1 = PatronFilter {
        limit: 3,
        ..Default::default()
    };
    let first = store.list_patrons(&page1).await.unwrap();
    assert_eq!(first.len(), 3);
    let page2 = PatronFilter {
        limit: 3,
        after: Some(first[2].id),
        ..Default::default()
    };
    let second = store.list_patrons(&page2).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].id > first[2].id);
}

async fn credential_hashes_are_set_cleared_and_replaced_only_if_unchanged(db: TempDb) {
    let store = db.store();
    let id = store
        .create_patron(&sample_patron("MAIN", "9"))
        .await
        .unwrap();
    store.set_pin_hash(id, &pin("$argon2id$old")).await.unwrap();
    store
        .set_password_hash(id, &pin("$argon2id$pw"))
        .await
        .unwrap();
    assert!(store
        .replace_pin_hash_if_unchanged(id, "$argon2id$old", "$argon2id$new", 2)
        .await
        .unwrap());
    assert!(!store
        .replace_pin_hash_if_unchanged(id, "$argon2id$old", "$argon2id$newer", 3)
        .await
        .unwrap());
    let p = store.get_patron(id).await.unwrap().unwrap();
    let stored = p.pin.unwrap();
    assert_eq!(
        (stored.phc.as_str(), stored.key_id, stored.must_change),
        ("$argon2id$new", 2, true)
    );
    assert!(store
        .replace_password_hash_if_unchanged(id, "$argon2id$pw", "$argon2id$pw2", 2)
        .await
        .unwrap());
    assert_eq!(
        store
            .get_patron(id)
            .await
            .unwrap()
            .unwrap()
            .password
            .unwrap()
            .phc,
        "$argon2id$pw2"
    );
    store.clear_pin_hash(id).await.unwrap();
    store.clear_password_hash(id).await.unwrap();
    let p = store.get_patron(id).await.unwrap().unwrap();
    assert!(p.pin.is_none() && p.password.is_none());
}

async fn no_clear_secret_is_stored(db: TempDb) {
    let store = db.store();
    let mut p = sample_patron("MAIN", "5550001");
    p.pin = Some(pin(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0",
    ));
    store.create_patron(&p).await.unwrap();
    assert!(db
        .text_columns_containing(&["7391", "Tr0ub4dor&3"])
        .await
        .unwrap()
        .is_empty());
    // The scanner does see what is there.
    let hits = db.text_columns_containing(&["5550001"]).await.unwrap();
    assert_eq!(hits, vec![("cards".to_owned(), "card_number".to_owned())]);
}

async fn meta_values_round_trip(db: TempDb) {
    let store = db.store();
    assert_eq!(store.get_meta("pepper_fingerprint").await.unwrap(), None);
    store.set_meta("pepper_fingerprint", "abc").await.unwrap();
    store.set_meta("pepper_fingerprint", "def").await.unwrap();
    assert_eq!(
        store
            .get_meta("pepper_fingerprint")
            .await
            .unwrap()
            .as_deref(),
        Some("def")
    );
    assert!(!store
        .insert_meta_if_absent("pepper_fingerprint", "ghi")
        .await
        .unwrap());
    assert!(store.delete_meta("pepper_fingerprint").await.unwrap());
    assert!(!store.delete_meta("pepper_fingerprint").await.unwrap());
    assert!(store
        .insert_meta_if_absent("pepper_fingerprint", "ghi")
        .await
        .unwrap());
    assert_eq!(
        store
            .get_meta("pepper_fingerprint")
            .await
            .unwrap()
            .as_deref(),
        Some("ghi")
    );
    store.migrate().await.unwrap(); // idempotent
    store.ping().await.unwrap();
}

store_test_on_both_backends!(
    patron_round_trips_every_column,
    card_number_is_unique_per_institution,
    lost_card_still_resolves_and_is_flagged,
    update_status_and_remove,
    list_patrons_filters_and_pages,
    credential_hashes_are_set_cleared_and_replaced_only_if_unchanged,
    no_clear_secret_is_stored,
    meta_values_round_trip,
);

#[tokio::test]
async fn unreachable_postgres_is_reported_unavailable() {
    let opts = ConnectOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..ConnectOptions::default()
    };
    let err = Store::connect("postgres://postgres:s3cret@127.0.0.1:1/none", &opts)
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn unknown_url_scheme_is_refused_without_echoing_the_url() {
    let err = Store::connect("mysql://u:s3cret@h/db", &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedUrl { .. }));
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn closed_store_is_unavailable() {
    let db = TempDb::new(sip2auth::store::Backend::Sqlite).await.unwrap();
    db.store().close().await;
    let err = db.store().get_meta("x").await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}
