//! Framework conformance: one scenario suite, run against the same site built on axum,
//! actix-web and plain hyper (`batteries_tests::apps`), with sessions in memory, in each
//! database (SQLite, PostgreSQL, MariaDB) and in Redis (rate limits too, with Redis). Each scenario talks HTTP to a
//! real server on loopback, as a browser or an API client would, and most of them are
//! attacks that would succeed if the defence were removed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use batteries::auth::jwt::{DatabaseRefreshStore, RedisRefreshStore};
use batteries::auth::sessions::{
    DatabaseSessionStore, MemorySessionStore, RedisSessionStore, SessionStore,
};
use batteries::middleware::ratelimit::RedisRateLimitStore;
use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::apps::{self, Framework, PASSWORD, Pieces};
use batteries_tests::browser::{Browser, Reply, get_on};
use batteries_tests::faults::{FaultySessionStore, allow_inserts, fail_inserts, rename_table};
use http::StatusCode;
use sea_orm::DatabaseConnection;

const SECRET: &[u8] = b"conformance-secret-key-that-is-long-enough";

/// Where the sessions of a run live.
#[derive(Debug, Clone, Copy)]
enum Store {
    Memory,
    Database(Backend),
    Redis,
}

/// What a scenario gets: the app's address, its users' database, where its sessions
/// live, and the switch that makes a memory or Redis session store fail.
struct Ctx {
    addr: std::net::SocketAddr,
    db: DatabaseConnection,
    store: Store,
    sessions_down: Arc<AtomicBool>,
}

impl Ctx {
    fn browser(&self) -> Browser {
        Browser::new(self.addr)
    }
}

async fn run<F, Fut>(framework: Framework, store: Store, scenario: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let backend = match store {
        Store::Database(backend) => backend,
        Store::Memory | Store::Redis => Backend::Sqlite,
    };
    let Some(test_db) = TestDb::for_test(backend).await else {
        return;
    };
    let db = test_db.conn().clone();
    apps::seed(&db).await;
    let mut redis = None;
    let sessions: Arc<dyn SessionStore> = match store {
        Store::Memory => Arc::new(MemorySessionStore::new()),
        Store::Database(_) => Arc::new(DatabaseSessionStore::new(db.clone())),
        Store::Redis => {
            let Some(url) = batteries_tests::redis_url().await else {
                return;
            };
            redis = Some(url.clone());
            Arc::new(
                RedisSessionStore::open(&url)
                    .await
                    .expect("redis")
                    .with_prefix(batteries_tests::unique_prefix("conformance")),
            )
        }
    };
    let sessions = FaultySessionStore::new(sessions);
    let sessions_down = sessions.switch();
    let mut pieces = Pieces::new(db.clone(), Arc::new(sessions), SECRET);
    if let Store::Database(_) = store {
        pieces = pieces.with_refresh_store(DatabaseRefreshStore::new(db.clone()));
    }
    if let Some(url) = redis {
        pieces = pieces
            .with_refresh_store(
                RedisRefreshStore::open(&url)
                    .await
                    .expect("redis")
                    .with_prefix(batteries_tests::unique_prefix("conformance-jwt")),
            )
            .with_rate_limit_store(
                RedisRateLimitStore::open(&url)
                    .await
                    .expect("redis")
                    .with_prefix(batteries_tests::unique_prefix("conformance-rl")),
            );
    }
    let running = apps::serve(framework, pieces).await;
    scenario(Ctx {
        addr: running.addr,
        db,
        store,
        sessions_down,
    })
    .await;
    running.stop().await;
    test_db.close().await;
}

/// `mod <framework> { mod <store> { #[test] fn <scenario>() } }` for every combination.
macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        mod axum { conformance!(@stores Axum; $($scenario),*); }
        mod actix { conformance!(@stores Actix; $($scenario),*); }
        mod hyper { conformance!(@stores Hyper; $($scenario),*); }
    };
    (@stores $framework:ident; $($scenario:ident),*) => {
        mod memory { conformance!(@tests $framework, crate::frameworks::conformance::Store::Memory; $($scenario),*); }
        mod sqlite { conformance!(@tests $framework, crate::frameworks::conformance::Store::Database(batteries::orm::testing::Backend::Sqlite); $($scenario),*); }
        mod postgres { conformance!(@tests $framework, crate::frameworks::conformance::Store::Database(batteries::orm::testing::Backend::Postgres); $($scenario),*); }
        mod mysql { conformance!(@tests $framework, crate::frameworks::conformance::Store::Database(batteries::orm::testing::Backend::MySql); $($scenario),*); }
        mod redis { conformance!(@tests $framework, crate::frameworks::conformance::Store::Redis; $($scenario),*); }
    };
    (@tests $framework:ident, $store:expr; $($scenario:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                crate::frameworks::conformance::run(
                    batteries_tests::apps::Framework::$framework,
                    $store,
                    crate::frameworks::conformance::$scenario,
                )
                .await;
            }
        )*
    };
}

conformance!(
    login_rotates_the_session_key,
    a_planted_session_key_is_never_adopted,
    forged_and_tampered_cookies_are_anonymous,
    failed_logins_look_alike,
    logout_ends_the_session_everywhere,
    password_change_ends_other_sessions,
    guards_redirect_401_and_403,
    login_follows_only_local_next,
    cross_site_posts_are_refused,
    unsafe_requests_need_the_csrf_token,
    csrf_token_from_before_login_is_useless,
    session_cookie_is_http_only_and_lax,
    rate_limit_answers_429_with_retry_after,
    rate_limit_per_user_gives_each_user_a_bucket,
    security_headers_are_on_every_response,
    jwt_access_and_refresh_rotation,
    refresh_token_reuse_revokes_the_family,
    revoked_refresh_tokens_are_dead,
    bad_bearer_tokens_get_a_plain_401,
    a_panicking_handler_answers_a_plain_500,
    a_failing_session_store_answers_503_and_logs_nobody_out,
    a_failing_user_table_answers_503_never_401,
    a_failed_refresh_rotation_keeps_the_token,
);

async fn username(browser: &mut Browser) -> Option<String> {
    let reply = browser.get_api("/api/me", &[]).await;
    (reply.status == StatusCode::OK)
        .then(|| reply.json()["username"].as_str().unwrap_or("").to_owned())
}

async fn login_rotates_the_session_key(ctx: Ctx) {
    let mut browser = ctx.browser();
    let page = browser.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    let before = browser
        .session_cookie()
        .expect("the form's CSRF secret opens a session")
        .to_owned();

    let reply = browser.login("alice", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    let after = browser
        .session_cookie()
        .expect("logged-in cookie")
        .to_owned();
    assert_ne!(before, after, "login must move the session to a new key");
    assert_eq!(username(&mut browser).await.as_deref(), Some("alice"));

    // The pre-login key is dead: whoever knew it (a fixation attacker) is not logged in.
    let mut attacker = ctx.browser();
    attacker.cookies.insert("sessionid".into(), before);
    assert_eq!(username(&mut attacker).await, None);
}

async fn a_planted_session_key_is_never_adopted(ctx: Ctx) {
    // Session fixation: the attacker opens a real (anonymous) session, plants its key
    // in the victim's browser, and waits for the victim to log in with it.
    let mut attacker = ctx.browser();
    attacker.get("/login").await;
    let planted = attacker
        .session_cookie()
        .expect("a real session")
        .to_owned();
    let mut victim = ctx.browser();
    victim.cookies.insert("sessionid".into(), planted.clone());
    let reply = victim.login("alice", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    assert_ne!(victim.session_cookie(), Some(planted.as_str()));
    assert_eq!(
        username(&mut attacker).await,
        None,
        "the planted key must not be logged in"
    );

    // A key the attacker made up is not adopted either.
    let mut victim = ctx.browser();
    victim.cookies.insert("sessionid".into(), "a".repeat(32));
    victim.login("alice", PASSWORD).await;
    assert_ne!(victim.session_cookie(), Some("a".repeat(32).as_str()));
}

async fn forged_and_tampered_cookies_are_anonymous(ctx: Ctx) {
    let mut real = ctx.browser();
    real.login("alice", PASSWORD).await;
    let key = real.session_cookie().expect("cookie").to_owned();
    let mut flipped = key.clone().into_bytes();
    flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    for forged in [
        "garbage".to_owned(),
        String::new(),
        "' OR 1=1 --".to_owned(),
        "z".repeat(4000),
        flipped,
        format!("{key}x"),
    ] {
        let mut browser = ctx.browser();
        browser.cookies.insert("sessionid".into(), forged.clone());
        let api = browser.get_api("/api/me", &[]).await;
        assert_eq!(
            api.status,
            StatusCode::UNAUTHORIZED,
            "cookie {forged:?}: {}",
            api.body
        );
        let page = browser.get("/me").await;
        assert_eq!(
            page.status,
            StatusCode::FOUND,
            "cookie {forged:?} must be anonymous, not an error page"
        );
        let login = browser.get("/login").await;
        assert_eq!(login.status, StatusCode::OK, "cookie {forged:?}");
    }
}

async fn failed_logins_look_alike(ctx: Ctx) {
    let mut a = ctx.browser();
    let wrong_password = a.login("alice", "not the password").await;
    let mut b = ctx.browser();
    let unknown_user = b.login("nobody", PASSWORD).await;
    assert_eq!(wrong_password.status, StatusCode::OK);
    assert_eq!(wrong_password.status, unknown_user.status);
    let strip = |body: &str| body.split("value=\"").next().unwrap_or("").to_owned();
    assert_eq!(
        strip(&wrong_password.body),
        strip(&unknown_user.body),
        "no username enumeration"
    );
    assert!(
        wrong_password
            .body
            .contains("Invalid username or password.")
    );
    assert_eq!(username(&mut a).await, None);
}

async fn logout_ends_the_session_everywhere(ctx: Ctx) {
    let mut browser = ctx.browser();
    browser.login("alice", PASSWORD).await;
    let stolen = browser.session_cookie().expect("cookie").to_owned();
    let token = browser.csrf_token().await;
    let reply = browser
        .send(
            http::Method::POST,
            "/logout",
            &[("x-csrftoken", &token)],
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    assert_eq!(browser.session_cookie(), None, "logout deletes the cookie");
    assert_eq!(username(&mut browser).await, None);

    let mut thief = ctx.browser();
    thief.cookies.insert("sessionid".into(), stolen);
    assert_eq!(
        username(&mut thief).await,
        None,
        "a copy of the cookie dies with the session"
    );
}

async fn password_change_ends_other_sessions(ctx: Ctx) {
    let mut laptop = ctx.browser();
    let mut phone = ctx.browser();
    laptop.login("alice", PASSWORD).await;
    phone.login("alice", PASSWORD).await;
    assert_eq!(username(&mut phone).await.as_deref(), Some("alice"));

    let token = laptop.csrf_token().await;
    let reply = laptop
        .post_form(
            "/password",
            &[
                ("csrfmiddlewaretoken", &token),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        username(&mut laptop).await.as_deref(),
        Some("alice"),
        "update_session_auth_hash keeps this one"
    );
    assert_eq!(username(&mut phone).await, None, "every other session ends");

    let mut again = ctx.browser();
    assert_eq!(
        again.login("alice", "a brand new passphrase").await.status,
        StatusCode::FOUND
    );
    let stored = apps::user_by_name(&ctx.db, "alice").await;
    assert!(stored.password.starts_with("argon2$"));
}

async fn guards_redirect_401_and_403(ctx: Ctx) {
    let mut anonymous = ctx.browser();
    let page = anonymous.get("/me").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location(), Some("/login?next=%2Fme"));
    let api = anonymous.get_api("/api/me", &[]).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.json()["error"], "authentication required");
    assert_eq!(api.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        anonymous.get_api("/api/perm", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    let mut alice = ctx.browser();
    alice.login("alice", PASSWORD).await;
    assert_eq!(alice.get("/me").await.status, StatusCode::OK);
    let denied = alice.get_api("/api/perm", &[]).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json()["error"], "permission denied");

    let mut editor = ctx.browser();
    editor.login("editor", PASSWORD).await;
    let allowed = editor.get_api("/api/perm", &[]).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
}

async fn login_follows_only_local_next(ctx: Ctx) {
    for (next, expected) in [
        ("/me?tab=2", "/me?tab=2"),
        ("https://evil.example/", "/me"),
        ("//evil.example/", "/me"),
        ("/\\evil.example", "/me"),
        ("javascript:alert(1)", "/me"),
    ] {
        let mut browser = ctx.browser();
        let page = browser.get("/login").await;
        let token = page.form_token().expect("token");
        let reply = browser
            .post_form(
                "/login",
                &[
                    ("csrfmiddlewaretoken", &token),
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FOUND);
        assert_eq!(reply.location(), Some(expected), "next={next:?}");
    }
}

async fn cross_site_posts_are_refused(ctx: Ctx) {
    let mut victim = ctx.browser();
    victim.login("alice", PASSWORD).await;
    let token = victim.csrf_token().await;

    // The attacker's page makes the victim's browser post, even with a valid token.
    let mut forged = victim.clone();
    forged.fetch_site = Some("cross-site");
    let reply = forged
        .post_form(
            "/password",
            &[
                ("csrfmiddlewaretoken", &token),
                ("new_password", "attacker's choice!"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("cross-site"), "{}", reply.body);

    // An old browser without Sec-Fetch-Site, but with a foreign Origin.
    let mut old = victim.clone();
    old.fetch_site = None;
    let reply = old
        .send(
            http::Method::POST,
            "/password",
            &[
                ("origin", "https://evil.example"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            bytes::Bytes::from(format!("csrfmiddlewaretoken={token}&new_password=attacker")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let mut check = ctx.browser();
    assert_eq!(
        check.login("alice", PASSWORD).await.status,
        StatusCode::FOUND,
        "the password is unchanged"
    );
}

async fn unsafe_requests_need_the_csrf_token(ctx: Ctx) {
    let mut browser = ctx.browser();
    browser.login("alice", PASSWORD).await;
    let none = browser.post_form("/logout", &[]).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    assert!(none.body.contains("token missing"), "{}", none.body);
    let token = browser.csrf_token().await;
    let wrong = browser
        .post_form("/logout", &[("csrfmiddlewaretoken", &"x".repeat(64))])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.body.contains("incorrect"), "{}", wrong.body);
    assert_eq!(
        username(&mut browser).await.as_deref(),
        Some("alice"),
        "still logged in"
    );

    let ok = browser
        .post_form("/logout", &[("csrfmiddlewaretoken", &token)])
        .await;
    assert_eq!(
        ok.status,
        StatusCode::FOUND,
        "the form field is accepted: {}",
        ok.body
    );
}

async fn csrf_token_from_before_login_is_useless(ctx: Ctx) {
    let mut browser = ctx.browser();
    let page = browser.get("/login").await;
    let old_token = page.form_token().expect("token");
    browser
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &old_token),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(username(&mut browser).await.as_deref(), Some("alice"));
    let reply = browser
        .post_form("/logout", &[("csrfmiddlewaretoken", &old_token)])
        .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "login rotates the CSRF secret"
    );
}

async fn session_cookie_is_http_only_and_lax(ctx: Ctx) {
    let mut browser = ctx.browser();
    let page = browser.get("/login").await;
    let cookie = page.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with("sessionid="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("Max-Age=1209600"), "{cookie}");
    let vary = page.header("vary").unwrap_or_default().to_ascii_lowercase();
    assert!(vary.contains("cookie"), "{vary}");
    // A page that does not touch the session sends no cookie.
    let again = browser.get_api("/api/me", &[]).await;
    assert!(again.header("set-cookie").is_none());
}

async fn rate_limit_answers_429_with_retry_after(ctx: Ctx) {
    let mut client = ctx.browser();
    for n in (0..3).rev() {
        let reply = client.get_api("/api/limited", &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.header("ratelimit-remaining"),
            Some(n.to_string().as_str())
        );
    }
    let limited = client.get_api("/api/limited", &[]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "retry after {retry}s");
    assert_eq!(limited.json()["error"], "rate limited");

    // A spoofed X-Forwarded-For from an untrusted peer buys no fresh bucket.
    let spoofed = client
        .get_api("/api/limited", &[("x-forwarded-for", "203.0.113.9")])
        .await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
    // Other routes are not limited.
    assert_eq!(client.get("/login").await.status, StatusCode::OK);
}

async fn security_headers_are_on_every_response(ctx: Ctx) {
    let mut browser = ctx.browser();
    let ok = browser.get("/login").await;
    let redirect = browser.get("/me").await;
    let unauthorized = browser.get_api("/api/me", &[]).await;
    let csrf_refused = browser.post_form("/logout", &[]).await;
    assert_eq!(csrf_refused.status, StatusCode::FORBIDDEN);
    for reply in [&ok, &redirect, &unauthorized, &csrf_refused] {
        let context = format!("{} response", reply.status);
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{context}"
        );
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{context}");
        assert_eq!(
            reply.header("referrer-policy"),
            Some("same-origin"),
            "{context}"
        );
        assert_eq!(
            reply.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{context}"
        );
        let hsts = reply
            .header("strict-transport-security")
            .unwrap_or_default();
        assert!(hsts.starts_with("max-age=31536000"), "{context}: {hsts}");
    }
}

async fn token_pair(client: &mut Browser, username: &str) -> serde_json::Value {
    let reply = client
        .post_json(
            "/api/token",
            &serde_json::json!({ "username": username, "password": PASSWORD }),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

async fn refresh(client: &mut Browser, refresh_token: &str) -> batteries_tests::browser::Reply {
    client
        .post_json(
            "/api/token/refresh",
            &serde_json::json!({ "refresh_token": refresh_token }),
            &[],
        )
        .await
}

async fn me_with(client: &mut Browser, access: &str) -> batteries_tests::browser::Reply {
    client
        .get_api("/api/me", &[("authorization", &format!("Bearer {access}"))])
        .await
}

async fn jwt_access_and_refresh_rotation(ctx: Ctx) {
    let mut client = ctx.browser();
    let wrong = client
        .post_json(
            "/api/token",
            &serde_json::json!({ "username": "alice", "password": "nope" }),
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let pair = token_pair(&mut client, "editor").await;
    assert_eq!(pair["token_type"], "Bearer");
    let access = pair["access_token"].as_str().expect("access");
    let me = me_with(&mut client, access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["username"], "editor");
    assert_eq!(me.json()["method"], "Some(Bearer)");
    let perm = client
        .get_api(
            "/api/perm",
            &[("authorization", &format!("Bearer {access}"))],
        )
        .await;
    assert_eq!(
        perm.status,
        StatusCode::OK,
        "permissions load for bearer users too"
    );
    assert!(client.cookies.is_empty(), "an API client gets no cookie");

    let old_refresh = pair["refresh_token"].as_str().expect("refresh");
    let rotated = refresh(&mut client, old_refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let rotated = rotated.json();
    assert_ne!(rotated["refresh_token"].as_str(), Some(old_refresh));
    let me = me_with(
        &mut client,
        rotated["access_token"].as_str().expect("access"),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
}

async fn refresh_token_reuse_revokes_the_family(ctx: Ctx) {
    let mut client = ctx.browser();
    let pair = token_pair(&mut client, "alice").await;
    let first = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let second = refresh(&mut client, &first).await.json()["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    // A thief replays the first refresh token: refused, and the whole family dies.
    assert_eq!(
        refresh(&mut client, &first).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&mut client, &second).await.status,
        StatusCode::UNAUTHORIZED,
        "the legitimate holder's newer token is revoked too"
    );
    // Another login is another family.
    let other = token_pair(&mut client, "alice").await;
    let ok = refresh(
        &mut client,
        other["refresh_token"].as_str().expect("refresh"),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

async fn revoked_refresh_tokens_are_dead(ctx: Ctx) {
    let mut client = ctx.browser();
    let pair = token_pair(&mut client, "alice").await;
    let token = pair["refresh_token"].as_str().expect("refresh");
    let revoked = client
        .post_json(
            "/api/token/revoke",
            &serde_json::json!({ "refresh_token": token }),
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(
        refresh(&mut client, token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn bad_bearer_tokens_get_a_plain_401(ctx: Ctx) {
    let mut client = ctx.browser();
    let pair = token_pair(&mut client, "alice").await;
    let access = pair["access_token"].as_str().expect("access").to_owned();
    let (header, rest) = access.split_once('.').expect("jwt");
    let (claims, signature) = rest.split_once('.').expect("jwt");

    // alg=none with the same claims and no signature.
    let none = format!(
        "{}.{claims}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#)
    );
    // HS256 "signed" with the public key: the HS/RS confusion attack.
    let hs_header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
    let hs = {
        use hmac::{Hmac, Mac};
        let public_key = b"the public key is public";
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(public_key).expect("hmac");
        mac.update(format!("{hs_header}.{claims}").as_bytes());
        format!("{hs_header}.{claims}.{}", b64(&mac.finalize().into_bytes()))
    };
    // Claims changed to another user, original signature kept.
    let forged_claims = {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("b64");
        let mut json: serde_json::Value = serde_json::from_slice(&raw).expect("claims");
        json["sub"] = serde_json::json!("2");
        b64(json.to_string().as_bytes())
    };
    let swapped = format!("{header}.{forged_claims}.{signature}");
    let refresh_as_access = pair["refresh_token"].as_str().expect("refresh").to_owned();

    let mut bodies = Vec::new();
    for (name, token) in [
        ("garbage", "garbage".to_owned()),
        ("alg none", none),
        ("HS/EdDSA confusion", hs),
        ("edited claims", swapped),
        ("refresh token as access token", refresh_as_access),
        ("truncated", access[..access.len() - 3].to_owned()),
    ] {
        let reply = me_with(&mut client, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            reply.body
        );
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{name}"
        );
        bodies.push(reply.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one plain answer for every failure: {bodies:?}"
    );
    assert_eq!(
        me_with(&mut client, &access).await.status,
        StatusCode::OK,
        "the real token still works"
    );
}

async fn rate_limit_per_user_gives_each_user_a_bucket(ctx: Ctx) {
    let mut alice = ctx.browser();
    alice.login("alice", PASSWORD).await;
    let mut editor = ctx.browser();
    editor.login("editor", PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(
            alice.get_api("/api/limited-user", &[]).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        alice.get_api("/api/limited-user", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Same address, another user: a bucket of their own.
    assert_eq!(
        editor.get_api("/api/limited-user", &[]).await.status,
        StatusCode::OK
    );
    // Alice's bucket follows her to a new connection; a new session of hers too.
    let mut alice_again = ctx.browser();
    alice_again.login("alice", PASSWORD).await;
    assert_eq!(
        alice_again.get_api("/api/limited-user", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Anonymous requests are limited per client IP, apart from the users.
    let mut anonymous = ctx.browser();
    assert_eq!(
        anonymous.get_api("/api/limited-user", &[]).await.status,
        StatusCode::OK
    );
}

/// A handler that panics gets a plain 500 (HTML or JSON by `Accept`, the request id,
/// no internals), through the layers outside it (security headers, session), and the
/// connection and the session live on.
async fn a_panicking_handler_answers_a_plain_500(ctx: Ctx) {
    let mut browser = ctx.browser();
    browser.login("alice", PASSWORD).await;

    let page = browser.get("/panic").await;
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.body
    );
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("Server Error (500)"), "{}", page.body);
    assert!(!page.body.contains("7f3a"), "{}", page.body);
    assert!(!page.body.contains("panic"), "{}", page.body);
    let id = page.header("x-request-id").expect("a request id");
    assert!(page.body.contains(id), "{}", page.body);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));

    let api = browser
        .get_api("/panic", &[("x-request-id", "conformance-req-1")])
        .await;
    assert_eq!(
        api.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        api.body
    );
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(
        api.json(),
        serde_json::json!({"error": "internal server error", "request_id": "conformance-req-1"})
    );
    assert_eq!(api.header("x-request-id"), Some("conformance-req-1"));

    // A forged id is not echoed.
    let forged = browser
        .get_api("/panic", &[("x-request-id", "<script>alert(1)</script>")])
        .await;
    assert_eq!(forged.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!forged.body.contains("script"), "{}", forged.body);
    assert_ne!(
        forged.header("x-request-id"),
        Some("<script>alert(1)</script>")
    );

    // Still logged in after the panic.
    let me = browser.get_api("/api/me", &[]).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);

    // The same connection serves the next request.
    let mut stream = tokio::net::TcpStream::connect(ctx.addr)
        .await
        .expect("connect");
    for _ in 0..2 {
        let (status, _, body) =
            get_on(&mut stream, "/panic", &[("accept", "application/json")]).await;
        assert_eq!(status, 500, "{body}");
        assert!(!body.contains("7f3a"), "{body}");
    }
    let (status, _, body) = get_on(&mut stream, "/csrf", &[("accept", "application/json")]).await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------
// Faults (issue 17): a store that fails is a 503 with `Retry-After` and a plain message,
// never "you are anonymous" (a 401 or a redirect to login), never a dropped connection,
// and never the database's error text.

/// Makes the session store fail (`true`) or work again: the real table is renamed away
/// for a database store; memory and the machine's shared Redis fail by the switch.
async fn sessions_fail(ctx: &Ctx, failing: bool) {
    match ctx.store {
        Store::Database(_) => {
            let (from, to) = ("batteries_session", "batteries_session_away");
            let (from, to) = if failing { (from, to) } else { (to, from) };
            rename_table(&ctx.db, from, to).await;
        }
        Store::Memory | Store::Redis => ctx.sessions_down.store(failing, Ordering::SeqCst),
    }
}

/// `reply` is a 503 with `Retry-After` whose body tells nothing of the cause.
#[track_caller]
fn assert_unavailable(reply: &Reply, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{context}: {}",
        reply.body
    );
    assert_eq!(
        reply.header("retry-after"),
        Some(
            batteries::middleware::UNAVAILABLE_RETRY_AFTER_SECS
                .to_string()
                .as_str()
        ),
        "{context}: Retry-After"
    );
    let body = reply.body.to_lowercase();
    for leak in [
        "batteries_",
        "auth_user",
        "injected",
        "relation",
        "no such table",
        "exist",
        "sql",
        "pool",
        "refused",
    ] {
        assert!(
            !body.contains(leak),
            "{context}: the body tells the cause ({leak}): {}",
            reply.body
        );
    }
}

async fn a_failing_session_store_answers_503_and_logs_nobody_out(ctx: Ctx) {
    let mut browser = ctx.browser();
    browser.login("editor", PASSWORD).await;
    assert_eq!(username(&mut browser).await.as_deref(), Some("editor"));
    let token = browser.csrf_token().await;
    let cookie = browser.session_cookie().map(str::to_owned);
    let mut client = ctx.browser();
    let access = token_pair(&mut client, "editor").await["access_token"]
        .as_str()
        .expect("access")
        .to_owned();

    sessions_fail(&ctx, true).await;
    assert_unavailable(&browser.get_api("/api/me", &[]).await, "GET /api/me");
    assert_unavailable(&browser.get("/me").await, "GET /me");
    assert_unavailable(&browser.get_api("/api/perm", &[]).await, "GET /api/perm");
    assert_unavailable(&browser.get_api("/csrf", &[]).await, "GET /csrf");
    assert_unavailable(&browser.get("/login").await, "GET /login");
    let logout = browser
        .send(
            http::Method::POST,
            "/logout",
            &[("x-csrftoken", &token)],
            bytes::Bytes::new(),
        )
        .await;
    assert_unavailable(&logout, "POST /logout");
    let change = browser
        .post_form(
            "/password",
            &[
                ("csrfmiddlewaretoken", &token),
                ("new_password", "another one 123"),
            ],
        )
        .await;
    assert_unavailable(&change, "POST /password");
    // A newcomer cannot get a session either, and is told so.
    let mut newcomer = ctx.browser();
    assert_unavailable(&newcomer.get("/login").await, "GET /login without a cookie");
    assert_eq!(
        browser.session_cookie(),
        cookie.as_deref(),
        "an outage deletes no cookie"
    );
    // Bearer requests do not need the session store.
    let me = me_with(&mut client, &access).await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "bearer during a session outage: {}",
        me.body
    );

    sessions_fail(&ctx, false).await;
    assert_eq!(
        username(&mut browser).await.as_deref(),
        Some("editor"),
        "still logged in after the outage"
    );
    let page = newcomer.get("/login").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

async fn a_failing_user_table_answers_503_never_401(ctx: Ctx) {
    let mut browser = ctx.browser();
    browser.login("editor", PASSWORD).await;
    assert_eq!(username(&mut browser).await.as_deref(), Some("editor"));
    let mut client = ctx.browser();
    let pair = token_pair(&mut client, "editor").await;
    let access = pair["access_token"].as_str().expect("access").to_owned();
    let refresh_token = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let mut newcomer = ctx.browser();
    let login_token = newcomer
        .get("/login")
        .await
        .form_token()
        .expect("the login form carries a CSRF token");

    rename_table(&ctx.db, "auth_user", "auth_user_away").await;
    assert_unavailable(&me_with(&mut client, &access).await, "bearer GET /api/me");
    assert_unavailable(
        &browser.get_api("/api/me", &[]).await,
        "session GET /api/me",
    );
    assert_unavailable(&browser.get("/me").await, "session GET /me");
    assert_unavailable(&refresh(&mut client, &refresh_token).await, "refresh");
    let token = client
        .post_json(
            "/api/token",
            &serde_json::json!({ "username": "editor", "password": PASSWORD }),
            &[],
        )
        .await;
    assert_unavailable(&token, "POST /api/token");
    let login = newcomer
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &login_token),
                ("username", "editor"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_unavailable(&login, "POST /login");

    rename_table(&ctx.db, "auth_user_away", "auth_user").await;
    assert_eq!(me_with(&mut client, &access).await.status, StatusCode::OK);

    // The user loads, their permissions do not: not "permission denied" either.
    rename_table(&ctx.db, "auth_user_user_permissions", "perms_away").await;
    assert_unavailable(
        &browser.get_api("/api/perm", &[]).await,
        "session GET /api/perm",
    );
    let perm = client
        .get_api(
            "/api/perm",
            &[("authorization", &format!("Bearer {access}"))],
        )
        .await;
    assert_unavailable(&perm, "bearer GET /api/perm");
    rename_table(&ctx.db, "perms_away", "auth_user_user_permissions").await;
    assert_eq!(
        browser.get_api("/api/perm", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(username(&mut browser).await.as_deref(), Some("editor"));
    let rotated = refresh(&mut client, &refresh_token).await;
    assert_eq!(
        rotated.status,
        StatusCode::OK,
        "the refresh token survived the outage: {}",
        rotated.body
    );
}

async fn a_failed_refresh_rotation_keeps_the_token(ctx: Ctx) {
    // Memory cannot fail, and Redis rotates in one Lua script (the store's own tests);
    // a database store is made to fail the successor's insert with a trigger.
    let Store::Database(_) = ctx.store else {
        return;
    };
    let mut client = ctx.browser();
    let pair = token_pair(&mut client, "alice").await;
    let old = pair["refresh_token"].as_str().expect("refresh").to_owned();

    fail_inserts(&ctx.db, "batteries_jwt_refresh").await;
    assert_unavailable(
        &refresh(&mut client, &old).await,
        "refresh while inserts fail",
    );
    assert_unavailable(&refresh(&mut client, &old).await, "the client's retry");
    allow_inserts(&ctx.db, "batteries_jwt_refresh").await;

    let rotated = refresh(&mut client, &old).await;
    assert_eq!(
        rotated.status,
        StatusCode::OK,
        "the failed rotations consumed nothing: {}",
        rotated.body
    );
    let newer = rotated.json()["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_eq!(
        refresh(&mut client, &newer).await.status,
        StatusCode::OK,
        "the family is alive"
    );
}
