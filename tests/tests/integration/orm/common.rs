//! Seed data shared by the filter and pagination tests.

use batteries_tests::entities::{author, post};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, Set};

use batteries::orm::filter::FilterSet;

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid test timestamp")
        .with_timezone(&Utc)
}

/// Six posts whose values exercise every lookup:
///
/// | id | author | title | published | created | rating | views |
/// | --- | --- | --- | --- | --- | --- | --- |
/// | 1 | 1 | Rust for Djangonauts | yes | 2024-01-01 | 4.50 | 10 |
/// | 2 | 1 | rust lowercase | no | 2024-02-01 | null | 0 |
/// | 3 | 2 | Django admin | yes | 2024-03-01 | 3.25 | 250 |
/// | 4 | 2 | Zoë's café ☕ | yes | 2024-03-01 | 5.00 | 99 |
/// | 5 | 1 | Percent 50% off_sale | no | 2024-04-15 08:30 | null | 7 |
/// | 6 | 2 | ASYNC RUST | yes | 2024-05-01 | 1.00 | 1000 |
/// id, author, title, slug, body, published, created, rating, views.
type PostRow = (
    i64,
    i64,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static str,
    Option<&'static str>,
    i32,
);

pub(crate) async fn seed_posts(db: &impl ConnectionTrait) {
    batteries_tests::create_blog_tables(db)
        .await
        .expect("create tables");
    for (id, name) in [(1, "Ann"), (2, "Bob")] {
        author::ActiveModel {
            id: Set(id),
            name: Set(name.into()),
            email: Set(format!("{}@example.com", name.to_lowercase())),
        }
        .insert(db)
        .await
        .expect("insert author");
    }
    let rows: [PostRow; 6] = [
        (
            1,
            1,
            "Rust for Djangonauts",
            "rust-django",
            "Rust and Python",
            true,
            "2024-01-01T10:00:00Z",
            Some("4.50"),
            10,
        ),
        (
            2,
            1,
            "rust lowercase",
            "rust-lower",
            "plain",
            false,
            "2024-02-01T10:00:00Z",
            None,
            0,
        ),
        (
            3,
            2,
            "Django admin",
            "django-admin",
            "100% pure_python",
            true,
            "2024-03-01T10:00:00Z",
            Some("3.25"),
            250,
        ),
        (
            4,
            2,
            "Zoë's café ☕",
            "cafe",
            "Unicode ünïcode",
            true,
            "2024-03-01T10:00:00Z",
            Some("5.00"),
            99,
        ),
        (
            5,
            1,
            "Percent 50% off_sale",
            "percent",
            "back\\slash and 'quotes' \"dq\"",
            false,
            "2024-04-15T08:30:00Z",
            None,
            7,
        ),
        (
            6,
            2,
            "ASYNC RUST",
            "async-rust",
            "Tokio",
            true,
            "2024-05-01T00:00:00Z",
            Some("1.00"),
            1000,
        ),
    ];
    for (id, author_id, title, slug, body, published, created, rating, views) in rows {
        post::ActiveModel {
            id: Set(id),
            author_id: Set(author_id),
            title: Set(title.into()),
            slug: Set(slug.into()),
            body: Set(body.into()),
            published: Set(published),
            created: Set(utc(created)),
            rating: Set(rating.map(|r| r.parse::<Decimal>().expect("decimal"))),
            views: Set(views),
        }
        .insert(db)
        .await
        .expect("insert post");
    }
}

/// The filter set the tests use: every column but the body; search in title and body.
pub(crate) fn post_filters() -> FilterSet<post::Entity> {
    FilterSet::new()
        .field(post::Column::Id)
        .field_as("author", post::Column::AuthorId)
        .field(post::Column::Title)
        .field(post::Column::Slug)
        .field(post::Column::Published)
        .field(post::Column::Created)
        .field(post::Column::Rating)
        .field(post::Column::Views)
        .search([post::Column::Title, post::Column::Body])
        .default_ordering("id")
}

/// The ids `query` selects, in the order the query gives.
pub(crate) async fn ids(db: &impl ConnectionTrait, query: &str) -> Vec<i64> {
    let filters = post_filters();
    let params = filters
        .parse(query)
        .unwrap_or_else(|e| panic!("`{query}` should parse: {e}"));
    params
        .apply(post::Entity::find(), db.get_database_backend())
        .all(db)
        .await
        .unwrap_or_else(|e| panic!("`{query}` should run: {e}"))
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// Whether MySQL/MariaDB, whose default collations ignore case in `=`.
pub(crate) fn is_mysql(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::MySql
}
