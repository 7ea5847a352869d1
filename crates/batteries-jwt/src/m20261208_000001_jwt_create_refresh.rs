//! Creates `batteries_jwt_refresh`, the table of the database refresh-token store,
//! unless it exists: databases that ran batteries-auth's migrations before batteries-jwt
//! had its own set have it already (from `m20261125_000200_auth_create_jwt_refresh`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{Index, Table};

pub(crate) struct Migration;

const TABLE: &str = "batteries_jwt_refresh";

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261208_000001_jwt_create_refresh"
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
                        ColumnDef::new("jti")
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("family").string_len(64).not_null())
                    .col(ColumnDef::new("subject").string_len(255).not_null())
                    .col(ColumnDef::new("expires_at").big_integer().not_null())
                    .col(ColumnDef::new("used_at").big_integer().null())
                    .col(
                        ColumnDef::new("revoked")
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        // Purging expired rows, revoking a family, revoking a subject's families.
        for column in ["expires_at", "family", "subject"] {
            manager
                .create_index(
                    Index::create()
                        .name(format!("{TABLE}_{column}_idx"))
                        .table(TABLE)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).if_exists().to_owned())
            .await
    }
}
