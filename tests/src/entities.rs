//! Entities mirroring `tests/django/blog/models.py` (Django's `blog_author` and
//! `blog_post` tables), plus a `blog_tag` for `get_or_create` races.

/// `blog.Author`.
pub mod author {
    use sea_orm::entity::prelude::*;

    /// An author.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "blog_author")]
    pub struct Model {
        /// Django's `BigAutoField`.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `CharField(max_length=100)`.
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub name: String,
        /// `EmailField(blank=True)`.
        #[sea_orm(column_type = "String(StringLen::N(254))")]
        pub email: String,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Posts by this author.
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `blog.Post`.
pub mod post {
    use sea_orm::entity::prelude::*;

    /// A post.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "blog_post")]
    pub struct Model {
        /// Django's `BigAutoField`.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `ForeignKey(Author)`: the field `author` in fixtures.
        pub author_id: i64,
        /// `CharField(max_length=200)`.
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub title: String,
        /// `SlugField(unique=True)`.
        #[sea_orm(column_type = "String(StringLen::N(200))", unique)]
        pub slug: String,
        /// `TextField`.
        #[sea_orm(column_type = "Text")]
        pub body: String,
        /// `BooleanField`.
        pub published: bool,
        /// `DateTimeField` with `USE_TZ = True`.
        pub created: DateTimeUtc,
        /// `DecimalField(max_digits=5, decimal_places=2, null=True)`.
        #[sea_orm(column_type = "Decimal(Some((5, 2)))", nullable)]
        pub rating: Option<Decimal>,
        /// `IntegerField`.
        pub views: i32,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The author.
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

/// A tag with a unique slug and a use counter.
pub mod tag {
    use sea_orm::entity::prelude::*;

    /// A tag.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "blog_tag")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// Unique slug: the `get_or_create` lookup.
        #[sea_orm(column_type = "String(StringLen::N(100))", unique)]
        pub slug: String,
        /// Display label.
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub label: String,
        /// How often it was used.
        pub uses: i32,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
