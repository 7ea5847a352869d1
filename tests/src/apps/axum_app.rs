//! The conformance app on axum: extractors from `batteries-axum`, tower layers as is.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use batteries::axum::{CurrentUser, RequireUser, RouterExt, Session};
use batteries::middleware::BatteriesLayer;
use batteries::middleware::guard::Denial;
use batteries::middleware::ratelimit::{ClientIp, RateLimitLayer, per_user_or_client_ip};

use super::{Pieces, Reply};

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Html(body) => Html(body).into_response(),
            Reply::Json(status, body) => (
                axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
                Json(body),
            )
                .into_response(),
            Reply::Redirect(to) => (
                axum::http::StatusCode::FOUND,
                [(axum::http::header::LOCATION, to)],
            )
                .into_response(),
            Reply::Unavailable(message) => {
                batteries::middleware::unavailable::<axum::body::Body>(message).into_response()
            }
        }
    }
}

async fn login_get(Session(session): Session, Query(q): Query<HashMap<String, String>>) -> Reply {
    super::login_page(&session, q.get("next").map(String::as_str), None).await
}

async fn login_post(
    State(pieces): State<Pieces>,
    Session(session): Session,
    Form(form): Form<HashMap<String, String>>,
) -> Reply {
    super::login_submit(&pieces, &session, &form).await
}

async fn logout(Session(session): Session) -> Reply {
    super::logout(&session).await
}

async fn me_html(CurrentUser(user): CurrentUser) -> Reply {
    super::me(&user, true).await
}

async fn me_json(RequireUser(user): RequireUser) -> Reply {
    super::me(&user, false).await
}

async fn change_password(
    State(pieces): State<Pieces>,
    Session(session): Session,
    RequireUser(user): RequireUser,
    Form(form): Form<HashMap<String, String>>,
) -> Reply {
    super::change_password(&pieces, &session, &user, &form).await
}

async fn token(State(pieces): State<Pieces>, body: axum::body::Bytes) -> Reply {
    super::token(&pieces, &super::parse_json(&body)).await
}

async fn refresh(State(pieces): State<Pieces>, body: axum::body::Bytes) -> Reply {
    super::refresh(&pieces, &super::parse_json(&body)).await
}

async fn revoke(State(pieces): State<Pieces>, body: axum::body::Bytes) -> Reply {
    super::revoke(&pieces, &super::parse_json(&body)).await
}

async fn csrf(Session(session): Session) -> Reply {
    super::csrf(&session).await
}

/// The client's address as axum's `serve` reports it.
fn client_ip() -> ClientIp {
    ClientIp::new().with_peer(|parts| {
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// The app's router.
pub fn router(pieces: Pieces) -> Router {
    let html = Router::new()
        .route("/me", get(me_html))
        .require_login(Denial::Redirect("/login".into()));
    let api = Router::new()
        .route("/api/me", get(me_json))
        .route("/password", post(change_password))
        .require_login(Denial::Unauthorized);
    let perm = Router::new()
        .route("/api/perm", get(|| async { super::perm_ok() }))
        .require_perm("blog.add_post", Denial::Unauthorized);
    let limited = Router::new()
        .route("/api/limited", get(|| async { super::limited_ok() }))
        .route_layer(RateLimitLayer::new(pieces.limiter.clone()).with_client_ip(
            ClientIp::new().with_peer(|parts| {
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0.ip())
            }),
        ));
    let limited_user = Router::new()
        .route("/api/limited-user", get(|| async { super::limited_ok() }))
        .route_layer(RateLimitLayer::new(pieces.user_limiter.clone()).with_key(
            per_user_or_client_ip(
                |u: &batteries::middleware::auth::CurrentUser| u.pk().map(str::to_owned),
                client_ip(),
            ),
        ));
    Router::new()
        .route("/login", get(login_get).post(login_post))
        .route("/logout", post(logout))
        .route("/csrf", get(csrf))
        .route("/panic", get(|| async { super::panics() }))
        .route("/api/token", post(token))
        .route("/api/token/refresh", post(refresh))
        .route("/api/token/revoke", post(revoke))
        .merge(html)
        .merge(api)
        .merge(perm)
        .merge(limited)
        .merge(limited_user)
        .with_state(pieces.clone())
        // The preset, as the actix-web app's `Batteries` middleware: the conformance
        // suite holds the two to the same behaviour.
        .layer(
            BatteriesLayer::new()
                .security_headers(pieces.headers.clone())
                .sessions(pieces.sessions.clone())
                .auth(pieces.auth.clone())
                .csrf(pieces.csrf.clone()),
        )
}

/// Serves [`router`] on `listener` in a task of the current runtime.
pub fn spawn(listener: std::net::TcpListener, pieces: Pieces) {
    let app = router(pieces);
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("axum serve");
    });
}
