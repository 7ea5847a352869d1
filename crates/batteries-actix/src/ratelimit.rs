//! [`RateLimit`]: the token-bucket rate limit for actix-web scopes and resources.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use batteries_middleware::auth::CurrentUser;
use batteries_middleware::ratelimit::{
    ClientIp, Decision, RateLimiter, Verdict, service_unavailable, too_many_requests,
};
use futures_util::future::LocalBoxFuture;

use crate::convert::{headers_in, replace_out, response_out};

/// Limits requests per client IP (or per logged-in user) with a
/// `batteries_middleware::ratelimit::RateLimiter`, answering `429` with `Retry-After`
/// as the tower `RateLimitLayer` does (and `503` when the store is down and the limiter
/// fails closed).
///
/// ```
/// use actix_web::{App, web};
/// use batteries_actix::RateLimit;
/// use batteries_middleware::ratelimit::{Bucket, ClientIp, MemoryRateLimitStore, RateLimiter};
///
/// let limiter = RateLimiter::new(MemoryRateLimitStore::new(), Bucket::new(10, 1.0));
/// let app = App::new().service(
///     web::resource("/api/search")
///         .wrap(RateLimit::new(limiter, ClientIp::new()))
///         .route(web::get().to(|| async { "results" })),
/// );
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct RateLimit {
    inner: Rc<Config>,
}

#[derive(Clone)]
struct Config {
    limiter: RateLimiter,
    client_ip: ClientIp,
    per_user: bool,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("per_user", &self.inner.per_user)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// A bucket per client IP, found by `client_ip` (which says which proxies'
    /// `X-Forwarded-For` to believe).
    pub fn new(limiter: RateLimiter, client_ip: ClientIp) -> Self {
        Self {
            inner: Rc::new(Config {
                limiter,
                client_ip,
                per_user: false,
            }),
        }
    }

    /// A bucket per logged-in user (from the `Batteries` middleware's current user), and
    /// per client IP for anonymous requests.
    #[must_use]
    pub fn per_user(mut self) -> Self {
        Rc::make_mut(&mut self.inner).per_user = true;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RateLimitMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitMiddleware {
            service: Rc::new(service),
            config: self.inner.clone(),
        }))
    }
}

/// The service made by [`RateLimit`].
pub struct RateLimitMiddleware<S> {
    service: Rc<S>,
    config: Rc<Config>,
}

impl<S, B> Service<ServiceRequest> for RateLimitMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let config = self.config.clone();
        Box::pin(async move {
            let user_key = if config.per_user {
                req.extensions()
                    .get::<CurrentUser>()
                    .and_then(|u| u.pk().map(|pk| format!("user:{pk}")))
            } else {
                None
            };
            let key = user_key.or_else(|| {
                let peer = req.peer_addr()?.ip();
                let headers = headers_in(req.headers());
                let ip = config.client_ip.client_ip_from(peer, &headers);
                Some(config.client_ip.key_for(ip))
            });
            let verdict = match &key {
                Some(key) => config.limiter.decide(key).await,
                None => Verdict::Unchecked,
            };
            let decision = match verdict {
                Verdict::Decided(Decision::Denied { retry_after, .. }) => {
                    let response = response_out(too_many_requests(retry_after));
                    return Ok(req.into_response(response).map_into_right_body());
                }
                Verdict::Unavailable { retry_after } => {
                    let response = response_out(service_unavailable(retry_after));
                    return Ok(req.into_response(response).map_into_right_body());
                }
                Verdict::Decided(decision) => Some(decision),
                _ => None,
            };
            let mut response = service.call(req).await?;
            if let Some(decision) = decision {
                let mut headers = headers_in(response.headers());
                decision.write_headers(&mut headers);
                replace_out(&headers, response.headers_mut());
            }
            Ok(response.map_into_left_body())
        })
    }
}
