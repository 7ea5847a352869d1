//! JWT refresh tokens on every store (memory, the database on SQLite, PostgreSQL and
//! MariaDB, Redis), and interop with `PyJWT` in both directions.
//!
//! Each store scenario gets two handles on one store's state, as two app instances
//! sharing a database or Redis hold them, and two [`Jwt`]s sharing the keys and a
//! [`ManualClock`]: nothing sleeps. Under CI an unreachable Redis, or a Python without
//! `PyJWT`, fails the tests; elsewhere they skip.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use batteries::auth::entities::user;
use batteries::auth::jwt::{
    AUTH_HASH, Algorithm, DatabaseRefreshStore, ExternalIssuer, Jwt, JwtConfig, JwtError, JwtKey,
    KeySet, ManualClock, MemoryRefreshStore, RedisRefreshStore, RefreshStore,
};
use batteries::auth::sessions::SessionSecret;
use batteries::auth::{ModelBackend, UserManager};
use batteries::orm::testing::TestDb;
use chrono::DateTime;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, DatabaseConnection, EntityTrait as _};
use sea_orm_migration::{MigrationTrait as _, SchemaManager};
use serde_json::{Map, Value, json};

batteries_tests::on_every_store!(
    [
        rotation_then_reuse_revokes_the_family_on_both_instances,
        concurrent_refreshes_of_one_token_have_one_winner,
        logout_everywhere_reaches_every_instance,
        a_family_revoked_during_a_rotation_stays_revoked,
        a_family_dies_thirty_days_after_login_however_often_rotated,
        parallel_refreshes_in_the_grace_window_keep_the_family,
    ];
    memory: new(memory_stores),
    redis: open(redis_stores),
    database: backends(database_stores),
);

// Each scenario also gets a database with Django's auth tables: for the memory and Redis
// stores, in-memory SQLite; for the database store, the backend's own database.
batteries_tests::on_every_store!(
    [
        a_deactivated_or_deleted_user_cannot_refresh,
        a_password_change_ends_every_family_of_the_user,
    ];
    memory_users: open(memory_stores_and_users),
    redis_users: open(redis_stores_and_users),
    database_users: backends(database_stores_and_users),
);

batteries_tests::backend_tests!(a_failed_rotation_leaves_the_token_unused);

/// Rotation is atomic in the database (issue 17): when recording the successor fails,
/// the token is not consumed either, so the client's retry is not taken for a replay.
async fn a_failed_rotation_leaves_the_token_unused(db: &TestDb) {
    use batteries::auth::jwt::{Consumed, RefreshRecord};
    let (store, _) = database_stores(db).await;
    let clock = clock();
    let at = now(&clock);
    let record = |jti: &str| RefreshRecord {
        jti: jti.to_owned(),
        family: "fam".to_owned(),
        subject: "42".to_owned(),
        expires_at: at + chrono::Duration::days(14),
    };
    store.insert(&record("first"), at).await.unwrap();
    store.insert(&record("taken"), at).await.unwrap();
    // The successor's jti is already taken: its insert fails, the consume rolls back.
    assert!(matches!(
        store.rotate("first", &record("taken"), at).await,
        Err(JwtError::Store(_))
    ));
    assert_eq!(
        store.rotate("first", &record("second"), at).await.unwrap(),
        Consumed::Fresh {
            family: "fam".to_owned(),
            subject: "42".to_owned()
        }
    );
    assert_eq!(
        store.consume("second", at).await.unwrap(),
        Consumed::Fresh {
            family: "fam".to_owned(),
            subject: "42".to_owned()
        },
        "the successor was recorded"
    );
}

#[test]
fn the_refresh_table_migration_is_batteries_jwt_s_alone() {
    let auth = batteries::auth::migrations::migrations();
    assert!(
        auth.names()
            .contains(&"m20261125_000200_auth_create_jwt_refresh"),
        "the old name stays in batteries-auth (doing nothing), so databases that recorded it still migrate"
    );
    assert_eq!(
        batteries::auth::jwt::migrations().names(),
        ["m20261208_000001_jwt_create_refresh"],
        "the table is created only where the database refresh store is used"
    );
}

/// A database migrated when batteries-auth still created the refresh table (its
/// migration recorded, the table there) migrates with batteries-auth's set alone, and
/// then with batteries-jwt's too, keeping its refresh tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_before_the_split_still_migrates() {
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::{MigrationTrait, MigratorTrait};

    struct AuthOnly;
    impl MigratorTrait for AuthOnly {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            batteries::auth::migrations::migrations().into_migrations()
        }
    }
    struct WithJwt;
    impl MigratorTrait for WithJwt {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            batteries::orm::migration::compose([
                batteries::auth::migrations::migrations(),
                batteries::auth::jwt::migrations(),
            ])
            .expect("unique migration names")
        }
    }

    let db = batteries::orm::db::connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    AuthOnly::up(&db, None).await.expect("auth's migrations");
    // The state the old batteries-auth left: its migration recorded, the table there.
    WithJwt::up(&db, None).await.expect("jwt's migration");
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = 'm20261208_000001_jwt_create_refresh'",
    )
    .await
    .expect("forget the new migration");
    db.execute_unprepared(
        "INSERT OR IGNORE INTO seaql_migrations (version, applied_at) \
         VALUES ('m20261125_000200_auth_create_jwt_refresh', 0)",
    )
    .await
    .expect("the old migration recorded");
    db.execute_unprepared(
        "INSERT INTO batteries_jwt_refresh (jti, family, subject, expires_at, revoked) \
         VALUES ('j', 'f', '42', 1, false)",
    )
    .await
    .expect("a refresh token of before");

    AuthOnly::up(&db, None)
        .await
        .expect("auth's set alone knows every migration it recorded");
    WithJwt::up(&db, None)
        .await
        .expect("jwt's migration finds the table and keeps it");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT jti FROM batteries_jwt_refresh",
        ))
        .await
        .expect("the table is there");
    assert_eq!(rows.len(), 1, "the old refresh token survived");
}

/// Two handles on one store's state, as two app instances hold them.
type Stores = (Arc<dyn RefreshStore>, Arc<dyn RefreshStore>);

fn memory_stores() -> Stores {
    let store: Arc<dyn RefreshStore> = Arc::new(MemoryRefreshStore::new());
    (store.clone(), store)
}

/// The memory store, and users in in-memory SQLite (never skipped).
async fn memory_stores_and_users(_test: &str) -> Option<(Stores, DatabaseConnection)> {
    Some((memory_stores(), sqlite_users().await))
}

/// Redis, and users in in-memory SQLite.
async fn redis_stores_and_users(test: &str) -> Option<(Stores, DatabaseConnection)> {
    let stores = redis_stores(test).await?;
    Some((stores, sqlite_users().await))
}

/// The database store, and users in the same database.
async fn database_stores_and_users(db: &TestDb) -> (Stores, DatabaseConnection) {
    auth_tables(db.conn()).await;
    (database_stores(db).await, db.conn().clone())
}

const ISS: &str = "https://auth.example.com";
const AUD: &str = "api";

fn clock() -> ManualClock {
    ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap())
}

/// Two app instances: the same keys and clock, each its own handle on the store.
fn instances(stores: Stores, clock: &ManualClock) -> (Jwt, Jwt) {
    let (a, b) = instances_with(stores, clock, &JwtConfig::new(ISS, AUD), None);
    (a.without_user_check(), b.without_user_check())
}

/// As [`instances`], with `config`, and users loaded from `users` when given (the
/// `Jwt`s are then ready; otherwise the caller says how users are checked).
fn instances_with(
    (a, b): Stores,
    clock: &ManualClock,
    config: &JwtConfig,
    users: Option<&DatabaseConnection>,
) -> (Jwt, Jwt) {
    let keys = KeySet::new().with_key(JwtKey::generate_ed25519("k1").unwrap());
    let make = |store: Arc<dyn RefreshStore>| {
        let jwt = Jwt::new(keys.clone(), config.clone(), store)
            .unwrap()
            .with_clock(clock.clone());
        match users {
            Some(db) => jwt.with_users(ModelBackend::new(db.clone()), secret()),
            None => jwt,
        }
    };
    (make(a), make(b))
}

fn secret() -> SessionSecret {
    SessionSecret::new("the auth-jwt tests' secret, long enough").unwrap()
}

/// Creates Django's auth tables (and `batteries_jwt_refresh`) in `db`.
async fn auth_tables(db: &DatabaseConnection) {
    let sets = [
        batteries::auth::migrations::migrations(),
        batteries::auth::jwt::migrations(),
    ];
    for migration in batteries::orm::migration::compose(sets).expect("unique names") {
        migration
            .up(&SchemaManager::new(db))
            .await
            .expect("auth migration");
    }
}

/// In-memory SQLite with Django's auth tables.
async fn sqlite_users() -> DatabaseConnection {
    let db = batteries::orm::db::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    auth_tables(&db).await;
    db
}

async fn create_user(db: &DatabaseConnection, name: &str) -> user::Model {
    UserManager::new()
        .create_user(db, name, None, Some("a long enough password"))
        .await
        .expect("user")
}

async fn set_active(db: &DatabaseConnection, user: &user::Model, active: bool) {
    let mut row: user::ActiveModel = user.clone().into();
    row.is_active = Set(active);
    row.update(db).await.expect("update user");
}

/// Deactivating or deleting a user ends their refresh tokens; reactivating does not
/// bring the old ones back (the family was revoked); an inactive user cannot log in.
async fn a_deactivated_or_deleted_user_cannot_refresh(
    (stores, users): (Stores, DatabaseConnection),
) {
    let users = &users;
    let clock = clock();
    let (one, two) = instances_with(stores, &clock, &JwtConfig::new(ISS, AUD), Some(users));
    let ada = create_user(users, "ada").await;
    let bob = create_user(users, "bob").await;
    let (ada_id, bob_id) = (ada.id.to_string(), bob.id.to_string());
    let pair = one.issue_pair(&ada_id).await.unwrap();
    let pair = two.refresh(&pair.refresh_token).await.unwrap();
    let bobs = one.issue_pair(&bob_id).await.unwrap();

    set_active(users, &ada, false).await;
    assert_eq!(
        one.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::UserInactive
    );
    assert_eq!(
        one.issue_pair(&ada_id).await.unwrap_err(),
        JwtError::UserInactive
    );
    set_active(users, &ada, true).await;
    assert_eq!(
        two.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked,
        "the family died with the deactivation"
    );
    assert!(one.issue_pair(&ada_id).await.is_ok(), "a new login works");

    user::Entity::delete_by_id(bob.id)
        .exec(users)
        .await
        .expect("delete bob");
    assert_eq!(
        two.refresh(&bobs.refresh_token).await.unwrap_err(),
        JwtError::UserInactive
    );
    // A subject that never was a user gets no tokens.
    assert_eq!(
        one.issue_pair("999999").await.unwrap_err(),
        JwtError::UserInactive
    );
}

/// Django's session rule on tokens: a new password ends every family of the user, on
/// every instance, without a call to `revoke_subject`.
async fn a_password_change_ends_every_family_of_the_user(
    (stores, users): (Stores, DatabaseConnection),
) {
    let users = &users;
    let clock = clock();
    let (one, two) = instances_with(stores, &clock, &JwtConfig::new(ISS, AUD), Some(users));
    let ada = create_user(users, "ada").await;
    let bob = create_user(users, "bob").await;
    let phone = one.issue_pair(&ada.id.to_string()).await.unwrap();
    let laptop = two.issue_pair(&ada.id.to_string()).await.unwrap();
    let laptop = one.refresh(&laptop.refresh_token).await.unwrap();
    let bobs = one.issue_pair(&bob.id.to_string()).await.unwrap();
    // The hash is carried, not the password hash itself.
    let claims = one.verify_refresh(&phone.refresh_token).unwrap();
    assert_eq!(
        claims.extra[AUTH_HASH],
        json!(secret().session_auth_hash(&ada))
    );

    let ada = UserManager::new()
        .set_password(users, ada, Some("a brand new long password"))
        .await
        .expect("set password");
    for (jwt, token) in [(&two, &phone.refresh_token), (&one, &laptop.refresh_token)] {
        assert_eq!(
            jwt.refresh(token).await.unwrap_err(),
            JwtError::PasswordChanged
        );
    }
    assert!(
        two.refresh(&bobs.refresh_token).await.is_ok(),
        "bob keeps his"
    );
    // Logging in with the new password works, and its token rotates.
    let again = one.issue_pair(&ada.id.to_string()).await.unwrap();
    assert!(two.refresh(&again.refresh_token).await.is_ok());
}

/// Rotation renews a token, never its family: 30 days after login the family is dead
/// (it lived forever while rotated within 14 days).
async fn a_family_dies_thirty_days_after_login_however_often_rotated(stores: Stores) {
    let clock = clock();
    let (one, two) = instances(stores, &clock);
    let mut pair = one.issue_pair("42").await.unwrap();
    for (i, days) in [10, 10, 9].into_iter().enumerate() {
        clock.advance(Duration::from_hours(24 * days));
        let jwt = if i % 2 == 0 { &two } else { &one };
        pair = jwt.refresh(&pair.refresh_token).await.unwrap();
    }
    clock.advance(Duration::from_hours(24));
    assert_eq!(
        one.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::FamilyExpired
    );
    clock.advance(Duration::from_mins(1));
    assert_eq!(
        two.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::Expired,
        "the token itself expires with its family"
    );
}

/// With a grace window, a client sending one refresh token several times at once keeps
/// its session: one request wins, the others are refused without revoking.
async fn parallel_refreshes_in_the_grace_window_keep_the_family(stores: Stores) {
    let clock = clock();
    let config = JwtConfig::new(ISS, AUD).with_reuse_grace(Duration::from_secs(10));
    let (one, two) = instances_with(stores, &clock, &config, None);
    let (one, two) = (one.without_user_check(), two.without_user_check());
    let pair = one.issue_pair("42").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let jwt = if i % 2 == 0 { one.clone() } else { two.clone() };
        let token = pair.refresh_token.clone();
        tasks.push(tokio::spawn(async move { jwt.refresh(&token).await }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(pair) => winners.push(pair),
            Err(JwtError::RefreshRaced) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    // The family lives on: the winner's token rotates.
    let next = two.refresh(&winners[0].refresh_token).await.unwrap();
    // Past the window, presenting the first token again is a replay: the family dies.
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        one.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::RefreshReused
    );
    assert_eq!(
        two.refresh(&next.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
}

async fn rotation_then_reuse_revokes_the_family_on_both_instances(stores: Stores) {
    let clock = clock();
    let (one, two) = instances(stores, &clock);
    let first = one.issue_pair("42").await.unwrap();
    // Rotated on the other instance, then again on the first.
    let second = two.refresh(&first.refresh_token).await.unwrap();
    clock.advance(Duration::from_mins(10));
    let third = one.refresh(&second.refresh_token).await.unwrap();
    assert_eq!(two.verify_access(&third.access_token).unwrap().sub, "42");
    let unrelated = two.issue_pair("42").await.unwrap();

    // The stolen second token is replayed on either instance: the family dies.
    assert_eq!(
        two.refresh(&second.refresh_token).await.unwrap_err(),
        JwtError::RefreshReused
    );
    assert_eq!(
        one.refresh(&third.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    assert_eq!(
        two.refresh(&first.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    // Another login of the same user is untouched.
    assert!(one.refresh(&unrelated.refresh_token).await.is_ok());
}

async fn concurrent_refreshes_of_one_token_have_one_winner(stores: Stores) {
    let clock = clock();
    let (one, two) = instances(stores, &clock);
    let pair = one.issue_pair("42").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let jwt = if i % 2 == 0 { one.clone() } else { two.clone() };
        let token = pair.refresh_token.clone();
        tasks.push(tokio::spawn(async move { jwt.refresh(&token).await }));
    }
    let mut winners = Vec::new();
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(pair) => winners.push(pair),
            Err(JwtError::RefreshReused) => reused += 1,
            Err(JwtError::RefreshRevoked) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    assert!(reused >= 1, "the losers report the reuse");
    // The losers revoked the family: the winner's successor is dead too.
    assert_eq!(
        one.refresh(&winners[0].refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
}

async fn logout_everywhere_reaches_every_instance(stores: Stores) {
    let clock = clock();
    let (one, two) = instances(stores, &clock);
    let phone = one.issue_pair("42").await.unwrap();
    let laptop = two.issue_pair("42").await.unwrap();
    let laptop = one.refresh(&laptop.refresh_token).await.unwrap();
    let bob = one.issue_pair("7").await.unwrap();

    two.revoke_subject("42").await.unwrap();
    for token in [&phone.refresh_token, &laptop.refresh_token] {
        assert_eq!(
            one.refresh(token).await.unwrap_err(),
            JwtError::RefreshRevoked
        );
    }
    assert!(two.refresh(&bob.refresh_token).await.is_ok());
    // Logging in again works, on either instance.
    let again = one.issue_pair("42").await.unwrap();
    assert!(two.refresh(&again.refresh_token).await.is_ok());

    // Logout of one device.
    let device = one.issue_pair("7").await.unwrap();
    two.revoke(&device.refresh_token).await.unwrap();
    assert_eq!(
        one.refresh(&device.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
}

/// A rotation inserting its new token after the family was revoked (the race of a
/// replay with the legitimate refresh) must not resurrect the family.
async fn a_family_revoked_during_a_rotation_stays_revoked((a, b): Stores) {
    let clock = clock();
    let (one, _) = instances((a.clone(), b.clone()), &clock);
    let pair = one.issue_pair("42").await.unwrap();
    let family = one
        .verify_refresh(&pair.refresh_token)
        .unwrap()
        .family
        .unwrap();
    b.revoke_family(&family).await.unwrap();
    // The store is told of a successor in the revoked family afterwards.
    let late = batteries::auth::jwt::RefreshRecord {
        jti: "late-successor".to_owned(),
        family,
        subject: "42".to_owned(),
        expires_at: now(&clock) + chrono::Duration::days(14),
    };
    a.insert(&late, now(&clock)).await.unwrap();
    assert_eq!(
        b.consume("late-successor", now(&clock)).await.unwrap(),
        batteries::auth::jwt::Consumed::FamilyRevoked
    );
}

fn now(clock: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    use batteries::auth::jwt::Clock as _;
    clock.now()
}

async fn database_stores(db: &TestDb) -> Stores {
    batteries::auth::jwt::migration()
        .up(&SchemaManager::new(db.conn()))
        .await
        .expect("create batteries_jwt_refresh");
    // A second pool on the same database, as a second app instance would have (SQLite in
    // memory has one connection only, so there the pool is shared).
    let second = match db.url() {
        Some(url) => batteries::orm::db::connect(&url)
            .await
            .expect("second connection"),
        None => db.conn().clone(),
    };
    (
        Arc::new(DatabaseRefreshStore::new(db.conn().clone())),
        Arc::new(DatabaseRefreshStore::new(second)),
    )
}

/// Two connections to Redis with a key prefix of this test's own; `None` (after saying
/// why) when Redis is unreachable outside CI.
///
/// # Panics
/// Under CI, when Redis is unreachable.
async fn redis_stores(test: &str) -> Option<Stores> {
    let (a, b, _) = batteries_tests::redis_pair(test, |url, prefix| async move {
        RedisRefreshStore::open(&url)
            .await
            .map(|store| store.with_prefix(prefix))
    })
    .await?;
    Some((Arc::new(a), Arc::new(b)))
}

// --- Interop with `PyJWT` -------------------------------------------------------------

/// Runs `tests/django/jwt_interop.py`; `Ok(stdout)` or `Err(stderr)`.
fn interop(python: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(python)
        .arg(batteries_tests::workspace_root().join("tests/django/jwt_interop.py"))
        .args(args)
        .output()
        .expect("run jwt_interop.py");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A file in a fresh temporary directory of this test.
fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("batteries-jwt-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// HS256 secret shared with `PyJWT`.
const SECRET: &[u8] = b"an HS256 secret of at least 32 bytes, shared";

/// The key for `alg` with kid `kid`, and the file `PyJWT` signs with: a PEM from `PyJWT`'s
/// `cryptography` (so both sides read the other's key format), or the HMAC secret.
fn key_pair(python: &Path, alg: &str, kid: &str) -> (JwtKey, std::path::PathBuf) {
    if alg == "HS256" {
        let key = JwtKey::hmac(kid, Algorithm::HS256, SECRET).unwrap();
        return (key, temp_file("secret", SECRET));
    }
    let pem = interop(python, &["genkey", "--alg", alg]).expect("genkey");
    let key = match alg {
        "EdDSA" => JwtKey::from_ed25519_pem(kid, &pem),
        "ES256" => JwtKey::from_ec_pem(kid, Algorithm::ES256, &pem),
        "RS256" => JwtKey::from_rsa_pem(kid, Algorithm::RS256, &pem),
        other => panic!("no test key for {other}"),
    }
    .unwrap();
    (key, temp_file("key.pem", pem.as_bytes()))
}

const INTEROP_ALGORITHMS: [&str; 4] = ["EdDSA", "ES256", "RS256", "HS256"];

/// `PyJWT` verifies what we issue: by our JWKS (by the shared secret for HS256).
#[test]
fn pyjwt_verifies_our_tokens() {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    for alg in INTEROP_ALGORITHMS {
        let (key, secret_file) = key_pair(&python, alg, &format!("ours-{alg}"));
        let jwt = Jwt::new(
            KeySet::new().with_key(key),
            JwtConfig::new(ISS, AUD),
            MemoryRefreshStore::new(),
        )
        .unwrap();
        let mut extra = Map::new();
        extra.insert("role".to_owned(), json!("editor"));
        let token = jwt.issue_access("42", extra).unwrap();
        let jwks = temp_file("jwks.json", &serde_json::to_vec(&jwt.jwks()).unwrap());
        let source: Vec<&str> = if alg == "HS256" {
            vec!["--alg", "HS256", "--key", secret_file.to_str().unwrap()]
        } else {
            vec!["--jwks", jwks.to_str().unwrap()]
        };
        let verify = |aud: &str| {
            let mut args = vec!["verify", "--token", &token, "--iss", ISS, "--aud", aud];
            args.extend(&source);
            interop(&python, &args)
        };
        let claims: Value = serde_json::from_str(
            &verify(AUD).unwrap_or_else(|e| panic!("PyJWT refused our {alg} token: {e}")),
        )
        .unwrap();
        assert_eq!(claims["sub"], "42", "{alg}");
        assert_eq!(claims["role"], "editor", "{alg}");
        assert_eq!(claims["typ"], "access", "{alg}");
        // Sanity: `PyJWT` does check what we think it checks.
        let err = verify("another-api").expect_err("PyJWT accepted the wrong audience");
        assert!(err.contains("InvalidAudience"), "{alg}: {err}");
    }
}

/// We verify what `PyJWT` signs, with the same key (its public half for asymmetric keys).
#[test]
fn we_verify_pyjwt_tokens() {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    for alg in INTEROP_ALGORITHMS {
        let kid = format!("pyjwt-{alg}");
        let (key, key_file) = key_pair(&python, alg, &kid);
        let claims = json!({
            "sub": "alice", "iss": ISS, "aud": AUD, "iat": now, "nbf": now, "exp": now + 120,
            "jti": "py-1", "typ": "access", "scope": "read",
        })
        .to_string();
        let token = interop(
            &python,
            &[
                "sign",
                "--alg",
                alg,
                "--kid",
                &kid,
                "--key",
                key_file.to_str().unwrap(),
                "--claims",
                &claims,
            ],
        )
        .unwrap_or_else(|e| panic!("PyJWT could not sign {alg}: {e}"));

        // Through a Jwt holding the key...
        let jwt = Jwt::new(
            KeySet::new().with_key(key.clone()),
            JwtConfig::new(ISS, AUD),
            MemoryRefreshStore::new(),
        )
        .unwrap();
        let verified = jwt
            .verify_access(&token)
            .unwrap_or_else(|e| panic!("we refused PyJWT's {alg} token: {e}"));
        assert_eq!(verified.sub, "alice");
        assert_eq!(verified.extra["scope"], "read");

        // ...and, for public keys, as an external issuer knowing only its JWKS.
        if alg != "HS256" {
            let jwks = serde_json::to_string(&KeySet::new().with_key(key).jwks()).unwrap();
            let algorithm: Algorithm = alg.parse().unwrap();
            let external = ExternalIssuer::new(&jwks, ISS, AUD, &[algorithm]).unwrap();
            assert_eq!(external.verify(&token).unwrap().sub, "alice", "{alg}");
            let wrong = ExternalIssuer::new(&jwks, ISS, "another-api", &[algorithm]).unwrap();
            assert_eq!(wrong.verify(&token).unwrap_err(), JwtError::WrongAudience);
        }

        // A `PyJWT` token with a string `exp` is an error here, not "never expires".
        let bad =
            json!({"sub": "alice", "iss": ISS, "aud": AUD, "exp": "9999999999", "typ": "access"})
                .to_string();
        let token = interop(
            &python,
            &[
                "sign",
                "--alg",
                alg,
                "--kid",
                &kid,
                "--key",
                key_file.to_str().unwrap(),
                "--claims",
                &bad,
            ],
        )
        .unwrap();
        assert_eq!(
            jwt.verify_access(&token).unwrap_err(),
            JwtError::InvalidClaim {
                claim: "exp".to_owned()
            },
            "{alg}"
        );
    }
}
