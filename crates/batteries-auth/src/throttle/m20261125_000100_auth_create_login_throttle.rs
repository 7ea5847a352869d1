//! Creates `batteries_login_throttle`, the table of the database throttle store.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{Index, Table};

pub(super) struct Migration;

const TABLE: &str = "batteries_login_throttle";
const EXPIRES_INDEX: &str = "batteries_login_throttle_expires_at_idx";

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261125_000100_auth_create_login_throttle"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `CREATE INDEX IF NOT EXISTS` is not MySQL's: check for the table instead.
        if manager.has_table(TABLE).await? {
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(
                        ColumnDef::new("throttle_key")
                            .string_len(100)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("failures").text().not_null())
                    .col(ColumnDef::new("lockouts").integer().not_null())
                    .col(ColumnDef::new("locked_until").big_integer().null())
                    .col(ColumnDef::new("expires_at").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        // For purging expired rows.
        manager
            .create_index(
                Index::create()
                    .name(EXPIRES_INDEX)
                    .table(TABLE)
                    .col("expires_at")
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
