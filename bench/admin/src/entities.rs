//! The test site's `library_author` and `library_book` (`tests/src/admin_app.rs`),
//! copied: this crate does not depend on the tests crate. `library_review` is left out.

/// `library_author`.
pub mod author {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_author")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(column_type = "String(StringLen::N(100))", unique)]
        pub name: String,
        #[sea_orm(column_type = "Text", nullable)]
        pub bio: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::book::Entity")]
        Book,
    }

    impl Related<super::book::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Book.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `library_book`: one column of each type the admin edits.
pub mod book {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_book")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(indexed)]
        pub author_id: i32,
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub title: String,
        #[sea_orm(column_type = "String(StringLen::N(20))", unique)]
        pub isbn: String,
        #[sea_orm(column_type = "Text")]
        pub summary: String,
        #[sea_orm(column_type = "String(StringLen::N(10))")]
        pub status: String,
        pub pages: Option<i32>,
        #[sea_orm(column_type = "Decimal(Some((8, 2)))")]
        pub price: Decimal,
        pub rating: Option<f64>,
        pub in_stock: bool,
        pub featured: Option<bool>,
        pub published_on: Option<Date>,
        pub added: DateTimeUtc,
        pub reading_time: Option<Time>,
        pub uuid: Uuid,
        pub metadata: Option<Json>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::author::Entity",
            from = "Column::AuthorId",
            to = "super::author::Column::Id",
            on_delete = "Cascade"
        )]
        Author,
    }

    impl Related<super::author::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Author.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}
