//! Connecting: typed errors that name the host and never the password; SQLite files.

use std::time::Duration;

use batteries::orm::Error;
use batteries::orm::db::{DbConfig, connect};
use batteries::orm::testing::{Backend, TestDb};
use sea_orm::{ConnectionTrait, Statement};

async fn connect_err(url: &str) -> Error {
    DbConfig::new(url)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .connect()
        .await
        .expect_err("must not connect")
}

#[tokio::test]
async fn unreachable_servers_are_named_without_the_password() {
    for (url, backend) in [
        ("postgres://app:s3cr3t-pw@127.0.0.1:1/blog", "postgres"),
        ("mysql://app:s3cr3t-pw@127.0.0.1:1/blog", "mysql"),
    ] {
        let err = connect_err(url).await;
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::Connect { backend: b, host, .. } if *b == backend && host == "127.0.0.1:1"),
            "{err:?}"
        );
        assert!(
            msg.starts_with(&format!(
                "cannot connect to {backend} database at 127.0.0.1:1: "
            )),
            "{msg}"
        );
        assert!(!msg.contains("s3cr3t-pw"), "{msg}");
        assert!(!format!("{err:?}").contains("s3cr3t-pw"), "{err:?}");
    }
}

#[tokio::test]
async fn wrong_password_is_refused_without_echoing_it() {
    // MariaDB's root has an empty password here; PostgreSQL trusts local users, so only
    // MariaDB can refuse a password.
    if TestDb::for_test(Backend::MySql).await.is_none() {
        return;
    }
    let server = Backend::MySql.server_url().expect("mysql url");
    let mut url = url::Url::parse(&server).expect("url");
    url.set_password(Some("definitely-wrong-pw"))
        .expect("set password");
    let err = connect_err(url.as_str()).await;
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            Error::Connect {
                backend: "mysql",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains("Access denied"), "{msg}");
    assert!(!msg.contains("definitely-wrong-pw"), "{msg}");
}

#[tokio::test]
async fn unknown_database_names_the_host() {
    if TestDb::for_test(Backend::Postgres).await.is_none() {
        return;
    }
    let server = Backend::Postgres.server_url().expect("pg url");
    let mut url = url::Url::parse(&server).expect("url");
    url.set_path("/no_such_database_here");
    let err = connect_err(url.as_str()).await;
    assert!(err.to_string().contains("no_such_database_here"), "{err}");
    assert!(
        matches!(
            err,
            Error::Connect {
                backend: "postgres",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_urls_are_typed_errors() {
    for (url, needle) in [
        ("oracle://scott:tiger@db/orcl", "unknown scheme `oracle`"),
        ("postgres://", "names no host"),
        ("just text", "expected `sqlite://`"),
        ("mysql://u:p@[::1/db", "invalid database URL"),
    ] {
        let err = connect(url).await.expect_err(url);
        let msg = err.to_string();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
        assert!(msg.contains(needle), "{url}: {msg}");
        assert!(!msg.contains("tiger"), "{msg}");
    }
}

#[tokio::test]
async fn sqlite_file_is_created_with_wal_journal() {
    let dir = std::env::temp_dir().join(format!("batteries-db-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("new.sqlite3");
    let _ = std::fs::remove_file(&path);

    let err = connect(&format!("sqlite://{}", path.display()))
        .await
        .expect_err("no mode=rwc");
    assert!(
        matches!(
            err,
            Error::Connect {
                backend: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!path.exists());

    let db = connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("created");
    assert!(path.exists());
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA journal_mode",
        ))
        .await
        .expect("pragma")
        .expect("a row");
    let mode: String = row.try_get_by_index(0).expect("text");
    assert_eq!(mode, "wal");
    db.close().await.expect("close");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn in_memory_sqlite_survives_idle_pool() {
    let db = connect("sqlite::memory:").await.expect("memory");
    db.execute_unprepared("CREATE TABLE t (x INTEGER)")
        .await
        .expect("create");
    db.execute_unprepared("INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM t",
        ))
        .await
        .expect("select")
        .expect("row");
    assert_eq!(row.try_get_by_index::<i64>(0).expect("int"), 1);
}

/// Under CI a backend whose server is missing must fail the test, never skip it; run
/// one backend test in a child process pointed at a closed port to prove it.
#[test]
fn missing_server_fails_under_ci_and_skips_elsewhere() {
    let run = |ci: bool| {
        let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args([
            "--exact",
            "--nocapture",
            "orm::filters::search_needs_every_word_in_some_field::postgres",
        ])
        .env(
            "BATTERIES_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:1/postgres",
        )
        .env_remove("BATTERIES_TEST_BACKENDS");
        if ci {
            cmd.env("CI", "true");
        } else {
            cmd.env_remove("CI");
        }
        cmd.output().expect("run child test")
    };
    let under_ci = run(true);
    let stdout = String::from_utf8_lossy(&under_ci.stdout);
    assert!(!under_ci.status.success(), "must fail under CI: {stdout}");
    assert!(stdout.contains("1 failed"), "{stdout}");
    let locally = run(false);
    let stderr = String::from_utf8_lossy(&locally.stderr);
    let stdout = String::from_utf8_lossy(&locally.stdout);
    assert!(
        locally.status.success(),
        "skips outside CI: {stdout}\n{stderr}"
    );
    assert!(stderr.contains("skipping postgres"), "{stdout}\n{stderr}");
}
