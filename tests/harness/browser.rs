//! A real headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! installed by `make test-deps`, mk/ui.mk), for the trace explorer's tests.
//!
//! [`Browser::start`] launches `chromedriver` on a free loopback port and opens one session of
//! Chromium with a fresh profile in a temporary directory and everything that would reach the
//! network turned off. `$CHROMIUM` and `$CHROMEDRIVER` override the binaries' paths.
//! Screenshots go to `<target dir>/ui-screenshots/<name>.png` ([`screenshot_dir`]).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a wait for the page may take before the test fails (a broken page, not a slow one).
const WAIT: Duration = Duration::from_secs(60);

fn binary(var: &str, default: &str) -> PathBuf {
    let p = std::env::var(var)
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(default));
    assert!(
        p.exists(),
        "{} not found: run `make test-deps` (mk/ui.mk installs Debian's chromium and chromium-driver) or set ${var}",
        p.display()
    );
    p
}

/// Where screenshots are written: `$CARGO_TARGET_DIR/ui-screenshots`, else
/// `target/ui-screenshots` at the workspace root.
pub fn screenshot_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("ui-screenshots")
}

/// One Chromium session; the driver is killed on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a 1440×900 window.
    pub async fn start() -> Self {
        let chromium = binary("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = crate::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--window-size=1440,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        // chromedriver takes a moment to listen.
        let client = crate::eventually_async(30, || {
            let caps = caps.clone();
            let url = url.clone();
            let connector = connector.clone();
            async move {
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .ok()
            }
        })
        .await;
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigating");
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Every element matching `css` now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
    }

    /// The text of the first element matching `css`, once it appears.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// Texts of every element matching `css` now (an element replaced meanwhile is left out:
    /// call this inside [`Browser::until`] while the page may still change).
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.all(css).await {
            if let Ok(t) = e.text().await {
                out.push(t);
            }
        }
        out
    }

    /// Polls `check` (given the browser) until it returns `Some`, failing after a minute with
    /// a screenshot named `name`.
    pub async fn until<T, F>(&self, name: &str, mut check: F) -> T
    where
        F: AsyncFnMut(&Browser) -> Option<T>,
    {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = check(self).await {
                return v;
            }
            if std::time::Instant::now() > deadline {
                self.screenshot(&format!("failed-{name}")).await;
                panic!("page never showed: {name}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Replaces the value of the input `css` with `text`, typed key by key.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clearing input");
        e.send_keys(text).await.expect("typing");
    }

    /// Writes a PNG of the viewport to [`screenshot_dir`]`/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let png = self.client.screenshot().await.expect("screenshot");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("writing screenshot");
        path
    }

    /// Runs `js` in the page and returns its result.
    pub async fn eval(&self, js: &str) -> serde_json::Value {
        self.client.execute(js, vec![]).await.expect("script")
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
