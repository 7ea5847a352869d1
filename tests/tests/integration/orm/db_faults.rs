//! Database faults at the ORM level: a PostgreSQL server that stops mid-run (a private
//! one, see `batteries_tests::pg_instance`), and a locked table on PostgreSQL, MariaDB
//! and SQLite. Queries must fail within the configured timeouts with an error that
//! `DbFailure` classifies, and the same pool must work again once the fault is gone.

use std::time::{Duration, Instant};

use batteries::orm::db::DbConfig;
use batteries::orm::error::{DbFailure, is_unavailable};
use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::pg_instance::PgInstance;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};

const ACQUIRE: Duration = Duration::from_secs(1);
const STATEMENT: Duration = Duration::from_secs(2);
/// What a shared, noisy CI machine may add to a timeout.
const SLACK: Duration = Duration::from_secs(8);

fn config(url: &str) -> DbConfig {
    DbConfig::new(url)
        .acquire_timeout(ACQUIRE)
        .connect_timeout(ACQUIRE)
        .statement_timeout(Some(STATEMENT))
        .max_connections(4)
}

async fn count(db: &DatabaseConnection, table: &str) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no row".into()))?;
    row.try_get::<i64>("", "n")
}

/// Runs `op`, which must fail within `bound`; returns the error and the time taken.
async fn fails_within<F, T>(what: &str, bound: Duration, op: F) -> (DbErr, Duration)
where
    F: std::future::Future<Output = Result<T, DbErr>>,
{
    let started = Instant::now();
    let Ok(result) = tokio::time::timeout(bound, op).await else {
        panic!("{what}: still waiting after {bound:?}: the outage became a hang")
    };
    let took = started.elapsed();
    match result {
        Ok(_) => panic!("{what}: succeeded while it should fail"),
        Err(e) => (e, took),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_fails_fast_and_the_pool_recovers() {
    let Some(mut pg) = PgInstance::start_new() else {
        return;
    };
    let db = config(&pg.url("postgres"))
        .connect()
        .await
        .expect("connect");
    db.execute_unprepared("CREATE TABLE outage_t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    db.execute_unprepared("INSERT INTO outage_t VALUES (1), (2)")
        .await
        .unwrap();
    assert_eq!(count(&db, "outage_t").await.unwrap(), 2);

    // A statement in flight when the server shuts down ends at once, classified.
    let in_flight = {
        let db = db.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = db
                .execute_unprepared("SELECT pg_sleep(30)")
                .await
                .map(|_| ());
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.stop();
    let (result, took) = tokio::time::timeout(STATEMENT + SLACK, in_flight)
        .await
        .expect("the statement in flight ends with the server")
        .expect("task");
    let err = result.expect_err("a statement cut off by the shutdown fails");
    assert_eq!(DbFailure::of(&err), DbFailure::Unavailable, "{err}");
    eprintln!("in-flight statement failed after {took:?}: {err}");

    // While it is down every query fails within the acquire timeout, as unavailable.
    for attempt in 0..3 {
        let (err, took) = fails_within(
            "query while PostgreSQL is down",
            ACQUIRE + SLACK,
            count(&db, "outage_t"),
        )
        .await;
        assert!(is_unavailable(&err), "attempt {attempt}: {err}");
        assert_eq!(DbFailure::of(&err), DbFailure::Unavailable, "{err}");
        eprintln!("query during the outage failed after {took:?}: {err}");
    }
    let (err, _) = fails_within("begin while down", ACQUIRE + SLACK, db.begin()).await;
    assert!(is_unavailable(&err), "{err}");

    // Back up: the same pool answers, without a reconnect by hand.
    pg.start();
    assert_eq!(
        count(&db, "outage_t").await.expect("the pool recovers"),
        2,
        "the data survived the restart"
    );
    let txn = db.begin().await.expect("transactions work again");
    txn.execute_unprepared("INSERT INTO outage_t VALUES (3)")
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(count(&db, "outage_t").await.unwrap(), 3);
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statement_timeout_is_applied_and_classified() {
    let Some(test_db) = TestDb::for_test(Backend::Postgres).await else {
        return;
    };
    let url = test_db.url().expect("a server database");
    let db = config(&url)
        .lock_timeout(Some(Duration::from_secs(1)))
        .connect()
        .await
        .expect("connect");
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "s").unwrap(), "2s");
    assert_eq!(row.try_get::<String>("", "l").unwrap(), "1s");
    let (err, took) = fails_within(
        "a statement past the timeout",
        STATEMENT + SLACK,
        db.execute_unprepared("SELECT pg_sleep(30)"),
    )
    .await;
    assert_eq!(DbFailure::of(&err), DbFailure::Timeout, "{err}");
    assert!(took >= STATEMENT / 2, "cancelled too early: {took:?}");
    db.close().await.unwrap();
    test_db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_locked_table_times_out_and_other_tables_answer() {
    locked_table(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_locked_table_times_out_and_other_tables_answer() {
    locked_table(Backend::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_database_times_out_writes_and_reads_answer() {
    locked_table(Backend::Sqlite).await;
}

/// The timeouts are set on the pool's connections (PostgreSQL: see
/// `postgres_statement_timeout_is_applied_and_classified`).
async fn assert_settings(db: &DatabaseConnection, backend: Backend) {
    let one = |sql: &str| {
        let sql = sql.to_owned();
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap()
        }
    };
    match backend {
        Backend::MySql => {
            let version: String = one("SELECT VERSION() AS v").await.try_get("", "v").unwrap();
            let statement = if version.to_lowercase().contains("mariadb") {
                "CAST(@@SESSION.max_statement_time * 1000 AS SIGNED)"
            } else {
                "CAST(@@SESSION.max_execution_time AS SIGNED)"
            };
            let row = one(&format!(
                "SELECT {statement} AS s, CAST(@@SESSION.innodb_lock_wait_timeout AS SIGNED) AS l, \
                 CAST(@@SESSION.lock_wait_timeout AS SIGNED) AS w"
            ))
            .await;
            let get = |c: &str| row.try_get::<i64>("", c).unwrap();
            assert_eq!((get("s"), get("l"), get("w")), (2000, 2, 2), "{version}");
        }
        Backend::Sqlite => {
            let row = one("PRAGMA busy_timeout").await;
            assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 2000);
        }
        Backend::Postgres => {}
    }
}

/// One connection of the pool holds a lock on `locked_t`; a statement that needs the
/// table fails after the statement timeout (SQLite: the busy timeout) as a timeout,
/// while a statement on `free_t` answers, on the same pool, before that.
async fn locked_table(backend: Backend) {
    let Some(test_db) = TestDb::for_test(backend).await else {
        return;
    };
    let url = test_db
        .url()
        .unwrap_or_else(|| batteries_tests::sqlite_file_url("locked_table"));
    let db = config(&url).connect().await.expect("connect");
    assert_settings(&db, backend).await;
    for sql in [
        "CREATE TABLE locked_t (id INT PRIMARY KEY)",
        "CREATE TABLE free_t (id INT PRIMARY KEY)",
        "INSERT INTO locked_t VALUES (1)",
        "INSERT INTO free_t VALUES (1)",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }

    let holder = db.begin().await.unwrap();
    let (lock, blocked, unlock) = match backend {
        Backend::Postgres => (
            "LOCK TABLE locked_t IN ACCESS EXCLUSIVE MODE",
            "SELECT COUNT(*) FROM locked_t",
            None,
        ),
        Backend::MySql => (
            "LOCK TABLES locked_t WRITE",
            "SELECT COUNT(*) FROM locked_t",
            Some("UNLOCK TABLES"),
        ),
        // SQLite locks the whole database for writing; readers go on (WAL).
        Backend::Sqlite => (
            "INSERT INTO locked_t VALUES (100)",
            "INSERT INTO locked_t VALUES (101)",
            None,
        ),
    };
    holder.execute_unprepared(lock).await.unwrap();

    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = db.execute_unprepared(blocked).await.map(|_| ());
            (result, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The pool is not stalled: another table answers while the waiter still waits.
    assert_eq!(
        count(&db, "free_t").await.expect("another table answers"),
        1,
        "{backend}"
    );
    assert!(
        !waiter.is_finished(),
        "{backend}: the statement on the locked table should still be waiting"
    );

    let (result, took) = tokio::time::timeout(STATEMENT + SLACK, waiter)
        .await
        .unwrap_or_else(|_| panic!("{backend}: the locked statement outlived its timeout"))
        .expect("task");
    let err = result.expect_err("the locked statement times out");
    assert_eq!(DbFailure::of(&err), DbFailure::Timeout, "{backend}: {err}");
    assert!(is_unavailable(&err), "{backend}: {err}");
    assert!(
        took >= STATEMENT / 2,
        "{backend}: gave up before the timeout: {took:?}"
    );
    eprintln!("{backend}: locked statement failed after {took:?}: {err}");

    if let Some(unlock) = unlock {
        holder.execute_unprepared(unlock).await.unwrap();
    }
    holder.rollback().await.unwrap();
    db.execute_unprepared(blocked)
        .await
        .expect("the table answers again once the lock is gone");
    db.close().await.unwrap();
    test_db.close().await;
}
