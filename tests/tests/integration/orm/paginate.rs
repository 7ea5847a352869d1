//! Offset pages: numbers, totals (exact, estimated, at least), and the query params.

use batteries::orm::paginate::{MAX_PAGE, MAX_PER_PAGE, Paginator, Total};
use batteries::orm::testing::TestDb;
use batteries::orm::{Error, FilterError};
use batteries_tests::backend_tests;
use batteries_tests::entities::post;
use sea_orm::{DbBackend, EntityTrait, QueryOrder};

use crate::orm::common::{post_filters, seed_posts};

backend_tests!(
    pages_have_numbers_totals_and_next,
    totals_beyond_the_count_limit_say_they_are_not_exact,
    page_for_applies_filters_and_page_params,
    huge_page_numbers_and_sizes_are_typed_errors,
);

fn ids(page: &batteries::orm::paginate::Page<post::Model>) -> Vec<i64> {
    page.items.iter().map(|p| p.id).collect()
}

async fn pages_have_numbers_totals_and_next(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let select = || post::Entity::find().order_by_asc(post::Column::Id);
    let paginator = Paginator::new();

    let first = paginator.page(db, select(), 1, 4).await.expect("page 1");
    assert_eq!(ids(&first), [1, 2, 3, 4]);
    assert_eq!(first.total, Total::Exact(6));
    assert!(first.has_next);
    assert!(!first.has_previous());
    assert_eq!(first.num_pages(), 2);

    let second = paginator.page(db, select(), 2, 4).await.expect("page 2");
    assert_eq!(ids(&second), [5, 6]);
    assert_eq!(second.total, Total::Exact(6));
    assert!(!second.has_next);
    assert!(second.has_previous());

    let beyond = paginator.page(db, select(), 9, 4).await.expect("page 9");
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, Total::Exact(6));
    assert!(!beyond.has_next);

    let json = serde_json::to_value(&second).expect("serialize");
    assert_eq!(json["number"], 2);
    assert_eq!(json["total"], 6);
    assert_eq!(json["total_kind"], "exact");
    assert_eq!(json["has_next"], false);
    assert_eq!(json["items"][0]["id"], 5);
}

async fn totals_beyond_the_count_limit_say_they_are_not_exact(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let page = Paginator::new()
        .count_limit(3)
        .page(
            db,
            post::Entity::find().order_by_asc(post::Column::Id),
            1,
            2,
        )
        .await
        .expect("page");
    assert_eq!(page.items.len(), 2);
    assert!(page.has_next);
    match (
        sea_orm::ConnectionTrait::get_database_backend(db),
        page.total,
    ) {
        // The bounded count stopped at 4 rows: at least 4.
        (DbBackend::Sqlite, Total::AtLeast(n)) => assert_eq!(n, 4),
        (DbBackend::Postgres | DbBackend::MySql, Total::Estimate(n)) => assert!(n >= 4, "{n}"),
        (backend, total) => panic!("{backend:?} gave {total:?}"),
    }
    assert!(!page.total.is_exact());
}

async fn page_for_applies_filters_and_page_params(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let filters = post_filters();
    let params = filters
        .parse("published=true&ordering=-views&page=2&per_page=3")
        .expect("parse");
    let page = Paginator::new()
        .page_for(db, post::Entity::find(), &params)
        .await
        .expect("page");
    assert_eq!(ids(&page), [1]);
    assert_eq!(page.number, 2);
    assert_eq!(page.per_page, 3);
    assert_eq!(page.total, Total::Exact(4));
}

/// Issue 16, finding 1: a page number or size whose offset or limit did not fit a
/// signed 64-bit integer reached the driver, which panicked (`TryFromIntError`) and
/// reset the connection. Now the bounds are checked before any query: a typed
/// `FilterError`, and the largest accepted numbers run on every backend.
async fn huge_page_numbers_and_sizes_are_typed_errors(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let select = || post::Entity::find().order_by_asc(post::Column::Id);
    let paginator = Paginator::new();
    for (number, per_page, param) in [
        (u64::MAX, 4, "page"),
        (i64::MAX as u64, 4, "page"),
        (i64::MAX as u64 / 4 + 2, 4, "page"),
        (MAX_PAGE + 1, 1, "page"),
        (1, u64::MAX, "per_page"),
        (1, i64::MAX as u64, "per_page"),
        (2, MAX_PER_PAGE + 1, "per_page"),
    ] {
        let err = paginator
            .page(db, select(), number, per_page)
            .await
            .expect_err("refused");
        match &err {
            Error::Filter(FilterError::InvalidPage { param: p, .. }) if *p == param => {}
            other => panic!("page {number} of {per_page}: {other:?}"),
        }
        assert!(
            err.to_string()
                .contains("expected an integer from 1 to 2147483647"),
            "{err}"
        );
    }
    // The largest numbers accepted make an offset and a limit every backend takes.
    let last = paginator
        .page(db, select(), MAX_PAGE, MAX_PER_PAGE)
        .await
        .expect("the largest page");
    assert!(last.items.is_empty());
    assert!(last.is_past_end());
    assert_eq!(last.total, Total::Exact(6));
    let first = paginator
        .page(db, select(), 1, MAX_PER_PAGE)
        .await
        .expect("the largest page size");
    assert_eq!(first.items.len(), 6);
    assert!(!first.is_past_end());
    // A count limit beyond what a LIMIT holds is capped, not sent.
    let counted = Paginator::new()
        .count_limit(u64::MAX)
        .page(db, select(), 3, 1)
        .await
        .expect("count limit capped");
    assert_eq!(counted.total, Total::Exact(6));

    // Through the query string: refused at parse time, before any query.
    let filters = post_filters();
    for query in [
        "page=9223372036854775807",
        "page=1000000000000000000",
        "page=2147483648",
        "page=18446744073709551616",
    ] {
        let err = filters.parse(query).expect_err(query);
        assert!(
            matches!(err, FilterError::InvalidPage { param: "page", .. }),
            "{query}: {err}"
        );
    }
    let params = filters
        .parse("page=2147483647&per_page=100")
        .expect("the last page");
    let page = paginator
        .page_for(db, post::Entity::find(), &params)
        .await
        .expect("an empty page");
    assert!(page.is_past_end());
}
