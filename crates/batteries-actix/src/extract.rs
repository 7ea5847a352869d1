//! Extractors: [`CurrentUser`], [`RequireUser`], [`Perm`], [`Session`], [`CsrfToken`].

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use batteries_middleware::auth;
use futures_util::future::LocalBoxFuture;

pub use batteries_middleware::guard::Permission;
/// Declares a unit type naming a permission, for [`Perm`] (batteries-middleware's macro).
pub use batteries_middleware::permission;

/// Why an extractor refused the request; the same answers as batteries-axum's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No user is logged in: `401`.
    #[error("authentication required")]
    Unauthenticated,
    /// The user lacks the permission: `403`.
    #[error("permission denied")]
    Forbidden,
    /// The `Batteries` middleware is missing a part this extractor needs: `500`.
    #[error("server misconfigured")]
    MissingLayer(&'static str),
    /// A store or loader failed: `503`.
    #[error("try again later")]
    Unavailable,
}

impl Rejection {
    /// The HTTP status it answers with (the same as batteries-axum's `Rejection`).
    ///
    /// ```
    /// use batteries_actix::Rejection;
    ///
    /// assert_eq!(Rejection::Forbidden.status(), http::StatusCode::FORBIDDEN);
    /// assert_eq!(Rejection::Unavailable.to_string(), "try again later");
    /// ```
    pub fn status(&self) -> http::StatusCode {
        self.to_core().status()
    }

    /// The framework-neutral rejection this one is: its status, message, headers and
    /// body are `batteries-core`'s, shared with batteries-axum.
    pub fn to_core(&self) -> batteries_core::Rejection {
        match self {
            Self::Unauthenticated => batteries_core::Rejection::Unauthenticated,
            Self::Forbidden => batteries_core::Rejection::Forbidden,
            Self::MissingLayer(part) => batteries_core::Rejection::MissingLayer(part),
            Self::Unavailable => batteries_core::Rejection::Unavailable,
        }
    }
}

impl From<batteries_core::Rejection> for Rejection {
    fn from(rejection: batteries_core::Rejection) -> Self {
        match rejection {
            batteries_core::Rejection::Unauthenticated => Self::Unauthenticated,
            batteries_core::Rejection::Forbidden => Self::Forbidden,
            batteries_core::Rejection::MissingLayer(part) => Self::MissingLayer(part),
            _ => Self::Unavailable,
        }
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::MissingLayer(part) = self {
            tracing::error!("the Batteries middleware has no {part} on this route");
        }
        crate::convert::response_out(self.to_core().response())
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

fn current_user(req: &HttpRequest) -> Result<auth::CurrentUser, Rejection> {
    req.extensions()
        .get::<auth::CurrentUser>()
        .cloned()
        .ok_or(Rejection::MissingLayer("auth"))
}

impl FromRequest for CurrentUser {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_user(req).map(Self))
    }
}

/// A logged-in user; anonymous requests get `401`.
#[derive(Debug, Clone)]
pub struct RequireUser(pub auth::CurrentUser);

impl FromRequest for RequireUser {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_user(req).and_then(|user| {
            auth::require_login(&user)?;
            Ok(Self(user))
        }))
    }
}

/// A logged-in user with permission `P`: `401` for anonymous requests, `403` without it.
pub struct Perm<P: Permission>(pub auth::CurrentUser, PhantomData<P>);

impl<P: Permission> std::fmt::Debug for Perm<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Perm")
            .field(&P::NAME)
            .field(&self.0)
            .finish()
    }
}

impl<P: Permission> FromRequest for Perm<P> {
    type Error = Rejection;
    type Future = LocalBoxFuture<'static, Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = current_user(req);
        Box::pin(async move {
            let user = user?;
            auth::require_perm(&user, P::NAME).await?;
            Ok(Self(user, PhantomData))
        })
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

fn session(req: &HttpRequest) -> Result<batteries_middleware::sessions::Session, Rejection> {
    req.extensions()
        .get::<batteries_middleware::sessions::Session>()
        .cloned()
        .ok_or(Rejection::MissingLayer("sessions"))
}

impl FromRequest for Session {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(session(req).map(Self))
    }
}

/// A masked CSRF token for the form this handler renders (Django's `{% csrf_token %}`).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = Rejection;
    type Future = LocalBoxFuture<'static, Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = session(req);
        Box::pin(async move {
            batteries_middleware::csrf::csrf_token(&session?)
                .await
                .map(Self)
                .map_err(|_| Rejection::Unavailable)
        })
    }
}

/// The [`auth::Authentication`] the middleware uses, for login views that need its
/// session secret.
#[derive(Debug, Clone)]
pub struct Auth(pub auth::Authentication);

impl FromRequest for Auth {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<auth::Authentication>()
                .cloned()
                .map(Self)
                .ok_or(Rejection::MissingLayer("auth")),
        )
    }
}
