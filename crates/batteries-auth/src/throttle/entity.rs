//! `batteries_login_throttle`: the table of [`DatabaseThrottleStore`](super::DatabaseThrottleStore), one
//! row per throttled key. Created by [`migration()`](super::migration).

use sea_orm::entity::prelude::*;

/// A row of `batteries_login_throttle`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batteries_login_throttle")]
pub struct Model {
    /// `user:<sha-256 of the case-folded username, hex>` or `ip:<address>`.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(100))"
    )]
    pub throttle_key: String,
    /// Times of the latest failures within the window, oldest first, as comma-separated
    /// milliseconds since the Unix epoch; at most the limit's `max_failures` of them.
    #[sea_orm(column_type = "Text")]
    pub failures: String,
    /// Lockouts imposed since the key was last quiet for a whole window.
    pub lockouts: i32,
    /// When the latest lockout ends, in milliseconds since the Unix epoch.
    pub locked_until: Option<i64>,
    /// When the row may be deleted, in milliseconds since the Unix epoch.
    pub expires_at: i64,
}

/// The table has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
