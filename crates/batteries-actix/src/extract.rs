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

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MissingLayer(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::MissingLayer(part) = self {
            tracing::error!("the Batteries middleware has no {part} on this route");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthenticated) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if matches!(self, Self::Unavailable) {
            response.insert_header((
                "Retry-After",
                batteries_middleware::UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
            ));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
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
            if user.is_authenticated() {
                Ok(Self(user))
            } else {
                Err(Rejection::Unauthenticated)
            }
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
            if !user.is_authenticated() {
                return Err(Rejection::Unauthenticated);
            }
            match user.has_perm(P::NAME).await {
                Ok(true) => Ok(Self(user, PhantomData)),
                Ok(false) => Err(Rejection::Forbidden),
                Err(_) => Err(Rejection::Unavailable),
            }
        })
    }
}

/// The request's session (Django's `request.session`).
#[derive(Debug, Clone)]
pub struct Session(pub batteries_auth::sessions::Session);

impl Deref for Session {
    type Target = batteries_auth::sessions::Session;
    fn deref(&self) -> &batteries_auth::sessions::Session {
        &self.0
    }
}

fn session(req: &HttpRequest) -> Result<batteries_auth::sessions::Session, Rejection> {
    req.extensions()
        .get::<batteries_auth::sessions::Session>()
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
