//! A login flood must not exhaust memory (issue 16, finding 3): 300 concurrent failed
//! logins took the admin from 13 MB to 16 GB when every argon2id hash (19 MiB) ran on
//! its own thread of Tokio's blocking pool.
//!
//! The admin test site runs as a child process (`admin-app`), so that no other test of
//! this binary touches the memory measured, with two hashing threads and a queue of 16
//! (`BATTERIES_HASH_THREADS`, `BATTERIES_HASH_QUEUE`). 300 failed logins are sent at
//! once on 127.0.0.1, twice; each must answer the login form again (`200`) or `503`
//! with `Retry-After`. The child's anonymous memory (`RssAnon` in `/proc/<pid>/status`:
//! the heap, where argon2 puts its blocks), sampled every 2 ms, must grow by at most
//! [`GROWTH_BOUND_MIB`] per hashing thread in the first flood, and by at most
//! [`SECOND_FLOOD_BOUND_MIB`] more in the second: memory is bounded by the pool, not by
//! the number of attempts.
//!
//! Measured on a debug build: each hashing thread's allocator arena keeps about 90 MiB
//! after its first hashes (glibc keeps freed 19 MiB blocks for reuse), so the first
//! flood takes the heap from 40 to 220-260 MiB with two threads; eight more floods of
//! 300 add 6 MiB in all. Unbounded hashing (a blocking thread per attempt) grew it by
//! 5.7 GB.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use batteries_tests::browser::{Browser, Reply};
use http::StatusCode;

/// Concurrent login attempts.
const ATTEMPTS: usize = 300;

/// Hashing threads and queue given to the child.
const THREADS: &str = "2";
const QUEUE: &str = "16";

/// The most the child's heap may grow in the first flood, per hashing thread: one
/// argon2id hash at a time (19 MiB) and what the thread's allocator arena keeps around
/// it (about 90 MiB measured), plus the 300 connections' share and slack. Unbounded
/// hashing grows it by `ATTEMPTS` × 19 MiB, 5.7 GB: eighteen times the bound for two
/// threads.
const GROWTH_BOUND_MIB: u64 = 160;

/// The most the second flood may add: what the first left is reused.
const SECOND_FLOOD_BOUND_MIB: u64 = 64;

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

/// `RssAnon` (resident anonymous memory: heap and stacks) of process `pid`, in KiB;
/// `None` once the process is gone.
fn anon_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples [`anon_rss_kib`] every 2 ms until `stop` is set; returns the highest value.
fn sample_peak(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(anon_rss_kib(pid).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(2));
        }
        peak
    })
}

/// Sends [`ATTEMPTS`] failed logins at once; returns how many were checked and refused
/// (`200`, the form again) and the peak of the child's heap meanwhile, in KiB.
async fn flood(b: &Browser, token: &str, pid: u32, wave: &str) -> (usize, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak(pid, stop.clone());
    let attempts = (0..ATTEMPTS).map(|i| {
        let mut b = b.clone();
        let token = token.to_owned();
        let username = format!("{wave}{i}");
        tokio::spawn(async move {
            let reply = b
                .post_form(
                    "/admin/login/",
                    &[
                        ("csrfmiddlewaretoken", token.as_str()),
                        ("username", &username),
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
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().expect("sampler");

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
        "login flood {wave}: {ATTEMPTS} attempts, {refused} checked and refused, {busy} shed \
         with 503; RssAnon peak {} MiB",
        peak / 1024
    );
    assert!(busy > 0, "no attempt was shed: is hashing bounded?");
    assert!(refused > 0, "no attempt was checked");
    (refused, peak)
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
    let before = anon_rss_kib(pid).expect("admin-app runs");
    println!("login flood: RssAnon {} MiB before", before / 1024);

    let (_, first) = flood(&b, &token, pid, "first").await;
    let threads: u64 = THREADS.parse().expect("a number");
    let growth = first.saturating_sub(before) / 1024;
    assert!(
        growth <= threads * GROWTH_BOUND_MIB,
        "the heap grew by {growth} MiB in the first flood (bound {} MiB: {threads} threads)",
        threads * GROWTH_BOUND_MIB
    );
    let (_, second) = flood(&b, &token, pid, "second").await;
    let more = second.saturating_sub(first) / 1024;
    assert!(
        more <= SECOND_FLOOD_BOUND_MIB,
        "the second flood added {more} MiB (bound {SECOND_FLOOD_BOUND_MIB} MiB): memory grows \
         with the attempts"
    );

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
