//! The patron pages over real HTTP against the real application (SIP2 and web listeners, one
//! app, a fresh SQLite database) at the default argon2id parameters (m=19456, t=2, p=1):
//! `log_in` posts the log-in form with the right PIN, many at once (one argon2 verification
//! each, so the hashing pool bounds it); `my_account` fetches My Account for a logged-in session
//! (session lookup and touch, patron lookup, render; no hashing). Figures are in BENCHMARKS.md
//! ("Web pages").

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secrecy::SecretString;
use sip2auth::accounts::patron::CardRef;
use sip2auth::accounts::Operator;
use sip2auth::app::App;
use sip2auth::auth::{Authenticator, KeyRing, PepperKey};
use sip2auth::clock::{self, SharedClock};
use sip2auth::config::Config;
use sip2auth::http::WebServer;
use sip2auth::server::Server;
use sip2auth::store::testing::{sample_patron, TempDb};
use sip2auth::store::Backend;

const CARD: &str = "21234000012345";
const PIN: &str = "4931";

struct Running {
    base: String,
    _db: TempDb,
}

async fn start() -> Running {
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.web.enabled = true;
    config.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.web.login_attempts_per_card = u32::MAX;
    config.web.login_attempts_per_address = u32::MAX;
    let db = TempDb::new(Backend::Sqlite).await.expect("database");
    let store = db.store().clone();
    let clock: SharedClock = clock::system();
    let keys = KeyRing::new(1, PepperKey::from_bytes([7; 32]), Vec::new());
    let auth = Authenticator::with_keys(store.clone(), &config.security, clock.clone(), keys)
        .await
        .expect("authenticator");
    let app = App::with_authenticator(config, store, auth, clock);
    let details = sample_patron("MAIN", CARD).details;
    let at = CardRef {
        institution: "MAIN".into(),
        card: CARD.into(),
    };
    app.accounts()
        .add_patron(
            &Operator::new("bench").expect("operator"),
            &at,
            details,
            Some(SecretString::from(PIN)),
        )
        .await
        .expect("patron");
    let sip2 = Server::bind(app.config(), app.sip2()).await.expect("SIP2");
    let web = WebServer::bind(app.config(), app.web()).await.expect("web");
    let base = format!("http://{}", web.local_addr().expect("address"));
    tokio::spawn(app.run_with(sip2, Some(web)));
    Running { base, _db: db }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The log-in form's CSRF token and its cookie.
async fn login_form(http: &reqwest::Client, base: &str) -> (String, String) {
    let page = http.get(format!("{base}/login")).send().await.expect("GET");
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("login cookie")
        .to_owned();
    let body = page.text().await.expect("body");
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("token") + marker.len();
    (body[start..start + 64].to_owned(), cookie)
}

async fn log_in(http: &reqwest::Client, base: &str, csrf: &str, cookie: &str) -> String {
    let answer = http
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base)
        .header("cookie", cookie)
        .body(format!("csrf={csrf}&card={CARD}&secret={PIN}"))
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), 303, "the log-in succeeds");
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sip2auth-session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned()
}

fn web(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let running = runtime.block_on(start());
    let base = Arc::new(running.base.clone());
    let http = client();
    let (csrf, form_cookie) = runtime.block_on(login_form(&http, &base));
    let session = runtime.block_on(log_in(&http, &base, &csrf, &form_cookie));

    let mut group = c.benchmark_group("web");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    group.bench_function("log_in", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                let posts: Vec<_> = (0..iters)
                    .map(|_| {
                        let (http, base) = (http.clone(), Arc::clone(&base));
                        let (csrf, cookie) = (csrf.clone(), form_cookie.clone());
                        tokio::spawn(async move { log_in(&http, &base, &csrf, &cookie).await })
                    })
                    .collect();
                for post in posts {
                    post.await.expect("log-in task");
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("my_account", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let page = http
                    .get(format!("{base}/account"))
                    .header("cookie", &session)
                    .send()
                    .await
                    .expect("GET");
                assert_eq!(page.status(), 200);
                page.bytes().await.expect("body")
            })
        });
    });
    group.finish();
    drop(running);
}

criterion_group!(benches, web);
criterion_main!(benches);
