use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::{Decision, RateLimiter, Verdict, service_unavailable, too_many_requests};
use crate::panic::{self, PanicReply};

pub(super) type KeyFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// What a [`RateLimitLayer`](super::RateLimitLayer) hands each service.
#[derive(Clone)]
pub(super) struct Config {
    pub(super) limiter: RateLimiter,
    pub(super) key: Arc<KeyFn>,
    pub(super) headers: bool,
}

/// Middleware that takes a token from the request's bucket before calling the inner
/// service, and answers `429 Too Many Requests` itself when the bucket is empty.
///
/// Made by [`RateLimitLayer`](super::RateLimitLayer); see the [module docs](super) for
/// an example. The refusal's body is built from a `String`, so the response body type
/// must convert from one (`String`, `axum::body::Body`, `http_body_util::Full<Bytes>`).
#[derive(Clone)]
#[must_use]
pub struct RateLimit<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("limiter", &self.config.limiter)
            .finish_non_exhaustive()
    }
}

impl<S> RateLimit<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The key function is the app's code, run here: guard it too.
        let reply = PanicReply::for_request(&req);
        ResponseFuture::new(Box::pin(panic::ResponseFuture::call(reply, || {
            self.limit(req)
        })))
    }
}

impl<S> RateLimit<S> {
    fn limit<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
    ) -> BoxFuture<'static, Result<Response<ResBody>, S::Error>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
        S::Future: Send,
        S::Error: Send,
        ReqBody: Send + 'static,
        ResBody: From<String> + Send + 'static,
    {
        let (parts, body) = req.into_parts();
        let key = (self.config.key)(&parts);
        let req = Request::from_parts(parts, body);
        // The service that `poll_ready` readied goes into the future; a clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(async move {
            let verdict = match key {
                Some(key) => config.limiter.decide(&key).await,
                None => Verdict::Unchecked,
            };
            let decision = match verdict {
                Verdict::Decided(decision) => decision,
                Verdict::Unavailable { retry_after } => {
                    return Ok(service_unavailable(retry_after));
                }
                Verdict::Unchecked => return inner.call(req).await,
            };
            let mut response = match decision {
                Decision::Denied { retry_after, .. } => too_many_requests(retry_after),
                Decision::Allowed { .. } => inner.call(req).await?,
            };
            if config.headers {
                decision.write_headers(response.headers_mut());
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use http::{HeaderValue, StatusCode};
    use tower::{ServiceExt, service_fn};
    use tower_layer::Layer;

    use super::super::{
        Bucket, ClientIp, FailureMode, ManualClock, MemoryRateLimitStore, RateLimitError,
        RateLimitLayer, RateLimitStore, per_user,
    };
    use super::*;

    /// A handler counting its calls.
    fn handler(
        calls: &Arc<AtomicUsize>,
    ) -> impl Service<
        Request<String>,
        Response = Response<String>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        let calls = calls.clone();
        service_fn(move |_: Request<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new("ok".to_owned())) }
        })
    }

    fn request(peer: &str, forwarded: Option<&str>) -> Request<String> {
        let mut request = Request::new(String::new());
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().unwrap());
        if let Some(forwarded) = forwarded {
            request
                .headers_mut()
                .insert("x-forwarded-for", HeaderValue::from_str(forwarded).unwrap());
        }
        request
    }

    fn limiter(capacity: u32, per_second: f64, clock: &ManualClock) -> RateLimiter {
        RateLimiter::new(
            MemoryRateLimitStore::new(),
            Bucket::new(capacity, per_second),
        )
        .with_clock(clock.clone())
    }

    async fn send<S>(service: &S, request: Request<String>) -> Response<String>
    where
        S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
    {
        service.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_burst_is_allowed_then_refused_with_retry_after() {
        let clock = ManualClock::default();
        let calls = Arc::new(AtomicUsize::new(0));
        // A burst of 3, then a token every 4 seconds.
        let service = RateLimitLayer::new(limiter(3, 0.25, &clock)).layer(handler(&calls));
        for remaining in ["2", "1", "0"] {
            let response = send(&service, request("203.0.113.7:1000", None)).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["ratelimit-limit"], "3");
            assert_eq!(response.headers()["ratelimit-remaining"], remaining);
        }
        clock.advance(Duration::from_millis(1_500));
        let response = send(&service, request("203.0.113.7:1001", None)).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        // 2.5 s to the next token, rounded up.
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["ratelimit-remaining"], "0");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "rate limited", "retry_after": 3})
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "the handler never saw the refused request"
        );
    }

    #[tokio::test]
    async fn the_bucket_refills_as_the_clock_advances() {
        let clock = ManualClock::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let service = RateLimitLayer::new(limiter(2, 0.5, &clock)).layer(handler(&calls));
        let status = |r: Response<String>| r.status();
        for _ in 0..2 {
            assert_eq!(
                status(send(&service, request("203.0.113.7:1", None)).await),
                200
            );
        }
        assert_eq!(
            status(send(&service, request("203.0.113.7:1", None)).await),
            429
        );
        clock.advance(Duration::from_millis(1_999));
        assert_eq!(
            status(send(&service, request("203.0.113.7:1", None)).await),
            429
        );
        clock.advance(Duration::from_millis(1));
        assert_eq!(
            status(send(&service, request("203.0.113.7:1", None)).await),
            200
        );
        assert_eq!(
            status(send(&service, request("203.0.113.7:1", None)).await),
            429
        );
        // A long pause refills the bucket to its capacity, no further.
        clock.advance(Duration::from_hours(1));
        for _ in 0..2 {
            assert_eq!(
                status(send(&service, request("203.0.113.7:1", None)).await),
                200
            );
        }
        assert_eq!(
            status(send(&service, request("203.0.113.7:1", None)).await),
            429
        );
    }

    #[tokio::test]
    async fn separate_clients_have_separate_buckets() {
        let clock = ManualClock::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let service = RateLimitLayer::new(limiter(1, 0.01, &clock)).layer(handler(&calls));
        assert_eq!(
            send(&service, request("203.0.113.7:1", None))
                .await
                .status(),
            200
        );
        assert_eq!(
            send(&service, request("203.0.113.7:2", None))
                .await
                .status(),
            429
        );
        assert_eq!(
            send(&service, request("203.0.113.8:1", None))
                .await
                .status(),
            200
        );
        assert_eq!(
            send(&service, request("[2001:db8::1]:1", None))
                .await
                .status(),
            200
        );
        // Same /64: same bucket.
        assert_eq!(
            send(&service, request("[2001:db8::2]:1", None))
                .await
                .status(),
            429
        );
    }

    #[tokio::test]
    async fn spoofed_forwarded_for_from_an_untrusted_peer_gets_no_fresh_bucket() {
        let clock = ManualClock::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let client_ip = ClientIp::new().with_trusted_proxy("10.0.0.0/8").unwrap();
        let service = RateLimitLayer::new(limiter(1, 0.01, &clock))
            .with_client_ip(client_ip)
            .layer(handler(&calls));
        assert_eq!(
            send(&service, request("203.0.113.7:1", None))
                .await
                .status(),
            200
        );
        // The attacker names a new address with each request, even a trusted one.
        for spoof in [
            "198.51.100.1",
            "198.51.100.2",
            "10.0.0.1",
            "198.51.100.3, 10.0.0.1",
        ] {
            let response = send(&service, request("203.0.113.7:1", Some(spoof))).await;
            assert_eq!(response.status(), 429, "X-Forwarded-For: {spoof}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn forwarded_for_from_a_trusted_proxy_keys_the_client_behind_it() {
        let clock = ManualClock::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let client_ip = ClientIp::new().with_trusted_proxy("10.0.0.0/8").unwrap();
        let service = RateLimitLayer::new(limiter(1, 0.01, &clock))
            .with_client_ip(client_ip)
            .layer(handler(&calls));
        let via_lb = |client: &str| request("10.0.0.2:443", Some(client));
        assert_eq!(send(&service, via_lb("198.51.100.1")).await.status(), 200);
        assert_eq!(send(&service, via_lb("198.51.100.2")).await.status(), 200);
        assert_eq!(send(&service, via_lb("198.51.100.1")).await.status(), 429);
        // The client prepending an address of its choice keeps its own bucket.
        assert_eq!(
            send(&service, via_lb("192.0.2.99, 198.51.100.1"))
                .await
                .status(),
            429
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[derive(Clone)]
    struct User(Option<u32>);

    #[tokio::test]
    async fn a_request_without_a_key_is_not_limited() {
        let clock = ManualClock::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let service = RateLimitLayer::new(limiter(1, 0.01, &clock))
            .with_key(per_user(|user: &User| user.0))
            .layer(handler(&calls));
        let as_user = |id| {
            let mut request = Request::new(String::new());
            request.extensions_mut().insert(User(id));
            request
        };
        assert_eq!(send(&service, as_user(Some(1))).await.status(), 200);
        assert_eq!(send(&service, as_user(Some(1))).await.status(), 429);
        assert_eq!(send(&service, as_user(Some(2))).await.status(), 200);
        for _ in 0..3 {
            let response = send(&service, as_user(None)).await;
            assert_eq!(response.status(), 200);
            assert!(!response.headers().contains_key("ratelimit-limit"));
        }
    }

    struct Broken;

    #[async_trait::async_trait]
    impl RateLimitStore for Broken {
        async fn take(
            &self,
            _: &str,
            _: Bucket,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Decision, RateLimitError> {
            Err(RateLimitError::Store(
                "redis: connection refused (redis://:hunter2@10.0.0.5/)".to_owned(),
            ))
        }
    }

    #[tokio::test]
    async fn a_store_failure_fails_open_or_closed_and_never_leaks() {
        let calls = Arc::new(AtomicUsize::new(0));
        let limiter = RateLimiter::new(Broken, Bucket::new(1, 1.0));
        let open = RateLimitLayer::new(limiter.clone()).layer(handler(&calls));
        let response = send(&open, request("203.0.113.7:1", None)).await;
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("ratelimit-remaining"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let closed = RateLimitLayer::new(limiter.with_failure_mode(FailureMode::Closed))
            .layer(handler(&calls));
        let response = send(&closed, request("203.0.113.7:1", None)).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/plain"))
        );
        assert!(!response.headers().contains_key("ratelimit-remaining"));
        assert!(!response.body().contains("redis"), "{}", response.body());
        assert!(!response.body().contains("hunter2"), "{}", response.body());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn rate_limit_headers_can_be_left_out_and_a_handler_value_is_kept() {
        let clock = ManualClock::default();
        let quiet = RateLimitLayer::new(limiter(1, 1.0, &clock)).without_rate_limit_headers();
        let service = quiet.layer(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let response = send(&service, request("203.0.113.7:1", None)).await;
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("ratelimit-limit"));
        let response = send(&service, request("203.0.113.7:1", None)).await;
        assert_eq!(response.status(), 429);
        assert!(!response.headers().contains_key("ratelimit-limit"));
        assert_eq!(response.headers()["retry-after"], "1");

        let outer = RateLimitLayer::new(limiter(100, 1.0, &clock).with_scope("outer"));
        let service = outer.layer(service_fn(|_: Request<String>| async {
            let mut response = Response::new(String::new());
            response
                .headers_mut()
                .insert("ratelimit-limit", HeaderValue::from_static("5"));
            Ok::<_, Infallible>(response)
        }));
        let response = send(&service, request("203.0.113.7:1", None)).await;
        assert_eq!(response.headers()["ratelimit-limit"], "5");
        assert_eq!(response.headers()["ratelimit-remaining"], "99");
    }
}
