//! Every lookup on every backend, typed errors, and SQL injection attempts.

use batteries::orm::FilterError;
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::entities::{author, post};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::orm::common::{ids, post_filters, seed_posts};

backend_tests!(
    every_lookup_selects_the_right_rows,
    search_needs_every_word_in_some_field,
    ordering_sorts_by_several_fields,
    injection_through_names_lookups_and_ordering_is_refused,
    injection_through_values_is_inert,
);

async fn every_lookup_selects_the_right_rows(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    let cases: &[(&str, &[i64])] = &[
        ("title=Django admin", &[3]),
        ("slug__exact=cafe", &[4]),
        ("title__iexact=DJANGO ADMIN", &[3]),
        ("views__gt=99", &[3, 6]),
        ("views__gte=99", &[3, 4, 6]),
        ("views__lt=7", &[2]),
        ("views__lte=7", &[2, 5]),
        ("id__in=1,3,99", &[1, 3]),
        ("author__in=2", &[3, 4, 6]),
        ("title__contains=Rust", &[1]),
        ("title__icontains=rust", &[1, 2, 6]),
        ("title__icontains=café", &[4]),
        ("title__startswith=rust", &[2]),
        ("title__istartswith=RUST", &[1, 2]),
        ("title__endswith=RUST", &[6]),
        ("title__iendswith=ADMIN", &[3]),
        ("rating__isnull=true", &[2, 5]),
        ("rating__isnull=false", &[1, 3, 4, 6]),
        ("rating__gte=4.5", &[1, 4]),
        ("created__range=2024-02-01,2024-03-01T10:00:00Z", &[2, 3, 4]),
        ("created__gte=2024-04-15T08:30:00Z", &[5, 6]),
        ("created__lt=2024-01-02", &[1]),
        ("published=true", &[1, 3, 4, 6]),
        ("published=0", &[2, 5]),
        ("published=true&views__lt=100", &[1, 4]),
        ("views__gt=5&views__lt=100", &[1, 4, 5]),
    ];
    for (query, expected) in cases {
        assert_eq!(&ids(db, query).await, expected, "query `{query}`");
    }
    // `exact` follows the column's collation: case-insensitive on MySQL, as in Django.
    let exact = ids(db, "title__exact=django admin").await;
    if crate::orm::common::is_mysql(db) {
        assert_eq!(exact, [3]);
    } else {
        assert!(exact.is_empty(), "{exact:?}");
    }
}

async fn search_needs_every_word_in_some_field(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    assert_eq!(ids(db, "search=rust").await, [1, 2, 6]);
    assert_eq!(ids(db, "search=rust python").await, [1]);
    assert_eq!(ids(db, "search=PYTHON").await, [1, 3]);
    assert_eq!(ids(db, "search=tokio&published=true").await, [6]);
    assert!(ids(db, "search=nothing-like-this").await.is_empty());
}

async fn ordering_sorts_by_several_fields(db: &TestDb) {
    let db = db.conn();
    seed_posts(db).await;
    assert_eq!(ids(db, "ordering=-views").await, [6, 3, 4, 1, 5, 2]);
    assert_eq!(ids(db, "ordering=-created,title").await, [6, 5, 3, 4, 2, 1]);
    assert_eq!(
        ids(db, "ordering=-created,-title").await,
        [6, 5, 4, 3, 2, 1]
    );
    // Equal `created`: the primary key breaks the tie.
    assert_eq!(ids(db, "ordering=created").await, [1, 2, 3, 4, 5, 6]);
    assert_eq!(ids(db, "").await, [1, 2, 3, 4, 5, 6], "default ordering");
}

async fn assert_intact(db: &TestDb) {
    let db = db.conn();
    assert_eq!(
        post::Entity::find().count(db).await.expect("count posts"),
        6
    );
    assert_eq!(
        author::Entity::find()
            .count(db)
            .await
            .expect("count authors"),
        2
    );
}

async fn injection_through_names_lookups_and_ordering_is_refused(db: &TestDb) {
    seed_posts(db.conn()).await;
    let filters = post_filters();
    let attempts = [
        "title;DROP TABLE blog_post=1",
        "title%3B%20DROP%20TABLE%20blog_post%3B--=1",
        "id) OR (1=1=1",
        "title__exact OR 1=1=x",
        "title__icontains')--=x",
        "\"title\"=x",
        "blog_post.title=x",
        "title__gt) OR 1=1 --=x",
        "title__regex=.*",
        "title__contains__icontains=x",
        "password=x",
    ];
    for query in attempts {
        match filters.parse(query) {
            Err(FilterError::UnknownField { .. } | FilterError::UnknownLookup { .. }) => {}
            other => panic!("`{query}` must be refused, got {other:?}"),
        }
    }
    for ordering in [
        "title;DROP TABLE blog_post",
        "(SELECT 1)",
        "-id DESC; --",
        "id,(CASE WHEN 1=1 THEN id ELSE title END)",
        "1",
        "RANDOM()",
        "body",
    ] {
        let query = format!("ordering={}", urlencode(ordering));
        match filters.parse(&query) {
            Err(FilterError::UnknownOrdering { .. }) => {}
            other => panic!("ordering `{ordering}` must be refused, got {other:?}"),
        }
    }
    for query in [
        "id__in=1,2) OR (1=1",
        "views__gt=1 OR 1=1",
        "created__gte=2024-01-01' OR '1'='1",
        "published=true OR 1=1",
        "rating__lt=1;DELETE FROM blog_post",
        "rating__isnull=maybe",
    ] {
        match filters.parse(query) {
            Err(FilterError::InvalidValue { .. }) => {}
            other => panic!("`{query}` must be an invalid value, got {other:?}"),
        }
    }
    assert_intact(db).await;
}

async fn injection_through_values_is_inert(db: &TestDb) {
    let conn = db.conn();
    seed_posts(conn).await;
    // Quotes, comments and statements in values are compared as text.
    for query in [
        "title=' OR '1'='1",
        "title__iexact=' OR 1=1 --",
        "title__icontains='); DROP TABLE blog_post; --",
        "title__startswith=%",
        "search=' OR ''='",
        "slug__in=cafe' OR 'x'='x",
    ] {
        let found = ids(conn, &query.replace('%', "%25")).await;
        assert!(found.is_empty(), "`{query}` matched {found:?}");
    }
    // LIKE wildcards are literal characters.
    assert_eq!(
        ids(conn, "title__icontains=%25").await,
        [5],
        "`%` is literal"
    );
    assert_eq!(ids(conn, "title__contains=_").await, [5], "`_` is literal");
    assert_eq!(
        ids(conn, "title__icontains=!").await,
        Vec::<i64>::new(),
        "the escape char is literal"
    );
    assert_eq!(ids(conn, "search='quotes'").await, [5]);
    assert_eq!(
        ids(conn, "search=back%5Cslash").await,
        [5],
        "a backslash is literal"
    );
    assert_eq!(
        ids(conn, "title__contains=*").await,
        Vec::<i64>::new(),
        "GLOB `*` is literal"
    );
    assert_eq!(ids(conn, "slug__in=cafe,rust-django").await, [1, 4]);
    assert_intact(db).await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn errors_name_the_problem_and_what_is_allowed() {
    let filters = post_filters();
    let err = filters.parse("titel=x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown filter field `titel`; allowed: id, author, title, slug, published, created, rating, views"
    );
    let err = filters.parse("views__icontains=1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown lookup `icontains` for field `views`; allowed: exact, gt, gte, lt, lte, in, isnull, range"
    );
    let err = filters.parse("created__gte=yesterday").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid value `yesterday` for `created__gte`: expected a date-time"),
        "{err}"
    );
    let err = filters.parse("views=99999999999").unwrap_err();
    assert!(
        err.to_string()
            .contains("an integer from -2147483648 to 2147483647"),
        "{err}"
    );
    let err = filters.parse("ordering=-body").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown ordering field `body`; allowed: id, author"),
        "{err}"
    );
    let err = filters.parse("page=0").unwrap_err();
    assert!(
        matches!(err, FilterError::InvalidPage { param: "page", .. }),
        "{err}"
    );
    let err = filters.parse("per_page=1000").unwrap_err();
    assert!(err.to_string().contains("from 1 to 100"), "{err}");
    let err = filters.parse(&"a=1&".repeat(100)).unwrap_err();
    assert!(matches!(err, FilterError::TooLarge(_)), "{err}");
    let long = "x".repeat(500);
    let err = filters.parse(&format!("{long}=1")).unwrap_err();
    assert!(
        err.to_string().len() < 300,
        "echoed input is truncated: {err}"
    );
}
