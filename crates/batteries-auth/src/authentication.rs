//! [`Auth`]: the one owner of an application's authentication settings.
//!
//! An application used to hand the same secret key to three places that had to agree:
//! the auth layer (to check the session auth hash), the admin (to log staff in) and its
//! own login view. [`Auth`] holds the secret, the database and the [`Authenticator`]
//! (backends and login throttle) once; the auth layer, the admin and login views are
//! built from it, so they cannot disagree.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use batteries_auth::Auth;
//! use batteries_auth::sessions::SessionSecret;
//! use batteries_auth::throttle::{LoginThrottle, MemoryThrottleStore};
//!
//! let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! let auth = Auth::new(db, SessionSecret::new("a secret key of at least 32 bytes!!")?)
//!     .with_throttle(LoginThrottle::new(MemoryThrottleStore::new()));
//! assert!(auth.authenticator().is_throttled());
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::IpAddr;

use sea_orm::DatabaseConnection;

use crate::backends::{Authenticator, Credentials, ModelBackend};
use crate::entities::user;
use crate::hashers::Hashers;
use crate::sessions::{self, Session, SessionSecret};
use crate::throttle::LoginThrottle;
use crate::{Error, Result};

/// An application's authentication: Django's `AUTH_USER_MODEL` table (`auth_user`), its
/// `SECRET_KEY` (as a [`SessionSecret`]), `AUTHENTICATION_BACKENDS` and the login throttle,
/// in one value that is cheap to clone.
///
/// Build the auth layer from it (`Authentication::from(&auth)` in batteries-middleware,
/// through [`batteries_core::AuthSource`]), the admin with `AdminSite::build(db, &auth)`,
/// and log users in with [`login`](Self::login).
#[derive(Clone)]
pub struct Auth {
    db: DatabaseConnection,
    secret: SessionSecret,
    backend: ModelBackend,
    throttle: Option<LoginThrottle>,
    authenticator: Authenticator<user::Model>,
    custom: bool,
}

impl Auth {
    /// Users in `auth_user` on `db`, checked by a [`ModelBackend`] with the default
    /// hashers; sessions signed and users' session auth hashes keyed with `secret`. No
    /// login throttle until [`with_throttle`](Self::with_throttle).
    pub fn new(db: DatabaseConnection, secret: SessionSecret) -> Self {
        let backend = ModelBackend::new(db.clone());
        Self {
            authenticator: Authenticator::new().with_backend(backend.clone()),
            db,
            secret,
            backend,
            throttle: None,
            custom: false,
        }
    }

    /// The authenticator of the [`ModelBackend`] and the throttle, unless one of the
    /// application's own replaced it.
    fn rebuild(&mut self) {
        if self.custom {
            return;
        }
        let mut authenticator = Authenticator::new().with_backend(self.backend.clone());
        if let Some(throttle) = &self.throttle {
            authenticator = authenticator.with_throttle(throttle.clone());
        }
        self.authenticator = authenticator;
    }

    /// Counts failed logins with `throttle` (Django's django-axes): see
    /// [`Authenticator::with_throttle`].
    #[must_use]
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self.rebuild();
        self
    }

    /// Hashes and verifies passwords with `hashers` (the first one makes new hashes and
    /// upgrades old ones at login). Keeps the throttle.
    #[must_use]
    pub fn with_hashers(mut self, hashers: Hashers) -> Self {
        self.backend = self.backend.with_hashers(hashers);
        self.rebuild();
        self
    }

    /// Replaces the authenticator (for backends of your own after or before the
    /// [`ModelBackend`]). The users the session layer loads still come from
    /// [`loader`](Self::loader). Later [`with_throttle`](Self::with_throttle) and
    /// [`with_hashers`](Self::with_hashers) no longer change it.
    #[must_use]
    pub fn with_authenticator(mut self, authenticator: Authenticator<user::Model>) -> Self {
        self.authenticator = authenticator;
        self.custom = true;
        self
    }

    /// The database the users are in.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The secret key: signs session cookies and keys the session auth hash.
    pub fn secret(&self) -> &SessionSecret {
        &self.secret
    }

    /// Loads the user of a session (or a bearer token) and their permissions: give it to
    /// the auth layer.
    pub fn loader(&self) -> ModelBackend {
        self.backend.clone()
    }

    /// Checks credentials: the backends and the login throttle.
    pub fn authenticator(&self) -> &Authenticator<user::Model> {
        &self.authenticator
    }

    /// Django's `authenticate()` then `login()`: checks `credentials` for a request from
    /// `ip` (the throttle counts failures against it), and on success logs the user in
    /// to `session` (a new session key, the session auth hash, a new CSRF secret).
    ///
    /// `Ok(None)` for wrong credentials, an inactive user or a locked-out name or address,
    /// all alike, so that a login form cannot tell them apart.
    ///
    /// # Errors
    /// When the database, the throttle's store or the session store fails, or too many
    /// passwords are being checked at once ([`Error::Busy`]): answer `503`
    /// ([`Error::is_unavailable`]).
    pub async fn login(
        &self,
        session: &Session,
        credentials: &Credentials,
        ip: Option<IpAddr>,
    ) -> Result<Option<user::Model>> {
        let Some(user) = self
            .authenticator
            .authenticate_from(credentials, ip)
            .await?
        else {
            return Ok(None);
        };
        sessions::login(session, &user, &self.secret)
            .await
            .map_err(Error::from)?;
        Ok(Some(user))
    }
}

impl batteries_core::AuthSource for Auth {
    type Loader = ModelBackend;

    fn loader(&self) -> ModelBackend {
        self.backend.clone()
    }

    fn secret(&self) -> &SessionSecret {
        &self.secret
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("secret", &"<hidden>")
            .field("authenticator", &self.authenticator)
            .finish_non_exhaustive()
    }
}
