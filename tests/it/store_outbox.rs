//! The outbox in the store, on SQLite and PostgreSQL: concurrent claimers each get a different
//! mail (none is claimed twice), a retry is due only at its time, a claim whose sender died is
//! taken again once its lease ends, and reset requests are each taken once.

use chrono::{Duration, Utc};
use sip2auth::store::testing::{sample_patron, TempDb};
use sip2auth::store::{MailKind, MailState, MustChange, NewMail, ResetLookup, ResetRequest};

async fn concurrent_claims_never_share_a_mail(db: TempDb) {
    let store = db.store().clone();
    let patron = store
        .create_patron(&sample_patron("MAIN", "21234000010002"))
        .await
        .expect("patron");
    let now = Utc::now();
    let mut ids = Vec::new();
    for _ in 0..6 {
        let mail = NewMail {
            patron,
            kind: MailKind::PinChanged,
            credential: None,
            operator: None,
            now,
        };
        ids.push(store.queue_mail(&mail).await.expect("queued"));
    }
    let claims = (0..12).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_mail(now, Duration::minutes(2)).await })
    });
    let mut claimed: Vec<i64> = Vec::new();
    for claim in claims {
        if let Some(mail) = claim.await.expect("task").expect("claim") {
            claimed.push(mail.id);
        }
    }
    claimed.sort_unstable();
    let mut unique = claimed.clone();
    unique.dedup();
    assert_eq!(unique, claimed, "a mail claimed twice: {claimed:?}");
    // The losers of a race find nothing only when another took the row; what is left is still due.
    while let Some(mail) = store
        .claim_mail(now, Duration::minutes(2))
        .await
        .expect("claim")
    {
        claimed.push(mail.id);
    }
    claimed.sort_unstable();
    assert_eq!(claimed, ids, "every mail claimed exactly once");
    let counts = store.outbox_counts().await.expect("counts");
    assert_eq!((counts.queued, counts.sending), (0, 6));
}

sip2auth::store_test_on_both_backends!(concurrent_claims_never_share_a_mail);

async fn retries_wait_for_their_time_and_dead_claims_come_back(db: TempDb) {
    let store = db.store().clone();
    let patron = store
        .create_patron(&sample_patron("MAIN", "21234000010003"))
        .await
        .expect("patron");
    let now = Utc::now();
    let mail = NewMail {
        patron,
        kind: MailKind::Reset,
        credential: Some(MustChange::Password),
        operator: Some("staff:alice"),
        now,
    };
    let id = store.queue_mail(&mail).await.expect("queued");
    let lease = Duration::minutes(2);
    let first = store
        .claim_mail(now, lease)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!((first.id, first.attempts), (id, 1));
    assert_eq!(first.credential, Some(MustChange::Password));
    assert_eq!(first.operator.as_deref(), Some("staff:alice"));
    store
        .mail_retry(id, now + Duration::seconds(30), "421 try later")
        .await
        .expect("retry");
    assert!(store.claim_mail(now, lease).await.expect("claim").is_none());
    let later = now + Duration::seconds(31);
    let second = store
        .claim_mail(later, lease)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(second.attempts, 2);
    // Its sender dies: nobody else takes it within the lease, then it is due again.
    assert!(store
        .claim_mail(later, lease)
        .await
        .expect("claim")
        .is_none());
    let after_lease = later + lease + Duration::seconds(1);
    let third = store
        .claim_mail(after_lease, lease)
        .await
        .expect("claim")
        .expect("reclaimed");
    assert_eq!(third.attempts, 3);
    store.mail_sent(id, after_lease).await.expect("sent");
    let record = store
        .last_mail(patron, MailKind::Reset)
        .await
        .expect("state")
        .expect("the mail");
    assert_eq!(record.state, MailState::Sent);
    assert_eq!(record.last_error, None);
    assert!(store
        .claim_mail(after_lease + lease * 2, lease)
        .await
        .expect("claim")
        .is_none());
}

sip2auth::store_test_on_both_backends!(retries_wait_for_their_time_and_dead_claims_come_back);

async fn reset_requests_are_each_taken_once(db: TempDb) {
    let store = db.store().clone();
    for card in ["1", "2", "3"] {
        store
            .queue_reset_request(&ResetRequest {
                lookup: ResetLookup::Card,
                value: card.into(),
                credential: MustChange::Pin,
                requested_at: Utc::now(),
            })
            .await
            .expect("queued");
    }
    let takers = (0..6).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_reset_request().await })
    });
    let mut taken = Vec::new();
    for taker in takers {
        if let Some(request) = taker.await.expect("task").expect("take") {
            taken.push(request.value);
        }
    }
    while let Some(request) = store.take_reset_request().await.expect("take") {
        taken.push(request.value);
    }
    taken.sort();
    assert_eq!(taken, ["1", "2", "3"]);
}

sip2auth::store_test_on_both_backends!(reset_requests_are_each_taken_once);
