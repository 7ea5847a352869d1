use std::sync::Arc;

use tower_layer::Layer;

use super::SecurityHeaders;
use super::service::SetSecurityHeaders;

/// Layer that adds [`SecurityHeaders`] to every response, keeping the headers the
/// handler set.
///
/// See the [module docs](super) for an example.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SecurityHeadersLayer {
    headers: Arc<SecurityHeaders>,
}

impl SecurityHeadersLayer {
    /// A layer adding `headers` (`SecurityHeadersLayer::default()` for the defaults).
    pub fn new(headers: SecurityHeaders) -> Self {
        Self {
            headers: Arc::new(headers),
        }
    }

    /// The headers this layer adds.
    pub fn headers(&self) -> &SecurityHeaders {
        &self.headers
    }
}

impl From<SecurityHeaders> for SecurityHeadersLayer {
    fn from(headers: SecurityHeaders) -> Self {
        Self::new(headers)
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SetSecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetSecurityHeaders::new(inner, self.headers.clone())
    }
}
