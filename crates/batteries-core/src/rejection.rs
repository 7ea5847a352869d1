//! [`Rejection`]: why an extractor or guard refused a request, and its HTTP answer,
//! shared by the framework adapters (batteries-axum, batteries-actix), which only
//! convert it into their framework's response.

use http::{HeaderName, HeaderValue, Response, StatusCode, header};

/// How long `503` answers ask clients to wait (`Retry-After`), in seconds: a database
/// restart or a Redis failover takes seconds, not minutes.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Why an extractor or guard refused the request.
///
/// ```
/// use batteries_core::Rejection;
/// use http::StatusCode;
///
/// assert_eq!(Rejection::Forbidden.status(), StatusCode::FORBIDDEN);
/// assert_eq!(Rejection::Unavailable.to_string(), "try again later");
/// let response: http::Response<String> = Rejection::Unauthenticated.response();
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// assert_eq!(response.body(), r#"{"error":"authentication required"}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No user is logged in: `401`.
    #[error("authentication required")]
    Unauthenticated,
    /// The user lacks the permission: `403`.
    #[error("permission denied")]
    Forbidden,
    /// A layer the extractor needs is not installed: `500` (the message never names
    /// it; the adapter logs it).
    #[error("server misconfigured")]
    MissingLayer(&'static str),
    /// A store or loader failed: `503` with `Retry-After`.
    #[error("try again later")]
    Unavailable,
}

impl Rejection {
    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MissingLayer(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The headers it answers with besides the content type: `WWW-Authenticate: Bearer`
    /// for `401`, `Retry-After` for `503`.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            Self::Unauthenticated => {
                vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))]
            }
            Self::Unavailable => vec![(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
            )],
            Self::Forbidden | Self::MissingLayer(_) => Vec::new(),
        }
    }

    /// The JSON body: `{"error":"<message>"}`.
    pub fn body(&self) -> String {
        // The messages are fixed ASCII without quotes: no escaping needed.
        format!(r#"{{"error":"{self}"}}"#)
    }

    /// The whole answer: [`status`](Self::status), [`headers`](Self::headers),
    /// `Content-Type: application/json` and [`body`](Self::body).
    pub fn response<B: From<String>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.body()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers() {
            headers.insert(name, value);
        }
        response
    }
}
