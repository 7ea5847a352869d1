//! The demo content `prepare` seeds: each kind once, into its empty table, so that a
//! restart seeds nothing more and an older blog (posts only) gets tags and comments.

use std::collections::HashMap;

use chrono::{Duration, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, Set};

use crate::{comment, post, post_tag, tag};

/// The demo posts: title, slug. Every fourth is a draft.
const POSTS: [(&str, &str); 12] = [
    ("Rust for Django developers", "rust"),
    ("Why Django has batteries", "django"),
    ("Async Rust in five minutes", "async"),
    ("Writing tower middleware", "tower"),
    ("SeaORM migrations explained", "seaorm"),
    ("Pagination that scales", "pagination"),
    ("Keyset cursors, signed", "keyset"),
    ("Fixtures from dumpdata", "fixtures"),
    ("Testing on three databases", "testing"),
    ("Rust web frameworks compared", "frameworks"),
    ("Django admin, in Rust", "admin"),
    ("Security headers by default", "security"),
];

/// The demo tags: name, slug, and the slugs of the posts that have it.
const TAGS: [(&str, &str, &[&str]); 6] = [
    (
        "Rust",
        "rust",
        &[
            "rust",
            "async",
            "tower",
            "seaorm",
            "testing",
            "frameworks",
            "admin",
        ],
    ),
    ("Django", "django", &["rust", "django", "fixtures", "admin"]),
    ("Async", "async", &["async", "tower"]),
    (
        "Databases",
        "databases",
        &["seaorm", "pagination", "keyset", "fixtures", "testing"],
    ),
    ("Security", "security", &["keyset", "security"]),
    (
        "Web",
        "web",
        &["tower", "pagination", "frameworks", "admin", "security"],
    ),
];

/// The demo comments: post slug, author, body, approved.
const COMMENTS: [(&str, &str, &str, bool); 5] = [
    ("rust", "ada", "Great introduction, thank you!", true),
    (
        "rust",
        "grace",
        "Does all of this work on PostgreSQL too?\n\nAsking for a friend.",
        true,
    ),
    ("async", "ada", "Five minutes well spent.", true),
    ("admin", "linus", "Can I add my own actions?", true),
    (
        "admin",
        "mallory",
        "Buy cheap watches at example.com",
        false,
    ),
];

pub(crate) async fn posts(db: &DatabaseConnection) -> Result<(), DbErr> {
    if post::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    for (i, (title, slug)) in POSTS.iter().enumerate() {
        post::ActiveModel {
            title: Set((*title).to_owned()),
            slug: Set((*slug).to_owned()),
            body: Set(format!("{title}: a demo post about {slug}.")),
            published: Set(i % 4 != 3),
            created: Set(start + Duration::days(7 * i as i64)),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Posts by slug (the demo posts that still exist).
async fn posts_by_slug(db: &DatabaseConnection) -> Result<HashMap<String, post::Model>, DbErr> {
    Ok(post::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.slug.clone(), p))
        .collect())
}

pub(crate) async fn tags(db: &DatabaseConnection) -> Result<(), DbErr> {
    if tag::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let posts = posts_by_slug(db).await?;
    for (name, slug, tagged) in TAGS {
        let tag = tag::ActiveModel {
            name: Set(name.to_owned()),
            slug: Set(slug.to_owned()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        for post in tagged.iter().filter_map(|s| posts.get(*s)) {
            post_tag::ActiveModel {
                post_id: Set(post.id),
                tag_id: Set(tag.id),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

pub(crate) async fn comments(db: &DatabaseConnection) -> Result<(), DbErr> {
    if comment::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let posts = posts_by_slug(db).await?;
    for (i, (slug, author, body, approved)) in COMMENTS.into_iter().enumerate() {
        let Some(post) = posts.get(slug) else {
            continue;
        };
        comment::ActiveModel {
            post_id: Set(post.id),
            author: Set(author.to_owned()),
            body: Set(body.to_owned()),
            created: Set(post.created + Duration::hours(3 + i as i64)),
            approved: Set(approved),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
