//! The responses every front end makes: plain text, HTML, JSON, redirects, assets.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::Value as Json;

use crate::body::AdminBody;
use crate::templates::asset;

/// A plain-text response.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::from(text.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// An HTML response.
pub(crate) fn html(status: StatusCode, body: String) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Json) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// An embedded asset, cached for a day.
pub(crate) fn static_file(name: &str) -> Response<AdminBody> {
    match asset(name) {
        Some((content_type, bytes)) => {
            let mut response = Response::new(AdminBody::from(Bytes::from_static(bytes)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        None => plain(StatusCode::NOT_FOUND, "Not found."),
    }
}
