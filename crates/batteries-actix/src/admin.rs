//! Mounting `batteries-admin` on an actix-web app (feature `admin`).
//!
//! The admin is a tower service speaking `http` 1; actix-web is neither tower-based nor
//! on `http` 1. [`scope`] bridges the two: each request under the admin's prefix is read
//! (its body at most [`DEFAULT_BODY_LIMIT`] bytes), copied into an `http::Request<Bytes>`
//! carrying the `Session` and `CurrentUser` that the [`Batteries`](crate::Batteries)
//! middleware put in the request's extensions, handed to
//! [`Admin::handle`], and the answer copied back (status, every header, body; a streamed
//! body, such as an export's, is streamed on).
//!
//! The admin needs the session and the current user: wrap the app (or the scope) in
//! [`Batteries`](crate::Batteries) with `.sessions(..)` and `.auth(..)`; `.csrf(..)` and
//! `.security_headers(..)` are advised (the admin checks CSRF tokens itself too).
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use batteries_actix::Batteries;
//! use batteries_admin::AdminSite;
//! use batteries_auth::Auth;
//! use batteries_auth::sessions::{DatabaseSessionStore, SessionSecret};
//! use batteries_middleware::auth::Authentication;
//! use batteries_middleware::csrf::CsrfLayer;
//! use batteries_middleware::session::{SessionConfig, SessionManager};
//!
//! # async fn run(db: sea_orm::DatabaseConnection) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Auth::new(db.clone(), SessionSecret::new("a secret key of at least 32 bytes!!")?);
//! // Register your entities with `.register(ModelAdmin::<post::Entity>::new())`.
//! let admin = AdminSite::new().build(db.clone(), &auth).await?;
//! HttpServer::new(move || {
//!     let batteries = Batteries::new()
//!         .sessions(SessionManager::new(DatabaseSessionStore::new(db.clone()), SessionConfig::new()))
//!         .auth(Authentication::new(auth.loader(), auth.secret().clone()))
//!         .csrf(CsrfLayer::new());
//!     App::new()
//!         .wrap(batteries)
//!         .service(batteries_actix::admin::scope(admin.clone()))
//! })
//! .bind(("127.0.0.1", 8000))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

use actix_web::body::{BodyStream, BoxBody};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Scope, web};
use batteries_admin::{Admin, AdminBody};
use batteries_middleware::auth::CurrentUser;
use batteries_middleware::sessions::Session;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body::Body as _;
use http_body_util::{BodyDataStream, BodyExt};

use crate::convert::{headers_in, method_in, replace_out, uri_in};

/// The largest request body [`scope`] reads (2 MiB, the admin's own default): larger ones
/// are answered `413 Payload Too Large`.
pub const DEFAULT_BODY_LIMIT: usize = 2 << 20;

/// An actix-web scope at the admin's prefix (`/admin`) that answers every request under
/// it with the admin; bodies are limited to [`DEFAULT_BODY_LIMIT`] bytes.
///
/// Register it with `App::service` under the [`Batteries`](crate::Batteries) middleware
/// (see the [module docs](self)).
pub fn scope(admin: Admin) -> Scope {
    scope_with_limit(admin, DEFAULT_BODY_LIMIT)
}

/// [`scope`] with another request body limit, in bytes.
pub fn scope_with_limit(admin: Admin, limit: usize) -> Scope {
    let prefix = admin.prefix().trim_end_matches('/').to_owned();
    web::scope(&prefix).default_service(web::to(move |req: HttpRequest, payload: web::Payload| {
        let admin = admin.clone();
        async move { handle(&admin, &req, payload, limit).await }
    }))
}

/// Answers one actix-web request with the admin: the building block of [`scope`], for an
/// app that routes to the admin its own way. The request's path must start with the
/// admin's prefix.
pub async fn handle(
    admin: &Admin,
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> HttpResponse {
    let Some(body) = read_body(payload, limit).await else {
        return HttpResponse::PayloadTooLarge()
            .content_type("text/plain; charset=utf-8")
            .body("Request body too large (or unreadable).");
    };
    let request = request_in(req, body);
    response_out(admin.handle(request).await).await
}

/// The whole body, or `None` when it is larger than `limit` or cannot be read.
async fn read_body(mut payload: web::Payload, limit: usize) -> Option<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.ok()?;
        if buf.len() + chunk.len() > limit {
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
    Some(buf.freeze())
}

/// The actix request as the `http` 1 request the admin reads, with the session and the
/// current user in its extensions.
fn request_in(req: &HttpRequest, body: Bytes) -> http::Request<Bytes> {
    let mut request = http::Request::new(body);
    *request.method_mut() = method_in(req.method());
    *request.uri_mut() = uri_in(req.uri());
    *request.headers_mut() = headers_in(req.headers());
    let extensions = req.extensions();
    if let Some(session) = extensions.get::<Session>() {
        request.extensions_mut().insert(session.clone());
    }
    if let Some(user) = extensions.get::<CurrentUser>() {
        request.extensions_mut().insert(user.clone());
    }
    request
}

/// The admin's response as an actix response: status, every header (repeated ones such
/// as `Set-Cookie` kept), body. A whole body is copied; a streamed one (an export) is
/// streamed on, chunk by chunk, and a stream that breaks off aborts the response.
async fn response_out(response: http::Response<AdminBody>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status =
        ActixStatus::from_u16(parts.status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::new(status);
    replace_out(&parts.headers, out.headers_mut());
    if body.size_hint().exact().is_some() {
        let Ok(collected) = body.collect().await else {
            return HttpResponse::InternalServerError().finish();
        };
        return out.set_body(BoxBody::new(collected.to_bytes()));
    }
    out.set_body(BoxBody::new(BodyStream::new(BodyDataStream::new(body))))
}
