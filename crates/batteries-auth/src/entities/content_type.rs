//! `django_content_type`: one row per model, the owner of its permissions.

use sea_orm::entity::prelude::*;

/// A row of `django_content_type`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "django_content_type")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The app (`blog`); unique together with `model`.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub app_label: String,
    /// The model name in lower case (`post`).
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub model: String,
}

/// No relations are declared.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
