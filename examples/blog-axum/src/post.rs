//! The `blog_post` table.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A blog post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "blog_post")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Title.
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub title: String,
    /// URL slug, unique.
    #[sea_orm(column_type = "String(StringLen::N(200))", unique)]
    pub slug: String,
    /// Markdown body.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Whether the post is public.
    pub published: bool,
    /// When it was written.
    pub created: DateTimeUtc,
}

/// No relations yet: comments and tags come with later issues.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
