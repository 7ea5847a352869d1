//! The `blog_comment` table: readers' comments, shown once a moderator approves them.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A comment on a post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "blog_comment")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The post commented on; deleting the post deletes its comments.
    pub post_id: i64,
    /// Who wrote it (the reader's username).
    #[sea_orm(column_type = "String(StringLen::N(150))")]
    pub author: String,
    /// What they wrote, as plain text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When it was written.
    pub created: DateTimeUtc,
    /// Whether a moderator approved it; only approved comments are public.
    pub approved: bool,
}

/// A comment belongs to a post.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The post.
    #[sea_orm(
        belongs_to = "super::post::Entity",
        from = "Column::PostId",
        to = "super::post::Column::Id",
        on_delete = "Cascade"
    )]
    Post,
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
