//! The conformance app on plain hyper: the tower layers used directly, routing by hand.

use std::convert::Infallible;

use batteries::auth::sessions::Session;
use batteries::middleware::BatteriesLayer;
use batteries::middleware::auth::CurrentUser;
use batteries::middleware::guard::{Denial, RequireLoginLayer, RequirePermLayer};
use batteries::middleware::ratelimit::{ClientIp, RateLimitLayer, per_user_or_client_ip};
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt, service_fn};

use super::{Pieces, Reply, parse_form};

/// The body type inside the app: requests are read whole (at most 1 MiB) first.
pub type Body = Full<Bytes>;
type Handler = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

fn respond(reply: Reply) -> Response<Body> {
    let (status, content_type, body, location) = match reply {
        Reply::Html(body) => (200, "text/html; charset=utf-8", body, None),
        Reply::Json(status, body) => (status, "application/json", body.to_string(), None),
        Reply::Redirect(to) => (302, "text/plain", String::new(), Some(to)),
        Reply::Unavailable(message) => return batteries::middleware::unavailable(message),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    if let Some(to) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, to);
    }
    response
}

fn session(req: &Request<Body>) -> Session {
    req.extensions()
        .get::<Session>()
        .cloned()
        .expect("SessionLayer")
}

fn user(req: &Request<Body>) -> CurrentUser {
    req.extensions()
        .get::<CurrentUser>()
        .cloned()
        .expect("AuthLayer")
}

async fn body_form(req: Request<Body>) -> std::collections::HashMap<String, String> {
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    parse_form(&bytes)
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request<Body>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    BoxCloneSyncService::new(service_fn(move |req| {
        let f = f.clone();
        async move { Ok::<_, Infallible>(respond(f(req).await)) }
    }))
}

struct Routes {
    login: Handler,
    logout: Handler,
    csrf: Handler,
    me_html: Handler,
    me_json: Handler,
    password: Handler,
    perm: Handler,
    limited: Handler,
    limited_user: Handler,
    token: Handler,
    refresh: Handler,
    revoke: Handler,
    panic: Handler,
}

fn json_handler<F, Fut>(pieces: &Pieces, f: F) -> Handler
where
    F: Fn(Pieces, serde_json::Value) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let pieces = pieces.clone();
    handler(move |req: Request<Body>| {
        let (pieces, f) = (pieces.clone(), f.clone());
        async move {
            let bytes = req
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            f(pieces, super::parse_json(&bytes)).await
        }
    })
}

fn routes(pieces: &Pieces) -> Routes {
    let login = {
        let pieces = pieces.clone();
        handler(move |req: Request<Body>| {
            let pieces = pieces.clone();
            async move {
                let session = session(&req);
                if req.method() == http::Method::POST {
                    let form = body_form(req).await;
                    super::login_submit(&pieces, &session, &form).await
                } else {
                    let query = parse_form(req.uri().query().unwrap_or("").as_bytes());
                    super::login_page(&session, query.get("next").map(String::as_str), None).await
                }
            }
        })
    };
    let login_required = RequireLoginLayer::new(Denial::Redirect("/login".into()));
    let api_login_required = RequireLoginLayer::new(Denial::Unauthorized);
    let password = {
        let pieces = pieces.clone();
        handler(move |req: Request<Body>| {
            let pieces = pieces.clone();
            async move {
                let (session, user) = (session(&req), user(&req));
                let form = body_form(req).await;
                super::change_password(&pieces, &session, &user, &form).await
            }
        })
    };
    Routes {
        login,
        logout: handler(|req: Request<Body>| async move { super::logout(&session(&req)).await }),
        csrf: handler(|req: Request<Body>| async move { super::csrf(&session(&req)).await }),
        me_html: BoxCloneSyncService::new(login_required.layer(handler(
            |req: Request<Body>| async move { super::me(&user(&req), true).await },
        ))),
        me_json: BoxCloneSyncService::new(api_login_required.layer(handler(
            |req: Request<Body>| async move { super::me(&user(&req), false).await },
        ))),
        password: BoxCloneSyncService::new(api_login_required.layer(password)),
        token: json_handler(
            pieces,
            |p, body| async move { super::token(&p, &body).await },
        ),
        refresh: json_handler(
            pieces,
            |p, body| async move { super::refresh(&p, &body).await },
        ),
        revoke: json_handler(
            pieces,
            |p, body| async move { super::revoke(&p, &body).await },
        ),
        limited_user: BoxCloneSyncService::new(
            RateLimitLayer::new(pieces.user_limiter.clone())
                .with_key(per_user_or_client_ip(
                    |u: &CurrentUser| u.pk().map(str::to_owned),
                    ClientIp::new(),
                ))
                .layer(handler(|_: Request<Body>| async { super::limited_ok() })),
        ),
        limited: BoxCloneSyncService::new(
            RateLimitLayer::new(pieces.limiter.clone())
                .layer(handler(|_: Request<Body>| async { super::limited_ok() })),
        ),
        panic: handler(|_: Request<Body>| async { super::panics() }),
        perm: BoxCloneSyncService::new(
            RequirePermLayer::new("blog.add_post", Denial::Unauthorized)
                .layer(handler(|_: Request<Body>| async { super::perm_ok() })),
        ),
    }
}

/// The whole app as one tower service on whole-body requests.
pub fn app(pieces: &Pieces) -> Handler {
    let routes = std::sync::Arc::new(routes(pieces));
    let router = service_fn(move |req: Request<Body>| {
        let routes = routes.clone();
        async move {
            use http::Method;
            let route = match (req.method(), req.uri().path()) {
                (&Method::GET | &Method::POST, "/login") => Some(&routes.login),
                (&Method::POST, "/logout") => Some(&routes.logout),
                (&Method::GET, "/csrf") => Some(&routes.csrf),
                (&Method::GET, "/me") => Some(&routes.me_html),
                (&Method::GET, "/api/me") => Some(&routes.me_json),
                (&Method::POST, "/password") => Some(&routes.password),
                (&Method::GET, "/api/perm") => Some(&routes.perm),
                (&Method::GET, "/api/limited") => Some(&routes.limited),
                (&Method::GET, "/api/limited-user") => Some(&routes.limited_user),
                (&Method::POST, "/api/token") => Some(&routes.token),
                (&Method::POST, "/api/token/refresh") => Some(&routes.refresh),
                (&Method::POST, "/api/token/revoke") => Some(&routes.revoke),
                (&Method::GET, "/panic") => Some(&routes.panic),
                _ => None,
            };
            match route {
                Some(route) => route.clone().oneshot(req).await,
                None => Ok(respond(Reply::Json(
                    404,
                    serde_json::json!({ "error": "not found" }),
                ))),
            }
        }
    });
    BoxCloneSyncService::new(
        BatteriesLayer::new()
            .security_headers(pieces.headers.clone())
            .sessions(pieces.sessions.clone())
            .auth(pieces.auth.clone())
            .csrf(pieces.csrf.clone())
            .layer(router),
    )
}

/// Serves [`app`] with hyper on `listener`.
pub fn spawn(listener: std::net::TcpListener, pieces: Pieces) {
    let app = app(&pieces);
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let app = app.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let app = app.clone();
                    async move {
                        let (mut parts, body) = req.into_parts();
                        parts.extensions.insert(peer);
                        let Ok(body) = Limited::new(body, 1 << 20).collect().await else {
                            return Ok::<_, Infallible>(respond(Reply::Json(
                                413,
                                serde_json::json!({ "error": "request body too large" }),
                            )));
                        };
                        app.oneshot(Request::from_parts(parts, Full::new(body.to_bytes())))
                            .await
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
