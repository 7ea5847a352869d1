//! actix-web speaks `http` 0.2; batteries speaks `http` 1. Header maps, methods and URIs
//! are copied across by their bytes.

use actix_web::http::header::{
    HeaderMap as ActixHeaders, HeaderName as ActixName, HeaderValue as ActixValue,
};

/// The request's headers as an `http` 1 map.
pub(crate) fn headers_in(headers: &ActixHeaders) -> http::HeaderMap {
    let mut out = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(name, value);
        }
    }
    out
}

pub(crate) fn method_in(method: &actix_web::http::Method) -> http::Method {
    http::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(http::Method::POST)
}

pub(crate) fn uri_in(uri: &actix_web::http::Uri) -> http::Uri {
    uri.to_string().parse().unwrap_or_default()
}

/// Replaces an actix header map's content with `from`'s.
pub(crate) fn replace_out(from: &http::HeaderMap, to: &mut ActixHeaders) {
    to.clear();
    for (name, value) in from {
        if let (Ok(name), Ok(value)) = (
            ActixName::from_bytes(name.as_str().as_bytes()),
            ActixValue::from_bytes(value.as_bytes()),
        ) {
            to.append(name, value);
        }
    }
}

/// An `http` 1 response (from a batteries rejection) as an actix response.
pub(crate) fn response_out(response: http::Response<String>) -> actix_web::HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = actix_web::HttpResponse::new(status);
    replace_out(response.headers(), out.headers_mut());
    out.set_body(actix_web::body::BoxBody::new(response.into_body()))
}
