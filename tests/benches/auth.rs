//! batteries-auth benchmarks: our argon2id against the argon2 crate called directly,
//! checking a Django pbkdf2 hash, and permissions of a user in 10 groups with 500
//! permissions.
//!
//! ```sh
//! cargo bench -p batteries-tests --bench auth
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does nothing.

use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use batteries::auth::entities::{group, group_permissions, permission, user_groups};
use batteries::auth::hashers::{Hashers, PasswordCheck};
use batteries::auth::permissions::ensure_model_permissions;
use batteries::auth::{Permissions, PermissionsExt as _, UserManager};
use criterion::Criterion;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

const PASSWORD: &str = "correct horse battery staple";
/// Made by Django 5.2: `make_password("password", salt="seasalt")`.
const DJANGO_PBKDF2: &str =
    "pbkdf2_sha256$1000000$seasalt$YAIKAoSUTEdxN9PnpbX3zRB+moycA+WW4OS32mkutqM=";

/// The argon2 crate alone, with the parameters and output format of our hasher:
/// 22-character salt, m=19456 KiB, t=2, p=1, 32-byte hash, Django's encoding.
fn direct_make(password: &str, salt: &str) -> String {
    let params = Params::new(19_456, 2, 1, Some(32)).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(password.as_bytes(), salt.as_bytes(), &mut out)
        .expect("hash");
    format!(
        "argon2$argon2id$v=19$m=19456,t=2,p=1${}${}",
        STANDARD_NO_PAD.encode(salt.as_bytes()),
        STANDARD_NO_PAD.encode(out)
    )
}

fn direct_check(password: &str, salt: &str, expected: &[u8; 32]) -> bool {
    let params = Params::new(19_456, 2, 1, Some(32)).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(password.as_bytes(), salt.as_bytes(), &mut out)
        .expect("hash");
    out == *expected
}

struct AuthMigrator;

impl MigratorTrait for AuthMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries::auth::migrations::migrations().into_migrations()
    }
}

/// SQLite in memory: 125 models x 4 permissions = 500, 10 groups of 50 permissions
/// each, one user in all 10 groups.
async fn permissions_fixture() -> (DatabaseConnection, batteries::auth::entities::user::Model) {
    let db = batteries::orm::db::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    AuthMigrator::up(&db, None).await.expect("migrate");
    for i in 0..125 {
        ensure_model_permissions(&db, "bench", &format!("model{i}"), &format!("model {i}"))
            .await
            .expect("permissions");
    }
    let perms = permission::Entity::find().all(&db).await.expect("perms");
    assert_eq!(perms.len(), 500);
    let user = UserManager::with_hashers(Hashers::default())
        .create_user(&db, "bench", None, None)
        .await
        .expect("user");
    for g in 0..10 {
        let grp = group::ActiveModel {
            name: Set(format!("group {g}")),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("group");
        for p in perms.iter().skip(g * 50).take(50) {
            group_permissions::ActiveModel {
                group_id: Set(grp.id),
                permission_id: Set(p.id),
                ..Default::default()
            }
            .insert(&db)
            .await
            .expect("group permission");
        }
        user_groups::ActiveModel {
            user_id: Set(user.id),
            group_id: Set(grp.id),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("membership");
    }
    (db, user)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("auth: a benchmark; run it with `cargo bench --bench auth`");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    let hashers = Hashers::default();
    let salt = "abcdefghijklmnopqrstuv";
    let ours = hashers.make(PASSWORD).expect("make");
    let direct = direct_make(PASSWORD, salt);
    let (direct_salt, direct_hash) = {
        let encoded = direct_make(PASSWORD, salt);
        assert!(hashers.verify(PASSWORD, &encoded).is_valid(), "same format");
        let mut out = [0u8; 32];
        let params = Params::new(19_456, 2, 1, Some(32)).expect("params");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(PASSWORD.as_bytes(), salt.as_bytes(), &mut out)
            .expect("hash");
        (salt, out)
    };
    assert!(direct.starts_with("argon2$argon2id$"));

    let mut g = c.benchmark_group("argon2id");
    g.bench_function("ours/make", |b| {
        b.iter(|| hashers.make(PASSWORD).expect("make"));
    });
    g.bench_function("direct/make", |b| b.iter(|| direct_make(PASSWORD, salt)));
    g.bench_function("ours/check", |b| {
        b.iter(|| {
            assert_eq!(
                hashers.verify(PASSWORD, &ours),
                PasswordCheck::Valid {
                    needs_upgrade: false
                }
            );
        });
    });
    g.bench_function("direct/check", |b| {
        b.iter(|| assert!(direct_check(PASSWORD, direct_salt, &direct_hash)));
    });
    g.finish();

    let mut g = c.benchmark_group("pbkdf2_sha256");
    g.sample_size(10);
    g.bench_function("check_django_hash", |b| {
        b.iter(|| assert!(hashers.verify("password", DJANGO_PBKDF2).is_valid()));
    });
    g.finish();

    let (db, user) = rt.block_on(permissions_fixture());
    let loaded = rt.block_on(Permissions::load(&db, &user)).expect("load");
    assert_eq!(loaded.all().len(), 500);
    let mut g = c.benchmark_group("permissions_10_groups_500_perms");
    g.bench_function("load", |b| {
        b.iter(|| rt.block_on(Permissions::load(&db, &user)).expect("load"));
    });
    g.bench_function("has_perm", |b| {
        b.iter(|| assert!(loaded.has_perm("bench.change_model77")));
    });
    g.finish();
    c.final_summary();
}
