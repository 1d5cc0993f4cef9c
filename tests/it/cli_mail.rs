//! `sip2auth mail status` through the real binary: the outbox's depth and failures as the
//! store holds them, and exit status 1 once a mail has been given up.

use chrono::Utc;
use sip2auth::store::testing::sample_patron;
use sip2auth::store::{MailKind, NewMail, ResetLookup, ResetRequest};

use crate::cli_common::Env;

fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} line in {stdout}"))
}

#[tokio::test]
async fn mail_status_shows_depth_and_failures() {
    let env = Env::new();
    let empty = env.run(&["mail", "status"], None);
    assert_eq!(empty.code, 0, "{}", empty.all());
    assert!(line(&empty.stdout, "transport:").contains("none"));
    assert!(line(&empty.stdout, "queued:").ends_with(" 0"));

    let store = env.store().await;
    let patron = store
        .create_patron(&sample_patron("MAIN", "21234000010001"))
        .await
        .expect("patron");
    let now = Utc::now();
    for kind in [MailKind::Reset, MailKind::PinChanged] {
        let mail = NewMail {
            patron,
            kind,
            credential: None,
            operator: None,
            now,
        };
        store.queue_mail(&mail).await.expect("queued");
    }
    store
        .queue_reset_request(&ResetRequest {
            lookup: ResetLookup::Card,
            value: "21234000010001".into(),
            credential: sip2auth::store::MustChange::Pin,
            requested_at: now,
        })
        .await
        .expect("request");
    let waiting = env.run(&["mail", "status"], None);
    assert_eq!(waiting.code, 0, "{}", waiting.all());
    assert!(
        line(&waiting.stdout, "queued:").ends_with(" 2"),
        "{}",
        waiting.stdout
    );
    assert!(line(&waiting.stdout, "reset requests:").contains(" 1 "));
    assert!(!line(&waiting.stdout, "oldest waiting:").ends_with("none"));

    let claimed = store
        .claim_mail(now, chrono::Duration::minutes(2))
        .await
        .expect("claim")
        .expect("a due mail");
    store
        .mail_failed(claimed.id, now, "550 no such user")
        .await
        .expect("failed");
    let failed = env.run(&["mail", "status"], None);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(line(&failed.stdout, "failed:").ends_with(" 1"));
    assert!(line(&failed.stdout, "queued:").ends_with(" 1"));
}
