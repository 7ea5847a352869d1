//! The conformance apps (axum, actix-web, hyper) on a private PostgreSQL. First a locked
//! table: with the refresh-token table locked, only refresh waits (up to the statement
//! timeout) while session routes answer. Then the server stops mid-run: session and
//! bearer requests, logins and refresh rotations must answer `503` with `Retry-After`
//! and a plain body within the configured timeouts, never a `401`, a redirect to the
//! login page or a dropped connection; and once the server is back the same app (same
//! pool) serves them again, the refresh token presented during the faults still valid.

use std::sync::Arc;
use std::time::{Duration, Instant};

use batteries::auth::jwt::DatabaseRefreshStore;
use batteries::auth::sessions::DatabaseSessionStore;
use batteries::orm::db::DbConfig;
use batteries_tests::apps::{self, Framework, PASSWORD, Pieces};
use batteries_tests::browser::{Browser, Reply};
use batteries_tests::pg_instance::PgInstance;
use bytes::Bytes;
use http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, TransactionTrait};

const SECRET: &[u8] = b"db-faults-secret-key-that-is-long-enough-too";
const ACQUIRE: Duration = Duration::from_secs(1);
const STATEMENT: Duration = Duration::from_secs(2);
/// What a shared, noisy CI machine may add: generous on purpose.
const SLACK: Duration = Duration::from_secs(8);

// Every request is answered within the configured timeouts plus slack (no hang, no
// dropped connection) with `503`, `Retry-After` and a body without internals while the
// database is down, and the same app serves everyone again once it is back.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_answers_503_during_a_database_outage_and_recovers() {
    outage(Framework::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_answers_503_during_a_database_outage_and_recovers() {
    outage(Framework::Actix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_answers_503_during_a_database_outage_and_recovers() {
    outage(Framework::Hyper).await;
}

/// One request of the scenario, sent by `client` (its cookies kept).
struct Call {
    what: &'static str,
    method: Method,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Call {
    fn get(what: &'static str, path: &'static str, accept: &str) -> Self {
        Self {
            what,
            method: Method::GET,
            path,
            headers: vec![("accept", accept.to_owned())],
            body: String::new(),
        }
    }

    fn bearer(mut self, token: &str) -> Self {
        self.headers
            .push(("authorization", format!("Bearer {token}")));
        self
    }

    fn json(what: &'static str, path: &'static str, body: &serde_json::Value) -> Self {
        Self {
            what,
            method: Method::POST,
            path,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("accept", "application/json".to_owned()),
            ],
            body: body.to_string(),
        }
    }

    fn form(what: &'static str, path: &'static str, fields: &[(&str, &str)]) -> Self {
        Self {
            what,
            method: Method::POST,
            path,
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            )],
            body: url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish(),
        }
    }

    /// Sends it; `Err` says what went wrong when there was no answer in `bound`.
    async fn send(
        &self,
        client: &mut Browser,
        bound: Duration,
    ) -> Result<(Reply, Duration), String> {
        let headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = Instant::now();
        let sent = client.try_send(
            self.method.clone(),
            self.path,
            &headers,
            Bytes::from(self.body.clone()),
        );
        match tokio::time::timeout(bound, sent).await {
            Err(_) => Err(format!(
                "{}: no answer within {bound:?} (a hang)",
                self.what
            )),
            Ok(Err(e)) => Err(format!("{}: the connection dropped: {e}", self.what)),
            Ok(Ok(reply)) => Ok((reply, started.elapsed())),
        }
    }
}

async fn outage(framework: Framework) {
    let Some(mut pg) = PgInstance::start_new() else {
        return;
    };
    let db = DbConfig::new(pg.url("postgres"))
        .acquire_timeout(ACQUIRE)
        .connect_timeout(ACQUIRE)
        .statement_timeout(Some(STATEMENT))
        .max_connections(8)
        .connect()
        .await
        .expect("connect");
    apps::seed(&db).await;
    let pieces = Pieces::new(
        db.clone(),
        Arc::new(DatabaseSessionStore::new(db.clone())),
        SECRET,
    )
    .with_refresh_store(DatabaseRefreshStore::new(db.clone()));
    let running = apps::serve(framework, pieces).await;

    // Before the outage: a logged-in browser, an API client with a token pair, and a
    // browser that has the login form open.
    let mut user = Browser::new(running.addr);
    let reply = user.login("alice", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    let mut api = Browser::new(running.addr);
    let pair = api
        .post_json(
            "/api/token",
            &serde_json::json!({ "username": "alice", "password": PASSWORD }),
            &[],
        )
        .await;
    assert_eq!(pair.status, StatusCode::OK, "{}", pair.body);
    let access = pair.json()["access_token"].as_str().unwrap().to_owned();
    let refresh = pair.json()["refresh_token"].as_str().unwrap().to_owned();
    let mut visitor = Browser::new(running.addr);
    let form = visitor.get("/login").await;
    let csrf = form.form_token().expect("a CSRF token");

    let mut clients = [user, visitor, api];
    let (user, visitor, api) = (0, 1, 2);
    // (client, call, status once the database is back)
    let calls: Vec<(usize, Call, StatusCode)> = vec![
        (
            user,
            Call::get("session JSON /api/me", "/api/me", "application/json"),
            StatusCode::OK,
        ),
        (
            visitor,
            Call::form(
                "login form POST /login",
                "/login",
                &[
                    ("csrfmiddlewaretoken", &csrf),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            ),
            StatusCode::FOUND,
        ),
        (
            api,
            Call::get("bearer /api/me", "/api/me", "application/json").bearer(&access),
            StatusCode::OK,
        ),
        (
            api,
            Call::json(
                "token POST /api/token",
                "/api/token",
                &serde_json::json!({ "username": "alice", "password": PASSWORD }),
            ),
            StatusCode::OK,
        ),
        (
            api,
            Call::json(
                "refresh POST /api/token/refresh",
                "/api/token/refresh",
                &serde_json::json!({ "refresh_token": refresh }),
            ),
            StatusCode::OK,
        ),
    ];
    // The session HTML page is checked with the same browser as the JSON one, after it.
    let html_me = Call::get("session HTML /me", "/me", "text/html");
    let bound = ACQUIRE + STATEMENT + SLACK;
    let mut problems = Vec::new();

    // A locked table: only the route that needs it waits, and only up to the statement
    // timeout; the rotation it cut short leaves the refresh token valid (used below).
    let locker = db.begin().await.expect("begin");
    locker
        .execute_unprepared("LOCK TABLE batteries_jwt_refresh IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let mut refresher = clients[api].clone();
    let on_locked = Call::json(
        "refresh on a locked table",
        "/api/token/refresh",
        &serde_json::json!({ "refresh_token": refresh }),
    );
    let pending = tokio::spawn(async move { on_locked.send(&mut refresher, bound).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    match calls[0].1.send(&mut clients[user], bound).await {
        Ok((reply, _)) if reply.status == StatusCode::OK => {}
        Ok((reply, _)) => problems.push(format!(
            "session /api/me while another table is locked: {} {}",
            reply.status, reply.body
        )),
        Err(e) => problems.push(format!("while another table is locked: {e}")),
    }
    if pending.is_finished() {
        problems.push("refresh on a locked table: answered before the session route".into());
    }
    match pending.await.expect("task") {
        Err(e) => problems.push(e),
        Ok((reply, took)) => {
            eprintln!(
                "{framework:?} refresh on a locked table: {} in {took:?}",
                reply.status
            );
            if reply.status.is_success() {
                problems.push(format!(
                    "refresh on a locked table: {} {}",
                    reply.status, reply.body
                ));
            }
            if reply.status != StatusCode::SERVICE_UNAVAILABLE {
                problems.push(format!(
                    "refresh on a locked table: {} (expected 503) {}",
                    reply.status, reply.body
                ));
            }
        }
    }
    locker.rollback().await.expect("unlock");

    pg.stop();
    let mut slowest = Duration::ZERO;
    let mut not_503 = Vec::new();
    let mut during = |call: &Call, result: Result<(Reply, Duration), String>| match result {
        Err(e) => problems.push(e),
        Ok((reply, took)) => {
            slowest = slowest.max(took);
            eprintln!(
                "{framework:?} {} during the outage: {} in {took:?}",
                call.what, reply.status
            );
            if reply.status.is_success() {
                problems.push(format!(
                    "{}: {} while the database is down: {}",
                    call.what, reply.status, reply.body
                ));
            }
            if reply.status != StatusCode::SERVICE_UNAVAILABLE {
                not_503.push(format!(
                    "{}: {} (expected 503) {:?} {}",
                    call.what,
                    reply.status,
                    reply.location(),
                    reply.body
                ));
                return;
            }
            if reply.header("retry-after").is_none() {
                not_503.push(format!("{}: 503 without Retry-After", call.what));
            }
            let body = reply.body.to_lowercase();
            if ["pool", "sqlx", "connection", "database error", "refused"]
                .iter()
                .any(|leak| body.contains(leak))
            {
                not_503.push(format!(
                    "{}: 503 body leaks internals: {}",
                    call.what, reply.body
                ));
            }
        }
    };
    for (client, call, _) in &calls {
        let result = call.send(&mut clients[*client], bound).await;
        during(call, result);
    }
    let result = html_me.send(&mut clients[user], bound).await;
    during(&html_me, result);
    eprintln!("{framework:?}: slowest answer during the outage {slowest:?}");

    // Back up: the same app, the same pool.
    pg.start();
    for (client, call, status) in &calls {
        match call.send(&mut clients[*client], bound).await {
            Err(e) => problems.push(format!("after the restart: {e}")),
            Ok((reply, _)) if reply.status != *status => problems.push(format!(
                "after the restart: {}: {} (expected {status}) {}",
                call.what, reply.status, reply.body
            )),
            Ok((reply, _)) if call.path == "/api/me" => {
                let name = reply.json()["username"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if name != "alice" {
                    problems.push(format!(
                        "after the restart: {}: username {name:?}",
                        call.what
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    match html_me.send(&mut clients[user], bound).await {
        Ok((reply, _)) if reply.status == StatusCode::OK => {}
        Ok((reply, _)) => problems.push(format!(
            "after the restart: {}: {} {:?}",
            html_me.what,
            reply.status,
            reply.location()
        )),
        Err(e) => problems.push(format!("after the restart: {e}")),
    }

    running.stop().await;
    problems.extend(not_503);
    assert!(
        problems.is_empty(),
        "{framework:?} during and after a PostgreSQL outage:\n  {}",
        problems.join("\n  ")
    );
}
