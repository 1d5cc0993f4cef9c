//! Terminals, reset tokens, audit log, per-terminal failure budget and bulk import, on SQLite and
//! PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sip2auth::auth::{
    ErrorDetection, NewTerminal, PatronCredential, PatronDetail, Terminal, TerminalSettings,
    Terminator,
};
use sip2auth::sip2::{Charset, RequestKind, RequestSet};
use sip2auth::store::testing::{sample_patron, TempDb};
use sip2auth::store::{
    AuditQuery, CredentialHash, Error, FailureKind, NewAuditEntry, NewTerminalFailure,
    PatronImport, PatronStatus, Store, StoredHash, SyncAction, TerminalId, TokenDigest,
    UpsertOutcome,
};
use sip2auth::store_test_on_both_backends;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 1, 12, 0, 0).unwrap()
}

fn terminal(login_id: &str) -> NewTerminal {
    let mut settings = TerminalSettings::new("MAIN");
    settings.location_code = Some("desk-1".into());
    settings.allowed_cidrs = vec![
        "10.0.0.0/8".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
    ];
    settings.login_optional = true;
    settings.patron_credential = PatronCredential::Either;
    settings.allowed_messages = "23, 63 93 99".parse().unwrap();
    settings.patron_detail = PatronDetail::Minimal;
    settings.charset = Charset::Cp850;
    settings.terminator = Terminator::CrLf;
    settings.error_detection = ErrorDetection::Required;
    NewTerminal {
        login_id: login_id.into(),
        password: Some(StoredHash {
            phc: "$argon2id$term".into(),
            key_id: 4,
        }),
        settings,
    }
}

/// The typed terminal of the row with this id, if any.
async fn terminal_by_id(store: &Store, id: TerminalId) -> Option<Terminal> {
    let row = store.get_terminal(id).await.unwrap();
    row.map(|row| Terminal::from_row(row).unwrap())
}

async fn terminal_round_trip_update_and_remove(db: TempDb) {
    let store = db.store();
    let new = terminal("sc-01");
    let id = store.create_terminal(&new.row()).await.unwrap();
    let got = store
        .terminal_by_login("sc-01")
        .await
        .unwrap()
        .map(|row| Terminal::from_row(row).unwrap())
        .expect("terminal");
    assert_eq!((got.id, got.login_id.as_str()), (id, "sc-01"));
    assert_eq!(got.password, new.password);
    assert_eq!(got.settings, new.settings);
    assert!(got
        .settings
        .allowed_messages
        .contains(RequestKind::PatronInformationRequest));
    assert!(!format!("{got:?}").contains("argon2id"));
    assert_eq!(terminal_by_id(store, id).await, Some(got));

    let err = store
        .create_terminal(&terminal("sc-01").row())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Duplicate {
                what: "terminal login id"
            }
        ),
        "{err:?}"
    );

    let free = NewTerminal {
        password: None,
        ..terminal("pc-booking")
    };
    let free_id = store.create_terminal(&free.row()).await.unwrap();
    assert_eq!(terminal_by_id(store, free_id).await.unwrap().password, None);
    let logins: Vec<_> = store
        .list_terminals()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.login_id)
        .collect();
    assert_eq!(logins, ["pc-booking", "sc-01"]);
    assert_eq!(store.count_terminals().await.unwrap(), 2);

    let defaults = TerminalSettings::new("BRANCH");
    store
        .update_terminal(id, &defaults.columns())
        .await
        .unwrap();
    store.set_terminal_enabled(id, false).await.unwrap();
    let hash = StoredHash {
        phc: "$argon2id$rotated".into(),
        key_id: 5,
    };
    store
        .set_terminal_password_hash(id, Some(&hash))
        .await
        .unwrap();
    let got = terminal_by_id(store, id).await.unwrap();
    assert_eq!(
        got.settings,
        TerminalSettings {
            enabled: false,
            ..defaults
        }
    );
    assert_eq!(got.password, Some(hash));

    store.remove_terminal(id).await.unwrap();
    assert!(store.terminal_by_login("sc-01").await.unwrap().is_none());
    assert!(matches!(
        store.remove_terminal(id).await,
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn message_codes_must_be_two_digits() {
    assert!("23 63".parse::<RequestSet>().is_ok());
    assert!("6".parse::<RequestSet>().is_err());
    assert!("6A".parse::<RequestSet>().is_err());
    assert!("١٢".parse::<RequestSet>().is_err());
    assert!("utf-8".parse::<Charset>().is_ok() && "ebcdic".parse::<Charset>().is_err());
}

fn digest(byte: u8) -> TokenDigest {
    TokenDigest([byte; 32])
}

async fn reset_token_is_single_use_newest_only_and_expires(db: TempDb) {
    let store = db.store();
    let id = store
        .create_patron(&sample_patron("MAIN", "1"))
        .await
        .unwrap();
    let expires = t0() + Duration::minutes(30);

    store
        .issue_reset_token(id, &digest(1), expires)
        .await
        .unwrap();
    assert_eq!(
        store.consume_reset_token(&digest(1), t0()).await.unwrap(),
        Some(id)
    );
    assert_eq!(
        store.consume_reset_token(&digest(1), t0()).await.unwrap(),
        None,
        "single use"
    );

    store
        .issue_reset_token(id, &digest(2), expires)
        .await
        .unwrap();
    store
        .issue_reset_token(id, &digest(3), expires)
        .await
        .unwrap();
    assert_eq!(
        store.consume_reset_token(&digest(2), t0()).await.unwrap(),
        None,
        "newest only"
    );
    let late = t0() + Duration::minutes(31);
    assert_eq!(
        store.consume_reset_token(&digest(3), late).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.purge_expired_reset_tokens(late).await.unwrap(), 1);
    assert_eq!(
        store.consume_reset_token(&digest(3), t0()).await.unwrap(),
        None,
        "purged"
    );

    // Concurrent consumers: exactly one wins.
    store
        .issue_reset_token(id, &digest(4), expires)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.consume_reset_token(&digest(4), t0()).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().unwrap().is_some());
    }
    assert_eq!(winners, 1);

    // Only the digest is stored.
    let hits = db
        .text_columns_containing(&[&hex_of(&digest(4))[..8]])
        .await
        .unwrap();
    assert!(hits.is_empty(), "consumed token left a trace: {hits:?}");
    let missing = sip2auth::store::PatronId(id.0 + 50);
    let err = store
        .issue_reset_token(missing, &digest(5), expires)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

fn hex_of(d: &TokenDigest) -> String {
    d.0.iter().map(|b| format!("{b:02x}")).collect()
}

fn audit(at: DateTime<Utc>, actor: &str, outcome: &str) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: actor.into(),
        card_pseudonym: Some("p:1a2b".into()),
        action: "pin_check".into(),
        outcome: outcome.into(),
        reason: None,
    }
}

async fn audit_log_appends_lists_and_purges(db: TempDb) {
    let store = db.store();
    let old = audit(t0() - Duration::days(400), "sc-01", "wrong_pin");
    let recent = audit(t0(), "staff:alice", "ok");
    let first = store.append_audit(&old).await.unwrap();
    let second = store.append_audit(&recent).await.unwrap();
    assert!(second > first);

    let all = store.list_audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| &e.entry).collect::<Vec<_>>(),
        [&recent, &old]
    );
    let by_actor = AuditQuery {
        actor: Some("sc-01".into()),
        ..Default::default()
    };
    assert_eq!(store.list_audit(&by_actor).await.unwrap().len(), 1);
    let since = AuditQuery {
        since: Some(t0() - Duration::days(1)),
        ..Default::default()
    };
    assert_eq!(store.list_audit(&since).await.unwrap()[0].id, second);
    let page = AuditQuery {
        before_id: Some(second),
        ..Default::default()
    };
    assert_eq!(store.list_audit(&page).await.unwrap()[0].id, first);

    assert_eq!(
        store
            .purge_audit_before(t0() - Duration::days(365))
            .await
            .unwrap(),
        1
    );
    let left = store.list_audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].entry, recent);
}

async fn terminal_failure_budget_counts_a_window(db: TempDb) {
    let store = db.store();
    let sc = store
        .create_terminal(&terminal("sc-01").row())
        .await
        .unwrap();
    let other = store
        .create_terminal(&terminal("sc-02").row())
        .await
        .unwrap();
    let event = |terminal, card: &str, kind, at| NewTerminalFailure {
        terminal,
        card_pseudonym: card.into(),
        kind,
        at,
    };
    // Spraying: 20 different cards, once each, plus repeats and unknown cards.
    for i in 0..20 {
        let e = event(sc, &format!("p:{i}"), FailureKind::WrongCredential, t0());
        store.record_terminal_failure(&e).await.unwrap();
    }
    let e = event(sc, "p:0", FailureKind::WrongCredential, t0());
    store.record_terminal_failure(&e).await.unwrap();
    for i in 0..3 {
        let e = event(sc, &format!("u:{i}"), FailureKind::UnknownCard, t0());
        store.record_terminal_failure(&e).await.unwrap();
    }
    let stale = event(
        sc,
        "p:old",
        FailureKind::WrongCredential,
        t0() - Duration::hours(1),
    );
    store.record_terminal_failure(&stale).await.unwrap();
    let elsewhere = event(other, "p:0", FailureKind::WrongCredential, t0());
    store.record_terminal_failure(&elsewhere).await.unwrap();

    let counts = store
        .terminal_failure_counts(sc, t0() - Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        (counts.failures, counts.distinct_cards, counts.unknown_cards),
        (21, 20, 3)
    );

    let purged = store
        .purge_terminal_failures_before(t0() - Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let all_time = store
        .terminal_failure_counts(sc, t0() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(all_time.failures, 21);
}

fn import(card: &str, family: &str) -> PatronImport {
    let mut base = sample_patron("MAIN", card);
    base.details.name = sip2auth::store::PersonName::new(family, "Imported");
    PatronImport {
        institution: base.institution,
        card_number: base.card_number,
        details: base.details,
        pin: Some(CredentialHash {
            phc: format!("$argon2id$import-{card}"),
            key_id: 1,
            must_change: true,
            default_expires_at: None,
        }),
        password: None,
        status: PatronStatus::Active,
    }
}

async fn upsert_reports_created_updated_unchanged(db: TempDb) {
    let store = db.store();
    let batch: Vec<_> = (0..5).map(|i| import(&format!("i{i}"), "Smith")).collect();
    let first = store.upsert_patrons(&batch, &[]).await.unwrap();
    assert!(
        first.iter().all(|o| matches!(o, UpsertOutcome::Created(_))),
        "{first:?}"
    );
    assert_eq!(store.count_patrons().await.unwrap(), 5);

    // A rerun with one changed row and one new row.
    let mut rerun = batch.clone();
    rerun[2].details.email = Some("new@example.org".into());
    rerun.push(import("i5", "Jones"));
    let second = store.upsert_patrons(&rerun, &[]).await.unwrap();
    let kinds: Vec<_> = second
        .iter()
        .map(|o| match o {
            UpsertOutcome::Created(_) => 'C',
            UpsertOutcome::Updated(_) => 'U',
            UpsertOutcome::Unchanged(_) => '=',
        })
        .collect();
    assert_eq!(kinds.iter().collect::<String>(), "==U==C");
    assert_eq!(
        second[2],
        UpsertOutcome::Updated(match first[2] {
            UpsertOutcome::Created(id) => id,
            other => panic!("{other:?}"),
        })
    );
    let updated = store
        .find_by_card("MAIN", "i2")
        .await
        .unwrap()
        .unwrap()
        .patron;
    assert_eq!(updated.details.email.as_deref(), Some("new@example.org"));

    // An import never overwrites a PIN, but fills a missing one.
    let id = updated.id;
    store
        .set_pin_hash(
            id,
            &CredentialHash {
                phc: "$argon2id$patron-chosen".into(),
                key_id: 1,
                must_change: false,
                default_expires_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.upsert_patrons(&rerun[2..3], &[]).await.unwrap(),
        [UpsertOutcome::Unchanged(id)]
    );
    assert_eq!(
        store
            .get_patron(id)
            .await
            .unwrap()
            .unwrap()
            .pin
            .unwrap()
            .phc,
        "$argon2id$patron-chosen"
    );
    store.clear_pin_hash(id).await.unwrap();
    assert_eq!(
        store.upsert_patrons(&rerun[2..3], &[]).await.unwrap(),
        [UpsertOutcome::Updated(id)]
    );

    // The same card twice in one batch is applied in order.
    let twice = store
        .upsert_patrons(&[import("k1", "Twice"), import("k1", "Twice")], &[])
        .await
        .unwrap();
    assert!(
        matches!(twice[..], [UpsertOutcome::Created(a), UpsertOutcome::Unchanged(b)] if a == b)
    );
}

async fn upsert_batch_is_all_or_nothing_and_resumes(db: TempDb) {
    let store = db.store();
    let batch = [
        import("a1", "One"),
        import("a2", "Two"),
        import("", "Empty card"),
    ];
    let err = store.upsert_patrons(&batch, &[]).await.unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    assert_eq!(store.count_patrons().await.unwrap(), 0, "rolled back");

    // An interrupted run that got through a1 only; the rerun does the remaining work.
    store.upsert_patrons(&batch[..1], &[]).await.unwrap();
    let rerun = store.upsert_patrons(&batch[..2], &[]).await.unwrap();
    assert!(matches!(
        rerun[..],
        [UpsertOutcome::Unchanged(_), UpsertOutcome::Created(_)]
    ));
}

async fn upsert_writes_status_and_audit_with_the_batch(db: TempDb) {
    let store = db.store();
    let audit = |card: &str| NewAuditEntry {
        at: t0(),
        actor: "staff:import-test".into(),
        card_pseudonym: Some(format!("pseudonym-{card}")),
        action: "default_pin_issued".into(),
        outcome: "ok".into(),
        reason: None,
    };
    let imported_audit = || async {
        store
            .list_audit(&AuditQuery {
                actor: Some("staff:import-test".into()),
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .len()
    };
    let mut blocked = import("s1", "Blocked");
    blocked.status = PatronStatus::Blocked {
        reason: "ILS block".into(),
    };
    let mut lost = import("s2", "Lost");
    lost.status = PatronStatus::CardLost;
    // A failing row rolls back the statuses and the audit records with everything else.
    let failing = [blocked.clone(), lost.clone(), import("", "Empty card")];
    assert!(store
        .upsert_patrons(&failing, &[audit("s1"), audit("s2")])
        .await
        .is_err());
    assert_eq!(store.count_patrons().await.unwrap(), 0);
    assert_eq!(
        imported_audit().await,
        0,
        "audit rolled back with the batch"
    );

    let created = store
        .upsert_patrons(&[blocked.clone(), lost.clone()], &[audit("s1")])
        .await
        .unwrap();
    assert!(matches!(
        created[..],
        [UpsertOutcome::Created(_), UpsertOutcome::Created(_)]
    ));
    let status_of = |card: &'static str| async move {
        store
            .find_by_card("MAIN", card)
            .await
            .unwrap()
            .expect("patron")
            .patron
            .status
    };
    assert_eq!(status_of("s1").await, blocked.status);
    assert_eq!(status_of("s2").await, PatronStatus::CardLost);
    assert_eq!(imported_audit().await, 1);

    // The ILS lifts the block: only the status differs, and that is an update.
    let mut lifted = blocked.clone();
    lifted.status = PatronStatus::Active;
    let rerun = store.upsert_patrons(&[lifted, lost], &[]).await.unwrap();
    assert!(matches!(
        rerun[..],
        [UpsertOutcome::Updated(_), UpsertOutcome::Unchanged(_)]
    ));
    assert_eq!(status_of("s1").await, PatronStatus::Active);
}

async fn sync_lists_an_institutions_cards_then_expires_or_removes(db: TempDb) {
    let store = db.store();
    store
        .upsert_patrons(&[import("s1", "One"), import("s2", "Two")], &[])
        .await
        .unwrap();
    let cards = store.institution_cards("MAIN").await.unwrap();
    assert_eq!(cards.len(), 2);
    assert!(store.institution_cards("OTHER").await.unwrap().is_empty());
    let last_day = chrono::NaiveDate::from_ymd_opt(2030, 2, 28).unwrap();
    let entry = NewAuditEntry {
        at: t0(),
        actor: "staff:sync".into(),
        card_pseudonym: Some("p1".into()),
        action: "import_sync".into(),
        outcome: "expired".into(),
        reason: None,
    };
    store
        .apply_sync(
            &[cards[0].patron],
            SyncAction::Expire { last_day },
            &[entry],
        )
        .await
        .unwrap();
    let after = store.institution_cards("MAIN").await.unwrap();
    assert_eq!(after[0].expires_on, Some(last_day));
    assert_eq!(after[1].expires_on, cards[1].expires_on);
    store
        .apply_sync(&[cards[1].patron], SyncAction::Remove, &[])
        .await
        .unwrap();
    assert_eq!(store.count_patrons().await.unwrap(), 1);
    let audit = store.list_audit(&AuditQuery::default()).await.unwrap();
    assert!(audit.iter().any(|e| e.entry.action == "import_sync"));
}

store_test_on_both_backends!(
    sync_lists_an_institutions_cards_then_expires_or_removes,
    upsert_writes_status_and_audit_with_the_batch,
    terminal_round_trip_update_and_remove,
    reset_token_is_single_use_newest_only_and_expires,
    audit_log_appends_lists_and_purges,
    terminal_failure_budget_counts_a_window,
    upsert_reports_created_updated_unchanged,
    upsert_batch_is_all_or_nothing_and_resumes,
);
