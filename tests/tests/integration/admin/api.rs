//! The admin's JSON API on the test site (`batteries_tests::admin_app`): listing with
//! search, filters, ordering and pages; creating, replacing, updating and deleting;
//! validation errors by field; permissions and CSRF; SQL injection attempts; the
//! OpenAPI document; and schemathesis fuzzing the API against that document.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::admin_app::{self, PASSWORD};
use batteries_tests::admin_fixture::AdminFixture;
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    lists_search_filter_order_and_pages,
    creates_replaces_updates_and_deletes,
    refuses_bad_values_by_field,
    checks_login_permissions_and_csrf,
    shrugs_off_sql_injection,
    documents_itself_in_openapi_3_1,
    schemathesis_finds_nothing,
    per_request_hooks_bind_every_write_path,
);

const BOOKS: &str = "/admin/api/library/book/";

/// The test site with 3 authors and `books` books, served in this process.
async fn site(db: &TestDb, books: usize) -> (admin_app::Running, SocketAddr) {
    let running = AdminFixture::new(db.conn()).library(3, books).build().await;
    let addr = running
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    (running, addr)
}

/// The value of the first hidden `csrfmiddlewaretoken` input of an admin page.
fn form_token(html: &str) -> Option<String> {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let rest = &html[html.find(marker)? + marker.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Logs `username` in through the admin's login form; returns the CSRF token for API
/// writes (`None` when the login was refused).
async fn login(browser: &mut Browser, username: &str) -> Option<String> {
    let page = browser.get("/admin/login/").await;
    let token = form_token(&page.body).expect("the login form carries a CSRF token");
    let reply = browser
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", username),
                ("password", PASSWORD),
                ("next", "/admin/"),
            ],
        )
        .await;
    if reply.status != StatusCode::FOUND {
        return None;
    }
    let index = browser.get("/admin/").await;
    Some(form_token(&index.body).expect("the index page carries a CSRF token"))
}

async fn logged_in(addr: SocketAddr, username: &str) -> (Browser, String) {
    let mut browser = Browser::new(addr);
    let token = login(&mut browser, username)
        .await
        .unwrap_or_else(|| panic!("{username} logs in"));
    (browser, token)
}

/// A JSON request; `token` goes in `X-CSRFToken`.
async fn call(
    browser: &mut Browser,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Reply {
    let mut headers = vec![("accept", "application/json")];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    if let Some(token) = token {
        headers.push(("x-csrftoken", token));
    }
    let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    browser.send(method, path, &headers, bytes).await
}

async fn get(browser: &mut Browser, path: &str) -> Reply {
    call(browser, Method::GET, path, None, None).await
}

fn titles(reply: &Reply) -> Vec<String> {
    reply.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["title"].as_str().expect("title").to_owned())
        .collect()
}

/// The number of books, read through the API as admin.
async fn book_count(addr: SocketAddr) -> u64 {
    let (mut admin, _) = logged_in(addr, "admin").await;
    let reply = get(&mut admin, BOOKS).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["count"].as_u64().expect("count")
}

fn new_book(isbn: &str) -> Value {
    json!({
        "author_id": 1,
        "title": "A new book",
        "isbn": isbn,
        "summary": "Fresh.",
        "status": "draft",
        "pages": 321,
        "price": "12.50",
        "rating": 3.5,
        "in_stock": true,
        "featured": null,
        "published_on": "2026-02-03",
        "added": "2026-03-04T05:06:07Z",
        "reading_time": "01:02:03",
        "metadata": {"tags": ["x"]}
    })
}

async fn lists_search_filter_order_and_pages(db: &TestDb) {
    let (_site, addr) = site(db, 30).await;
    let (mut admin, _) = logged_in(addr, "admin").await;

    // Titles are "Book NNNN about {rust,django,databases,web}" (b % 4), book 0 aside.
    let rust = get(&mut admin, &format!("{BOOKS}?q=rust")).await;
    assert_eq!(rust.status, StatusCode::OK, "{}", rust.body);
    assert_eq!(rust.json()["count"], 7, "{}", rust.body);
    assert!(titles(&rust).iter().all(|t| t.ends_with("about rust")));

    // status = draft for b % 3 == 0, in stock for b % 2 == 0: b in 0, 6, 12, 18, 24.
    let drafts = get(&mut admin, &format!("{BOOKS}?status=draft&in_stock=true")).await;
    assert_eq!(drafts.status, StatusCode::OK, "{}", drafts.body);
    assert_eq!(drafts.json()["count"], 5, "{}", drafts.body);
    for row in drafts.json()["results"].as_array().expect("results") {
        assert_eq!(row["status"], "draft");
        assert_eq!(row["in_stock"], true);
    }
    let lookup = get(&mut admin, &format!("{BOOKS}?price__gte=20.25")).await;
    // Prices are 19.99 + b / 100: b from 26 to 29.
    assert_eq!(lookup.json()["count"], 4, "{}", lookup.body);

    // Ordering and pages: page 2 of 7 by title is the 8th to 14th title.
    let all = get(&mut admin, &format!("{BOOKS}?ordering=title&per_page=30")).await;
    let mut sorted = titles(&all);
    assert_eq!(sorted.len(), 30);
    let by_title = sorted.clone();
    sorted.sort();
    assert_eq!(by_title, sorted, "ordered by title");
    let page = get(
        &mut admin,
        &format!("{BOOKS}?ordering=title&per_page=7&page=2"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = page.json();
    assert_eq!(titles(&page), sorted[7..14].to_vec());
    assert_eq!(body["page"], 2);
    assert_eq!(body["per_page"], 7);
    assert_eq!(body["num_pages"], 5);
    assert!(body["next"].as_str().expect("next").contains("page=3"));
    assert!(
        body["previous"]
            .as_str()
            .expect("previous")
            .contains("page=1")
    );
    let last = get(
        &mut admin,
        &format!("{BOOKS}?ordering=-title&per_page=7&page=5"),
    )
    .await;
    assert_eq!(titles(&last), {
        let mut first_two = sorted[..2].to_vec();
        first_two.reverse();
        first_two
    });
    assert!(last.json()["next"].is_null());

    let one = get(&mut admin, &format!("{BOOKS}2/")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.json()["title"], "Book 0001 about django");
    assert_eq!(one.json()["price"], "20.00");
    let missing = get(&mut admin, &format!("{BOOKS}999/")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"].is_string());
}

async fn creates_replaces_updates_and_deletes(db: &TestDb) {
    let (_site, addr) = site(db, 3).await;
    let (mut admin, token) = logged_in(addr, "admin").await;
    let t = Some(token.as_str());

    let created = call(&mut admin, Method::POST, BOOKS, Some(&new_book("111")), t).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let book = created.json();
    let id = book["id"].as_i64().expect("id");
    assert_eq!(book["price"], "12.50");
    assert_eq!(book["metadata"], json!({"tags": ["x"]}));
    assert!(book["uuid"].is_string(), "the on_save hook set the uuid");
    let location = created.location().expect("Location").to_owned();
    assert!(location.ends_with(&format!("{BOOKS}{id}/")), "{location}");
    let fetched = get(&mut admin, &location).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), book);

    // PUT replaces: the optional fields left out become null.
    let mut replacement = new_book("222");
    replacement["title"] = json!("Replaced");
    replacement
        .as_object_mut()
        .expect("object")
        .remove("metadata");
    let path = format!("{BOOKS}{id}/");
    let put = call(&mut admin, Method::PUT, &path, Some(&replacement), t).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json()["title"], "Replaced");
    assert_eq!(put.json()["isbn"], "222");
    assert!(put.json()["metadata"].is_null());
    let incomplete = call(
        &mut admin,
        Method::PUT,
        &path,
        Some(&json!({"title": "x"})),
        t,
    )
    .await;
    assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
    assert!(incomplete.json()["fields"]["isbn"].is_array());

    // PATCH changes what it names; read-only `uuid` and the primary key stay put.
    let changes = json!({"pages": 7, "uuid": "00000000-0000-0000-0000-000000000000", "id": 999});
    let patched = call(&mut admin, Method::PATCH, &path, Some(&changes), t).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let after = patched.json();
    assert_eq!(after["pages"], 7);
    assert_eq!(after["title"], "Replaced");
    assert_eq!(after["id"], id);
    assert_eq!(after["uuid"], book["uuid"]);
    assert_eq!(
        get(&mut admin, &format!("{BOOKS}999/")).await.status,
        StatusCode::NOT_FOUND
    );

    // A unique value already used: 409, by field.
    let duplicate = call(
        &mut admin,
        Method::PATCH,
        &path,
        Some(&json!({"isbn": "9780000000001"})),
        t,
    )
    .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.body);
    assert!(
        duplicate.json()["fields"]["isbn"].is_array(),
        "{}",
        duplicate.body
    );

    let deleted = call(&mut admin, Method::DELETE, &path, None, t).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(get(&mut admin, &path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        call(&mut admin, Method::DELETE, &path, None, t)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let wrong_method = call(&mut admin, Method::PUT, BOOKS, Some(&json!({})), t).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.header("allow"), Some("GET, POST"));
}

async fn refuses_bad_values_by_field(db: &TestDb) {
    let (_site, addr) = site(db, 3).await;
    let (mut admin, token) = logged_in(addr, "admin").await;
    let t = Some(token.as_str());
    let before = book_count(addr).await;

    let mut bad = new_book("333");
    bad["price"] = json!("12,50 EUR");
    bad["title"] = json!("x".repeat(201));
    bad["nope"] = json!(1);
    bad["summary"] = Value::Null;
    bad["isbn"] = json!("97800\u{0}1");
    bad["status"] = json!("deleted");
    bad["pages"] = json!("12");
    bad["in_stock"] = json!(1);
    bad["published_on"] = json!("2026-02-30");
    let reply = call(&mut admin, Method::POST, BOOKS, Some(&bad), t).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], "Invalid data.");
    let fields = body["fields"].as_object().expect("fields by name");
    for (name, says) in [
        ("price", "decimal"),
        ("title", "at most 200 characters"),
        ("nope", "Unknown field"),
        ("summary", "may not be null"),
        ("isbn", "Null characters"),
        ("status", "not a valid choice"),
        ("pages", "integer"),
        ("in_stock", "true or false"),
        ("published_on", "date"),
    ] {
        let messages = fields
            .get(name)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("an error for {name}: {body}"));
        assert!(
            messages
                .iter()
                .any(|m| m.as_str().is_some_and(|m| m.contains(says))),
            "{name}: {messages:?}"
        );
    }

    // Blank required text, a decimal beyond its digits, a year MySQL cannot store.
    let mut blank = new_book("334");
    blank["title"] = json!(" \t ");
    blank["price"] = json!("1234567.00");
    blank["published_on"] = json!("0999-12-31");
    let reply = call(&mut admin, Method::POST, BOOKS, Some(&blank), t).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let fields = reply.json()["fields"].clone();
    for name in ["title", "price", "published_on"] {
        assert!(fields[name].is_array(), "{name}: {}", reply.body);
    }

    // A related row that does not exist: well-formed, so 409 (as schemathesis expects
    // of valid data that clashes with the rows there are), by field.
    let mut orphan = new_book("335");
    orphan["author_id"] = json!(999);
    let reply = call(&mut admin, Method::POST, BOOKS, Some(&orphan), t).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(
        reply.json()["fields"]["author_id"][0]
            .as_str()
            .is_some_and(|m| m.contains("does not exist"))
    );

    for (content_type, body) in [
        ("application/json", "{not json"),
        ("application/json", "[1, 2]"),
        ("text/plain", "{}"),
    ] {
        let reply = admin
            .send(
                Method::POST,
                BOOKS,
                &[("content-type", content_type), ("x-csrftoken", &token)],
                Bytes::from(body),
            )
            .await;
        assert!(reply.status.is_client_error(), "{body}: {}", reply.status);
        assert!(reply.json()["error"].is_string(), "{}", reply.body);
    }
    assert_eq!(book_count(addr).await, before, "nothing was written");
}

async fn checks_login_permissions_and_csrf(db: &TestDb) {
    let (_site, addr) = site(db, 3).await;
    let before = book_count(addr).await;

    let mut anonymous = Browser::new(addr);
    let reply = get(&mut anonymous, BOOKS).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.json()["error"].is_string());
    let reply = call(
        &mut anonymous,
        Method::POST,
        BOOKS,
        Some(&new_book("1")),
        None,
    )
    .await;
    // Refused by the CSRF layer (no session, no token) or by the API itself.
    assert!(
        reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::FORBIDDEN,
        "{}",
        reply.status
    );

    // The outsider is not staff: no admin session, nothing of the API.
    let mut outsider = Browser::new(addr);
    assert!(login(&mut outsider, "outsider").await.is_none());
    for path in [
        BOOKS,
        "/admin/api/library/book/1/",
        "/admin/api/openapi.json",
    ] {
        let status = get(&mut outsider, path).await.status;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
            "{path}: {status}"
        );
    }

    // The viewer reads books, writes nothing, and sees no authors.
    let (mut viewer, token) = logged_in(addr, "viewer").await;
    assert_eq!(get(&mut viewer, BOOKS).await.status, StatusCode::OK);
    let t = Some(token.as_str());
    let reply = call(&mut viewer, Method::POST, BOOKS, Some(&new_book("1")), t).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = call(
        &mut viewer,
        Method::PATCH,
        &format!("{BOOKS}1/"),
        Some(&json!({"pages": 1})),
        t,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = call(&mut viewer, Method::DELETE, &format!("{BOOKS}1/"), None, t).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&mut viewer, "/admin/api/library/author/").await.status,
        StatusCode::FORBIDDEN
    );

    // CSRF: a session write without the token, or with a wrong one, is refused.
    let (mut admin, token) = logged_in(addr, "admin").await;
    let reply = call(
        &mut admin,
        Method::POST,
        BOOKS,
        Some(&new_book("444")),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let forged = "x".repeat(token.len());
    let reply = call(
        &mut admin,
        Method::POST,
        BOOKS,
        Some(&new_book("444")),
        Some(&forged),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = call(
        &mut admin,
        Method::DELETE,
        &format!("{BOOKS}1/"),
        None,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(book_count(addr).await, before, "nothing was written");
    assert_eq!(
        get(&mut admin, &format!("{BOOKS}1/")).await.status,
        StatusCode::OK
    );
}

async fn shrugs_off_sql_injection(db: &TestDb) {
    let (_site, addr) = site(db, 10).await;
    let (mut admin, _) = logged_in(addr, "admin").await;
    let attacks = [
        "' OR '1'='1",
        "1 OR 1=1",
        "1; DROP TABLE library_book; --",
        "\" OR \"\"=\"",
        "1' UNION SELECT password FROM auth_user --",
    ];
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for attack in attacks {
        let q = get(&mut admin, &format!("{BOOKS}?q={}", enc(attack))).await;
        assert_eq!(q.status, StatusCode::OK, "{attack}: {}", q.body);
        assert_eq!(q.json()["count"], 0, "{attack}");
        let title = get(&mut admin, &format!("{BOOKS}?title={}", enc(attack))).await;
        assert_eq!(title.json()["count"], 0, "{attack}");
        for query in [
            format!("id={}", enc(attack)),
            format!("ordering={}", enc(attack)),
            format!("{}=1", enc(attack)),
            format!("price__gte={}", enc(attack)),
        ] {
            let reply = get(&mut admin, &format!("{BOOKS}?{query}")).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{query}: {}",
                reply.body
            );
            assert!(reply.json()["error"].is_string());
        }
        let pk = get(&mut admin, &format!("{BOOKS}{}/", enc(attack))).await;
        assert_eq!(pk.status, StatusCode::NOT_FOUND, "{attack}");
    }
    assert_eq!(book_count(addr).await, 10, "the table is intact");
}

async fn documents_itself_in_openapi_3_1(db: &TestDb) {
    let (_site, addr) = site(db, 1).await;
    let (mut admin, _) = logged_in(addr, "admin").await;
    let reply = get(&mut admin, "/admin/api/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(doc["servers"][0]["url"], "/admin/api");
    let paths = doc["paths"].as_object().expect("paths");
    for model in ["author", "book", "review"] {
        let list = &paths[&format!("/library/{model}/")];
        assert!(
            list["get"].is_object() && list["post"].is_object(),
            "{model}"
        );
        let item = &paths[&format!("/library/{model}/{{pk}}/")];
        for method in ["get", "put", "patch", "delete"] {
            assert!(item[method]["responses"].is_object(), "{model} {method}");
        }
    }
    // Every reference resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').expect("quote")];
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    let input = &doc["components"]["schemas"]["LibraryBookInput"];
    assert_eq!(input["additionalProperties"], false);
    assert!(
        input["properties"]["uuid"].is_null(),
        "read-only fields are not input"
    );
    assert!(
        input["properties"]["id"].is_null(),
        "nor is the automatic key"
    );
    assert_eq!(
        input["properties"]["status"]["enum"],
        json!(["draft", "published", "archived"])
    );
    let required: Vec<&str> = input["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in ["title", "isbn", "price", "author_id"] {
        assert!(required.contains(&name), "{name} is required");
    }
    assert!(!required.contains(&"pages"));

    // The viewer's document holds only what the viewer may do.
    let (mut viewer, _) = logged_in(addr, "viewer").await;
    let doc = get(&mut viewer, "/admin/api/openapi.json").await.json();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/library/book/"));
    assert!(!paths.contains_key("/library/author/"));
    assert!(paths["/library/book/"]["post"].is_null());
    assert!(paths["/library/book/{pk}/"]["delete"].is_null());
}

/// The admin test site as its own process.
struct App {
    child: Child,
    addr: SocketAddr,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_app(url: &str) -> App {
    let mut child = Command::new(env!("CARGO_BIN_EXE_admin-app"))
        .env("DATABASE_URL", url)
        .env("SEED_BOOKS", "30")
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start admin-app");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("admin-app did not start: {line:?}"))
        .parse()
        .expect("address");
    App { child, addr }
}

/// A Python with schemathesis (tests/api/requirements.txt): `BATTERIES_PYTHON`, else
/// the venv in `~/.cache/batteries/venv`. `None` (after saying why) outside CI.
fn schemathesis_python() -> Option<PathBuf> {
    let python = std::env::var_os("BATTERIES_PYTHON").map_or_else(
        || {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            home.join(".cache/batteries/venv/bin/python")
        },
        PathBuf::from,
    );
    let ok = Command::new(&python)
        .args(["-c", "import schemathesis"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let why = format!(
        "{} cannot import schemathesis; pip install -r tests/api/requirements.txt",
        python.display()
    );
    assert!(
        !batteries_tests::under_ci(),
        "schemathesis is required under CI: {why}"
    );
    eprintln!("skipping schemathesis: {why}");
    None
}

async fn schemathesis_finds_nothing(db: &TestDb) {
    let Some(python) = schemathesis_python() else {
        return;
    };
    // The app is another process: it needs a database it can open itself.
    let url = match db.backend() {
        Backend::Sqlite => batteries_tests::sqlite_file_url("admin-api-schemathesis"),
        _ => db.url().expect("a server database"),
    };
    let app = start_app(&url);
    let (browser, token) = logged_in(app.addr, "admin").await;
    let session = browser.session_cookie().expect("session").to_owned();
    let base = format!("http://{}", app.addr);
    let workdir =
        std::env::temp_dir().join(batteries_tests::unique_prefix("schemathesis").replace(':', "-"));
    std::fs::create_dir_all(&workdir).expect("work dir");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args(["-m", "schemathesis.cli", "run"])
            .arg(format!("{base}/admin/api/openapi.json"))
            .args(["-H", &format!("Cookie: sessionid={session}")])
            .args(["-H", &format!("X-CSRFToken: {token}")])
            // Every check; no exclusions.
            .args(["--checks", "all"])
            // Bounded and deterministic: a fixed seed, no example database carried
            // from one run to the next, one worker, at most 30 cases per operation.
            .args(["--seed", "1", "--max-examples", "30", "--workers", "1"])
            .args(["--generation-database", "none"])
            // JSON Schema cannot say "no NUL in any string of any JSON value" (the
            // `metadata` column) without a recursive schema; the API refuses NUL
            // everywhere (PostgreSQL cannot store it), which the Rust tests check.
            .args(["--generation-allow-x00", "false"])
            .args(["--request-timeout", "10", "--no-color"])
            .current_dir(&workdir)
            .output()
            .expect("run schemathesis")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "schemathesis found problems on {:?}:\n{stdout}\n{stderr}",
        db.backend()
    );
    drop(app);
}

/// Issue 16's general mechanism on a site of its own: `readonly_fields_for`,
/// `fieldsets_for` and `superuser_action` hold on the API, the form and the changelist
/// alike, and nothing changes when they refuse.
async fn per_request_hooks_bind_every_write_path(db: &TestDb) {
    use batteries::auth::entities::{permission, user, user_permissions};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    use user::Column as C;
    admin_app::setup(db.conn()).await;
    let secret = admin_app::secret();
    let _ = admin_app::admin(db.conn(), &secret).await;
    admin_app::seed_users(db.conn()).await;
    let site = batteries::admin::AdminSite::new().register(
        batteries::admin::user_admin()
            // The editor's e-mail is fixed for everyone but superusers.
            .readonly_fields_for(|u, obj| {
                if !u.is_superuser() && obj.is_some_and(|o| o.username == "editor") {
                    vec!["email".to_owned()]
                } else {
                    Vec::new()
                }
            })
            // Staff users see no dates.
            .fieldsets_for(|u, obj| match (u.is_superuser(), obj) {
                (_, None) => vec![(None, vec![C::Username])],
                (true, Some(_)) => vec![
                    (None, vec![C::Username, C::FirstName, C::Email]),
                    (Some("Important dates".into()), vec![C::DateJoined]),
                ],
                (false, Some(_)) => vec![(None, vec![C::Username, C::FirstName, C::Email])],
            })
            .superuser_action("promote", "Make superusers", |db, users| async move {
                for u in users {
                    let mut active: user::ActiveModel = u.into();
                    active.is_superuser = Set(true);
                    active.update(&db).await.map_err(|e| e.to_string())?;
                }
                Ok("Promoted.".into())
            }),
    );
    let admin = site.build(db.conn().clone(), secret).await.expect("builds");
    let running =
        admin_app::serve_with(db.conn(), admin, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let addr: SocketAddr = running.base.trim_start_matches("http://").parse().unwrap();
    let find = |name: &'static str| async move {
        user::Entity::find()
            .filter(C::Username.eq(name))
            .one(db.conn())
            .await
            .unwrap()
            .unwrap()
    };
    let viewer = find("viewer").await;
    let editor = find("editor").await;
    for codename in ["view_user", "change_user"] {
        let perm = permission::Entity::find()
            .filter(permission::Column::Codename.eq(codename))
            .one(db.conn())
            .await
            .unwrap()
            .unwrap();
        user_permissions::ActiveModel {
            user_id: Set(viewer.id),
            permission_id: Set(perm.id),
            ..Default::default()
        }
        .insert(db.conn())
        .await
        .unwrap();
    }
    let (mut b, t) = logged_in(addr, "viewer").await;
    let url = format!("/admin/api/auth/user/{}/", editor.id);
    let refused = call(
        &mut b,
        Method::PATCH,
        &url,
        Some(&json!({"email": "x@example.com"})),
        Some(&t),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.json()["fields"]["email"].is_array());
    let ok = call(
        &mut b,
        Method::PATCH,
        &url,
        Some(&json!({"first_name": "Ed", "email": editor.email, "date_joined": "2001-01-01T00:00:00Z"})),
        Some(&t),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let now = find("editor").await;
    assert_eq!(now.first_name, "Ed");
    assert_eq!(now.email, editor.email);
    assert_eq!(
        now.date_joined, editor.date_joined,
        "not on this user's form"
    );
    // The form: e-mail shown as text, no dates at all.
    let page = get(&mut b, &format!("/admin/auth/user/{}/change/", editor.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("name=\"email\""), "{}", page.body);
    assert!(page.body.contains("name=\"first_name\""), "{}", page.body);
    assert!(!page.body.contains("date_joined"), "{}", page.body);
    let other = get(&mut b, &format!("/admin/auth/user/{}/change/", viewer.id)).await;
    assert!(other.body.contains("name=\"email\""), "{}", other.body);

    // The superuser action: not offered, refused, nobody promoted.
    let list = get(&mut b, "/admin/auth/user/").await;
    assert!(!list.body.contains("promote"), "{}", list.body);
    let token = form_token(&list.body).unwrap();
    let id = viewer.id.to_string();
    let posted = b
        .post_form(
            "/admin/auth/user/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("action", "promote"),
                ("_selected_action", id.as_str()),
                ("post", "yes"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
    assert!(!find("viewer").await.is_superuser);
    let (mut a, _) = logged_in(addr, "admin").await;
    assert!(
        get(&mut a, "/admin/auth/user/")
            .await
            .body
            .contains("promote")
    );
    drop(running);
}
