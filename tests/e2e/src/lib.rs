//! Helpers for driving the real Tally window: tauri-driver (which drives WebKitWebDriver) is
//! started per test with an isolated home, and every WebDriver call has a timeout.
//!
//! Run through the README's test command, which provides Xvfb and a D-Bus session with an
//! unlocked gnome-keyring.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

pub const STEP: Duration = Duration::from_secs(60);

/// The built app. `TALLY_APP` overrides; the test command builds `target/debug/tally` first.
pub fn app_binary() -> PathBuf {
    std::env::var_os("TALLY_APP").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/tally").canonicalize().expect("target/debug/tally is missing: build the app first (scripts/test.sh does)")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port")
}

/// A tauri-driver process whose app runs with `home` as its XDG data, config and cache dirs.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub async fn start(home: &Path) -> Driver {
        Self::start_with_env(home, &[]).await
    }

    /// Like [`Driver::start`], with extra environment variables for the app.
    pub async fn start_with_env(home: &Path, env: &[(&str, &str)]) -> Driver {
        let (port, native_port) = (free_port(), free_port());
        let child = Command::new("tauri-driver")
            .envs(env.iter().copied())
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("XDG_DATA_HOME", home.join("share"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("NO_AT_BRIDGE", "1")
            .env_remove("TALLY_DATA_DIR")
            .stdout(Stdio::null())
            // TALLY_E2E_APP_STDERR=1: the app's and WebKit's own stderr (with JSC_logGC=1, say,
            // JavaScriptCore's collections and their pauses) come through, for diagnosis.
            .stderr(if std::env::var_os("TALLY_E2E_APP_STDERR").is_some() { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("tauri-driver is not on PATH: run scripts/test.sh, which installs it");
        let driver = Driver { child, port };
        let deadline = Instant::now() + STEP;
        let http = reqwest_status_url(port);
        while Instant::now() < deadline {
            if http_ok(&http).await {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tauri-driver did not answer on port {port}");
    }

    /// A WebDriver session: starts the app and returns once its window is there.
    pub async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert("tauri:options".into(), serde_json::json!({ "application": app_binary() }));
        let client = tokio::time::timeout(STEP, ClientBuilder::native().capabilities(caps).connect(&format!("http://127.0.0.1:{}", self.port)))
            .await
            .expect("session start timed out")
            .expect("WebDriver session");
        client
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reqwest_status_url(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A bare `GET /status` (no HTTP client crate needed for one line).
async fn http_ok(addr: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await else { return false };
    let req = format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
    buf.starts_with(b"HTTP/1.1 200")
}

/// A PNG of the window, through WebDriver. Where there is no GPU (Xvfb here) the app paints
/// without WebKit's compositing (src-tauri/rendering.rs), and WebKitGTK then answers a screenshot
/// only after the page paints again: an idle page never does, and the call waited for ever. So a
/// 1-pixel mark in the bottom-right corner changes shade every 50 ms until the screenshot is back.
pub async fn page_screenshot(c: &Client) -> Result<Vec<u8>, fantoccini::error::CmdError> {
    let nudge = "const m = document.createElement('div'); \
        m.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;z-index:2147483647'; \
        document.body.append(m); let n = 0; \
        window.__tallyShotNudge = { m, t: setInterval(() => { m.style.background = n++ % 2 ? '#fdfdfd' : '#fefefe'; }, 50) };";
    c.execute(nudge, vec![]).await?;
    let shot = c.screenshot().await;
    c.execute("const k = window.__tallyShotNudge; if (k) { clearInterval(k.t); k.m.remove(); }", vec![]).await?;
    shot
}

/// Waits for an element (by CSS) to appear.
pub async fn find(c: &Client, css: &str) -> Element {
    tokio::time::timeout(STEP, c.wait().at_most(STEP).for_element(Locator::Css(css)))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {css}"))
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

/// Polls `check` every 100 ms until it returns `Some`, failing with `what` after [`STEP`].
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn text(c: &Client, css: &str) -> String {
    find(c, css).await.text().await.unwrap_or_default()
}

pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
        out.push(e.text().await.unwrap_or_default());
    }
    out
}

pub async fn attrs(c: &Client, css: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
        out.push(e.attr(name).await.ok().flatten().unwrap_or_default());
    }
    out
}

/// A DOM property of every element matching `css` (`textContent`, `value`, …).
pub async fn props(c: &Client, css: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
        out.push(e.prop(name).await.ok().flatten().unwrap_or_default());
    }
    out
}

/// Replaces an input's value by typing, as a person would.
pub async fn type_into(c: &Client, css: &str, value: &str) {
    let e = find(c, css).await;
    e.clear().await.expect("clear input");
    e.send_keys(value).await.expect("type into input");
}

pub async fn click(c: &Client, css: &str) {
    find(c, css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Adds a column for `target` (`route:model`) to the open conversation, as a user does: the
/// Column button, the target typed, Add. Waiting for it to show is the caller's (a column that
/// goes through OpenRouter in a sensitive conversation asks first).
pub async fn add_column(c: &Client, target: &str) {
    click(c, "[data-testid=add-column]").await;
    type_into(c, "[data-testid=add-column-target]", target).await;
    click(c, "[data-testid=add-column-confirm]").await;
}

/// Empties the (throwaway) keyring of every provider's key, so a test never sees keys an
/// earlier test left behind. Refuses to run outside the test command's isolated session.
pub fn clear_keyring() {
    assert!(std::env::var_os("TALLY_E2E_ISOLATED").is_some(), "run end-to-end tests through scripts/test.sh (they use a throwaway keyring)");
    let keyring = tally_engine::secrets::Keyring::default();
    for p in tally_engine::providers::PROVIDERS {
        keyring.delete(p.id).expect("the test keyring answers");
    }
    keyring.delete(&tally_engine::target::custom_key_account("lab")).expect("the test keyring answers");
}

/// Saves a base URL and a key for a provider on the Settings page (which must be open). The base
/// URL first: with no key stored yet, pointing it at the fake on 127.0.0.1 asks nothing (a stored
/// key moved to another host would be confirmed in a native dialog first).
pub async fn set_provider(c: &fantoccini::Client, id: &str, key: &str, base_url: &str) {
    type_into(c, &format!("[data-testid=base-url-{id}]"), base_url).await;
    click(c, &format!("[data-testid=save-base-url-{id}]")).await;
    until(&format!("{id} base URL saved"), || async {
        (text(c, &format!("[data-testid=provider-message-{id}]")).await == "Base URL saved.").then_some(())
    })
    .await;

    type_into(c, &format!("[data-testid=key-input-{id}]"), key).await;
    click(c, &format!("[data-testid=save-key-{id}]")).await;
    until(&format!("{id} key set"), || async { (text(c, &format!("[data-testid=key-status-{id}]")).await == "Key set").then_some(()) }).await;
    let input = find(c, &format!("[data-testid=key-input-{id}]")).await;
    assert_eq!(input.prop("value").await.unwrap().unwrap_or_default(), "", "the key field is emptied once saved");
}

/// A native dialog the app opened from Rust (GTK, a window of its own on the test's X display,
/// outside the web view WebDriver sees), found and answered with xdotool as a person would with
/// the keyboard.
pub struct NativeDialog {
    pub window: String,
    pub title: String,
}

/// xdotool, with a deadline of [`STEP`], off the async workers.
async fn xdotool(args: Vec<String>) -> String {
    let what = args.join(" ");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("timeout").arg(STEP.as_secs().to_string()).arg("xdotool").args(&args).output()
    })
    .await
    .expect("xdotool ran")
    .unwrap_or_else(|e| panic!("xdotool could not start ({e}): apt-get install xdotool"));
    assert!(out.status.success(), "xdotool {what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text as an extended regular expression that matches it literally (xdotool's --name).
fn literal(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, ch| {
        if "\\^$.|?*+()[]{}".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
        out
    })
}

/// Waits for the visible window whose title contains `title` (a native dialog) and returns it.
pub async fn native_dialog(title: &str) -> NativeDialog {
    let found = xdotool(vec!["search".into(), "--sync".into(), "--onlyvisible".into(), "--name".into(), literal(title)]).await;
    let window = found.lines().next().unwrap_or_else(|| panic!("no window titled {title:?}")).trim().to_string();
    let title = xdotool(vec!["getwindowname".into(), window.clone()]).await.trim().to_string();
    NativeDialog { window, title }
}

/// Titles of the visible windows whose title contains `text` right now.
pub fn windows_titled(text: &str) -> Vec<String> {
    let out = Command::new("xdotool").args(["search", "--onlyvisible", "--name", &literal(text)]).output().expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|w| Command::new("xdotool").args(["getwindowname", w.trim()]).output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .collect()
}

impl NativeDialog {
    /// Gives the dialog the keyboard focus and presses `key` ("Return", "Escape", "Tab" …).
    pub async fn press(&self, key: &str) {
        xdotool(vec!["windowfocus".into(), "--sync".into(), self.window.clone()]).await;
        xdotool(vec!["key".into(), "--clearmodifiers".into(), key.into()]).await;
    }

    /// Saves a picture of the whole screen, the dialog over the window (ImageMagick's `import`).
    pub fn screenshot(&self, name: &str) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
        let _ = std::fs::create_dir_all(&dir);
        let _ = Command::new("import").args(["-window", "root"]).arg(dir.join(name)).status();
    }
}

/// Asserts that no file under `dir` holds any of `secrets` or a 12-character slice of one.
pub fn assert_no_file_leaks(dir: &Path, secrets: &[&str]) {
    for f in files_under(dir) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for key in secrets {
            assert!(!leaks(&bytes, key), "a key leaked into {}", f.display());
        }
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Where `secret`, or any 12-character slice of it, appears in `haystack` (bytes).
pub fn leaks(haystack: &[u8], secret: &str) -> bool {
    let s = secret.as_bytes();
    s.windows(12.min(s.len())).any(|w| haystack.windows(w.len()).any(|h| h == w))
}

/// The app in its own throwaway home with a fake provider, its session open on the Settings page
/// after `providers` (id, key, wire flavour) were given their key and the fake's base URL.
pub struct FakeSetup {
    pub home: tempfile::TempDir,
    pub fake: tally_fake_provider::FakeProvider,
    pub driver: Driver,
    pub c: Client,
}

impl FakeSetup {
    pub async fn start(providers: &[(&str, &str, tally_fake_provider::Flavour)]) -> FakeSetup {
        assert!(std::env::var_os("TALLY_E2E_ISOLATED").is_some(), "run end-to-end tests through scripts/test.sh");
        clear_keyring();
        let home = tempfile::tempdir().expect("a temp dir");
        let fake = tally_fake_provider::FakeProvider::start().await.expect("the fake provider starts");
        let driver = Driver::start(home.path()).await;
        let c = driver.session().await;
        click(&c, "[data-testid=nav-settings]").await;
        for (id, key, flavour) in providers {
            set_provider(&c, id, key, &fake.base_url(*flavour)).await;
        }
        FakeSetup { home, fake, driver, c }
    }
}

/// The requests for answers the fake provider has received, oldest first: everything but the
/// app's background look-ups of OpenRouter's generation records (`GET /api/v1/generation`).
pub fn answer_requests(fake: &tally_fake_provider::FakeProvider) -> Vec<tally_fake_provider::Recorded> {
    fake.requests().into_iter().filter(|r| !r.path.ends_with("/generation")).collect()
}

/// The numbered entries of a /proc directory: the processes in `/proc`, a process's threads in
/// `/proc/PID/task`.
pub fn proc_ids(dir: &str) -> Vec<u32> {
    std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect()
}

/// The running processes of the app under test (those whose executable is [`app_binary`]).
pub fn app_pids() -> Vec<u32> {
    let app = app_binary();
    proc_ids("/proc").into_iter().filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|exe| exe == app)).collect()
}

/// The processes `pid` started.
pub fn child_pids(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default().split_whitespace().filter_map(|c| c.parse().ok()).collect()
}

/// The threads of every running app ([`app_pids`]) and of the processes it started that run
/// under a real-time policy (`SCHED_FIFO` or `SCHED_RR`), as "process/thread" names.
pub fn realtime_threads() -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = app_pids();
    while let Some(p) = todo.pop() {
        for tid in proc_ids(&format!("/proc/{p}/task")) {
            let stat = std::fs::read_to_string(format!("/proc/{p}/task/{tid}/stat")).unwrap_or_default();
            // Field 41 is the policy; the fields after the name (in parentheses) start at 3.
            let policy = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(41 - 3)?.parse::<u32>().ok());
            if matches!(policy, Some(1 | 2)) {
                let name = |t: u32| std::fs::read_to_string(format!("/proc/{p}/task/{t}/comm")).unwrap_or_default().trim().to_string();
                out.push(format!("{}/{}", name(p), name(tid)));
            }
        }
        todo.extend(child_pids(p));
    }
    out
}

/// The WebKit web processes (the pages) started by a running app ([`app_pids`]).
pub fn web_process_pids() -> Vec<u32> {
    app_pids()
        .into_iter()
        .flat_map(child_pids)
        .filter(|child| std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default().starts_with("WebKitWebProces"))
        .collect()
}

/// The value of `var` in the environment of every WebKit web process started by a running app
/// ([`web_process_pids`]); `None` where it is not set.
pub fn web_process_env(var: &str) -> Vec<Option<String>> {
    let prefix = format!("{var}=");
    web_process_pids()
        .into_iter()
        .map(|child| {
            let environ = std::fs::read(format!("/proc/{child}/environ")).unwrap_or_default();
            environ.split(|b| *b == 0).find_map(|kv| kv.strip_prefix(prefix.as_bytes())).map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .collect()
}
