//! Four apps with the same `GET /hello` handler on four loopback ports, for `run.sh`:
//!
//! | app | authentication |
//! | --- | --- |
//! | `bare` | none |
//! | `jwt` | batteries `AuthLayer` with a `Jwt` bearer verifier (`EdDSA`) |
//! | `session` | batteries `SessionLayer` (`RedisSessionStore`) + `AuthLayer` |
//! | `axum-login` | axum-login 0.18 + tower-sessions 0.14 (`tower-sessions-redis-store`) |
//!
//! One user in one PostgreSQL database (`batteries_loadbench`, recreated at each start),
//! one Redis for both session stores. Both session apps load the user from the database
//! on every request and check the session auth hash (an HMAC of the password hash,
//! Django's `get_session_auth_hash`), each through its own library's path.
//!
//! Once serving, prints one JSON line: each app's URL, the header its requests need
//! (bearer token or session cookie) and the user id `/hello` must answer. Then serves
//! until killed.
//!
//! Environment: `LOADBENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! the server on which `batteries_loadbench` is created), `LOADBENCH_REDIS_URL` (default
//! `redis://127.0.0.1:6379/`), `LOADBENCH_DB_POOL` (database connections, default 16),
//! `LOADBENCH_FRED_POOL` (Redis connections of the tower-sessions store, default 1, the
//! same as batteries' one multiplexed connection), `LOADBENCH_JWT_CACHE` (how many
//! verified access tokens the `Jwt` remembers; default `JwtConfig`'s, 0 to check the
//! signature on every request).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_login::tower_sessions::SessionManagerLayer;
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthnBackend};
use batteries_auth::entities::user;
use batteries_auth::jwt::{Jwt, JwtConfig, JwtKey, KeySet, MemoryRefreshStore};
use batteries_auth::sessions::{self, RedisSessionStore, Session, SessionSecret};
use batteries_auth::{AuthUser as _, ModelBackend, UserLoader as _, UserManager};
use batteries_middleware::auth::{AuthLayer, CurrentUser};
use batteries_middleware::session::{SessionConfig, SessionLayer};
use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{ClientLike as _, Config as FredConfig, Pool};

use batteries_bench_common::{BoxError, Existing, create_database, env_or};

const BENCH_DB: &str = "batteries_loadbench";
const USERNAME: &str = "bench";
/// Django's `SECRET_KEY` for the session auth hashes of both session apps.
const SECRET: &[u8] = b"loadbench: a secret key of at least 32 bytes";

/// The one handler body every app answers with.
fn hello(user: Option<&str>) -> Json<Value> {
    Json(json!({ "hello": "world", "user": user }))
}

async fn bare_hello() -> Json<Value> {
    hello(None)
}

async fn batteries_hello(Extension(user): Extension<CurrentUser>) -> Json<Value> {
    hello(user.pk())
}

async fn axum_login_hello(auth: AuthSession<LoginBackend>) -> Json<Value> {
    hello(auth.user.as_ref().map(|u| u.id.as_str()))
}

/// What the start-up logins need.
#[derive(Clone)]
struct LoginState {
    user: user::Model,
    secret: SessionSecret,
}

/// Logs the bench user into this request's batteries session (start-up only).
async fn batteries_login(
    State(state): State<LoginState>,
    Extension(session): Extension<Session>,
) -> StatusCode {
    match sessions::login(&session, &state.user, &state.secret).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Logs the bench user into this request's tower-sessions session (start-up only).
async fn axum_login_login(
    State(state): State<LoginState>,
    mut auth: AuthSession<LoginBackend>,
) -> StatusCode {
    let Ok(Some(user)) = auth.backend.get_user(&state.user.pk_string()).await else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    match auth.login(&user).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// axum-login's user: the id and the session auth hash (the same HMAC of the password
/// hash that batteries checks).
#[derive(Clone)]
struct BenchUser {
    id: String,
    hash: Vec<u8>,
}

impl std::fmt::Debug for BenchUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchUser")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl axum_login::AuthUser for BenchUser {
    type Id = String;

    fn id(&self) -> String {
        self.id.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.hash
    }
}

/// axum-login's backend: loads the user with batteries' `ModelBackend` (the same query
/// the `session` app runs) and derives its session auth hash.
#[derive(Clone)]
struct LoginBackend {
    models: ModelBackend,
    secret: SessionSecret,
}

impl AuthnBackend for LoginBackend {
    type User = BenchUser;
    type Credentials = String;
    type Error = batteries_auth::Error;

    async fn authenticate(&self, pk: String) -> Result<Option<BenchUser>, Self::Error> {
        self.get_user(&pk).await
    }

    async fn get_user(&self, pk: &String) -> Result<Option<BenchUser>, Self::Error> {
        Ok(self.models.load_user(pk).await?.map(|u| BenchUser {
            id: u.pk_string(),
            hash: self.secret.session_auth_hash(&u).into_bytes(),
        }))
    }
}

struct AuthMigrator;

impl MigratorTrait for AuthMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries_auth::migrations::migrations().into_migrations()
    }
}

/// Recreates `batteries_loadbench` on the server at `url`, migrated, with one user.
async fn setup_db(url: &str, pool: u32) -> Result<(DatabaseConnection, user::Model), BoxError> {
    let url = create_database(url, BENCH_DB, Existing::Drop).await?;
    let db = batteries_orm::db::DbConfig::new(url)
        .max_connections(pool)
        .min_connections(pool)
        .connect()
        .await?;
    AuthMigrator::up(&db, None).await?;
    let user = UserManager::new()
        .create_user(&db, USERNAME, None, Some("correct horse battery staple"))
        .await?;
    Ok((db, user))
}

async fn serve(app: Router) -> Result<SocketAddr, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("server on {addr} stopped: {error}");
        }
    });
    Ok(addr)
}

/// `GET path` on `addr`; the `name=value` of the response's first `Set-Cookie`.
async fn login_cookie(addr: SocketAddr, path: &str) -> Result<String, BoxError> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response.lines().next().unwrap_or_default();
    if !status.contains(" 204 ") {
        return Err(format!("login on {addr} answered `{status}`").into());
    }
    response
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .ok_or_else(|| format!("login on {addr} set no cookie").into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let pg_url = env_or(
        "LOADBENCH_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let redis_url = env_or("LOADBENCH_REDIS_URL", "redis://127.0.0.1:6379/");
    let db_pool: u32 = env_or("LOADBENCH_DB_POOL", "16").parse()?;
    let fred_pool: usize = env_or("LOADBENCH_FRED_POOL", "1").parse()?;

    let (db, user) = setup_db(&pg_url, db_pool).await?;
    let pk = user.pk_string();
    let secret = SessionSecret::new(SECRET)?;
    let models = ModelBackend::new(db.clone());
    let state = LoginState {
        user,
        secret: secret.clone(),
    };

    // bare
    let bare = serve(Router::new().route("/hello", get(bare_hello))).await?;

    // jwt: an access token valid for the whole run.
    let keys = KeySet::new().with_key(JwtKey::generate_ed25519("loadbench")?);
    let mut config = JwtConfig::new("https://loadbench.invalid", "loadbench")
        .with_access_ttl(Duration::from_hours(24));
    if let Ok(capacity) = std::env::var("LOADBENCH_JWT_CACHE") {
        config = config.with_verified_cache(capacity.parse()?);
    }
    let jwt = Jwt::new(keys, config, MemoryRefreshStore::new())?.without_user_check();
    let token = jwt.issue_pair(&pk).await?.access_token;
    let jwt_app = Router::new()
        .route("/hello", get(batteries_hello))
        .layer(AuthLayer::new(models.clone(), secret.clone()).with_bearer(jwt));
    let jwt_addr = serve(jwt_app).await?;

    // session: batteries sessions in Redis.
    let store = RedisSessionStore::open(&redis_url)
        .await?
        .with_prefix("loadbench:batteries:");
    let session_app = Router::new()
        .route("/hello", get(batteries_hello))
        .route("/login", get(batteries_login))
        .with_state(state.clone())
        .layer(AuthLayer::new(models.clone(), secret.clone()))
        .layer(SessionLayer::new(
            store,
            SessionConfig::new().with_secure(false),
        ));
    let session_addr = serve(session_app).await?;
    let session_cookie = login_cookie(session_addr, "/login").await?;

    // axum-login: tower-sessions in Redis through fred.
    let pool = Pool::new(
        FredConfig::from_url(&redis_url)?,
        None,
        None,
        None,
        fred_pool,
    )?;
    pool.init().await?;
    let sessions = SessionManagerLayer::new(RedisStore::new(pool)).with_secure(false);
    let backend = LoginBackend {
        models: models.clone(),
        secret: secret.clone(),
    };
    let axum_login_app = Router::new()
        .route("/hello", get(axum_login_hello))
        .route("/login", get(axum_login_login))
        .with_state(state)
        .layer(AuthManagerLayerBuilder::new(backend, sessions).build());
    let axum_login_addr = serve(axum_login_app).await?;
    let axum_login_cookie = login_cookie(axum_login_addr, "/login").await?;

    let url = |addr: SocketAddr| format!("http://{addr}/hello");
    let apps = json!({ "apps": [
        { "name": "bare", "url": url(bare), "header": null, "user": null },
        { "name": "jwt", "url": url(jwt_addr),
          "header": format!("Authorization: Bearer {token}"), "user": pk },
        { "name": "session", "url": url(session_addr),
          "header": format!("Cookie: {session_cookie}"), "user": pk },
        { "name": "axum-login", "url": url(axum_login_addr),
          "header": format!("Cookie: {axum_login_cookie}"), "user": pk },
    ]});
    println!("{apps}");

    std::future::pending::<()>().await;
    Ok(())
}
