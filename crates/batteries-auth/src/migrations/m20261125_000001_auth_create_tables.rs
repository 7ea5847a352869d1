//! Django's `contenttypes.0001`..`0002` and `auth.0001`..`0012`, as one migration of the
//! resulting schema.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{ForeignKey, ForeignKeyAction, Index, Table};

pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261125_000001_auth_create_tables"
    }
}

fn id() -> ColumnDef {
    ColumnDef::new("id")
        .integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn varchar(name: &'static str, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().to_owned()
}

/// Django's `DateTimeField`: `timestamp with time zone` on PostgreSQL, `datetime(6)` on
/// MySQL, `datetime` on SQLite.
fn datetime(backend: DbBackend, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DbBackend::Postgres => col.timestamp_with_time_zone(),
        DbBackend::MySql => col.custom("datetime(6)"),
        _ => col.custom("datetime"),
    };
    col
}

fn fk(
    from_table: &'static str,
    from_col: &'static str,
    to_table: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{from_table}_{from_col}_fk_{to_table}_id"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A join table `table (id, a, b)` with foreign keys, a unique pair and an index per
/// column, as Django creates for a many-to-many field.
fn join_table(
    table: &'static str,
    (a, a_table): (&'static str, &'static str),
    (b, b_table): (&'static str, &'static str),
) -> (TableCreateStatement, Vec<IndexCreateStatement>) {
    let create = Table::create()
        .table(table)
        .if_not_exists()
        .col(id())
        .col(ColumnDef::new(a).integer().not_null())
        .col(ColumnDef::new(b).integer().not_null())
        .index(
            Index::create()
                .name(format!("{table}_{a}_{b}_uniq"))
                .col(a)
                .col(b)
                .unique(),
        )
        .foreign_key(&mut fk(table, a, a_table))
        .foreign_key(&mut fk(table, b, b_table))
        .to_owned();
    let indexes = [a, b]
        .into_iter()
        .map(|col| {
            Index::create()
                .name(format!("{table}_{col}_idx"))
                .table(table)
                .col(col)
                .if_not_exists()
                .to_owned()
        })
        .collect();
    (create, indexes)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A database that Django migrated already has this schema: leave it as it is.
        if manager.has_table("auth_user").await? && manager.has_table("django_content_type").await?
        {
            return Ok(());
        }
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("django_content_type")
                    .if_not_exists()
                    .col(id())
                    .col(varchar("app_label", 100))
                    .col(varchar("model", 100))
                    .index(
                        Index::create()
                            .name("django_content_type_app_label_model_uniq")
                            .col("app_label")
                            .col("model")
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("auth_permission")
                    .if_not_exists()
                    .col(id())
                    .col(varchar("name", 255))
                    .col(ColumnDef::new("content_type_id").integer().not_null())
                    .col(varchar("codename", 100))
                    .index(
                        Index::create()
                            .name("auth_permission_content_type_id_codename_uniq")
                            .col("content_type_id")
                            .col("codename")
                            .unique(),
                    )
                    .foreign_key(&mut fk(
                        "auth_permission",
                        "content_type_id",
                        "django_content_type",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("auth_group")
                    .if_not_exists()
                    .col(id())
                    .col(varchar("name", 150).unique_key().to_owned())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("auth_user")
                    .if_not_exists()
                    .col(id())
                    .col(varchar("password", 128))
                    .col(datetime(backend, "last_login").null().to_owned())
                    .col(ColumnDef::new("is_superuser").boolean().not_null())
                    .col(varchar("username", 150).unique_key().to_owned())
                    .col(varchar("first_name", 150))
                    .col(varchar("last_name", 150))
                    .col(varchar("email", 254))
                    .col(ColumnDef::new("is_staff").boolean().not_null())
                    .col(ColumnDef::new("is_active").boolean().not_null())
                    .col(datetime(backend, "date_joined").not_null().to_owned())
                    .to_owned(),
            )
            .await?;
        for (table, a, b) in [
            (
                "auth_group_permissions",
                ("group_id", "auth_group"),
                ("permission_id", "auth_permission"),
            ),
            (
                "auth_user_groups",
                ("user_id", "auth_user"),
                ("group_id", "auth_group"),
            ),
            (
                "auth_user_user_permissions",
                ("user_id", "auth_user"),
                ("permission_id", "auth_permission"),
            ),
        ] {
            let (create, indexes) = join_table(table, a, b);
            manager.create_table(create).await?;
            for index in indexes {
                manager.create_index(index).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "auth_user_user_permissions",
            "auth_user_groups",
            "auth_group_permissions",
            "auth_user",
            "auth_group",
            "auth_permission",
            "django_content_type",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
