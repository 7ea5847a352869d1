//! Many-to-many fields in the admin (`ManyToMany`, `filter_horizontal`) on each backend:
//! the book's tags and the auth group's permissions on their forms (choices, the chosen
//! ones selected, the set saved as added and removed join rows, unknown ids refused with
//! nothing saved, the history), in the JSON API (arrays of ids on reads and writes, bad
//! ids refused, one query per page rather than per row), deletion taking the join rows,
//! batteries-auth's own join tables, and registrations `build` refuses.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use batteries::admin::{AdminSite, ManyToMany, ModelAdmin};
use batteries::auth::entities::{
    group, group_permissions, permission, user, user_groups, user_permissions,
};
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{
    self, TAGS,
    entities::{book, book_tags, review, tag},
};
use batteries_tests::admin_fixture::{AdminFixture, api_login, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use bytes::Bytes;
use http::{Method, StatusCode};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};

backend_tests!(
    form_lists_choices_and_saves_the_set,
    unknown_ids_are_refused_and_nothing_is_saved,
    api_reads_and_writes_arrays_of_ids,
    api_list_reads_each_field_once_per_page,
    deleting_a_row_takes_its_join_rows,
    auth_join_tables_work_as_many_to_many,
    ambiguous_or_wrong_registrations_do_not_build,
    past_the_cap_the_form_lists_the_first_and_the_chosen,
    object_permission_hooks_guard_the_sets,
    tags_and_inline_rows_save_in_one_transaction,
    too_many_ids_are_refused_naming_the_limit,
    pages_naming_the_chosen_targets_answer,
);

/// The test site with 3 authors and `books` books (and the seeded tags).
async fn site(db: &TestDb, books: usize) -> (admin_app::Running, Browser) {
    let running = AdminFixture::new(db.conn()).library(3, books).build().await;
    let browser = running.browser();
    (running, browser)
}

/// Posts a form from `page_path` (fetching it first for its token).
async fn submit(b: &mut Browser, page_path: &str, fields: &[(&str, &str)]) -> Reply {
    let page = b.get(page_path).await;
    let t = token(&page);
    let mut all = vec![("csrfmiddlewaretoken", t.as_str())];
    all.extend_from_slice(fields);
    b.post_form(page_path, &all).await
}

/// A JSON request with the CSRF token.
async fn call(b: &mut Browser, method: Method, path: &str, body: Option<&Value>, t: &str) -> Reply {
    let mut headers = vec![("accept", "application/json"), ("x-csrftoken", t)];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let bytes = body.map_or_else(Bytes::new, |v| Bytes::from(v.to_string()));
    b.send(method, path, &headers, bytes).await
}

fn book_form<'a>(title: &'a str, isbn: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("author_id", "1"),
        ("title", title),
        ("isbn", isbn),
        ("summary", "A summary"),
        ("status", "draft"),
        ("pages", "120"),
        ("price", "12.50"),
        ("rating", ""),
        ("in_stock", "on"),
        ("featured", ""),
        ("published_on", "2026-02-03"),
        ("added", "2026-02-03T10:11:12"),
        ("reading_time", ""),
        ("metadata", "{\"k\": [1, 2]}"),
    ]
}

fn book_json(isbn: &str) -> Value {
    json!({
        "author_id": 1,
        "title": "An API book",
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
        "metadata": {"k": 1}
    })
}

/// The id of the seeded tag `name`.
fn tag_id(name: &str) -> i32 {
    TAGS.iter().position(|t| *t == name).expect("a seeded tag") as i32 + 1
}

/// The tags of `book` in the join table, as `(join row id, tag id)` by tag.
async fn join_rows(db: &DatabaseConnection, book: i32) -> Vec<(i32, i32)> {
    book_tags::Entity::find()
        .filter(book_tags::Column::BookId.eq(book))
        .order_by_asc(book_tags::Column::TagId)
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.id, r.tag_id))
        .collect()
}

async fn tags_of(db: &DatabaseConnection, book: i32) -> Vec<i32> {
    join_rows(db, book).await.iter().map(|(_, t)| *t).collect()
}

async fn tag_book(db: &DatabaseConnection, book: i32, tags: &[&str]) {
    for name in tags {
        book_tags::ActiveModel {
            book_id: Set(book),
            tag_id: Set(tag_id(name)),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

/// The `<option>`s of the `<select name=..>` as `(value, label, selected)`.
fn options(html: &str, name: &str) -> Vec<(String, String, bool)> {
    let start = html
        .find(&format!("<select name=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name} in\n{html}"));
    let end = start + html[start..].find("</select>").unwrap();
    let mut out = Vec::new();
    for chunk in html[start..end].split("<option value=\"").skip(1) {
        let value = &chunk[..chunk.find('"').unwrap()];
        let after = &chunk[value.len() + 1..];
        let selected = after.starts_with(" selected");
        let label = &after[after.find('>').unwrap() + 1..after.find("</option>").unwrap()];
        out.push((value.to_owned(), label.to_owned(), selected));
    }
    out
}

fn chosen(html: &str, name: &str) -> Vec<String> {
    options(html, name)
        .into_iter()
        .filter(|(_, _, s)| *s)
        .map(|(_, l, _)| l)
        .collect()
}

async fn form_lists_choices_and_saves_the_set(db: &TestDb) {
    let (site, mut b) = site(db, 3).await;
    api_login(&mut b, "admin").await;
    let conn = db.conn();

    // The add form: every tag, by its admin's display, none chosen.
    let add = b.get("/admin/library/book/add/").await;
    assert_eq!(add.status, 200, "{}", add.body);
    assert!(
        add.body.contains("<label for=\"id_tags\">Tags</label>"),
        "{}",
        add.body
    );
    assert!(
        add.body
            .contains("class=\"vManyToManyField filtered\" data-filter-horizontal=\"tags\"")
    );
    let listed = options(&add.body, "tags");
    assert_eq!(
        listed
            .iter()
            .map(|(_, l, _)| l.as_str())
            .collect::<Vec<_>>(),
        TAGS
    );
    assert_eq!(listed[0].0, "1", "values are the tags' ids");
    assert!(listed.iter().all(|(_, _, s)| !s));

    // Adding with tags: the book and its join rows, in one go.
    let mut fields = book_form("Tagged", "9782222222222");
    let (rust, web) = (tag_id("rust").to_string(), tag_id("web").to_string());
    fields.push(("tags", &rust));
    fields.push(("tags", &web));
    let saved = submit(&mut b, "/admin/library/book/add/", &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let created = book::Entity::find()
        .filter(book::Column::Isbn.eq("9782222222222"))
        .one(conn)
        .await
        .unwrap()
        .expect("saved");
    assert_eq!(
        tags_of(conn, created.id).await,
        [tag_id("rust"), tag_id("web")]
    );

    // The change form shows them chosen.
    let change = format!("/admin/library/book/{}/change/", created.id);
    let page = b.get(&change).await;
    assert_eq!(chosen(&page.body, "tags"), ["rust", "web"]);

    // Changing the set: `web` removed, `django` and `history` added, `rust` kept as is.
    let before = join_rows(conn, created.id).await;
    let (django, history) = (tag_id("django").to_string(), tag_id("history").to_string());
    let mut fields = book_form("Tagged", "9782222222222");
    for id in [&django, &history, &rust] {
        fields.push(("tags", id));
    }
    let saved = submit(&mut b, &change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let after = join_rows(conn, created.id).await;
    assert_eq!(
        after.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
        [tag_id("django"), tag_id("history"), tag_id("rust")]
    );
    let rust_row = |rows: &[(i32, i32)]| rows.iter().find(|(_, t)| *t == tag_id("rust")).copied();
    assert_eq!(
        rust_row(&before),
        rust_row(&after),
        "the pair kept is not deleted and inserted again"
    );

    // Nothing posted for the field: the set is emptied (an unselected <select multiple>).
    // Same values otherwise: the history says only the tags changed.
    let saved = submit(&mut b, &change, &book_form("Tagged", "9782222222222")).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert!(tags_of(conn, created.id).await.is_empty());
    // And saving with no change at all records no change of tags.
    let saved = submit(&mut b, &change, &book_form("Tagged", "9782222222222")).await;
    assert_eq!(saved.status, 302, "{}", saved.body);

    let log = b
        .get(&format!("/admin/library/book/{}/history/", created.id))
        .await;
    assert_eq!(log.status, 200);
    assert_eq!(
        log.body.matches("Changed Tags.").count(),
        2,
        "two saves changed the tags: {}",
        log.body
    );
    assert!(log.body.contains("No fields changed."), "{}", log.body);

    // The editor (change_book, nothing on tags) edits tags like any field.
    let mut editor = Browser::new(site.addr);
    api_login(&mut editor, "editor").await;
    let mut fields = book_form("Tagged", "9782222222222");
    fields.push(("tags", &web));
    let saved = submit(&mut editor, &change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert_eq!(tags_of(conn, created.id).await, [tag_id("web")]);

    // The viewer sees the chosen tags' names, read-only, and no select.
    let mut viewer = Browser::new(site.addr);
    api_login(&mut viewer, "viewer").await;
    let page = viewer.get(&change).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("name=\"tags\""), "{}", page.body);
    assert!(
        page.body.contains("<div class=\"readonly\">web</div>"),
        "{}",
        page.body
    );
}

async fn unknown_ids_are_refused_and_nothing_is_saved(db: &TestDb) {
    let (_site, mut b) = site(db, 2).await;
    api_login(&mut b, "admin").await;
    let conn = db.conn();
    let book_id = 1;
    tag_book(conn, book_id, &["fiction"]).await;
    let title_before = book::Entity::find_by_id(book_id)
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .title;
    let change = format!("/admin/library/book/{book_id}/change/");
    let isbn = "9780000000000";
    let rust = tag_id("rust").to_string();
    for bad in ["999", "abc", "-1"] {
        let mut fields = book_form("A new title", isbn);
        fields.push(("tags", &rust));
        fields.push(("tags", bad));
        let refused = submit(&mut b, &change, &fields).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert!(
            refused.body.contains(&format!(
                "Select a valid choice. {bad} is not one of the available choices."
            )),
            "{bad}: {}",
            refused.body
        );
        // The choices posted are kept on the form shown again.
        assert_eq!(chosen(&refused.body, "tags"), ["rust"]);
        let now = book::Entity::find_by_id(book_id)
            .one(conn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.title, title_before, "the row is unchanged");
        assert_eq!(tags_of(conn, book_id).await, [tag_id("fiction")]);
    }
    // An add with a bad id adds nothing.
    let mut fields = book_form("Never", "9783333333333");
    fields.push(("tags", "12345"));
    let refused = submit(&mut b, "/admin/library/book/add/", &fields).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let added = book::Entity::find()
        .filter(book::Column::Isbn.eq("9783333333333"))
        .one(conn)
        .await
        .unwrap();
    assert!(added.is_none());
}

async fn api_reads_and_writes_arrays_of_ids(db: &TestDb) {
    let (_site, mut b) = site(db, 3).await;
    let t = api_login(&mut b, "admin").await;
    let conn = db.conn();
    tag_book(conn, 1, &["rust", "databases"]).await;
    tag_book(conn, 2, &["web"]).await;
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap_or_else(|| panic!("an array: {v}"))
            .iter()
            .map(|x| x.as_i64().expect("integer ids"))
            .collect()
    };

    // Reads: arrays of ids, on the row and on every row of a page.
    let one = call(&mut b, Method::GET, "/admin/api/library/book/1/", None, &t).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(
        ids(&one.json()["tags"]),
        [i64::from(tag_id("databases")), i64::from(tag_id("rust"))]
    );
    let list = call(
        &mut b,
        Method::GET,
        "/admin/api/library/book/?ordering=id",
        None,
        &t,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let results = list.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3);
    assert_eq!(ids(&results[1]["tags"]), [i64::from(tag_id("web"))]);
    assert!(ids(&results[2]["tags"]).is_empty());

    // Create with ids.
    let mut body = book_json("9784444444444");
    body["tags"] = json!([tag_id("python"), tag_id("django"), tag_id("python")]);
    let created = call(
        &mut b,
        Method::POST,
        "/admin/api/library/book/",
        Some(&body),
        &t,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let new_id = created.json()["id"].as_i64().unwrap() as i32;
    assert_eq!(
        ids(&created.json()["tags"]),
        [i64::from(tag_id("django")), i64::from(tag_id("python"))]
    );
    assert_eq!(
        tags_of(conn, new_id).await,
        [tag_id("django"), tag_id("python")]
    );
    let url = format!("/admin/api/library/book/{new_id}/");

    // PUT replaces the set; PATCH without the field keeps it; PATCH with it replaces it.
    let mut body = book_json("9784444444444");
    body["tags"] = json!([tag_id("rust")]);
    let put = call(&mut b, Method::PUT, &url, Some(&body), &t).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(ids(&put.json()["tags"]), [i64::from(tag_id("rust"))]);
    assert_eq!(tags_of(conn, new_id).await, [tag_id("rust")]);
    let patch = call(
        &mut b,
        Method::PATCH,
        &url,
        Some(&json!({"title": "Renamed"})),
        &t,
    )
    .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(ids(&patch.json()["tags"]), [i64::from(tag_id("rust"))]);
    let patch = call(
        &mut b,
        Method::PATCH,
        &url,
        Some(&json!({"tags": [tag_id("web"), tag_id("fiction")]})),
        &t,
    )
    .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(
        tags_of(conn, new_id).await,
        [tag_id("fiction"), tag_id("web")]
    );
    let patch = call(&mut b, Method::PATCH, &url, Some(&json!({"tags": []})), &t).await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert!(tags_of(conn, new_id).await.is_empty());
    tag_book(conn, new_id, &["rust"]).await;

    // Unknown ids: 409 as for foreign keys, by field; nothing saved.
    let bad = call(
        &mut b,
        Method::PATCH,
        &url,
        Some(&json!({"title": "Never", "tags": [tag_id("web"), 999]})),
        &t,
    )
    .await;
    assert_eq!(bad.status, StatusCode::CONFLICT, "{}", bad.body);
    assert_eq!(
        bad.json()["fields"]["tags"],
        json!(["Invalid pk “999” - object does not exist."])
    );
    // Not an array, or items of the wrong type: 400, by field.
    for (value, message) in [
        (json!("1"), "Expected a list of items but got type \"str\"."),
        (
            json!(3),
            "Expected a list of items but got type \"number\".",
        ),
        (
            json!(null),
            "Expected a list of items but got type \"null\".",
        ),
        (
            json!({"id": 1}),
            "Expected a list of items but got type \"dict\".",
        ),
        (json!(["1"]), "Incorrect value \"1\": Enter an integer."),
        (json!([1.5]), "Incorrect value 1.5: Enter an integer."),
    ] {
        let bad = call(
            &mut b,
            Method::PATCH,
            &url,
            Some(&json!({"tags": value})),
            &t,
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{value}: {}", bad.body);
        assert_eq!(bad.json()["fields"]["tags"], json!([message]), "{value}");
    }
    let mut body = book_json("9785555555555");
    body["tags"] = json!([4242]);
    let bad = call(
        &mut b,
        Method::POST,
        "/admin/api/library/book/",
        Some(&body),
        &t,
    )
    .await;
    assert_eq!(bad.status, StatusCode::CONFLICT, "{}", bad.body);
    let after = call(&mut b, Method::GET, &url, None, &t).await;
    assert_eq!(after.json()["title"], "Renamed", "nothing saved");
    assert_eq!(tags_of(conn, new_id).await, [tag_id("rust")]);
    assert!(
        book::Entity::find()
            .filter(book::Column::Isbn.eq("9785555555555"))
            .one(conn)
            .await
            .unwrap()
            .is_none()
    );

    // The OpenAPI document: arrays of the target's key type.
    let doc = call(&mut b, Method::GET, "/admin/api/openapi.json", None, &t).await;
    let schemas = &doc.json()["components"]["schemas"];
    let tags = &schemas["LibraryBook"]["properties"]["tags"];
    assert_eq!(tags["type"], "array", "{tags}");
    assert_eq!(tags["items"]["type"], "integer", "{tags}");
    assert!(
        schemas["LibraryBook"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("tags"))
    );
    // Writes take at most `MAX_M2M_IDS` ids (issue 16).
    let mut bounded = tags.clone();
    bounded["maxItems"] = json!(batteries::admin::MAX_M2M_IDS);
    assert_eq!(schemas["LibraryBookInput"]["properties"]["tags"], bounded);
    assert!(
        !schemas["LibraryBookInput"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("tags"))
    );
    assert_eq!(schemas["LibraryBookPatch"]["properties"]["tags"], bounded);
    assert_eq!(
        schemas["AuthGroup"]["properties"]["permissions"]["type"],
        "array"
    );
}

/// Listing rows through the API reads each many-to-many field in one query for the page:
/// the same number of queries for 5 rows as for 20.
async fn api_list_reads_each_field_once_per_page(db: &TestDb) {
    let Some(url) = db.url() else {
        return; // In-memory SQLite cannot be opened twice; PostgreSQL and MariaDB run it.
    };
    admin_app::setup(db.conn()).await;
    let _ = admin_app::admin(db.conn(), &admin_app::secret()).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 3, 25).await;
    for book in 1..=25 {
        tag_book(db.conn(), book, &["rust", "web"]).await;
    }
    let mut counted = batteries::orm::db::connect(&url).await.unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let q = queries.clone();
    counted.set_metric_callback(move |_| {
        q.fetch_add(1, Ordering::SeqCst);
    });
    let secret = admin_app::secret();
    let admin = admin_app::admin(&counted, &secret).await;
    let server = admin_app::serve_with(&counted, admin, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.addr;
    let mut b = Browser::new(addr);
    let t = api_login(&mut b, "admin").await;
    let mut counts = Vec::new();
    for per_page in [5, 20] {
        for _ in 0..2 {
            queries.store(0, Ordering::SeqCst);
            let page = call(
                &mut b,
                Method::GET,
                &format!("/admin/api/library/book/?per_page={per_page}"),
                None,
                &t,
            )
            .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let results = page.json()["results"].as_array().unwrap().clone();
            assert_eq!(results.len(), per_page);
            assert!(
                results
                    .iter()
                    .all(|r| r["tags"].as_array().unwrap().len() == 2)
            );
            counts.push(queries.load(Ordering::SeqCst));
        }
    }
    drop(server);
    assert_eq!(counts[1], counts[3], "queries for 5 rows vs 20: {counts:?}");
    assert!(counts[3] <= 10, "a handful of queries per page: {counts:?}");
}

async fn deleting_a_row_takes_its_join_rows(db: &TestDb) {
    let (_site, mut b) = site(db, 3).await;
    let t = api_login(&mut b, "admin").await;
    let conn = db.conn();
    tag_book(conn, 1, &["rust", "web", "fiction"]).await;
    tag_book(conn, 2, &["rust"]).await;

    // The confirmation lists the join rows going with the book.
    let confirm = b.get("/admin/library/book/1/delete/").await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("Book-tags relationships"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("Tags: rust"), "{}", confirm.body);
    let done = submit(&mut b, "/admin/library/book/1/delete/", &[("post", "yes")]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(tags_of(conn, 1).await.is_empty());
    assert_eq!(
        tags_of(conn, 2).await,
        [tag_id("rust")],
        "others' rows stay"
    );
    assert_eq!(
        tag::Entity::find().all(conn).await.unwrap().len(),
        TAGS.len(),
        "the tags themselves stay"
    );

    // Through the API too.
    let gone = call(
        &mut b,
        Method::DELETE,
        "/admin/api/library/book/2/",
        None,
        &t,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    assert!(
        book_tags::Entity::find()
            .all(conn)
            .await
            .unwrap()
            .is_empty()
    );
}

/// batteries-auth's join tables: a group's permissions on the test site's group admin,
/// and a user's groups and permissions on an admin registered here.
async fn auth_join_tables_work_as_many_to_many(db: &TestDb) {
    let (site, mut b) = site(db, 1).await;
    let t = api_login(&mut b, "admin").await;
    let conn = db.conn();
    let perm = |codename: &'static str| async move {
        permission::Entity::find()
            .filter(permission::Column::Codename.eq(codename))
            .one(conn)
            .await
            .unwrap()
            .expect("permission")
            .id
    };
    let (view_book, change_book, view_tag) = (
        perm("view_book").await,
        perm("change_book").await,
        perm("view_tag").await,
    );

    // The group admin: permissions listed by the field's display, chosen, saved.
    let add = b.get("/admin/auth/group/add/").await;
    assert_eq!(add.status, 200, "{}", add.body);
    let listed = options(&add.body, "permissions");
    assert!(
        listed
            .iter()
            .any(|(v, l, _)| *v == view_book.to_string() && l == "view_book | Can view book"),
        "{listed:?}"
    );
    let (vb, cb, vt) = (
        view_book.to_string(),
        change_book.to_string(),
        view_tag.to_string(),
    );
    let saved = submit(
        &mut b,
        "/admin/auth/group/add/",
        &[
            ("name", "Librarians"),
            ("permissions", &vb),
            ("permissions", &cb),
        ],
    )
    .await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let librarians = group::Entity::find()
        .filter(group::Column::Name.eq("Librarians"))
        .one(conn)
        .await
        .unwrap()
        .expect("group");
    let granted = |group_id: i32| async move {
        group_permissions::Entity::find()
            .filter(group_permissions::Column::GroupId.eq(group_id))
            .all(conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.permission_id)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        granted(librarians.id).await,
        BTreeSet::from([view_book, change_book])
    );
    let change = format!("/admin/auth/group/{}/change/", librarians.id);
    let page = b.get(&change).await;
    let mut shown = chosen(&page.body, "permissions");
    shown.sort();
    assert_eq!(
        shown,
        ["change_book | Can change book", "view_book | Can view book"]
    );
    let saved = submit(
        &mut b,
        &change,
        &[
            ("name", "Librarians"),
            ("permissions", &vt),
            ("permissions", &cb),
        ],
    )
    .await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert_eq!(
        granted(librarians.id).await,
        BTreeSet::from([view_tag, change_book])
    );
    let api = call(
        &mut b,
        Method::GET,
        &format!("/admin/api/auth/group/{}/", librarians.id),
        None,
        &t,
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let mut got: Vec<i64> = api.json()["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    got.sort_unstable();
    let mut want = vec![i64::from(view_tag), i64::from(change_book)];
    want.sort_unstable();
    assert_eq!(got, want);
    drop(site);

    // A user admin with groups and user permissions (auth_user_groups,
    // auth_user_user_permissions), the columns found from their relations.
    let secret = admin_app::secret();
    let users = AdminSite::new()
        .register(ModelAdmin::<group::Entity>::new().display(|g| g.name.clone()))
        .register(
            ModelAdmin::<user::Entity>::new()
                .fieldset(None, [user::Column::Username])
                .fieldset(Some("Permissions"), [user::Column::IsStaff])
                .display(|u| u.username.clone())
                .many_to_many(
                    ManyToMany::<user_groups::Entity, group::Entity>::new("groups")
                        .fieldset("Permissions"),
                )
                .many_to_many(
                    ManyToMany::<user_permissions::Entity, permission::Entity>::new(
                        "user_permissions",
                    )
                    .label("User permissions")
                    .display(|p| p.codename.clone())
                    .filter_horizontal(),
                ),
        )
        .build(conn.clone(), secret.clone())
        .await
        .expect("the user admin builds");
    let server = admin_app::serve_with(conn, users, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.addr;
    let mut b = Browser::new(addr);
    let t = api_login(&mut b, "admin").await;
    let viewer = user::Entity::find()
        .filter(user::Column::Username.eq("viewer"))
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    let change = format!("/admin/auth/user/{}/change/", viewer.id);
    let page = b.get(&change).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        options(&page.body, "groups"),
        [(librarians.id.to_string(), "Librarians".to_owned(), false)]
    );
    assert_eq!(chosen(&page.body, "user_permissions"), ["view_book"]);
    // `groups` at the end of "Permissions"; `user_permissions` at the end of the first.
    let at = |needle: &str| {
        page.body
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {}", page.body))
    };
    assert!(at("name=\"username\"") < at("name=\"user_permissions\""));
    assert!(at("name=\"user_permissions\"") < at(">Permissions</h2>"));
    assert!(at(">Permissions</h2>") < at("name=\"is_staff\""));
    assert!(at("name=\"is_staff\"") < at("name=\"groups\""));
    let lib = librarians.id.to_string();
    let saved = submit(
        &mut b,
        &change,
        &[
            ("username", "viewer"),
            ("is_staff", "on"),
            ("groups", &lib),
            ("user_permissions", &vt),
        ],
    )
    .await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let groups: Vec<i32> = user_groups::Entity::find()
        .filter(user_groups::Column::UserId.eq(viewer.id))
        .all(conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.group_id)
        .collect();
    assert_eq!(groups, [librarians.id]);
    let perms: Vec<i32> = user_permissions::Entity::find()
        .filter(user_permissions::Column::UserId.eq(viewer.id))
        .all(conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.permission_id)
        .collect();
    assert_eq!(perms, [view_tag]);
    let api = call(
        &mut b,
        Method::PATCH,
        &format!("/admin/api/auth/user/{}/", viewer.id),
        Some(&json!({"groups": [], "user_permissions": [view_book, view_tag]})),
        &t,
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert_eq!(api.json()["groups"], json!([]));
    let mut got: Vec<i64> = api.json()["user_permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    got.sort_unstable();
    let mut want = vec![i64::from(view_book), i64::from(view_tag)];
    want.sort_unstable();
    assert_eq!(got, want);
    drop(server);
}

async fn ambiguous_or_wrong_registrations_do_not_build(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let secret = admin_app::secret();
    let build = |site: AdminSite| {
        let conn = db.conn().clone();
        let secret = secret.clone();
        async move {
            match site.build(conn, secret).await {
                Ok(_) => panic!("the registration should be refused"),
                Err(e) => e.to_string(),
            }
        }
    };
    // The join table has no relation to the model.
    let e = build(
        AdminSite::new().register(
            ModelAdmin::<review::Entity>::new()
                .many_to_many(ManyToMany::<book_tags::Entity, tag::Entity>::new("tags")),
        ),
    )
    .await;
    assert!(
        e.contains("many-to-many `tags` of `library_review`")
            && e.contains(
                "`library_book_tags` needs exactly one `belongs_to` relation to `library_review`"
            )
            && e.contains(".columns(source, target)"),
        "{e}"
    );
    // A join of a table to itself must name its columns.
    let e = build(
        AdminSite::new().register(ModelAdmin::<tag::Entity>::new().many_to_many(ManyToMany::<
            book_tags::Entity,
            tag::Entity,
        >::new(
            "related"
        ))),
    )
    .await;
    assert!(e.contains("joins `library_tag` to itself"), "{e}");
    // Columns named, but pointing elsewhere.
    let e = build(
        AdminSite::new().register(
            ModelAdmin::<book::Entity>::new().many_to_many(
                ManyToMany::<book_tags::Entity, tag::Entity>::new("tags")
                    .columns(book_tags::Column::TagId, book_tags::Column::BookId),
            ),
        ),
    )
    .await;
    assert!(
        e.contains("`library_book_tags.tag_id` refers to `library_tag`, not `library_book`"),
        "{e}"
    );
    // A name taken by a column.
    let e =
        build(
            AdminSite::new().register(
                ModelAdmin::<book::Entity>::new()
                    .many_to_many(ManyToMany::<book_tags::Entity, tag::Entity>::new("title")),
            ),
        )
        .await;
    assert!(e.contains("has a column of that name"), "{e}");
    // Named columns that agree with the relations build.
    AdminSite::new()
        .register(
            ModelAdmin::<book::Entity>::new().many_to_many(
                ManyToMany::<book_tags::Entity, tag::Entity>::new("tags")
                    .columns(book_tags::Column::BookId, book_tags::Column::TagId),
            ),
        )
        .build(db.conn().clone(), secret.clone())
        .await
        .expect("explicit columns build");
}

/// More targets than a form lists (1,000): the first by key and the chosen ones are
/// listed, the form says so, and an id past the cap can still be saved.
async fn past_the_cap_the_form_lists_the_first_and_the_chosen(db: &TestDb) {
    let (_site, mut b) = site(db, 1).await;
    api_login(&mut b, "admin").await;
    let conn = db.conn();
    let more: Vec<tag::ActiveModel> = (0..1000)
        .map(|i| tag::ActiveModel {
            name: Set(format!("extra {i:04}")),
            ..Default::default()
        })
        .collect();
    tag::Entity::insert_many(more).exec(conn).await.unwrap();
    let last = tag::Entity::find()
        .order_by_desc(tag::Column::Id)
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    book_tags::ActiveModel {
        book_id: Set(1),
        tag_id: Set(last.id),
        ..Default::default()
    }
    .insert(conn)
    .await
    .unwrap();
    let change = "/admin/library/book/1/change/";
    let page = b.get(change).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let listed = options(&page.body, "tags");
    assert_eq!(listed.len(), 1001, "the first 1,000 and the chosen one");
    assert_eq!(listed[1000], (last.id.to_string(), last.name.clone(), true));
    assert!(
        page.body
            .contains("Only the first 1000 choices are listed; use the API to choose others."),
        "{}",
        page.body
    );
    // Keeping it and adding another unlisted one through the form works too.
    let (kept, other) = (last.id.to_string(), (last.id - 1).to_string());
    let mut fields = book_form("Capped", "9780000000000");
    fields.push(("tags", &kept));
    fields.push(("tags", &other));
    let saved = submit(&mut b, change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert_eq!(tags_of(conn, 1).await, [last.id - 1, last.id]);
}

/// A row the user may view but not change (`has_change_permission`): its set is shown
/// read-only, and neither the form nor the API changes it.
async fn object_permission_hooks_guard_the_sets(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let _ = admin_app::admin(db.conn(), &admin_app::secret()).await;
    admin_app::seed_users(db.conn()).await;
    // Books cycle draft, published, archived: 1 is a draft, 2 is published.
    admin_app::seed_library(db.conn(), 2, 3).await;
    let conn = db.conn();
    tag_book(conn, 2, &["history"]).await;
    let secret = admin_app::secret();
    let admin = AdminSite::new()
        .register(ModelAdmin::<tag::Entity>::new().display(|t| t.name.clone()))
        .register(
            ModelAdmin::<book::Entity>::new()
                .readonly_fields([book::Column::Uuid])
                .display(|b| b.title.clone())
                .has_change_permission(|user, b| user.is_superuser() || b.status == "draft")
                .many_to_many(
                    ManyToMany::<book_tags::Entity, tag::Entity>::new("tags").filter_horizontal(),
                ),
        )
        .build(conn.clone(), secret.clone())
        .await
        .expect("builds");
    let server = admin_app::serve_with(conn, admin, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.addr;
    let mut b = Browser::new(addr);
    let t = api_login(&mut b, "editor").await;
    let web = tag_id("web").to_string();

    // The published book: read-only names, a refused POST, a refused PATCH.
    let page = b.get("/admin/library/book/2/change/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("name=\"tags\""), "{}", page.body);
    assert!(
        page.body.contains("<div class=\"readonly\">history</div>"),
        "{}",
        page.body
    );
    let t_form = token(&page);
    let mut fields = book_form("Published", "9780000000001");
    fields.push(("csrfmiddlewaretoken", &t_form));
    fields.push(("tags", &web));
    let refused = b.post_form("/admin/library/book/2/change/", &fields).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = call(
        &mut b,
        Method::PATCH,
        "/admin/api/library/book/2/",
        Some(&json!({"tags": [tag_id("web")]})),
        &t,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(tags_of(conn, 2).await, [tag_id("history")], "unchanged");

    // The draft: the same PATCH goes through.
    let done = call(
        &mut b,
        Method::PATCH,
        "/admin/api/library/book/1/",
        Some(&json!({"tags": [tag_id("web")]})),
        &t,
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(tags_of(conn, 1).await, [tag_id("web")]);
    drop(server);
}

/// The book's tags and its inline reviews in one post: saved together, or not at all
/// when an inline row is refused.
async fn tags_and_inline_rows_save_in_one_transaction(db: &TestDb) {
    let (_site, mut b) = site(db, 1).await;
    api_login(&mut b, "admin").await;
    let conn = db.conn();
    let change = "/admin/library/book/1/change/";
    let inline = |stars: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("review_set-TOTAL_FORMS", "1"),
            ("review_set-INITIAL_FORMS", "0"),
            ("review_set-MIN_NUM_FORMS", "0"),
            ("review_set-MAX_NUM_FORMS", "5"),
            ("review_set-0-id", ""),
            ("review_set-0-stars", stars),
            ("review_set-0-body", "Inline review"),
            ("review_set-0-created", "2026-03-01T10:00:00"),
        ]
    };
    let (rust, web) = (tag_id("rust").to_string(), tag_id("web").to_string());

    // A refused inline row: neither the review nor the tags are saved.
    let mut fields = book_form("With reviews", "9780000000000");
    fields.extend(inline("many"));
    fields.push(("tags", &rust));
    let refused = submit(&mut b, change, &fields).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(tags_of(conn, 1).await.is_empty());
    assert_eq!(chosen(&refused.body, "tags"), ["rust"], "kept on the form");

    // Both good: one transaction, one history entry naming both.
    let mut fields = book_form("With reviews", "9780000000000");
    fields.extend(inline("5"));
    fields.push(("tags", &rust));
    fields.push(("tags", &web));
    let saved = submit(&mut b, change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert_eq!(tags_of(conn, 1).await, [tag_id("rust"), tag_id("web")]);
    let reviews = review::Entity::find()
        .filter(review::Column::BookId.eq(1))
        .all(conn)
        .await
        .unwrap();
    assert_eq!(reviews.len(), 1);
    let log = b.get("/admin/library/book/1/history/").await;
    assert!(log.body.contains("Tags"), "{}", log.body);
    assert!(log.body.contains("Added review"), "{}", log.body);
}

/// Issue 16, finding 12b: a PATCH with 40,000 tag ids answered 503 "database
/// unavailable" (the ids became more bound parameters than the backend takes). A set
/// longer than `MAX_M2M_IDS` is now a 400 naming the limit, before any query, from the
/// API and the form alike; nothing is saved.
async fn too_many_ids_are_refused_naming_the_limit(db: &TestDb) {
    let (site, mut b) = site(db, 2).await;
    let conn = db.conn();
    let t = api_login(&mut b, "admin").await;
    let max = batteries::admin::MAX_M2M_IDS;
    let book_id = 1;
    tag_book(conn, book_id, &["rust"]).await;
    let url = format!("/admin/api/library/book/{book_id}/");
    let limit = format!("at most {max} items");
    for n in [40_000, max + 1] {
        let ids: Vec<usize> = (1..=n).collect();
        let reply = call(&mut b, Method::PATCH, &url, Some(&json!({"tags": ids})), &t).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{n}: {}", reply.body);
        let message = reply.json()["fields"]["tags"][0]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(&limit), "{message}");
        assert_eq!(
            tags_of(conn, book_id).await,
            [tag_id("rust")],
            "nothing saved"
        );
        let mut body = book_json("9781111111111");
        body["tags"] = json!(ids);
        let reply = call(
            &mut b,
            Method::POST,
            "/admin/api/library/book/",
            Some(&body),
            &t,
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{n}: {}", reply.body);
        assert!(
            book::Entity::find()
                .filter(book::Column::Isbn.eq("9781111111111"))
                .one(conn)
                .await
                .unwrap()
                .is_none()
        );
    }
    // At the limit the ids are looked up: unknown ones are a conflict, not an outage.
    let ids: Vec<usize> = (1_000_000..1_000_000 + max).collect();
    let reply = call(&mut b, Method::PATCH, &url, Some(&json!({"tags": ids})), &t).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(tags_of(conn, book_id).await, [tag_id("rust")]);

    // The form: as many `tags` pairs.
    let page = format!("/admin/library/book/{book_id}/change/");
    let many: Vec<String> = (1..=max + 1).map(|i| i.to_string()).collect();
    let mut fields = book_form("Too many tags", "9782222222222");
    fields.extend(many.iter().map(|id| ("tags", id.as_str())));
    let reply = submit(&mut b, &page, &fields).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains(&limit), "{}", reply.body);
    assert_eq!(tags_of(conn, book_id).await, [tag_id("rust")]);
    assert_ne!(
        book::Entity::find_by_id(book_id)
            .one(conn)
            .await
            .unwrap()
            .unwrap()
            .title,
        "Too many tags"
    );
    drop(site);
}

/// Issue 16, finding 4: the pages that name a row's chosen targets through the field's
/// own `display` (the delete confirmation, a view-only user's change page) asked the
/// database for `LIMIT u64::MAX`, which the driver turned into a panic and a reset
/// connection. Each answers now, naming the targets.
async fn pages_naming_the_chosen_targets_answer(db: &TestDb) {
    let (site, mut b) = site(db, 2).await;
    api_login(&mut b, "admin").await;
    let conn = db.conn();
    tag_book(conn, 1, &["rust", "web"]).await;

    let confirm = b.get("/admin/library/book/1/delete/").await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Tags: rust"), "{}", confirm.body);
    assert!(confirm.body.contains("Tags: web"), "{}", confirm.body);

    // A group with permissions (named by the field's display).
    let granted = submit(
        &mut b,
        "/admin/auth/group/add/",
        &[
            ("name", "Readers"),
            ("permissions", "1"),
            ("permissions", "2"),
        ],
    )
    .await;
    assert_eq!(granted.status, 302, "{}", granted.body);
    let readers = group::Entity::find()
        .filter(group::Column::Name.eq("Readers"))
        .one(conn)
        .await
        .unwrap()
        .expect("group");
    let confirm = b
        .get(&format!("/admin/auth/group/{}/delete/", readers.id))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Permissions: "), "{}", confirm.body);

    // A view-only user sees the book's tags as text.
    let mut viewer = Browser::new(site.addr);
    api_login(&mut viewer, "viewer").await;
    let page = viewer.get("/admin/library/book/1/change/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("rust"), "{}", page.body);
    drop(site);

    // The shipped user admin: a user with permissions, on its delete page.
    let users = AdminSite::new()
        .register(batteries::admin::user_admin())
        .build(conn.clone(), admin_app::secret())
        .await
        .expect("the user admin builds");
    let server = admin_app::serve_with(conn, users, "127.0.0.1:0".parse().unwrap()).await;
    let mut b = Browser::new(server.addr);
    api_login(&mut b, "admin").await;
    let editor = user::Entity::find()
        .filter(user::Column::Username.eq("editor"))
        .one(conn)
        .await
        .unwrap()
        .expect("editor");
    let confirm = b
        .get(&format!("/admin/auth/user/{}/delete/", editor.id))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("view_book"), "{}", confirm.body);
    drop(server);
}
