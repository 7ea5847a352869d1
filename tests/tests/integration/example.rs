//! The blog-axum example, driven through its router as a client would.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use batteries::auth::sessions::SessionSecret;
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::browser::Browser;
use blog_axum::Settings;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

backend_tests!(
    blog_lists_filters_and_pages_posts,
    blog_admin_needs_a_login_and_lists_posts
);

fn settings() -> Settings {
    Settings {
        secret: SessionSecret::new("blog-test-secret-blog-test-secret-0123456789").expect("secret"),
        https: false,
    }
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

async fn blog_lists_filters_and_pages_posts(db: &TestDb) {
    let conn = db.conn();
    blog_axum::prepare(conn).await.expect("first start");
    blog_axum::prepare(conn)
        .await
        .expect("second start seeds nothing more");
    let app = blog_axum::app(conn.clone(), &settings())
        .await
        .expect("the app builds");

    let (status, all) = get(&app, "/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["total"], 12, "seeded once");
    assert_eq!(all["items"].as_array().expect("items").len(), 10);
    assert_eq!(
        all["items"][0]["slug"], "security",
        "newest first by default"
    );

    let (status, page) = get(
        &app,
        "/posts?title__icontains=rust&ordering=-created&page=2&per_page=2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs, ["async", "rust"]);
    assert_eq!(page["number"], 2);
    assert_eq!(page["total"], 4);
    assert_eq!(page["has_next"], false);

    let (status, body) = get(&app, "/posts?titel=rust").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "unknown filter field `titel`; allowed: id, title, slug, published, created"
    );
    let (status, body) = get(&app, "/posts?created__gte=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .expect("message")
            .contains("expected a date-time"),
        "{body}"
    );
    let (status, _) = get(&app, "/posts?ordering=title%3BDROP%20TABLE%20blog_post").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, after) = get(&app, "/posts").await;
    assert_eq!(after["total"], 12);
}

/// The value of the page's first hidden `csrfmiddlewaretoken` field.
fn form_token(body: &str) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = body.find(marker).expect("a CSRF field");
    let rest = &body[at + marker.len()..];
    rest[..rest.find('"').expect("closing quote")].to_owned()
}

async fn blog_admin_needs_a_login_and_lists_posts(db: &TestDb) {
    let conn = db.conn();
    blog_axum::prepare(conn).await.expect("first start");
    let app = blog_axum::app(conn.clone(), &settings())
        .await
        .expect("the app builds");

    let response = app
        .clone()
        .oneshot(
            Request::get("/admin/")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/admin/login/?next=%2Fadmin%2F"
    );

    // What `cargo run -p blog-axum` does in development, twice: the second start resets
    // the password, and only the newest one logs in.
    blog_axum::development_superuser(conn, "admin", "first random password")
        .await
        .expect("superuser");
    blog_axum::development_superuser(conn, "admin", "second random password")
        .await
        .expect("superuser reset");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut browser = Browser::new(addr);
    for (password, status) in [
        ("first random password", StatusCode::OK),
        ("second random password", StatusCode::FOUND),
    ] {
        let page = browser.get("/admin/login/?next=/admin/").await;
        assert_eq!(page.status, StatusCode::OK);
        let reply = browser
            .post_form(
                "/admin/login/",
                &[
                    ("csrfmiddlewaretoken", &form_token(&page.body)),
                    ("username", "admin"),
                    ("password", password),
                    ("next", "/admin/"),
                ],
            )
            .await;
        assert_eq!(reply.status, status, "{password}: {}", reply.body);
    }
    let posts = browser.get("/admin/blog/post/?q=rust").await;
    assert_eq!(posts.status, StatusCode::OK);
    assert!(
        posts.body.contains("Rust for Django developers"),
        "{}",
        posts.body
    );
    assert!(!posts.body.contains("Writing tower middleware"));
    server.abort();
}
