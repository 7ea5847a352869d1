//! [`CsrfLayer`], [`CsrfService`] and the framework-neutral [`CsrfLayer::check`].

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use batteries_sessions::Session;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::{CsrfError, FORM_FIELD, HEADER, check_token, form_field};
use crate::auth::{AuthMethod, CurrentUser};
use crate::panic::{PanicReply, ResponseFuture};
use crate::util::{BoxFuture, text, unavailable};

/// Largest form body searched for the token (Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`).
const DEFAULT_FORM_LIMIT: usize = 2_621_440;

/// CSRF protection. See the [module docs](super).
#[derive(Clone)]
pub struct CsrfLayer {
    inner: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    origin: tower_http::csrf::CsrfLayer,
    exempt: Vec<String>,
    form_limit: usize,
}

impl std::fmt::Debug for CsrfLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfLayer")
            .field("exempt", &self.inner.exempt)
            .field("form_limit", &self.inner.form_limit)
            .finish_non_exhaustive()
    }
}

impl Default for CsrfLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CsrfLayer {
    /// Origin and token checks on every unsafe request, no exemptions.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Config {
                origin: tower_http::csrf::CsrfLayer::new(),
                exempt: Vec::new(),
                form_limit: DEFAULT_FORM_LIMIT,
            }),
        }
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.inner)
    }

    /// Accepts requests whose `Origin` is exactly `origin` (`https://app.example`), as
    /// Django's `CSRF_TRUSTED_ORIGINS`.
    ///
    /// # Errors
    /// `origin` is not an `http(s)://host[:port]` origin.
    pub fn add_trusted_origin(
        mut self,
        origin: &str,
    ) -> Result<Self, tower_http::csrf::ConfigError> {
        let config = self.config();
        config.origin = config.origin.clone().add_trusted_origin(origin)?;
        Ok(self)
    }

    /// Skips both checks for paths starting with `prefix` (Django's `csrf_exempt`), for
    /// routes such as webhooks or token endpoints that browsers never call with cookies.
    #[must_use]
    pub fn exempt(mut self, prefix: impl Into<String>) -> Self {
        self.config().exempt.push(prefix.into());
        self
    }

    /// The largest form body searched for the token (default 2.5 MiB); larger ones
    /// without the header are refused.
    #[must_use]
    pub fn with_form_limit(mut self, bytes: usize) -> Self {
        self.config().form_limit = bytes;
        self
    }

    /// The largest form body searched for the token.
    pub fn form_limit(&self) -> usize {
        self.inner.form_limit
    }

    /// Whether the request needs checking at all: an unsafe method on a path that is
    /// not exempt.
    pub fn applies(&self, method: &Method, uri: &Uri) -> bool {
        !matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) && !self
            .inner
            .exempt
            .iter()
            .any(|p| uri.path().starts_with(p.as_str()))
    }

    /// The origin check (tower-http's).
    ///
    /// # Errors
    /// [`CsrfError::CrossSite`].
    pub async fn check_origin(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(), CsrfError> {
        let probe = self
            .inner
            .origin
            .layer(tower::service_fn(|_: Request<()>| async {
                Ok::<_, Infallible>(Response::new(()))
            }));
        let mut request = Request::new(());
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri.clone();
        *request.headers_mut() = headers.clone();
        match probe.oneshot(request).await {
            Ok(response)
                if response.status() != StatusCode::FORBIDDEN
                    && response
                        .extensions()
                        .get::<tower_http::csrf::ProtectionError>()
                        .is_none() =>
            {
                Ok(())
            }
            _ => Err(CsrfError::CrossSite),
        }
    }

    /// Whether the token check applies: always, except for requests the auth layer
    /// authenticated by a bearer token (not an ambient browser credential). A bearer
    /// header that no auth layer verified skips nothing.
    pub fn needs_token(user: Option<&CurrentUser>) -> bool {
        user.and_then(CurrentUser::method) != Some(AuthMethod::Bearer)
    }

    /// Whether a form body should be read for the token: no header token, and a
    /// urlencoded form.
    pub fn wants_form_body(headers: &HeaderMap) -> bool {
        !headers.contains_key(HEADER)
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| {
                    ct.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("application/x-www-form-urlencoded")
                })
    }

    /// The whole check, framework-neutral: origin, then (unless exempt or bearer) the
    /// token from the header or from `form_body`.
    ///
    /// # Errors
    /// The [`CsrfError`] explaining the refusal.
    pub async fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        session: Option<&Session>,
        user: Option<&CurrentUser>,
        form_body: Option<&[u8]>,
    ) -> Result<(), CsrfError> {
        if !self.applies(method, uri) {
            return Ok(());
        }
        self.check_origin(method, uri, headers).await?;
        if !Self::needs_token(user) {
            return Ok(());
        }
        let presented = headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| form_body.and_then(|b| form_field(b, FORM_FIELD)));
        let Some(session) = session else {
            tracing::error!("CsrfLayer needs the session layer to run before it");
            return Err(CsrfError::NoSecret);
        };
        check_token(session, presented.as_deref()).await
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`CsrfLayer`].
#[derive(Debug, Clone)]
pub struct CsrfService<S> {
    inner: S,
    layer: CsrfLayer,
}

fn refuse<B: From<String>>(error: CsrfError) -> Response<B> {
    tracing::info!(%error, "request refused");
    error.response()
}

impl CsrfError {
    /// The HTTP answer: `403` with the reason in one line, or `503` with `Retry-After`
    /// for [`CsrfError::Unavailable`].
    pub fn response<B: From<String>>(&self) -> Response<B> {
        match self {
            Self::Unavailable => unavailable("The session store is unavailable; please try again."),
            _ => text(StatusCode::FORBIDDEN, &self.to_string()),
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CsrfService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: std::error::Error + Send + Sync + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let reply = PanicReply::for_request(&request);
        if !self.layer.applies(request.method(), request.uri()) {
            return Box::pin(ResponseFuture::call(reply, || self.inner.call(request)));
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(ResponseFuture::new(reply, async move {
            let (parts, body) = request.into_parts();
            let session = parts.extensions.get::<Session>();
            let user = parts.extensions.get::<CurrentUser>();
            let needs_body =
                CsrfLayer::needs_token(user) && CsrfLayer::wants_form_body(&parts.headers);
            let (body, bytes) = if needs_body {
                match Limited::new(body, layer.inner.form_limit).collect().await {
                    Ok(collected) => {
                        let bytes = collected.to_bytes();
                        (ReqBody::from(bytes.clone()), Some(bytes))
                    }
                    Err(_) => return Ok(refuse(CsrfError::BodyTooLarge)),
                }
            } else {
                (body, None)
            };
            if let Err(error) = layer
                .check(
                    &parts.method,
                    &parts.uri,
                    &parts.headers,
                    session,
                    user,
                    bytes.as_deref(),
                )
                .await
            {
                return Ok(refuse(error));
            }
            inner.call(Request::from_parts(parts, body)).await
        }))
    }
}
