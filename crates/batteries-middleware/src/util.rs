//! Small helpers shared by the layers: responses, cookies, boxed futures.

use std::future::Future;
use std::pin::Pin;

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// The future every service of this crate returns.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A response with a plain-text body.
pub(crate) fn text<B: From<String>>(status: StatusCode, message: &str) -> Response<B> {
    let mut response = Response::new(B::from(message.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// How long [`unavailable`] answers ask clients to wait (`Retry-After`), in seconds
/// (from `batteries-core`).
pub use batteries_core::UNAVAILABLE_RETRY_AFTER_SECS;

/// `503 Service Unavailable` with `Retry-After` and a plain message: what every layer
/// answers when a store or database it needs has failed. The cause is logged by the
/// caller, never put in the body.
///
/// ```
/// use http::{Response, StatusCode};
///
/// let response: Response<String> = batteries_middleware::unavailable("Please try again.");
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(response.headers()["retry-after"], "5");
/// ```
pub fn unavailable<B: From<String>>(message: &str) -> Response<B> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, message);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
    );
    response
}

/// A response with a JSON body.
pub(crate) fn json<B: From<String>>(status: StatusCode, body: &serde_json::Value) -> Response<B> {
    let mut response = Response::new(B::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The value of the cookie called `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Whether the request prefers HTML (a browser) over JSON (an API client).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Adds `value` to the response's `Vary` header unless it is there already.
pub(crate) fn add_vary(headers: &mut HeaderMap, value: &'static str) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(value));
    if !present {
        headers.append(header::VARY, HeaderValue::from_static(value));
    }
}
