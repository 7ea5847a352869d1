//! The migration creating the admin's history table, Django's `django_admin_log`.
//!
//! The table refers to `auth_user` and `django_content_type`, which
//! `batteries-auth`'s migrations create, so compose this set **after**
//! `batteries_auth::migrations::migrations()`: sea-orm-migration applies pending
//! migrations in the order the `Migrator` lists them (not by name), and
//! [`compose`](batteries_orm::migration::compose) keeps the order of its sets. In the
//! wrong order the migration fails with a message saying so, before creating anything.
//! Adding this set to a `Migrator` that already ran `batteries-auth`'s migrations is
//! fine: only the pending ones run.
//!
//! On a database that Django already migrated the table exists and the migration
//! changes nothing.
//!
//! ```
//! use batteries_orm::migration::{MigrationSet, compose};
//! use sea_orm_migration::{MigrationTrait, MigratorTrait};
//!
//! struct Migrator;
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         compose([
//!             batteries_auth::migrations::migrations(),
//!             batteries_admin::migrations::migrations(),
//!             MigrationSet::new("my-app"),
//!         ])
//!         .expect("unique migration names")
//!     }
//! }
//! # assert_eq!(
//! #     Migrator::migrations().last().map(|m| m.name().to_owned()).as_deref(),
//! #     Some("m20261125_000001_admin_create_log")
//! # );
//! ```

use batteries_orm::migration::MigrationSet;

mod m20261125_000001_admin_create_log;

/// The migrations of `batteries-admin`, in order: `django_admin_log` (Django's
/// `admin.0001`..`0003`). Compose after `batteries_auth::migrations::migrations()`.
pub fn migrations() -> MigrationSet {
    MigrationSet::new("batteries-admin").with(m20261125_000001_admin_create_log::Migration)
}

#[cfg(test)]
mod tests {
    use batteries_orm::migration::compose;
    use sea_orm::{ConnectionTrait, Database, DbErr};
    use sea_orm_migration::{MigrationTrait, MigratorTrait, SchemaManager};

    struct AdminFirst;
    impl MigratorTrait for AdminFirst {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            compose([
                super::migrations(),
                batteries_auth::migrations::migrations(),
            ])
            .unwrap()
        }
    }

    struct AuthFirst;
    impl MigratorTrait for AuthFirst {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            compose([
                batteries_auth::migrations::migrations(),
                super::migrations(),
            ])
            .unwrap()
        }
    }

    #[tokio::test]
    async fn composed_before_auth_it_fails_saying_so() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let err = AdminFirst::up(&db, None).await.unwrap_err();
        let DbErr::Migration(message) = err else {
            panic!("expected a migration error, got {err:?}");
        };
        assert!(
            message.contains("compose batteries_auth::migrations::migrations() before"),
            "{message}"
        );
        assert!(
            !SchemaManager::new(&db)
                .has_table("django_admin_log")
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn after_auth_it_creates_the_table_and_goes_down_again() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        AuthFirst::up(&db, None).await.unwrap();
        let manager = SchemaManager::new(&db);
        assert!(manager.has_table("django_admin_log").await.unwrap());
        for index in [
            "django_admin_log_content_type_id_c4bce8eb",
            "django_admin_log_user_id_c564eba6",
        ] {
            assert!(
                manager.has_index("django_admin_log", index).await.unwrap(),
                "{index}"
            );
        }
        // Django's CHECK constraint keeps the flag non-negative.
        let ann = batteries_auth::UserManager::new()
            .create_user(&db, "ann", None, None)
            .await
            .unwrap();
        let insert = |flag: i32| {
            format!(
                "INSERT INTO django_admin_log (action_time, object_repr, action_flag, \
                 change_message, user_id) VALUES ('2024-01-01 00:00:00', 'x', {flag}, '', {})",
                ann.id
            )
        };
        assert!(db.execute_unprepared(&insert(-1)).await.is_err());
        db.execute_unprepared(&insert(1)).await.unwrap();
        AuthFirst::down(&db, Some(1)).await.unwrap();
        assert!(!manager.has_table("django_admin_log").await.unwrap());
        assert!(manager.has_table("auth_user").await.unwrap());
    }
}
