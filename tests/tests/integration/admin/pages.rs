//! The admin's pages over HTTP on each backend: the changelist (search, filters,
//! sorting, pagination), forms with validation, deletion with cascades, actions,
//! history, permissions, and the attacks the issue lists (stored XSS, SQL injection
//! through every input, readonly and unknown fields, CSRF, open redirects,
//! clickjacking). Plus a query count showing no N+1 on the changelist.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use batteries::admin::log::entity as log_entry;
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, PASSWORD, entities::author, entities::book};
use batteries_tests::admin_fixture::{AdminFixture, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

backend_tests!(
    changelist_search_filter_sort_paginate,
    forms_validate_save_and_log,
    delete_cascades_and_actions,
    permissions_limit_what_staff_see,
    stored_scripts_are_escaped,
    sql_injection_goes_nowhere,
    readonly_unknown_and_forged_posts_change_nothing,
    changelist_queries_do_not_grow_with_rows,
    password_change_validates_and_keeps_the_session,
);

/// Sets up the library with `books` books, serves the admin, returns it and a browser.
async fn site(db: &TestDb, books: usize) -> (admin_app::Running, Browser) {
    let running = AdminFixture::new(db.conn()).library(3, books).build().await;
    let browser = running.browser();
    (running, browser)
}

async fn login(b: &mut Browser, username: &str) -> Reply {
    let page = b.get("/admin/login/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let t = token(&page);
    b.post_form(
        "/admin/login/",
        &[
            ("csrfmiddlewaretoken", &t),
            ("username", username),
            ("password", PASSWORD),
            ("next", "/admin/"),
        ],
    )
    .await
}

/// Posts a form from `page_path` (fetching it first for its token).
async fn submit(b: &mut Browser, page_path: &str, fields: &[(&str, &str)]) -> Reply {
    let page = b.get(page_path).await;
    let t = token(&page);
    let mut all = vec![("csrfmiddlewaretoken", t.as_str())];
    all.extend_from_slice(fields);
    b.post_form(page_path, &all).await
}

/// The pks of the changelist's rows, in order.
fn row_pks(page: &Reply) -> Vec<String> {
    page.body
        .match_indices("data-pk=\"")
        .map(|(at, m)| {
            let rest = &page.body[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

async fn book_count(db: &TestDb) -> u64 {
    book::Entity::find().count(db.conn()).await.unwrap()
}

fn book_form<'a>(title: &'a str, isbn: &'a str, price: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("author_id", "1"),
        ("title", title),
        ("isbn", isbn),
        ("summary", "A summary"),
        ("status", "draft"),
        ("pages", "120"),
        ("price", price),
        ("rating", ""),
        ("in_stock", "on"),
        ("featured", ""),
        ("published_on", "2026-02-03"),
        ("added", "2026-02-03T10:11:12"),
        ("reading_time", ""),
        ("metadata", "{\"k\": [1, 2]}"),
    ]
}

async fn changelist_search_filter_sort_paginate(db: &TestDb) {
    let (_site, mut b) = site(db, 30).await;
    let anonymous = b.get("/admin/library/book/?q=rust").await;
    assert_eq!(anonymous.status, 302);
    assert_eq!(
        anonymous.location(),
        Some("/admin/login/?next=%2Fadmin%2Flibrary%2Fbook%2F%3Fq%3Drust")
    );
    let logged_in = login(&mut b, "admin").await;
    assert_eq!(logged_in.status, 302, "{}", logged_in.body);
    assert_eq!(logged_in.location(), Some("/admin/"));

    let index = b.get("/admin/").await;
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains("/admin/library/book/"),
        "{}",
        index.body
    );
    assert!(index.body.contains("/admin/library/author/"));

    let list = b.get("/admin/library/book/").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(row_pks(&list).len(), 20, "20 rows a page");
    // Default ordering: newest `added` first (book 29 was added last).
    assert_eq!(row_pks(&list)[0], "30");
    assert!(
        list.body.contains("Author 001"),
        "foreign keys show the author's name"
    );

    // Search: each word must match the title or the ISBN.
    let search = b.get("/admin/library/book/?q=django").await;
    let pks = row_pks(&search);
    assert_eq!(pks.len(), 8, "books 1, 5, 9 ... 29 are about django");
    assert!(search.body.contains("Book 0029 about django"));
    assert!(!search.body.contains("about rust"));

    // A filter from the sidebar, combined with the search.
    let filtered = b.get("/admin/library/book/?q=book&in_stock=true").await;
    assert_eq!(
        row_pks(&filtered).len(),
        14,
        "even books but book 0 (no 'book' in its title)"
    );
    let status = b.get("/admin/library/book/?status=archived").await;
    assert_eq!(row_pks(&status).len(), 10);

    // Sorting by two columns: status (archived < draft < published), then id.
    let sorted = b.get("/admin/library/book/?ordering=status,-id").await;
    assert_eq!(
        &row_pks(&sorted)[..3],
        ["30", "27", "24"],
        "archived, newest id first"
    );
    let sorted = b.get("/admin/library/book/?ordering=-status,id").await;
    assert_eq!(
        &row_pks(&sorted)[..3],
        ["2", "5", "8"],
        "published, lowest id first"
    );
    // Sorting by text follows the database's collation, whatever it is.
    let by_title = b.get("/admin/library/book/?ordering=-title").await;
    let expected: Vec<String> = book::Entity::find()
        .order_by_desc(book::Column::Title)
        .order_by_desc(book::Column::Id)
        .limit(20)
        .all(db.conn())
        .await
        .unwrap()
        .iter()
        .map(|b| b.id.to_string())
        .collect();
    assert_eq!(row_pks(&by_title), expected);

    // Pagination keeps the filters.
    let page2 = b.get("/admin/library/book/?in_stock=false&page=2").await;
    assert_eq!(
        page2.status, 404,
        "15 rows fit on page 1: page 2 is past the end"
    );
    let p2 = b.get("/admin/library/book/?page=2").await;
    assert_eq!(row_pks(&p2).len(), 10);

    // Bad query strings are readable 400s, not 500s.
    let unknown = b.get("/admin/library/book/?password=x").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("password"), "{}", unknown.body);
    let bad = b.get("/admin/library/book/?ordering=summary").await;
    assert_eq!(bad.status, 400);
    let page0 = b.get("/admin/library/book/?page=0").await;
    assert_eq!(page0.status, 400);

    // Autocomplete for the review's book field.
    let auto = b
        .get_api("/admin/library/book/autocomplete/?term=databases", &[])
        .await;
    assert_eq!(auto.status, 200);
    let results = auto.json()["results"].as_array().unwrap().clone();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["text"].as_str().unwrap().contains("databases"))
    );
}

async fn forms_validate_save_and_log(db: &TestDb) {
    let (_site, mut b) = site(db, 3).await;
    login(&mut b, "admin").await;
    let add = "/admin/library/book/add/";
    let form = b.get(add).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("name=\"title\""));
    assert!(!form.body.contains("name=\"uuid\""), "uuid is read-only");

    // Errors next to each field, entered values kept.
    let mut fields = book_form("", "9781111111111", "12.345.6");
    fields.retain(|(k, _)| *k != "author_id");
    fields.push(("author_id", "999"));
    let invalid = submit(&mut b, add, &fields).await;
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    assert!(
        invalid.body.contains("This field is required."),
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains("Enter a decimal number"));
    assert!(invalid.body.contains("value=\"9781111111111\""), "kept");
    assert_eq!(book_count(db).await, 3, "nothing saved");

    let long = "x".repeat(201);
    let too_long = submit(&mut b, add, &book_form(&long, "9781111111111", "1.00")).await;
    assert_eq!(
        too_long.status,
        400,
        "{:?} {}",
        too_long.location(),
        too_long.body
    );
    assert!(too_long.body.contains("at most 200 characters"));

    let nonexistent_author = {
        let mut f = book_form("Fine", "9781111111111", "1.00");
        f[0] = ("author_id", "999");
        submit(&mut b, add, &f).await
    };
    assert_eq!(nonexistent_author.status, 400);
    assert!(nonexistent_author.body.contains("Select a valid choice"));

    let bad_status = {
        let mut f = book_form("Fine", "9781111111111", "1.00");
        f[4] = ("status", "deleted");
        submit(&mut b, add, &f).await
    };
    assert_eq!(bad_status.status, 400);

    // Save and add another.
    let mut fields = book_form("Programming Rust", "9781111111111", "39.90");
    fields.push(("_addanother", "1"));
    let saved = submit(&mut b, add, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert_eq!(saved.location(), Some(add));
    let next = b.get(add).await;
    assert!(
        next.body.contains("was added successfully"),
        "flash message"
    );
    let created = book::Entity::find()
        .filter(book::Column::Title.eq("Programming Rust"))
        .one(db.conn())
        .await
        .unwrap()
        .expect("saved");
    assert!(!created.uuid.is_nil(), "the on_save hook set it");
    assert_eq!(created.price, rust_decimal::Decimal::new(3990, 2));
    assert_eq!(created.metadata, Some(serde_json::json!({"k": [1, 2]})));
    assert!(created.in_stock);

    // Unique column: a readable error on the field.
    let duplicate = submit(&mut b, add, &book_form("Another", "9781111111111", "1.00")).await;
    assert_eq!(duplicate.status, 400, "{}", duplicate.body);
    assert!(
        duplicate.body.contains("already exists"),
        "{}",
        duplicate.body
    );

    // Change, and continue editing.
    let change = format!("/admin/library/book/{}/change/", created.id);
    let mut fields = book_form("Programming Rust, 2nd ed.", "9781111111111", "39.90");
    fields.retain(|(k, _)| *k != "in_stock");
    fields.push(("_continue", "1"));
    let changed = submit(&mut b, &change, &fields).await;
    assert_eq!(changed.status, 302, "{}", changed.body);
    assert_eq!(changed.location(), Some(change.as_str()));
    let after = book::Entity::find_by_id(created.id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.title, "Programming Rust, 2nd ed.");
    assert!(!after.in_stock, "an unchecked checkbox is false");
    assert_eq!(after.uuid, created.uuid);

    // The history, in Django's table.
    let history = b
        .get(&format!("/admin/library/book/{}/history/", created.id))
        .await;
    assert_eq!(history.status, 200);
    assert!(history.body.contains("Added."), "{}", history.body);
    assert!(
        history.body.contains("Changed Title and In stock."),
        "{}",
        history.body
    );
    let entries = log_entry::Entity::find()
        .filter(log_entry::Column::ObjectId.eq(created.id.to_string()))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(entries, 2);

    // Saving unchanged values records "No fields changed." and keeps everything.
    let page = b.get(&change).await;
    assert!(page.body.contains("Programming Rust, 2nd ed."));
    let missing = b.get("/admin/library/book/9999/change/").await;
    assert_eq!(missing.status, 404);
}

async fn delete_cascades_and_actions(db: &TestDb) {
    let (_site, mut b) = site(db, 9).await;
    login(&mut b, "admin").await;
    // Author 1 wrote books 1, 4, 7: the confirmation lists them as cascading.
    let delete = "/admin/library/author/1/delete/";
    let confirm = b.get(delete).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Author 000"));
    assert!(confirm.body.contains("Books"), "{}", confirm.body);
    assert!(
        confirm.body.contains("Book 0003 about web"),
        "{}",
        confirm.body
    );
    assert_eq!(book_count(db).await, 9, "a GET deletes nothing");
    let done = submit(&mut b, delete, &[("post", "yes")]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(book_count(db).await, 6);
    assert!(
        author::Entity::find_by_id(1)
            .one(db.conn())
            .await
            .unwrap()
            .is_none()
    );
    let list = b.get("/admin/library/author/").await;
    assert!(list.body.contains("was deleted successfully"));

    // Bulk delete: a confirmation first, then the deletion.
    let changelist = "/admin/library/book/";
    let first = submit(
        &mut b,
        changelist,
        &[
            ("action", "delete_selected"),
            ("_selected_action", "2"),
            ("_selected_action", "3"),
            ("index", "0"),
        ],
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("Book 0002 about databases"));
    assert_eq!(book_count(db).await, 6);
    let second = submit(
        &mut b,
        changelist,
        &[
            ("action", "delete_selected"),
            ("_selected_action", "2"),
            ("_selected_action", "3"),
            ("post", "yes"),
        ],
    )
    .await;
    assert_eq!(second.status, 302);
    assert_eq!(book_count(db).await, 4);
    let list = b.get(changelist).await;
    assert!(
        list.body.contains("Successfully deleted 2 books."),
        "{}",
        list.body
    );
    let deletions = log_entry::Entity::find()
        .filter(log_entry::Column::ActionFlag.eq(3))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(
        deletions, 3,
        "the author and the two books (cascaded rows are not logged)"
    );

    // No selection: a warning, nothing done.
    let none = submit(&mut b, changelist, &[("action", "delete_selected")]).await;
    assert_eq!(none.status, 302);
    assert!(
        b.get(changelist)
            .await
            .body
            .contains("Items must be selected")
    );

    // A user-defined action, with its confirmation.
    let ask = submit(
        &mut b,
        changelist,
        &[("action", "mark_in_stock"), ("_selected_action", "6")],
    )
    .await;
    assert_eq!(ask.status, 200);
    let run = submit(
        &mut b,
        changelist,
        &[
            ("action", "mark_in_stock"),
            ("_selected_action", "6"),
            ("post", "yes"),
        ],
    )
    .await;
    assert_eq!(run.status, 302);
    assert!(
        b.get(changelist)
            .await
            .body
            .contains("1 books marked in stock.")
    );
    let six = book::Entity::find_by_id(6)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(six.in_stock);

    // "Select all" across pages, with the changelist's filters.
    let across = submit(
        &mut b,
        "/admin/library/book/?in_stock=false",
        &[
            ("action", "mark_in_stock"),
            ("_selected_action", "5"),
            ("select_across", "1"),
            ("post", "yes"),
        ],
    )
    .await;
    assert_eq!(across.status, 302);
    let still_out = book::Entity::find()
        .filter(book::Column::InStock.eq(false))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(still_out, 0, "every filtered row, not only the checked one");
}

async fn permissions_limit_what_staff_see(db: &TestDb) {
    let (site, mut b) = site(db, 3).await;
    // Not staff: the same message as a wrong password.
    let outsider = login(&mut b, "outsider").await;
    assert_eq!(outsider.status, 200);
    assert!(
        outsider
            .body
            .contains("correct username and password for a staff account")
    );
    let mut wrong = Browser::new(site.addr);
    let page = wrong.get("/admin/login/").await;
    let t = token(&page);
    let bad = wrong
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", "admin"),
                ("password", "nope"),
            ],
        )
        .await;
    assert!(
        bad.body
            .contains("correct username and password for a staff account")
    );

    let mut viewer = Browser::new(site.addr);
    login(&mut viewer, "viewer").await;
    let index = viewer.get("/admin/").await;
    assert!(index.body.contains("/admin/library/book/"));
    assert!(
        !index.body.contains("/admin/library/author/"),
        "no link without permission"
    );
    assert!(!index.body.contains("/admin/library/book/add/"));
    assert_eq!(viewer.get("/admin/library/author/").await.status, 403);
    assert_eq!(viewer.get("/admin/library/book/add/").await.status, 403);
    let list = viewer.get("/admin/library/book/").await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains("delete_selected"), "no delete action");
    let view = viewer.get("/admin/library/book/2/change/").await;
    assert_eq!(view.status, 200);
    assert!(!view.body.contains("name=\"_save\""), "read-only view");
    let t = token(&view);
    let forged = viewer
        .post_form(
            "/admin/library/book/2/change/",
            &[("csrfmiddlewaretoken", &t), ("title", "hacked")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let delete = viewer
        .post_form(
            "/admin/library/book/2/delete/",
            &[("csrfmiddlewaretoken", &t), ("post", "yes")],
        )
        .await;
    assert_eq!(delete.status, 403);
    let bulk = viewer
        .post_form(
            "/admin/library/book/",
            &[
                ("csrfmiddlewaretoken", &t),
                ("action", "delete_selected"),
                ("_selected_action", "2"),
                ("post", "yes"),
            ],
        )
        .await;
    assert_eq!(bulk.status, 403);
    let two = book::Entity::find_by_id(2)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(two.title, "hacked");
    assert_eq!(book_count(db).await, 3);

    let mut editor = Browser::new(site.addr);
    login(&mut editor, "editor").await;
    assert_eq!(editor.get("/admin/library/book/add/").await.status, 200);
    assert_eq!(
        editor.get("/admin/library/book/2/delete/").await.status,
        403
    );
    let author_form = editor.get("/admin/library/author/1/change/").await;
    assert_eq!(author_form.status, 200, "view permission: a read-only form");
    assert!(!author_form.body.contains("name=\"_save\""));
}

async fn stored_scripts_are_escaped(db: &TestDb) {
    let (_site, mut b) = site(db, 3).await;
    login(&mut b, "admin").await;
    // Book 1's title and author 1's bio are `<script>`; put one in every text field of
    // a new book too.
    let evil = "<script>alert('x')</script>";
    let mut fields = book_form(evil, "97800000000x", "1.00");
    fields[3] = ("summary", evil);
    fields.retain(|(k, _)| *k != "metadata");
    fields.push((
        "metadata",
        "{\"<script>\": \"</script><script>alert(1)</script>\"}",
    ));
    let saved = submit(&mut b, "/admin/library/book/add/", &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let created = book::Entity::find()
        .filter(book::Column::Isbn.eq("97800000000x"))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    let change = format!("/admin/library/book/{}/change/", created.id);
    let renamed = format!("{evil}!");
    let mut fields = book_form(&renamed, "97800000000x", "1.00");
    fields.retain(|(k, _)| *k != "metadata");
    submit(&mut b, &change, &fields).await;
    for path in [
        "/admin/library/book/".to_owned(),
        "/admin/library/book/?q=script".to_owned(),
        change.clone(),
        format!("/admin/library/book/{}/history/", created.id),
        format!("/admin/library/book/{}/delete/", created.id),
        "/admin/library/author/1/change/".to_owned(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>alert"), "raw script on {path}");
        assert!(
            !page.body.contains("</script><script>"),
            "raw script on {path}"
        );
        assert!(
            page.body.contains("&lt;script&gt;"),
            "escaped text on {path}"
        );
    }
    // Flash messages quote the row's name: escaped too.
    let list = b.get("/admin/library/book/").await;
    assert!(!list.body.contains("<script>alert"));
}

async fn sql_injection_goes_nowhere(db: &TestDb) {
    let (_site, mut b) = site(db, 6).await;
    login(&mut b, "admin").await;
    let search = b.get("/admin/library/book/?q=%27%20OR%201%3D1%20--").await;
    assert_eq!(search.status, 200);
    assert!(
        row_pks(&search).is_empty(),
        "the search is a value, not SQL"
    );
    let like = b.get("/admin/library/book/?q=%25").await;
    assert!(row_pks(&like).is_empty(), "% is escaped in LIKE patterns");
    for path in [
        "/admin/library/book/?in_stock=1%20OR%201%3D1",
        "/admin/library/book/?author_id=1%3B%20DROP%20TABLE%20library_book",
        "/admin/library/book/?ordering=title%3B%20DROP%20TABLE%20library_book",
        "/admin/library/book/?ordering=(select%201)",
        "/admin/library/book/?title__in=a%27)%20OR%20(1%3D1",
        "/admin/library/book/?id__gt=0%20OR%201%3D1",
    ] {
        let page = b.get(path).await;
        assert!(
            page.status == 400 || (page.status == 200 && row_pks(&page).is_empty()),
            "{path}: {} {}",
            page.status,
            page.body
        );
    }
    for path in [
        "/admin/library/book/1%20OR%201%3D1/change/",
        "/admin/library/book/1;DROP%20TABLE%20library_book/change/",
        "/admin/library/book/-1/history/",
        "/admin/library/book/%27/delete/",
    ] {
        assert_eq!(b.get(path).await.status, 404, "{path}");
    }
    let api = b
        .get_api(
            "/admin/api/library/book/?ordering=title%3BDROP%20TABLE%20x",
            &[],
        )
        .await;
    assert_eq!(api.status, 400);
    assert!(api.json()["error"].as_str().unwrap().contains("title;DROP"));
    assert_eq!(book_count(db).await, 6, "the table is intact");
}

async fn readonly_unknown_and_forged_posts_change_nothing(db: &TestDb) {
    let (site, mut b) = site(db, 3).await;
    login(&mut b, "admin").await;
    let before = book::Entity::find_by_id(2)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    let change = "/admin/library/book/2/change/";
    let mut fields = book_form("Renamed", &before.isbn, "5.00");
    fields.extend([
        ("uuid", "00000000-0000-0000-0000-000000000001"),
        ("id", "77"),
        ("is_superuser", "on"),
        ("password", "x"),
    ]);
    let saved = submit(&mut b, change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let after = book::Entity::find_by_id(2)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.title, "Renamed");
    assert_eq!(after.uuid, before.uuid, "read-only field untouched");
    assert!(
        book::Entity::find_by_id(77)
            .one(db.conn())
            .await
            .unwrap()
            .is_none()
    );

    // CSRF: no token, a wrong token, a cross-site request: 403 and nothing written.
    let no_token = b
        .post_form(change, &book_form("Forged", &before.isbn, "5.00"))
        .await;
    assert_eq!(no_token.status, 403);
    let mut wrong = vec![("csrfmiddlewaretoken", "x".repeat(64))];
    wrong.extend(
        book_form("Forged", &before.isbn, "5.00")
            .into_iter()
            .map(|(k, v)| (k, v.to_owned())),
    );
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(b.post_form(change, &wrong).await.status, 403);
    let page = b.get(change).await;
    let t = token(&page);
    let mut cross = b.clone();
    cross.fetch_site = Some("cross-site");
    let mut fields = vec![("csrfmiddlewaretoken", t.as_str())];
    let form = book_form("Forged", &before.isbn, "5.00");
    fields.extend_from_slice(&form);
    assert_eq!(cross.post_form(change, &fields).await.status, 403);
    let logout_forged = b.post_form("/admin/logout/", &[]).await;
    assert_eq!(logout_forged.status, 403, "logging out needs the token too");
    let still = book::Entity::find_by_id(2)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.title, "Renamed");

    // Open redirects: `next` must stay on this site.
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let mut fresh = Browser::new(site.addr);
        let page = fresh.get("/admin/login/").await;
        let t = token(&page);
        let reply = fresh
            .post_form(
                "/admin/login/",
                &[
                    ("csrfmiddlewaretoken", &t),
                    ("username", "admin"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(reply.status, 302);
        assert_eq!(reply.location(), Some("/admin/"), "next={next}");
    }

    // Clickjacking and caching headers on every page.
    let page = b.get("/admin/library/book/").await;
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(page.header("cache-control").unwrap().contains("no-store"));
    let login_page = Browser::new(site.addr).get("/admin/login/").await;
    assert_eq!(login_page.header("x-frame-options"), Some("DENY"));

    // Logging out with the token works and ends the session.
    let t = token(&b.get("/admin/").await);
    let out = b
        .post_form("/admin/logout/", &[("csrfmiddlewaretoken", &t)])
        .await;
    assert_eq!(out.status, 302);
    assert_eq!(b.get("/admin/").await.status, 302);
}

/// The changelist runs the same number of queries for 5 rows as for 20: foreign keys
/// are fetched in one query per column, not per row.
async fn changelist_queries_do_not_grow_with_rows(db: &TestDb) {
    let Some(url) = db.url() else {
        return; // In-memory SQLite cannot be opened twice; PostgreSQL and MariaDB run it.
    };
    admin_app::setup(db.conn()).await;
    let _ = admin_app::admin(db.conn(), &admin_app::secret()).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 40, 40).await;
    let mut counted = batteries::orm::db::connect(&url).await.unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let q = queries.clone();
    counted.set_metric_callback(move |_| {
        q.fetch_add(1, Ordering::SeqCst);
    });
    let secret = admin_app::secret();
    let admin = admin_app::admin(&counted, &secret).await;
    let app = admin_app::router(&counted, admin, &secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let mut b = Browser::new(addr);
    login(&mut b, "admin").await;
    let mut counts = Vec::new();
    for per_page in [5, 20] {
        // Twice each: the first request may create the CSRF secret in the session.
        for _ in 0..2 {
            queries.store(0, Ordering::SeqCst);
            let page = b
                .get(&format!("/admin/library/book/?per_page={per_page}"))
                .await;
            assert_eq!(page.status, 200);
            assert_eq!(row_pks(&page).len(), per_page);
            counts.push(queries.load(Ordering::SeqCst));
        }
    }
    server.abort();
    assert_eq!(
        counts[1], counts[3],
        "queries for 5 rows vs 20 rows: {counts:?}"
    );
    assert!(counts[3] <= 10, "a handful of queries per page: {counts:?}");
}

async fn password_change_validates_and_keeps_the_session(db: &TestDb) {
    let (site, mut b) = site(db, 1).await;
    login(&mut b, "editor").await;
    let mut other = Browser::new(site.addr);
    login(&mut other, "editor").await;
    let path = "/admin/password_change/";
    let wrong_old = submit(
        &mut b,
        path,
        &[
            ("old_password", "nope"),
            ("new_password1", "a fresh passphrase 42"),
            ("new_password2", "a fresh passphrase 42"),
        ],
    )
    .await;
    assert!(
        wrong_old
            .body
            .contains("old password was entered incorrectly")
    );
    let mismatch = submit(
        &mut b,
        path,
        &[
            ("old_password", PASSWORD),
            ("new_password1", "a fresh passphrase 42"),
            ("new_password2", "another one 42"),
        ],
    )
    .await;
    assert!(mismatch.body.contains("didn’t match"));
    let weak = submit(
        &mut b,
        path,
        &[
            ("old_password", PASSWORD),
            ("new_password1", "password"),
            ("new_password2", "password"),
        ],
    )
    .await;
    assert!(weak.body.contains("too common"), "{}", weak.body);
    let done = submit(
        &mut b,
        path,
        &[
            ("old_password", PASSWORD),
            ("new_password1", "a fresh passphrase 42"),
            ("new_password2", "a fresh passphrase 42"),
        ],
    )
    .await;
    assert_eq!(done.status, 200);
    assert_eq!(
        b.get("/admin/").await.status,
        200,
        "this session stays logged in"
    );
    assert_eq!(other.get("/admin/").await.status, 302, "other sessions end");
    let mut fresh = Browser::new(site.addr);
    assert_eq!(
        login(&mut fresh, "editor").await.status,
        200,
        "the old password is refused"
    );
}
