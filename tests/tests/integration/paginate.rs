//! Offset pages: numbers, totals (exact, estimated, at least), and the query params.

use batteries::orm::paginate::{Paginator, Total};
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::entities::post;
use sea_orm::{DbBackend, EntityTrait, QueryOrder};

use crate::common::{post_filters, seed_posts};

backend_tests!(
    pages_have_numbers_totals_and_next,
    totals_beyond_the_count_limit_say_they_are_not_exact,
    page_for_applies_filters_and_page_params,
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
