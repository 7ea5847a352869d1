//! `authenticate()`: credentials in, a user out, through a list of backends.
//!
//! The [`ModelBackend`] checks a username and password against `auth_user`, as Django's
//! does: an unknown user costs one password hash, the same as a wrong password (no
//! username enumeration by timing); inactive users are refused; an outdated hash is
//! re-hashed and saved ("upgrade on login"); `last_login` is updated. Every refusal is
//! the same `Ok(None)`, never saying which part was wrong.
//!
//! Applications add their own backends (LDAP, an external identity provider) by
//! implementing [`AuthBackend`] and listing them in an [`Authenticator`]. With
//! [`Authenticator::with_throttle`], failures are counted per username and client IP,
//! and a locked-out attempt is refused exactly like a wrong password.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_auth::Result<()> {
//! use batteries_auth::throttle::{LoginThrottle, MemoryThrottleStore};
//! use batteries_auth::{Authenticator, Credentials, ModelBackend};
//! # use sea_orm_migration::MigratorTrait;
//! # struct M;
//! # impl MigratorTrait for M {
//! #     fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
//! #         batteries_auth::migrations::migrations().into_migrations()
//! #     }
//! # }
//! let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! # M::up(&db, None).await?;
//! let auth = Authenticator::new()
//!     .with_backend(ModelBackend::new(db.clone()))
//!     .with_throttle(LoginThrottle::new(MemoryThrottleStore::new()));
//! let refused = auth
//!     .authenticate_from(&Credentials::new("nobody", "guess"), "203.0.113.7".parse().ok())
//!     .await?;
//! assert!(refused.is_none());
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    Set,
};

use crate::entities::user;
use crate::error::Result;
use crate::hashers::{Hashers, PasswordCheck};
use crate::permissions::Permissions;
use crate::throttle::{LoginThrottle, Subject, ThrottleError};
use crate::user::normalize_username;

/// A username and a password, as a login form gives them.
#[derive(Clone)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// Credentials from a username and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

// The password never reaches a log.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// One way of checking credentials.
#[async_trait]
pub trait AuthBackend<U>: Send + Sync {
    /// The user the credentials belong to, or `None` when they do not check out.
    ///
    /// # Errors
    /// Only for failures of the backend itself (a database that is down), never for
    /// wrong credentials.
    async fn authenticate(&self, credentials: &Credentials) -> Result<Option<U>>;

    /// The primary key of the user `credentials` name, if this backend has one, without
    /// checking the password: the login throttle counts failures against the user
    /// rather than the name typed, so that every spelling the backend matches to one
    /// user (case, accents or trailing spaces under MariaDB's collations, NFKC
    /// variants) shares one budget. The default is `None` (count by name).
    ///
    /// # Errors
    /// Only for failures of the backend itself.
    async fn throttle_subject(&self, credentials: &Credentials) -> Result<Option<String>> {
        let _ = credentials;
        Ok(None)
    }
}

/// Loads a logged-in user by primary key, and their permissions (from
/// `batteries-core`; its errors are [`batteries_core::Error`], into which this crate's
/// [`Error`](crate::Error) converts with `?`).
///
/// [`ModelBackend`] implements it for `auth_user`; a custom user model implements it
/// for its own entity.
pub use batteries_core::UserLoader;

/// Checks usernames and passwords against `auth_user`.
#[derive(Debug, Clone)]
pub struct ModelBackend {
    db: DatabaseConnection,
    hashers: Hashers,
}

impl ModelBackend {
    /// A backend on `db` with the default hashers.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            hashers: Hashers::default(),
        }
    }

    /// Uses `hashers` (the first one makes new hashes and upgrades old ones).
    #[must_use]
    pub fn with_hashers(mut self, hashers: Hashers) -> Self {
        self.hashers = hashers;
        self
    }
}

impl ModelBackend {
    /// The user named `username`, NFKC-normalised first as Django's login form does.
    async fn find(&self, username: &str) -> Result<Option<user::Model>> {
        Ok(user::Entity::find()
            .filter(user::Column::Username.eq(normalize_username(username)))
            .one(&self.db)
            .await?)
    }
}

#[async_trait]
impl AuthBackend<user::Model> for ModelBackend {
    async fn throttle_subject(&self, credentials: &Credentials) -> Result<Option<String>> {
        Ok(self
            .find(&credentials.username)
            .await?
            .map(|found| found.id.to_string()))
    }

    async fn authenticate(&self, credentials: &Credentials) -> Result<Option<user::Model>> {
        let found = self.find(&credentials.username).await?;
        let Some(found) = found else {
            // Pay for one hash anyway, so an unknown username answers as slowly as a
            // wrong password.
            self.hashers
                .dummy_verify_async(credentials.password.clone())
                .await?;
            return Ok(None);
        };
        let check = self
            .hashers
            .verify_async(credentials.password.clone(), found.password.clone())
            .await?;
        let PasswordCheck::Valid { needs_upgrade } = check else {
            return Ok(None);
        };
        if !found.is_active {
            return Ok(None);
        }
        let mut active = found.into_active_model();
        if needs_upgrade {
            active.password = Set(self
                .hashers
                .make_async(credentials.password.clone())
                .await?);
        }
        active.last_login = Set(Some(Utc::now()));
        Ok(Some(active.update(&self.db).await?))
    }
}

#[async_trait]
impl UserLoader for ModelBackend {
    type User = user::Model;

    async fn load_user(&self, pk: &str) -> batteries_core::Result<Option<user::Model>> {
        let Ok(id) = pk.parse::<i32>() else {
            return Ok(None);
        };
        Ok(user::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(crate::Error::from)?
            .filter(|u| u.is_active))
    }

    async fn load_permissions(&self, user: &user::Model) -> batteries_core::Result<Permissions> {
        Ok(crate::permissions::load(&self.db, user).await?)
    }
}

/// Tries backends in order; the first that knows the user decides.
pub struct Authenticator<U> {
    backends: Vec<Arc<dyn AuthBackend<U>>>,
    throttle: Option<LoginThrottle>,
}

impl<U> fmt::Debug for Authenticator<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("backends", &self.backends.len())
            .field("throttled", &self.throttle.is_some())
            .finish()
    }
}

impl<U> Default for Authenticator<U> {
    fn default() -> Self {
        Self {
            backends: Vec::new(),
            throttle: None,
        }
    }
}

impl<U> Clone for Authenticator<U> {
    fn clone(&self) -> Self {
        Self {
            backends: self.backends.clone(),
            throttle: self.throttle.clone(),
        }
    }
}

impl<U: Send + 'static> Authenticator<U> {
    /// An authenticator without backends (it refuses everyone).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a backend.
    #[must_use]
    pub fn with_backend(mut self, backend: impl AuthBackend<U> + 'static) -> Self {
        self.backends.push(Arc::new(backend));
        self
    }

    /// Counts failed logins per user and client IP with `throttle`; while a user (or,
    /// for a name no backend knows, the normalised name) or IP is locked out, every
    /// attempt is refused as a wrong password is (`Ok(None)`), whatever the password.
    /// Pass the client's address to [`authenticate_from`](Self::authenticate_from), or
    /// the per-IP limit never applies.
    #[must_use]
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Whether a login throttle counts this authenticator's failures.
    pub fn is_throttled(&self) -> bool {
        self.throttle.is_some()
    }

    /// Django's `authenticate()`: the user the first willing backend returns.
    ///
    /// Without the client's address the throttle's per-IP limit does not apply: login
    /// views should call [`authenticate_from`](Self::authenticate_from).
    ///
    /// # Errors
    /// When a backend fails (not when credentials are wrong: that is `Ok(None)`);
    /// [`Error::Busy`](crate::Error::Busy) when too many passwords are being checked
    /// at once (answer `503` with `Retry-After`; the attempt is not counted).
    pub async fn authenticate(&self, credentials: &Credentials) -> Result<Option<U>> {
        self.authenticate_from(credentials, None).await
    }

    /// [`authenticate`](Self::authenticate) for a request from `ip`, which the
    /// throttle counts failures against.
    ///
    /// # Errors
    /// When a backend or the throttle's store fails; [`Error::Busy`](crate::Error::Busy)
    /// as [`authenticate`](Self::authenticate).
    pub async fn authenticate_from(
        &self,
        credentials: &Credentials,
        ip: Option<IpAddr>,
    ) -> Result<Option<U>> {
        let subject = match &self.throttle {
            Some(throttle) => {
                let subject = self.subject(credentials).await?;
                match throttle.check_subject(&subject, ip).await {
                    Ok(()) => {}
                    // Locked out: the same answer as a wrong password.
                    Err(ThrottleError::Locked { .. }) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                Some((throttle, subject))
            }
            None => None,
        };
        let mut found = None;
        for backend in &self.backends {
            if let Some(user) = backend.authenticate(credentials).await? {
                found = Some(user);
                break;
            }
        }
        if let Some((throttle, subject)) = subject {
            if found.is_some() {
                throttle.reset_subject(&subject).await?;
            } else {
                throttle.record_subject_failure(&subject, ip).await?;
            }
        }
        Ok(found)
    }

    /// Whose budget the attempt spends: the first user a backend finds, else the name.
    async fn subject(&self, credentials: &Credentials) -> Result<Subject> {
        for backend in &self.backends {
            if let Some(pk) = backend.throttle_subject(credentials).await? {
                return Ok(Subject::User(pk));
            }
        }
        Ok(Subject::name(&credentials.username))
    }
}

/// Authenticates against `auth_user` with the default hashers.
///
/// # Errors
/// When the database fails.
pub async fn authenticate(
    db: &DatabaseConnection,
    credentials: &Credentials,
) -> Result<Option<user::Model>> {
    ModelBackend::new(db.clone())
        .authenticate(credentials)
        .await
}
