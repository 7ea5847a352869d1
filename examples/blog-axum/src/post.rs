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

/// A post has comments, and tags through `blog_post_tag`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The post's comments.
    #[sea_orm(has_many = "super::comment::Entity")]
    Comment,
    /// The post's rows in the join table.
    #[sea_orm(has_many = "super::post_tag::Entity")]
    PostTag,
}

impl Related<super::comment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Comment.def()
    }
}

impl Related<super::post_tag::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTag.def()
    }
}

/// Many-to-many: the post's tags, through `blog_post_tag`.
impl Related<super::tag::Entity> for Entity {
    fn to() -> RelationDef {
        super::post_tag::Relation::Tag.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::post_tag::Relation::Post.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
