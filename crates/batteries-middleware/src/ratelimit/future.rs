use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::Response;

/// Response future of [`RateLimit`](super::RateLimit): the refusal, or the inner
/// service's response with the rate-limit headers.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture<B, E> {
    inner: BoxFuture<'static, Result<Response<B>, E>>,
}

impl<B, E> ResponseFuture<B, E> {
    pub(super) fn new(inner: BoxFuture<'static, Result<Response<B>, E>>) -> Self {
        Self { inner }
    }
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<B>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
