//! The blog-axum example, driven through its router as a client would.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

backend_tests!(blog_lists_filters_and_pages_posts);

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
    let app = blog_axum::app(conn.clone());

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
