//! Peak memory of `Fixtures::dump` on PostgreSQL tables of 100,000 and 1,000,000 rows.
//!
//! Not a criterion benchmark: it measures memory, not time. The process's peak resident
//! set (`VmHWM`) is read after dumping the small table and again after the large one;
//! a streaming dump leaves the peak where the small table put it.
//!
//! ```sh
//! cargo bench -p batteries-tests --bench dump_memory
//! ```

use batteries::orm::db::connect;
use batteries::orm::fixtures::Fixtures;
use batteries_tests::entities::author;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};

const SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// A database named `name` holding `rows` authors, created once and reused.
async fn table_of(server: &str, name: &str, rows: u64) -> DatabaseConnection {
    let admin = connect(server).await.expect("connect to PostgreSQL");
    let exists = admin
        .query_one_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("query")
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
    }
    let mut url = url::Url::parse(server).expect("url");
    url.set_path(&format!("/{name}"));
    let db = connect(url.as_str()).await.expect("connect");
    let have = if let Ok(n) = author::Entity::find().count(&db).await {
        n
    } else {
        batteries_tests::create_table(&db, author::Entity)
            .await
            .expect("create table");
        0
    };
    if have != rows {
        db.execute_unprepared("TRUNCATE blog_author")
            .await
            .expect("truncate");
        db.execute_unprepared(&format!(
            "INSERT INTO blog_author (id, name, email) \
             SELECT g, 'author ' || g, 'author' || g || '@example.com' \
             FROM generate_series(1, {rows}) AS g"
        ))
        .await
        .expect("seed");
    }
    db
}

async fn dump(db: &DatabaseConnection) -> (u64, u64) {
    let fixtures = Fixtures::new().register::<author::Entity>("blog.author");
    let mut sink = CountingSink(0);
    let records = fixtures.dump(db, &[], &mut sink).await.expect("dump");
    (records, sink.0)
}

/// Counts the bytes written and keeps none of them.
struct CountingSink(u64);

impl tokio::io::AsyncWrite for CountingSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0 += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn main() {
    // `cargo test --benches` runs benches with `--bench`-less arguments: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let server = std::env::var("BATTERIES_BENCH_POSTGRES_URL").unwrap_or_else(|_| SERVER.into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let small = table_of(&server, "batteries_bench_dump_100k", 100_000).await;
        let large = table_of(&server, "batteries_bench_dump_1m", 1_000_000).await;
        let before = peak_rss_kib();
        let (n_small, bytes_small) = dump(&small).await;
        let after_small = peak_rss_kib();
        let (n_large, bytes_large) = dump(&large).await;
        let after_large = peak_rss_kib();
        println!("peak RSS before dumping:          {before:>8} KiB");
        println!(
            "after dumping {n_small:>9} rows ({:>4} MiB of JSON): {after_small:>8} KiB",
            bytes_small >> 20
        );
        println!(
            "after dumping {n_large:>9} rows ({:>4} MiB of JSON): {after_large:>8} KiB",
            bytes_large >> 20
        );
        println!(
            "growth from 10x the rows: {} KiB",
            after_large.saturating_sub(after_small)
        );
    });
}
