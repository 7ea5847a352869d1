//! [`AuthLayer`] and [`AuthService`].

use std::task::{Context, Poll};

use batteries_core::UserLoader;
use batteries_sessions::{Session, SessionSecret};
use http::{HeaderValue, Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use super::{AuthRejection, Authentication, BearerVerifier};
use crate::panic::{PanicReply, ResponseFuture};
use crate::util::{BoxFuture, json, unavailable};

/// Puts a [`CurrentUser`](super::CurrentUser) in every request. See the
/// [module docs](super).
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Authentication,
}

impl AuthLayer {
    /// Users from `loader` (for `auth_user`: `ModelBackend`), session auth hashes
    /// checked with `secret`.
    pub fn new<L: UserLoader + 'static>(loader: L, secret: SessionSecret) -> Self {
        Self {
            auth: Authentication::new(loader, secret),
        }
    }

    /// A layer around an existing [`Authentication`].
    pub fn from_authentication(auth: Authentication) -> Self {
        Self { auth }
    }

    /// Also accepts `Authorization: Bearer` tokens that `verifier` accepts.
    #[must_use]
    pub fn with_bearer(mut self, verifier: impl BearerVerifier) -> Self {
        self.auth = self.auth.with_bearer(verifier);
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Authentication,
}

/// The response to a refused request.
pub(super) fn rejection_response<B: From<String>>(rejection: &AuthRejection) -> Response<B> {
    match rejection {
        AuthRejection::InvalidToken => {
            let mut response = json(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({ "error": "invalid token" }),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
        AuthRejection::Unavailable(_) => {
            unavailable("Authentication is unavailable; please try again.")
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<BoxFuture<Result<Response<ResBody>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let reply = PanicReply::for_request(&request);
        ResponseFuture::call(reply, || self.route(request))
    }
}

impl<S> AuthService<S> {
    fn route<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
    ) -> BoxFuture<Result<Response<ResBody>, S::Error>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        ReqBody: Send + 'static,
        ResBody: From<String> + Send + 'static,
    {
        // Bearer tokens and sessions alike: the user is loaded (issue 16), so a
        // token is worth only as much as its user.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let session = request.extensions().get::<Session>().cloned();
            match auth.resolve(request.headers(), session.as_ref()).await {
                Ok(user) => {
                    request.extensions_mut().insert(user);
                    request.extensions_mut().insert(auth);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection_response(&rejection)),
            }
        })
    }
}
