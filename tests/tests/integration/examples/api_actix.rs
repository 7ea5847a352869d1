//! The api-actix example, served on loopback and driven as an API client would.

use actix_web::HttpServer;
use batteries::auth::UserManager;
use batteries::auth::jwt::JwtKey;
use batteries::auth::sessions::SessionSecret;
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::browser::Browser;
use http::StatusCode;
use sea_orm_migration::MigratorTrait;

backend_tests!(
    api_actix_issues_tokens_checks_permissions_and_limits,
    api_actix_tokens_end_with_their_user,
);

fn serve(app: api_actix::App) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let app = app.clone();
                actix_web::App::new()
                    .wrap(app.batteries())
                    .configure(move |cfg| app.configure(cfg))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
            let _ = tx.send(server.handle());
            let _ = server.await;
        });
    });
    (addr, rx.recv().expect("started"))
}

async fn api_actix_issues_tokens_checks_permissions_and_limits(db: &TestDb) {
    // Not the in-memory SQLite database: actix drops an extractor's future when another
    // extractor of the same handler fails, sqlx then closes that connection, and an
    // in-memory database dies with its only connection. A file behaves like a server.
    let url = db
        .url()
        .unwrap_or_else(|| batteries_tests::sqlite_file_url("api-actix"));
    let conn = batteries::orm::db::connect(&url).await.expect("connect");
    api_actix::Migrator::up(&conn, None)
        .await
        .expect("migrations");
    let users = UserManager::new();
    api_actix::seed_demo_user(&conn, &users, "demo's long password")
        .await
        .expect("demo");
    users
        .create_user(&conn, "viewer", None, Some("viewer's long password"))
        .await
        .expect("viewer");
    let pem = JwtKey::generate_ed25519_pem().expect("key");
    let secret = SessionSecret::new("api-actix test secret, long enough").expect("secret");
    let app = api_actix::App::new(conn, &pem, secret, false).expect("app");
    let (addr, handle) = serve(app);
    let mut client = Browser::new(addr);
    let login = |username: &str, password: &str| serde_json::json!({ "username": username, "password": password });

    let wrong = client
        .post_json("/api/token", &login("demo", "nope"), &[])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let pair = client
        .post_json("/api/token", &login("demo", "demo's long password"), &[])
        .await;
    assert_eq!(pair.status, StatusCode::OK, "{}", pair.body);
    assert_eq!(pair.header("x-content-type-options"), Some("nosniff"));
    let pair = pair.json();
    let bearer = format!("Bearer {}", pair["access_token"].as_str().expect("access"));
    let auth = [("authorization", bearer.as_str())];

    let me = client.get_api("/api/me", &auth).await;
    assert_eq!(me.json()["username"], "demo", "{}", me.body);
    assert_eq!(
        client.get_api("/api/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client.get_api("/api/notes", &auth).await.json(),
        serde_json::json!([])
    );

    let created = client
        .post_json("/api/notes", &serde_json::json!({ "text": "hello" }), &auth)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let empty = client
        .post_json("/api/notes", &serde_json::json!({ "text": "  " }), &auth)
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let malformed = client
        .send(
            http::Method::POST,
            "/api/notes",
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ],
            bytes::Bytes::from_static(b"{\"text\": "),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.json()["error"].is_string(), "{}", malformed.body);
    let notes = client.get_api("/api/notes", &auth).await;
    assert_eq!(notes.json()[0]["text"], "hello", "{}", notes.body);

    let viewer = client
        .post_json(
            "/api/token",
            &login("viewer", "viewer's long password"),
            &[],
        )
        .await
        .json();
    let viewer_bearer = format!(
        "Bearer {}",
        viewer["access_token"].as_str().expect("access")
    );
    let denied = client
        .post_json(
            "/api/notes",
            &serde_json::json!({ "text": "x" }),
            &[("authorization", &viewer_bearer)],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        client
            .get_api("/api/notes", &[("authorization", &viewer_bearer)])
            .await
            .json(),
        serde_json::json!([]),
        "each user sees only their notes"
    );

    let refresh = pair["refresh_token"].as_str().expect("refresh");
    let body = serde_json::json!({ "refresh_token": refresh });
    assert_eq!(
        client
            .post_json("/api/token/refresh", &body, &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        client
            .post_json("/api/token/refresh", &body, &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let jwks = client.get_api("/.well-known/jwks.json", &[]).await.json();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private key in the JWKS"
    );

    // Three token requests so far; two more pass, then 429.
    for _ in 0..2 {
        assert_ne!(
            client
                .post_json("/api/token", &login("demo", "nope"), &[])
                .await
                .status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let limited = client
        .post_json("/api/token", &login("demo", "demo's long password"), &[])
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    handle.stop(false).await;
}

/// A token is worth only as much as its user (issue 16): after a deactivation, a
/// password change or a deletion, neither the access token nor the refresh token works,
/// and a token for an id that never was a user (signed with the real key) lists nothing.
async fn api_actix_tokens_end_with_their_user(db: &TestDb) {
    use batteries::auth::entities::user;
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, EntityTrait as _};

    let url = db
        .url()
        .unwrap_or_else(|| batteries_tests::sqlite_file_url("api-actix-users"));
    let conn = batteries::orm::db::connect(&url).await.expect("connect");
    api_actix::Migrator::up(&conn, None)
        .await
        .expect("migrations");
    let users = UserManager::new();
    let ada = users
        .create_user(&conn, "ada", None, Some("ada's long password"))
        .await
        .expect("ada");
    let bob = users
        .create_user(&conn, "bob", None, Some("bob's long password"))
        .await
        .expect("bob");
    let pem = JwtKey::generate_ed25519_pem().expect("key");
    let secret = SessionSecret::new("api-actix test secret, long enough").expect("secret");
    let app = api_actix::App::new(conn.clone(), &pem, secret, false).expect("app");
    let (addr, handle) = serve(app);
    let mut client = Browser::new(addr);
    let ada_pair = token(&mut client, "ada", "ada's long password").await;
    let bob_pair = token(&mut client, "bob", "bob's long password").await;
    let bearer = |pair: &serde_json::Value| {
        format!("Bearer {}", pair["access_token"].as_str().expect("access"))
    };
    let refresh_body =
        |pair: &serde_json::Value| serde_json::json!({ "refresh_token": pair["refresh_token"] });

    // Ada is deactivated: her access token lists nothing, her refresh token is dead,
    // and stays dead after she is reactivated.
    let mut row: user::ActiveModel = ada.clone().into();
    row.is_active = Set(false);
    row.update(&conn).await.expect("deactivate");
    let ada_bearer = bearer(&ada_pair);
    for path in ["/api/notes", "/api/me"] {
        let response = client
            .get_api(path, &[("authorization", ada_bearer.as_str())])
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let refused = client
        .post_json("/api/token/refresh", &refresh_body(&ada_pair), &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let mut row: user::ActiveModel = ada.into();
    row.is_active = Set(true);
    row.update(&conn).await.expect("reactivate");
    assert_eq!(
        client
            .post_json("/api/token/refresh", &refresh_body(&ada_pair), &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the family was revoked"
    );

    // Bob changes his password: his refresh token dies (his access token lives out its
    // five minutes); then he is deleted and the access token dies too.
    let bob = users
        .set_password(&conn, bob, Some("bob's new long password"))
        .await
        .expect("password");
    assert_eq!(
        client
            .post_json("/api/token/refresh", &refresh_body(&bob_pair), &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let bob_bearer = bearer(&bob_pair);
    assert_eq!(
        client
            .get_api("/api/notes", &[("authorization", bob_bearer.as_str())])
            .await
            .status,
        StatusCode::OK
    );
    user::Entity::delete_by_id(bob.id)
        .exec(&conn)
        .await
        .expect("delete");
    assert_eq!(
        client
            .get_api("/api/notes", &[("authorization", bob_bearer.as_str())])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // A well-signed token for an id that never was a user.
    let keys = batteries::auth::jwt::KeySet::new()
        .with_key(JwtKey::from_ed25519_pem("k1", &pem).expect("key"))
        .with_signing_key("k1")
        .expect("signing key");
    let forger = batteries::auth::jwt::Jwt::new(
        keys,
        batteries::auth::jwt::JwtConfig::new("api-actix", "api-actix"),
        batteries::auth::jwt::MemoryRefreshStore::new(),
    )
    .expect("jwt");
    let ghost = forger
        .issue_access("987654", serde_json::Map::new())
        .expect("token");
    let ghost = format!("Bearer {ghost}");
    assert_eq!(
        client
            .get_api("/api/notes", &[("authorization", ghost.as_str())])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    handle.stop(false).await;
}

async fn token(client: &mut Browser, username: &str, password: &str) -> serde_json::Value {
    let pair = client
        .post_json(
            "/api/token",
            &serde_json::json!({ "username": username, "password": password }),
            &[],
        )
        .await;
    assert_eq!(pair.status, StatusCode::OK, "{}", pair.body);
    pair.json()
}
