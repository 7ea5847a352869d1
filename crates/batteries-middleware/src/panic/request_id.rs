//! [`RequestId`]: the name a request goes by in the logs and in `x-request-id`.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

/// The `x-request-id` header.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest `x-request-id` taken from a request, in bytes.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request's id: the client's (or the proxy's) `x-request-id` when it is well formed,
/// else a fresh random UUID.
///
/// Well formed means 1 to [`MAX_REQUEST_ID_LEN`] bytes of ASCII letters, digits and
/// `-_.:+/=`: enough for UUIDs, hex and base64 ids, and nothing a log line or an HTML
/// page would have to escape. Anything else is replaced, never trusted.
///
/// [`CatchPanicLayer`](super::CatchPanicLayer) puts it in the request's extensions
/// (handlers read it there to name the request in their own logs) and in the
/// response's `x-request-id`.
///
/// ```
/// use batteries_middleware::panic::RequestId;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-request-id", HeaderValue::from_static("req-7f3a.1"));
/// assert_eq!(RequestId::from_headers(&headers).unwrap().as_str(), "req-7f3a.1");
///
/// headers.insert("x-request-id", HeaderValue::from_static("<script>"));
/// assert!(RequestId::from_headers(&headers).is_none());
/// assert_eq!(RequestId::generate().as_str().len(), 36);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A fresh random id (a UUID v4, hyphenated).
    #[must_use]
    pub fn generate() -> Self {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        Self(HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("unknown")))
    }

    /// `value` as an id, if it is well formed (see the [type docs](Self)).
    pub fn parse(value: &str) -> Option<Self> {
        let well_formed = !value.is_empty()
            && value.len() <= MAX_REQUEST_ID_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(&b));
        if !well_formed {
            return None;
        }
        HeaderValue::from_str(value).ok().map(Self)
    }

    /// The request's `x-request-id`, if present and well formed.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
        Self::parse(value)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `parse` and `generate`).
        self.0.to_str().unwrap_or_default()
    }

    /// The id as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken() {
        for ok in [
            "a",
            "0f8e-12",
            "abc_DEF.1:2+3/4=",
            &"x".repeat(MAX_REQUEST_ID_LEN),
        ] {
            assert_eq!(
                RequestId::parse(ok).map(|r| r.as_str().to_owned()),
                Some(ok.to_owned())
            );
        }
        for bad in [
            "",
            " a",
            "a b",
            "a\tb",
            "<b>",
            "a\"b",
            "é",
            "a;b",
            &"x".repeat(MAX_REQUEST_ID_LEN + 1),
        ] {
            assert!(RequestId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RequestId::generate(), RequestId::generate());
        assert!(RequestId::parse(RequestId::generate().as_str()).is_some());
    }
}
