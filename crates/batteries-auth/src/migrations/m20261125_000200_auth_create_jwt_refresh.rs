//! A migration that does nothing, under the name of the one that created the JWT
//! refresh-token table when JWT was part of batteries-auth.
//!
//! Databases migrated then have `m20261125_000200_auth_create_jwt_refresh` recorded as
//! applied, and SeaORM's migrator refuses applied migrations it does not know: keeping
//! the name lets them migrate as before, whether or not the application uses JWT. The
//! table itself now comes from `batteries-jwt`'s own migrations
//! (`m20261208_000001_jwt_create_refresh`, which creates it only if it is missing), and
//! only where the database refresh store is used.

use sea_orm_migration::prelude::*;

pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261125_000200_auth_create_jwt_refresh"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
