use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::SecurityHeaders;

pin_project! {
    /// Response future of [`SetSecurityHeaders`](super::SetSecurityHeaders): the inner
    /// service's response with the security headers added.
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        headers: Arc<SecurityHeaders>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(future: F, headers: Arc<SecurityHeaders>) -> Self {
        Self { future, headers }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.future.poll(cx))?;
        this.headers.apply(response.headers_mut());
        Poll::Ready(Ok(response))
    }
}
