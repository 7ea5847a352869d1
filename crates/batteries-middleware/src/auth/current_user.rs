//! [`CurrentUser`]: who made the request.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use batteries_core::Permissions;
use batteries_core::{AuthUser, UserLoader};
use tokio::sync::OnceCell;

use crate::util::BoxFuture;

/// How the request's user was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// By the session cookie.
    Session,
    /// By an `Authorization: Bearer` token.
    Bearer,
}

/// A loaded user, kept both as `dyn AuthUser` and as its concrete type.
#[derive(Clone)]
pub(crate) struct LoadedUser {
    pub(crate) user: Arc<dyn AuthUser>,
    pub(crate) any: Arc<dyn Any + Send + Sync>,
}

impl LoadedUser {
    pub(crate) fn new<U: AuthUser + Send + Sync + 'static>(user: U) -> Self {
        let user = Arc::new(user);
        Self {
            user: user.clone(),
            any: user,
        }
    }
}

/// A [`UserLoader`] with its user type erased, so that [`CurrentUser`] is one type
/// whatever the application's user model.
pub(crate) trait ErasedLoader: Send + Sync {
    fn load_user(&self, pk: String) -> BoxFuture<batteries_core::Result<Option<LoadedUser>>>;
    fn load_permissions(&self, user: LoadedUser) -> BoxFuture<batteries_core::Result<Permissions>>;
}

pub(crate) struct Erased<L>(pub(crate) Arc<L>);

impl<L: UserLoader + 'static> ErasedLoader for Erased<L> {
    fn load_user(&self, pk: String) -> BoxFuture<batteries_core::Result<Option<LoadedUser>>> {
        let loader = self.0.clone();
        Box::pin(async move { Ok(loader.load_user(&pk).await?.map(LoadedUser::new)) })
    }

    fn load_permissions(&self, user: LoadedUser) -> BoxFuture<batteries_core::Result<Permissions>> {
        let loader = self.0.clone();
        Box::pin(async move {
            match user.any.downcast_ref::<L::User>() {
                Some(user) => loader.load_permissions(user).await,
                None => Ok(Permissions::default()),
            }
        })
    }
}

struct Identity {
    pk: String,
    method: AuthMethod,
    loader: Arc<dyn ErasedLoader>,
    user: OnceCell<Option<LoadedUser>>,
    permissions: OnceCell<Permissions>,
}

/// The request's user, or anonymous: Django's `request.user`.
///
/// The auth layer puts one in every request's extensions. The user is loaded at once,
/// for a session login (to check the session auth hash) as for a bearer token (whose
/// user must still exist and be active); permissions are loaded on first use.
#[derive(Clone)]
pub struct CurrentUser {
    identity: Option<Arc<Identity>>,
}

impl fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.identity {
            None => f.write_str("CurrentUser(anonymous)"),
            Some(id) => f
                .debug_struct("CurrentUser")
                .field("pk", &id.pk)
                .field("method", &id.method)
                .finish(),
        }
    }
}

/// A loader or its store failed while answering about the current user.
#[derive(Debug, thiserror::Error)]
#[error("could not load the current user: {0}")]
pub struct UserLoadError(#[from] pub batteries_core::Error);

impl CurrentUser {
    /// The anonymous user.
    pub fn anonymous() -> Self {
        Self { identity: None }
    }

    pub(crate) fn loaded(
        pk: String,
        method: AuthMethod,
        loader: Arc<dyn ErasedLoader>,
        user: LoadedUser,
    ) -> Self {
        Self {
            identity: Some(Arc::new(Identity {
                pk,
                method,
                loader,
                user: OnceCell::new_with(Some(Some(user))),
                permissions: OnceCell::new(),
            })),
        }
    }

    /// Whether a user is logged in (Django's `is_authenticated`).
    pub fn is_authenticated(&self) -> bool {
        self.identity.is_some()
    }

    /// The user's primary key, as [`AuthUser::pk_string`] writes it.
    pub fn pk(&self) -> Option<&str> {
        self.identity.as_ref().map(|id| id.pk.as_str())
    }

    /// How the user was authenticated.
    pub fn method(&self) -> Option<AuthMethod> {
        self.identity.as_ref().map(|id| id.method)
    }

    async fn loaded_user(&self) -> Result<Option<&LoadedUser>, UserLoadError> {
        let Some(id) = &self.identity else {
            return Ok(None);
        };
        let user = id
            .user
            .get_or_try_init(|| id.loader.load_user(id.pk.clone()))
            .await?;
        Ok(user.as_ref())
    }

    /// The user; `None` for anonymous (a request whose token or session names a deleted
    /// or inactive user never gets this far).
    ///
    /// # Errors
    /// The user could not be loaded.
    pub async fn user(&self) -> Result<Option<Arc<dyn AuthUser>>, UserLoadError> {
        Ok(self.loaded_user().await?.map(|u| u.user.clone()))
    }

    /// The user as the application's own type (the loader's `User`).
    ///
    /// # Errors
    /// The user could not be loaded.
    pub async fn user_as<U: Send + Sync + 'static>(&self) -> Result<Option<Arc<U>>, UserLoadError> {
        Ok(self
            .loaded_user()
            .await?
            .and_then(|u| u.any.clone().downcast::<U>().ok()))
    }

    /// The user's permissions, loaded once per request; empty for anonymous users.
    ///
    /// # Errors
    /// They could not be loaded.
    pub async fn permissions(&self) -> Result<Permissions, UserLoadError> {
        let Some(id) = &self.identity else {
            return Ok(Permissions::default());
        };
        let Some(user) = self.loaded_user().await?.cloned() else {
            return Ok(Permissions::default());
        };
        Ok(id
            .permissions
            .get_or_try_init(|| id.loader.load_permissions(user))
            .await?
            .clone())
    }

    /// Whether the user has `perm` (`"app_label.codename"`), as Django's `has_perm`:
    /// superusers have every permission, inactive and anonymous users none.
    ///
    /// # Errors
    /// The permissions could not be loaded.
    pub async fn has_perm(&self, perm: &str) -> Result<bool, UserLoadError> {
        Ok(self.permissions().await?.has_perm(perm))
    }

    /// Whether the user is active staff (may use the admin).
    ///
    /// # Errors
    /// The user could not be loaded.
    pub async fn is_staff(&self) -> Result<bool, UserLoadError> {
        Ok(self
            .user()
            .await?
            .is_some_and(|u| u.is_active() && u.is_staff()))
    }
}
