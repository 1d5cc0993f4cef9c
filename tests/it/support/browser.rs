//! A real browser for the web tests: Debian's chromium, headless, driven over WebDriver by
//! fantoccini through its own chromedriver on a free port. `scripts/browser-deps.sh` (called by
//! `scripts/test.sh`) installs chromium and chromium-driver and fetches axe-core; without them
//! these tests fail, loudly, never pass silently.
//!
//! Every page visited can be saved as a screenshot (in `target/browser-screenshots/TEST/`, the
//! folder is printed) and checked with axe-core: a serious or critical violation fails the test.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long chromedriver may take to listen, and any page step to complete.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the browser dependencies are, as `scripts/browser-deps.sh` leaves them.
fn chromedriver_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SIP2AUTH_CHROMEDRIVER") {
        return PathBuf::from(path);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let candidate = PathBuf::from(dir).join("chromedriver");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the browser tests need chromium and chromedriver: run `bash scripts/browser-deps.sh` \
         (scripts/test.sh does) or set SIP2AUTH_CHROMEDRIVER"
    );
}

fn axe_source() -> String {
    let path = std::env::var_os("SIP2AUTH_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(home).join(".cache"));
            cache.join("sip2auth-browser/axe-4.10.2.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "axe-core is missing at {} ({err}): run `bash scripts/browser-deps.sh`",
            path.display()
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A headless chromium session and the chromedriver behind it (killed on drop).
pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
    shot_count: usize,
    axe: String,
}

impl Browser {
    /// Starts chromedriver and a headless chromium for the test `name`.
    pub async fn start(name: &str) -> Browser {
        let port = free_port();
        let mut driver = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            // Its own process group, so that chromium goes with it even after a failed test.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || driver.try_wait().ok().flatten().is_some() {
                let _ = driver.kill();
                panic!("chromedriver did not listen on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("sip2auth-chromium-{port}"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1024,900", "--no-first-run", "--disable-extensions",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|err| {
                let _ = driver.kill();
                panic!("no chromium session (is the chromium package installed?): {err}")
            });
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser-screenshots")
            .join(name);
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        eprintln!("browser screenshots of {name}: {}", shots.display());
        Browser {
            client,
            driver,
            shots,
            shot_count: 0,
            axe: axe_source(),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Types into the field with this id (after clearing it).
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.expect("field");
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Clicks something that loads a new page (a link, a submit button) and waits until the old
    /// page is gone and the new one has loaded.
    pub async fn follow(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.expect("page");
        self.click(css).await;
        let deadline = Instant::now() + START_TIMEOUT;
        // A reference into the old page goes stale once the browser replaced the page.
        while old.attr("lang").await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "no new page after clicking {css}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while self
            .client
            .execute("return document.readyState;", Vec::new())
            .await
            .ok()
            .and_then(|state| state.as_str().map(|s| s == "complete"))
            != Some(true)
        {
            assert!(
                Instant::now() < deadline,
                "the page after {css} did not load"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Clicks something on the page (no navigation expected).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect("element")
            .click()
            .await
            .expect("click");
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .expect("element")
            .text()
            .await
            .expect("text")
    }

    /// The visible text of the page's main content.
    pub async fn main_text(&self) -> String {
        self.text("main").await
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .expect("element")
            .attr(name)
            .await
            .expect("attribute")
    }

    /// Saves a screenshot named after the page and fails on any serious or critical axe-core
    /// violation.
    pub async fn check_page(&mut self, page: &str) {
        self.shot_count += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let file = self
            .shots
            .join(format!("{:02}-{page}.png", self.shot_count));
        std::fs::write(&file, png).expect("screenshot written");
        let violations = self.serious_violations().await;
        assert!(
            violations.is_empty(),
            "axe-core on {page} ({}): {violations:#?}",
            file.display()
        );
    }

    /// The serious and critical axe-core violations of the page shown.
    pub async fn serious_violations(&self) -> Vec<String> {
        self.client
            .execute(&format!("{}\nreturn true;", self.axe), Vec::new())
            .await
            .expect("axe-core injected");
        let script = "const done = arguments[arguments.length - 1];\
            axe.run(document, { resultTypes: ['violations'] }).then(function (r) {\
              done(r.violations.filter(function (v) {\
                return v.impact === 'serious' || v.impact === 'critical';\
              }).map(function (v) {\
                return v.id + ' (' + v.impact + '): ' + v.nodes.map(function (n) {\
                  return n.target.join(' ');\
                }).join(', ');\
              }));\
            }, function (e) { done(['axe failed: ' + e]); });";
        let found = self
            .client
            .execute_async(script, Vec::new())
            .await
            .expect("axe-core ran");
        match found {
            Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect(),
            other => vec![format!("unexpected axe answer {other}")],
        }
    }

    /// Ends the browser session (chromedriver goes when the value is dropped).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the chromium it started.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}
