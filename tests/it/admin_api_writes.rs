//! The admin API's writes over HTTP on both backends, each checked where it matters, over SIP2:
//! patrons created, searched, changed and removed; PINs set with every broken rule as data and
//! reset at the desk; terminals created, changed, given a new secret, disabled and removed; the
//! bulk upsert (JSON lines and CSV, idempotent, with a guarded sync); and the request limits.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sip2auth::accounts::api_key::ApiScope;
use sip2auth::store::{AuditQuery, Backend};

use crate::support::admin::{admin_config, start_admin, AdminTest, Answer};
use crate::support::world::SC_USER_LOGIN;

const NEW_CARD: &str = "21234000066601";

fn patron_information(card: &str, pin: &str) -> String {
    format!("6300120250314    093005          AOMAIN|AA{card}|AC|AD{pin}|")
}

fn ok(answer: &Answer, status: StatusCode) -> Value {
    assert_eq!(answer.status, status, "{}", answer.body);
    if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()
    }
}

fn problem(answer: &Answer, status: StatusCode, kind: &str) -> Value {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    let json = answer.json();
    assert_eq!(
        json["type"],
        format!("urn:sip2auth:problem:{kind}"),
        "{json}"
    );
    json
}

/// Whether this PIN verifies for this card over SIP2, through the running server.
async fn pin_verifies(admin: &AdminTest, card: &str, pin: &str) -> bool {
    let mut client = admin.server.client().await;
    assert!(client.exchange(SC_USER_LOGIN).await.starts_with("941"));
    let answer = client.exchange(&patron_information(card, pin)).await;
    answer.contains("|CQY|")
}

async fn audited(admin: &AdminTest, actor: &str) -> Vec<String> {
    let query = AuditQuery {
        actor: Some(actor.into()),
        ..AuditQuery::default()
    };
    let entries = admin.accounts().audit_log(None, query).await.unwrap();
    entries
        .iter()
        .map(|e| e.entry.action.as_str().to_owned())
        .collect()
}

async fn patrons_are_created_searched_changed_and_removed(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("ils-sync", ApiScope::Write).await;
    let call = |method: Method, path: String, body: Option<String>| {
        let (admin, key) = (&admin, key.clone());
        async move { admin.call(method, &path, Some(&key), body.as_deref()).await }
    };
    let body = format!(
        r#"{{"card":"{NEW_CARD}","pin":"739154","details":{{"family_name":"García","given_names":"Ana","email":"ana@example.org","phone":"+1 555 0100"}}}}"#
    );
    let created = ok(
        &call(Method::POST, "/api/v1/patrons".into(), Some(body.clone())).await,
        StatusCode::CREATED,
    );
    assert_eq!(created["first_pin"], "chosen");
    assert_eq!(created["patron"]["card"], NEW_CARD);
    assert_eq!(created["patron"]["email"], "ana@example.org");
    assert!(!created.to_string().contains("739154"), "no PIN echoed");
    assert!(pin_verifies(&admin, NEW_CARD, "739154").await);
    problem(
        &call(Method::POST, "/api/v1/patrons".into(), Some(body)).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let bad_email = call(
        Method::POST,
        "/api/v1/patrons".into(),
        Some(r#"{"card":"21234000066602","details":{"family_name":"B","email":"nope"}}"#.into()),
    )
    .await;
    assert_eq!(
        problem(&bad_email, StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "email"
    );
    let weak = call(
        Method::POST,
        "/api/v1/patrons".into(),
        Some(r#"{"card":"21234000066602","pin":"1234","details":{"family_name":"B"}}"#.into()),
    )
    .await;
    let weak = problem(&weak, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        weak["reasons"][0]["rule"]
            .as_str()
            .unwrap()
            .starts_with("pin_"),
        "{weak}"
    );

    let found = ok(
        &call(Method::GET, "/api/v1/patrons?name=garcia".into(), None).await,
        StatusCode::OK,
    );
    let names: Vec<&str> = found["patrons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.contains("García")), "{found}");
    let first = ok(
        &call(Method::GET, "/api/v1/patrons?limit=1".into(), None).await,
        StatusCode::OK,
    );
    let after = first["next_after"].as_i64().expect("a next page");
    let second = ok(
        &call(
            Method::GET,
            format!("/api/v1/patrons?limit=1&after={after}"),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_ne!(first["patrons"][0]["id"], second["patrons"][0]["id"]);

    let path = format!("/api/v1/patrons/{NEW_CARD}");
    let changed = ok(
        &call(
            Method::PATCH,
            path.clone(),
            Some(r#"{"given_names":"Ana María","phone":null}"#.into()),
        )
        .await,
        StatusCode::OK,
    );
    assert!(changed["display_name"]
        .as_str()
        .unwrap()
        .contains("Ana María"));
    assert_eq!(changed["phone"], Value::Null, "null clears: {changed}");
    assert_eq!(
        changed["email"], "ana@example.org",
        "absent keeps: {changed}"
    );
    ok(
        &call(Method::DELETE, path.clone(), None).await,
        StatusCode::NO_CONTENT,
    );
    problem(
        &call(Method::GET, path, None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let actions = audited(&admin, "api:ils-sync").await;
    for action in ["patron_add", "patron_update", "patron_remove"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn pins_are_set_with_every_broken_rule_and_reset_at_the_desk(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("desk", ApiScope::Write).await;
    let reader = admin.key("reports", ApiScope::Read).await;
    const CARD: &str = "21234000012345";
    let pin_path = format!("/api/v1/patrons/{CARD}/pin");
    let weak = admin
        .call(
            Method::PUT,
            &pin_path,
            Some(&key),
            Some(r#"{"pin":"1234"}"#),
        )
        .await;
    let weak = problem(&weak, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let rules: Vec<&str> = weak["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"pin_sequence"), "{weak}");
    assert!(weak["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("PIN"));
    let set = admin
        .call(
            Method::PUT,
            &pin_path,
            Some(&key),
            Some(r#"{"pin":"582047"}"#),
        )
        .await;
    ok(&set, StatusCode::NO_CONTENT);
    assert!(pin_verifies(&admin, CARD, "582047").await);
    assert!(
        !pin_verifies(&admin, CARD, "4931").await,
        "the old PIN is gone"
    );

    let reset_path = format!("{pin_path}/reset");
    problem(
        &admin
            .call(Method::POST, &reset_path, Some(&reader), None)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let reset = admin
        .call(Method::POST, &reset_path, Some(&key), None)
        .await;
    assert_eq!(reset.headers["cache-control"], "no-store");
    let issued = ok(&reset, StatusCode::OK)["one_time_pin"]
        .as_str()
        .expect("a one-time PIN")
        .to_owned();
    assert!(issued.chars().all(|c| c.is_ascii_digit()) && issued.len() >= 4);
    assert!(!pin_verifies(&admin, CARD, "582047").await);
    let mut client = admin.server.client().await;
    assert!(client.exchange(SC_USER_LOGIN).await.starts_with("941"));
    let answer = client.exchange(&patron_information(CARD, &issued)).await;
    assert!(answer.starts_with("64"), "{answer}");
    assert!(
        !answer.contains("|CQN|"),
        "the one-time PIN verifies: {answer}"
    );
    let chosen = admin
        .call(
            Method::POST,
            &reset_path,
            Some(&key),
            Some(r#"{"pin":"604918"}"#),
        )
        .await;
    assert_eq!(ok(&chosen, StatusCode::OK)["one_time_pin"], Value::Null);
    assert!(pin_verifies(&admin, CARD, "604918").await);
    let actions = audited(&admin, "api:desk").await;
    assert!(actions.iter().any(|a| a == "pin_set"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "pin_reset"), "{actions:?}");
}

async fn terminals_are_created_changed_given_secrets_and_removed(backend: Backend) {
    let admin = start_admin(backend, admin_config()).await;
    let key = admin.key("it-staff", ApiScope::Admin).await;
    let writer = admin.key("ils-sync", ApiScope::Write).await;
    let body = r#"{"login_id":"selfcheck-09","settings":{"allowed_cidrs":["127.0.0.1/8"],"patron_credential":"pin"}}"#;
    problem(
        &admin
            .call(Method::POST, "/api/v1/terminals", Some(&writer), Some(body))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let created = admin
        .call(Method::POST, "/api/v1/terminals", Some(&key), Some(body))
        .await;
    assert_eq!(created.headers["cache-control"], "no-store");
    let created = ok(&created, StatusCode::CREATED);
    assert_eq!(created["terminal"]["allowed_cidrs"][0], "127.0.0.0/8");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let login = |secret: &str| format!("9300CNselfcheck-09|CO{secret}|CPBRANCH1|");
    let mut client = admin.server.client().await;
    assert!(client.exchange(&login(&secret)).await.starts_with("941"));
    problem(
        &admin
            .call(Method::POST, "/api/v1/terminals", Some(&key), Some(body))
            .await,
        StatusCode::CONFLICT,
        "conflict",
    );

    let path = "/api/v1/terminals/selfcheck-09";
    let patch = |body: &'static str| {
        let (admin, key) = (&admin, key.clone());
        async move {
            admin
                .call(Method::PATCH, path, Some(&key), Some(body))
                .await
        }
    };
    let charset = problem(
        &patch(r#"{"charset":"klingon"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    );
    assert_eq!(charset["field"], "charset");
    let never = problem(
        &patch(r#"{"allowed_messages":"23 42"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    );
    assert_eq!(never["field"], "allowed_messages", "{never}");
    let moved = ok(&patch(r#"{"location_code":"LOBBY"}"#).await, StatusCode::OK);
    assert_eq!(moved["location_code"], "LOBBY");
    assert_eq!(moved["patron_credential"], "pin", "the rest kept: {moved}");

    let renewed = admin
        .call(Method::POST, &format!("{path}/secret"), Some(&key), None)
        .await;
    let renewed = ok(&renewed, StatusCode::OK)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(renewed, secret);
    let mut client = admin.server.client().await;
    assert!(
        client.exchange(&login(&secret)).await.starts_with("940"),
        "the old one is gone"
    );
    let mut client = admin.server.client().await;
    assert!(client.exchange(&login(&renewed)).await.starts_with("941"));

    let disabled = admin
        .call(Method::POST, &format!("{path}/disable"), Some(&key), None)
        .await;
    assert_eq!(ok(&disabled, StatusCode::OK)["enabled"], false);
    let mut client = admin.server.client().await;
    assert!(client.exchange(&login(&renewed)).await.starts_with("940"));
    let enabled = admin
        .call(Method::POST, &format!("{path}/enable"), Some(&key), None)
        .await;
    assert_eq!(ok(&enabled, StatusCode::OK)["enabled"], true);
    ok(
        &admin.call(Method::DELETE, path, Some(&key), None).await,
        StatusCode::NO_CONTENT,
    );
    problem(
        &admin.call(Method::GET, path, Some(&key), None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let actions = audited(&admin, "api:it-staff").await;
    for action in [
        "terminal_add",
        "terminal_update",
        "terminal_set_password",
        "terminal_disable",
        "terminal_enable",
        "terminal_remove",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn import(
    admin: &AdminTest,
    key: &str,
    query: &str,
    content_type: &str,
    body: &str,
) -> Answer {
    let request = admin
        .http
        .post(format!(
            "http://{}/api/v1/patrons/import{query}",
            admin.admin_addr
        ))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(body.to_owned());
    Answer::from_request(request).await
}

const JSON_LINES: &str = concat!(
    r#"{"card":"21234000080001","family_name":"Núñez","given_names":"Eva","pin":"739154"}"#,
    "\n",
    r#"{"card":"21234000080002","family_name":"Okafor","expires":"2030-01-31"}"#,
    "\n",
    r#"{"card":"21234000080003","family_name":"Lind","fines":"3.50"}"#,
    "\n",
    r#"{"card":"21234000080004"}"#,
    "\n",
);

async fn the_bulk_upsert_is_idempotent_and_its_sync_is_guarded(backend: Backend) {
    let mut config = admin_config();
    config.admin.max_import_bytes = 4096;
    let admin = start_admin(backend, config).await;
    let key = admin.key("ils-sync", ApiScope::Write).await;
    let first = import(&admin, &key, "", "application/x-ndjson", JSON_LINES).await;
    let first = ok(&first, StatusCode::OK);
    assert_eq!(first["created"], 3, "{first}");
    assert_eq!(first["rejected"][0]["line"], 4, "{first}");
    assert!(first["rejected"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("family_name"));
    let outcomes: Vec<&str> = first["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["created"; 3]);
    assert!(pin_verifies(&admin, "21234000080001", "739154").await);

    let again = ok(
        &import(&admin, &key, "", "application/x-ndjson", JSON_LINES).await,
        StatusCode::OK,
    );
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(again["unchanged"], 3, "{again}");
    let csv = "card,family_name,given_names\n21234000080001,Núñez,Eva\n";
    let as_csv = ok(
        &import(&admin, &key, "", "text/csv; charset=utf-8", csv).await,
        StatusCode::OK,
    );
    assert_eq!(as_csv["unchanged"], 1, "the same row in CSV: {as_csv}");
    problem(
        &import(&admin, &key, "", "application/json", JSON_LINES).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let huge = JSON_LINES.repeat(40);
    problem(
        &import(&admin, &key, "", "application/x-ndjson", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
    );

    let refused = import(
        &admin,
        &key,
        "?sync=expire",
        "application/x-ndjson",
        JSON_LINES,
    )
    .await;
    let refused = problem(&refused, StatusCode::CONFLICT, "conflict");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{refused}"
    );
    let dry = import(
        &admin,
        &key,
        "?sync=expire&force=true&dry_run=true",
        "application/x-ndjson",
        JSON_LINES,
    )
    .await;
    let dry = ok(&dry, StatusCode::OK);
    assert!(dry["sync_expired"].as_u64().unwrap() > 0, "{dry}");
    assert!(
        pin_verifies(&admin, "21234000012345", "4931").await,
        "a dry run expires nobody"
    );
    let actions = audited(&admin, "api:ils-sync").await;
    assert!(actions.iter().any(|a| a == "import"), "{actions:?}");
}

sip2auth::store_test_on_both_backends!(
    patrons_are_created_searched_changed_and_removed,
    pins_are_set_with_every_broken_rule_and_reset_at_the_desk,
    terminals_are_created_changed_given_secrets_and_removed,
    the_bulk_upsert_is_idempotent_and_its_sync_is_guarded
);

#[tokio::test]
async fn requests_over_a_limit_get_429_with_retry_after() {
    let mut config = admin_config();
    config.admin.requests_per_minute = 3;
    config.admin.unknown_keys_per_minute = 2;
    let admin = start_admin(Backend::Sqlite, config).await;
    let key = admin.key("busy", ApiScope::Read).await;
    let path = "/api/v1/patrons/21234000012345";
    for _ in 0..3 {
        ok(
            &admin.call(Method::GET, path, Some(&key), None).await,
            StatusCode::OK,
        );
    }
    let over = admin.call(Method::GET, path, Some(&key), None).await;
    problem(&over, StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
    let wait: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let other = admin.key("other", ApiScope::Read).await;
    ok(
        &admin.call(Method::GET, path, Some(&other), None).await,
        StatusCode::OK,
    );

    let guess = format!("s2a_{}", "1".repeat(64));
    for _ in 0..2 {
        problem(
            &admin.call(Method::GET, path, Some(&guess), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
    }
    problem(
        &admin.call(Method::GET, path, Some(&guess), None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
    );
    admin.server.clock.advance(chrono::Duration::seconds(61));
    ok(
        &admin.call(Method::GET, path, Some(&key), None).await,
        StatusCode::OK,
    );
}
