//! The Redis stores keep working after Redis restarts (a deploy, a crash): every store
//! built with `open(url)` reconnects instead of failing until the app restarts. The
//! test runs a Redis server of its own on a free port, so that restarting it disturbs
//! no other test. `redis_outage` borrows that server to stop and pause Redis.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use batteries::auth::jwt::{RedisRefreshStore, RefreshStore};
use batteries::auth::sessions::{RedisSessionStore, SessionRecord, SessionStore};
use batteries::auth::throttle::{RedisThrottleStore, ThrottleStore};
use batteries::middleware::ratelimit::{RateLimitStore, RedisRateLimitStore};

/// A `redis-server` of the test's own, without persistence, on `port`.
pub(crate) struct Server {
    child: Child,
    port: u16,
    paused: std::cell::Cell<bool>,
}

impl Server {
    pub(crate) fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(child) => Some(Self {
                child,
                port,
                paused: std::cell::Cell::new(false),
            }),
            Err(e) => {
                assert!(
                    !batteries_tests::under_ci(),
                    "redis-server is required under CI: {e}"
                );
                eprintln!("skipping: cannot start redis-server: {e}");
                None
            }
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub(crate) async fn wait_ready(&self) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kills the server (as a crash would) and waits for it to exit.
    pub(crate) fn stop(self) {
        drop(self);
    }

    /// Freezes the server (`SIGSTOP`): connections are still accepted by the kernel,
    /// but nothing answers, as with a Redis stuck or behind a broken network.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
        self.paused.set(true);
    }

    /// Lets a [`pause`](Self::pause)d server run again (`SIGCONT`).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
        self.paused.set(false);
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed assertion must not leave a frozen or running server behind.
        if self.paused.get() {
            let _ = Command::new("kill")
                .args(["-CONT", &self.child.id().to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn record() -> SessionRecord {
    SessionRecord {
        data: serde_json::from_str(r#"{"k": 1}"#).expect("json"),
        expires_at: chrono::Utc::now() + chrono::TimeDelta::hours(1),
    }
}

/// Retries `op` for a few seconds: the first command after a restart may fail while
/// the connection is re-established; later ones must succeed.
async fn eventually<F, Fut, T, E>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut last = String::new();
    for _ in 0..50 {
        match op().await {
            Ok(v) => return v,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store did not recover after Redis restarted: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stores_reconnect_after_a_restart() {
    let port = free_port();
    let Some(server) = Server::start(port) else {
        return;
    };
    server.wait_ready().await;
    let url = server.url();
    let sessions = RedisSessionStore::open(&url).await.expect("sessions");
    let throttle = RedisThrottleStore::open(&url).await.expect("throttle");
    let refresh = RedisRefreshStore::open(&url).await.expect("refresh");
    let limits = RedisRateLimitStore::open(&url).await.expect("limits");
    let key = sessions.create(&record()).await.expect("works before");

    server.stop();
    let server = Server::start(port).expect("restart");
    server.wait_ready().await;

    let rec = record();
    let fresh = eventually(|| sessions.create(&rec)).await;
    assert!(sessions.load(&fresh).await.expect("load").is_some());
    assert!(
        sessions.load(&key).await.expect("load").is_none(),
        "Redis kept nothing"
    );
    // Each store's first command after the restart may fail; then they all work.
    eventually(|| throttle.clear("user:x")).await;
    eventually(|| refresh.revoke_subject("nobody")).await;
    let bucket = batteries::middleware::ratelimit::Bucket::new(1, 1.0);
    let decision = eventually(|| limits.take("k", bucket, chrono::Utc::now())).await;
    assert!(decision.is_allowed());
    server.stop();
}
