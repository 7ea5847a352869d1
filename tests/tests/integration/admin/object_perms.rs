//! Object-level permissions (`ModelAdmin::has_{view,change,delete}_permission`) attacked
//! on every route that reads or writes one row: the changelist, the change form, history,
//! deletion (single and bulk), actions (selected and "select all"), and the JSON API's
//! list, retrieve, PUT, PATCH and DELETE. A refused write answers 403 and changes nothing.
//!
//! The site's rule, for everyone but superusers: a user may change and delete draft books
//! only, may view published ones read-only, and may not see archived ones at all. Seeded
//! books cycle draft, published, archived: ids 1, 4 are drafts; 2, 5 published; 3, 6
//! archived.

use batteries::admin::{AdminSite, ModelAdmin};
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, PASSWORD, entities::author, entities::book};
use batteries_tests::admin_fixture::{grant_to, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use bytes::Bytes;
use http::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

backend_tests!(
    object_permissions_guard_every_html_page,
    object_permissions_guard_every_api_route,
);

fn books_admin() -> ModelAdmin<book::Entity> {
    ModelAdmin::<book::Entity>::new()
        .list_display([book::Column::Title, book::Column::Status])
        .readonly_fields([book::Column::Uuid])
        .search_fields([book::Column::Title])
        .ordering("id")
        .display(|b| b.title.clone())
        .has_view_permission(|user, b| user.is_superuser() || b.status != "archived")
        .has_change_permission(|user, b| user.is_superuser() || b.status == "draft")
        .has_delete_permission(|user, b| user.is_superuser() || b.status == "draft")
        .action("mark_in_stock", "Mark in stock", |db, books| async move {
            let ids: Vec<i32> = books.iter().map(|b| b.id).collect();
            book::Entity::update_many()
                .col_expr(book::Column::InStock, sea_orm::sea_query::Expr::value(true))
                .filter(book::Column::Id.is_in(ids))
                .exec(&db)
                .await
                .map_err(|e| e.to_string())?;
            Ok("Marked.".into())
        })
}

/// The library with six books, served by a site whose book admin has the hooks; the
/// editor may also delete books (model permission), so only the hooks stop it.
async fn site(db: &TestDb) -> admin_app::Running {
    admin_app::setup(db.conn()).await;
    // The test site's build creates every permission the seeded users get.
    let _ = admin_app::admin(db.conn(), &admin_app::secret()).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 2, 6).await;
    grant_to(db.conn(), "editor", &["delete_book"]).await;
    let admin = AdminSite::new()
        .register(ModelAdmin::<author::Entity>::new().display(|a| a.name.clone()))
        .register(books_admin())
        .build(db.conn().clone(), admin_app::secret())
        .await
        .expect("admin builds");
    admin_app::serve_with(db.conn(), admin, "127.0.0.1:0".parse().unwrap()).await
}

async fn login(addr: std::net::SocketAddr, username: &str) -> (Browser, String) {
    let mut b = Browser::new(addr);
    let page = b.get("/admin/login/").await;
    let t = token(&page);
    let reply = b
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", username),
                ("password", PASSWORD),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{username} logs in");
    let index = b.get("/admin/").await;
    let t = token(&index);
    (b, t)
}

async fn the_book(db: &TestDb, id: i32) -> Option<book::Model> {
    book::Entity::find_by_id(id).one(db.conn()).await.unwrap()
}

fn row_pks(page: &Reply) -> Vec<String> {
    page.body
        .match_indices("data-pk=\"")
        .map(|(at, m)| {
            let rest = &page.body[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// A complete, valid change form for `b` with `title`.
fn form_for(b: &book::Model, title: &str) -> Vec<(String, String)> {
    vec![
        ("author_id".into(), b.author_id.to_string()),
        ("title".into(), title.into()),
        ("isbn".into(), b.isbn.clone()),
        ("summary".into(), b.summary.clone()),
        ("status".into(), b.status.clone()),
        ("price".into(), b.price.to_string()),
        ("in_stock".into(), if b.in_stock { "on" } else { "" }.into()),
        (
            "added".into(),
            b.added.format("%Y-%m-%dT%H:%M:%S").to_string(),
        ),
    ]
}

async fn post(b: &mut Browser, path: &str, t: &str, fields: &[(String, String)]) -> Reply {
    let mut all: Vec<(&str, &str)> = vec![("csrfmiddlewaretoken", t)];
    all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    b.post_form(path, &all).await
}

async fn object_permissions_guard_every_html_page(db: &TestDb) {
    let running = site(db).await;
    let (mut editor, t) = login(running.addr, "editor").await;

    // The changelist leaves out what the user may not view.
    let list = editor.get("/admin/library/book/").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(row_pks(&list), ["1", "2", "4", "5"]);

    // Nor does autocomplete offer them.
    let found = editor
        .get_api("/admin/library/book/autocomplete/?term=Book", &[])
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let ids: Vec<String> = found.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["2", "4", "5"], "archived books are not offered");

    // Archived: no page at all.
    for path in [
        "/admin/library/book/3/change/",
        "/admin/library/book/3/history/",
        "/admin/library/book/3/delete/",
    ] {
        assert_eq!(
            editor.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // Published: a read-only view, and every write refused.
    let view = editor.get("/admin/library/book/2/change/").await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.body.contains("View book"), "{}", view.body);
    assert!(!view.body.contains("name=\"_save\""), "no save button");
    assert!(
        !view.body.contains("/admin/library/book/2/delete/"),
        "no delete link"
    );
    assert_eq!(
        editor.get("/admin/library/book/2/history/").await.status,
        StatusCode::OK
    );
    let two = the_book(db, 2).await.unwrap();
    let three = the_book(db, 3).await.unwrap();
    for (id, b) in [(2, &two), (3, &three)] {
        let forged = post(
            &mut editor,
            &format!("/admin/library/book/{id}/change/"),
            &t,
            &form_for(b, "hacked"),
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "change {id}");
        let deleted = post(
            &mut editor,
            &format!("/admin/library/book/{id}/delete/"),
            &t,
            &[("post".into(), "yes".into())],
        )
        .await;
        assert_eq!(deleted.status, StatusCode::FORBIDDEN, "delete {id}");
    }
    // Bulk: one refused row refuses them all, even next to an allowed one.
    for (action, selected) in [
        ("delete_selected", vec!["1", "2"]),
        ("delete_selected", vec!["3"]),
        ("mark_in_stock", vec!["4", "2"]),
    ] {
        let mut fields = vec![
            ("action".to_owned(), action.to_owned()),
            ("post".to_owned(), "yes".to_owned()),
        ];
        fields.extend(
            selected
                .iter()
                .map(|pk| ("_selected_action".to_owned(), (*pk).to_owned())),
        );
        let reply = post(&mut editor, "/admin/library/book/", &t, &fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{action} {selected:?}");
        // The confirmation page is refused as well.
        fields.retain(|(k, _)| k != "post");
        let reply = post(&mut editor, "/admin/library/book/", &t, &fields).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{action} {selected:?} unconfirmed"
        );
    }
    // "Select all" reaches rows the page did not show.
    let across = post(
        &mut editor,
        "/admin/library/book/",
        &t,
        &[
            ("action".into(), "mark_in_stock".into()),
            ("select_across".into(), "1".into()),
            ("_selected_action".into(), "1".into()),
            ("post".into(), "yes".into()),
        ],
    )
    .await;
    assert_eq!(across.status, StatusCode::FORBIDDEN);
    // Nothing was written.
    assert_eq!(book::Entity::find().count(db.conn()).await.unwrap(), 6);
    assert_eq!(the_book(db, 2).await.unwrap(), two);
    assert_eq!(the_book(db, 3).await.unwrap(), three);
    assert!(
        !the_book(db, 4).await.unwrap().in_stock,
        "the action ran on no row, not even the allowed one"
    );

    // Drafts: the editor changes and deletes them.
    let one = the_book(db, 1).await.unwrap();
    let changed = post(
        &mut editor,
        "/admin/library/book/1/change/",
        &t,
        &form_for(&one, "A draft, edited"),
    )
    .await;
    assert_eq!(changed.status, StatusCode::FOUND, "{}", changed.body);
    assert_eq!(the_book(db, 1).await.unwrap().title, "A draft, edited");
    let action = post(
        &mut editor,
        "/admin/library/book/",
        &t,
        &[
            ("action".into(), "mark_in_stock".into()),
            ("_selected_action".into(), "4".into()),
            ("post".into(), "yes".into()),
        ],
    )
    .await;
    assert_eq!(action.status, StatusCode::FOUND);
    assert!(the_book(db, 4).await.unwrap().in_stock);
    let deleted = post(
        &mut editor,
        "/admin/library/book/4/delete/",
        &t,
        &[("post".into(), "yes".into())],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::FOUND);
    assert!(the_book(db, 4).await.is_none());

    // A superuser passes every hook.
    let (mut admin, t) = login(running.addr, "admin").await;
    let list = admin.get("/admin/library/book/").await;
    assert_eq!(row_pks(&list), ["1", "2", "3", "5", "6"]);
    let changed = post(
        &mut admin,
        "/admin/library/book/3/change/",
        &t,
        &form_for(&three, "Archived, edited by admin"),
    )
    .await;
    assert_eq!(changed.status, StatusCode::FOUND, "{}", changed.body);
    assert_eq!(
        the_book(db, 3).await.unwrap().title,
        "Archived, edited by admin"
    );
}

async fn api(
    b: &mut Browser,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    t: &str,
) -> Reply {
    let mut headers = vec![("accept", "application/json"), ("x-csrftoken", t)];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    b.send(method, path, &headers, bytes).await
}

async fn object_permissions_guard_every_api_route(db: &TestDb) {
    let running = site(db).await;
    let (mut editor, t) = login(running.addr, "editor").await;
    let list = api(
        &mut editor,
        Method::GET,
        "/admin/api/library/book/",
        None,
        &t,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let ids: Vec<i64> = list.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 4, 5], "archived books are left out");

    let three = api(
        &mut editor,
        Method::GET,
        "/admin/api/library/book/3/",
        None,
        &t,
    )
    .await;
    assert_eq!(three.status, StatusCode::FORBIDDEN);
    assert!(!three.body.contains("Book 0002"), "no data in the refusal");
    let two = api(
        &mut editor,
        Method::GET,
        "/admin/api/library/book/2/",
        None,
        &t,
    )
    .await;
    assert_eq!(two.status, StatusCode::OK);

    let before: Vec<book::Model> = book::Entity::find().all(db.conn()).await.unwrap();
    for id in [2, 3] {
        let url = format!("/admin/api/library/book/{id}/");
        let patch = api(
            &mut editor,
            Method::PATCH,
            &url,
            Some(json!({"title": "hacked"})),
            &t,
        )
        .await;
        assert_eq!(
            patch.status,
            StatusCode::FORBIDDEN,
            "PATCH {id}: {}",
            patch.body
        );
        let mut full = two.json();
        full["title"] = json!("hacked");
        let put = api(&mut editor, Method::PUT, &url, Some(full), &t).await;
        assert_eq!(put.status, StatusCode::FORBIDDEN, "PUT {id}: {}", put.body);
        let delete = api(&mut editor, Method::DELETE, &url, None, &t).await;
        assert_eq!(delete.status, StatusCode::FORBIDDEN, "DELETE {id}");
    }
    let after: Vec<book::Model> = book::Entity::find().all(db.conn()).await.unwrap();
    assert_eq!(before, after, "nothing written");

    // A draft is the editor's to change and delete.
    let patch = api(
        &mut editor,
        Method::PATCH,
        "/admin/api/library/book/1/",
        Some(json!({"title": "Patched draft"})),
        &t,
    )
    .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(the_book(db, 1).await.unwrap().title, "Patched draft");
    let delete = api(
        &mut editor,
        Method::DELETE,
        "/admin/api/library/book/4/",
        None,
        &t,
    )
    .await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    assert!(the_book(db, 4).await.is_none());
}
