//! What the browser tests share: the admin test site as a child process, the tools
//! they need (node, Chromium, playwright-core), and one runner for a script of
//! `tests/browser/` (one browser at a time).
//!
//! A script is run as `node <script> <base-url> <screenshot-dir>`, must exit 0 and
//! print `<script>: N steps ok, 0 failed`. Without the tools the test skips, except under
//! CI where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use batteries::orm::testing::TestDb;

/// How long one browser run may take before the test gives up on it (the scripts
/// have their own, shorter, limits).
const RUN_LIMIT: Duration = Duration::from_mins(4);

/// The admin test site as a child process, killed when dropped.
pub(crate) struct AdminApp {
    child: Child,
    pub(crate) base: String,
}

impl AdminApp {
    /// Starts `admin-app` on `database_url` (set up and seeded with 60 books).
    pub(crate) fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_admin-app"))
            .env("DATABASE_URL", database_url)
            .env("PORT", "0")
            .env("SEED_BOOKS", "60")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start admin-app");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read admin-app's output");
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let status = child.wait();
            panic!("admin-app did not start (printed {line:?}, exit {status:?})");
        };
        let base = base.to_owned();
        // Keep reading, so that a later line never meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self { child, base }
    }
}

impl Drop for AdminApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser_dir() -> PathBuf {
    batteries_tests::workspace_root().join("tests/browser")
}

/// `<target dir>/admin-screenshots/<name>`: beside the binaries cargo built, so in
/// `$CARGO_TARGET_DIR` when it is set and in `target/` otherwise.
fn screenshot_dir(name: &str) -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_admin-app"));
    let target = exe.parent().and_then(Path::parent).map_or_else(
        || batteries_tests::workspace_root().join("target"),
        Path::to_path_buf,
    );
    target.join("admin-screenshots").join(name)
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What is missing to run the browser, if anything.
fn missing_tools() -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        return Some("`node` is not on the PATH (apt-get install nodejs npm)".into());
    }
    let chromium = chromium();
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (apt-get install chromium, or set CHROMIUM)",
            chromium.display()
        ));
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Some("playwright-core is not installed (run `npm ci` in tests/browser)".into());
    }
    None
}

/// One browser at a time: Chromium is heavy for a small machine, and several at once
/// would only make each slower.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `tests/browser/<script>` against a fresh `admin-app` on `db`'s backend, with
/// its screenshots in `<target dir>/admin-screenshots/<shots>`; panics (with the
/// script's output) when a step fails. `name` names the SQLite file when `db` has no
/// URL another process can open.
pub(crate) async fn run_script(db: &TestDb, script: &str, shots: &str, name: &str) {
    if let Some(missing) = missing_tools() {
        assert!(
            !batteries_tests::under_ci(),
            "the admin's browser tests are required under CI: {missing}"
        );
        eprintln!("skipping the browser test {script}: {missing}");
        return;
    }
    let backend = db.backend().name();
    // The app is another process: it needs a database it can open itself.
    let url = db
        .url()
        .unwrap_or_else(|| batteries_tests::sqlite_file_url(name));
    let app = AdminApp::start(&url);
    let shots = screenshot_dir(shots);
    let _ = std::fs::remove_dir_all(&shots);

    let _one_at_a_time = BROWSER.lock().await;
    let run = tokio::process::Command::new("node")
        .arg(browser_dir().join(script))
        .arg(&app.base)
        .arg(&shots)
        .current_dir(browser_dir())
        .env("CHROMIUM", chromium())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("{script} on {backend} took more than {RUN_LIMIT:?}"))
        .expect("run node");
    drop(app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed in the browser on {backend} ({}):\n{stdout}\n{stderr}\n\
         screenshots: {}",
        output.status,
        shots.display()
    );
    assert!(
        stdout.contains(" steps ok, 0 failed"),
        "{script} on {backend} did not report its steps:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
    println!("screenshots of {script} ({backend}): {}", shots.display());
}
