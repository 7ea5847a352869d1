//! The conformance app on actix-web: the `Batteries` middleware and extractors of
//! `batteries-actix`.

use std::collections::HashMap;

use actix_web::{App, HttpResponse, HttpServer, web};
use batteries::actix::{
    Batteries, CurrentUser, RateLimit, RequireLogin, RequirePerm, RequireUser, Session,
};
use batteries::middleware::guard::Denial;
use batteries::middleware::ratelimit::ClientIp;

use super::{Pieces, Reply};

fn respond(reply: Reply) -> HttpResponse {
    match reply {
        Reply::Html(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Reply::Json(status, body) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::OK),
        )
        .json(body),
        Reply::Redirect(to) => HttpResponse::Found()
            .insert_header(("Location", to))
            .finish(),
        Reply::Unavailable(message) => HttpResponse::ServiceUnavailable()
            .insert_header((
                "Retry-After",
                batteries::middleware::UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
            ))
            .content_type("text/plain; charset=utf-8")
            .body(message),
    }
}

async fn login_get(
    Session(session): Session,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    respond(super::login_page(&session, q.get("next").map(String::as_str), None).await)
}

async fn login_post(
    pieces: web::Data<Pieces>,
    Session(session): Session,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    respond(super::login_submit(&pieces, &session, &form).await)
}

async fn logout(Session(session): Session) -> HttpResponse {
    respond(super::logout(&session).await)
}

async fn me_html(CurrentUser(user): CurrentUser) -> HttpResponse {
    respond(super::me(&user, true).await)
}

async fn me_json(RequireUser(user): RequireUser) -> HttpResponse {
    respond(super::me(&user, false).await)
}

async fn change_password(
    pieces: web::Data<Pieces>,
    Session(session): Session,
    RequireUser(user): RequireUser,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    respond(super::change_password(&pieces, &session, &user, &form).await)
}

async fn token(pieces: web::Data<Pieces>, body: web::Bytes) -> HttpResponse {
    respond(super::token(&pieces, &super::parse_json(&body)).await)
}

async fn refresh(pieces: web::Data<Pieces>, body: web::Bytes) -> HttpResponse {
    respond(super::refresh(&pieces, &super::parse_json(&body)).await)
}

async fn revoke(pieces: web::Data<Pieces>, body: web::Bytes) -> HttpResponse {
    respond(super::revoke(&pieces, &super::parse_json(&body)).await)
}

async fn csrf(Session(session): Session) -> HttpResponse {
    respond(super::csrf(&session).await)
}

/// Configures the app's routes and middleware.
pub fn configure(pieces: &Pieces) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let pieces = pieces.clone();
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(pieces.clone()))
            .route("/login", web::get().to(login_get))
            .route("/login", web::post().to(login_post))
            .route("/logout", web::post().to(logout))
            .route("/csrf", web::get().to(csrf))
            .route(
                "/panic",
                web::get().to(|| async { respond(super::panics()) }),
            )
            .route("/api/token", web::post().to(token))
            .route("/api/token/refresh", web::post().to(refresh))
            .route("/api/token/revoke", web::post().to(revoke))
            .service(
                web::resource("/me")
                    .wrap(RequireLogin::new(Denial::Redirect("/login".into())))
                    .route(web::get().to(me_html)),
            )
            .service(
                web::resource("/api/me")
                    .wrap(RequireLogin::new(Denial::Unauthorized))
                    .route(web::get().to(me_json)),
            )
            .service(
                web::resource("/password")
                    .wrap(RequireLogin::new(Denial::Unauthorized))
                    .route(web::post().to(change_password)),
            )
            .service(
                web::resource("/api/limited")
                    .wrap(RateLimit::new(pieces.limiter.clone(), ClientIp::new()))
                    .route(web::get().to(|| async { respond(super::limited_ok()) })),
            )
            .service(
                web::resource("/api/limited-user")
                    .wrap(RateLimit::new(pieces.user_limiter.clone(), ClientIp::new()).per_user())
                    .route(web::get().to(|| async { respond(super::limited_ok()) })),
            )
            .service(
                web::resource("/api/perm")
                    .wrap(RequirePerm::new("blog.add_post", Denial::Unauthorized))
                    .route(web::get().to(|| async { respond(super::perm_ok()) })),
            );
    }
}

/// The middleware the app wraps itself in.
pub fn batteries(pieces: &Pieces) -> Batteries {
    Batteries::new()
        .sessions(pieces.sessions.clone())
        .auth(pieces.auth.clone())
        .csrf(pieces.csrf.clone())
        .security_headers(pieces.headers.clone())
}

/// Serves the app on `listener` from a thread running its own actix system; returns
/// the handle that stops it.
pub fn spawn(listener: std::net::TcpListener, pieces: Pieces) -> actix_web::dev::ServerHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let configure = configure(&pieces);
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(batteries(&pieces))
                    .configure(configure.clone())
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
            let _ = tx.send(server.handle());
            server.await.expect("actix serve");
        });
    });
    rx.recv().expect("the actix server starts")
}
