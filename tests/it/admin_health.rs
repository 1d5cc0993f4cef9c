//! The admin listener's health checks over HTTP on both backends: /healthz always answers;
//! /readyz is 200 when the database answers, migrations are current and the pepper matches,
//! and 503 with the failed check otherwise (a database outage, then 200 again after it); the
//! listener answers only its allowed networks.

use reqwest::StatusCode;
use sip2auth::store::Backend;
use sqlx::Connection;

use crate::support::admin::{admin_config, start_admin};
use crate::support::outage::Outage;

async fn healthz_and_readyz_answer_without_a_key(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let health = admin.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert_eq!(health.json()["status"], "alive");
    let ready = admin.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.content_type, "application/json");
    assert_eq!(ready.json()["status"], "ready");
}

async fn readyz_is_503_during_a_database_outage_and_200_after(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    assert_eq!(admin.get("/readyz").await.status, StatusCode::OK);
    let outage = Outage::begin(&admin.server).await;
    let down = admin.get("/readyz").await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.body
    );
    assert_eq!(down.json()["reason"], "database_unreachable");
    let health = admin.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK, "the process still answers");
    if !outage.end().await {
        return; // SQLite: the outage (a closed pool) has no end; see support::outage.
    }
    let up = admin.get("/readyz").await;
    assert_eq!(up.status, StatusCode::OK, "ready again: {}", up.body);
}

async fn readyz_names_a_pepper_mismatch_and_a_missing_migration(backend: Backend) {
    let config = admin_config();
    let admin = start_admin(backend, config.clone()).await;
    let key = format!("pepper.fingerprint.{}", config.security.pepper.key_id);
    let recorded = admin.server.store.get_meta(&key).await.unwrap().unwrap();
    admin.server.store.set_meta(&key, "0000").await.unwrap();
    let answer = admin.get("/readyz").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json()["reason"], "pepper_mismatch");
    admin.server.store.set_meta(&key, &recorded).await.unwrap();
    assert_eq!(admin.get("/readyz").await.status, StatusCode::OK);

    // The newest migration forgotten, as in a database an older version migrated.
    let sql =
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
    match backend {
        Backend::Sqlite => {
            let mut db = sqlx::SqliteConnection::connect(admin.server.db.url())
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut db).await.unwrap();
        }
        Backend::Postgres => {
            let mut db = sqlx::PgConnection::connect(admin.server.db.url())
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut db).await.unwrap();
        }
    }
    let answer = admin.get("/readyz").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let json = answer.json();
    assert_eq!(json["reason"], "migrations_pending");
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("sip2auth migrate"),
        "{json}"
    );
}

sip2auth::store_test_on_both_backends!(
    healthz_and_readyz_answer_without_a_key,
    readyz_is_503_during_a_database_outage_and_200_after,
    readyz_names_a_pepper_mismatch_and_a_missing_migration
);

#[tokio::test]
async fn an_address_outside_the_allowed_networks_gets_403_on_every_path() {
    let mut config = admin_config();
    config.admin.allowed_cidrs = vec!["10.0.0.0/8".parse().unwrap()];
    let admin = start_admin(Backend::Sqlite, config).await;
    for path in ["/healthz", "/readyz", "/nothing-here"] {
        let answer = admin.get(path).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.json()["status"], 403);
    }
}

#[tokio::test]
async fn a_loopback_network_lets_a_loopback_client_in() {
    let mut config = admin_config();
    config.admin.allowed_cidrs = vec!["127.0.0.0/8".parse().unwrap()];
    let admin = start_admin(Backend::Sqlite, config).await;
    assert_eq!(admin.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(
        admin.get("/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
}
