//! [`Batteries`]: sessions, authentication and CSRF as one actix-web middleware.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::InternalError;
use actix_web::{Error, HttpMessage};
use batteries_middleware::auth::Authentication;
use batteries_middleware::csrf::{CsrfError, CsrfLayer};
use batteries_middleware::headers::SecurityHeaders;
use batteries_middleware::panic::{PanicReply, guard};
use batteries_middleware::session::SessionManager;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::convert::{headers_in, method_in, replace_out, response_out, uri_in};

#[derive(Clone, Default)]
struct Config {
    sessions: Option<SessionManager>,
    auth: Option<Authentication>,
    csrf: Option<CsrfLayer>,
    headers: Option<SecurityHeaders>,
}

/// The batteries request pipeline for actix-web, in the order the tower layers run:
/// security headers (on every response, refusals included), the session (cookie in,
/// `Set-Cookie` out), the current user (session or bearer token), the CSRF check. Each part is optional and configured with the same types
/// as the tower layers, so an axum app and an actix-web app built from the same pieces
/// behave the same.
///
/// A panic in the pipeline or in the handlers inside it is answered with the plain
/// `500` of `batteries_middleware::panic` (HTML or JSON by `Accept`, `x-request-id`)
/// and logged once, instead of actix-web dropping the connection.
///
/// ```
/// use actix_web::{App, web};
/// use batteries_actix::{Batteries, CurrentUser};
/// use batteries_auth::ModelBackend;
/// use batteries_middleware::sessions::{MemorySessionStore, SessionSecret};
/// use batteries_middleware::auth::Authentication;
/// use batteries_middleware::csrf::CsrfLayer;
/// use batteries_middleware::session::{SessionConfig, SessionManager};
///
/// # async fn build(db: sea_orm::DatabaseConnection) -> Result<(), Box<dyn std::error::Error>> {
/// let secret = SessionSecret::new("a secret key of at least 32 bytes!!")?;
/// let batteries = Batteries::new()
///     .sessions(SessionManager::new(MemorySessionStore::new(), SessionConfig::new()))
///     .auth(Authentication::new(ModelBackend::new(db), secret))
///     .csrf(CsrfLayer::new());
/// let app = App::new()
///     .wrap(batteries)
///     .route("/", web::get().to(|user: CurrentUser| async move {
///         format!("logged in: {}", user.is_authenticated())
///     }));
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Batteries {
    config: Rc<Config>,
}

impl std::fmt::Debug for Batteries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batteries")
            .field("sessions", &self.config.sessions.is_some())
            .field("auth", &self.config.auth.is_some())
            .field("csrf", &self.config.csrf.is_some())
            .field("headers", &self.config.headers.is_some())
            .finish()
    }
}

impl Batteries {
    /// Nothing enabled yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Rc::make_mut(&mut self.config));
        self
    }

    /// Sessions, as `batteries_middleware::session::SessionLayer`.
    #[must_use]
    pub fn sessions(self, manager: SessionManager) -> Self {
        self.with(|c| c.sessions = Some(manager))
    }

    /// The current user, as `batteries_middleware::auth::AuthLayer`.
    #[must_use]
    pub fn auth(self, auth: Authentication) -> Self {
        self.with(|c| c.auth = Some(auth))
    }

    /// CSRF protection, as `batteries_middleware::csrf::CsrfLayer`.
    #[must_use]
    pub fn csrf(self, csrf: CsrfLayer) -> Self {
        self.with(|c| c.csrf = Some(csrf))
    }

    /// Security headers on every response, as
    /// `batteries_middleware::headers::SecurityHeadersLayer`.
    #[must_use]
    pub fn security_headers(self, headers: SecurityHeaders) -> Self {
        self.with(|c| c.headers = Some(headers))
    }
}

impl<S, B> Transform<S, ServiceRequest> for Batteries
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = BatteriesMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BatteriesMiddleware {
            service: Rc::new(service),
            config: self.config.clone(),
        }))
    }
}

/// The service made by [`Batteries`].
pub struct BatteriesMiddleware<S> {
    service: Rc<S>,
    config: Rc<Config>,
}

fn refuse<B>(
    req: ServiceRequest,
    response: http::Response<String>,
) -> ServiceResponse<EitherBody<B>> {
    req.into_response(response_out(response))
        .map_into_right_body()
}

/// Reads the whole payload, at most `limit` bytes, and puts it back for the handler.
async fn buffer_payload(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, CsrfError> {
    let mut payload = req.take_payload();
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| CsrfError::BodyTooLarge)?;
        if buf.len() + chunk.len() > limit {
            return Err(CsrfError::BodyTooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    let bytes = buf.freeze();
    req.set_payload(Payload::from(bytes.clone()));
    Ok(bytes)
}

impl<S, B> Service<ServiceRequest> for BatteriesMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let config = self.config.clone();
        Box::pin(async move {
            // The session is opened first and saved last, whatever answers the request
            // (the handler or a refusal), as the tower session layer does.
            let headers = headers_in(req.headers());
            let session = config.sessions.as_ref().map(|m| m.open(&headers));
            if let Some(session) = &session {
                req.extensions_mut().insert(session.clone());
            }
            let reply = PanicReply::from_headers(&headers);
            let outcome = guard(pipeline(
                service,
                config.clone(),
                req,
                &headers,
                session.as_ref(),
            ))
            .await;
            let mut response = match outcome {
                Ok(response) => response?,
                Err(panic) => {
                    // The request went to the panicked handler, and actix-web builds a
                    // `ServiceResponse` only around it: answer through the error path,
                    // which actix-web turns into this response, saving the session and
                    // adding the headers as for any other response.
                    let mut failed = reply.respond::<String>(&panic);
                    let out = failed.headers_mut();
                    if let (Some(manager), Some(session)) = (&config.sessions, &session)
                        && let Err(error) = manager.finish(session, out).await
                    {
                        tracing::error!(%error, "could not save the session");
                    }
                    if let Some(security) = &config.headers {
                        security.apply(out);
                    }
                    return Err(InternalError::from_response(
                        "a panic was caught",
                        response_out(failed),
                    )
                    .into());
                }
            };
            let mut out = headers_in(response.headers());
            if let (Some(manager), Some(session)) = (&config.sessions, &session)
                && let Err(error) = manager.finish(session, &mut out).await
            {
                tracing::error!(%error, "could not save the session");
                let failed: http::Response<String> = batteries_middleware::unavailable(
                    "The session could not be saved; please try again.",
                );
                let (req, _) = response.into_parts();
                response = ServiceResponse::new(req, response_out(failed)).map_into_right_body();
                out = headers_in(response.headers());
            }
            if let Some(security) = &config.headers {
                security.apply(&mut out);
            }
            replace_out(&out, response.headers_mut());
            Ok(response)
        })
    }
}

/// Authentication, CSRF, then the inner service.
async fn pipeline<S, B>(
    service: Rc<S>,
    config: Rc<Config>,
    mut req: ServiceRequest,
    headers: &http::HeaderMap,
    session: Option<&batteries_middleware::sessions::Session>,
) -> Result<ServiceResponse<EitherBody<B>>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    let mut user = None;
    if let Some(auth) = &config.auth {
        match auth.resolve(headers, session).await {
            Ok(current) => {
                req.extensions_mut().insert(current.clone());
                req.extensions_mut().insert(auth.clone());
                user = Some(current);
            }
            Err(rejection) => return Ok(refuse(req, rejection.response())),
        }
    }
    if let Some(csrf) = &config.csrf {
        let (method, uri) = (method_in(req.method()), uri_in(req.uri()));
        if csrf.applies(&method, &uri) {
            let body =
                if CsrfLayer::needs_token(user.as_ref()) && CsrfLayer::wants_form_body(headers) {
                    match buffer_payload(&mut req, csrf.form_limit()).await {
                        Ok(bytes) => Some(bytes),
                        Err(error) => return Ok(refuse(req, error.response())),
                    }
                } else {
                    None
                };
            let checked = csrf
                .check(
                    &method,
                    &uri,
                    headers,
                    session,
                    user.as_ref(),
                    body.as_deref(),
                )
                .await;
            if let Err(error) = checked {
                tracing::info!(%error, "request refused");
                return Ok(refuse(req, error.response()));
            }
        }
    }

    Ok(service.call(req).await?.map_into_left_body())
}
