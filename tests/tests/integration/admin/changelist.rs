//! The changelist's Django features of issue 8, over HTTP on each backend:
//! `date_hierarchy` (years -> months -> days, UTC boundaries, bad values), the From/To
//! date range of a date filter, and `list_editable` (one POST saving several rows in
//! one transaction, invalid rows, forged rows, rows off the page, CSRF, history); and
//! the same in headless Chromium through `tests/browser/admin-changelist.test.mjs`.

use std::net::SocketAddr;

use batteries::admin::log::entity as log_entry;
use batteries::admin::{AdminSite, ModelAdmin};
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, entities::book};
use batteries_tests::admin_fixture::{AdminFixture, login, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

backend_tests!(
    date_hierarchy_drills_down_with_utc_boundaries,
    date_range_filter_includes_both_days,
    list_editable_saves_changed_rows_in_one_post,
    list_editable_invalid_row_saves_nothing,
    list_editable_refuses_forged_and_foreign_rows,
    changelist_options_are_checked_at_build,
    changelist_features_work_in_a_browser,
    page_numbers_are_bounded_and_past_the_end_is_404,
);

const BOOKS: &str = "/admin/library/book/";

/// Sets up the library (users, one author, no books) and serves the test site.
async fn site(db: &TestDb) -> (admin_app::Running, Browser) {
    let running = AdminFixture::new(db.conn()).library(1, 0).build().await;
    let browser = running.browser();
    (running, browser)
}

/// Serves another admin on the test site's stack (sessions, auth, CSRF); abort the
/// task when done.
async fn serve(
    db: &TestDb,
    admin: batteries::admin::Admin,
) -> (tokio::task::JoinHandle<()>, SocketAddr) {
    let app = admin_app::router(db.conn(), admin, &admin_app::secret());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (server, addr)
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Adds book `n` with these dates; returns its id.
async fn add_book(
    db: &DatabaseConnection,
    n: usize,
    added: DateTime<Utc>,
    published_on: Option<NaiveDate>,
) -> i32 {
    book::ActiveModel {
        author_id: Set(1),
        title: Set(format!("Dated book {n:03}")),
        isbn: Set(format!("979{n:010}")),
        summary: Set("A summary".into()),
        status: Set("draft".into()),
        pages: Set(Some(100)),
        price: Set(Decimal::new(1000 + n as i64, 2)),
        rating: Set(None),
        in_stock: Set(n.is_multiple_of(2)),
        featured: Set(None),
        published_on: Set(published_on),
        added: Set(added),
        reading_time: Set(None),
        uuid: Set(uuid::Uuid::new_v4()),
        metadata: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// The text of `.result-count`.
fn result_count(page: &Reply) -> String {
    let at = page
        .body
        .find("class=\"result-count\">")
        .unwrap_or_else(|| panic!("no result count in {}", page.body));
    let rest = &page.body[at + "class=\"result-count\">".len()..];
    rest[..rest.find("</span>").unwrap()].trim().to_owned()
}

/// The date hierarchy bar: the back link's text (if any) and the choices' texts.
fn hierarchy(page: &Reply) -> (Option<String>, Vec<String>) {
    let at = page
        .body
        .find("class=\"date-hierarchy\"")
        .unwrap_or_else(|| panic!("no date hierarchy in {}", page.body));
    let bar = &page.body[at..];
    let bar = &bar[..bar.find("</nav>").unwrap()];
    let mut back = None;
    let mut choices = Vec::new();
    for li in bar.split("<li").skip(1) {
        let li = &li[..li.find("</li>").unwrap()];
        let text = strip_tags(li.split_once('>').unwrap().1);
        if li.contains("date-back") {
            back = Some(text.trim_start_matches('‹').trim().to_owned());
        } else {
            choices.push(text);
        }
    }
    (back, choices)
}

/// The `href`s of the hierarchy's choices.
fn hierarchy_links(page: &Reply) -> Vec<String> {
    let at = page.body.find("class=\"date-hierarchy\"").unwrap();
    let bar = &page.body[at..];
    let bar = &bar[..bar.find("</nav>").unwrap()];
    bar.match_indices("href=\"")
        .map(|(i, m)| {
            let rest = &bar[i + m.len()..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
        .collect()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
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

async fn date_hierarchy_drills_down_with_utc_boundaries(db: &TestDb) {
    let (_running, mut b) = site(db).await;
    for (n, added) in [
        "2023-05-10T10:00:00Z",
        "2024-03-06T23:59:59Z",
        "2024-03-07T00:00:00Z",
        "2024-03-07T23:59:59Z",
        "2024-03-08T00:00:00Z",
        "2024-11-01T12:00:00Z",
        "2024-12-31T23:59:59Z",
        "2025-01-01T00:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        add_book(db.conn(), n, utc(added), None).await;
    }
    login(&mut b, "admin").await;

    // Nothing chosen: the years that have rows.
    let page = b.get(BOOKS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(result_count(&page), "8 books");
    assert_eq!(
        hierarchy(&page),
        (None, vec!["2023".into(), "2024".into(), "2025".into()])
    );
    assert!(
        hierarchy_links(&page)
            .iter()
            .any(|l| l == "/admin/library/book/?added__year=2024"),
        "{:?}",
        hierarchy_links(&page)
    );

    // A year: its rows and its months; back to all dates.
    let page = b.get(&format!("{BOOKS}?added__year=2024")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(result_count(&page), "6 books");
    assert_eq!(
        hierarchy(&page),
        (
            Some("All dates".into()),
            vec![
                "March 2024".into(),
                "November 2024".into(),
                "December 2024".into()
            ]
        )
    );
    for (year, count) in [("2023", "1 book"), ("2025", "1 book")] {
        let page = b.get(&format!("{BOOKS}?added__year={year}")).await;
        assert_eq!(result_count(&page), count, "year {year}");
    }

    // A month: its days, cut at UTC midnights.
    let page = b
        .get(&format!("{BOOKS}?added__year=2024&added__month=3"))
        .await;
    assert_eq!(result_count(&page), "4 books");
    assert_eq!(
        hierarchy(&page),
        (
            Some("2024".into()),
            vec!["March 6".into(), "March 7".into(), "March 8".into()]
        )
    );

    // A day: 00:00:00 and 23:59:59 are in, the seconds around them are not.
    let page = b
        .get(&format!(
            "{BOOKS}?added__year=2024&added__month=3&added__day=7"
        ))
        .await;
    assert_eq!(result_count(&page), "2 books");
    assert_eq!(
        hierarchy(&page),
        (Some("March 2024".into()), vec!["March 7".into()])
    );
    let day = b
        .get(&format!(
            "{BOOKS}?added__year=2024&added__month=12&added__day=31"
        ))
        .await;
    assert_eq!(result_count(&day), "1 book");

    // The links keep the other filters, and the filters narrow the choices.
    let page = b
        .get(&format!("{BOOKS}?in_stock=true&added__year=2024"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let links = hierarchy_links(&page);
    assert!(
        links.iter().all(|l| l.contains("in_stock=true")),
        "{links:?}"
    );
    // Even books are in stock: 2 (03-07 00:00), 4 (03-08), 6 (12-31).
    assert_eq!(result_count(&page), "3 books");
    assert_eq!(
        hierarchy(&page).1,
        vec!["March 2024".to_owned(), "December 2024".to_owned()]
    );

    // Bad values: 400 with a reason, never a 500.
    for (query, reason) in [
        ("added__year=abc", "added__year"),
        ("added__year=2024&added__month=13", "added__month"),
        ("added__month=3", "added__year"),
        (
            "added__year=2024&added__month=2&added__day=30",
            "not a date",
        ),
        ("added__year=99999", "added__year"),
    ] {
        let page = b.get(&format!("{BOOKS}?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        assert!(page.body.contains(reason), "{query}: {}", page.body);
        assert!(page.body.contains("errornote"), "{query}");
    }
}

async fn date_range_filter_includes_both_days(db: &TestDb) {
    let (_running, mut b) = site(db).await;
    for (n, (published, added)) in [
        ("2024-01-31", "2024-03-06T23:59:59Z"),
        ("2024-02-01", "2024-03-07T00:00:00Z"),
        ("2024-02-29", "2024-03-07T23:59:59Z"),
        ("2024-03-01", "2024-03-08T00:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let published = NaiveDate::parse_from_str(published, "%Y-%m-%d").unwrap();
        add_book(db.conn(), n, utc(added), Some(published)).await;
    }
    login(&mut b, "admin").await;

    // The sidebar's date filter has the From/To form, keeping other parameters.
    let page = b.get(&format!("{BOOKS}?in_stock=true")).await;
    assert!(
        page.body.contains("name=\"published_on__range__gte\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"published_on__range__lte\""));
    assert!(
        page.body
            .contains("type=\"hidden\" name=\"in_stock\" value=\"true\"")
    );

    for (query, count) in [
        (
            "published_on__range__gte=2024-02-01&published_on__range__lte=2024-02-29",
            "2 books",
        ),
        ("published_on__range__gte=2024-02-01", "3 books"),
        ("published_on__range__lte=2024-02-01", "2 books"),
        (
            "published_on__range__gte=&published_on__range__lte=",
            "4 books",
        ),
        (
            "published_on__range__gte=2024-02-29&published_on__range__lte=2024-02-29",
            "1 book",
        ),
        // Date-times: a whole UTC day, both ends included.
        (
            "added__range__gte=2024-03-07&added__range__lte=2024-03-07",
            "2 books",
        ),
        ("added__range__lte=2024-03-06", "1 book"),
    ] {
        let page = b.get(&format!("{BOOKS}?{query}")).await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        assert_eq!(result_count(&page), count, "{query}");
    }
    // The chosen dates stay in the form.
    let page = b
        .get(&format!("{BOOKS}?published_on__range__gte=2024-02-01"))
        .await;
    assert!(
        page.body.contains("value=\"2024-02-01\""),
        "the From date is kept"
    );
    assert!(page.body.contains("Clear all filters"));

    // A hierarchy on a DATE column (the test site's is on a date-time).
    let by_day = AdminSite::new()
        .register(
            ModelAdmin::<book::Entity>::new()
                .list_display([book::Column::Title, book::Column::PublishedOn])
                .date_hierarchy(book::Column::PublishedOn),
        )
        .build(db.conn().clone(), admin_app::secret())
        .await
        .unwrap();
    let (server, addr) = serve(db, by_day).await;
    let mut other = Browser::new(addr);
    login(&mut other, "admin").await;
    let page = other.get(BOOKS).await;
    assert_eq!(hierarchy(&page), (None, vec!["2024".to_owned()]));
    let page = other.get(&format!("{BOOKS}?published_on__year=2024")).await;
    assert_eq!(
        hierarchy(&page).1,
        vec!["January 2024", "February 2024", "March 2024"]
    );
    let page = other
        .get(&format!(
            "{BOOKS}?published_on__year=2024&published_on__month=2"
        ))
        .await;
    assert_eq!(result_count(&page), "2 books");
    assert_eq!(hierarchy(&page).1, vec!["February 1", "February 29"]);
    server.abort();

    for query in [
        "published_on__range__gte=2024-02-30",
        "published_on__range__lte=yesterday",
        "added__range__gte=0999-01-01",
    ] {
        let page = b.get(&format!("{BOOKS}?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        assert!(
            page.body.contains("is not a date"),
            "{query}: {}",
            page.body
        );
    }
}

/// The posted `list_editable` form for `rows` (pk, price, pages), as the page shows it.
fn editable_form<'a>(
    token: &'a str,
    rows: &'a [(String, String, String)],
) -> Vec<(String, String)> {
    let mut form = vec![
        ("csrfmiddlewaretoken".to_owned(), token.to_owned()),
        ("form-TOTAL_FORMS".to_owned(), rows.len().to_string()),
        ("form-INITIAL_FORMS".to_owned(), rows.len().to_string()),
        ("action".to_owned(), String::new()),
        ("_save".to_owned(), "1".to_owned()),
    ];
    for (k, (pk, price, pages)) in rows.iter().enumerate() {
        form.push((format!("form-{k}-id"), pk.clone()));
        form.push((format!("form-{k}-price"), price.clone()));
        form.push((format!("form-{k}-pages"), pages.clone()));
    }
    form
}

async fn post(b: &mut Browser, path: &str, form: &[(String, String)]) -> Reply {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form(path, &fields).await
}

/// `(pk, price, pages)` of the page's rows, from the database.
async fn page_rows(db: &TestDb, page: &Reply) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for pk in row_pks(page) {
        let book = book::Entity::find_by_id(pk.parse::<i32>().unwrap())
            .one(db.conn())
            .await
            .unwrap()
            .unwrap();
        out.push((
            pk,
            book.price.to_string(),
            book.pages.map(|p| p.to_string()).unwrap_or_default(),
        ));
    }
    out
}

async fn change_entries(db: &TestDb) -> Vec<log_entry::Model> {
    log_entry::Entity::find()
        .filter(log_entry::Column::ActionFlag.eq(2))
        .all(db.conn())
        .await
        .unwrap()
}

async fn seeded_site(db: &TestDb, books: usize) -> (admin_app::Running, Browser) {
    let running = AdminFixture::new(db.conn()).library(2, books).build().await;
    let browser = running.browser();
    (running, browser)
}

async fn list_editable_saves_changed_rows_in_one_post(db: &TestDb) {
    let (_running, mut b) = seeded_site(db, 5).await;
    login(&mut b, "editor").await;
    let page = b.get(BOOKS).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("name=\"form-TOTAL_FORMS\" value=\"5\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"form-0-price\""));
    assert!(page.body.contains("name=\"form-4-pages\""));
    assert!(page.body.contains("name=\"_save\""));
    let mut rows = page_rows(db, &page).await;
    assert_eq!(rows.len(), 5);
    rows[0].1 = "11.50".into();
    rows[1].2 = "7".into();
    rows[3].2 = String::new(); // pages is nullable: empty clears it
    let t = token(&page);
    let reply = post(&mut b, BOOKS, &editable_form(&t, &rows)).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert_eq!(reply.location(), Some(BOOKS));
    let page = b.get(BOOKS).await;
    assert!(
        page.body.contains("3 books were changed successfully."),
        "{}",
        page.body
    );
    let get = |pk: &str| {
        let id = pk.parse::<i32>().unwrap();
        async move {
            book::Entity::find_by_id(id)
                .one(db.conn())
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(get(&rows[0].0).await.price, Decimal::new(1150, 2));
    assert_eq!(get(&rows[1].0).await.pages, Some(7));
    assert_eq!(get(&rows[3].0).await.pages, None);
    // The new values are in the inputs.
    assert!(page.body.contains("value=\"11.50\""), "{}", page.body);

    // One history entry per changed row, naming what changed; none for the others.
    let entries = change_entries(db).await;
    let mut ids: Vec<String> = entries.iter().filter_map(|e| e.object_id.clone()).collect();
    ids.sort();
    let mut expected = vec![rows[0].0.clone(), rows[1].0.clone(), rows[3].0.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let first = entries
        .iter()
        .find(|e| e.object_id.as_deref() == Some(rows[0].0.as_str()))
        .unwrap();
    assert!(
        first.change_message.contains("Price"),
        "{}",
        first.change_message
    );
    let history = b.get(&format!("{BOOKS}{}/history/", rows[1].0)).await;
    assert!(history.body.contains("Changed Pages."), "{}", history.body);

    // Saving again without changes writes nothing and logs nothing.
    let page = b.get(BOOKS).await;
    let rows = page_rows(db, &page).await;
    let reply = post(&mut b, BOOKS, &editable_form(&token(&page), &rows)).await;
    assert_eq!(reply.status, 302);
    assert_eq!(change_entries(db).await.len(), 3);

    // The action bar still works in the same form.
    let page = b.get(BOOKS).await;
    let t = token(&page);
    let pk = row_pks(&page)[1].clone();
    let reply = b
        .post_form(
            BOOKS,
            &[
                ("csrfmiddlewaretoken", &t),
                ("action", "mark_in_stock"),
                ("index", "0"),
                ("_selected_action", &pk),
                ("form-TOTAL_FORMS", "1"),
                ("form-0-id", &pk),
                ("form-0-price", "not a price"),
                ("post", "yes"),
            ],
        )
        .await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert!(
        get(&pk).await.in_stock,
        "the action ran, the edits were ignored"
    );
}

async fn list_editable_invalid_row_saves_nothing(db: &TestDb) {
    let (_running, mut b) = seeded_site(db, 4).await;
    login(&mut b, "admin").await;
    let page = b.get(BOOKS).await;
    let before = page_rows(db, &page).await;
    let mut rows = before.clone();
    rows[0].1 = "12.34".into();
    rows[2].1 = "1234567".into(); // too many digits for DECIMAL(8, 2)
    rows[3].2 = "many".into();
    let reply = post(&mut b, BOOKS, &editable_form(&token(&page), &rows)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.body.contains("Please correct the errors below"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("id=\"id_form-2-price_error\""),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("digits before the decimal point"));
    assert!(reply.body.contains("id=\"id_form-3-pages_error\""));
    // What was typed is kept, valid or not.
    assert!(reply.body.contains("value=\"12.34\""));
    assert!(reply.body.contains("value=\"1234567\""));
    assert!(reply.body.contains("value=\"many\""));
    assert!(reply.body.contains("aria-invalid=\"true\""));
    // Nothing written, nothing logged.
    let page = b.get(BOOKS).await;
    assert_eq!(page_rows(db, &page).await, before);
    assert!(change_entries(db).await.is_empty());
}

async fn list_editable_refuses_forged_and_foreign_rows(db: &TestDb) {
    let (running, mut b) = seeded_site(db, 25).await;
    login(&mut b, "admin").await;
    let page = b.get(BOOKS).await;
    let rows = page_rows(db, &page).await;
    assert_eq!(rows.len(), 20, "list_per_page 20");
    let t = token(&page);
    let on_page: Vec<i32> = rows.iter().map(|r| r.0.parse().unwrap()).collect();
    let off_page = (1..=25).find(|id| !on_page.contains(id)).unwrap();

    // A row of page 2, a row that does not exist, a repeated row: 400, nothing written.
    for bad in [off_page.to_string(), "9999".to_owned(), "abc".to_owned()] {
        let forged = vec![
            (rows[0].0.clone(), "1.00".to_owned(), "1".to_owned()),
            (bad.clone(), "2.00".to_owned(), "2".to_owned()),
        ];
        let reply = post(&mut b, BOOKS, &editable_form(&t, &forged)).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert!(reply.body.contains("not on this page"), "{}", reply.body);
    }
    let twice = vec![
        (rows[0].0.clone(), "1.00".to_owned(), "1".to_owned()),
        (rows[0].0.clone(), "2.00".to_owned(), "2".to_owned()),
    ];
    assert_eq!(
        post(&mut b, BOOKS, &editable_form(&t, &twice)).await.status,
        400
    );
    let mut short = editable_form(&t, &rows);
    short.retain(|(k, _)| k != "form-TOTAL_FORMS");
    assert_eq!(post(&mut b, BOOKS, &short).await.status, 400);

    // Without the CSRF token: 403.
    let mut changed = rows.clone();
    changed[0].1 = "1.00".into();
    let mut no_token = editable_form(&t, &changed);
    no_token.retain(|(k, _)| k != "csrfmiddlewaretoken");
    assert_eq!(post(&mut b, BOOKS, &no_token).await.status, 403);
    // A user who may only view: 403.
    let mut viewer = Browser::new(running.addr);
    login(&mut viewer, "viewer").await;
    let vpage = viewer.get(BOOKS).await;
    assert!(
        !vpage.body.contains("form-TOTAL_FORMS"),
        "no inputs for viewers"
    );
    let reply = post(&mut viewer, BOOKS, &editable_form(&token(&vpage), &changed)).await;
    assert_eq!(reply.status, 403);
    assert!(change_entries(db).await.is_empty());
    assert_eq!(page_rows(db, &b.get(BOOKS).await).await, rows);

    // An object-level hook: the editor may not change archived books.
    let guarded = AdminSite::new()
        .register(
            ModelAdmin::<book::Entity>::new()
                .list_display([
                    book::Column::Title,
                    book::Column::Status,
                    book::Column::Price,
                    book::Column::Pages,
                ])
                .list_editable([book::Column::Price, book::Column::Pages])
                .list_per_page(20)
                .has_change_permission(|user, book| {
                    user.is_superuser() || book.status != "archived"
                }),
        )
        .build(db.conn().clone(), admin_app::secret())
        .await
        .unwrap();
    let (server, addr) = serve(db, guarded).await;
    let mut editor = Browser::new(addr);
    login(&mut editor, "editor").await;
    let page = editor.get(BOOKS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rows = page_rows(db, &page).await;
    let archived: Vec<&(String, String, String)> = {
        let mut out = Vec::new();
        for r in &rows {
            let book = book::Entity::find_by_id(r.0.parse::<i32>().unwrap())
                .one(db.conn())
                .await
                .unwrap()
                .unwrap();
            if book.status == "archived" {
                out.push(r);
            }
        }
        out
    };
    assert!(!archived.is_empty());
    let editable = rows.len() - archived.len();
    assert!(
        page.body
            .contains(&format!("name=\"form-TOTAL_FORMS\" value=\"{editable}\"")),
        "archived rows are plain text: {}",
        page.body
    );
    // A forged POST naming an archived row, with a valid change of another: 403, nothing.
    let allowed = rows.iter().find(|r| !archived.contains(r)).unwrap();
    let forged = vec![
        (allowed.0.clone(), "3.00".to_owned(), allowed.2.clone()),
        (
            archived[0].0.clone(),
            "4.00".to_owned(),
            archived[0].2.clone(),
        ),
    ];
    let reply = post(&mut editor, BOOKS, &editable_form(&token(&page), &forged)).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(change_entries(db).await.is_empty());
    assert_eq!(page_rows(db, &page).await, rows, "nothing written");
    // The allowed row alone saves.
    let reply = post(
        &mut editor,
        BOOKS,
        &editable_form(&token(&page), &forged[..1]),
    )
    .await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert_eq!(change_entries(db).await.len(), 1);
    server.abort();
}

async fn changelist_options_are_checked_at_build(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let secret = admin_app::secret();
    let build = |admin: ModelAdmin<book::Entity>| {
        let secret = secret.clone();
        async move {
            AdminSite::new()
                .register(admin)
                .build(db.conn().clone(), secret)
                .await
                .err()
                .map(|e| e.to_string())
        }
    };
    let listed = || {
        ModelAdmin::<book::Entity>::new().list_display([
            book::Column::Title,
            book::Column::Price,
            book::Column::Uuid,
        ])
    };
    let cases = [
        (
            ModelAdmin::<book::Entity>::new().date_hierarchy(book::Column::Title),
            "not a date",
        ),
        (
            listed().list_editable([book::Column::Isbn]),
            "not in list_display",
        ),
        (
            listed().list_editable([book::Column::Title]),
            "links to the change form",
        ),
        (
            listed()
                .readonly_fields([book::Column::Uuid])
                .list_editable([book::Column::Uuid]),
            "read-only",
        ),
    ];
    for (admin, expected) in cases {
        let error = build(admin).await.expect("refused at build");
        assert!(error.contains(expected), "{error}");
    }
    assert!(
        build(
            listed()
                .list_display_links([book::Column::Price])
                .list_editable([book::Column::Title])
                .date_hierarchy(book::Column::PublishedOn)
        )
        .await
        .is_none(),
        "a valid configuration builds"
    );
}

/// Drill down and back, the From/To form, two cells saved, an invalid cell: in a
/// browser (skipped without node and Chromium, except under CI). Screenshots in
/// `<target dir>/admin-screenshots/changelist-<backend>/`.
async fn changelist_features_work_in_a_browser(db: &TestDb) {
    let shots = format!("changelist-{}", db.backend().name());
    crate::admin::browser_common::run_script(
        db,
        "admin-changelist.test.mjs",
        &shots,
        "admin_changelist",
    )
    .await;
}

/// Aborts the test binary when the test has not ended within `limit`. Before issue 16
/// a large page number looped for ever on the runtime's workers, so no timer on that
/// runtime could fire: a hang is then a loud failure instead of a stuck run.
struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    fn new(what: &'static str, limit: std::time::Duration) -> Self {
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                if start.elapsed() > limit {
                    eprintln!(
                        "{what}: no answer after {limit:?} (a loop bounded by the page number?); aborting"
                    );
                    std::process::abort();
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        Self(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Issue 16, findings 1 and 2: a page number past `i64::MAX` made the driver panic (the
/// connection reset); one that still fit walked every page up to it to draw the links,
/// pinning a core. Now a number above 2,147,483,647 is a readable 400, a page past the
/// last a 404 (Django's behaviour), and the links are computed in constant time. The
/// JSON API's list answers the same way.
async fn page_numbers_are_bounded_and_past_the_end_is_404(db: &TestDb) {
    let _watchdog = Watchdog::new(
        "page_numbers_are_bounded_and_past_the_end_is_404",
        std::time::Duration::from_mins(10),
    );
    // 25 books, 20 a page: two pages.
    let (_running, mut b) = seeded_site(db, 25).await;
    login(&mut b, "admin").await;
    for page in [
        "9223372036854775807",
        "1000000000000000000",
        "1000000000000000",
        "18446744073709551616",
        "2147483648",
    ] {
        let reply = b.get(&format!("{BOOKS}?page={page}")).await;
        assert_eq!(reply.status, 400, "page {page}: {}", reply.body);
        assert!(
            reply
                .body
                .contains("expected an integer from 1 to 2147483647"),
            "page {page}: {}",
            reply.body
        );
        let api = b
            .get_api(&format!("/admin/api/library/book/?page={page}"), &[])
            .await;
        assert_eq!(api.status, 400, "API page {page}: {}", api.body);
    }
    let second = b.get(&format!("{BOOKS}?page=2")).await;
    assert_eq!(second.status, 200, "{}", second.body);
    for page in ["3", "2147483647"] {
        let past = b.get(&format!("{BOOKS}?page={page}")).await;
        assert_eq!(past.status, 404, "page {page}: {}", past.body);
        assert!(
            past.body
                .contains(&format!("Invalid page ({page}): the list has 2 pages.")),
            "{}",
            past.body
        );
        let api = b
            .get_api(&format!("/admin/api/library/book/?page={page}"), &[])
            .await;
        assert_eq!(api.status, 404, "API page {page}: {}", api.body);
        assert!(api.body.contains("the list has 2 pages"), "{}", api.body);
    }
    // A filter that leaves one page: its page 2 is past the end too.
    let filtered = b.get(&format!("{BOOKS}?in_stock=false&page=2")).await;
    assert_eq!(filtered.status, 404, "{}", filtered.body);
    assert!(
        filtered.body.contains("the list has 1 page."),
        "{}",
        filtered.body
    );
    // An empty list still has its first page.
    let none = b.get(&format!("{BOOKS}?q=no+such+book")).await;
    assert_eq!(none.status, 200, "{}", none.body);
}
