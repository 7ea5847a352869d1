//! # batteries-actix
//!
//! The batteries layers for actix-web, which is not tower-based: one middleware,
//! [`Batteries`], runs the security headers, session, authentication and CSRF steps with the same
//! framework-neutral cores as `batteries-middleware`'s tower layers; [`RequireLogin`]
//! and [`RequirePerm`] guard scopes; extractors give handlers the user, the session and
//! CSRF tokens. An actix-web app and an axum app built from the same pieces answer the
//! same requests the same way (the conformance tests check it).
//!
//! | item | Django counterpart |
//! | --- | --- |
//! | [`Batteries`] | `SessionMiddleware`, `AuthenticationMiddleware`, `CsrfViewMiddleware` |
//! | [`RequireLogin`], [`RequirePerm`] | `login_required`, `permission_required` |
//! | [`RateLimit`] | (django-ratelimit) |
//! | [`CurrentUser`], [`RequireUser`], [`Perm`] | `request.user`, `@login_required`, `@permission_required` |
//! | [`Session`], [`CsrfToken`] | `request.session`, `{% csrf_token %}` |
//! | `admin::scope` (feature `admin`) | `path("admin/", admin.site.urls)` |
//!
//! ## Example
//!
//! Security headers, sessions and CSRF on an actix-web app: a page is served with
//! Django's headers, a form post without the CSRF token is refused.
//!
//! ```
//! # #[actix_web::main] async fn main() {
//! use actix_web::{App, HttpResponse, test, web};
//! use batteries_actix::Batteries;
//! use batteries_middleware::sessions::MemorySessionStore;
//! use batteries_middleware::csrf::CsrfLayer;
//! use batteries_middleware::headers::SecurityHeaders;
//! use batteries_middleware::session::{SessionConfig, SessionManager};
//!
//! let app = test::init_service(
//!     App::new()
//!         .wrap(
//!             Batteries::new()
//!                 .security_headers(SecurityHeaders::new())
//!                 .sessions(SessionManager::new(MemorySessionStore::new(), SessionConfig::new()))
//!                 .csrf(CsrfLayer::new()),
//!         )
//!         .route("/", web::get().to(|| async { HttpResponse::Ok().body("hello") }))
//!         .route("/comments", web::post().to(|| async { HttpResponse::Created().finish() })),
//! )
//! .await;
//!
//! let page = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
//! assert_eq!(page.status(), 200);
//! assert_eq!(page.headers().get("x-frame-options").unwrap(), "DENY");
//!
//! let forged = test::TestRequest::post()
//!     .uri("/comments")
//!     .insert_header(("content-type", "application/x-www-form-urlencoded"))
//!     .set_payload("body=spam")
//!     .to_request();
//! let refused = test::call_service(&app, forged).await;
//! assert_eq!(refused.status(), 403);
//! # }
//! ```
#![deny(missing_docs)]

#[cfg(feature = "admin")]
pub mod admin;
mod convert;
mod extract;
mod guard;
mod middleware;
mod ratelimit;

pub use extract::{
    Auth, CsrfToken, CurrentUser, Perm, Permission, Rejection, RequireUser, Session, permission,
};
pub use guard::{GuardMiddleware, RequireLogin, RequirePerm};
pub use middleware::{Batteries, BatteriesMiddleware};
pub use ratelimit::{RateLimit, RateLimitMiddleware};
