//! No panic reaches a client: a panic while a request is handled becomes a plain `500`
//! and one log line with the request's id.
//!
//! Rust servers do not catch panics for you: under axum or hyper a panicking handler
//! kills the task serving the connection, and the client sees the connection reset;
//! actix-web drops it too. This module is batteries' safety net:
//!
//! - every layer of this crate that answers requests (session, auth, CSRF, guards,
//!   rate limit) catches a panic of its own code **and of the services inside it**, so
//!   an app with any of them around its handlers already answers a handler's panic
//!   with a `500`, and the layers outside it (the session is saved, security headers
//!   added) carry on as for any response; the admin and the actix-web middleware do
//!   the same;
//! - [`CatchPanicLayer`] does it for any tower service (put it outermost, or around
//!   routes without batteries layers), and gives every request a [`RequestId`]: the
//!   client's `x-request-id` when well formed, else a fresh one, in the request's
//!   extensions and on the response;
//! - [`guard`] does it for any future, [`PanicReply`] builds the answer;
//! - [`install_panic_hook`] keeps each caught panic to that one log line.
//!
//! The `500` says nothing of the panic: an HTML page when the request accepts
//! `text/html`, else `{"error": "internal server error", "request_id": "…"}`, with
//! `x-request-id` and `Cache-Control: no-store`. The log line is an `ERROR` event with
//! the request id, the panic message (escaped, at most 1 KiB) and, with the hook
//! installed, where it panicked. The connection stays open for the next request.
//!
//! What it cannot catch: a panic in `poll_ready`, and a panic while the response
//! **body** streams, after the status and headers are sent. Then the server drops the
//! connection before the body's end (hyper and actix-web alike), so the client sees an
//! incomplete response, never one that looks complete. The admin's exports turn a
//! panic of the task producing them into such a broken-off body. Builds with
//! `panic = "abort"` abort instead, of course.
//!
//! Written for batteries rather than taken from tower-http's `CatchPanic`: that one
//! boxes every response body into an `UnsyncBoxBody` (the layers and the admin keep
//! their body types here) and its panic handler never sees the request, so it could
//! neither choose HTML or JSON by `Accept` nor name the request id.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use batteries_middleware::panic::CatchPanicLayer;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! let app = ServiceBuilder::new()
//!     .layer(CatchPanicLayer::new())
//!     .service(service_fn(|request: Request<Full<Bytes>>| async move {
//!         if request.uri().path() == "/bug" {
//!             panic!("index out of bounds: the secret is 42");
//!         }
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("fine"))))
//!     }));
//!
//! let request = Request::get("/bug")
//!     .header("accept", "application/json")
//!     .header("x-request-id", "req-1")
//!     .body(Full::default())?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! assert_eq!(response.headers()["x-request-id"], "req-1");
//! let body = response.into_body().collect().await?.to_bytes();
//! assert_eq!(&body[..], br#"{"error":"internal server error","request_id":"req-1"}"#);
//!
//! let fine = app.oneshot(Request::get("/").body(Full::default())?).await?;
//! assert_eq!(fine.status(), StatusCode::OK);
//! assert!(fine.headers().contains_key("x-request-id"));
//! # Ok(()) }
//! ```

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};

mod future;
mod hook;
mod layer;
mod request_id;

pub use future::{Guarded, ResponseFuture, guard};
pub use hook::install_panic_hook;
pub use layer::{CatchPanic, CatchPanicLayer};
pub use request_id::{MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER, RequestId};

use crate::util::wants_html;

/// The longest panic message logged, in bytes.
const MAX_MESSAGE_LEN: usize = 1024;

/// A caught panic: its message and, when [`install_panic_hook`] is installed, where it
/// happened.
#[derive(Debug, Clone, Default)]
pub struct Panic {
    message: String,
    location: Option<String>,
}

impl Panic {
    /// The panic's message (`Box<dyn Any>` when the payload was not text), at most
    /// 1 KiB.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `file:line:column` of the panic, when the hook recorded it.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let mut message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_owned()
        };
        let location = hook::take_location(&message);
        // A payload whose `drop` panics must not unwind out of here.
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
        if message.len() > MAX_MESSAGE_LEN {
            let mut end = MAX_MESSAGE_LEN;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        Self { message, location }
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}

/// What the `500` for a panic needs to know of its request: whether it wants HTML,
/// and its id. Taken before the request is handed on, used if it panics.
#[derive(Debug, Clone, Default)]
pub struct PanicReply {
    html: bool,
    id: Option<RequestId>,
}

impl PanicReply {
    fn new(html: bool, id: Option<RequestId>) -> Self {
        Self { html, id }
    }

    /// For a request with these headers: HTML if it accepts `text/html`; its
    /// `x-request-id` if well formed (else an id is made up when it panics).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::new(wants_html(headers), RequestId::from_headers(headers))
    }

    /// For `request`: as [`from_headers`](Self::from_headers), preferring the
    /// [`RequestId`] in its extensions.
    pub fn for_request<B>(request: &Request<B>) -> Self {
        let id = request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .or_else(|| RequestId::from_headers(request.headers()));
        Self::new(wants_html(request.headers()), id)
    }

    /// The request's id, if known yet.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.id.as_ref()
    }

    /// Logs `panic` (one `ERROR` line with the request id) and answers the `500`.
    pub fn respond<B: From<String>>(self, panic: &Panic) -> Response<B> {
        let id = self.id.unwrap_or_else(RequestId::generate);
        if let Some(location) = panic.location() {
            tracing::error!(
                request_id = %id,
                panic = ?panic.message(),
                location,
                "a panic while handling the request was caught; answered 500"
            );
        } else {
            tracing::error!(
                request_id = %id,
                panic = ?panic.message(),
                "a panic while handling the request was caught; answered 500"
            );
        }
        let (content_type, body) = if self.html {
            (
                "text/html; charset=utf-8",
                format!(
                    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <title>Server Error (500)</title></head>\n<body><h1>Server Error (500)</h1>\n\
                     <p>Something went wrong on our side. If you report it, quote this \
                     reference: <code>{id}</code></p></body></html>\n"
                ),
            )
        } else {
            (
                "application/json",
                serde_json::json!({"error": "internal server error", "request_id": id.as_str()})
                    .to_string(),
            )
        };
        let mut response = Response::new(B::from(body));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(REQUEST_ID_HEADER, id.header_value().clone());
        response
    }
}

#[cfg(test)]
mod tests;
