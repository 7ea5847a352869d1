//! The blog's migrations, composed with those of the batteries it uses.

use batteries::orm::migration::{MigrationSet, compose};
use sea_orm_migration::prelude::*;

mod m20261125_000001_blog_create_post;
mod m20261125_000002_blog_comments_tags;

/// Runs the blog's migrations after the batteries' ones.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        compose([
            // The batteries' tables first: users, groups, permissions, sessions, then
            // the admin's history.
            batteries::auth::migrations::migrations(),
            batteries::admin::migrations::migrations(),
            MigrationSet::new("blog")
                .with(m20261125_000001_blog_create_post::Migration)
                .with(m20261125_000002_blog_comments_tags::Migration),
        ])
        .expect("migration names are unique")
    }
}
