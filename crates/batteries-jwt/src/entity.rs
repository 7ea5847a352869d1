//! `batteries_jwt_refresh`: the table of [`DatabaseRefreshStore`](crate::DatabaseRefreshStore),
//! one row per issued refresh token. Created by [`migration()`](crate::migration).

use sea_orm::entity::prelude::*;

/// A row of `batteries_jwt_refresh`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batteries_jwt_refresh")]
pub struct Model {
    /// The token's `jti`.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub jti: String,
    /// The family: every token rotated from one login shares it.
    #[sea_orm(column_type = "String(StringLen::N(64))", indexed)]
    pub family: String,
    /// The subject (user id) the token was issued to.
    #[sea_orm(column_type = "String(StringLen::N(255))", indexed)]
    pub subject: String,
    /// When the token expires, in milliseconds since the Unix epoch.
    #[sea_orm(indexed)]
    pub expires_at: i64,
    /// When the token was exchanged for its successor, in milliseconds since the Unix
    /// epoch; `NULL` while unused.
    pub used_at: Option<i64>,
    /// Whether the token's family was revoked.
    pub revoked: bool,
}

/// The table has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
