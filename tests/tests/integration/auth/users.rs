//! batteries-auth against Django's tables: migrations, users, login, permissions, and
//! a database that Django itself migrated.

use std::process::Command;

use batteries::auth::entities::{
    group, group_permissions, permission, user, user_groups, user_permissions,
};
use batteries::auth::hashers::Hashers;
use batteries::auth::migrations::migrations;
use batteries::auth::permissions::ensure_model_permissions;
use batteries::auth::{
    AuthUser, Credentials, Permissions, PermissionsExt as _, UserManager, authenticate,
};
use batteries::orm::migration::compose;
use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::backend_tests;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, Set,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait, SchemaManager};
use serde_json::Value;

struct AuthMigrator;

impl MigratorTrait for AuthMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        compose([migrations()]).expect("unique names")
    }
}

async fn migrate(db: &DatabaseConnection) {
    AuthMigrator::up(db, None).await.expect("auth migrations");
}

backend_tests!(
    migrations_create_djangos_tables_once,
    users_log_in_and_wrong_credentials_all_look_alike,
    outdated_hashes_are_upgraded_on_login,
    permissions_come_from_user_and_groups_in_one_load,
    a_database_django_migrated_works_both_ways,
    locked_out_logins_look_like_wrong_passwords,
);

async fn locked_out_logins_look_like_wrong_passwords(db: &TestDb) {
    use batteries::auth::throttle::{DatabaseThrottleStore, LoginThrottle, ManualClock};
    use batteries::auth::{Authenticator, ModelBackend};
    use std::time::Duration;

    let conn = db.conn();
    migrate(conn).await;
    UserManager::new()
        .create_user(conn, "frank", None, Some("frank password 1"))
        .await
        .expect("frank");
    let clock = ManualClock::new(chrono::Utc::now());
    let auth = Authenticator::new()
        .with_backend(ModelBackend::new(conn.clone()))
        .with_throttle(
            LoginThrottle::new(DatabaseThrottleStore::new(conn.clone()))
                .with_username_limit(3, Duration::from_mins(15))
                .with_clock(clock.clone()),
        );
    let ip = "198.51.100.9".parse().ok();
    let right = Credentials::new("frank", "frank password 1");
    assert!(
        auth.authenticate_from(&right, ip)
            .await
            .expect("auth")
            .is_some()
    );
    for _ in 0..3 {
        let wrong = Credentials::new("frank", "guess");
        assert!(
            auth.authenticate_from(&wrong, ip)
                .await
                .expect("auth")
                .is_none()
        );
    }
    // Locked: even the right password gets the wrong-password answer.
    assert!(
        auth.authenticate_from(&right, ip)
            .await
            .expect("auth")
            .is_none()
    );
    assert!(
        auth.authenticate(&right).await.expect("auth").is_none(),
        "the username is locked from any IP"
    );
    clock.advance(Duration::from_mins(16));
    assert!(
        auth.authenticate_from(&right, ip)
            .await
            .expect("auth")
            .is_some(),
        "the lockout ends"
    );
}

async fn migrations_create_djangos_tables_once(db: &TestDb) {
    let conn = db.conn();
    migrate(conn).await;
    migrate(conn).await;
    let manager = SchemaManager::new(conn);
    for table in [
        "auth_user",
        "auth_group",
        "auth_permission",
        "django_content_type",
        "auth_user_groups",
        "auth_group_permissions",
        "auth_user_user_permissions",
    ] {
        assert!(
            manager.has_table(table).await.expect("has_table"),
            "{table}"
        );
    }
    AuthMigrator::down(conn, None).await.expect("down");
    assert!(!manager.has_table("auth_user").await.expect("has_table"));
}

async fn users_log_in_and_wrong_credentials_all_look_alike(db: &TestDb) {
    let conn = db.conn();
    migrate(conn).await;
    let users = UserManager::new();
    let alice = users
        .create_user(
            conn,
            "alice",
            Some("Alice@EXAMPLE.com"),
            Some("correct horse battery"),
        )
        .await
        .expect("create alice");
    assert_eq!(alice.email, "Alice@example.com");
    assert!(
        alice
            .password
            .starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        alice.password
    );
    assert!(alice.last_login.is_none());
    assert!(
        !format!("{alice:?}").contains("argon2"),
        "Debug hides the hash"
    );

    let ok = authenticate(conn, &Credentials::new("alice", "correct horse battery"))
        .await
        .expect("authenticate")
        .expect("alice logs in");
    assert_eq!(ok.id, alice.id);
    assert!(ok.last_login.is_some(), "last_login is updated");

    let mut attempts = vec![
        ("alice", "wrong"),
        ("alice", ""),
        ("nobody", "correct horse battery"),
    ];
    // MySQL's default collation ignores case and trailing spaces, for Django too.
    if db.backend() != Backend::MySql {
        attempts.push(("ALICE ", "correct horse battery"));
    }
    for (username, password) in attempts {
        let refused = authenticate(conn, &Credentials::new(username, password))
            .await
            .expect("a refusal is not an error");
        assert!(refused.is_none(), "{username}/{password}");
    }
    // Inactive users are refused even with the right password.
    let mut carol = users
        .create_user(conn, "carol", None, Some("carol password 1"))
        .await
        .expect("carol")
        .into_active_model();
    carol.is_active = Set(false);
    carol.update(conn).await.expect("deactivate");
    assert!(
        authenticate(conn, &Credentials::new("carol", "carol password 1"))
            .await
            .expect("auth")
            .is_none()
    );
    // No password: unusable, never logs in.
    let dave = users
        .create_user(conn, "dave", None, None)
        .await
        .expect("dave");
    assert!(dave.password.starts_with('!'));
    assert!(
        authenticate(conn, &Credentials::new("dave", &dave.password))
            .await
            .expect("auth")
            .is_none()
    );
    // Bad usernames are typed errors, not database errors.
    assert!(users.create_user(conn, "", None, None).await.is_err());
    assert!(
        users
            .create_user(conn, "bad name!", None, None)
            .await
            .is_err()
    );
    // A very long password is refused quickly, not hashed for ever.
    let long = "x".repeat(1 << 20);
    assert!(
        authenticate(conn, &Credentials::new("alice", long))
            .await
            .expect("auth")
            .is_none()
    );
}

async fn outdated_hashes_are_upgraded_on_login(db: &TestDb) {
    let conn = db.conn();
    migrate(conn).await;
    let old = Hashers::default()
        .make_with("pbkdf2_sha256", "s3cret-password")
        .expect("pbkdf2 hash");
    let users = UserManager::new();
    let bob = users
        .create_user(conn, "bob", None, None)
        .await
        .expect("bob");
    let mut active = bob.into_active_model();
    active.password = Set(old.clone());
    let bob = active.update(conn).await.expect("old hash");
    assert!(bob.password.starts_with("pbkdf2_sha256$"));

    let logged_in = authenticate(conn, &Credentials::new("bob", "s3cret-password"))
        .await
        .expect("auth")
        .expect("bob logs in with his old hash");
    assert!(
        logged_in.password.starts_with("argon2$"),
        "{}",
        logged_in.password
    );
    let stored = user::Entity::find_by_id(bob.id)
        .one(conn)
        .await
        .expect("find")
        .expect("bob");
    assert!(
        stored.password.starts_with("argon2$"),
        "the upgrade is saved"
    );
    assert!(
        authenticate(conn, &Credentials::new("bob", "s3cret-password"))
            .await
            .expect("auth")
            .is_some()
    );
}

async fn permissions_come_from_user_and_groups_in_one_load(db: &TestDb) {
    let conn = db.conn();
    migrate(conn).await;
    let post = ensure_model_permissions(conn, "blog", "Post", "post")
        .await
        .expect("perms");
    ensure_model_permissions(conn, "blog", "Post", "post")
        .await
        .expect("idempotent");
    ensure_model_permissions(conn, "shop", "order", "order")
        .await
        .expect("perms");
    // From an entity: `blog_post` in app `blog` is the model `post`.
    let ct = batteries::auth::permissions::ensure_entity_permissions::<
        batteries_tests::entities::post::Entity,
        _,
    >(conn, "blog")
    .await
    .expect("entity perms");
    assert_eq!((ct.app_label.as_str(), ct.model.as_str()), ("blog", "post"));
    assert_eq!(ct.id, post.id, "the same content type as before");
    let blog_perms = permission::Entity::find()
        .filter(permission::Column::ContentTypeId.eq(post.id))
        .count(conn)
        .await
        .expect("count");
    assert_eq!(blog_perms, 4);
    let named = permission::Entity::find()
        .filter(permission::Column::Codename.eq("add_post"))
        .one(conn)
        .await
        .expect("find")
        .expect("add_post");
    assert_eq!(named.name, "Can add post");

    let users = UserManager::new();
    let erin = users
        .create_user(conn, "erin", None, Some("erin password 1"))
        .await
        .expect("erin");
    let perm_id = |codename: &'static str| async move {
        permission::Entity::find()
            .filter(permission::Column::Codename.eq(codename))
            .one(conn)
            .await
            .expect("find")
            .expect(codename)
            .id
    };
    user_permissions::ActiveModel {
        user_id: Set(erin.id),
        permission_id: Set(perm_id("add_post").await),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("direct perm");
    let editors = group::ActiveModel {
        name: Set("editors".into()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("group");
    group_permissions::ActiveModel {
        group_id: Set(editors.id),
        permission_id: Set(perm_id("change_post").await),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("group perm");
    user_groups::ActiveModel {
        user_id: Set(erin.id),
        group_id: Set(editors.id),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("membership");

    let perms = Permissions::load(conn, &erin).await.expect("load");
    assert!(perms.has_perm("blog.add_post"), "direct");
    assert!(perms.has_perm("blog.change_post"), "through the group");
    assert!(!perms.has_perm("blog.delete_post"));
    assert!(!perms.has_perm("shop.view_order"));
    assert!(perms.has_perms(["blog.add_post", "blog.change_post"]));
    assert!(!perms.has_perms(["blog.add_post", "blog.delete_post"]));
    assert!(perms.has_module_perms("blog"));
    assert!(!perms.has_module_perms("shop"));
    assert_eq!(
        perms.all().iter().map(String::as_str).collect::<Vec<_>>(),
        ["blog.add_post", "blog.change_post"]
    );

    let root = users
        .create_superuser(conn, "root", None, Some("root password 1"))
        .await
        .expect("root");
    let root_perms = Permissions::load(conn, &root).await.expect("load");
    assert!(root_perms.has_perm("shop.delete_order") && root_perms.has_module_perms("anything"));

    let mut inactive = erin.clone().into_active_model();
    inactive.is_active = Set(false);
    let erin = inactive.update(conn).await.expect("deactivate");
    let none = Permissions::load(conn, &erin).await.expect("load");
    assert!(!none.has_perm("blog.add_post") && !none.has_module_perms("blog"));
}

fn django(python: &std::path::Path, args: &[&str]) -> Value {
    let output = Command::new(python)
        .arg(batteries_tests::workspace_root().join("tests/django/auth_db.py"))
        .args(args)
        .output()
        .expect("run auth_db.py");
    assert!(
        output.status.success(),
        "auth_db.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from auth_db.py")
}

async fn a_database_django_migrated_works_both_ways(db: &TestDb) {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    // Django needs a database it can open too: a file for SQLite, which Django creates
    // and migrates before batteries opens it.
    let dir = std::env::temp_dir().join(format!(
        "batteries-auth-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let url = match db.backend() {
        Backend::Sqlite => {
            std::fs::create_dir_all(&dir).expect("dir");
            let path = dir.join("django.sqlite3");
            format!("sqlite://{}", path.display())
        }
        _ => db.url().expect("server url"),
    };
    let setup = django(&python, &["setup", &url]);
    assert_eq!(setup["alice_hash_algorithm"], "pbkdf2_sha256");
    let conn = match db.backend() {
        Backend::Sqlite => batteries::orm::db::connect(&format!("{url}?mode=rw"))
            .await
            .expect("sqlite file"),
        _ => db.conn().clone(),
    };

    // Our migrations find Django's tables and leave them alone.
    migrate(&conn).await;

    // Django's users log in here, with Django's permissions, and are upgraded to argon2.
    let alice = authenticate(&conn, &Credentials::new("alice", "alice-secret-1"))
        .await
        .expect("auth")
        .expect("alice logs in through batteries");
    assert!(alice.password_hash().starts_with("argon2$"));
    let perms = Permissions::load(&conn, &alice).await.expect("load");
    assert_eq!(
        perms.all().iter().map(String::as_str).collect::<Vec<_>>(),
        ["auth.add_group", "auth.view_user"]
    );
    assert!(
        authenticate(&conn, &Credentials::new("alice", "wrong"))
            .await
            .expect("auth")
            .is_none()
    );
    assert!(
        authenticate(&conn, &Credentials::new("carol", "carol-secret-1"))
            .await
            .expect("auth")
            .is_none()
    );
    let root = authenticate(&conn, &Credentials::new("root", "root-secret-1"))
        .await
        .expect("auth")
        .expect("root");
    assert!(
        Permissions::load(&conn, &root)
            .await
            .expect("load")
            .has_perm("anything.at_all")
    );

    // Users we create, and alice's upgraded hash, log in through Django.
    UserManager::new()
        .create_user(&conn, "bob", Some("bob@example.com"), Some("bob-secret-1"))
        .await
        .expect("bob");
    let bob = django(&python, &["check", &url, "bob", "bob-secret-1"]);
    assert_eq!(bob["authenticated"], true, "{bob}");
    assert_eq!(bob["algorithm"], "argon2");
    let alice = django(&python, &["check", &url, "alice", "alice-secret-1"]);
    assert_eq!(alice["authenticated"], true, "{alice}");
    assert_eq!(alice["algorithm"], "argon2");
    assert_eq!(
        alice["permissions"],
        serde_json::json!(["auth.add_group", "auth.view_user"])
    );
    let wrong = django(&python, &["check", &url, "bob", "not-it"]);
    assert_eq!(wrong["authenticated"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}
