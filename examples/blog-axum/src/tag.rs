//! The `blog_tag` table.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A tag; posts have many, through `blog_post_tag`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "blog_tag")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The name shown, unique.
    #[sea_orm(column_type = "String(StringLen::N(100))", unique)]
    pub name: String,
    /// The URL name (`/tags/{slug}`), unique.
    #[sea_orm(column_type = "String(StringLen::N(100))", unique)]
    pub slug: String,
}

/// A tag's rows in the join table.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The join table's rows.
    #[sea_orm(has_many = "super::post_tag::Entity")]
    PostTag,
}

impl Related<super::post_tag::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTag.def()
    }
}

/// Many-to-many: the tag's posts, through `blog_post_tag`.
impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        super::post_tag::Relation::Post.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::post_tag::Relation::Tag.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
