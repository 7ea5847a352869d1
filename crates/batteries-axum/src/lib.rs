#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

use std::marker::PhantomData;
use std::ops::Deref;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use batteries_middleware::auth;
use batteries_middleware::guard::{Denial, RequireLoginLayer, RequirePermLayer};

pub use batteries_middleware::guard::Permission;
/// Declares a unit type naming a permission, for [`Perm`] (batteries-middleware's macro).
pub use batteries_middleware::permission;

/// Why an extractor refused the request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// No user is logged in: `401`.
    Unauthenticated,
    /// The user lacks the permission: `403`.
    Forbidden,
    /// A layer the extractor needs is not installed: `500`, logged.
    MissingLayer(&'static str),
    /// A store or loader failed: `503`, logged.
    Unavailable,
}

impl Rejection {
    /// The HTTP status it answers with (the same as batteries-actix's `Rejection`).
    ///
    /// ```
    /// use batteries_axum::Rejection;
    /// use axum::http::StatusCode;
    ///
    /// assert_eq!(Rejection::Forbidden.status(), StatusCode::FORBIDDEN);
    /// assert_eq!(Rejection::Unavailable.to_string(), "try again later");
    /// ```
    pub fn status(&self) -> StatusCode {
        self.to_core().status()
    }

    /// The framework-neutral rejection this one is: its status, message, headers and
    /// body are `batteries-core`'s, shared with batteries-actix.
    pub fn to_core(&self) -> batteries_core::Rejection {
        match self {
            Self::Unauthenticated => batteries_core::Rejection::Unauthenticated,
            Self::Forbidden => batteries_core::Rejection::Forbidden,
            Self::MissingLayer(layer) => batteries_core::Rejection::MissingLayer(layer),
            Self::Unavailable => batteries_core::Rejection::Unavailable,
        }
    }
}

impl From<batteries_core::Rejection> for Rejection {
    fn from(rejection: batteries_core::Rejection) -> Self {
        match rejection {
            batteries_core::Rejection::Unauthenticated => Self::Unauthenticated,
            batteries_core::Rejection::Forbidden => Self::Forbidden,
            batteries_core::Rejection::MissingLayer(layer) => Self::MissingLayer(layer),
            _ => Self::Unavailable,
        }
    }
}

/// The message the client gets (never the missing layer's name: that is logged).
impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_core().fmt(f)
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if let Self::MissingLayer(layer) = self {
            tracing::error!("{layer} is not installed on this route");
        }
        self.to_core().response::<axum::body::Body>()
    }
}

/// The request's user, or anonymous (Django's `request.user`).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub auth::CurrentUser);

impl Deref for CurrentUser {
    type Target = auth::CurrentUser;
    fn deref(&self) -> &auth::CurrentUser {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        parts
            .extensions
            .get::<auth::CurrentUser>()
            .cloned()
            .map(Self)
            .ok_or(Rejection::MissingLayer("AuthLayer"))
    }
}

/// A logged-in user; anonymous requests get `401`.
#[derive(Debug, Clone)]
pub struct RequireUser(pub auth::CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        auth::require_login(&user)?;
        Ok(Self(user))
    }
}

/// A logged-in user with permission `P`: `401` for anonymous requests, `403` without
/// the permission.
pub struct Perm<P: Permission>(pub auth::CurrentUser, PhantomData<P>);

impl<P: Permission> std::fmt::Debug for Perm<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Perm")
            .field(&P::NAME)
            .field(&self.0)
            .finish()
    }
}

impl<P: Permission, S: Send + Sync> FromRequestParts<S> for Perm<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        auth::require_perm(&user, P::NAME).await?;
        Ok(Self(user, PhantomData))
    }
}

/// The request's session (Django's `request.session`).
#[derive(Debug, Clone)]
pub struct Session(pub batteries_middleware::sessions::Session);

impl Deref for Session {
    type Target = batteries_middleware::sessions::Session;
    fn deref(&self) -> &batteries_middleware::sessions::Session {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        parts
            .extensions
            .get::<batteries_middleware::sessions::Session>()
            .cloned()
            .map(Self)
            .ok_or(Rejection::MissingLayer("SessionLayer"))
    }
}

/// A masked CSRF token for the form this handler renders (Django's `{% csrf_token %}`).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let Session(session) = Session::from_request_parts(parts, state).await?;
        batteries_middleware::csrf::csrf_token(&session)
            .await
            .map(Self)
            .map_err(|_| Rejection::Unavailable)
    }
}

/// Guards for whole routers.
pub trait RouterExt {
    /// Only logged-in users reach these routes; others are answered as `denial` says.
    #[must_use]
    fn require_login(self, denial: Denial) -> Self;
    /// Only users with `perm` reach these routes.
    #[must_use]
    fn require_perm(self, perm: &'static str, denial: Denial) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt for Router<S> {
    fn require_login(self, denial: Denial) -> Self {
        self.route_layer(RequireLoginLayer::new(denial))
    }

    fn require_perm(self, perm: &'static str, denial: Denial) -> Self {
        self.route_layer(RequirePermLayer::new(perm, denial))
    }
}
