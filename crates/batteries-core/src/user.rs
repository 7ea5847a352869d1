//! The user seam: what batteries needs to know about a user, whatever its entity.

use chrono::{DateTime, Utc};

/// A user as the auth machinery sees it.
///
/// `batteries-auth`'s built-in `auth_user` model implements it; an application with
/// its own user entity implements it too, and hashing, tokens, throttling, sessions and
/// the admin work with that entity unchanged.
pub trait AuthUser: Send + Sync {
    /// The primary key as Django's `str(user.pk)` writes it (`"42"`).
    fn pk_string(&self) -> String;
    /// The name the user logs in with.
    fn username(&self) -> &str;
    /// The encoded password hash (`argon2$argon2id$...`), or an unusable one (`!...`).
    fn password_hash(&self) -> &str;
    /// The e-mail address, `""` when there is none.
    #[allow(clippy::unnecessary_literal_bound)]
    fn email(&self) -> &str {
        ""
    }
    /// Whether the user may log in.
    fn is_active(&self) -> bool;
    /// Whether the user may use the admin.
    fn is_staff(&self) -> bool;
    /// Whether the user has every permission.
    fn is_superuser(&self) -> bool;
    /// When the user last logged in.
    fn last_login(&self) -> Option<DateTime<Utc>>;
}
