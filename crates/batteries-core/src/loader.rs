//! [`UserLoader`]: a logged-in user by primary key, and their permissions.

use async_trait::async_trait;

use crate::error::Result;
use crate::permissions::Permissions;
use crate::user::AuthUser;

/// Loads a logged-in user by primary key, and their permissions: what the session and
/// token middleware need on each request (Django's `backend.get_user()`).
///
/// `batteries_auth::ModelBackend` implements it for `auth_user`; a custom user model
/// implements it for its own entity. Errors are [`crate::Error`]: a loader written
/// against `batteries-auth` returns its errors with `?` (they convert), and a failing
/// store is [`Error::Unavailable`](crate::Error::Unavailable), which the middleware
/// answers with `503`.
///
/// ```
/// use batteries_core::{AuthUser, Permissions, UserLoader};
///
/// #[derive(Clone)]
/// struct Robot;
/// impl AuthUser for Robot {
///     fn pk_string(&self) -> String { "r2".into() }
///     fn username(&self) -> &str { "r2d2" }
///     fn password_hash(&self) -> &str { "!" }
///     fn is_active(&self) -> bool { true }
///     fn is_staff(&self) -> bool { false }
///     fn is_superuser(&self) -> bool { false }
///     fn last_login(&self) -> Option<chrono::DateTime<chrono::Utc>> { None }
/// }
///
/// struct Robots;
/// #[async_trait::async_trait]
/// impl UserLoader for Robots {
///     type User = Robot;
///     async fn load_user(&self, pk: &str) -> batteries_core::Result<Option<Robot>> {
///         Ok((pk == "r2").then_some(Robot))
///     }
///     async fn load_permissions(&self, user: &Robot) -> batteries_core::Result<Permissions> {
///         Ok(Permissions::for_user(user).with_granted(["droids.beep"]))
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_core::Result<()> {
/// let robot = Robots.load_user("r2").await?.expect("r2 exists");
/// assert!(Robots.load_permissions(&robot).await?.has_perm("droids.beep"));
/// # Ok(()) }
/// ```
#[async_trait]
pub trait UserLoader: Send + Sync {
    /// The user type.
    type User: AuthUser + Clone + Send + Sync + 'static;

    /// The user with primary key `pk` (as [`AuthUser::pk_string`] writes it), or `None`
    /// if there is none or it may not log in (inactive). A malformed `pk` is `None`.
    ///
    /// # Errors
    /// Only for failures of the backend itself.
    async fn load_user(&self, pk: &str) -> Result<Option<Self::User>>;

    /// The user's permissions (direct and through groups).
    ///
    /// # Errors
    /// Only for failures of the backend itself.
    async fn load_permissions(&self, user: &Self::User) -> Result<Permissions>;
}

/// The owner of an application's users and secret key, from which the auth layer is
/// built: batteries-auth's `Auth` implements it, so the secret is given once, to `Auth`,
/// and the auth layer, the admin and login views all take it from there.
///
/// ```
/// use batteries_core::{AuthSource, SessionSecret, UserLoader};
///
/// fn secret_of(source: &impl AuthSource) -> &SessionSecret {
///     source.secret()
/// }
/// ```
pub trait AuthSource {
    /// The loader of the users of sessions and bearer tokens.
    type Loader: UserLoader + 'static;

    /// The loader (cheap to clone: a database handle).
    fn loader(&self) -> Self::Loader;

    /// The secret key: signs session cookies and keys the session auth hash.
    fn secret(&self) -> &crate::SessionSecret;
}
