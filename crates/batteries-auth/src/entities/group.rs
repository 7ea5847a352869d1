//! `auth_group`.

use sea_orm::entity::prelude::*;

/// A row of `auth_group`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_group")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Unique name.
    #[sea_orm(column_type = "String(StringLen::N(150))", unique)]
    pub name: String,
}

/// No relations are declared; the join tables are queried directly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
