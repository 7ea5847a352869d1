//! The admin test site (`tests/src/admin_app.rs`: a library of authors and books, one
//! column of each type the admin edits) on a 1,000,000-row `library_book`, served behind
//! the same layers (security headers, database sessions, `AuthLayer`, CSRF), for
//! `run.sh`. The one change to the test site: books list 100 a page (Django's default)
//! instead of 20.
//!
//! A second, control port (the admin's port + 1) serves the benchmark's own routes,
//! outside the admin's layers:
//!
//! | route | what it does |
//! | --- | --- |
//! | `POST /capture/{case}` | from now on, every statement the pool runs is recorded for `case` |
//! | `POST /capture/{case}/stop` | stops recording; answers the statements, values inlined |
//! | `POST /replay/{case}?concurrency=C&seconds=S&warmup=W` | `C` tasks run `case`'s statements, in order, one after the other, on the admin's own pool, for `S` seconds (after `W` seconds not counted); answers requests/s, p50 and p99 of one sequence |
//! | `POST /timing/start`, `POST /timing/stop` | per-statement count and total time (sea-orm's metric callback) while the admin is under load |
//! | `POST /baseline/stream` | the export's baseline: every book, in the export's order (`added DESC, id`), read with sea-orm's `stream()` and decoded into models, nothing encoded or sent; answers rows and seconds |
//!
//! The data is created once, in the database `bench_admin` (see [`seed`]); later starts
//! reuse it. Once serving, prints one JSON line with both URLs, then serves until killed.
//!
//! Environment: `ADMINBENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the server on which `bench_admin` is
//! created), `ADMINBENCH_POOL` (connections, default 16), `ADMINBENCH_PORT` (default
//! 8810; the control port is the next one), `ADMINBENCH_ROWS` (books, default 1,000,000).

// Percentiles and rates of durations and counts; the workspace allows these casts too.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Json, Router};
use batteries_admin::{Admin, AdminSite, ModelAdmin};
use batteries_auth::entities::user;
use batteries_auth::sessions::{DatabaseSessionStore, SessionSecret};
use batteries_auth::{ModelBackend, UserManager};
use batteries_middleware::auth::AuthLayer;
use batteries_middleware::csrf::CsrfLayer;
use batteries_middleware::headers::{SecurityHeaders, SecurityHeadersLayer};
use batteries_middleware::session::{SessionConfig, SessionLayer};
use sea_orm::{
    ColumnTrait as _, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait as _, QueryFilter as _, Schema, Statement,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceBuilder;

use batteries_bench_common::entities::{author, book};
use batteries_bench_common::{BoxError, Existing, create_database, env_or};

const BENCH_DB: &str = "bench_admin";
/// The superuser `run.sh` logs in as, and its password (the test site's).
const USERNAME: &str = "admin";
const PASSWORD: &str = "correct horse battery staple";
const AUTHORS: i64 = 1000;

/// What sea-orm's metric callback records.
#[derive(Default)]
struct Recorder {
    /// Statements of the case being captured.
    capturing: Mutex<Option<(String, Vec<Statement>)>>,
    capture_on: AtomicBool,
    /// The captured cases.
    cases: Mutex<HashMap<String, Arc<Vec<Statement>>>>,
    /// SQL text -> (count, total time), while `timing_on`.
    timing: Mutex<HashMap<String, (u64, Duration)>>,
    timing_on: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    fn record(&self, info: &sea_orm::metric::Info<'_>) {
        if self.capture_on.load(Ordering::Relaxed)
            && let Some((_, stmts)) = lock(&self.capturing).as_mut()
        {
            stmts.push(info.statement.clone());
        }
        if self.timing_on.load(Ordering::Relaxed) {
            let mut timing = lock(&self.timing);
            let entry = timing
                .entry(info.statement.sql.clone())
                .or_insert((0, Duration::ZERO));
            entry.0 += 1;
            entry.1 += info.elapsed;
        }
    }
}

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries_orm::migration::compose([
            batteries_auth::migrations::migrations(),
            batteries_admin::migrations::migrations(),
        ])
        .unwrap_or_else(|e| panic!("batteries' migrations do not compose: {e}"))
    }
}

/// The test site's registrations, 100 books a page.
fn site() -> AdminSite {
    AdminSite::new()
        .register(
            ModelAdmin::<author::Entity>::new()
                .list_display([author::Column::Name])
                .search_fields([author::Column::Name])
                .ordering("name")
                .display(|a| a.name.clone()),
        )
        .register(
            ModelAdmin::<book::Entity>::new()
                .list_display([
                    book::Column::Title,
                    book::Column::AuthorId,
                    book::Column::Status,
                    book::Column::Price,
                    book::Column::InStock,
                    book::Column::Added,
                ])
                .computed("summary_words", "Words", |b| {
                    b.summary.split_whitespace().count().to_string()
                })
                .search_fields([book::Column::Title, book::Column::Isbn])
                .list_filter([
                    book::Column::InStock,
                    book::Column::Status,
                    book::Column::AuthorId,
                    book::Column::PublishedOn,
                ])
                .choices(
                    book::Column::Status,
                    [
                        ("draft", "Draft"),
                        ("published", "Published"),
                        ("archived", "Archived"),
                    ],
                )
                .readonly_fields([book::Column::Uuid])
                .label(book::Column::AuthorId, "Author")
                .list_per_page(100)
                .ordering("-added")
                .display(|b| b.title.clone()),
        )
}

/// The SQL type of `library_book.metadata` (SeaORM picks `json` or `jsonb`).
async fn metadata_type(db: &DatabaseConnection) -> Result<String, BoxError> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT udt_name FROM information_schema.columns \
             WHERE table_name = 'library_book' AND column_name = 'metadata'",
        ))
        .await?
        .ok_or("library_book.metadata is missing")?;
    Ok(row.try_get("", "udt_name")?)
}

/// Creates and fills the tables on first start.
///
/// - `library_author`: 1,000 authors, `Author 0001` ... `Author 1000`.
/// - `library_book`: `rows` books. Book `g` is by author `(g * 7919) % 1000 + 1`; its
///   title is `Book g: <topic> of subjectNNN` with `NNN = (g * 37) % 1000` (so searching
///   `subject042` matches 1,000 books spread over the table), `status` cycles draft,
///   published, archived (a third each), `added` is `(g * 37) % 1,000,000` minutes after
///   2020-01-01 (distinct, unrelated to `id`), `metadata` a small JSON object.
/// - Indexes, besides the primary key, `isbn`'s unique one and `author_id`'s (from the
///   entity): `(added)` for the default ordering `-added` and `(status, added)` for the
///   filter `status=...` ordered by `-added`. Then `VACUUM ANALYZE`.
async fn seed(db: &DatabaseConnection, rows: i64) -> Result<(), BoxError> {
    Migrator::up(db, None).await?;
    let have = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            // Created last: its presence says an earlier seeding finished.
            "SELECT to_regclass('library_book_status_added') IS NOT NULL AS have",
        ))
        .await?
        .ok_or("no answer")?
        .try_get::<bool>("", "have")?;
    if have {
        return Ok(());
    }
    eprintln!("seeding {rows} books (once)...");
    db.execute_unprepared("DROP TABLE IF EXISTS library_book, library_author")
        .await?;
    let schema = Schema::new(DbBackend::Postgres);
    db.execute(&schema.create_table_from_entity(author::Entity))
        .await?;
    db.execute(&schema.create_table_from_entity(book::Entity))
        .await?;
    for index in schema.create_index_from_entity(book::Entity) {
        db.execute(&index).await?;
    }
    db.execute_unprepared(&format!(
        "INSERT INTO library_author (name, bio) \
         SELECT 'Author ' || lpad(a::text, 4, '0'), NULL FROM generate_series(1::bigint, {AUTHORS}) a"
    ))
    .await?;
    let metadata = metadata_type(db).await?;
    db.execute_unprepared(&format!(
        "INSERT INTO library_book (author_id, title, isbn, summary, status, pages, price, \
           rating, in_stock, featured, published_on, added, reading_time, uuid, metadata) \
         SELECT ((g * 7919) % {AUTHORS} + 1)::int, \
           'Book ' || g || ': ' || (ARRAY['rust','django','databases','web'])[g % 4 + 1] \
             || ' of subject' || lpad(((g * 37) % 1000)::text, 3, '0'), \
           '978' || lpad(g::text, 10, '0'), \
           'A summary of book ' || g || ' with some words', \
           (ARRAY['draft','published','archived'])[g % 3 + 1], \
           100 + g % 900, (1999 + g % 5000) / 100.0, \
           CASE WHEN g % 2 = 0 THEN 4.5 END, g % 2 = 0, NULL, \
           DATE '2015-01-01' + ((g * 13) % 3650)::int, \
           TIMESTAMPTZ '2020-01-01 00:00:00+00' + ((g * 37) % 1000000) * INTERVAL '1 minute', \
           TIME '02:30', gen_random_uuid(), \
           ('{{\"tags\": [\"a\", \"b\"], \"n\": ' || g || '}}')::{metadata} \
         FROM generate_series(1::bigint, {rows}) g"
    ))
    .await?;
    db.execute_unprepared("CREATE INDEX library_book_added ON library_book (added)")
        .await?;
    db.execute_unprepared("CREATE INDEX library_book_status_added ON library_book (status, added)")
        .await?;
    db.execute_unprepared("VACUUM ANALYZE").await?;
    Ok(())
}

/// Creates the superuser the benchmark logs in as, when missing.
async fn ensure_user(db: &DatabaseConnection) -> Result<(), BoxError> {
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(USERNAME))
        .one(db)
        .await?;
    if found.is_none() {
        UserManager::new()
            .create_superuser(db, USERNAME, Some("admin@example.com"), Some(PASSWORD))
            .await?;
    }
    Ok(())
}

/// The test site's stack: security headers, sessions in the database, the current user,
/// CSRF, the admin at `/admin`.
fn router(db: &DatabaseConnection, admin: Admin, secret: &SessionSecret) -> Router {
    let layers = ServiceBuilder::new()
        .layer(SecurityHeadersLayer::new(
            SecurityHeaders::new().without_hsts(),
        ))
        .layer(SessionLayer::new(
            DatabaseSessionStore::new(db.clone()),
            SessionConfig::new().with_secure(false),
        ))
        .layer(AuthLayer::new(
            ModelBackend::new(db.clone()),
            secret.clone(),
        ))
        .layer(CsrfLayer::new());
    Router::new().nest_service("/admin", admin).layer(layers)
}

#[derive(Clone)]
struct Control {
    db: DatabaseConnection,
    recorder: Arc<Recorder>,
}

async fn capture_start(State(c): State<Control>, Path(case): Path<String>) -> Json<Value> {
    *lock(&c.recorder.capturing) = Some((case.clone(), Vec::new()));
    c.recorder.capture_on.store(true, Ordering::SeqCst);
    Json(json!({ "capturing": case }))
}

async fn capture_stop(State(c): State<Control>, Path(case): Path<String>) -> Json<Value> {
    c.recorder.capture_on.store(false, Ordering::SeqCst);
    let Some((name, stmts)) = lock(&c.recorder.capturing).take() else {
        return Json(json!({ "error": "not capturing" }));
    };
    if name != case {
        return Json(json!({ "error": format!("capturing {name}, not {case}") }));
    }
    let text: Vec<String> = stmts.iter().map(ToString::to_string).collect();
    lock(&c.recorder.cases).insert(case.clone(), Arc::new(stmts));
    Json(json!({ "case": case, "statements": text }))
}

#[derive(Deserialize)]
struct ReplayParams {
    concurrency: usize,
    seconds: f64,
    #[serde(default)]
    warmup: f64,
}

/// Whether a statement answers rows (run with `query_all`) or not (`execute`).
fn returns_rows(sql: &str) -> bool {
    let head = sql.trim_start().get(..7).unwrap_or("").to_ascii_uppercase();
    head.starts_with("SELECT") || head.starts_with("EXPLAIN") || head.starts_with("WITH")
}

/// Runs `stmts` in order; `Err` on the first failure.
async fn run_sequence(db: &DatabaseConnection, stmts: &[Statement]) -> Result<(), sea_orm::DbErr> {
    for stmt in stmts {
        if returns_rows(&stmt.sql) {
            db.query_all_raw(stmt.clone()).await?;
        } else {
            db.execute_raw(stmt.clone()).await?;
        }
    }
    Ok(())
}

async fn replay(
    State(c): State<Control>,
    Path(case): Path<String>,
    Query(p): Query<ReplayParams>,
) -> Json<Value> {
    let Some(stmts) = lock(&c.recorder.cases).get(&case).cloned() else {
        return Json(json!({ "error": format!("no statements captured for {case}") }));
    };
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(p.warmup);
    let end = measure_from + Duration::from_secs_f64(p.seconds);
    let mut tasks = Vec::new();
    for _ in 0..p.concurrency.max(1) {
        let db = c.db.clone();
        let stmts = Arc::clone(&stmts);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0_u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = run_sequence(&db, &stmts).await.is_ok();
                let t1 = Instant::now();
                // Like wrk: a sequence counts when it finishes inside the window.
                if t0 >= measure_from && t1 <= end {
                    if ok {
                        latencies.push(t1 - t0);
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            all.extend(l);
            errors += e;
        }
    }
    all.sort_unstable();
    let pct = |q: f64| {
        all.get(((all.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Json(json!({
        "case": case,
        "statements": stmts.len(),
        "sequences": all.len(),
        "errors": errors,
        "requests_per_sec": all.len() as f64 / p.seconds,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }))
}

/// A plain sea-orm stream of the rows the export reads (every column of every book, in
/// its order), decoded into models and counted: what reading alone costs.
async fn baseline_stream(State(c): State<Control>) -> Json<Value> {
    use futures_util::TryStreamExt as _;
    use sea_orm::QueryOrder as _;
    let start = Instant::now();
    let stream = book::Entity::find()
        .order_by_desc(book::Column::Added)
        .order_by_asc(book::Column::Id)
        .stream(&c.db)
        .await;
    let mut stream = match stream {
        Ok(s) => s,
        Err(e) => return Json(json!({ "error": e.to_string() })),
    };
    let mut rows = 0_u64;
    let mut title_bytes = 0_u64;
    loop {
        match stream.try_next().await {
            Ok(Some(book)) => {
                rows += 1;
                title_bytes += book.title.len() as u64;
            }
            Ok(None) => break,
            Err(e) => return Json(json!({ "error": e.to_string() })),
        }
    }
    Json(json!({
        "rows": rows,
        "title_bytes": title_bytes,
        "seconds": start.elapsed().as_secs_f64(),
    }))
}

async fn timing_start(State(c): State<Control>) -> Json<Value> {
    lock(&c.recorder.timing).clear();
    c.recorder.timing_on.store(true, Ordering::SeqCst);
    Json(json!({ "timing": true }))
}

async fn timing_stop(State(c): State<Control>) -> Json<Value> {
    c.recorder.timing_on.store(false, Ordering::SeqCst);
    let timing = std::mem::take(&mut *lock(&c.recorder.timing));
    let mut rows: Vec<Value> = timing
        .into_iter()
        .map(|(sql, (n, total))| {
            json!({
                "sql": sql,
                "count": n,
                "total_ms": total.as_secs_f64() * 1e3,
                "mean_ms": total.as_secs_f64() * 1e3 / n as f64,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b["total_ms"]
            .as_f64()
            .partial_cmp(&a["total_ms"].as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Json(Value::Array(rows))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server = env_or(
        "ADMINBENCH_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    // Created once: later starts reuse the seeded rows.
    let url = create_database(&server, BENCH_DB, Existing::Keep).await?;
    let pool: u32 = env_or("ADMINBENCH_POOL", "16").parse()?;
    let port: u16 = env_or("ADMINBENCH_PORT", "8810").parse()?;
    let rows: i64 = env_or("ADMINBENCH_ROWS", "1000000").parse()?;

    let mut options = ConnectOptions::new(url);
    options
        .max_connections(pool)
        .min_connections(pool)
        .sqlx_logging(false);
    let mut db = Database::connect(options).await?;
    seed(&db, rows).await?;
    // Before any clone: every clone of the connection shares the callback.
    let recorder = Arc::new(Recorder::default());
    let cb = Arc::clone(&recorder);
    db.set_metric_callback(move |info| cb.record(info));

    let secret = SessionSecret::new("admin-bench-secret-admin-bench-secret-0123456789")?;
    let admin = site().build(db.clone(), secret.clone()).await?;
    ensure_user(&db).await?;
    let app = router(&db, admin, &secret);
    let control = Router::new()
        .route("/capture/{case}", post(capture_start))
        .route("/capture/{case}/stop", post(capture_stop))
        .route("/replay/{case}", post(replay))
        .route("/timing/start", post(timing_start))
        .route("/timing/stop", post(timing_stop))
        .route("/baseline/stream", post(baseline_stream))
        .with_state(Control {
            db: db.clone(),
            recorder,
        });

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let control_listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port + 1))).await?;
    println!(
        "{}",
        json!({
            "admin": format!("http://127.0.0.1:{port}/admin"),
            "control": format!("http://127.0.0.1:{}", port + 1),
            "pool": pool,
            "workers": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        })
    );
    let control_task = tokio::spawn(async move { axum::serve(control_listener, control).await });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    control_task.abort();
    Ok(())
}
