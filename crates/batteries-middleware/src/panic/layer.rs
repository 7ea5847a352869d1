//! [`CatchPanicLayer`] and [`CatchPanic`].

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{PanicReply, RequestId, ResponseFuture};
use crate::util::wants_html;

/// Gives every request a [`RequestId`] and answers a panic of the service it wraps
/// with a plain `500`, logged once. See the [module docs](super).
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer {
    _private: (),
}

impl CatchPanicLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// The service made by [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> CatchPanic<S> {
    /// `inner`, guarded.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CatchPanic<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let id = request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .or_else(|| RequestId::from_headers(request.headers()))
            .unwrap_or_else(RequestId::generate);
        request.extensions_mut().insert(id.clone());
        let reply = PanicReply::new(wants_html(request.headers()), Some(id));
        ResponseFuture::call(reply, || self.inner.call(request)).tagged()
    }
}
