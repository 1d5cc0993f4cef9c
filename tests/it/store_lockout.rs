//! Lockout counters (SECURITY.md §1.2, tests 10-12): atomic PIN and password attempt reservations
//! under concurrency (one pool, and two pools as two server instances), temporary lock expiry,
//! hard lock, success reset and unlock; on SQLite and PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sip2auth::store::testing::{sample_patron, TempDb};
use sip2auth::store::{
    AttemptSlot, ConnectOptions, Error, FailureEffect, LockCounters, LockPolicy,
    PasswordLockPolicy, PatronId, Store,
};
use sip2auth::store_test_on_both_backends;

fn policy() -> LockPolicy {
    LockPolicy {
        temp_threshold: 5,
        temp_lock: Duration::minutes(15),
        hard_threshold: 10,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 1, 12, 0, 0).unwrap()
}

async fn patron(store: &Store) -> PatronId {
    store
        .create_patron(&sample_patron("MAIN", "1001"))
        .await
        .unwrap()
}

/// The patron's PIN counters as stored now.
async fn pin_lock(store: &Store, id: PatronId) -> LockCounters {
    store.get_patron(id).await.unwrap().unwrap().pin_lock
}

/// Runs `n` concurrent PIN reservations at `now`, spread round-robin over `stores`.
async fn concurrent_pin_attempts(
    stores: &[Store],
    id: PatronId,
    n: usize,
    now: DateTime<Utc>,
) -> Vec<AttemptSlot> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move { store.reserve_pin_attempt(id, now, &policy()).await })
        })
        .collect();
    let mut slots = Vec::new();
    for task in tasks {
        slots.push(task.await.unwrap().unwrap());
    }
    slots
}

fn granted(slots: &[AttemptSlot]) -> Vec<u32> {
    let mut attempts: Vec<u32> = slots
        .iter()
        .filter_map(|s| match s {
            AttemptSlot::Granted { attempt } => Some(*attempt),
            _ => None,
        })
        .collect();
    attempts.sort_unstable();
    attempts
}

async fn assert_fifty_concurrent_attempts_grant_exactly_the_threshold(stores: &[Store]) {
    let store = &stores[0];
    let id = patron(store).await;
    let now = t0();
    let slots = concurrent_pin_attempts(stores, id, 50, now).await;
    assert_eq!(granted(&slots), [1, 2, 3, 4, 5]);
    let lock_end = now + Duration::minutes(15);
    for slot in &slots {
        assert!(
            match slot {
                AttemptSlot::Granted { .. } => true,
                AttemptSlot::LockedUntil(until) => *until == lock_end,
                AttemptSlot::HardLocked => false,
            },
            "{slot:?}"
        );
    }
    let counters = pin_lock(store, id).await;
    assert_eq!(counters.failures, 5);
    assert_eq!(counters.locked_until, Some(lock_end));

    // After the temporary lock, another burst reaches the hard threshold and stops there.
    let slots = concurrent_pin_attempts(stores, id, 50, lock_end).await;
    assert_eq!(granted(&slots), [6, 7, 8, 9, 10]);
    assert!(slots
        .iter()
        .all(|s| matches!(s, AttemptSlot::Granted { .. } | AttemptSlot::HardLocked)));
    let later = lock_end + Duration::days(365);
    assert_eq!(
        store
            .reserve_pin_attempt(id, later, &policy())
            .await
            .unwrap(),
        AttemptSlot::HardLocked
    );
    assert_eq!(pin_lock(store, id).await.failures, 10);
}

async fn fifty_concurrent_pin_attempts_grant_exactly_the_threshold(db: TempDb) {
    assert_fifty_concurrent_attempts_grant_exactly_the_threshold(&[db.store().clone()]).await;
}

async fn two_instances_sharing_the_database_grant_exactly_the_threshold(db: TempDb) {
    let second = Store::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    assert_fifty_concurrent_attempts_grant_exactly_the_threshold(&[db.store().clone(), second])
        .await;
}

async fn temporary_lock_lifts_by_itself_without_resetting_the_count(db: TempDb) {
    let store = db.store();
    let id = patron(store).await;
    let now = t0();
    for expected in 1..=5 {
        let slot = store.reserve_pin_attempt(id, now, &policy()).await.unwrap();
        assert_eq!(slot, AttemptSlot::Granted { attempt: expected });
    }
    assert_eq!(policy().effect_of_failure(5), FailureEffect::TemporaryLock);
    let lock_end = now + Duration::minutes(15);
    let just_before = lock_end - Duration::seconds(1);
    assert_eq!(
        store
            .reserve_pin_attempt(id, just_before, &policy())
            .await
            .unwrap(),
        AttemptSlot::LockedUntil(lock_end)
    );
    assert_eq!(
        store
            .reserve_pin_attempt(id, lock_end, &policy())
            .await
            .unwrap(),
        AttemptSlot::Granted { attempt: 6 },
        "lock lifted at now + 15 min; count carried on"
    );
}

async fn ten_consecutive_failures_set_the_hard_lock_until_unlock(db: TempDb) {
    let store = db.store();
    let id = patron(store).await;
    let mut now = t0();
    let mut last = 0;
    for _ in 0..10 {
        match store.reserve_pin_attempt(id, now, &policy()).await.unwrap() {
            AttemptSlot::Granted { attempt } => last = attempt,
            AttemptSlot::LockedUntil(until) => {
                now = until;
                let AttemptSlot::Granted { attempt } =
                    store.reserve_pin_attempt(id, now, &policy()).await.unwrap()
                else {
                    panic!("lock should have lifted");
                };
                last = attempt;
            }
            AttemptSlot::HardLocked => panic!("hard lock too early"),
        }
    }
    assert_eq!(last, 10);
    assert_eq!(policy().effect_of_failure(10), FailureEffect::HardLock);
    let far = now + Duration::days(30);
    assert_eq!(
        store.reserve_pin_attempt(id, far, &policy()).await.unwrap(),
        AttemptSlot::HardLocked
    );
    let counters = pin_lock(store, id).await;
    assert_eq!(
        policy().refusal(&counters, far),
        Some(AttemptSlot::HardLocked)
    );

    store.unlock(id).await.unwrap();
    assert_eq!(
        store.reserve_pin_attempt(id, far, &policy()).await.unwrap(),
        AttemptSlot::Granted { attempt: 1 }
    );
    let missing = PatronId(id.0 + 99);
    assert!(matches!(
        store.unlock(missing).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.reserve_pin_attempt(missing, far, &policy()).await,
        Err(Error::NotFound { .. })
    ));
}

async fn success_resets_the_count_and_clears_a_temporary_lock(db: TempDb) {
    let store = db.store();
    let id = patron(store).await;
    let now = t0();
    for _ in 0..4 {
        store.reserve_pin_attempt(id, now, &policy()).await.unwrap();
    }
    store.record_pin_success(id).await.unwrap();
    assert_eq!(pin_lock(store, id).await.failures, 0);
    for expected in 1..=5 {
        let slot = store.reserve_pin_attempt(id, now, &policy()).await.unwrap();
        assert_eq!(slot, AttemptSlot::Granted { attempt: expected });
    }
    // Attempt 5 set the lock up front; the right PIN in that slot lifts it.
    store.record_pin_success(id).await.unwrap();
    let counters = pin_lock(store, id).await;
    assert_eq!((counters.failures, counters.locked_until), (0, None));
    assert_eq!(
        store.reserve_pin_attempt(id, now, &policy()).await.unwrap(),
        AttemptSlot::Granted { attempt: 1 }
    );
}

fn password_policy() -> PasswordLockPolicy {
    PasswordLockPolicy {
        threshold: 3,
        base_lock: Duration::minutes(15),
        max_lock: Duration::hours(1),
    }
}

async fn password_lock_doubles_up_to_the_cap_and_is_never_permanent(db: TempDb) {
    let store = db.store();
    let id = patron(store).await;
    let mut now = t0();
    for expected_minutes in [15, 30, 60, 60, 60] {
        for _ in 0..3 {
            let slot = store
                .reserve_password_attempt(id, now, &password_policy())
                .await
                .unwrap();
            assert!(matches!(slot, AttemptSlot::Granted { .. }), "{slot:?}");
        }
        let slot = store
            .reserve_password_attempt(id, now, &password_policy())
            .await
            .unwrap();
        assert_eq!(
            slot,
            AttemptSlot::LockedUntil(now + Duration::minutes(expected_minutes))
        );
        now += Duration::minutes(expected_minutes);
    }
    let counters = store.get_patron(id).await.unwrap().unwrap().password_lock;
    assert_eq!((counters.failures, counters.locks), (15, 5));
    // The PIN counter is separate.
    assert_eq!(pin_lock(store, id).await.failures, 0);

    store.record_password_success(id).await.unwrap();
    for _ in 0..3 {
        store
            .reserve_password_attempt(id, now, &password_policy())
            .await
            .unwrap();
    }
    let slot = store
        .reserve_password_attempt(id, now, &password_policy())
        .await
        .unwrap();
    assert_eq!(
        slot,
        AttemptSlot::LockedUntil(now + Duration::minutes(15)),
        "doubling restarts"
    );
}

async fn fifty_concurrent_password_attempts_grant_exactly_the_threshold(db: TempDb) {
    let id = patron(db.store()).await;
    let second = Store::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    let stores = [db.store().clone(), second];
    let policy = PasswordLockPolicy {
        threshold: 10,
        base_lock: Duration::minutes(15),
        max_lock: Duration::hours(24),
    };
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move { store.reserve_password_attempt(id, t0(), &policy).await })
        })
        .collect();
    let mut slots = Vec::new();
    for task in tasks {
        slots.push(task.await.unwrap().unwrap());
    }
    assert_eq!(granted(&slots), (1..=10).collect::<Vec<_>>());
}

store_test_on_both_backends!(
    fifty_concurrent_pin_attempts_grant_exactly_the_threshold,
    two_instances_sharing_the_database_grant_exactly_the_threshold,
    temporary_lock_lifts_by_itself_without_resetting_the_count,
    ten_consecutive_failures_set_the_hard_lock_until_unlock,
    success_resets_the_count_and_clears_a_temporary_lock,
    password_lock_doubles_up_to_the_cap_and_is_never_permanent,
    fifty_concurrent_password_attempts_grant_exactly_the_threshold,
);
