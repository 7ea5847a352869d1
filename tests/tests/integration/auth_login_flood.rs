//! A login flood must not exhaust memory (issue 16, finding 3): 300 concurrent failed
//! logins took the admin from 13 MB to 16 GB when every argon2id hash (19 MiB) ran on
//! its own thread of Tokio's blocking pool.
//!
//! The admin test site runs as a child process (`admin-app`), so that no other test of
//! this binary touches the memory measured, with two hashing threads and a queue of 16
//! (`BATTERIES_HASH_THREADS`, `BATTERIES_HASH_QUEUE`). 300 failed logins are sent at
//! once on 127.0.0.1; each must answer the login form again (`200`) or `503` with
//! `Retry-After`, and the child's peak resident memory (`VmHWM` in
//! `/proc/<pid>/status`) must stay under [`PEAK_BOUND`].

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use batteries_tests::browser::{Browser, Reply};
use http::StatusCode;

/// Concurrent login attempts.
const ATTEMPTS: usize = 300;

/// Hashing threads and queue given to the child.
const THREADS: &str = "2";
const QUEUE: &str = "16";

/// The most the child's resident memory may grow during the flood: two argon2id hashes
/// (2 × 19 MiB) and what the allocator keeps around them, 300 connections with their
/// requests and pages, and slack for a debug build. Unbounded hashing grew it by
/// gigabytes.
const GROWTH_BOUND_MIB: u64 = 192;

/// The child's peak resident memory at most (startup included).
const PEAK_BOUND_MIB: u64 = 320;

/// How long the whole flood may take before the test gives up (not a timing
/// assertion: a bound on the test's own run).
const FLOOD_LIMIT: Duration = Duration::from_mins(5);

struct AppProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_admin_app() -> AppProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_admin-app"))
        .env(
            "DATABASE_URL",
            batteries_tests::sqlite_file_url("login-flood"),
        )
        .env("PORT", "0")
        .env("SEED_BOOKS", "0")
        .env("BATTERIES_HASH_THREADS", THREADS)
        .env("BATTERIES_HASH_QUEUE", QUEUE)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start admin-app");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read admin-app's output");
    let Some(base) = line.trim().strip_prefix("listening on http://") else {
        let _ = child.kill();
        let status = child.wait();
        panic!("admin-app did not start (printed {line:?}, exit {status:?})");
    };
    let addr = base.parse().expect("an address");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    AppProcess { child, addr }
}

/// The admin form's CSRF token.
fn admin_token(page: &Reply) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = page.body.find(marker).expect("a form with a CSRF token");
    let rest = &page.body[at + marker.len()..];
    rest[..rest.find('"').expect("the token ends")].to_owned()
}

/// `VmHWM` (peak resident set) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_keeps_memory_bounded_and_sheds_with_503() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let app = start_admin_app();
    let pid = app.child.id();
    let mut b = Browser::new(app.addr);
    // One session and CSRF token for every attempt, as a script would reuse them.
    let page = b.get("/admin/login/").await;
    let token = admin_token(&page);
    let before = peak_rss_kib(pid);

    let attempts = (0..ATTEMPTS).map(|i| {
        let mut b = b.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let reply = b
                .post_form(
                    "/admin/login/",
                    &[
                        ("csrfmiddlewaretoken", token.as_str()),
                        ("username", &format!("flood{i}")),
                        ("password", "not the password"),
                    ],
                )
                .await;
            (reply.status, reply.header("retry-after").map(str::to_owned))
        })
    });
    let replies = tokio::time::timeout(FLOOD_LIMIT, futures_util::future::join_all(attempts))
        .await
        .expect("the flood finishes");
    let peak = peak_rss_kib(pid);

    let (mut refused, mut busy) = (0, 0);
    for reply in replies {
        let (status, retry_after) = reply.expect("join");
        match status {
            StatusCode::OK => refused += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(retry_after.as_deref(), Some("1"), "503 without Retry-After");
            }
            other => panic!("a flooded login answered {other}"),
        }
    }
    println!(
        "login flood: {ATTEMPTS} attempts, {refused} checked and refused, {busy} shed with 503; \
         VmHWM {} MiB before, {} MiB after",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak / 1024 <= PEAK_BOUND_MIB,
        "peak RSS {} MiB over {PEAK_BOUND_MIB} MiB",
        peak / 1024
    );
    assert!(
        (peak - before) / 1024 <= GROWTH_BOUND_MIB,
        "RSS grew by {} MiB during the flood (bound {GROWTH_BOUND_MIB} MiB)",
        (peak - before) / 1024
    );

    assert!(busy > 0, "no attempt was shed: is hashing bounded?");
    assert!(refused > 0, "no attempt was checked");
    // Once the flood is over, logins work again.
    let mut b = Browser::new(app.addr);
    let page = b.get("/admin/login/").await;
    let token = admin_token(&page);
    let reply = b
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("username", "admin"),
                ("password", batteries_tests::admin_app::PASSWORD),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
}
