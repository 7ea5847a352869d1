#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod auth;
mod cookie;
#[cfg(feature = "database")]
mod database;
#[cfg(feature = "database")]
pub mod entity;
#[cfg(feature = "database")]
mod m20261125_000300_auth_create_session;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod session;
mod store;

pub use auth::{
    CSRF_KEY, HASH_KEY, USER_ID_KEY, get_user, login, logout, new_csrf_secret, session_user_id,
    update_session_auth_hash,
};
/// The secret behind session auth hashes (from `batteries-core`).
pub use batteries_core::SessionSecret;
pub use cookie::{CookieSessionStore, MAX_COOKIE_LEN, MIN_SECRET_LEN};
#[cfg(feature = "database")]
pub use database::DatabaseSessionStore;
pub use memory::MemorySessionStore;
#[cfg(feature = "redis")]
pub use redis::RedisSessionStore;
pub use session::{CookieAction, DEFAULT_SESSION_AGE, Expiry, Session};
pub use store::{
    SESSION_KEY_LEN, SessionError, SessionRecord, SessionStore, is_valid_session_key,
    new_session_key,
};

/// The migration creating `batteries_session`, the table of [`DatabaseSessionStore`]
/// (named `m20261125_000300_auth_create_session`, as when it was part of
/// `batteries-auth`, so databases that have it see it as applied).
///
/// ```
/// use batteries_orm::migration::MigrationSet;
///
/// let set = MigrationSet::new("my-app").with(batteries_sessions::migration());
/// assert_eq!(set.names(), ["m20261125_000300_auth_create_session"]);
/// ```
#[cfg(feature = "database")]
pub fn migration() -> impl sea_orm_migration::MigrationTrait {
    m20261125_000300_auth_create_session::Migration
}

/// The migrations of `batteries-sessions`: [`migration()`] alone. `batteries-auth`'s
/// `migrations()` already holds it; compose this set only without `batteries-auth`'s.
#[cfg(feature = "database")]
pub fn migrations() -> batteries_orm::migration::MigrationSet {
    batteries_orm::migration::MigrationSet::new("batteries-sessions").with(migration())
}
