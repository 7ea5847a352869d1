//! Keyset versus offset pagination over 1,000,000 rows in Postgres.
//!
//! Measures page 1 and page 10,000 (50 rows a page, so page 10,000 starts at row
//! 499,950) three ways: [`Paginator::page`] (offset plus its bounded count), the bare
//! `OFFSET ... LIMIT` query alone, and [`Keyset::page`] with a cursor. Each is run for
//! two orderings: `-created,id` (mixed directions) and `-created,-id` (one direction, a
//! row-value comparison). See `docs/performance.md` for the results.
//!
//! ```text
//! cargo bench -p batteries-tests --bench pagination
//! ```
//!
//! The server is `BATTERIES_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); the rows live in a database of their own,
//! `batteries_bench`, created on the same server when missing and seeded once (a re-run
//! finding exactly 1,000,000 rows reuses them). Run as a test (`cargo test
//! --all-targets`), without `--bench`, it does nothing.

use std::hint::black_box;
use std::time::Duration;

use batteries::orm::db::connect;
use batteries::orm::keyset::Keyset;
use batteries::orm::paginate::Paginator;
use criterion::{BenchmarkId, Criterion};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Order, QueryOrder, QuerySelect,
    Select, Statement,
};
use tokio::runtime::Runtime;

/// The rows seeded.
const ROWS: i64 = 1_000_000;
/// Rows per page.
const PER_PAGE: u64 = 50;
/// The far page measured.
const FAR_PAGE: u64 = 10_000;
/// The database the rows live in.
const BENCH_DB: &str = "batteries_bench";
/// The server, when `BATTERIES_BENCH_POSTGRES_URL` is unset.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The key cursors are signed with.
const SECRET: &[u8] = b"batteries pagination benchmark secret key!!";

mod bench_item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bench_item")]
    pub(crate) struct Model {
        #[sea_orm(primary_key)]
        pub(crate) id: i64,
        pub(crate) title: String,
        pub(crate) created: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use bench_item::{Column, Entity as Item};

/// One ordering under test.
struct Listing {
    /// The benchmark parameter, e.g. `created_desc_id_asc`.
    name: &'static str,
    order: Vec<(Column, Order)>,
    /// Identifies the listing to [`Keyset`]: a cursor only works with its own listing.
    fingerprint: Vec<u8>,
    /// The cursor that starts page [`FAR_PAGE`].
    far_cursor: String,
}

impl Listing {
    /// `Item::find()` ordered as this listing, for offset pagination.
    fn ordered(&self) -> Select<Item> {
        self.order
            .iter()
            .fold(Item::find(), |s, (c, o)| s.order_by(*c, o.clone()))
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("pagination: a benchmark; run it with `cargo bench --bench pagination`");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let url = std::env::var("BATTERIES_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let db = rt.block_on(setup(&url));
    let keyset = Keyset::new(SECRET);
    let listings = [
        rt.block_on(listing(
            &db,
            &keyset,
            "created_desc_id_asc",
            vec![(Column::Created, Order::Desc), (Column::Id, Order::Asc)],
        )),
        rt.block_on(listing(
            &db,
            &keyset,
            "created_desc_id_desc",
            vec![(Column::Created, Order::Desc), (Column::Id, Order::Desc)],
        )),
    ];

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    bench_offset(&mut c, &rt, &db, &listings);
    bench_offset_sql(&mut c, &rt, &db, &listings);
    bench_keyset(&mut c, &rt, &db, &keyset, &listings);
    c.final_summary();
}

/// `Paginator::page`: the `OFFSET` query, then (the listing being longer than a page) a
/// count bounded at 10,001 rows and, past it, the planner's estimate.
fn bench_offset(c: &mut Criterion, rt: &Runtime, db: &DatabaseConnection, listings: &[Listing]) {
    let paginator = Paginator::new();
    let mut group = c.benchmark_group("offset");
    for listing in listings {
        for page in [1, FAR_PAGE] {
            group.bench_function(
                BenchmarkId::new(format!("page_{page}"), listing.name),
                |b| {
                    b.iter(|| {
                        let page = rt
                            .block_on(paginator.page(db, listing.ordered(), page, PER_PAGE))
                            .expect("an offset page");
                        black_box(page)
                    });
                },
            );
        }
    }
    group.finish();
}

/// The bare `ORDER BY ... OFFSET ... LIMIT 51` query `Paginator::page` starts with.
fn bench_offset_sql(
    c: &mut Criterion,
    rt: &Runtime,
    db: &DatabaseConnection,
    listings: &[Listing],
) {
    let mut group = c.benchmark_group("offset_sql");
    for listing in listings {
        for page in [1, FAR_PAGE] {
            group.bench_function(
                BenchmarkId::new(format!("page_{page}"), listing.name),
                |b| {
                    b.iter(|| {
                        let rows = rt
                            .block_on(
                                listing
                                    .ordered()
                                    .offset((page - 1) * PER_PAGE)
                                    .limit(PER_PAGE + 1)
                                    .all(db),
                            )
                            .expect("an offset query");
                        black_box(rows)
                    });
                },
            );
        }
    }
    group.finish();
}

/// `Keyset::page`: page 1 without a cursor, page 10,000 with the cursor page 9,999
/// handed out (verifying its signature is part of the measurement).
fn bench_keyset(
    c: &mut Criterion,
    rt: &Runtime,
    db: &DatabaseConnection,
    keyset: &Keyset,
    listings: &[Listing],
) {
    let mut group = c.benchmark_group("keyset");
    for listing in listings {
        for (page, cursor) in [(1, None), (FAR_PAGE, Some(listing.far_cursor.as_str()))] {
            group.bench_function(
                BenchmarkId::new(format!("page_{page}"), listing.name),
                |b| {
                    b.iter(|| {
                        let page = rt
                            .block_on(keyset.page(
                                db,
                                Item::find(),
                                &listing.order,
                                cursor,
                                PER_PAGE,
                                &listing.fingerprint,
                            ))
                            .expect("a keyset page");
                        black_box(page)
                    });
                },
            );
        }
    }
    group.finish();
}

/// Connects to the bench database, creating and seeding it when needed.
async fn setup(url: &str) -> DatabaseConnection {
    let server = connect(url)
        .await
        .expect("PostgreSQL at BATTERIES_BENCH_POSTGRES_URL");
    let exists = server
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [BENCH_DB.into()],
        ))
        .await
        .expect("looking up the bench database")
        .is_some();
    if !exists {
        server
            .execute_unprepared(&format!("CREATE DATABASE {BENCH_DB}"))
            .await
            .expect("creating the bench database");
    }
    drop(server);

    let db = connect(&with_database(url, BENCH_DB))
        .await
        .expect("connecting to the bench database");
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS bench_item (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            title VARCHAR(200) NOT NULL,
            created TIMESTAMPTZ NOT NULL
        )",
    )
    .await
    .expect("creating bench_item");
    let rows: i64 = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COUNT(*) FROM bench_item",
        ))
        .await
        .expect("counting bench_item")
        .expect("a count row")
        .try_get_by_index(0)
        .expect("an integer count");
    if rows == ROWS {
        eprintln!("pagination: reusing {ROWS} rows in {BENCH_DB}.bench_item");
    } else {
        eprintln!("pagination: seeding {ROWS} rows into {BENCH_DB}.bench_item");
        // `created`: 250,000 distinct minutes, each shared by 4 rows whose ids are far
        // apart ((g * 37) mod 10^6 is a permutation), so the `id` tie-breaker matters
        // and `created` order is unrelated to insertion order.
        for sql in [
            "DROP INDEX IF EXISTS bench_item_created_id",
            "DROP INDEX IF EXISTS bench_item_created_desc_id",
            "TRUNCATE bench_item RESTART IDENTITY",
            "INSERT INTO bench_item (title, created)
             SELECT 'Item ' || g || ' ' || md5(g::text),
                    timestamptz '2020-01-01 00:00:00+00'
                        + ((g * 37) % 1000000 / 4) * interval '1 minute'
             FROM generate_series(1, 1000000) AS g",
        ] {
            db.execute_unprepared(sql)
                .await
                .expect("seeding bench_item");
        }
    }
    // `-created,-id` reads (created, id) backwards; `-created,id` gets its own index
    // (without it, PostgreSQL reads (created, id) backwards under an incremental sort).
    for sql in [
        "CREATE INDEX IF NOT EXISTS bench_item_created_id ON bench_item (created, id)",
        "CREATE INDEX IF NOT EXISTS bench_item_created_desc_id ON bench_item (created DESC, id)",
    ] {
        db.execute_unprepared(sql)
            .await
            .expect("indexing bench_item");
    }
    if rows != ROWS {
        db.execute_unprepared("VACUUM ANALYZE bench_item")
            .await
            .expect("analyzing bench_item");
    }
    db
}

/// Gets the cursor of page [`FAR_PAGE`] and checks that keyset and offset pages agree.
async fn listing(
    db: &DatabaseConnection,
    keyset: &Keyset,
    name: &'static str,
    order: Vec<(Column, Order)>,
) -> Listing {
    let fingerprint = format!("bench_item?ordering={name}").into_bytes();
    // One page as long as pages 1 to 9,999 together: its cursor starts page 10,000.
    let before = keyset
        .page(
            db,
            Item::find(),
            &order,
            None,
            (FAR_PAGE - 1) * PER_PAGE,
            &fingerprint,
        )
        .await
        .expect("pages 1 to 9,999 in one");
    let last = before.items.last().expect("rows before page 10,000");
    eprintln!(
        "pagination: {name}: page {} follows id {} created {}",
        FAR_PAGE,
        last.id,
        last.created.to_rfc3339()
    );
    let far_cursor = before.next_cursor.expect("a cursor for page 10,000");
    let listing = Listing {
        name,
        order,
        fingerprint,
        far_cursor,
    };
    for (number, cursor) in [(1, None), (FAR_PAGE, Some(listing.far_cursor.as_str()))] {
        let by_keyset = keyset
            .page(
                db,
                Item::find(),
                &listing.order,
                cursor,
                PER_PAGE,
                &listing.fingerprint,
            )
            .await
            .expect("a keyset page");
        let by_offset = Paginator::new()
            .page(db, listing.ordered(), number, PER_PAGE)
            .await
            .expect("an offset page");
        assert_eq!(
            by_keyset.items.len() as u64,
            PER_PAGE,
            "{name} page {number}"
        );
        assert_eq!(
            by_keyset.items, by_offset.items,
            "{name} page {number}: keyset and offset pages differ"
        );
    }
    listing
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}
