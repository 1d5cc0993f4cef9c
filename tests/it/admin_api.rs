//! The admin API over HTTP on both backends: API keys and their scopes, the patron endpoints
//! (the same `accounts` code as the CLI, audited with the key's name), and every refusal as a
//! problem+json document with a stable type and the field at fault.

use reqwest::{Method, StatusCode};
use sip2auth::accounts::api_key::ApiScope;
use sip2auth::store::{AuditQuery, Backend};

use crate::support::admin::{admin_config, start_admin, Answer};

const CARD: &str = "21234000012345";
const PATRON: &str = "/api/v1/patrons/21234000012345";

fn problem(answer: &Answer, status: StatusCode, kind: &str) -> serde_json::Value {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{}",
        answer.body
    );
    let json = answer.json();
    assert_eq!(
        json["type"],
        format!("urn:sip2auth:problem:{kind}"),
        "{json}"
    );
    assert_eq!(json["status"], status.as_u16(), "{json}");
    json
}

async fn requests_need_a_known_key_of_the_right_scope(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let none = admin.call(Method::GET, PATRON, None, None).await;
    problem(&none, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    let unknown = format!("s2a_{}", "0".repeat(64));
    let wrong = admin.call(Method::GET, PATRON, Some(&unknown), None).await;
    problem(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");

    let reader = admin.key("reports", ApiScope::Read).await;
    let seen = admin.call(Method::GET, PATRON, Some(&reader), None).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let patron = seen.json();
    assert_eq!(patron["card"], CARD);
    assert_eq!(patron["status"], "active");
    assert_eq!(patron["has_pin"], true);
    assert!(
        !seen.body.contains("argon2"),
        "no hash in the answer: {}",
        seen.body
    );
    let block = admin
        .call(
            Method::POST,
            &format!("{PATRON}/block"),
            Some(&reader),
            Some(r#"{"reason":"x"}"#),
        )
        .await;
    let json = problem(&block, StatusCode::FORBIDDEN, "forbidden");
    assert!(json["detail"].as_str().unwrap().contains("write"), "{json}");
    let keys = admin.accounts().api_keys().await.unwrap();
    assert!(keys[0].last_used.is_some(), "last use recorded: {keys:?}");
}

async fn writes_change_the_patron_and_are_audited_with_the_key_name(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("ils-sync", ApiScope::Write).await;
    let post = |path: &'static str, body: Option<&'static str>| {
        let key = key.clone();
        let admin = &admin;
        async move {
            admin
                .call(Method::POST, &format!("{PATRON}/{path}"), Some(&key), body)
                .await
        }
    };
    let blocked = post("block", Some(r#"{"reason":"Owes the library a laptop"}"#)).await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.body);
    assert_eq!(blocked.json()["status"], "blocked");
    assert_eq!(blocked.json()["block_reason"], "Owes the library a laptop");
    let active = post("unblock", None).await;
    assert_eq!(active.json()["status"], "active", "{}", active.body);
    assert_eq!(post("lost", None).await.json()["card_lost"], true);
    assert_eq!(post("found", None).await.json()["card_lost"], false);
    assert_eq!(post("unlock", None).await.status, StatusCode::OK);

    let query = AuditQuery {
        actor: Some("api:ils-sync".into()),
        ..AuditQuery::default()
    };
    let entries = admin.accounts().audit_log(Some(CARD), query).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.entry.action.as_str()).collect();
    for action in ["block", "unblock", "card_lost", "card_found", "unlock"] {
        assert!(
            actions.contains(&action),
            "{action} audited as api:ils-sync: {actions:?}"
        );
    }
}

async fn refusals_are_problem_documents_with_the_field_at_fault(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("ils-sync", ApiScope::Write).await;
    let block = |body: &'static str| {
        let key = key.clone();
        let admin = &admin;
        async move {
            admin
                .call(
                    Method::POST,
                    &format!("{PATRON}/block"),
                    Some(&key),
                    Some(body),
                )
                .await
        }
    };
    problem(
        &block("{not json").await,
        StatusCode::BAD_REQUEST,
        "bad-json",
    );
    let unknown = block(r#"{"reason":"x","colour":"red"}"#).await;
    let json = problem(&unknown, StatusCode::BAD_REQUEST, "bad-json");
    assert!(
        json["detail"].as_str().unwrap().contains("colour"),
        "{json}"
    );
    let missing = problem(&block("{}").await, StatusCode::BAD_REQUEST, "bad-json");
    assert!(
        missing["detail"].as_str().unwrap().contains("reason"),
        "{missing}"
    );
    let empty = problem(
        &block(r#"{"reason":"  "}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    );
    assert_eq!(empty["field"], "reason", "{empty}");

    let huge = format!(r#"{{"reason":"{}"}}"#, "x".repeat(100 * 1024));
    let request = admin
        .http
        .post(format!("http://{}{PATRON}/block", admin.admin_addr))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(huge);
    problem(
        &Answer::from_request(request).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
    );
    let request = admin
        .http
        .post(format!("http://{}{PATRON}/block", admin.admin_addr))
        .header("authorization", format!("Bearer {key}"))
        .body(r#"{"reason":"x"}"#);
    let plain = Answer::from_request(request).await;
    problem(
        &plain,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );

    let nobody = admin
        .call(
            Method::GET,
            "/api/v1/patrons/29999000099999",
            Some(&key),
            None,
        )
        .await;
    problem(&nobody, StatusCode::NOT_FOUND, "not-found");
    let nowhere = admin
        .call(Method::GET, "/api/v1/nothing", Some(&key), None)
        .await;
    problem(&nowhere, StatusCode::NOT_FOUND, "not-found");
    let status = admin.get(PATRON).await;
    assert_eq!(
        status.status,
        StatusCode::UNAUTHORIZED,
        "no key: 401 before anything else"
    );
}

sip2auth::store_test_on_both_backends!(
    requests_need_a_known_key_of_the_right_scope,
    writes_change_the_patron_and_are_audited_with_the_key_name,
    refusals_are_problem_documents_with_the_field_at_fault
);

#[tokio::test]
async fn the_api_answers_503_while_the_database_is_down() {
    let admin = start_admin(Backend::Sqlite, admin_config()).await;
    let key = admin.key("ils-sync", ApiScope::Read).await;
    let _outage = crate::support::outage::Outage::begin(&admin.server).await;
    let down = admin.call(Method::GET, PATRON, Some(&key), None).await;
    problem(
        &down,
        StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
    );
}

async fn the_audit_log_is_queried_by_operator_card_and_action_in_pages(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("ils-sync", ApiScope::Write).await;
    for path in ["lost", "found", "lost", "found"] {
        let answer = admin
            .call(Method::POST, &format!("{PATRON}/{path}"), Some(&key), None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let page = |query: &'static str| {
        let key = key.clone();
        let admin = &admin;
        async move {
            let answer = admin
                .call(
                    Method::GET,
                    &format!("/api/v1/audit?{query}"),
                    Some(&key),
                    None,
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            answer.json()
        }
    };
    let first = page("operator=api:ils-sync&card=21234000012345&limit=3").await;
    let records = first["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{first}");
    assert_eq!(records[0]["action"], "card_found", "newest first: {first}");
    assert!(
        records.iter().all(|r| r["actor"] == "api:ils-sync"),
        "{first}"
    );
    assert!(
        !first.to_string().contains(CARD),
        "cards only as pseudonyms: {first}"
    );
    let before = first["next_before"].as_i64().expect("another page");
    let rest = admin
        .call(
            Method::GET,
            &format!("/api/v1/audit?operator=api:ils-sync&card={CARD}&limit=3&before={before}"),
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(rest["records"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next_before"].is_null(), "{rest}");
    let lost = page("action=card_lost&operator=api:ils-sync").await;
    assert_eq!(lost["records"].as_array().unwrap().len(), 2, "{lost}");
    let nobody = page("operator=staff:nobody").await;
    assert!(nobody["records"].as_array().unwrap().is_empty(), "{nobody}");
    let zero = admin
        .call(Method::GET, "/api/v1/audit?limit=0", Some(&key), None)
        .await;
    assert_eq!(
        problem(&zero, StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "limit"
    );
    let odd = admin
        .call(Method::GET, "/api/v1/audit?colour=red", Some(&key), None)
        .await;
    problem(&odd, StatusCode::BAD_REQUEST, "bad-request");
}

sip2auth::store_test_on_both_backends!(
    the_audit_log_is_queried_by_operator_card_and_action_in_pages
);

async fn terminals_are_listed_and_shown_without_their_secret(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("reports", ApiScope::Read).await;
    let list = admin
        .call(Method::GET, "/api/v1/terminals", Some(&key), None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let terminals = list.json();
    let logins: Vec<&str> = terminals
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["login_id"].as_str().unwrap())
        .collect();
    assert!(logins.contains(&"sc_user"), "{logins:?}");
    let shown = admin
        .call(Method::GET, "/api/v1/terminals/sc_user", Some(&key), None)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let terminal = shown.json();
    assert_eq!(terminal["has_secret"], true, "{terminal}");
    assert_eq!(terminal["institution"], "MAIN", "{terminal}");
    for secret in ["k7Qp2vXe9LmT4wZs", "argon2"] {
        assert!(
            !list.body.contains(secret) && !shown.body.contains(secret),
            "{secret} shown"
        );
    }
    let missing = admin
        .call(Method::GET, "/api/v1/terminals/nobody", Some(&key), None)
        .await;
    problem(&missing, StatusCode::NOT_FOUND, "not-found");
}

sip2auth::store_test_on_both_backends!(terminals_are_listed_and_shown_without_their_secret);
