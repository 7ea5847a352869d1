//! Creates `batteries_session`, the table of the database session store, with the
//! columns of Django's `django_session`.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{Index, Table};

pub(crate) struct Migration;

const TABLE: &str = "batteries_session";
const EXPIRE_INDEX: &str = "batteries_session_expire_date_idx";

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261125_000300_auth_create_session"
    }
}

/// Django's `DateTimeField`: `timestamp with time zone` on PostgreSQL, `datetime(6)` on
/// MySQL (whose plain `datetime` drops the fraction of a second), `datetime` on SQLite.
fn datetime(backend: DbBackend, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DbBackend::Postgres => col.timestamp_with_time_zone(),
        DbBackend::MySql => col.custom("datetime(6)"),
        _ => col.custom("datetime"),
    };
    col
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `CREATE INDEX IF NOT EXISTS` is not MySQL's: check for the table instead.
        if manager.has_table(TABLE).await? {
            return Ok(());
        }
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(
                        ColumnDef::new("session_key")
                            .string_len(40)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("session_data").text().not_null())
                    .col(datetime(backend, "expire_date").not_null().to_owned())
                    .to_owned(),
            )
            .await?;
        // For loading only live sessions and for clearing expired ones.
        manager
            .create_index(
                Index::create()
                    .name(EXPIRE_INDEX)
                    .table(TABLE)
                    .col("expire_date")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).if_exists().to_owned())
            .await
    }
}
