//! The changelist's export (`/admin/<app>/<model>/export/?format=csv|json&...`): the same
//! rows in the same order as the changelist for the same query string, exactly its
//! columns, its own `export_<model>` permission, the view hook, CSV quoting and formula
//! neutralising, and an export of more rows than one batch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use batteries::admin::{AdminSite, ModelAdmin};
use batteries::auth::entities::permission;
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, PASSWORD, entities::author, entities::book};
use batteries_tests::admin_fixture::{AdminFixture, grant_to, login, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

backend_tests!(
    export_equals_the_changelist,
    export_needs_its_own_permission,
    export_never_leaks_unlisted_columns,
    export_neutralises_formulas_and_quotes_cells,
    export_neutralises_formulas_behind_blanks_and_in_fullwidth,
    export_refuses_bad_query_strings,
    export_streams_more_than_one_batch_in_order,
    export_skips_rows_the_view_hook_refuses,
    export_stops_reading_when_the_client_goes_away,
    export_aborts_when_the_database_fails_half_way,
);

/// The library with `books` books, served; a browser.
async fn site(db: &TestDb, books: usize) -> (admin_app::Running, Browser) {
    let running = AdminFixture::new(db.conn()).library(3, books).build().await;
    let browser = running.browser();
    (running, browser)
}

/// The changelist's row pks, in order.
fn row_pks(page: &Reply) -> Vec<String> {
    page.body
        .match_indices("data-pk=\"")
        .map(|(at, m)| {
            let rest = &page.body[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// The CSV's records (header first), parsed as RFC 4180.
fn records(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_owned).collect())
        .collect()
}

async fn ids_by_title(db: &TestDb) -> HashMap<String, String> {
    book::Entity::find()
        .all(db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.title, b.id.to_string()))
        .collect()
}

/// The names of the changelist's field columns (its `<th class="column-NAME">`), in
/// order; the test site's one computed column, `summary_words` ("Words"), comes last.
fn changelist_columns(page: &Reply) -> Vec<String> {
    let head = &page.body[..page.body.find("</thead>").expect("a table")];
    head.match_indices("<th scope=\"col\" class=\"column-")
        .map(|(at, m)| {
            let rest = &head[at + m.len()..];
            rest[..rest.find(['"', ' ']).unwrap()].to_owned()
        })
        .collect()
}

/// The index of the CSV column labelled `label`.
fn at(rows: &[Vec<String>], label: &str) -> usize {
    rows[0]
        .iter()
        .position(|l| l == label)
        .unwrap_or_else(|| panic!("no column {label} in {:?}", rows[0]))
}

async fn export_equals_the_changelist(db: &TestDb) {
    let (_site, mut b) = site(db, 30).await;
    login(&mut b, "admin").await;
    let ids = ids_by_title(db).await;
    for query in [
        "",
        "q=django",
        "status=published&ordering=title",
        "in_stock=true&ordering=-price,title",
        "author_id=2&ordering=published_on,-title",
        "q=book&ordering=-status,added",
    ] {
        let sep = if query.is_empty() { "" } else { "&" };
        let list = b
            .get(&format!("/admin/library/book/?per_page=100{sep}{query}"))
            .await;
        assert_eq!(list.status, 200, "{query}: {}", list.body);
        let expected = row_pks(&list);
        assert!(!expected.is_empty(), "{query}: the changelist lists rows");

        let csv = b
            .get(&format!(
                "/admin/library/book/export/?format=csv{sep}{query}"
            ))
            .await;
        assert_eq!(csv.status, 200, "{query}: {}", csv.body);
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        let disposition = csv.header("content-disposition").unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"book-")
                && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        let rows = records(&csv.body);
        let mut names = changelist_columns(&list);
        names.push("summary_words".into());
        assert_eq!(
            rows[0].len(),
            names.len(),
            "{query}: {:?} {names:?}",
            rows[0]
        );
        assert_eq!(rows[0][0], "Title", "{query}: the changelist's labels");
        assert_eq!(rows[0][1], "Author", "{query}: the label given");
        assert_eq!(
            rows[0].last().unwrap(),
            "Words",
            "{query}: the computed column's label"
        );
        let got: Vec<String> = rows[1..].iter().map(|r| ids[&r[0]].clone()).collect();
        assert_eq!(got, expected, "{query}: CSV rows and order");

        let json = b
            .get_api(
                &format!("/admin/api/library/book/export?format=json{sep}{query}"),
                &[],
            )
            .await;
        assert_eq!(json.status, 200, "{query}: {}", json.body);
        assert_eq!(json.header("content-type"), Some("application/json"));
        let array = json.json();
        let array = array.as_array().expect("a JSON array");
        let got: Vec<String> = array
            .iter()
            .map(|o| ids[o["title"].as_str().unwrap()].clone())
            .collect();
        assert_eq!(got, expected, "{query}: JSON rows and order");
        for object in array {
            let mut keys: Vec<&str> = object
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
            want.sort_unstable();
            assert_eq!(keys, want, "{query}: exactly the listed columns");
        }
    }

    // One row in full: the foreign key by name, as the changelist shows it.
    let csv = b.get("/admin/library/book/export/?q=Book+0004").await;
    let rows = records(&csv.body);
    assert_eq!(rows.len(), 2, "{}", csv.body);
    assert_eq!(rows[1][at(&rows, "Title")], "Book 0004 about rust");
    assert_eq!(rows[1][at(&rows, "Author")], "Author 001");
    assert_eq!(rows[1][at(&rows, "Status")], "published");
    assert_eq!(rows[1][at(&rows, "Price")], "20.03");
    assert_eq!(rows[1][at(&rows, "In stock")], "true");
    let added = book::Entity::find()
        .filter(book::Column::Title.eq("Book 0004 about rust"))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
        .added
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    assert!(
        rows[1][at(&rows, "Added")].starts_with(&added),
        "{} (stored: {added})",
        rows[1][at(&rows, "Added")]
    );
    assert_eq!(rows[1][at(&rows, "Words")], "8");
    let json = b
        .get("/admin/library/book/export/?format=json&q=Book+0004")
        .await
        .json();
    assert_eq!(json[0]["author_id"], "Author 001");
    assert_eq!(json[0]["in_stock"], true);
    assert_eq!(json[0]["summary_words"], "8");

    // The changelist links to both, carrying its query string.
    let list = b.get("/admin/library/book/?q=django&ordering=title").await;
    assert!(
        list.body.contains(
            "href=\"/admin/library/book/export/?format=csv&amp;q=django&amp;ordering=title\""
        ),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains("/admin/library/book/export/?format=json&amp;q=django")
    );
}

async fn export_needs_its_own_permission(db: &TestDb) {
    let (site, mut anonymous) = site(db, 5).await;
    let refused = anonymous
        .get("/admin/library/book/export/?format=csv")
        .await;
    assert_eq!(refused.status, 302, "anonymous: to the login page");
    assert!(!refused.body.contains("Book 0001"));
    let api = anonymous
        .get_api("/admin/api/library/book/export", &[])
        .await;
    assert_eq!(api.status, 401);

    // A logged-in user who is not staff.
    let mut outsider = Browser::new(site.addr);
    let page = outsider.get("/admin/login/").await;
    let t = token(&page);
    let _ = outsider
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", "outsider"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let refused = outsider.get("/admin/library/book/export/").await;
    assert_ne!(refused.status, 200);
    assert!(!refused.body.contains("Book 0001"));

    // `view_book` alone: no links, 403 on both routes, no OpenAPI path.
    let mut viewer = Browser::new(site.addr);
    login(&mut viewer, "viewer").await;
    let list = viewer.get("/admin/library/book/").await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains("/export/"),
        "no export link without the permission"
    );
    let refused = viewer.get("/admin/library/book/export/?format=csv").await;
    assert_eq!(refused.status, 403);
    assert!(!refused.body.contains("Book 0001"));
    let api = viewer
        .get_api("/admin/api/library/book/export?format=json", &[])
        .await;
    assert_eq!(api.status, 403, "{}", api.body);
    let doc = viewer.get_api("/admin/api/openapi.json", &[]).await.json();
    assert!(doc["paths"]["/library/book/"].is_object());
    assert!(doc["paths"]["/library/book/export"].is_null());

    // The permission exists, named as Django would, and works once granted.
    let perm = permission::Entity::find()
        .filter(permission::Column::Codename.eq("export_book"))
        .one(db.conn())
        .await
        .unwrap()
        .expect("export_book is created by build()");
    assert_eq!(perm.name, "Can export book");
    grant_to(db.conn(), "viewer", &["export_book"]).await;
    let list = viewer.get("/admin/library/book/").await;
    assert!(list.body.contains("/admin/library/book/export/?format=csv"));
    let csv = viewer.get("/admin/library/book/export/?format=csv").await;
    assert_eq!(csv.status, 200);
    assert_eq!(records(&csv.body).len(), 6, "{}", csv.body);
    let doc = viewer.get_api("/admin/api/openapi.json", &[]).await.json();
    assert!(doc["paths"]["/library/book/export"]["get"].is_object());
    // The export permission alone does not open another model.
    let author = viewer.get("/admin/library/author/export/").await;
    assert_eq!(author.status, 403);

    // Superusers have it implicitly.
    let mut admin = Browser::new(site.addr);
    login(&mut admin, "admin").await;
    let csv = admin.get("/admin/library/author/export/").await;
    assert_eq!(csv.status, 200);
    assert_eq!(records(&csv.body)[0], ["Name"]);
}

async fn export_never_leaks_unlisted_columns(db: &TestDb) {
    let (_site, mut b) = site(db, 6).await;
    login(&mut b, "admin").await;
    // Secrets in every column the changelist does not list.
    let secret = "SECRET-unlisted";
    for (i, model) in book::Entity::find()
        .all(db.conn())
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let mut active: book::ActiveModel = model.into();
        active.summary = Set(format!("{secret} summary"));
        active.isbn = Set(format!("{secret}{i}"));
        active.metadata = Set(Some(serde_json::json!({"k": secret})));
        active.update(db.conn()).await.unwrap();
    }
    let mut author: author::ActiveModel = author::Entity::find_by_id(1)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
        .into();
    author.bio = Set(Some(format!("{secret} bio")));
    author.update(db.conn()).await.unwrap();

    for path in [
        "/admin/library/book/export/?format=csv",
        "/admin/library/book/export/?format=json",
        "/admin/library/book/export/?format=csv&q=SECRET",
        "/admin/library/book/export/?format=json&fields=isbn,summary",
        "/admin/library/book/export/?format=json&o=isbn",
        "/admin/library/book/export/?format=json&ordering=isbn",
        "/admin/library/book/export/?format=json&ordering=summary",
        "/admin/library/book/export/?format=json&isbn=SECRET-unlisted0",
        "/admin/library/book/export/?format=json&summary__icontains=SECRET",
        "/admin/library/book/export/?format=json&list_display=isbn",
        "/admin/library/book/export/?format=csv&format=json&metadata=1",
        "/admin/library/author/export/?format=json",
        "/admin/library/author/export/?format=csv&bio__isnull=false",
        "/admin/api/library/book/export?format=json&fields=isbn",
        "/admin/api/library/book/export?format=csv",
    ] {
        let reply = b.get(path).await;
        assert!(
            !reply.body.contains(secret),
            "{path} leaked an unlisted column ({}): {}",
            reply.status,
            reply.body
        );
        assert!(!reply.body.contains("uuid"), "{path}: {}", reply.body);
    }
    // The search still finds the rows by the unlisted ISBN, without showing it.
    let found = b
        .get("/admin/library/book/export/?format=json&q=SECRET")
        .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json().as_array().unwrap().len(), 6);
}

async fn export_neutralises_formulas_and_quotes_cells(db: &TestDb) {
    let (_site, mut b) = site(db, 6).await;
    login(&mut b, "admin").await;
    let titles = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "comma, \"quote\" and\nnewline",
    ];
    for (id, title) in (2..).zip(titles) {
        let mut active: book::ActiveModel = book::Entity::find_by_id(id)
            .one(db.conn())
            .await
            .unwrap()
            .unwrap()
            .into();
        active.title = Set(title.to_owned());
        active.update(db.conn()).await.unwrap();
    }
    let csv = b
        .get("/admin/library/book/export/?format=csv&ordering=id")
        .await;
    assert_eq!(csv.status, 200);
    let rows = records(&csv.body);
    let cells: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        cells,
        [
            "<script>alert('xss')</script>",
            "'=HYPERLINK(\"http://evil.example\",\"x\")",
            "'+1+cmd|' /C calc'!A0",
            "'-2+3",
            "'@SUM(A1:A9)",
            "comma, \"quote\" and\nnewline",
        ]
    );
    // RFC 4180 on the wire: the cell quoted, its quotes doubled, CRLF line ends.
    assert!(
        csv.body.contains("\"comma, \"\"quote\"\" and\nnewline\""),
        "{}",
        csv.body
    );
    let header = csv.body.split("\r\n").next().unwrap();
    assert!(
        header.starts_with("\"Title\",\"Author\",\"Status\",\"Price\",\"In stock\",\"Added\","),
        "{header}"
    );
    assert!(header.ends_with(",\"Words\""), "{header}");
    // Numbers stay numbers.
    let price = at(&rows, "Price");
    assert!(rows[1..].iter().all(|r| !r[price].starts_with('\'')));
    // JSON keeps the values as they are: it is not read by spreadsheets.
    let json = b
        .get("/admin/library/book/export/?format=json&ordering=id")
        .await
        .json();
    assert_eq!(json[1]["title"], titles[0]);
}

/// Issue 16, finding 10: the neutralising looked at the first character only, so a
/// formula behind a space, a no-break space or a line break, or written with fullwidth
/// signs (which Excel reads as formulas in East Asian locales), was exported raw. Each
/// gets its `'` now, and every cell is quoted so that a `;` cannot start a new cell
/// where the spreadsheet splits on it (OWASP's CSV injection guidance).
async fn export_neutralises_formulas_behind_blanks_and_in_fullwidth(db: &TestDb) {
    let formulas = [
        " =1+1",
        "  @SUM(A1:A9)",
        "\u{a0}=HYPERLINK(\"http://evil.example\")",
        "\u{3000}+1+1",
        "\u{200b}-2+3",
        "\u{feff}=1+1",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        " \r\n\t=1+1",
        "\u{ff1d}1+1",
        "\u{ff0b}1+1",
        "\u{ff0d}1+1",
        "\u{ff20}SUM(A1:A9)",
        " \u{ff1d}1+1",
        "\u{fe66}1+1",
    ];
    let plain = ["a;=1+1", "x@example.com", " plain", "-12.5"];
    let (_site, mut b) = site(db, formulas.len() + plain.len()).await;
    login(&mut b, "admin").await;
    let titles: Vec<&str> = formulas.iter().chain(&plain).copied().collect();
    for (id, title) in (1..).zip(&titles) {
        let mut active: book::ActiveModel = book::Entity::find_by_id(id)
            .one(db.conn())
            .await
            .unwrap()
            .unwrap()
            .into();
        active.title = Set((*title).to_owned());
        active.update(db.conn()).await.unwrap();
    }
    let csv = b
        .get("/admin/library/book/export/?format=csv&ordering=id")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let rows = records(&csv.body);
    let cells: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    let expected: Vec<String> = formulas
        .iter()
        .map(|f| format!("'{f}"))
        .chain(plain.iter().map(|p| (*p).to_owned()))
        .collect();
    assert_eq!(cells, expected);
    // Every cell quoted on the wire: `a;=1+1` stays one cell in a `;` spreadsheet.
    assert!(csv.body.contains("\"a;=1+1\""), "{}", csv.body);
    assert!(csv.body.contains("\"x@example.com\""), "{}", csv.body);
}

async fn export_refuses_bad_query_strings(db: &TestDb) {
    let (_site, mut b) = site(db, 3).await;
    login(&mut b, "admin").await;
    for query in [
        "ordering=nope",
        "unknown_field=1",
        "price__gte=abc",
        "format=xml",
        "in_stock=maybe",
    ] {
        let list = b.get(&format!("/admin/library/book/?{query}")).await;
        let html = b.get(&format!("/admin/library/book/export/?{query}")).await;
        assert_eq!(html.status, 400, "{query}: {}", html.body);
        if !query.starts_with("format") {
            assert_eq!(list.status, 400, "{query}: the changelist refuses it too");
        }
        assert!(!html.body.contains("Book 0001"));
        let api = b
            .get_api(&format!("/admin/api/library/book/export?{query}"), &[])
            .await;
        assert_eq!(api.status, 400, "{query}: {}", api.body);
        assert!(api.json()["error"].is_string(), "{}", api.body);
    }
    // The API refuses what its list refuses: a value outside a field's choices, other
    // methods.
    let api = b
        .get_api("/admin/api/library/book/export?status=null", &[])
        .await;
    assert_eq!(api.status, 400, "{}", api.body);
    let put = b
        .send(
            http::Method::PUT,
            "/admin/api/library/book/export",
            &[("x-csrftoken", "x")],
            bytes::Bytes::new(),
        )
        .await;
    assert!(put.status == 405 || put.status == 403, "{}", put.status);
    let post = b.post_form("/admin/library/book/export/", &[]).await;
    assert!(post.status == 403 || post.status == 405, "{}", post.status);
}

async fn export_streams_more_than_one_batch_in_order(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let _ = admin_app::admin(db.conn(), &admin_app::secret()).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 3, 1).await;
    // 2,500 more books in a few statements.
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let total = 2_500_i32;
    for chunk in (0..total).collect::<Vec<_>>().chunks(250) {
        let models = chunk.iter().map(|&n| book::ActiveModel {
            author_id: Set(n % 3 + 1),
            title: Set(format!("Bulk {n:05}")),
            isbn: Set(format!("979{n:010}")),
            summary: Set("s".into()),
            status: Set(["draft", "published", "archived"][(n % 3) as usize].into()),
            pages: Set(if n % 5 == 0 { None } else { Some(n % 700) }),
            price: Set(rust_decimal::Decimal::new(i64::from(n % 97) * 100, 2)),
            rating: Set(None),
            in_stock: Set(n % 2 == 0),
            featured: Set(None),
            // Ties on `published_on` (and NULLs): the primary key orders them.
            published_on: Set(if n % 7 == 0 {
                None
            } else {
                chrono::NaiveDate::from_ymd_opt(2020, 1 + (n % 12) as u32, 1)
            }),
            added: Set(base + chrono::Duration::seconds(i64::from((n * 7919) % 100_000))),
            reading_time: Set(None),
            uuid: Set(uuid::Uuid::new_v4()),
            metadata: Set(None),
            ..Default::default()
        });
        book::Entity::insert_many(models)
            .exec(db.conn())
            .await
            .unwrap();
    }
    let running = admin_app::serve(db.conn(), "127.0.0.1:0".parse().unwrap()).await;
    let mut b = Browser::new(running.addr);
    login(&mut b, "admin").await;

    let all: Vec<book::Model> = book::Entity::find().all(db.conn()).await.unwrap();
    let by_title: HashMap<String, book::Model> =
        all.into_iter().map(|m| (m.title.clone(), m)).collect();

    // The default ordering (-added, then id): a keyset over NOT NULL columns.
    let csv = b.get("/admin/library/book/export/?format=csv").await;
    assert_eq!(csv.status, 200);
    let rows = records(&csv.body);
    assert_eq!(rows.len(), 2_501 + 1, "every book, once, plus the header");
    let got: Vec<&book::Model> = rows[1..].iter().map(|r| &by_title[&r[0]]).collect();
    let mut want = got.clone();
    want.sort_by(|a, b| b.added.cmp(&a.added).then(a.id.cmp(&b.id)));
    assert_eq!(
        got.iter().map(|m| m.id).collect::<Vec<_>>(),
        want.iter().map(|m| m.id).collect::<Vec<_>>(),
        "ordered as the changelist"
    );

    // A nullable ordering column, mixed directions: still complete and ordered.
    let json = b
        .get(
            "/admin/library/book/export/?format=json&ordering=published_on,-price&status=published",
        )
        .await;
    assert_eq!(json.status, 200);
    let array = json.json();
    let got: Vec<&book::Model> = array
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &by_title[o["title"].as_str().unwrap()])
        .collect();
    let mut want: Vec<&book::Model> = by_title
        .values()
        .filter(|m| m.status == "published")
        .collect();
    // NULLs first on SQLite and MySQL, last on PostgreSQL (each database's own rule).
    let nulls_first = db.conn().get_database_backend() != sea_orm::DbBackend::Postgres;
    want.sort_by(|a, b| {
        let dates = match (a.published_on, b.published_on) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) if nulls_first => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) if nulls_first => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) => x.cmp(&y),
        };
        dates.then(b.price.cmp(&a.price)).then(a.id.cmp(&b.id))
    });
    assert!(
        want.len() > 800,
        "more than one batch of 1,000? {}",
        want.len()
    );
    assert_eq!(
        got.iter().map(|m| m.id).collect::<Vec<_>>(),
        want.iter().map(|m| m.id).collect::<Vec<_>>()
    );
    let everything = b
        .get("/admin/library/book/export/?format=json&ordering=-published_on")
        .await
        .json();
    assert_eq!(
        everything.as_array().unwrap().len(),
        2_501,
        "the offset path is complete"
    );
}

/// Inserts `n` books quickly (a few statements).
async fn bulk_books(db: &TestDb, n: i32) {
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let models = chunk.iter().map(|&i| book::ActiveModel {
            author_id: Set(1),
            title: Set(format!("Many {i:06}")),
            isbn: Set(format!("977{i:010}")),
            summary: Set(String::new()),
            status: Set("draft".into()),
            price: Set(rust_decimal::Decimal::ONE),
            in_stock: Set(true),
            added: Set(base + chrono::Duration::seconds(i64::from(i))),
            uuid: Set(uuid::Uuid::new_v4()),
            ..Default::default()
        });
        book::Entity::insert_many(models)
            .exec(db.conn())
            .await
            .unwrap();
    }
}

/// A client that reads the headers and hangs up: the export's task stops reading rows
/// (the computed column counts the rows read) instead of running to the end.
async fn export_stops_reading_when_the_client_goes_away(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let secret = admin_app::secret();
    let _ = admin_app::admin(db.conn(), &secret).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 1, 0).await;
    let total = 20_000;
    bulk_books(db, total).await;
    let read = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&read);
    let admin = AdminSite::new()
        .register(ModelAdmin::<author::Entity>::new())
        .register(
            ModelAdmin::<book::Entity>::new()
                .list_display([book::Column::Title])
                // 4 KiB a row: 80 MB in all, far more than any socket buffers.
                .computed("pad", "Pad", move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    "x".repeat(4096)
                }),
        )
        .build(db.conn().clone(), secret.clone())
        .await
        .unwrap();
    let app = admin_app::router(db.conn(), admin, &secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut b = Browser::new(addr);
    login(&mut b, "admin").await;
    let cookie = format!("sessionid={}", b.session_cookie().unwrap());

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /admin/library/book/export/?format=csv HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = vec![0_u8; 4096];
    let n = stream.read(&mut head).await.unwrap();
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(stream);

    // The task notices at its next send and stops; nothing is read after that.
    let mut last = read.load(Ordering::SeqCst);
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = read.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let settled = read.load(Ordering::SeqCst);
    assert_eq!(settled, last, "still reading rows after the client left");
    assert!(
        settled < total as usize,
        "read {settled} rows of {total}: the export ran to the end without a reader"
    );

    // The server still answers, and a full export is complete.
    let full = b.get("/admin/library/book/export/?format=csv").await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body.matches("\r\n").count(), total as usize + 1);
    task.abort();
}

/// The table goes away between two batches: the response is cut off (no final chunk),
/// never ended as if the file were complete.
async fn export_aborts_when_the_database_fails_half_way(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let secret = admin_app::secret();
    let _ = admin_app::admin(db.conn(), &secret).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 1, 0).await;
    let total = 20_000;
    bulk_books(db, total).await;
    let admin = AdminSite::new()
        .register(ModelAdmin::<author::Entity>::new())
        .register(
            ModelAdmin::<book::Entity>::new()
                .list_display([book::Column::Title])
                .computed("pad", "Pad", |_| "x".repeat(4096)),
        )
        .build(db.conn().clone(), secret.clone())
        .await
        .unwrap();
    let app = admin_app::router(db.conn(), admin, &secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut b = Browser::new(addr);
    login(&mut b, "admin").await;
    let cookie = format!("sessionid={}", b.session_cookie().unwrap());

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /admin/library/book/export/?format=csv HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut received = vec![0_u8; 64 * 1024];
    let n = stream.read(&mut received).await.unwrap();
    received.truncate(n);
    assert!(received.starts_with(b"HTTP/1.1 200"));
    // The export waits for this reader; meanwhile its table disappears.
    db.conn()
        .execute_unprepared("ALTER TABLE library_book RENAME TO library_book_gone")
        .await
        .unwrap();
    let read_rest = async {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
        rest
    };
    let rest = tokio::time::timeout(std::time::Duration::from_mins(1), read_rest)
        .await
        .expect("the server ends the response");
    received.extend_from_slice(&rest);
    let rows = received.windows(4).filter(|w| *w == b"xxx\r").count();
    assert!(rows < total as usize, "all {rows} rows arrived");
    assert!(
        !received.ends_with(b"\r\n0\r\n\r\n"),
        "the chunked body was ended as if complete after {rows} rows"
    );
    db.conn()
        .execute_unprepared("ALTER TABLE library_book_gone RENAME TO library_book")
        .await
        .unwrap();
    task.abort();
}

/// Books only in stock are visible to non-superusers: the export skips the others.
async fn export_skips_rows_the_view_hook_refuses(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let secret = admin_app::secret();
    // The test site's permissions, for its users.
    let _ = admin_app::admin(db.conn(), &secret).await;
    let admin = AdminSite::new()
        .register(ModelAdmin::<author::Entity>::new().display(|a| a.name.clone()))
        .register(
            ModelAdmin::<book::Entity>::new()
                .list_display([book::Column::Title, book::Column::AuthorId])
                .ordering("id")
                .has_view_permission(|user, b| user.is_superuser() || b.in_stock),
        )
        .build(db.conn().clone(), secret.clone())
        .await
        .unwrap();
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 2, 10).await;
    grant_to(db.conn(), "viewer", &["export_book"]).await;
    let app = admin_app::router(db.conn(), admin, &secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let mut viewer = Browser::new(addr);
    login(&mut viewer, "viewer").await;
    let csv = viewer.get("/admin/library/book/export/?format=csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let rows = records(&csv.body);
    assert_eq!(rows[0], ["Title", "Author id"]);
    let in_stock: Vec<book::Model> = book::Entity::find()
        .filter(book::Column::InStock.eq(true))
        .all(db.conn())
        .await
        .unwrap();
    let mut want: Vec<&str> = in_stock.iter().map(|m| m.title.as_str()).collect();
    want.sort_unstable();
    let mut got: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, want, "only the rows the hook lets the viewer see");
    assert_eq!(rows[1][1], "Author 000", "the foreign key by name");

    let mut admin = Browser::new(addr);
    login(&mut admin, "admin").await;
    let all = admin
        .get("/admin/library/book/export/?format=json")
        .await
        .json();
    assert_eq!(all.as_array().unwrap().len(), 10);
    task.abort();
}
