//! Sessions: Django's `contrib.sessions`, and the session half of `contrib.auth`
//! (`login`, `logout`, `get_user`, `update_session_auth_hash`).
//!
//! Everything here is the `batteries-sessions` crate, re-exported so that the paths
//! `batteries_auth::sessions::*` keep working.
//!
//! A [`Session`] is one request's handle on its data: loaded from a [`SessionStore`]
//! the first time a value is read, written back only if something changed. Stores:
//!
//! | store | for |
//! | --- | --- |
//! | [`MemorySessionStore`] | tests and a single process |
//! | [`DatabaseSessionStore`] | app instances sharing a database (table `batteries_session`, created by [`migration()`]) |
//! | `RedisSessionStore` (feature `redis`) | app instances sharing Redis |
//! | [`CookieSessionStore`] | no server-side state: the signed data is the cookie (Django's `signed_cookies`) |
//!
//! The HTTP side (reading the cookie, `Set-Cookie` with `HttpOnly`, `Secure`,
//! `SameSite=Lax`) lives in `batteries-middleware`'s session layer and in the
//! framework adapters.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use batteries_auth::AuthUser;
//! use batteries_auth::sessions::{self, MemorySessionStore, Session, SessionSecret, SessionStore};
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
//! let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
//! let secret = SessionSecret::new("a secret key of at least 32 bytes!!")?;
//!
//! let session = Session::new(store, None);
//! sessions::login(&session, &user, &secret).await?;
//! assert_eq!(sessions::session_user_id(&session).await?.as_deref(), Some("7"));
//! sessions::logout(&session).await?;
//! assert_eq!(sessions::session_user_id(&session).await?, None);
//! # Ok(()) }
//! ```

pub use batteries_sessions::*;

/// The old name of [`MemorySessionStore`].
#[deprecated(note = "renamed to `MemorySessionStore`")]
pub type MemoryStore = MemorySessionStore;
/// The old name of [`DatabaseSessionStore`].
#[deprecated(note = "renamed to `DatabaseSessionStore`")]
pub type DatabaseStore = DatabaseSessionStore;
/// The old name of [`CookieSessionStore`].
#[deprecated(note = "renamed to `CookieSessionStore`")]
pub type CookieStore = CookieSessionStore;
