//! `auth_permission`: `app_label.codename`, through the content type.

use sea_orm::entity::prelude::*;

/// A row of `auth_permission`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_permission")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Human-readable name (`Can add post`).
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    /// The model the permission is about.
    pub content_type_id: i32,
    /// Machine name (`add_post`); unique together with the content type.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub codename: String,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The content type.
    #[sea_orm(
        belongs_to = "super::content_type::Entity",
        from = "Column::ContentTypeId",
        to = "super::content_type::Column::Id"
    )]
    ContentType,
}

impl ActiveModelBehavior for ActiveModel {}
