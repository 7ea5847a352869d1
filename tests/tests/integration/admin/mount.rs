//! The admin mounted on the three frameworks: axum (`nest_service`), actix-web
//! (`batteries_actix::admin::scope` under the `Batteries` middleware) and plain hyper (the
//! tower stack as a hyper service). One scenario, talked over HTTP on loopback as a
//! browser would: the login redirect, the login form, the changelist, a streamed export,
//! the add form, the JSON API, and a form post without its CSRF token.

use std::convert::Infallible;
use std::net::SocketAddr;

use actix_web::{App, HttpServer};
use batteries::actix::Batteries;
use batteries::admin::Admin;
use batteries::auth::ModelBackend;
use batteries::auth::sessions::{DatabaseSessionStore, SessionSecret};
use batteries::middleware::auth::{AuthLayer, Authentication};
use batteries::middleware::csrf::CsrfLayer;
use batteries::middleware::headers::{SecurityHeaders, SecurityHeadersLayer};
use batteries::middleware::session::{SessionConfig, SessionLayer, SessionManager};
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, PANICKING_AUTHOR, PASSWORD, entities::author};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply, get_on};
use http::StatusCode;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use tower::{ServiceBuilder, ServiceExt};

backend_tests!(
    admin_on_axum,
    admin_on_actix,
    admin_on_hyper,
    a_panic_mid_export_breaks_the_body_off
);

/// Where a site listens, and what stops it.
struct Site {
    addr: SocketAddr,
    stop: Stop,
}

enum Stop {
    Task(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

impl Site {
    async fn stop(self) {
        match self.stop {
            Stop::Task(task) => task.abort(),
            Stop::Actix(handle) => handle.stop(false).await,
        }
    }
}

/// The library site's tables, users, two authors and three books; the admin.
async fn prepare(db: &DatabaseConnection, secret: &SessionSecret) -> Admin {
    admin_app::setup(db).await;
    let admin = admin_app::admin(db, secret).await;
    admin_app::seed_users(db).await;
    admin_app::seed_library(db, 2, 3).await;
    admin
}

fn listener() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    listener
}

fn serve_axum(db: &DatabaseConnection, admin: Admin, secret: &SessionSecret) -> Site {
    let app = admin_app::router(db, admin, secret);
    let listener = tokio::net::TcpListener::from_std(listener()).expect("listener");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Site {
        addr,
        stop: Stop::Task(task),
    }
}

/// The actix-web app: the `Batteries` middleware configured like the conformance app,
/// the admin scope under it.
fn serve_actix(db: &DatabaseConnection, admin: Admin, secret: &SessionSecret) -> Site {
    let listener = listener();
    let addr = listener.local_addr().expect("addr");
    let sessions = SessionManager::new(
        DatabaseSessionStore::new(db.clone()),
        SessionConfig::new().with_secure(false),
    );
    let auth = Authentication::new(ModelBackend::new(db.clone()), secret.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(
                        Batteries::new()
                            .sessions(sessions.clone())
                            .auth(auth.clone())
                            .csrf(CsrfLayer::new())
                            .security_headers(SecurityHeaders::new().without_hsts()),
                    )
                    .service(batteries::actix::admin::scope(admin.clone()))
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
    Site {
        addr,
        stop: Stop::Actix(rx.recv().expect("the actix server starts")),
    }
}

/// Plain hyper: the tower layers around the admin, called for every request whose path
/// starts with `/admin`.
fn serve_hyper(db: &DatabaseConnection, admin: Admin, secret: &SessionSecret) -> Site {
    let service = ServiceBuilder::new()
        .layer(SecurityHeadersLayer::new(
            SecurityHeaders::new().without_hsts(),
        ))
        .layer(SessionLayer::new(
            DatabaseSessionStore::new(db.clone()),
            SessionConfig::new().with_secure(false),
        ))
        .layer(AuthLayer::new(
            ModelBackend::new(db.clone()),
            secret.clone(),
        ))
        .layer(CsrfLayer::new())
        .service(admin);
    let listener = tokio::net::TcpListener::from_std(listener()).expect("listener");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service =
                    hyper::service::service_fn(move |req: http::Request<Incoming>| {
                        let service = service.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = match Limited::new(body, 2 << 20).collect().await {
                                Ok(body) => body.to_bytes(),
                                Err(_) => bytes::Bytes::new(),
                            };
                            if !parts.uri.path().starts_with("/admin") {
                                let mut missing = http::Response::new(
                                    Full::new(bytes::Bytes::from_static(b"not found")).boxed(),
                                );
                                *missing.status_mut() = StatusCode::NOT_FOUND;
                                return Ok::<_, Infallible>(missing);
                            }
                            let response = service
                                .oneshot(http::Request::from_parts(parts, Full::new(bytes)))
                                .await
                                .expect("the stack answers");
                            let (parts, body) = response.into_parts();
                            let body = match body.collect().await {
                                Ok(body) => body.to_bytes(),
                                Err(_) => bytes::Bytes::new(),
                            };
                            Ok(http::Response::from_parts(parts, Full::new(body).boxed()))
                        }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    Site {
        addr,
        stop: Stop::Task(task),
    }
}

/// The value of the page's first hidden `csrfmiddlewaretoken` field.
fn token(page: &Reply) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF field in {}", page.body));
    let rest = &page.body[at + marker.len()..];
    rest[..rest.find('"').expect("closing quote")].to_owned()
}

async fn authors_named(db: &DatabaseConnection, name: &str) -> u64 {
    author::Entity::find()
        .filter(author::Column::Name.eq(name))
        .count(db)
        .await
        .expect("count")
}

/// The scenario every framework must pass.
async fn scenario(db: &DatabaseConnection, site: &Site, framework: &str) {
    let mut browser = Browser::new(site.addr);

    let anonymous = browser.get("/admin/").await;
    assert_eq!(
        anonymous.status,
        StatusCode::FOUND,
        "{framework}: {anonymous:?}"
    );
    let location = anonymous.location().expect("Location");
    assert!(
        location.starts_with("/admin/login/?next="),
        "{framework}: redirected to {location}"
    );

    let login = browser.get(location).await;
    assert_eq!(login.status, StatusCode::OK, "{framework}: {}", login.body);
    let wrong = browser
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token(&login)),
                ("username", "admin"),
                ("password", "not the password"),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::OK,
        "{framework}: a wrong password shows the form"
    );
    let logged_in = browser
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token(&wrong)),
                ("username", "admin"),
                ("password", PASSWORD),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(
        logged_in.status,
        StatusCode::FOUND,
        "{framework}: {}",
        logged_in.body
    );
    assert_eq!(logged_in.location(), Some("/admin/"), "{framework}");
    assert!(
        browser.session_cookie().is_some(),
        "{framework}: a session cookie"
    );

    let index = browser.get("/admin/").await;
    assert_eq!(index.status, StatusCode::OK, "{framework}");
    assert_eq!(index.header("x-frame-options"), Some("DENY"), "{framework}");

    let changelist = browser.get("/admin/library/book/").await;
    assert_eq!(changelist.status, StatusCode::OK, "{framework}");
    assert!(
        changelist.body.contains("Book 0001 about django"),
        "{framework}: the changelist lists a seeded book"
    );

    // The export is a streamed body: each mount passes it on whole.
    let export = browser
        .get("/admin/library/book/export/?format=csv&ordering=title")
        .await;
    assert_eq!(
        export.status,
        StatusCode::OK,
        "{framework}: {}",
        export.body
    );
    assert!(
        export
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"book-")),
        "{framework}: {:?}",
        export.headers
    );
    assert_eq!(
        export.body.lines().count(),
        4,
        "{framework}: a header and the three books: {}",
        export.body
    );
    assert!(
        export.body.contains("Book 0001 about django"),
        "{framework}: {}",
        export.body
    );

    // An author, not a book: the test site's book hook fills `uuid` only on changes
    // (its `on_save` reads the flag inverted), so a book cannot be added there yet.
    let name = format!("Mounted on {framework}");
    let form = browser.get("/admin/library/author/add/").await;
    assert_eq!(form.status, StatusCode::OK, "{framework}");
    let added = browser
        .post_form(
            "/admin/library/author/add/",
            &[
                ("csrfmiddlewaretoken", &token(&form)),
                ("name", &name),
                ("bio", "Added through the admin's form."),
                ("_save", "Save"),
            ],
        )
        .await;
    assert_eq!(
        added.status,
        StatusCode::FOUND,
        "{framework}: {}",
        added.body
    );
    assert_eq!(
        authors_named(db, &name).await,
        1,
        "{framework}: the row exists"
    );

    let api = browser.get_api("/admin/api/library/author/", &[]).await;
    assert_eq!(api.status, StatusCode::OK, "{framework}: {}", api.body);
    assert!(api.json().is_object(), "{framework}: {}", api.body);
    assert!(api.body.contains(&name), "{framework}: {}", api.body);

    let forged = format!("Forged on {framework}");
    let refused = browser
        .post_form(
            "/admin/library/author/add/",
            &[("name", forged.as_str()), ("_save", "Save")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "{framework}: {}",
        refused.body
    );
    assert_eq!(
        authors_named(db, &forged).await,
        0,
        "{framework}: nothing added"
    );

    a_panicking_hook_answers_a_plain_500(db, site, framework, &mut browser).await;
}

/// A `ModelAdmin` hook that panics (the author's `display`) gets a plain 500 from the
/// admin, HTML or JSON, with the admin's headers and no internals; the session and the
/// connection live on.
async fn a_panicking_hook_answers_a_plain_500(
    db: &DatabaseConnection,
    site: &Site,
    framework: &str,
    browser: &mut Browser,
) {
    let bad = author::ActiveModel {
        name: Set(PANICKING_AUTHOR.to_owned()),
        bio: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert");
    let change = format!("/admin/library/author/{}/change/", bad.id);
    let page = browser.get(&change).await;
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{framework}: {}",
        page.body
    );
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{framework}"
    );
    assert!(!page.body.contains("7f3a"), "{framework}: {}", page.body);
    assert!(!page.body.contains("display"), "{framework}: {}", page.body);
    let id = page.header("x-request-id").expect("a request id");
    assert!(page.body.contains(id), "{framework}: {}", page.body);
    assert_eq!(page.header("x-frame-options"), Some("DENY"), "{framework}");
    // Answered by the admin itself (its own headers), not only by a layer around it.
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("frame-ancestors 'none'")),
        "{framework}: {:?}",
        page.headers
    );

    let api = browser
        .get_api(
            &format!("/admin/api/library/author/{}/", bad.id),
            &[("x-request-id", "admin-req-1")],
        )
        .await;
    assert_eq!(
        api.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{framework}: {}",
        api.body
    );
    assert_eq!(
        api.json(),
        serde_json::json!({"error": "internal server error", "request_id": "admin-req-1"}),
        "{framework}"
    );
    assert_eq!(
        api.header("x-request-id"),
        Some("admin-req-1"),
        "{framework}"
    );

    // The session lives on, and so does the connection.
    assert_eq!(
        browser.get("/admin/").await.status,
        StatusCode::OK,
        "{framework}"
    );
    let cookie = format!("sessionid={}", browser.session_cookie().expect("logged in"));
    let mut stream = tokio::net::TcpStream::connect(site.addr)
        .await
        .expect("connect");
    let headers = [("accept", "text/html"), ("cookie", cookie.as_str())];
    let (status, _, body) = get_on(&mut stream, &change, &headers).await;
    assert_eq!(status, 500, "{framework}: {body}");
    let (status, _, body) = get_on(&mut stream, "/admin/library/author/", &headers).await;
    assert_eq!(
        status, 500,
        "{framework}: the changelist displays it too: {body}"
    );
    let (status, _, body) = get_on(&mut stream, "/admin/", &headers).await;
    assert_eq!(status, 200, "{framework}: {body}");
}

async fn admin_on_axum(db: &TestDb) {
    let secret = admin_app::secret();
    let admin = prepare(db.conn(), &secret).await;
    let site = serve_axum(db.conn(), admin, &secret);
    scenario(db.conn(), &site, "axum").await;
    site.stop().await;
}

async fn admin_on_actix(db: &TestDb) {
    let secret = admin_app::secret();
    let admin = prepare(db.conn(), &secret).await;
    let site = serve_actix(db.conn(), admin, &secret);
    scenario(db.conn(), &site, "actix").await;
    site.stop().await;
}

async fn admin_on_hyper(db: &TestDb) {
    let secret = admin_app::secret();
    let admin = prepare(db.conn(), &secret).await;
    let site = serve_hyper(db.conn(), admin, &secret);
    scenario(db.conn(), &site, "hyper").await;
    site.stop().await;
}

/// A panic while an export streams, after its `200` went out, cannot become a `500`:
/// the body breaks off (no final chunk) and the server closes the connection, so the
/// client never takes the file for complete; the panic's text is not in it. On axum and actix-web, which stream the
/// body (this file's hyper mount collects it first).
async fn a_panic_mid_export_breaks_the_body_off(db: &TestDb) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let secret = admin_app::secret();
    let _ = prepare(db.conn(), &secret).await;
    // More authors than one batch (1,000): the request reads the first batch, the
    // export's task the rest, and the hook panics in the second.
    let bulk = (0..1100).map(|i| author::ActiveModel {
        name: Set(format!("Bulk {i:04}")),
        bio: Set(None),
        ..Default::default()
    });
    author::Entity::insert_many(bulk)
        .exec(db.conn())
        .await
        .expect("authors");
    let site_with_bug = || async {
        batteries::admin::AdminSite::new()
            .register(
                batteries::admin::ModelAdmin::<author::Entity>::new()
                    .list_display([author::Column::Name])
                    .ordering("name")
                    .computed("bug", "Bug", |a| {
                        assert!(
                            a.name.as_str() < "Bulk 1050",
                            "export hook bug: internal detail 7f3a"
                        );
                        String::new()
                    }),
            )
            .build(db.conn().clone(), secret.clone())
            .await
            .expect("admin")
    };
    for framework in ["axum", "actix"] {
        let admin = site_with_bug().await;
        let site = if framework == "axum" {
            serve_axum(db.conn(), admin, &secret)
        } else {
            serve_actix(db.conn(), admin, &secret)
        };
        let mut browser = Browser::new(site.addr);
        let login = browser.get("/admin/login/").await;
        browser
            .post_form(
                "/admin/login/",
                &[
                    ("csrfmiddlewaretoken", &token(&login)),
                    ("username", "admin"),
                    ("password", PASSWORD),
                    ("next", "/admin/"),
                ],
            )
            .await;
        let cookie = format!("sessionid={}", browser.session_cookie().expect("logged in"));
        let mut stream = tokio::net::TcpStream::connect(site.addr)
            .await
            .expect("connect");
        stream
            .write_all(
                format!(
                    "GET /admin/library/author/export/?format=csv HTTP/1.1\r\nHost: localhost\r\n\
                     Cookie: {cookie}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .expect("write");
        let mut received = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_mins(1),
            stream.read_to_end(&mut received),
        )
        .await
        .expect("the server ends the response");
        let text = String::from_utf8_lossy(&received);
        assert!(text.starts_with("HTTP/1.1 200"), "{framework}: {text:.300}");
        assert!(
            text.to_lowercase().contains("transfer-encoding: chunked"),
            "{framework}: {text:.300}"
        );
        let rows = text.matches("Bulk ").count();
        assert!(rows < 1100, "{framework}: the whole table arrived");
        assert!(
            !received.ends_with(b"\r\n0\r\n\r\n"),
            "{framework}: the body was ended as if complete after {rows} rows"
        );
        assert!(!text.contains("7f3a"), "{framework}");
        site.stop().await;
    }
}
