//! Sessions: Django's `contrib.sessions` with pluggable stores.

mod cookie;
mod database;
pub mod entity;
mod m20261125_000300_auth_create_session;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;

pub use cookie::{CookieStore, MAX_COOKIE_LEN, MIN_SECRET_LEN};
pub use database::DatabaseStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisSessionStore;
pub use store::{
    SESSION_KEY_LEN, SessionError, SessionRecord, SessionStore, is_valid_session_key,
    new_session_key,
};

/// The migration creating `batteries_session`, the table of [`DatabaseStore`] (named
/// `m20261125_000300_auth_create_session`). It is also in
/// [`crate::migrations::migrations()`].
///
/// ```
/// use batteries_orm::migration::MigrationSet;
///
/// let set = MigrationSet::new("my-app").with(batteries_auth::sessions::migration());
/// assert_eq!(set.names(), ["m20261125_000300_auth_create_session"]);
/// ```
pub fn migration() -> impl sea_orm_migration::MigrationTrait {
    m20261125_000300_auth_create_session::Migration
}
