//! [`SessionLayer`] and [`SessionService`].

use std::task::{Context, Poll};

use batteries_sessions::SessionStore;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{SessionConfig, SessionManager};
use crate::panic::{PanicReply, ResponseFuture};
use crate::util::{BoxFuture, unavailable};

/// Adds a [`Session`](batteries_sessions::Session) to every request and saves it
/// after the response. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct SessionLayer {
    manager: SessionManager,
}

impl SessionLayer {
    /// Sessions in `store`, with cookies as `config` says.
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Self {
        Self {
            manager: SessionManager::new(store, config),
        }
    }

    /// A layer around an existing [`SessionManager`].
    pub fn from_manager(manager: SessionManager) -> Self {
        Self { manager }
    }

    /// The manager (store and cookie configuration).
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
        }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    manager: SessionManager,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let manager = self.manager.clone();
        let reply = PanicReply::for_request(&request);
        Box::pin(ResponseFuture::new(reply, async move {
            let session = manager.open(request.headers());
            request.extensions_mut().insert(session.clone());
            let mut response = inner.call(request).await?;
            if let Err(error) = manager.finish(&session, response.headers_mut()).await {
                tracing::error!(%error, "could not save the session");
                return Ok(unavailable(
                    "The session could not be saved; please try again.",
                ));
            }
            Ok(response)
        }))
    }
}
