//! The user seam: what batteries needs to know about a user, whatever its entity.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use crate::entities::user;
use crate::error::{Error, Result};
use crate::hashers::{Hashers, make_unusable_password};

/// A user as the auth machinery sees it (from `batteries-core`).
///
/// The built-in [`crate::entities::user::Model`] (Django's `auth_user`) implements it;
/// an application with its own user entity implements it too, and hashing, tokens,
/// throttling, sessions and the admin work with that entity unchanged.
pub use batteries_core::AuthUser;

/// Django's `BaseUserManager.normalize_email`: the domain part in lower case, the local
/// part as given (some mail servers treat it case-sensitively).
///
/// ```
/// assert_eq!(batteries_auth::user::normalize_email(" Zoe@EXAMPLE.Com "), "Zoe@example.com");
/// ```
pub fn normalize_email(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => email.to_owned(),
    }
}

/// Django's `AbstractBaseUser.normalize_username`: the username in Unicode
/// normalisation form NFKC, so that look-alike spellings are one name: fullwidth
/// `ａｄｍｉｎ` is `admin`, the ohm sign `Ω` (U+2126) is the Greek capital omega `Ω`
/// (U+03A9). Case is kept, as Django keeps it.
///
/// [`UserManager`] stores usernames normalised, and [`ModelBackend`](crate::ModelBackend)
/// normalises the name given at login before looking it up (as Django's login form
/// does), so `ａｄｍｉｎ` logs in as `admin`.
///
/// ```
/// use batteries_auth::user::normalize_username;
///
/// assert_eq!(normalize_username("ａｄｍｉｎ"), "admin");
/// assert_eq!(normalize_username("\u{2126}mega"), "\u{3a9}mega");
/// assert_eq!(normalize_username("Zoë"), "Zoë");
/// ```
pub fn normalize_username(username: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    username.nfkc().collect()
}

/// Checks a username the way Django's `UnicodeUsernameValidator` does: 1 to 150
/// letters, digits and `@ . + - _`.
///
/// # Errors
/// [`Error::InvalidField`] naming what is wrong.
pub fn validate_username(username: &str) -> Result<()> {
    let invalid = |message: &str| Error::InvalidField {
        field: "username",
        message: message.to_owned(),
    };
    if username.is_empty() {
        return Err(invalid("the username must be set"));
    }
    if username.chars().count() > 150 {
        return Err(invalid("at most 150 characters"));
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
    {
        return Err(invalid(
            "enter a valid username: letters, numbers and @/./+/-/_ characters only",
        ));
    }
    Ok(())
}

/// Django's `UserManager` for the built-in `auth_user`: creates users with hashed
/// passwords and changes passwords. Hashing runs off the async executor.
#[derive(Debug, Clone, Default)]
pub struct UserManager {
    hashers: Hashers,
}

impl UserManager {
    /// A manager hashing with the default hashers (argon2id first).
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager hashing with `hashers`.
    #[must_use]
    pub fn with_hashers(hashers: Hashers) -> Self {
        Self { hashers }
    }

    /// The hashers in use.
    pub fn hashers(&self) -> &Hashers {
        &self.hashers
    }

    async fn encode(&self, password: Option<&str>) -> Result<String> {
        match password {
            Some(p) => Ok(self.hashers.make_async(p.to_owned()).await?),
            None => Ok(make_unusable_password()),
        }
    }

    async fn create(
        &self,
        db: &impl ConnectionTrait,
        username: &str,
        email: Option<&str>,
        password: Option<&str>,
        staff_and_superuser: bool,
    ) -> Result<user::Model> {
        let username = normalize_username(username);
        let username = username.as_str();
        validate_username(username)?;
        // Unique after normalisation: `ａｄｍｉｎ` is taken when `admin` is.
        if user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(db)
            .await?
            .is_some()
        {
            return Err(Error::InvalidField {
                field: "username",
                message: "a user with that username already exists".to_owned(),
            });
        }
        let password = self.encode(password).await?;
        let user = user::ActiveModel {
            password: Set(password),
            last_login: Set(None),
            is_superuser: Set(staff_and_superuser),
            username: Set(username.to_owned()),
            first_name: Set(String::new()),
            last_name: Set(String::new()),
            email: Set(email.map(normalize_email).unwrap_or_default()),
            is_staff: Set(staff_and_superuser),
            is_active: Set(true),
            date_joined: Set(Utc::now()),
            ..Default::default()
        };
        Ok(user.insert(db).await?)
    }

    /// Creates an active user. Without a password the user gets an unusable one (it
    /// can never log in with a password). The username is stored NFKC-normalised
    /// ([`normalize_username`]).
    ///
    /// # Errors
    /// [`Error::InvalidField`] for a bad username or one taken (after normalisation),
    /// [`Error::Db`] when the database fails; [`Error::Busy`] when too many passwords
    /// are being hashed at once.
    pub async fn create_user(
        &self,
        db: &impl ConnectionTrait,
        username: &str,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<user::Model> {
        self.create(db, username, email, password, false).await
    }

    /// Creates an active staff superuser.
    ///
    /// # Errors
    /// As [`UserManager::create_user`].
    pub async fn create_superuser(
        &self,
        db: &impl ConnectionTrait,
        username: &str,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<user::Model> {
        self.create(db, username, email, password, true).await
    }

    /// Sets (or, with `None`, makes unusable) `user`'s password and saves it.
    ///
    /// # Errors
    /// [`Error::Db`] when saving fails.
    pub async fn set_password(
        &self,
        db: &impl ConnectionTrait,
        user: user::Model,
        password: Option<&str>,
    ) -> Result<user::Model> {
        let password = self.encode(password).await?;
        let mut active = user.into_active_model();
        active.password = Set(password);
        Ok(active.update(db).await?)
    }
}
