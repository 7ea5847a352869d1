//! Sessions: Django's `contrib.sessions`, and the session half of `contrib.auth`
//! (`login`, `logout`, `get_user`, `update_session_auth_hash`).
//!
//! A [`Session`] is one request's handle on its data: loaded from a [`SessionStore`]
//! the first time a value is read, written back only if something changed. Stores:
//!
//! | store | for |
//! | --- | --- |
//! | [`MemoryStore`] | tests and a single process |
//! | [`DatabaseStore`] | app instances sharing a database (table `batteries_session`, created by [`migration()`]) |
//! | `RedisSessionStore` (feature `redis`) | app instances sharing Redis |
//! | [`CookieStore`] | no server-side state: the signed data is the cookie (Django's `signed_cookies`) |
//!
//! The HTTP side (reading the cookie, `Set-Cookie` with `HttpOnly`, `Secure`,
//! `SameSite=Lax`) lives in `batteries-middleware`'s session layer and in the
//! framework adapters.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use batteries_auth::AuthUser;
//! use batteries_auth::sessions::{self, MemoryStore, Session, SessionSecret, SessionStore};
//! # #[derive(Clone)] struct User { password: String }
//! # impl AuthUser for User {
//! #     fn pk_string(&self) -> String { "7".into() }
//! #     fn username(&self) -> &str { "ada" }
//! #     fn password_hash(&self) -> &str { &self.password }
//! #     fn is_active(&self) -> bool { true }
//! #     fn is_staff(&self) -> bool { false }
//! #     fn is_superuser(&self) -> bool { false }
//! #     fn last_login(&self) -> Option<chrono::DateTime<chrono::Utc>> { None }
//! # }
//! # let user = User { password: "argon2$argon2id$...".into() };
//!
//! let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
//! let secret = SessionSecret::new("a secret key of at least 32 bytes!!")?;
//!
//! let session = Session::new(store, None);
//! sessions::login(&session, &user, &secret).await?;
//! assert_eq!(sessions::session_user_id(&session).await?.as_deref(), Some("7"));
//! sessions::logout(&session).await?;
//! assert_eq!(sessions::session_user_id(&session).await?, None);
//! # Ok(()) }
//! ```

mod cookie;
mod database;
pub mod entity;
mod login;
mod m20261125_000300_auth_create_session;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod session;
mod store;

pub use cookie::{CookieStore, MAX_COOKIE_LEN, MIN_SECRET_LEN};
pub use database::DatabaseStore;
pub use login::{
    CSRF_KEY, HASH_KEY, SessionSecret, USER_ID_KEY, get_user, login, logout, new_csrf_secret,
    session_user_id, update_session_auth_hash,
};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisSessionStore;
pub use session::{CookieAction, DEFAULT_SESSION_AGE, Expiry, Session};
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
