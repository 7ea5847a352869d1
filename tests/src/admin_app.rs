//! The admin test site: a small library (authors, books, reviews, tags) whose columns cover
//! every type the admin edits, registered with most `ModelAdmin` options, served on
//! axum behind the session, auth, CSRF and security-header layers. Books have tags (a
//! many-to-many with `filter_horizontal`), also edited from the tag's page as an inline of
//! the join rows whose book is a raw-id field; auth groups are registered with their
//! permissions the same way.
//!
//! Users (password [`PASSWORD`]): `admin` (superuser), `editor` (staff; view, add and
//! change books, view authors), `viewer` (staff; view books only), `outsider` (not
//! staff).

#![allow(clippy::missing_panics_doc)]

use std::net::SocketAddr;

use batteries::admin::{Admin, AdminSite, Inline, ManyToMany, ModelAdmin};
use batteries::auth::entities::{group, group_permissions, permission, user_permissions};
use batteries::auth::sessions::{DatabaseSessionStore, SessionSecret};
use batteries::auth::{ModelBackend, UserManager};
use batteries::middleware::auth::AuthLayer;
use batteries::middleware::csrf::CsrfLayer;
use batteries::middleware::headers::{SecurityHeaders, SecurityHeadersLayer};
use batteries::middleware::session::{SessionConfig, SessionLayer};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tower::ServiceBuilder;

/// The password of every seeded user.
pub const PASSWORD: &str = "correct horse battery staple";

/// An author by this name makes the author admin's `display` hook panic (a bug in an
/// app's hook, for the panic tests); no seeded author has it.
pub const PANICKING_AUTHOR: &str = "Panicking author";

/// The entities of the `library` app.
#[allow(missing_docs)]
pub mod entities;

/// The tags [`seed_library`] adds, in id order.
pub const TAGS: &[&str] = &[
    "biography",
    "databases",
    "django",
    "fiction",
    "history",
    "python",
    "rust",
    "web",
];

use entities::{author, book, book_tags, review, tag};

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries::orm::migration::compose([
            batteries::auth::migrations::migrations(),
            batteries::admin::migrations::migrations(),
        ])
        .expect("unique migration names")
    }
}

/// Runs batteries' migrations and creates the library tables.
pub async fn setup(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("migrations");
    crate::create_table(db, author::Entity)
        .await
        .expect("author");
    crate::create_table(db, book::Entity).await.expect("book");
    crate::create_table(db, review::Entity)
        .await
        .expect("review");
    crate::create_table(db, tag::Entity).await.expect("tag");
    crate::create_table(db, book_tags::Entity)
        .await
        .expect("book_tags");
    if db.get_database_backend() == sea_orm::DbBackend::MySql {
        db.execute_unprepared("ALTER TABLE library_book MODIFY added DATETIME(6) NOT NULL")
            .await
            .expect("datetime(6)");
    }
}

/// The registrations of the test site.
pub fn site() -> AdminSite {
    site_with(&NoHooks)
}

/// What [`site_with`] does to each registration before registering it (the permission
/// matrix adds object-permission hooks this way, to the same registrations).
pub trait Decorate {
    /// The registration of `E`, changed.
    fn decorate<E: EntityTrait>(&self, admin: ModelAdmin<E>) -> ModelAdmin<E>;
}

/// Leaves registrations as they are: [`site`].
pub struct NoHooks;

impl Decorate for NoHooks {
    fn decorate<E: EntityTrait>(&self, admin: ModelAdmin<E>) -> ModelAdmin<E> {
        admin
    }
}

/// [`AdminSite::register`] of a registration passed through a [`Decorate`].
trait RegisterDecorated {
    fn register_decorated<E>(self, hooks: &impl Decorate, admin: ModelAdmin<E>) -> Self
    where
        E: EntityTrait,
        E::Model: sea_orm::FromQueryResult + sea_orm::IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + Sync;
}

impl RegisterDecorated for AdminSite {
    fn register_decorated<E>(self, hooks: &impl Decorate, admin: ModelAdmin<E>) -> Self
    where
        E: EntityTrait,
        E::Model: sea_orm::FromQueryResult + sea_orm::IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + Sync,
    {
        self.register(hooks.decorate(admin))
    }
}

/// The registrations of the test site, each passed through `hooks` first.
pub fn site_with(hooks: &impl Decorate) -> AdminSite {
    AdminSite::new()
        .register_decorated(
            hooks,
            ModelAdmin::<author::Entity>::new()
                .list_display([author::Column::Name])
                .search_fields([author::Column::Name])
                .ordering("name")
                .display(|a| {
                    assert!(
                        a.name != PANICKING_AUTHOR,
                        "display hook bug: internal detail 7f3a"
                    );
                    a.name.clone()
                }),
        )
        .register_decorated(
            hooks,
            ModelAdmin::<book::Entity>::new()
                .list_display([
                    book::Column::Title,
                    book::Column::AuthorId,
                    book::Column::Status,
                    book::Column::Price,
                    book::Column::InStock,
                    book::Column::Added,
                    book::Column::Pages,
                ])
                .computed("summary_words", "Words", |b| {
                    b.summary.split_whitespace().count().to_string()
                })
                .search_fields([book::Column::Title, book::Column::Isbn])
                .list_filter([
                    book::Column::InStock,
                    book::Column::Status,
                    book::Column::AuthorId,
                    book::Column::PublishedOn,
                ])
                .choices(
                    book::Column::Status,
                    [
                        ("draft", "Draft"),
                        ("published", "Published"),
                        ("archived", "Archived"),
                    ],
                )
                .readonly_fields([book::Column::Uuid])
                .label(book::Column::AuthorId, "Author")
                .help_text(book::Column::Isbn, "ISBN-13, digits only.")
                .list_per_page(20)
                .ordering("-added")
                .date_hierarchy(book::Column::Added)
                .list_editable([book::Column::Price, book::Column::Pages])
                .display(|b| b.title.clone())
                // Reviews edited on the book's page; "Save as new" copies a book.
                .inline(
                    Inline::<review::Entity>::tabular()
                        .admin(ModelAdmin::<review::Entity>::new().display(|r| r.body.clone()))
                        .extra(1)
                        .max_num(5),
                )
                .save_as(true)
                .many_to_many(
                    ManyToMany::<book_tags::Entity, tag::Entity>::new("tags")
                        // Named by the field itself (the tag's admin names them the
                        // same way): the delete and read-only pages then ask the field.
                        .display(|t| t.name.clone())
                        .filter_horizontal(),
                )
                .on_save(|book, change| {
                    if change {
                        return Ok(());
                    }
                    // New books get their UUID here: the form never writes it.
                    book.uuid = Set(uuid::Uuid::new_v4());
                    Ok(())
                })
                .action(
                    "mark_in_stock",
                    "Mark selected books in stock",
                    |db, books| async move {
                        let ids: Vec<i32> = books.iter().map(|b| b.id).collect();
                        let n = book::Entity::update_many()
                            .col_expr(book::Column::InStock, sea_orm::sea_query::Expr::value(true))
                            .filter(book::Column::Id.is_in(ids))
                            .exec(&db)
                            .await
                            .map_err(|e| e.to_string())?
                            .rows_affected;
                        Ok(format!("{n} books marked in stock."))
                    },
                ),
        )
        .register_decorated(
            hooks,
            ModelAdmin::<review::Entity>::new()
                .list_display([
                    review::Column::BookId,
                    review::Column::Stars,
                    review::Column::Created,
                ])
                .autocomplete_fields([review::Column::BookId])
                .list_filter([review::Column::Created])
                .display(|r| r.body.clone()),
        )
        .register_decorated(
            hooks,
            ModelAdmin::<tag::Entity>::new()
                .search_fields([tag::Column::Name])
                .ordering("name")
                .display(|t| t.name.clone())
                // The tag's books, each given by its id (a raw-id field: no list of
                // every book is loaded; the lookup link picks one from the books).
                .inline(
                    Inline::<book_tags::Entity>::tabular()
                        .admin(
                            ModelAdmin::<book_tags::Entity>::new()
                                .raw_id_fields([book_tags::Column::BookId])
                                .label(book_tags::Column::BookId, "Book"),
                        )
                        .verbose_name("tagged book", "tagged books")
                        .extra(1),
                ),
        )
        .register_decorated(
            hooks,
            ModelAdmin::<group::Entity>::new()
                .search_fields([group::Column::Name])
                .display(|g| g.name.clone())
                .many_to_many(
                    ManyToMany::<group_permissions::Entity, permission::Entity>::new("permissions")
                        .display(|p| format!("{} | {}", p.codename, p.name))
                        .filter_horizontal(),
                ),
        )
}

/// Builds the admin for `db`.
pub async fn admin(db: &DatabaseConnection, secret: &SessionSecret) -> Admin {
    site()
        .build(db.clone(), secret.clone())
        .await
        .expect("admin builds")
}

/// The secret the test site signs with.
pub fn secret() -> SessionSecret {
    SessionSecret::new("admin-test-secret-admin-test-secret-0123456789").expect("secret")
}

/// Creates the four users and their permissions (after [`setup`] and [`admin`], which
/// creates the permissions).
pub async fn seed_users(db: &DatabaseConnection) {
    let users = UserManager::new();
    users
        .create_superuser(db, "admin", Some("admin@example.com"), Some(PASSWORD))
        .await
        .expect("admin");
    for (name, perms) in [
        (
            "editor",
            &[
                "view_book",
                "add_book",
                "change_book",
                "view_author",
                "view_review",
            ][..],
        ),
        ("viewer", &["view_book"][..]),
        ("outsider", &[][..]),
    ] {
        let user = users
            .create_user(db, name, None, Some(PASSWORD))
            .await
            .expect("user");
        let mut active: batteries::auth::entities::user::ActiveModel = user.clone().into();
        active.is_staff = Set(name != "outsider");
        let user = active.update(db).await.expect("staff");
        for codename in perms {
            let perm = permission::Entity::find()
                .filter(permission::Column::Codename.eq(*codename))
                .one(db)
                .await
                .expect("query")
                .expect("permission exists");
            user_permissions::ActiveModel {
                user_id: Set(user.id),
                permission_id: Set(perm.id),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("grant");
        }
    }
}

/// Adds `authors` authors and `books` books (round-robin over the authors), with
/// `<script>` in the text of the first book, so escaping is checked everywhere.
pub async fn seed_library(db: &DatabaseConnection, authors: usize, books: usize) {
    use chrono::TimeZone as _;
    for a in 0..authors {
        author::ActiveModel {
            name: Set(format!("Author {a:03}")),
            bio: Set(if a == 0 {
                Some("<script>alert('bio')</script>".into())
            } else {
                None
            }),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("author");
    }
    let base = chrono::Utc
        .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("date");
    for b in 0..books {
        let title = if b == 0 {
            "<script>alert('xss')</script>".to_owned()
        } else {
            format!(
                "Book {b:04} about {}",
                ["rust", "django", "databases", "web"][b % 4]
            )
        };
        book::ActiveModel {
            author_id: Set((b % authors.max(1)) as i32 + 1),
            title: Set(title),
            isbn: Set(format!("978{b:010}")),
            summary: Set(format!("A summary of book {b} with some words")),
            status: Set(["draft", "published", "archived"][b % 3].to_owned()),
            pages: Set(Some(100 + b as i32)),
            price: Set(rust_decimal::Decimal::new(1999 + b as i64, 2)),
            rating: Set(if b % 2 == 0 { Some(4.5) } else { None }),
            in_stock: Set(b % 2 == 0),
            featured: Set(None),
            published_on: Set(chrono::NaiveDate::from_ymd_opt(
                2025,
                1 + (b % 12) as u32,
                1,
            )),
            // Every 29 days back from `base` (the last book), so the date hierarchy
            // has several years and months; still increasing with `b`.
            added: Set(base - chrono::Duration::days(29 * (books - 1 - b) as i64)
                + chrono::Duration::minutes(b as i64)),
            reading_time: Set(chrono::NaiveTime::from_hms_opt(2, 30, 0)),
            uuid: Set(uuid::Uuid::new_v4()),
            metadata: Set(Some(serde_json::json!({"tags": ["a", "b"], "n": b}))),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("book");
    }
    for name in TAGS {
        tag::ActiveModel {
            name: Set((*name).to_owned()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("tag");
    }
}

/// The full tower stack the tests talk to: security headers, sessions in the database,
/// the current user, CSRF, the admin at `/admin`.
pub fn router(db: &DatabaseConnection, admin: Admin, secret: &SessionSecret) -> axum::Router {
    let layers = ServiceBuilder::new()
        .layer(SecurityHeadersLayer::new(
            SecurityHeaders::new().without_hsts(),
        ))
        .layer(SessionLayer::new(
            DatabaseSessionStore::new(db.clone()),
            SessionConfig::new().with_secure(false),
        ))
        .layer(AuthLayer::new(
            ModelBackend::new(db.clone()),
            secret.clone(),
        ))
        .layer(CsrfLayer::new());
    axum::Router::new()
        .nest_service("/admin", admin)
        .layer(layers)
}

/// A running test site.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The address served.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves [`router`] on `addr` (port 0 picks one).
pub async fn serve(db: &DatabaseConnection, addr: SocketAddr) -> Running {
    let admin = admin(db, &secret()).await;
    serve_with(db, admin, addr).await
}

/// Serves [`router`] with another `admin` (a test's own registrations) on `addr`.
pub async fn serve_with(db: &DatabaseConnection, admin: Admin, addr: SocketAddr) -> Running {
    let secret = secret();
    let app = router(db, admin, &secret);
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Running { base, addr, task }
}
