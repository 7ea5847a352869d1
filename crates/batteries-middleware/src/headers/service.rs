use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::SecurityHeaders;
use super::future::ResponseFuture;

/// Middleware that adds [`SecurityHeaders`] to the inner service's responses.
///
/// Made by [`SecurityHeadersLayer`](super::SecurityHeadersLayer); see the
/// [module docs](super) for an example.
#[derive(Debug, Clone)]
#[must_use]
pub struct SetSecurityHeaders<S> {
    inner: S,
    headers: Arc<SecurityHeaders>,
}

impl<S> SetSecurityHeaders<S> {
    pub(super) fn new(inner: S, headers: Arc<SecurityHeaders>) -> Self {
        Self { inner, headers }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SetSecurityHeaders<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        ResponseFuture::new(self.inner.call(req), self.headers.clone())
    }
}
