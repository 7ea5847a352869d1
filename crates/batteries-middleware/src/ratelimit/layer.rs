use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use tower_layer::Layer;

use super::service::{Config, RateLimit};
use super::{ClientIp, RateLimiter};

/// Layer that applies the [`RateLimit`] middleware: refuses requests whose bucket is
/// empty with `429 Too Many Requests`.
///
/// Keys requests by [`ClientIp::new`] (the connection's peer, no proxy trusted) unless
/// [`with_key`](Self::with_key) says otherwise. See the [module docs](super) for an
/// example.
#[derive(Clone)]
#[must_use]
pub struct RateLimitLayer {
    config: Arc<Config>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("limiter", &self.config.limiter)
            .field("headers", &self.config.headers)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// A layer taking a token from `limiter` for each request, keyed by client IP.
    pub fn new(limiter: RateLimiter) -> Self {
        Self {
            config: Arc::new(Config {
                limiter,
                key: Arc::new(ClientIp::new().into_key_fn()),
                headers: true,
            }),
        }
    }

    /// Keys requests with `key` instead: a request for which it returns `None` is not
    /// limited. [`ClientIp::into_key_fn`], [`per_user`](super::per_user) and
    /// [`per_user_or_client_ip`](super::per_user_or_client_ip) are ready-made ones.
    pub fn with_key<F>(self, key: F) -> Self
    where
        F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.map(|config| config.key = Arc::new(key))
    }

    /// Keys requests by client IP as `client_ip` finds it (with trusted proxies).
    pub fn with_client_ip(self, client_ip: ClientIp) -> Self {
        self.with_key(client_ip.into_key_fn())
    }

    /// Adds no `RateLimit-Limit` and `RateLimit-Remaining` headers to allowed and
    /// refused responses (`Retry-After` stays on refusals).
    pub fn without_rate_limit_headers(self) -> Self {
        self.map(|config| config.headers = false)
    }

    /// The limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.config.limiter
    }

    fn map(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::clone(&self.config);
        change(&mut config);
        self.config = Arc::new(config);
        self
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::new(inner, self.config.clone())
    }
}
