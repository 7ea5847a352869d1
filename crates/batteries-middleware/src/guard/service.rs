//! The guard layers and services.

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{Denial, login_required, permission_denied};
use crate::auth::CurrentUser;
use crate::panic::{PanicReply, ResponseFuture};
use crate::util::{BoxFuture, unavailable};

/// Lets only logged-in users through. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct RequireLoginLayer {
    denial: Arc<Denial>,
}

impl RequireLoginLayer {
    /// Denied requests are answered as `denial` says.
    pub fn new(denial: Denial) -> Self {
        Self {
            denial: Arc::new(denial),
        }
    }
}

impl<S> Layer<S> for RequireLoginLayer {
    type Service = RequireLoginService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireLoginService {
            inner,
            denial: self.denial.clone(),
        }
    }
}

/// The service made by [`RequireLoginLayer`].
#[derive(Debug, Clone)]
pub struct RequireLoginService<S> {
    inner: S,
    denial: Arc<Denial>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireLoginService<S>
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let logged_in = request
            .extensions()
            .get::<CurrentUser>()
            .is_some_and(CurrentUser::is_authenticated);
        if logged_in {
            let reply = PanicReply::for_request(&request);
            return Box::pin(ResponseFuture::call(reply, || self.inner.call(request)));
        }
        let response = login_required(&self.denial, request.uri(), request.headers());
        Box::pin(async move { Ok(response) })
    }
}

/// Lets only users with a permission through. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct RequirePermLayer {
    perm: Cow<'static, str>,
    denial: Arc<Denial>,
}

impl RequirePermLayer {
    /// Requires `perm` (`"app_label.codename"`); denied requests answered as `denial`
    /// says.
    pub fn new(perm: impl Into<Cow<'static, str>>, denial: Denial) -> Self {
        Self {
            perm: perm.into(),
            denial: Arc::new(denial),
        }
    }
}

impl<S> Layer<S> for RequirePermLayer {
    type Service = RequirePermService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePermService {
            inner,
            perm: self.perm.clone(),
            denial: self.denial.clone(),
        }
    }
}

/// The service made by [`RequirePermLayer`].
#[derive(Debug, Clone)]
pub struct RequirePermService<S> {
    inner: S,
    perm: Cow<'static, str>,
    denial: Arc<Denial>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequirePermService<S>
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let perm = self.perm.clone();
        let denial = self.denial.clone();
        let reply = PanicReply::for_request(&request);
        Box::pin(ResponseFuture::new(reply, async move {
            let user = request
                .extensions()
                .get::<CurrentUser>()
                .cloned()
                .unwrap_or_else(CurrentUser::anonymous);
            if !user.is_authenticated() {
                return Ok(login_required(&denial, request.uri(), request.headers()));
            }
            match user.has_perm(&perm).await {
                Ok(true) => inner.call(request).await,
                Ok(false) => Ok(permission_denied(&denial, request.headers())),
                Err(error) => {
                    tracing::error!(%error, "could not load permissions");
                    Ok(unavailable(
                        "Permissions are unavailable; please try again.",
                    ))
                }
            }
        }))
    }
}
