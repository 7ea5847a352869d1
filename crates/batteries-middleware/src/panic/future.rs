//! [`Guarded`] (any future, a panic caught) and [`ResponseFuture`] (a service's
//! response future, a panic answered `500`).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::hook::Enter;
use super::{Panic, PanicReply, REQUEST_ID_HEADER};

/// Runs `f`, catching a panic.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    let _enter = Enter::new();
    catch_unwind(AssertUnwindSafe(f)).map_err(Panic::from_payload)
}

/// `future`, with a panic while it is polled caught and returned as `Err(`[`Panic`]`)`.
///
/// This is the primitive under every batteries layer's safety net, for code that is
/// not a tower service (an actix-web middleware, a spawned task): the panic hook of
/// [`install_panic_hook`](super::install_panic_hook) knows the panic is caught and
/// stays silent. Like [`std::panic::catch_unwind`], it needs `panic = "unwind"` (the
/// default) and asserts unwind safety: after a panic the future is dropped, never
/// polled again.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use batteries_middleware::panic::guard;
///
/// let caught = guard(async { panic!("boom") }).await;
/// assert_eq!(caught.map_err(|p| p.message().to_owned()), Err::<(), _>("boom".to_owned()));
/// assert_eq!(guard(async { 7 }).await.ok(), Some(7));
/// # }
/// ```
pub fn guard<F: Future>(future: F) -> Guarded<F> {
    Guarded { future }
}

pin_project! {
    /// The future returned by [`guard`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Guarded<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        match guarded(|| future.poll(cx)) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

pin_project! {
    /// Response future of [`CatchPanic`](super::CatchPanic) and of the other layers of
    /// this crate: the inner service's response, or the plain `500` of a
    /// [`PanicReply`] when it panicked.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
        reply: Option<PanicReply>,
        // Whether to put the request id on every response, not only on a `500`.
        tag: bool,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: Guarded<F> },
        Panicked { panic: Option<Panic> },
    }
}

impl<F> ResponseFuture<F> {
    /// `future`, guarded.
    pub(crate) fn new(reply: PanicReply, future: F) -> Self {
        Self {
            state: State::Running {
                future: Guarded { future },
            },
            reply: Some(reply),
            tag: false,
        }
    }

    /// The future `call` returns (a service's `call`, which may panic too), guarded.
    pub(crate) fn call(reply: PanicReply, call: impl FnOnce() -> F) -> Self {
        match guarded(call) {
            Ok(future) => Self::new(reply, future),
            Err(panic) => Self {
                state: State::Panicked { panic: Some(panic) },
                reply: Some(reply),
                tag: false,
            },
        }
    }

    /// Also puts the request id on the response when there was no panic.
    pub(crate) fn tagged(mut self) -> Self {
        self.tag = true;
        self
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<String>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let panic = match this.state.project() {
            StateProj::Running { future } => match ready!(future.poll(cx)) {
                Ok(Ok(mut response)) => {
                    if *this.tag
                        && let Some(id) = this.reply.as_ref().and_then(PanicReply::request_id)
                    {
                        response
                            .headers_mut()
                            .entry(REQUEST_ID_HEADER)
                            .or_insert_with(|| id.header_value().clone());
                    }
                    return Poll::Ready(Ok(response));
                }
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(panic) => panic,
            },
            StateProj::Panicked { panic } => panic.take().unwrap_or_default(),
        };
        let reply = this.reply.take().unwrap_or_default();
        Poll::Ready(Ok(reply.respond(&panic)))
    }
}
