//! batteries on plain hyper, no framework: the tower layers wrap one `service_fn`.
//!
//! - `GET /`: who you are, and a login or logout button;
//! - `GET /login`, `POST /login`: a login form with a CSRF token;
//! - `POST /logout`;
//! - `GET /private`: only for logged-in users (others are sent to `/login?next=/private`);
//! - `/admin/`: batteries' admin for the users and groups, when [`Config::admin`] holds
//!   one ([`admin`] builds it), for staff users.
//!
//! Every response carries the security headers; unsafe requests need the CSRF token.

use std::convert::Infallible;
use std::net::SocketAddr;

use batteries::admin::{Admin, AdminSite, ModelAdmin};
use batteries::auth::entities::group;
use batteries::auth::hashers::BUSY_RETRY_AFTER;
use batteries::auth::sessions::{self, DatabaseSessionStore, Session, SessionSecret};
use batteries::auth::throttle::{LoginThrottle, MemoryThrottleStore};
use batteries::auth::{Authenticator, Credentials, ModelBackend};
use batteries::middleware::auth::{AuthLayer, CurrentUser};
use batteries::middleware::csrf::{CsrfLayer, csrf_token};
use batteries::middleware::guard::{Denial, login_required, safe_next};
use batteries::middleware::headers::{SecurityHeaders, SecurityHeadersLayer};
use batteries::middleware::ratelimit::ClientIp;
use batteries::middleware::session::{SessionConfig, SessionLayer};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use sea_orm::DatabaseConnection;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// Request bodies inside the app (requests are read whole first).
pub type Body = Full<Bytes>;

/// The body of every response: the admin's, which streams its exports.
pub type ResponseBody = batteries::admin::AdminBody;

/// The app's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Derives session auth hashes (Django's `SECRET_KEY`).
    pub secret: SessionSecret,
    /// Whether cookies are `Secure` and HSTS is sent (off for local HTTP).
    pub https: bool,
    /// The admin, served under its prefix (`/admin`), if any.
    pub admin: Option<Admin>,
}

/// The admin for batteries' own tables: users (Django's `UserAdmin`:
/// [`batteries::admin::user_admin`], with the add form's two passwords and a password
/// page per user) and groups.
///
/// # Errors
/// When the admin's permissions cannot be written (have the auth and admin migrations
/// run?).
pub async fn admin(
    db: &DatabaseConnection,
    secret: &SessionSecret,
) -> Result<Admin, batteries::admin::Error> {
    AdminSite::new()
        .register(batteries::admin::user_admin())
        .register(
            ModelAdmin::<group::Entity>::new()
                .list_display([group::Column::Name])
                .search_fields([group::Column::Name])
                .ordering("name")
                .display(|g| g.name.clone()),
        )
        .build(db.clone(), secret.clone())
        .await
}

/// Whether `path` is `prefix` or under it.
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(status: StatusCode, body: &str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::from(format!(
        "<!doctype html><meta charset=utf-8><title>hyper-minimal</title>{body}"
    )));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn redirect(to: &str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::default());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = header::HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A store failed: `503` with `Retry-After`, the cause logged (never shown).
fn unavailable(cause: &dyn std::fmt::Display) -> Response<ResponseBody> {
    tracing::error!(%cause, "a store is unavailable");
    let mut response = html(StatusCode::SERVICE_UNAVAILABLE, "<p>Please try again.");
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(batteries::middleware::UNAVAILABLE_RETRY_AFTER_SECS),
    );
    response
}

/// Too many passwords are being checked at once: `503` with `Retry-After`.
fn busy() -> Response<ResponseBody> {
    let mut response = html(
        StatusCode::SERVICE_UNAVAILABLE,
        "<p>Too many logins at once; please try again in a moment.",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(BUSY_RETRY_AFTER.as_secs().max(1)),
    );
    response
}

async fn login_form(session: &Session, next: &str, error: &str) -> Response<ResponseBody> {
    let token = match csrf_token(session).await {
        Ok(token) => token,
        Err(e) => return unavailable(&e),
    };
    let error = if error.is_empty() {
        String::new()
    } else {
        format!("<p role=alert>{}</p>", escape(error))
    };
    html(
        StatusCode::OK,
        &format!(
            "<h1>Log in</h1>{error}<form method=post action=/login>\
             <input type=hidden name=csrfmiddlewaretoken value=\"{token}\">\
             <input type=hidden name=next value=\"{}\">\
             <label>Username <input name=username autofocus></label>\
             <label>Password <input type=password name=password></label>\
             <button>Log in</button></form>",
            escape(next)
        ),
    )
}

async fn route(
    request: Request<Body>,
    authenticator: Authenticator<batteries::auth::entities::user::Model>,
    secret: SessionSecret,
) -> Response<ResponseBody> {
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return unavailable(&"the session layer is missing");
    };
    let user = request
        .extensions()
        .get::<CurrentUser>()
        .cloned()
        .unwrap_or_else(CurrentUser::anonymous);
    let name = match user.user().await {
        Ok(Some(u)) => Some(u.username().to_owned()),
        Ok(None) => None,
        Err(e) => return unavailable(&e),
    };
    // The rate limiter's rule: the peer, or behind a trusted proxy the address it saw.
    let client_ip = request
        .extensions()
        .get::<SocketAddr>()
        .map(|peer| ClientIp::new().client_ip_from(peer.ip(), request.headers()));
    let form = |body: &[u8]| -> std::collections::HashMap<String, String> {
        url::form_urlencoded::parse(body).into_owned().collect()
    };
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => {
            let token = match csrf_token(&session).await {
                Ok(token) => token,
                Err(e) => return unavailable(&e),
            };
            let body = match &name {
                Some(name) => format!(
                    "<p>Hello, {}. <a href=/private>Private page</a>\
                     <form method=post action=/logout><input type=hidden \
                     name=csrfmiddlewaretoken value=\"{token}\"><button>Log out</button></form>",
                    escape(name)
                ),
                None => "<p>You are not logged in. <a href=/login>Log in</a>".to_owned(),
            };
            html(StatusCode::OK, &body)
        }
        (&Method::GET, "/login") => {
            let query = form(request.uri().query().unwrap_or("").as_bytes());
            login_form(&session, query.get("next").map_or("", String::as_str), "").await
        }
        (&Method::POST, "/login") => {
            let body = request.into_body().collect().await;
            let fields = form(
                &body
                    .map(http_body_util::Collected::to_bytes)
                    .unwrap_or_default(),
            );
            let get = |k: &str| fields.get(k).map_or("", String::as_str);
            let credentials = Credentials::new(get("username"), get("password"));
            match authenticator
                .authenticate_from(&credentials, client_ip)
                .await
            {
                Ok(Some(user)) => match sessions::login(&session, &user, &secret).await {
                    Ok(()) => redirect(safe_next(get("next")).unwrap_or("/")),
                    Err(e) => unavailable(&e),
                },
                Ok(None) => {
                    login_form(&session, get("next"), "Invalid username or password.").await
                }
                Err(e) if e.is_busy() => busy(),
                Err(e) => unavailable(&e),
            }
        }
        (&Method::POST, "/logout") => match sessions::logout(&session).await {
            Ok(()) => redirect("/"),
            Err(e) => unavailable(&e),
        },
        (&Method::GET, "/private") => {
            if !user.is_authenticated() {
                let denial = Denial::Redirect("/login".into());
                return login_required(&denial, request.uri(), request.headers());
            }
            html(
                StatusCode::OK,
                &format!("<p>Only {} sees this.", escape(&name.unwrap_or_default())),
            )
        }
        _ => html(StatusCode::NOT_FOUND, "<p>Not found."),
    }
}

/// The user called `username`, if any.
///
/// # Errors
/// The database failed.
pub async fn find_user(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<batteries::auth::entities::user::Model>, sea_orm::DbErr> {
    use batteries::auth::entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
}

/// The whole app as one tower service: security headers, sessions in the database,
/// the current user, CSRF, then the handful of pages listed in the crate docs and the
/// admin.
pub fn app(
    db: &DatabaseConnection,
    config: &Config,
) -> BoxCloneSyncService<Request<Body>, Response<ResponseBody>, Infallible> {
    let backend = ModelBackend::new(db.clone());
    // Failed logins are counted per username and per client IP (the peer `serve` puts
    // in the request's extensions).
    let authenticator = Authenticator::new()
        .with_backend(backend.clone())
        .with_throttle(LoginThrottle::new(MemoryThrottleStore::new()));
    let secret = config.secret.clone();
    let admin = config.admin.clone();
    let headers = if config.https {
        SecurityHeaders::new()
    } else {
        SecurityHeaders::new().without_hsts()
    };
    let service = ServiceBuilder::new()
        .layer(SecurityHeadersLayer::new(headers))
        .layer(SessionLayer::new(
            DatabaseSessionStore::new(db.clone()),
            SessionConfig::new().with_secure(config.https),
        ))
        .layer(AuthLayer::new(backend, config.secret.clone()))
        .layer(CsrfLayer::new())
        .service(service_fn(move |request: Request<Body>| {
            let (authenticator, secret) = (authenticator.clone(), secret.clone());
            let admin = admin
                .clone()
                .filter(|admin| under(request.uri().path(), admin.prefix()));
            async move {
                match admin {
                    Some(admin) => admin.oneshot(request).await,
                    None => Ok::<_, Infallible>(route(request, authenticator, secret).await),
                }
            }
        }));
    BoxCloneSyncService::new(service)
}

/// Accepts connections on `listener` and serves [`app`] with hyper until the task is
/// dropped. Request bodies over 1 MiB are refused with `413`.
pub async fn serve(listener: tokio::net::TcpListener, db: DatabaseConnection, config: Config) {
    let app = app(&db, &config);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: retrying at once would spin a core.
                tracing::warn!("accept failed: {e}; retrying in 100 ms");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move {
                        let (mut parts, body) = request.into_parts();
                        parts.extensions.insert::<SocketAddr>(peer);
                        let Ok(body) = Limited::new(body, 1 << 20).collect().await else {
                            return Ok::<_, Infallible>(html(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                "<p>Request too large.",
                            ));
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
}
