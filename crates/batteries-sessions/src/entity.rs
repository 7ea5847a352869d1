//! `batteries_session`: the table of [`DatabaseSessionStore`](crate::DatabaseSessionStore), with the
//! columns of Django's `django_session`. Created by [`migration()`](crate::migration).

use sea_orm::entity::prelude::*;

/// A row of `batteries_session`: one session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batteries_session")]
pub struct Model {
    /// The session key the cookie carries: 32 characters of `[a-z0-9]`.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(40))"
    )]
    pub session_key: String,
    /// The session's data, a JSON object.
    #[sea_orm(column_type = "Text")]
    pub session_data: String,
    /// When the session expires (to the millisecond); indexed for `clear_expired`.
    pub expire_date: DateTimeUtc,
}

/// The table has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
