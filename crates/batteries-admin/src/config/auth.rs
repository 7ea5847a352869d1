//! How [`AdminSite::build`](crate::AdminSite::build) is told to log staff in
//! ([`IntoAdminAuth`]): an application's [`Auth`], or a bare [`SessionSecret`].

use batteries_auth::entities::user;
use batteries_auth::sessions::SessionSecret;
use batteries_auth::{Auth, Authenticator};

/// The authentication an admin is built with: the secret its login signs sessions with
/// and, when the application has one, its [`Authenticator`] (backends and login
/// throttle). Made by [`IntoAdminAuth`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdminAuth {
    pub(crate) secret: SessionSecret,
    pub(crate) authenticator: Option<Authenticator<user::Model>>,
}

/// What [`AdminSite::build`](crate::AdminSite::build) accepts as its authentication:
///
/// - an [`Auth`] (or `&Auth`): the admin uses its secret and its authenticator (with
///   its login throttle), so the admin, the auth layer and the application's own login
///   view cannot disagree;
/// - a [`SessionSecret`]: the admin checks passwords with a `ModelBackend` on its own
///   database (or the [`authenticator`](crate::AdminSite::authenticator) given).
///
/// When both an `Auth` and [`AdminSite::authenticator`](crate::AdminSite::authenticator)
/// are given, the site's `authenticator` wins: it is the more specific setting.
pub trait IntoAdminAuth {
    /// The secret and, if any, the authenticator.
    fn into_admin_auth(self) -> AdminAuth;
}

impl IntoAdminAuth for SessionSecret {
    fn into_admin_auth(self) -> AdminAuth {
        AdminAuth {
            secret: self,
            authenticator: None,
        }
    }
}

impl IntoAdminAuth for Auth {
    fn into_admin_auth(self) -> AdminAuth {
        (&self).into_admin_auth()
    }
}

impl IntoAdminAuth for &Auth {
    fn into_admin_auth(self) -> AdminAuth {
        AdminAuth {
            secret: self.secret().clone(),
            authenticator: Some(self.authenticator().clone()),
        }
    }
}

impl IntoAdminAuth for AdminAuth {
    fn into_admin_auth(self) -> AdminAuth {
        self
    }
}
