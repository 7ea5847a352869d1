//! App processes on different ports (axum, actix-web and hyper) sharing PostgreSQL
//! (users, sessions, refresh tokens) and Redis (rate limits) must agree: a session
//! opened on one is valid on the other, a logout on one ends it on both, a refresh
//! token rotated on one cannot be replayed on the other, and the rate limit counts
//! requests to both.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use batteries::auth::jwt::JwtKey;
use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::apps::{self, PASSWORD};
use batteries_tests::browser::Browser;
use http::StatusCode;

struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(framework: &str, env: &[(&str, String)]) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance-app"))
        .arg(framework)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start conformance-app");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{framework} instance did not start: {line:?}"))
        .parse()
        .expect("address");
    Instance { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_sessions_logouts_revocations_and_limits() {
    let Some(db) = TestDb::for_test(Backend::Postgres).await else {
        return;
    };
    let Some(redis) = batteries_tests::redis_url().await else {
        return;
    };
    apps::seed(db.conn()).await;
    let env = [
        ("DATABASE_URL", db.url().expect("a server database")),
        ("REDIS_URL", redis),
        ("REDIS_PREFIX", batteries_tests::unique_prefix("multi")),
        ("JWT_KEY_PEM", JwtKey::generate_ed25519_pem().expect("key")),
        (
            "SESSION_SECRET",
            "a secret shared by every instance, long enough".to_owned(),
        ),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let a = start("axum", &env);
    let b = start("actix", &env);
    let c = start("hyper", &env);

    // Sessions: log in on A, use the cookie on B; log out on B, dead on A.
    let mut on_a = Browser::new(a.addr);
    assert_eq!(
        on_a.login("alice", PASSWORD).await.status,
        StatusCode::FOUND
    );
    let mut on_b = on_a.at(b.addr);
    let me = on_b.get_api("/api/me", &[]).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["username"], "alice");
    let mut on_c = on_a.at(c.addr);
    assert_eq!(on_c.get_api("/api/me", &[]).await.status, StatusCode::OK);
    let token = on_b.csrf_token().await;
    let logout = on_b
        .post_form("/logout", &[("csrfmiddlewaretoken", &token)])
        .await;
    assert_eq!(logout.status, StatusCode::FOUND, "{}", logout.body);
    let mut stale_a = on_a.clone();
    assert_eq!(
        stale_a.get_api("/api/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Refresh tokens: issued on A, rotated on B, the replay on A revokes the family.
    let mut api_a = Browser::new(a.addr);
    let pair = api_a
        .post_json(
            "/api/token",
            &serde_json::json!({ "username": "alice", "password": PASSWORD }),
            &[],
        )
        .await
        .json();
    let first = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let access = pair["access_token"].as_str().expect("access").to_owned();
    let mut api_b = api_a.at(b.addr);
    let me = api_b
        .get_api("/api/me", &[("authorization", &format!("Bearer {access}"))])
        .await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "B verifies A's access token: {}",
        me.body
    );
    let rotated = api_b
        .post_json(
            "/api/token/refresh",
            &serde_json::json!({ "refresh_token": first }),
            &[],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = rotated.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let replay = api_a
        .post_json(
            "/api/token/refresh",
            &serde_json::json!({ "refresh_token": first }),
            &[],
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let after = api_b
        .post_json(
            "/api/token/refresh",
            &serde_json::json!({ "refresh_token": second }),
            &[],
        )
        .await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the family is revoked on B too"
    );

    // Rate limits: a burst of 3 shared by both instances.
    let mut client_a = Browser::new(a.addr);
    let mut client_b = client_a.at(b.addr);
    assert_eq!(
        client_a.get_api("/api/limited", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        client_b.get_api("/api/limited", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        client_a.get_api("/api/limited", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        client_b.get_api("/api/limited", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        client_a.get_api("/api/limited", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    drop((a, b));
    db.close().await;
}
