//! Test support for the web pages: the real application (SIP2 and web listeners on port 0, one
//! app) over the standard world, and a small HTTP client that keeps cookies by hand (so tests
//! see every Set-Cookie attribute), never follows redirects, and sends the site's Origin on
//! POSTs as a browser does.

use std::collections::HashMap;
use std::net::SocketAddr;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use sip2auth::app::App;
use sip2auth::clock::SharedClock;
use sip2auth::config::Config;
use sip2auth::http::WebServer;
use sip2auth::server::Server;
use sip2auth::store::Backend;

use super::world::SC_USER_LOGIN;
use super::{test_config, TestServer, World};

/// The configuration of web tests: the test config with the web pages on a free port.
pub fn web_config() -> Config {
    let mut config = test_config();
    config.web.enabled = true;
    config.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

/// The application with both listeners, and where its pages are.
pub struct WebTest {
    pub server: TestServer,
    pub web_addr: SocketAddr,
    /// The origin the pages are built with (public URL or `http://` and the address).
    pub origin: String,
}

pub async fn start_web(backend: Backend, config: Config) -> WebTest {
    let world = World::new(backend, &config).await;
    let shared: SharedClock = world.clock.clone();
    let app = App::with_authenticator(config, world.store.clone(), world.auth.clone(), shared);
    let sip2 = Server::bind(app.config(), app.sip2())
        .await
        .expect("SIP2 binds");
    let web = WebServer::bind(app.config(), app.web())
        .await
        .expect("web binds");
    let addr = sip2.local_addr().expect("SIP2 address");
    let web_addr = web.local_addr().expect("web address");
    let origin = web.origin().to_owned();
    let shutdown = app.shutdown();
    let handle = tokio::spawn(app.run_with(sip2, Some(web)));
    let server = TestServer {
        addr,
        tls_addr: None,
        shutdown,
        handle: Some(handle),
        clock: world.clock,
        store: world.store,
        auth: world.auth,
        db: world.db,
    };
    WebTest {
        server,
        web_addr,
        origin,
    }
}

impl WebTest {
    /// A new visitor with an empty cookie jar.
    pub fn visitor(&self) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: format!("http://{}", self.web_addr),
            origin: self.origin.clone(),
            cookies: HashMap::new(),
        }
    }

    /// Whether SIP2 (terminal sc_user) accepts this PIN for this card: CQ=Y.
    pub async fn sip2_accepts(&self, card: &str, pin: &str) -> bool {
        let mut client = self.server.client().await;
        assert!(client.exchange(SC_USER_LOGIN).await.starts_with("941"));
        let answer = client
            .exchange(&format!(
                "6300120250314    093005          AOMAIN|AA{card}|AC|AD{pin}|"
            ))
            .await;
        answer.contains("|CQY|")
    }
}

/// One answer: status, headers, body.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The Location of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Every Set-Cookie line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The first form's CSRF token.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[start..start + 64].to_owned()
    }
}

/// A browser stand-in: cookies by hand, no redirects followed.
pub struct Visitor {
    http: reqwest::Client,
    pub base: String,
    pub origin: String,
    pub cookies: HashMap<String, String>,
}

impl Visitor {
    /// A visitor of pages served elsewhere (a `serve` child process) at `origin`.
    pub fn at(origin: &str) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: origin.trim_end_matches('/').to_owned(),
            origin: origin.trim_end_matches('/').to_owned(),
            cookies: HashMap::new(),
        }
    }
}

/// Form-encodes fields.
pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Visitor {
    fn cookie_header(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let line = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&line).ok()
    }

    async fn answer(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        let page = Page {
            status,
            headers,
            body,
        };
        for line in page.set_cookies() {
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    /// GET with extra headers.
    pub async fn get_with(&mut self, path: &str, extra: &[(&str, &str)]) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(cookies) = self.cookie_header() {
            request = request.header(COOKIE, cookies);
        }
        let response = request.send().await.expect("GET");
        self.answer(response).await
    }

    /// POSTs a raw body with extra headers (the site's Origin unless one is given; a header
    /// given with an empty value is left out).
    pub async fn post_raw(&mut self, path: &str, body: Vec<u8>, extra: &[(&str, &str)]) -> Page {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("origin")) {
            request = request.header("origin", self.origin.clone());
        }
        for (name, value) in extra.iter().filter(|(_, v)| !v.is_empty()) {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        if let Some(cookies) = self.cookie_header() {
            request = request.header(COOKIE, cookies);
        }
        let response = request.send().await.expect("POST");
        self.answer(response).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_raw(path, encode(fields).into_bytes(), &[]).await
    }

    /// Opens the log-in form and submits it.
    pub async fn log_in(&mut self, card: &str, secret: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        self.post(
            "/login",
            &[("csrf", &csrf), ("card", card), ("secret", secret)],
        )
        .await
    }

    /// The CSRF token of the logged-in session (read from My Account or a change page).
    pub async fn session_csrf(&mut self, path: &str) -> String {
        self.get(path).await.csrf()
    }

    /// The session cookie's value, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k.ends_with("sip2auth-session"))
            .map(|(_, v)| v.clone())
    }

    /// Changes the PIN through the form.
    pub async fn change_pin(&mut self, old: &str, new: &str, confirm: &str) -> Page {
        let csrf = self.session_csrf("/change-pin").await;
        self.post(
            "/change-pin",
            &[
                ("csrf", &csrf),
                ("old", old),
                ("new", new),
                ("confirm", confirm),
            ],
        )
        .await
    }
}
