//! Django's `admin.0001`..`0003`: the table `django_admin_log`, as one migration of the
//! resulting schema.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{ForeignKey, ForeignKeyAction, Index, Table};

pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261125_000001_admin_create_log"
    }
}

const TABLE: &str = "django_admin_log";

/// The foreign keys and their indexes, with the names Django's `sqlmigrate admin 0001`
/// gives them: (column, referenced table, constraint, index, on delete).
///
/// Django emulates `CASCADE` and `SET_NULL` in Python; the database does it here.
const FOREIGN_KEYS: [(&str, &str, &str, &str, ForeignKeyAction); 2] = [
    (
        "content_type_id",
        "django_content_type",
        "django_admin_log_content_type_id_c4bce8eb_fk_django_co",
        "django_admin_log_content_type_id_c4bce8eb",
        ForeignKeyAction::SetNull,
    ),
    (
        "user_id",
        "auth_user",
        "django_admin_log_user_id_c564eba6_fk_auth_user_id",
        "django_admin_log_user_id_c564eba6",
        ForeignKeyAction::Cascade,
    ),
];

/// Django's `TextField`: `longtext` on MySQL, `text` elsewhere.
fn text(backend: DbBackend, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DbBackend::MySql => col.custom("longtext"),
        _ => col.text(),
    };
    col
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A database that Django migrated already has the table: leave it as it is.
        if manager.has_table(TABLE).await? {
            return Ok(());
        }
        for needed in ["auth_user", "django_content_type"] {
            if !manager.has_table(needed).await? {
                return Err(DbErr::Migration(format!(
                    "`{TABLE}` refers to `{needed}`, which does not exist yet: compose \
                     batteries_auth::migrations::migrations() before \
                     batteries_admin::migrations::migrations()"
                )));
            }
        }
        let backend = manager.get_database_backend();
        let mut action_time = ColumnDef::new("action_time");
        match backend {
            DbBackend::Postgres => action_time.timestamp_with_time_zone(),
            DbBackend::MySql => action_time.custom("datetime(6)"),
            _ => action_time.custom("datetime"),
        };
        // Django's `PositiveSmallIntegerField`.
        let mut action_flag = ColumnDef::new("action_flag");
        match backend {
            DbBackend::Postgres => action_flag.small_integer(),
            DbBackend::MySql => action_flag.custom("smallint UNSIGNED"),
            _ => action_flag.custom("smallint unsigned"),
        };
        let mut create = Table::create();
        create
            .table(TABLE)
            .if_not_exists()
            .col(
                ColumnDef::new("id")
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(action_time.not_null())
            .col(text(backend, "object_id").null())
            .col(ColumnDef::new("object_repr").string_len(200).not_null())
            .col(
                action_flag
                    .not_null()
                    .check(Expr::col("action_flag").gte(0)),
            )
            .col(text(backend, "change_message").not_null())
            .col(ColumnDef::new("content_type_id").integer().null())
            .col(ColumnDef::new("user_id").integer().not_null());
        for (column, to, constraint, _, on_delete) in FOREIGN_KEYS {
            create.foreign_key(
                ForeignKey::create()
                    .name(constraint)
                    .from(TABLE, column)
                    .to(to, "id")
                    .on_delete(on_delete),
            );
        }
        manager.create_table(create).await?;
        // InnoDB indexes a foreign key by itself, under the constraint's name: Django
        // creates these indexes on the other backends only.
        if backend != DbBackend::MySql {
            for (column, _, _, index, _) in FOREIGN_KEYS {
                manager
                    .create_index(
                        Index::create()
                            .name(index)
                            .table(TABLE)
                            .col(column)
                            .if_not_exists()
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).if_exists().to_owned())
            .await
    }
}
