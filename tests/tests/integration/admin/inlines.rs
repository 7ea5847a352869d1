//! The admin's inlines (the reviews of a book, edited on the book's page), "Save as
//! new" and raw-id foreign keys, over HTTP on each backend: rows added, changed and
//! deleted in one post, all or nothing; errors on their row; `max_num`; forged rows
//! and permissions; the history's change message as Django writes it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use batteries::admin::log::entity as log_entry;
use batteries::admin::{AdminSite, Inline, ModelAdmin};
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{
    self,
    entities::{author, book, review},
};
use batteries_tests::admin_fixture::{AdminFixture, login, staff_user, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

backend_tests!(
    add_and_change_rows_in_one_post,
    an_invalid_row_saves_nothing,
    a_database_refusal_in_a_row_saves_nothing,
    max_num_and_the_management_form_are_enforced,
    forged_rows_and_missing_permissions_are_refused,
    object_hooks_of_the_child_admin_are_honoured,
    save_as_new_copies_the_book_and_its_reviews,
    raw_id_fields_take_an_id_without_listing_rows,
    inline_queries_do_not_grow_with_rows,
);

/// A running site serving `admin`.
struct Served {
    _task: admin_app::Running,
    browser: Browser,
    addr: SocketAddr,
}

fn served(task: admin_app::Running) -> Served {
    let addr = task.addr;
    Served {
        _task: task,
        browser: Browser::new(addr),
        addr,
    }
}

/// The test site with `books` books (and users), as `admin_app` builds it.
async fn site(db: &TestDb, books: usize) -> Served {
    let admin = admin_app::site();
    let running = AdminFixture::new(db.conn())
        .site(admin)
        .library(2, books)
        .build()
        .await;
    served(running)
}

/// Another site on the same tables: a stacked review inline, raw-id authors, and
/// object hooks on the reviews (a review whose body is `locked` may not be changed,
/// one with 5 stars may not be deleted).
async fn hooked_site(db: &TestDb) -> Served {
    let site = AdminSite::new()
        .register(ModelAdmin::<author::Entity>::new().display(|a| a.name.clone()))
        .register(
            ModelAdmin::<book::Entity>::new()
                .display(|b| b.title.clone())
                .readonly_fields([book::Column::Uuid])
                .raw_id_fields([book::Column::AuthorId])
                .on_save(|b, change| {
                    if !change {
                        b.uuid = Set(uuid::Uuid::new_v4());
                    }
                    Ok(())
                })
                .inline(
                    Inline::<review::Entity>::stacked()
                        .fk_name(review::Column::BookId)
                        .fields([
                            review::Column::Stars,
                            review::Column::Body,
                            review::Column::Created,
                        ])
                        .extra(2)
                        .admin(ModelAdmin::<review::Entity>::new().display(|r| r.body.clone())),
                ),
        )
        .register(
            ModelAdmin::<review::Entity>::new()
                .display(|r| r.body.clone())
                .has_change_permission(|_, r| r.body != "locked")
                .has_delete_permission(|_, r| r.stars < 5),
        );
    let running = AdminFixture::new(db.conn())
        .site(site)
        .library(2, 2)
        .build()
        .await;
    served(running)
}

/// Posts a form from `page_path` (fetching it first for its token).
async fn submit(b: &mut Browser, page_path: &str, fields: &[(String, String)]) -> Reply {
    let page = b.get(page_path).await;
    let t = token(&page);
    let mut all: Vec<(&str, &str)> = vec![("csrfmiddlewaretoken", t.as_str())];
    all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    b.post_form(page_path, &all).await
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The book form's fields, all valid.
fn book_fields(title: &str, isbn: &str) -> Vec<(String, String)> {
    pairs(&[
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
        ("metadata", ""),
    ])
}

/// The review formset's management form.
fn management(total: usize, initial: usize) -> Vec<(String, String)> {
    pairs(&[
        ("review_set-TOTAL_FORMS", &total.to_string()),
        ("review_set-INITIAL_FORMS", &initial.to_string()),
        ("review_set-MIN_NUM_FORMS", "0"),
        ("review_set-MAX_NUM_FORMS", "5"),
    ])
}

/// One review form: `id` empty for a new review.
fn review_form(i: usize, id: &str, stars: &str, body: &str) -> Vec<(String, String)> {
    vec![
        (format!("review_set-{i}-id"), id.to_owned()),
        (format!("review_set-{i}-stars"), stars.to_owned()),
        (format!("review_set-{i}-body"), body.to_owned()),
        (
            format!("review_set-{i}-created"),
            "2026-03-01T10:00:00".to_owned(),
        ),
    ]
}

fn delete_flag(i: usize) -> (String, String) {
    (format!("review_set-{i}-DELETE"), "on".to_owned())
}

async fn reviews_of(db: &TestDb, book_id: i32) -> Vec<review::Model> {
    review::Entity::find()
        .filter(review::Column::BookId.eq(book_id))
        .order_by_asc(review::Column::Id)
        .all(db.conn())
        .await
        .unwrap()
}

async fn review_count(db: &TestDb) -> u64 {
    review::Entity::find().count(db.conn()).await.unwrap()
}

async fn add_review(db: &TestDb, book_id: i32, stars: i16, body: &str) -> review::Model {
    review::ActiveModel {
        book_id: Set(book_id),
        stars: Set(stars),
        body: Set(body.to_owned()),
        created: Set(chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .unwrap()
}

async fn book(db: &TestDb, id: i32) -> book::Model {
    book::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
}

/// The newest history entry's change message of book `id`.
async fn last_message(db: &TestDb, id: i32) -> String {
    log_entry::Entity::find()
        .filter(log_entry::Column::ObjectId.eq(id.to_string()))
        .order_by_desc(log_entry::Column::Id)
        .one(db.conn())
        .await
        .unwrap()
        .expect("a history entry")
        .change_message
}

async fn add_and_change_rows_in_one_post(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = site(db, 1).await;
    let b = &mut browser;
    login(b, "admin").await;

    // The add form: one extra review form, the management form, a hidden template.
    let add = "/admin/library/book/add/";
    let form = b.get(add).await;
    assert_eq!(form.status, 200);
    for needle in [
        "name=\"review_set-TOTAL_FORMS\" value=\"1\"",
        "name=\"review_set-INITIAL_FORMS\" value=\"0\"",
        "name=\"review_set-MAX_NUM_FORMS\" value=\"5\"",
        "name=\"review_set-0-stars\"",
        "name=\"review_set-0-id\" value=\"\"",
        "<template class=\"inline-empty-form\" id=\"review_set-empty\">",
        "name=\"review_set-__prefix__-body\"",
        "Add another review",
    ] {
        assert!(
            form.body.contains(needle),
            "missing {needle}: {}",
            form.body
        );
    }
    assert!(
        !form.body.contains("name=\"review_set-0-book_id\""),
        "the foreign key to the book is never a field"
    );

    // A book with two reviews, in one post.
    let mut fields = book_fields("Inline Book", "9780000000101");
    fields.extend(management(2, 0));
    fields.extend(review_form(0, "", "5", "Great"));
    fields.extend(review_form(1, "", "3", "Fine"));
    fields.push(("_continue".into(), "1".into()));
    let saved = submit(b, add, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let created = book::Entity::find()
        .filter(book::Column::Title.eq("Inline Book"))
        .one(db.conn())
        .await
        .unwrap()
        .expect("the book is saved");
    let change = format!("/admin/library/book/{}/change/", created.id);
    assert_eq!(saved.location(), Some(change.as_str()));
    let reviews = reviews_of(db, created.id).await;
    let bodies: Vec<&str> = reviews.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["Great", "Fine"]);
    assert_eq!(
        last_message(db, created.id).await,
        r#"[{"added": {}}, {"added": {"name": "review", "object": "Great"}}, {"added": {"name": "review", "object": "Fine"}}]"#
    );

    // The change form lists them by primary key, then one extra form.
    let page = b.get(&change).await;
    let (r1, r2) = (reviews[0].id.to_string(), reviews[1].id.to_string());
    for needle in [
        format!("name=\"review_set-0-id\" value=\"{r1}\""),
        format!("name=\"review_set-1-id\" value=\"{r2}\""),
        "name=\"review_set-TOTAL_FORMS\" value=\"3\"".to_owned(),
        "name=\"review_set-INITIAL_FORMS\" value=\"2\"".to_owned(),
        "name=\"review_set-1-DELETE\"".to_owned(),
        "name=\"review_set-2-id\" value=\"\"".to_owned(),
    ] {
        assert!(
            page.body.contains(&needle),
            "missing {needle}: {}",
            page.body
        );
    }

    // One review changed, one deleted, one added, and the book changed: one post.
    let mut fields = book_fields("Inline Book, 2nd ed.", "9780000000101");
    fields.extend(management(3, 2));
    fields.extend(review_form(0, &r1, "4", "Great"));
    fields.extend(review_form(1, &r2, "3", "Fine"));
    fields.push(delete_flag(1));
    fields.extend(review_form(2, "", "2", "Third"));
    let saved = submit(b, &change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let reviews = reviews_of(db, created.id).await;
    let now: Vec<(&str, i16)> = reviews.iter().map(|r| (r.body.as_str(), r.stars)).collect();
    assert_eq!(now, [("Great", 4), ("Third", 2)]);
    assert_eq!(reviews[0].id.to_string(), r1, "changed in place");
    assert_eq!(book(db, created.id).await.title, "Inline Book, 2nd ed.");
    assert_eq!(
        last_message(db, created.id).await,
        r#"[{"changed": {"fields": ["Title"]}}, {"added": {"name": "review", "object": "Third"}}, {"changed": {"name": "review", "object": "Great", "fields": ["Stars"]}}, {"deleted": {"name": "review", "object": "Fine"}}]"#
    );
    let history = b
        .get(&format!("/admin/library/book/{}/history/", created.id))
        .await;
    assert!(
        history
            .body
            .contains("Changed Stars for review “Great”. Deleted review “Fine”."),
        "{}",
        history.body
    );

    // Empty extra forms are ignored; a post without the management form leaves the
    // reviews alone.
    let mut fields = book_fields("Inline Book, 2nd ed.", "9780000000101");
    fields.extend(management(1, 0));
    fields.extend(pairs(&[
        ("review_set-0-id", ""),
        ("review_set-0-stars", ""),
        ("review_set-0-body", ""),
        ("review_set-0-created", ""),
    ]));
    assert_eq!(submit(b, &change, &fields).await.status, 302);
    let fields = book_fields("Inline Book, 3rd ed.", "9780000000101");
    assert_eq!(submit(b, &change, &fields).await.status, 302);
    assert_eq!(reviews_of(db, created.id).await.len(), 2);
}

async fn an_invalid_row_saves_nothing(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = site(db, 1).await;
    let b = &mut browser;
    login(b, "admin").await;
    let kept = add_review(db, 1, 4, "Kept").await;
    let before = book(db, 1).await;
    let change = "/admin/library/book/1/change/";

    // The book changed, a good new review, and a review whose stars are not a number.
    let mut fields = book_fields("Renamed", &before.isbn);
    fields.extend(management(3, 1));
    fields.extend(review_form(0, &kept.id.to_string(), "1", "Kept, edited"));
    fields.extend(review_form(1, "", "5", "A good one"));
    fields.extend(review_form(2, "", "many", "A bad one"));
    let refused = submit(b, change, &fields).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("class=\"errornote\""));
    // The error is on its row and field, the values are kept.
    assert!(
        refused
            .body
            .contains("<ul class=\"errorlist\" id=\"id_review_set-2-stars_error\"><li>Enter"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"many\""));
    assert!(refused.body.contains("A good one"));
    assert!(refused.body.contains("Kept, edited"));
    // Nothing saved: neither the book nor any review.
    assert_eq!(review_count(db).await, 1);
    assert_eq!(book(db, 1).await.title, before.title);
    assert_eq!(reviews_of(db, 1).await[0].body, "Kept");

    // The book's errors and the rows' are shown together.
    let mut fields = book_fields("", &before.isbn);
    fields.extend(management(1, 0));
    fields.extend(review_form(0, "", "", "No stars"));
    let both = submit(b, change, &fields).await;
    assert_eq!(both.status, 400);
    assert!(both.body.contains("id=\"id_title_error\""), "{}", both.body);
    assert!(both.body.contains("id=\"id_review_set-0-stars_error\""));
    assert_eq!(review_count(db).await, 1);
}

async fn a_database_refusal_in_a_row_saves_nothing(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = site(db, 1).await;
    let b = &mut browser;
    login(b, "admin").await;
    // One review per book and number of stars: a constraint only the database knows.
    db.conn()
        .execute_unprepared(
            "CREATE UNIQUE INDEX review_book_stars ON library_review (book_id, stars)",
        )
        .await
        .unwrap();
    let before = book(db, 1).await;
    let change = "/admin/library/book/1/change/";
    let mut fields = book_fields("Renamed", &before.isbn);
    fields.extend(management(2, 0));
    fields.extend(review_form(0, "", "5", "First"));
    fields.extend(review_form(1, "", "5", "Clash"));
    let refused = submit(b, change, &fields).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("already exists"), "{}", refused.body);
    assert_eq!(review_count(db).await, 0, "the first review is rolled back");
    assert_eq!(book(db, 1).await.title, before.title, "and the book");
    // The values are still on the form.
    assert!(refused.body.contains("Clash"));

    // Without the clash, both are saved.
    let mut fields = book_fields("Renamed", &before.isbn);
    fields.extend(management(2, 0));
    fields.extend(review_form(0, "", "5", "First"));
    fields.extend(review_form(1, "", "4", "Second"));
    assert_eq!(submit(b, change, &fields).await.status, 302);
    assert_eq!(review_count(db).await, 2);
}

async fn max_num_and_the_management_form_are_enforced(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = site(db, 1).await;
    let b = &mut browser;
    login(b, "admin").await;
    let isbn = book(db, 1).await.isbn;
    let change = "/admin/library/book/1/change/";
    let stars = ["1", "2", "3", "4", "5", "1"];

    // Six new reviews where five are allowed: refused, not cut.
    let mut fields = book_fields("Renamed", &isbn);
    fields.extend(management(6, 0));
    for (i, s) in stars.iter().enumerate() {
        fields.extend(review_form(i, "", s, &format!("Review {i}")));
    }
    let refused = submit(b, change, &fields).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("Please submit at most 5 forms."),
        "{}",
        refused.body
    );
    assert_eq!(review_count(db).await, 0);

    // Existing rows count too: four there, two more is one too many.
    for i in 0..4 {
        add_review(db, 1, 1, &format!("Old {i}")).await;
    }
    let mut fields = book_fields("Renamed", &isbn);
    fields.extend(management(2, 0));
    fields.extend(review_form(0, "", "1", "New 0"));
    fields.extend(review_form(1, "", "1", "New 1"));
    let refused = submit(b, change, &fields).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Please submit at most 5 forms."));
    assert_eq!(review_count(db).await, 4);
    // The page offers one extra form only, up to the five.
    let page = b.get(change).await;
    assert!(
        page.body
            .contains("name=\"review_set-TOTAL_FORMS\" value=\"5\"")
    );

    // A tampered management form is an error, never a crash or a huge loop.
    for total in ["many", "-1", "100000000"] {
        let mut fields = book_fields("Renamed", &isbn);
        fields.push(("review_set-TOTAL_FORMS".into(), total.into()));
        let refused = submit(b, change, &fields).await;
        assert_eq!(refused.status, 400, "TOTAL_FORMS={total}: {}", refused.body);
    }
    assert_ne!(book(db, 1).await.title, "Renamed");
    assert_eq!(review_count(db).await, 4);
}

async fn forged_rows_and_missing_permissions_are_refused(db: &TestDb) {
    let Served {
        _task,
        mut browser,
        addr,
    } = site(db, 2).await;
    let b = &mut browser;
    let theirs = add_review(db, 2, 3, "Another book's").await;
    let mine = add_review(db, 1, 3, "Mine").await;
    let isbn = book(db, 1).await.isbn;
    let change = "/admin/library/book/1/change/";

    // A row of another book, posted as one of this book's: refused, nothing written.
    login(b, "admin").await;
    for delete in [false, true] {
        let mut fields = book_fields("Renamed", &isbn);
        fields.extend(management(1, 1));
        fields.extend(review_form(0, &theirs.id.to_string(), "1", "Hijacked"));
        if delete {
            fields.push(delete_flag(0));
        }
        let refused = submit(b, change, &fields).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("does not belong"), "{}", refused.body);
    }
    let unchanged = review::Entity::find_by_id(theirs.id)
        .one(db.conn())
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(
        (unchanged.book_id, unchanged.body.as_str()),
        (2, "Another book's")
    );
    assert_ne!(book(db, 1).await.title, "Renamed");

    // The editor may change books but only view reviews: the rows are read-only.
    let mut editor = Browser::new(addr);
    login(&mut editor, "editor").await;
    let page = editor.get(change).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("review_set-group"), "{}", page.body);
    assert!(page.body.contains("Mine"));
    assert!(
        !page.body.contains("name=\"review_set-0-stars\""),
        "read-only"
    );
    assert!(!page.body.contains("name=\"review_set-0-DELETE\""));
    assert!(!page.body.contains("Add another review"));
    // ... and a forged post touching them is refused, the book included.
    let forged: Vec<Vec<(String, String)>> = vec![
        review_form(0, &mine.id.to_string(), "1", "Changed"),
        {
            let mut f = pairs(&[("review_set-0-id", &mine.id.to_string())]);
            f.push(delete_flag(0));
            f
        },
        review_form(0, "", "1", "Added"),
    ];
    for rows in forged {
        let mut fields = book_fields("Renamed by the editor", &isbn);
        fields.extend(management(1, 1));
        fields.extend(rows);
        let refused = submit(&mut editor, change, &fields).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    assert_eq!(reviews_of(db, 1).await, vec![mine.clone()]);
    assert_ne!(book(db, 1).await.title, "Renamed by the editor");
    // Posting the read-only rows as the page has them saves the book only.
    let mut fields = book_fields("Renamed by the editor", &isbn);
    fields.extend(management(1, 1));
    fields.extend(pairs(&[("review_set-0-id", &mine.id.to_string())]));
    assert_eq!(submit(&mut editor, change, &fields).await.status, 302);
    assert_eq!(book(db, 1).await.title, "Renamed by the editor");
    assert_eq!(reviews_of(db, 1).await, vec![mine.clone()]);

    // A user with no permission on reviews does not see the inline, and may not post it.
    staff_user(db.conn(), "bookkeeper", &["view_book", "change_book"]).await;
    let mut keeper = Browser::new(addr);
    login(&mut keeper, "bookkeeper").await;
    let page = keeper.get(change).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("review_set"), "{}", page.body);
    let mut fields = book_fields("Renamed by the keeper", &isbn);
    fields.extend(management(1, 0));
    fields.extend(review_form(0, "", "1", "Sneaked in"));
    assert_eq!(submit(&mut keeper, change, &fields).await.status, 403);
    assert_eq!(review_count(db).await, 2);
    // Nor "Save as new", without the add permission.
    let mut fields = book_fields("Copy", "9780000000999");
    fields.push(("_saveasnew".into(), "1".into()));
    assert_eq!(submit(&mut keeper, change, &fields).await.status, 403);
    assert!(!page.body.contains("_saveasnew"));
    assert_eq!(book::Entity::find().count(db.conn()).await.unwrap(), 2);
}

async fn object_hooks_of_the_child_admin_are_honoured(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = hooked_site(db).await;
    let b = &mut browser;
    let locked = add_review(db, 1, 2, "locked").await;
    let starred = add_review(db, 1, 5, "Five stars").await;
    let isbn = book(db, 1).await.isbn;
    let change = "/admin/library/book/1/change/";
    staff_user(
        db.conn(),
        "moderator",
        &[
            "view_book",
            "change_book",
            "view_review",
            "add_review",
            "change_review",
            "delete_review",
        ],
    )
    .await;
    login(b, "moderator").await;

    // A stacked inline: the locked review is read-only, the five-star one may not be
    // deleted but may be changed.
    let page = b.get(change).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-inline-type=\"stacked\""));
    assert!(
        !page.body.contains("name=\"review_set-0-body\""),
        "locked is read-only"
    );
    assert!(page.body.contains("name=\"review_set-1-body\""));
    assert!(!page.body.contains("name=\"review_set-1-DELETE\""));
    assert!(page.body.contains("name=\"review_set-0-DELETE\""));

    let base = |rows: Vec<(String, String)>| {
        let mut fields = pairs(&[
            ("author_id", "1"),
            ("title", "Hooked"),
            ("isbn", &isbn),
            ("summary", "A summary"),
            ("status", "draft"),
            ("pages", "1"),
            ("price", "1.00"),
            ("added", "2026-02-03T10:11:12"),
        ]);
        fields.extend(management(2, 2));
        fields.extend(rows);
        fields
    };
    // Changing the locked review, or deleting the five-star one: 403, nothing written.
    let mut change_locked = review_form(0, &locked.id.to_string(), "1", "unlocked");
    change_locked.extend(pairs(&[("review_set-1-id", &starred.id.to_string())]));
    let mut delete_starred = pairs(&[("review_set-0-id", &locked.id.to_string())]);
    delete_starred.extend(review_form(1, &starred.id.to_string(), "5", "Five stars"));
    delete_starred.push(delete_flag(1));
    for rows in [change_locked, delete_starred] {
        let refused = submit(b, change, &base(rows)).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    assert_eq!(
        reviews_of(db, 1).await,
        vec![locked.clone(), starred.clone()]
    );
    assert_ne!(book(db, 1).await.title, "Hooked");

    // What the hooks allow goes through: delete the locked one, change the other.
    let mut rows = pairs(&[("review_set-0-id", &locked.id.to_string())]);
    rows.push(delete_flag(0));
    rows.extend(review_form(1, &starred.id.to_string(), "5", "Still five"));
    let saved = submit(b, change, &base(rows)).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let left: Vec<String> = reviews_of(db, 1)
        .await
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(left, ["Still five"]);
}

async fn save_as_new_copies_the_book_and_its_reviews(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = site(db, 1).await;
    let b = &mut browser;
    login(b, "admin").await;
    let r1 = add_review(db, 1, 4, "One").await;
    let r2 = add_review(db, 1, 2, "Two").await;
    let original = book(db, 1).await;
    let change = "/admin/library/book/1/change/";
    let page = b.get(change).await;
    assert!(
        page.body.contains(
            "<button type=\"submit\" name=\"_saveasnew\" value=\"1\">Save as new</button>"
        ),
        "{}",
        page.body
    );

    let mut fields = book_fields("The Copy", "9780000000777");
    fields.extend(management(3, 2));
    fields.extend(review_form(0, &r1.id.to_string(), "4", "One, copied"));
    fields.extend(review_form(1, &r2.id.to_string(), "2", "Two"));
    fields.push(delete_flag(1));
    fields.extend(review_form(2, "", "3", "Three"));
    fields.push(("_saveasnew".into(), "1".into()));
    let saved = submit(b, change, &fields).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    let copy = book::Entity::find()
        .filter(book::Column::Title.eq("The Copy"))
        .one(db.conn())
        .await
        .unwrap()
        .expect("a new book");
    assert_ne!(copy.id, 1);
    assert_eq!(
        saved.location(),
        Some(format!("/admin/library/book/{}/change/", copy.id).as_str())
    );
    let copied: Vec<String> = reviews_of(db, copy.id)
        .await
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(
        copied,
        ["One, copied", "Three"],
        "new rows; the deleted one left out"
    );
    // The original is untouched, its reviews too.
    assert_eq!(book(db, 1).await, original);
    assert_eq!(reviews_of(db, 1).await, vec![r1, r2]);
    assert_eq!(review_count(db).await, 4);
    assert!(
        last_message(db, copy.id)
            .await
            .starts_with(r#"[{"added": {}}"#)
    );

    // A copy with a mistake shows the add form with the error, and saves nothing.
    let mut fields = book_fields("Second Copy", &original.isbn);
    fields.push(("_saveasnew".into(), "1".into()));
    let refused = submit(b, change, &fields).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("already exists"));
    assert_eq!(book::Entity::find().count(db.conn()).await.unwrap(), 2);
}

async fn raw_id_fields_take_an_id_without_listing_rows(db: &TestDb) {
    let Served {
        _task, mut browser, ..
    } = hooked_site(db).await;
    let b = &mut browser;
    login(b, "admin").await;
    let page = b.get("/admin/library/book/1/change/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(
            "<input type=\"text\" name=\"author_id\" id=\"id_author_id\" required value=\"1\" class=\"vForeignKeyRawIdAdminField\""
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<a href=\"/admin/library/author/\" class=\"related-lookup\""),
        "a lookup link to the authors"
    );
    assert!(
        page.body.contains(
            "<strong class=\"raw-id-display\" id=\"id_author_id_display\">Author 000</strong>"
        ),
        "the current author's name"
    );
    assert!(!page.body.contains("<select name=\"author_id\""));
    assert!(!page.body.contains("Author 001"), "no list of authors");

    let isbn = book(db, 1).await.isbn;
    let fields = |author: &str| {
        let mut f = pairs(&[
            ("author_id", author),
            ("title", "Raw"),
            ("isbn", &isbn),
            ("summary", "A summary"),
            ("status", "draft"),
            ("pages", "1"),
            ("price", "1.00"),
            ("added", "2026-02-03T10:11:12"),
        ]);
        f.extend(management(0, 0));
        f
    };
    let refused = submit(b, "/admin/library/book/1/change/", &fields("999")).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Select a valid choice"));
    assert_eq!(book(db, 1).await.author_id, 1);
    let saved = submit(b, "/admin/library/book/1/change/", &fields("2")).await;
    assert_eq!(saved.status, 302, "{}", saved.body);
    assert_eq!(book(db, 1).await.author_id, 2);
}

async fn inline_queries_do_not_grow_with_rows(db: &TestDb) {
    let Some(url) = db.url() else {
        return; // In-memory SQLite cannot be opened twice; PostgreSQL and MariaDB run it.
    };
    admin_app::setup(db.conn()).await;
    let _ = admin_app::admin(db.conn(), &admin_app::secret()).await;
    admin_app::seed_users(db.conn()).await;
    admin_app::seed_library(db.conn(), 2, 2).await;
    add_review(db, 1, 1, "Only one").await;
    for i in 0..5 {
        add_review(db, 2, 1, &format!("Review {i}")).await;
    }
    let mut counted = batteries::orm::db::connect(&url).await.unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let q = queries.clone();
    counted.set_metric_callback(move |_| {
        q.fetch_add(1, Ordering::SeqCst);
    });
    let admin = admin_app::admin(&counted, &admin_app::secret()).await;
    let Served {
        _task, mut browser, ..
    } = served(admin_app::serve_with(&counted, admin, "127.0.0.1:0".parse().unwrap()).await);
    login(&mut browser, "admin").await;
    let mut counts = Vec::new();
    for book in [1, 2] {
        // Twice each: the first request may create the CSRF secret in the session.
        for _ in 0..2 {
            queries.store(0, Ordering::SeqCst);
            let page = browser
                .get(&format!("/admin/library/book/{book}/change/"))
                .await;
            assert_eq!(page.status, 200);
            counts.push(queries.load(Ordering::SeqCst));
        }
    }
    assert_eq!(
        counts[1], counts[3],
        "queries for 1 review vs 5: {counts:?}"
    );
}
