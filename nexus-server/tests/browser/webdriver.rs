//! A small W3C WebDriver client over the workspace's reqwest, with the commands these tests
//! use: a session, navigation, elements (by CSS, by their visible label or text), clicks and
//! keys, scripts (sync and async), cookies, the page's size and screenshots. It talks to a
//! chromedriver it starts on a free loopback port, and ends the session (which quits
//! Chromium) and chromedriver when the [`Browser`] drops, also when a test panics.
//!
//! Why not fantoccini: these few commands are ~300 lines over a client the workspace already
//! has, where fantoccini brings hyper's connectors, its TLS choices and Mozilla's
//! `webdriver` crate into the dependency tree for a loopback, plain-HTTP conversation.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// The key of an element reference in WebDriver's JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's flags: headless, nothing fetched from outside (no sync, component updates,
/// background networking, QUIC), no sandbox (CI runs as root), /dev/shm not needed.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// How long [`Browser::wait_until`] waits.
const WAIT: Duration = Duration::from_secs(15);

/// Set to `1`, a missing Chromium or chromedriver fails the tests instead of skipping them.
pub const REQUIRE_VAR: &str = "NEXUS_REQUIRE_BROWSER";

/// Where Chromium and chromedriver are.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Tools {
    /// `NEXUS_CHROMIUM` and `NEXUS_CHROMEDRIVER` when set, else the usual names on `PATH`
    /// (Debian's `chromium` and `chromium-driver` packages install `chromium` and
    /// `chromedriver`).
    fn find() -> Result<Self, String> {
        let chromium = tool(
            "NEXUS_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let chromedriver = tool("NEXUS_CHROMEDRIVER", &["chromedriver"]);
        match (chromium, chromedriver) {
            (Some(chromium), Some(chromedriver)) => Ok(Self {
                chromium,
                chromedriver,
            }),
            (None, Some(_)) => Err("chromium not found".into()),
            (Some(_), None) => Err("chromedriver not found".into()),
            (None, None) => Err("chromium and chromedriver not found".into()),
        }
    }
}

fn tool(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(set) = std::env::var_os(var) {
        return Some(PathBuf::from(set)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Whether `NEXUS_REQUIRE_BROWSER=1`.
fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// A WebDriver command's error answer.
#[derive(Debug)]
pub struct WebDriverError {
    /// `METHOD /path`.
    pub command: String,
    /// WebDriver's error code (`no such element`, …).
    pub error: String,
    /// Its message.
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = self.message.lines().next().unwrap_or_default();
        write!(f, "{}: {}: {first}", self.command, self.error)
    }
}

/// An element on the current page.
#[derive(Debug, Clone)]
pub struct Element(Value);

impl Element {
    fn id(&self) -> &str {
        self.0[ELEMENT].as_str().unwrap()
    }

    /// The reference a script's arguments take.
    pub fn reference(&self) -> Value {
        self.0.clone()
    }
}

/// chromedriver on a loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: one Chromium with a fresh profile.
pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    session: String,
    id: String,
    // Dropped in this order after `Drop::drop` ended the session: chromedriver, then the
    // profile folder.
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A headless Chromium for the test `test`; `None` after saying it was skipped when
    /// Chromium or chromedriver is missing (a failure with `NEXUS_REQUIRE_BROWSER=1`).
    pub async fn open(test: &str) -> Option<Self> {
        match Tools::find() {
            Ok(tools) => Some(Self::start(&tools).await),
            Err(why) if required() => panic!("{test}: {REQUIRE_VAR}=1 but {why}"),
            Err(why) => {
                crate::support::skipped(
                    test,
                    &format!(
                        "{why} (Debian: apt-get install chromium chromium-driver; \
                         {REQUIRE_VAR}=1 makes this a failure)"
                    ),
                );
                None
            }
        }
    }

    async fn start(tools: &Tools) -> Self {
        // The tests' reqwest is built without a default TLS provider; none is used here,
        // but the builder wants one installed.
        nexus_exchanges::http::install_tls_provider();
        let port = free_port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", tools.chromedriver.display()));
        let driver = Driver { child, port };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            let status = http.get(format!("{base}/status")).send().await;
            if let Ok(answer) = status
                && let Ok(body) = answer.json::<Value>().await
                && body["value"]["ready"] == true
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            ready,
            "chromedriver did not answer on port {port} within 10 s"
        );
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": tools.chromium, "args": args},
            "timeouts": {"script": 30_000, "pageLoad": 30_000, "implicit": 0},
        }}});
        let answer = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap();
        let body: Value = answer.json().await.unwrap();
        let id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session from chromedriver: {body}"))
            .to_owned();
        Self {
            http,
            session: format!("{base}/session/{id}"),
            id,
            driver,
            _profile: profile,
        }
    }

    /// Sends a command; its `value`, or its error.
    ///
    /// # Errors
    /// WebDriver's error answer.
    pub async fn command(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let failed = |error: String, message: String| WebDriverError {
            command: format!("{method} {path}"),
            error,
            message,
        };
        let answer = request
            .send()
            .await
            .map_err(|e| failed("unanswered".into(), e.to_string()))?;
        let status = answer.status();
        let body: Value = answer
            .json()
            .await
            .map_err(|e| failed("not JSON".into(), e.to_string()))?;
        if status.is_success() {
            Ok(body["value"].clone())
        } else {
            Err(failed(
                body["value"]["error"].as_str().unwrap_or("?").to_owned(),
                body["value"]["message"].as_str().unwrap_or("").to_owned(),
            ))
        }
    }

    async fn must(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.command(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.must(Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Reloads the page.
    pub async fn reload(&self) {
        self.must(Method::POST, "/refresh", Some(json!({}))).await;
    }

    /// The current page's path and query.
    pub async fn path(&self) -> String {
        self.script("return location.pathname + location.search;", json!([]))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and gives its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.must(
            Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs `script`, which calls its last argument with the result when done.
    pub async fn script_async(&self, script: &str, args: Value) -> Value {
        self.must(
            Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The element a script returned, or `None` for `null`.
    fn element(value: Value) -> Option<Element> {
        value.get(ELEMENT).is_some().then_some(Element(value))
    }

    /// The first element matching the CSS selector `css`, or `None`.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .command(
                Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        match found {
            Ok(value) => Self::element(value),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("{e}"),
        }
    }

    /// The control whose `<label>` reads `label` (trimmed), failing with the labels the
    /// page has when none does.
    pub async fn field(&self, label: &str) -> Element {
        let found = self
            .script(
                "const labels = Array.from(document.querySelectorAll('label'));
                 const label = labels.find(l => l.textContent.trim() === arguments[0]);
                 return label && label.control ? label.control
                     : labels.map(l => l.textContent.trim());",
                json!([label]),
            )
            .await;
        let path = self.path().await;
        Self::element(found.clone())
            .unwrap_or_else(|| panic!("no field labelled {label:?} on {path}; labels: {found}"))
    }

    /// The button (or link styled as one) whose visible text reads `text`, failing with the
    /// buttons the page has when none does.
    pub async fn button(&self, text: &str) -> Element {
        let found = self
            .script(
                "const buttons = Array.from(document.querySelectorAll(
                     'button, input[type=submit], a.btn, [role=button]'));
                 const name = b => (b.value && b.tagName === 'INPUT' ? b.value : b.textContent).trim();
                 const button = buttons.find(b => name(b) === arguments[0]);
                 return button || buttons.map(name);",
                json!([text]),
            )
            .await;
        let path = self.path().await;
        Self::element(found.clone())
            .unwrap_or_else(|| panic!("no button {text:?} on {path}; buttons: {found}"))
    }

    /// Clicks `element` (scrolled into view first, as a person would).
    pub async fn click(&self, element: &Element) {
        self.must(
            Method::POST,
            &format!("/element/{}/click", element.id()),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into `element`, replacing what it held.
    pub async fn type_into(&self, element: &Element, text: &str) {
        let id = element.id();
        self.must(
            Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.must(
            Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Chooses `value` in the select `element`, as picking it from the list does.
    pub async fn choose(&self, element: &Element, value: &str) {
        self.script(
            "arguments[0].value = arguments[1];
             arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            json!([element.reference(), value]),
        )
        .await;
    }

    /// `element`'s attribute `name`.
    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let value = self
            .must(
                Method::GET,
                &format!("/element/{}/attribute/{name}", element.id()),
                None,
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.script("return document.body.innerText;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until `script` (a function body) returns something truthy, failing with `what`,
    /// the page and its text after 15 s.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let start = std::time::Instant::now();
        while start.elapsed() < WAIT {
            let value = self.command(
                Method::POST,
                "/execute/sync",
                Some(json!({"script": script, "args": []})),
            );
            // A navigation in progress can lose a script's context: try again.
            if let Ok(value) = value.await
                && !matches!(value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let path = self.path().await;
        let text = self.text().await;
        panic!("timed out waiting for {what}; on {path}, which reads:\n{text}");
    }

    /// Waits until the page is `path` (path and query) and loaded.
    pub async fn wait_for_path(&self, path: &str) {
        let script = format!(
            "return location.pathname + location.search === {} \
             && document.readyState === 'complete';",
            json!(path)
        );
        self.wait_until(&format!("the page {path}"), &script).await;
    }

    /// Makes the page `width` × `height` CSS pixels and waits until it is. Chromium's own
    /// device emulation (DevTools' `Emulation.setDeviceMetricsOverride`, through
    /// chromedriver): exact, where a headless window's frame varies; it lasts across
    /// navigations.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.must(
            Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false},
            })),
        )
        .await;
        let script =
            format!("return window.innerWidth === {width} && window.innerHeight === {height};");
        self.wait_until(&format!("a {width} × {height} page"), &script)
            .await;
    }

    /// A PNG of the page's viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let value = self.must(Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap())
            .unwrap()
    }

    /// The value of the current page's cookie `name`.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let path = format!("/cookie/{name}");
        match self.command(Method::GET, &path, None).await {
            Ok(cookie) => cookie["value"].as_str().map(str::to_owned),
            Err(e) if e.error == "no such cookie" => None,
            Err(e) => panic!("{e}"),
        }
    }

    /// Sets the cookie `name` for the current page's site, on every path.
    pub async fn set_cookie(&self, name: &str, value: &str, http_only: bool) {
        self.must(
            Method::POST,
            "/cookie",
            Some(json!({"cookie": {
                "name": name, "value": value, "path": "/", "httpOnly": http_only,
                "sameSite": "Lax",
            }})),
        )
        .await;
    }

    /// Removes the cookie `name` of the current page's site.
    pub async fn delete_cookie(&self, name: &str) {
        self.must(Method::DELETE, &format!("/cookie/{name}"), None)
            .await;
    }
}

impl Drop for Browser {
    /// Ends the session, which quits Chromium: chromedriver, killed, would leave it running.
    /// Drop cannot await, so this is plain HTTP/1.1 over a socket.
    fn drop(&mut self) {
        let ended = end_session(self.driver.port, &self.id);
        if let Err(e) = ended {
            crate::support::skipped("ending the WebDriver session", &e.to_string());
        }
    }
}

fn end_session(port: u16, id: &str) -> std::io::Result<()> {
    let mut socket = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        socket,
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // chromedriver answers once Chromium has quit; it may keep the connection open, so
    // the answer ends where its Content-Length says.
    let mut answer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let read = socket.read(&mut chunk)?;
        answer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&answer);
        let complete = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, length)| length.trim().parse::<usize>().ok())
                .is_some_and(|length| body.len() >= length)
        });
        if read == 0 || complete {
            return Ok(());
        }
    }
}

/// A loopback port nothing listens on (a moment ago).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
