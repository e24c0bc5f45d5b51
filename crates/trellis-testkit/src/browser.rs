//! Real headless Chromium for end-to-end tests of the web pages, driven
//! over WebDriver by a `chromedriver` this module starts on a free port.
//!
//! Chromium and ChromeDriver come from Debian's `chromium` and
//! `chromium-driver` packages (`.ci/run` installs them). A machine without
//! them fails the browser tests with a message saying so, rather than
//! passing them unseen; `TRELLIS_SKIP_BROWSER=1` skips them on purpose.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Set to `1` to skip the browser tests on a machine without Chromium.
const SKIP: &str = "TRELLIS_SKIP_BROWSER";

/// How Chromium runs: without a display; without its sandbox, which cannot
/// start as root (CI's user); with /tmp in place of /dev/shm, which
/// containers keep too small; at a desktop window size, which screenshots
/// are read at.
const CHROMIUM_ARGS: [&str; 5] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// A headless Chromium session; its `chromedriver` (and with it Chromium)
/// ends when this is dropped.
pub struct Browser {
    client: Client,
    screenshots: PathBuf,
    _driver: Driver,
}

impl Browser {
    /// Starts Chromium for the test `test` (which names its screenshot
    /// folder), or `None` when `TRELLIS_SKIP_BROWSER=1` says to skip.
    ///
    /// # Panics
    /// When Chromium or ChromeDriver is missing or does not start.
    pub async fn open(test: &str) -> Option<Browser> {
        if std::env::var(SKIP).is_ok_and(|v| v == "1") {
            eprintln!("{SKIP}=1: the browser test {test} is skipped");
            return None;
        }
        let chromium = installed("chromium");
        let driver = Driver::start(&installed("chromedriver")).await;
        let capabilities = serde_json::Map::from_iter([
            ("browserName".to_owned(), json!("chrome")),
            (
                "goog:chromeOptions".to_owned(),
                json!({"binary": chromium, "args": CHROMIUM_ARGS}),
            ),
        ]);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium did not start under chromedriver: {e}"));
        let screenshots = target_dir().join("screenshots").join(test);
        // Only this run's steps: a renamed step leaves no stale picture.
        let _ = std::fs::remove_dir_all(&screenshots);
        std::fs::create_dir_all(&screenshots).expect("screenshot folder");
        Some(Browser {
            client,
            screenshots,
            _driver: driver,
        })
    }

    /// Opens `url` and waits for the page to load.
    pub async fn visit(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The path of the page shown now (`/portal`), after any redirects.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Types `value` into the field whose `<label>` reads `label`, as a
    /// person finds it.
    pub async fn fill(&self, label: &str, value: &str) {
        let xpath = format!("//label[normalize-space()={}]", quoted(label));
        let label_element = self.element(Locator::XPath(&xpath)).await;
        let id = label_element
            .attr("for")
            .await
            .expect("the label's for attribute")
            .unwrap_or_else(|| panic!("the label {label:?} names no field"));
        let field = self.element(Locator::Id(&id)).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Ticks the checkbox or picks the radio button inside the `<label>`
    /// that reads `label`, as a person clicks it.
    pub async fn check(&self, label: &str) {
        let xpath = format!("//label[normalize-space()={}]/input", quoted(label));
        let input = self.element(Locator::XPath(&xpath)).await;
        input.click().await.expect("click");
    }

    /// Clicks the button or link that reads `text`, and waits for the page
    /// it leads to.
    pub async fn click(&self, text: &str) {
        let text = quoted(text);
        let xpath = format!("//button[normalize-space()={text}] | //a[normalize-space()={text}]");
        let element = self.element(Locator::XPath(&xpath)).await;
        let page = self.element(Locator::Css("html")).await;
        element.click().await.expect("click");
        // A click that submits a form returns before the next page loads;
        // the old page's root going stale is the sign that it has.
        for _ in 0..200 {
            match page.tag_name().await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
                Err(e) if gone(&e) => return,
                Err(e) => panic!("after clicking {text}: {e}"),
            }
        }
        panic!("clicking {text} led to no new page within 5 s");
    }

    /// The page's title; a browser's own error page has one of its own.
    pub async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    /// The text of the element `css` selects, as shown.
    pub async fn text_of(&self, css: &str) -> String {
        self.element(Locator::Css(css))
            .await
            .text()
            .await
            .expect("text")
    }

    /// The attribute `name` of the element `css` selects.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        self.element(Locator::Css(css))
            .await
            .attr(name)
            .await
            .expect("attribute")
    }

    /// Saves what the window shows as `target/screenshots/<test>/<step>.png`.
    pub async fn screenshot(&self, step: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.screenshots.join(format!("{step}.png")), png)
            .expect("write screenshot");
    }

    /// Shows the page at a phone's size (390 x 844 CSS pixels), checks that
    /// nothing is wider than the screen (no sideways scrolling, the usual
    /// way a page fails on a phone), saves `<step>-phone.png`, and returns
    /// to the desktop size.
    pub async fn phone_screenshot(&self, step: &str) {
        self.client
            .set_window_size(390, 844)
            .await
            .expect("phone size");
        let widths = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                vec![],
            )
            .await
            .expect("page width");
        let page = self.path_or_unknown().await;
        assert!(
            widths[0].as_u64() <= widths[1].as_u64(),
            "{page} scrolls sideways on a phone: {widths}"
        );
        self.screenshot(&format!("{step}-phone")).await;
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("desktop size");
    }

    /// The form fields a person cannot tell apart without seeing them: every
    /// visible input, select and textarea needs a `<label>` (or an
    /// `aria-label`) for a screen reader and for keyboard users to know what
    /// it asks. Returns each unlabelled field's name.
    pub async fn unlabelled_fields(&self) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll('input, select, textarea'))\
            .filter(f => f.type !== 'hidden' && f.offsetParent !== null)\
            .filter(f => f.labels.length === 0 && !f.getAttribute('aria-label'))\
            .map(f => f.name || f.id || f.outerHTML);";
        let names = self.client.execute(script, vec![]).await.expect("fields");
        names
            .as_array()
            .map(|list| list.iter().map(|n| n.to_string()).collect())
            .unwrap_or_default()
    }

    /// Ends the session, closing Chromium cleanly.
    pub async fn close(self) {
        self.client.close().await.expect("close the session");
    }

    /// The element `locator` finds; a panic naming the page when none.
    async fn element(&self, locator: Locator<'_>) -> Element {
        match self.client.find(locator).await {
            Ok(element) => element,
            Err(e) => {
                let page = self.path_or_unknown().await;
                panic!("{locator:?} on {page}: {e}")
            }
        }
    }

    async fn path_or_unknown(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.path().to_owned(),
            Err(_) => "an unknown page".to_owned(),
        }
    }
}

/// Whether an element's error says its page is gone. Chromium says so as a
/// stale reference, or, while the next page is still being attached, as an
/// inspector error about a node no longer in the document.
fn gone(e: &fantoccini::error::CmdError) -> bool {
    e.is_stale_element_reference()
        || e.is_no_such_element()
        || e.to_string().contains("does not belong to the document")
}

/// `text` as an XPath string literal; the pages' labels carry no quotes of
/// both kinds, which XPath 1.0 could not write.
fn quoted(text: &str) -> String {
    if text.contains('\'') {
        assert!(!text.contains('"'), "both quotes in {text:?}");
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

/// `program`'s path on `PATH`, or a panic saying how to install it.
fn installed(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{program} is not installed: browser tests need Debian's chromium and \
                 chromium-driver packages (run .ci/run, or apt-get install chromium \
                 chromium-driver), or set {SKIP}=1 to skip them"
            )
        })
}

/// Where cargo builds: `CARGO_TARGET_DIR`, or the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// A running `chromedriver`, in a process group of its own so that the
/// Chromium it starts ends with it even when a test panics before closing
/// the session.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(program: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not listen on port {port} within 5 s");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process under it.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
