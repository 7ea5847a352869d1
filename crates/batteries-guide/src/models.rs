//! The entities the guide's snippets share, behind their hidden `# ` lines: a blog's
//! posts and a library's authors, books, tags and reviews. Plain SeaORM entities, as
//! an application would write them.

/// `blog_post`: a blog post, as in the quickstart (plus a body, an author and views).
pub mod post {
    use sea_orm::entity::prelude::*;

    /// A post.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "blog_post")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Title.
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub title: String,
        /// Text.
        #[sea_orm(column_type = "Text")]
        pub body: String,
        /// The author's username.
        #[sea_orm(column_type = "String(StringLen::N(150))")]
        pub author: String,
        /// Shown to readers.
        pub published: bool,
        /// Creation time.
        pub created: DateTimeUtc,
        /// Page views.
        pub views: i32,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `library_author`.
pub mod author {
    use sea_orm::entity::prelude::*;

    /// An author.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_author")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// Name.
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub name: String,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The author's books.
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

/// `library_book`.
pub mod book {
    use sea_orm::entity::prelude::*;

    /// A book.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_book")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// The author.
        #[sea_orm(indexed)]
        pub author_id: i32,
        /// Title.
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub title: String,
        /// ISBN-13.
        #[sea_orm(column_type = "String(StringLen::N(20))", unique)]
        pub isbn: String,
        /// Summary.
        #[sea_orm(column_type = "Text")]
        pub summary: String,
        /// `draft`, `published` or `archived`.
        #[sea_orm(column_type = "String(StringLen::N(10))")]
        pub status: String,
        /// Price.
        #[sea_orm(column_type = "Decimal(Some((8, 2)))")]
        pub price: Decimal,
        /// In stock.
        pub in_stock: bool,
        /// Publication date.
        pub published_on: Option<Date>,
        /// When it was added.
        pub added: DateTimeUtc,
        /// Set when the book is created.
        pub uuid: Uuid,
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
        /// The reviews.
        #[sea_orm(has_many = "super::review::Entity")]
        Review,
    }

    impl Related<super::author::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Author.def()
        }
    }

    impl Related<super::review::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Review.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `library_review`: a book's reviews (an inline of the book).
pub mod review {
    use sea_orm::entity::prelude::*;

    /// A review.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_review")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// The book.
        pub book_id: i32,
        /// Text.
        #[sea_orm(column_type = "Text")]
        pub text: String,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The book.
        #[sea_orm(
            belongs_to = "super::book::Entity",
            from = "Column::BookId",
            to = "super::book::Column::Id",
            on_delete = "Cascade"
        )]
        Book,
    }

    impl Related<super::book::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Book.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `library_tag`: a tag with a unique slug.
pub mod tag {
    use sea_orm::entity::prelude::*;

    /// A tag.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_tag")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// Unique slug.
        #[sea_orm(column_type = "String(StringLen::N(100))", unique)]
        pub slug: String,
        /// Label.
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub label: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `library_book_tags`: the many-to-many join of books and tags.
pub mod book_tags {
    use sea_orm::entity::prelude::*;

    /// A book's tag.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "library_book_tags")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// The book.
        pub book_id: i32,
        /// The tag.
        pub tag_id: i32,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The book.
        #[sea_orm(
            belongs_to = "super::book::Entity",
            from = "Column::BookId",
            to = "super::book::Column::Id",
            on_delete = "Cascade"
        )]
        Book,
        /// The tag.
        #[sea_orm(
            belongs_to = "super::tag::Entity",
            from = "Column::TagId",
            to = "super::tag::Column::Id",
            on_delete = "Cascade"
        )]
        Tag,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `accounts_account`: the custom user model of the guide's "Custom user models"
/// chapter (log in by e-mail), with its loader and backend as the chapter writes them.
pub mod account {
    use async_trait::async_trait;
    use batteries::auth::hashers::{Hashers, PasswordCheck};
    use batteries::auth::{AuthBackend, AuthUser, Credentials, Permissions, UserLoader};
    use sea_orm::entity::prelude::*;

    /// An account.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts_account")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The login.
        #[sea_orm(unique)]
        pub email: String,
        /// Django's encoded password hash.
        pub password: String,
        /// May log in.
        pub is_active: bool,
        /// May use the admin.
        pub is_staff: bool,
        /// Has every permission.
        pub is_superuser: bool,
        /// Last login.
        pub last_login: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl AuthUser for Model {
        fn pk_string(&self) -> String {
            self.id.to_string()
        }
        fn username(&self) -> &str {
            &self.email
        }
        fn password_hash(&self) -> &str {
            &self.password
        }
        fn email(&self) -> &str {
            &self.email
        }
        fn is_active(&self) -> bool {
            self.is_active
        }
        fn is_staff(&self) -> bool {
            self.is_staff
        }
        fn is_superuser(&self) -> bool {
            self.is_superuser
        }
        fn last_login(&self) -> Option<DateTimeUtc> {
            self.last_login
        }
    }

    /// The accounts' [`UserLoader`] and [`AuthBackend`].
    #[derive(Clone)]
    pub struct Accounts {
        /// The database.
        pub db: DatabaseConnection,
        /// How passwords are checked.
        pub hashers: Hashers,
    }

    #[async_trait]
    impl UserLoader for Accounts {
        type User = Model;

        async fn load_user(&self, pk: &str) -> batteries::core::Result<Option<Model>> {
            let Ok(id) = pk.parse::<i64>() else {
                return Ok(None);
            };
            let found = Entity::find_by_id(id).one(&self.db).await;
            Ok(found
                .map_err(batteries::core::Error::unavailable)?
                .filter(|a| a.is_active))
        }

        async fn load_permissions(&self, user: &Model) -> batteries::core::Result<Permissions> {
            Ok(batteries::auth::permissions::load(&self.db, user).await?)
        }
    }

    #[async_trait]
    impl AuthBackend<Model> for Accounts {
        async fn authenticate(
            &self,
            credentials: &Credentials,
        ) -> batteries::auth::Result<Option<Model>> {
            let found = Entity::find()
                .filter(Column::Email.eq(credentials.username.as_str()))
                .one(&self.db)
                .await?;
            let Some(found) = found else {
                self.hashers
                    .dummy_verify_async(credentials.password.clone())
                    .await?;
                return Ok(None);
            };
            let check = self
                .hashers
                .verify_async(credentials.password.clone(), found.password.clone())
                .await?;
            Ok(match check {
                PasswordCheck::Valid { .. } if found.is_active => Some(found),
                _ => None,
            })
        }
    }
}
