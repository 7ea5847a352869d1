//! Composing the migrations of several batteries with the application's.

use batteries::orm::Error;
use batteries::orm::migration::{MigrationSet, compose};
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use sea_orm_migration::prelude::*;

/// A migration creating a one-column table, named after it.
macro_rules! create_table_migration {
    ($name:ident, $table:literal) => {
        #[allow(non_camel_case_types)]
        struct $name;

        // `DeriveMigrationName` names a migration after its file; these share one.
        impl MigrationName for $name {
            fn name(&self) -> &str {
                stringify!($name)
            }
        }

        #[async_trait::async_trait]
        impl MigrationTrait for $name {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                manager
                    .create_table(
                        Table::create()
                            .table($table)
                            .col(ColumnDef::new("id").integer().not_null().primary_key())
                            .to_owned(),
                    )
                    .await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                manager
                    .drop_table(Table::drop().table($table).to_owned())
                    .await
            }
        }
    };
}

create_table_migration!(m20261125_000001_auth_create_user, "auth_user");
create_table_migration!(m20261125_000002_auth_create_group, "auth_group");
create_table_migration!(m20261125_000001_admin_create_log, "admin_log");
create_table_migration!(m20261201_000001_blog_create_post, "blog_post");

struct AppMigrator;

impl MigratorTrait for AppMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        compose([
            MigrationSet::new("batteries-auth")
                .with(m20261125_000001_auth_create_user)
                .with(m20261125_000002_auth_create_group),
            MigrationSet::new("batteries-admin").with(m20261125_000001_admin_create_log),
            MigrationSet::new("blog").with(m20261201_000001_blog_create_post),
        ])
        .expect("unique names")
    }
}

backend_tests!(composed_migrations_run_in_order_and_roll_back);

async fn composed_migrations_run_in_order_and_roll_back(db: &TestDb) {
    let conn = db.conn();
    AppMigrator::up(conn, None).await.expect("up");
    let applied: Vec<String> = AppMigrator::get_applied_migrations(conn)
        .await
        .expect("status")
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(
        applied,
        [
            "m20261125_000001_auth_create_user",
            "m20261125_000002_auth_create_group",
            "m20261125_000001_admin_create_log",
            "m20261201_000001_blog_create_post",
        ]
    );
    let manager = SchemaManager::new(conn);
    for table in ["auth_user", "auth_group", "admin_log", "blog_post"] {
        assert!(
            manager.has_table(table).await.expect("has_table"),
            "{table}"
        );
    }
    // Running again is a no-op.
    AppMigrator::up(conn, None).await.expect("up again");
    AppMigrator::down(conn, None).await.expect("down");
    for table in ["auth_user", "auth_group", "admin_log", "blog_post"] {
        assert!(
            !manager.has_table(table).await.expect("has_table"),
            "{table}"
        );
    }
}

#[test]
fn duplicate_names_are_refused_naming_both_owners() {
    let err = compose([
        MigrationSet::new("batteries-auth").with(m20261125_000001_auth_create_user),
        MigrationSet::new("my-app").with(m20261125_000001_auth_create_user),
    ])
    .err()
    .expect("duplicate");
    assert!(matches!(err, Error::DuplicateMigration { .. }));
    assert_eq!(
        err.to_string(),
        "duplicate migration name `m20261125_000001_auth_create_user` (contributed by batteries-auth and my-app)"
    );
}
