//! Keyset pages: complete and ordered walks, tampered, foreign and stale cursors.

use batteries::orm::keyset::{Keyset, KeysetPage};
use batteries::orm::paginate::MAX_PER_PAGE;
use batteries::orm::testing::TestDb;
use batteries::orm::{CursorError, Error, FilterError};
use batteries_tests::backend_tests;
use batteries_tests::entities::post;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Order, Set};

use crate::orm::common::{ids, post_filters, seed_posts, utc};

backend_tests!(
    walking_every_page_yields_each_row_once_in_order,
    forged_foreign_and_nullable_cursors_are_refused,
    huge_page_sizes_are_typed_errors,
);

fn keyset() -> Keyset {
    Keyset::new(b"test secret key, 32 bytes or more")
}

/// Walks every keyset page of `query` with `per_page` rows, returning the ids.
async fn walk(db: &impl ConnectionTrait, query: &str, per_page: u64) -> Vec<i64> {
    let filters = post_filters();
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let q = match &cursor {
            Some(c) => format!("{query}&per_page={per_page}&cursor={c}"),
            None => format!("{query}&per_page={per_page}"),
        };
        let params = filters.parse(&q).expect("parse");
        let page: KeysetPage<post::Model> = keyset()
            .page_for(db, post::Entity::find(), &params)
            .await
            .expect("keyset page");
        assert!(page.items.len() as u64 <= per_page);
        out.extend(page.items.iter().map(|p| p.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
    panic!("keyset walk did not end");
}

async fn walking_every_page_yields_each_row_once_in_order(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    // Many rows sharing one timestamp and one view count: the id tie-breaker decides.
    for i in 0..40 {
        post::ActiveModel {
            id: Set(100 + i),
            author_id: Set(1 + i % 2),
            title: Set(format!("bulk {:02}", 39 - i)),
            slug: Set(format!("bulk-{i}")),
            body: Set(String::new()),
            published: Set(i % 3 == 0),
            created: Set(utc("2024-03-01T10:00:00Z")),
            rating: Set(None),
            views: Set(i32::from(i % 5 == 0)),
        }
        .insert(db)
        .await
        .expect("insert");
    }
    for query in [
        "ordering=-created,title",
        "ordering=-created,-id",
        "ordering=views",
        "ordering=-views,title",
        "ordering=created&published=true",
        "ordering=-title&search=bulk",
        "ordering=slug",
    ] {
        let offset_ids = ids(db, query).await;
        for per_page in [1, 7, 100] {
            assert_eq!(
                walk(db, query, per_page).await,
                offset_ids,
                "`{query}` in pages of {per_page}"
            );
        }
    }
}

async fn forged_foreign_and_nullable_cursors_are_refused(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let filters = post_filters();
    let first = keyset()
        .page_for(
            db,
            post::Entity::find(),
            &filters
                .parse("ordering=-created&published=true&per_page=2")
                .expect("parse"),
        )
        .await
        .expect("first page");
    let cursor = first.next_cursor.expect("a next page");

    let page = |query: String| {
        let filters = &filters;
        async move {
            let params = filters.parse(&query).expect("parse");
            keyset().page_for(db, post::Entity::find(), &params).await
        }
    };
    // The same cursor for the same listing works.
    let ok = page(format!(
        "ordering=-created&published=true&per_page=2&cursor={cursor}"
    ))
    .await
    .expect("second page");
    assert_eq!(ok.items.iter().map(|p| p.id).collect::<Vec<_>>(), [4, 1]);

    // Another filter or ordering: refused, not silently mixed up.
    for query in [
        format!("ordering=-created&published=false&cursor={cursor}"),
        format!("ordering=created&published=true&cursor={cursor}"),
        format!("ordering=-created&published=true&search=x&cursor={cursor}"),
    ] {
        assert!(
            matches!(
                page(query.clone()).await,
                Err(Error::InvalidCursor(CursorError::WrongListing))
            ),
            "{query}"
        );
    }
    // Tampering: every single-character change is caught.
    for i in 0..cursor.len() {
        let mut forged = cursor.clone().into_bytes();
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ascii");
        if forged == cursor {
            continue;
        }
        let result = page(format!("ordering=-created&published=true&cursor={forged}")).await;
        assert!(
            matches!(
                result,
                Err(Error::InvalidCursor(
                    CursorError::BadSignature | CursorError::Malformed
                ))
            ),
            "forged at {i}: {result:?}"
        );
    }
    // A cursor signed with another key.
    let other = Keyset::new(b"another key, also 32 bytes or more")
        .page_for(
            db,
            post::Entity::find(),
            &filters
                .parse("ordering=-created&published=true&per_page=2")
                .expect("parse"),
        )
        .await
        .expect("page")
        .next_cursor
        .expect("cursor");
    assert!(matches!(
        page(format!("ordering=-created&published=true&cursor={other}")).await,
        Err(Error::InvalidCursor(CursorError::BadSignature))
    ));
    // Garbage and oversized cursors.
    for junk in ["", "%00", "' OR 1=1 --", &"A".repeat(5_000)] {
        assert!(
            matches!(
                page(format!("ordering=-created&cursor={junk}")).await,
                Err(Error::InvalidCursor(_))
            ),
            "{junk:.20}"
        );
    }
    // Nullable ordering columns cannot give a total keyset order.
    assert!(matches!(
        page("ordering=rating".into()).await,
        Err(Error::KeysetOrdering(_))
    ));
}

/// Issue 16, finding 1: `Keyset::page` asked for `LIMIT per_page + 1`, which overflowed
/// for `u64::MAX` and made the driver panic beyond `i64::MAX`. Now a typed error.
async fn huge_page_sizes_are_typed_errors(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let order = [(post::Column::Id, Order::Asc)];
    for per_page in [
        u64::MAX,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        MAX_PER_PAGE + 1,
    ] {
        let err = keyset()
            .page(db, post::Entity::find(), &order, None, per_page, b"listing")
            .await
            .expect_err("refused");
        assert!(
            matches!(
                err,
                Error::Filter(FilterError::InvalidPage {
                    param: "per_page",
                    ..
                })
            ),
            "{per_page}: {err:?}"
        );
    }
    let page = keyset()
        .page(
            db,
            post::Entity::find(),
            &order,
            None,
            MAX_PER_PAGE,
            b"listing",
        )
        .await
        .expect("the largest page size");
    assert_eq!(page.items.len(), 6);
    assert!(page.next_cursor.is_none());
}
