//! The blog-axum example, driven through its router as a client would.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use batteries::auth::sessions::SessionSecret;
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use blog_axum::{Settings, comment, post};
use http_body_util::BodyExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use tower::ServiceExt;

backend_tests!(
    blog_lists_filters_and_pages_posts,
    blog_admin_needs_a_login_and_lists_posts,
    blog_public_pages_show_published_posts_tags_and_approved_comments,
    blog_readers_log_in_and_out,
    blog_comments_need_a_login_a_token_and_a_moderator,
    blog_api_shows_a_post_with_tags_and_comments_and_the_tags,
    blog_listings_never_show_drafts,
    blog_page_numbers_are_bounded,
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
    assert_eq!(
        all["total"], 9,
        "seeded once; the three drafts are not listed"
    );
    assert_eq!(all["items"].as_array().expect("items").len(), 9);
    assert_eq!(all["items"][0]["slug"], "admin", "newest first by default");

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
    assert_eq!(after["total"], 9);
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
    // Posts drill down by date and toggle "published" from the list.
    assert!(posts.body.contains("created__year="), "date hierarchy");
    assert!(posts.body.contains("form-TOTAL_FORMS"), "list_editable");
    // A post's comments are edited on its page.
    let change = browser.get("/admin/blog/post/1/change/").await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.body);
    assert!(
        change.body.contains("comment_set-TOTAL_FORMS"),
        "{}",
        change.body
    );
    server.abort();
}

/// A reader's password in these tests.
const READER_PASSWORD: &str = "a reader's long passphrase";

/// The blog, seeded, served on a free port; with a reader `reader` and the
/// development superuser `admin`.
async fn serve_blog(conn: &DatabaseConnection) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    blog_axum::prepare(conn).await.expect("first start");
    // What `cargo run -p blog-axum` does in development, twice: the second start
    // resets the password.
    blog_axum::development_reader(conn, "reader", "an older passphrase")
        .await
        .expect("reader");
    blog_axum::development_reader(conn, "reader", READER_PASSWORD)
        .await
        .expect("reader reset");
    blog_axum::development_superuser(conn, "admin", "the admin's passphrase")
        .await
        .expect("superuser");
    let app = blog_axum::app(conn.clone(), &settings())
        .await
        .expect("the app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, server)
}

async fn post_id(conn: &DatabaseConnection, slug: &str) -> i64 {
    post::Entity::find()
        .filter(post::Column::Slug.eq(slug))
        .one(conn)
        .await
        .expect("query")
        .expect("seeded post")
        .id
}

/// The titles of the posts listed on a page, in order.
fn listed_titles(page: &Reply) -> Vec<String> {
    page.body
        .split("<h2><a href=\"/posts/")
        .skip(1)
        .map(|rest| {
            let start = rest.find('>').expect("link text") + 1;
            let end = rest.find("</a>").expect("end of link");
            rest[start..end].to_owned()
        })
        .collect()
}

async fn blog_public_pages_show_published_posts_tags_and_approved_comments(db: &TestDb) {
    let conn = db.conn();
    let (addr, server) = serve_blog(conn).await;
    blog_axum::prepare(conn)
        .await
        .expect("a second start seeds nothing more");
    let mut browser = Browser::new(addr);

    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(home.header("x-content-type-options"), Some("nosniff"));
    assert!(
        home.header("content-security-policy")
            .is_some_and(|csp| csp.starts_with("default-src 'none'")),
        "{:?}",
        home.headers
    );
    assert_eq!(
        listed_titles(&home),
        [
            "Django admin, in Rust",
            "Rust web frameworks compared",
            "Testing on three databases",
            "Keyset cursors, signed",
            "Pagination that scales",
        ],
        "published posts only, newest first, five a page"
    );
    assert!(home.body.contains("Page 1 of 2"), "{}", home.body);
    assert!(home.body.contains("href=\"/?page=2\""));
    assert!(home.body.contains("href=\"/tags/web\">Web</a>"));
    assert!(home.body.contains("Log in"));
    assert!(
        browser.session_cookie().is_none(),
        "an anonymous visit creates no session"
    );
    let older = browser.get("/?page=2").await;
    assert_eq!(
        listed_titles(&older),
        [
            "SeaORM migrations explained",
            "Async Rust in five minutes",
            "Why Django has batteries",
            "Rust for Django developers",
        ]
    );
    assert!(older.body.contains("href=\"/?page=1\""));
    assert!(!older.body.contains("?page=3"));
    assert_eq!(listed_titles(&browser.get("/?page=x").await).len(), 5);

    let rust = post_id(conn, "rust").await;
    let page = browser.get(&format!("/posts/{rust}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1>Rust for Django developers</h1>"));
    assert!(page.body.contains("href=\"/tags/django\">Django</a>"));
    assert!(page.body.contains("href=\"/tags/rust\">Rust</a>"));
    assert!(page.body.contains("2 comments"));
    assert!(page.body.contains("Great introduction, thank you!"));
    assert!(
        page.body
            .contains("<p>Does all of this work on PostgreSQL too?</p>"),
        "paragraphs: {}",
        page.body
    );
    assert!(page.body.contains("Log in to comment"));
    assert!(
        page.body
            .contains(&format!("/login?next=%2Fposts%2F{rust}"))
    );
    assert!(
        !page.body.contains("<textarea"),
        "no form for anonymous readers"
    );

    let admin_post = post_id(conn, "admin").await;
    let page = browser.get(&format!("/posts/{admin_post}")).await;
    assert!(page.body.contains("Can I add my own actions?"));
    assert!(
        !page.body.contains("cheap watches"),
        "unapproved comments are not shown"
    );
    assert!(page.body.contains("1 comment<"));

    let draft = post_id(conn, "security").await;
    for missing in [
        format!("/posts/{draft}"),
        "/posts/999999".to_owned(),
        "/tags/nope".to_owned(),
        "/nowhere".to_owned(),
    ] {
        let reply = browser.get(&missing).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert!(reply.body.contains("Page not found"));
    }

    let tag = browser.get("/tags/async").await;
    assert_eq!(tag.status, StatusCode::OK);
    assert!(tag.body.contains("Posts tagged “Async”"));
    assert_eq!(
        listed_titles(&tag),
        ["Async Rust in five minutes"],
        "the draft tagged async is not listed"
    );
    let tag = browser.get("/tags/databases").await;
    assert_eq!(
        listed_titles(&tag),
        [
            "Testing on three databases",
            "Keyset cursors, signed",
            "Pagination that scales",
            "SeaORM migrations explained",
        ]
    );
    server.abort();
}

async fn blog_readers_log_in_and_out(db: &TestDb) {
    let conn = db.conn();
    let (addr, server) = serve_blog(conn).await;
    let mut browser = Browser::new(addr);

    let form = browser.get("/login?next=/tags/rust").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = form.form_token().expect("the login form's token");
    // `/` is escaped too (minijinja's autoescape); browsers read it back.
    assert!(
        form.body
            .contains("name=\"next\" value=\"&#x2f;tags&#x2f;rust\""),
        "{}",
        form.body
    );

    let wrong = browser
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "reader"),
                ("password", "an older passphrase"),
                ("next", "/tags/rust"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(
        wrong
            .body
            .contains("Please enter a correct username and password")
    );
    assert!(
        wrong.body.contains("value=\"reader\""),
        "the username is kept"
    );

    // A login without the form's token is refused by the CSRF layer.
    let forged = browser
        .post_form(
            "/login",
            &[("username", "reader"), ("password", READER_PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let before = browser.session_cookie().map(str::to_owned);
    let ok = browser
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "reader"),
                ("password", READER_PASSWORD),
                ("next", "/tags/rust"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), Some("/tags/rust"));
    assert_ne!(
        browser.session_cookie().map(str::to_owned),
        before,
        "the session key rotates on login"
    );
    let home = browser.get("/").await;
    assert!(home.body.contains("Hello, reader"));
    assert!(
        home.body.contains("Welcome, reader!"),
        "the message shows once"
    );
    assert!(
        !home.body.contains("href=\"/admin/\">Admin</a>"),
        "not staff"
    );
    let again = browser.get("/").await;
    assert!(!again.body.contains("Welcome, reader!"));
    let admin = browser.get("/admin/").await;
    assert_ne!(admin.status, StatusCode::OK, "readers are not staff");

    // An offsite `next` is ignored.
    let mut other = Browser::new(addr);
    let token = other.get("/login").await.form_token().expect("token");
    let ok = other
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "reader"),
                ("password", READER_PASSWORD),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(ok.location(), Some("/"));

    let logout = browser.post_form("/logout", &[]).await;
    assert_eq!(
        logout.status,
        StatusCode::FORBIDDEN,
        "logout needs the token"
    );
    let token = again.form_token().expect("the logout form's token");
    let logout = browser
        .post_form("/logout", &[("csrfmiddlewaretoken", &token)])
        .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(logout.location(), Some("/"));
    assert!(browser.session_cookie().is_none(), "the cookie is deleted");
    let home = browser.get("/").await;
    assert!(!home.body.contains("Hello, reader"));
    assert!(home.body.contains("Log in"));
    server.abort();
}

async fn blog_comments_need_a_login_a_token_and_a_moderator(db: &TestDb) {
    let conn = db.conn();
    let (addr, server) = serve_blog(conn).await;
    let rust = post_id(conn, "rust").await;
    let post_url = format!("/posts/{rust}");
    let comments_url = format!("/posts/{rust}/comments");
    let body = "<script>alert(\"pwned\")</script> Nice post!\n\nSecond paragraph.";

    // Anonymous: sent to log in (with a token from the login page, to pass CSRF).
    let mut browser = Browser::new(addr);
    let token = browser.get("/login").await.form_token().expect("token");
    let anonymous = browser
        .post_form(
            &comments_url,
            &[("csrfmiddlewaretoken", &token), ("body", body)],
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.location(),
        Some(format!("/login?next=%2Fposts%2F{rust}").as_str())
    );

    let login = browser.login("reader", READER_PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let page = browser.get(&post_url).await;
    assert!(page.body.contains("<textarea"), "the form for readers");
    assert!(page.body.contains("as reader"));
    let tokenless = browser.post_form(&comments_url, &[("body", body)]).await;
    assert_eq!(tokenless.status, StatusCode::FORBIDDEN);
    let stale = browser
        .post_form(
            &comments_url,
            &[("csrfmiddlewaretoken", &token), ("body", body)],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::FORBIDDEN,
        "a token from before login is useless"
    );
    let token = page.form_token().expect("the page's token");
    let empty = browser
        .post_form(
            &comments_url,
            &[("csrfmiddlewaretoken", &token), ("body", "   ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::SEE_OTHER);
    assert!(
        browser
            .get(&post_url)
            .await
            .body
            .contains("Your comment is empty.")
    );
    let posted = browser
        .post_form(
            &comments_url,
            &[("csrfmiddlewaretoken", &token), ("body", body)],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        posted.location(),
        Some(format!("{post_url}#comments").as_str())
    );
    let saved = comment::Entity::find()
        .filter(comment::Column::PostId.eq(rust))
        .order_by_desc(comment::Column::Id)
        .one(conn)
        .await
        .expect("query")
        .expect("the comment is saved");
    assert_eq!(saved.author, "reader");
    assert_eq!(saved.body, body.trim());
    assert!(!saved.approved, "comments wait for a moderator");
    let page = browser.get(&post_url).await;
    assert!(
        page.body
            .contains("will appear once a moderator approves it")
    );
    assert!(
        !page.body.contains("Nice post!"),
        "not shown before approval"
    );
    assert!(page.body.contains("2 comments"));

    // The moderator approves it through the admin's changelist action.
    let mut moderator = Browser::new(addr);
    let login_page = moderator.get("/admin/login/?next=/admin/").await;
    let reply = moderator
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &form_token(&login_page.body)),
                ("username", "admin"),
                ("password", "the admin's passphrase"),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    let list = moderator.get("/admin/blog/comment/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("Approve selected comments"),
        "{}",
        list.body
    );
    assert!(
        list.body.contains("&lt;script&gt;alert("),
        "the admin escapes it too"
    );
    let id = saved.id.to_string();
    let confirm = moderator
        .post_form(
            "/admin/blog/comment/",
            &[
                ("csrfmiddlewaretoken", &form_token(&list.body)),
                ("action", "approve_comments"),
                ("_selected_action", &id),
            ],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("Are you sure"));
    let done = moderator
        .post_form(
            "/admin/blog/comment/",
            &[
                ("csrfmiddlewaretoken", &form_token(&confirm.body)),
                ("action", "approve_comments"),
                ("_selected_action", &id),
                ("post", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let list = moderator.get("/admin/blog/comment/").await;
    assert!(list.body.contains("1 comment approved."), "{}", list.body);
    let approved = comment::Entity::find_by_id(saved.id)
        .one(conn)
        .await
        .expect("query")
        .expect("comment");
    assert!(approved.approved);

    // Now it is shown, escaped, to everyone.
    let page = Browser::new(addr).get(&post_url).await;
    assert!(page.body.contains("3 comments"));
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;&#x2f;script&gt; Nice post!"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<p>Second paragraph.</p>"));
    assert!(!page.body.contains("<script>"), "user data is escaped");
    server.abort();
}

async fn blog_api_shows_a_post_with_tags_and_comments_and_the_tags(db: &TestDb) {
    let conn = db.conn();
    blog_axum::prepare(conn).await.expect("first start");
    let app = blog_axum::app(conn.clone(), &settings())
        .await
        .expect("the app builds");
    let rust = post_id(conn, "rust").await;

    let (status, detail) = get(&app, &format!("/api/posts/{rust}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["id"], rust);
    assert_eq!(detail["title"], "Rust for Django developers");
    assert_eq!(detail["slug"], "rust");
    assert_eq!(detail["published"], true);
    assert_eq!(detail["url"], format!("/posts/{rust}"));
    assert!(
        detail["created"]
            .as_str()
            .expect("created")
            .starts_with("2026-01-05T09:00:00")
    );
    assert_eq!(
        detail["tags"],
        serde_json::json!([
            {"name": "Django", "slug": "django", "url": "/tags/django"},
            {"name": "Rust", "slug": "rust", "url": "/tags/rust"},
        ])
    );
    let comments = detail["comments"].as_array().expect("comments");
    let authors: Vec<&str> = comments
        .iter()
        .map(|c| c["author"].as_str().expect("author"))
        .collect();
    assert_eq!(authors, ["ada", "grace"], "approved ones, oldest first");
    assert_eq!(comments[0]["body"], "Great introduction, thank you!");
    assert!(comments[0]["id"].is_i64());
    assert!(comments[0].get("approved").is_none());

    let admin_post = post_id(conn, "admin").await;
    let (_, detail) = get(&app, &format!("/api/posts/{admin_post}")).await;
    assert_eq!(
        detail["comments"].as_array().expect("comments").len(),
        1,
        "the unapproved comment is not shown: {detail}"
    );

    let draft = post_id(conn, "security").await;
    let (status, body) = get(&app, &format!("/api/posts/{draft}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], format!("no published post with id {draft}"));

    let (status, tags) = get(&app, "/api/tags").await;
    assert_eq!(status, StatusCode::OK);
    let counts: Vec<(&str, i64)> = tags["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            (
                t["slug"].as_str().expect("slug"),
                t["posts"].as_i64().expect("posts"),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("async", 1),
            ("databases", 4),
            ("django", 3),
            ("rust", 6),
            ("security", 1),
            ("web", 3),
        ],
        "published posts per tag, by name"
    );

    let (status, published) = get(&app, "/api/posts?ordering=title&per_page=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(published["total"], 9, "drafts are not in the API");
    assert_eq!(published["items"][0]["slug"], "async");
    let (status, body) = get(&app, "/api/posts?titel=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("error").contains("titel"));
    let (status, _) = get(&app, "/posts").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the first version's route still works"
    );
}

/// Issue 16, finding 11: `/posts?published=false` listed the drafts, bodies and all,
/// while `/api/posts/<draft>` was a 404. Every public listing shows published posts
/// only, whatever its query string.
async fn blog_listings_never_show_drafts(db: &TestDb) {
    let conn = db.conn();
    blog_axum::prepare(conn).await.expect("first start");
    let app = blog_axum::app(conn.clone(), &settings())
        .await
        .expect("the app builds");
    let drafts = ["tower", "fixtures", "security"];
    for listing in ["/posts", "/api/posts"] {
        for query in [
            "published=false",
            "published=false&per_page=100",
            "published__in=false,true&per_page=100",
            "published__isnull=false&per_page=100",
            "search=tower",
            "slug=security",
            "slug__in=tower,fixtures,security",
            "ordering=published&per_page=100",
            "per_page=100",
        ] {
            let (status, body) = get(&app, &format!("{listing}?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{listing}?{query}: {body}");
            let items = body["items"].as_array().expect("items");
            assert!(
                items.iter().all(|p| p["published"] == true
                    && !drafts.contains(&p["slug"].as_str().expect("slug"))),
                "{listing}?{query} lists a draft: {body}"
            );
        }
        let (_, none) = get(&app, &format!("{listing}?published=false")).await;
        assert_eq!(none["total"], 0, "{listing}: {none}");
    }
    let (addr, server) = serve_blog(conn).await;
    let mut browser = Browser::new(addr);
    for path in ["/?published=false", "/tags/rust?published=false"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        for draft in [
            "Writing tower middleware",
            "Fixtures from dumpdata",
            "Security headers",
        ] {
            assert!(!page.body.contains(draft), "{path} shows {draft}");
        }
    }
    server.abort();
}

/// Issue 16, finding 1 on the blog: `/?page=9223372036854775807` (and `/posts`,
/// `/api/posts`, `/tags/rust`, the admin's changelist) made the driver panic and reset
/// the connection. Now a number above the bound is a 400 with a readable message, a
/// page past the last a 404.
async fn blog_page_numbers_are_bounded(db: &TestDb) {
    let conn = db.conn();
    let (addr, server) = serve_blog(conn).await;
    let mut browser = Browser::new(addr);
    let bound = "expected an integer from 1 to 2147483647";
    for page in [
        "9223372036854775807",
        "1000000000000000000",
        "99999999999999999999999",
        "2147483648",
    ] {
        for path in ["/", "/tags/rust", "/posts", "/api/posts"] {
            let reply = browser.get(&format!("{path}?page={page}")).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{path}?page={page}: {}",
                reply.body
            );
            assert!(
                reply.body.contains(bound),
                "{path}?page={page}: {}",
                reply.body
            );
        }
    }
    // Past the last page: 404 (two pages of five on `/`, of ten on the API).
    for path in [
        "/?page=3",
        "/tags/rust?page=3",
        "/posts?page=2",
        "/api/posts?page=2",
        "/?page=2147483647",
    ] {
        let reply = browser.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    let (status, body) = {
        let reply = browser.get("/api/posts?page=2").await;
        (reply.status, reply.json())
    };
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "invalid page (2): the listing has 1 page");
    // Still lenient where it was: not a number is the first page.
    assert_eq!(browser.get("/?page=x").await.status, StatusCode::OK);
    assert_eq!(browser.get("/?page=0").await.status, StatusCode::OK);

    // The admin's changelist, logged in as staff.
    let login = browser.get("/admin/login/").await;
    let token = form_token(&login.body);
    let done = browser
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "admin"),
                ("password", "the admin's passphrase"),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    for page in [
        "1000000000000000000",
        "1000000000000000",
        "9223372036854775807",
    ] {
        let list = browser.get(&format!("/admin/blog/post/?page={page}")).await;
        assert_eq!(
            list.status,
            StatusCode::BAD_REQUEST,
            "{page}: {}",
            list.body
        );
        assert!(list.body.contains(bound), "{page}: {}", list.body);
    }
    let past = browser.get("/admin/blog/post/?page=2").await;
    assert_eq!(past.status, StatusCode::NOT_FOUND, "{}", past.body);
    server.abort();
}
