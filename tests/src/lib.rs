//! Shared fixtures of the integration tests: the blog entities mirroring the Django
//! project in `tests/django`, schema set-up, the Django interpreter, and
//! [`backend_tests!`], which runs one test body on SQLite, PostgreSQL and MariaDB.

use std::path::{Path, PathBuf};
use std::process::Command;

use batteries::orm::testing::{Backend, TestDb};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Schema};

pub mod admin_app;
pub mod admin_fixture;
pub mod apps;
pub mod browser;
pub mod entities;
pub mod faults;
pub mod pg_instance;

pub use batteries::orm::testing;

/// Runs `body(&TestDb)` on a fresh database of `backend`, then drops the database.
/// Skips (returns) when the backend is optional and unreachable; see
/// [`TestDb::for_test`].
pub async fn run_on<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: std::future::Future<Output = TestDb>,
{
    let Some(db) = TestDb::for_test(backend).await else {
        return;
    };
    let db = body(db).await;
    db.close().await;
}

/// Declares `mod name { sqlite, postgres, mysql }` tests, each running
/// `async fn name(db: &TestDb)` on a fresh database of that backend.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::testing::Backend;

                async fn run(backend: Backend) {
                    $crate::run_on(backend, |db| async move {
                        super::$name(&db).await;
                        db
                    })
                    .await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run(Backend::Postgres).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    run(Backend::MySql).await;
                }
            }
        )*
    };
}

/// Runs each scenario of a battery on every store it has: one `mod` per store, one test
/// per scenario in it. Each scenario is an `async fn` taking what the store's
/// constructor gives (usually two handles on one store's state, as two app instances
/// hold them).
///
/// ```ignore
/// batteries_tests::on_every_store!(
///     [scenario_one, scenario_two];
///     memory: new(memory_stores),
///     redis: open(redis_stores),
///     database: backends(database_stores),
/// );
/// ```
///
/// `module: kind(constructor)`, the constructor a function of the calling module:
/// - `new(f)`: a plain test; `f()` gives the scenario's argument (a store in memory).
/// - `open(f)`: a plain test; `f(test_name).await` gives `Some(argument)`, or `None` to
///   skip (a service such as Redis unreachable outside CI; see [`redis_pair`]).
/// - `backends(f)`: one test per backend, as [`backend_tests!`]; `f(&db).await` gives
///   the argument on a fresh database of that backend.
#[macro_export]
macro_rules! on_every_store {
    (@new $module:ident $make:ident [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::$make()).await;
                }
            )*
        }
    };
    (@open $module:ident $make:ident [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    if let Some(made) = super::$make(stringify!($scenario)).await {
                        super::$scenario(made).await;
                    }
                }
            )*
        }
    };
    (@backends $module:ident $make:ident [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                async fn $scenario(db: &$crate::testing::TestDb) {
                    super::$scenario(super::$make(db).await).await;
                }
            )*

            $crate::backend_tests!($($scenario),*);
        }
    };
    ($scenarios:tt; $($module:ident: $kind:ident($make:ident)),+ $(,)?) => {
        $( $crate::on_every_store!(@$kind $module $make $scenarios); )+
    };
}

/// Creates the table of `entity` (with its foreign keys) in `db`.
///
/// # Errors
/// When the database refuses the statement.
pub async fn create_table<E: EntityTrait>(
    db: &impl ConnectionTrait,
    entity: E,
) -> Result<(), DbErr> {
    let schema = Schema::new(db.get_database_backend());
    db.execute(&schema.create_table_from_entity(entity)).await?;
    for index in schema.create_index_from_entity(entity) {
        db.execute(&index).await?;
    }
    Ok(())
}

/// Creates the blog tables (author, post, tag).
///
/// # Errors
/// When the database refuses a statement.
pub async fn create_blog_tables(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    create_table(db, entities::author::Entity).await?;
    create_table(db, entities::post::Entity).await?;
    create_table(db, entities::tag::Entity).await?;
    if db.get_database_backend() == sea_orm::DbBackend::MySql {
        // SeaORM maps `DateTimeUtc` to MySQL's `TIMESTAMP`, which drops fractions of a
        // second; Django's tables use `DATETIME(6)`.
        db.execute_unprepared("ALTER TABLE blog_post MODIFY created DATETIME(6) NOT NULL")
            .await?;
    }
    Ok(())
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The Django fixture produced by `tests/django/make_fixture.py`.
pub fn django_fixture_path() -> PathBuf {
    workspace_root().join("tests/data/django_blog.json")
}

/// What the Django side of the tests imports (tests/django/requirements.txt).
const DJANGO_IMPORTS: &str = "import django, argon2, bcrypt, psycopg, pymysql, jwt, cryptography";

/// A Python interpreter with Django installed: `BATTERIES_PYTHON`, else the venv in
/// `~/.cache/batteries/venv`, created on first use (`python3 -m venv` + `pip install -r
/// tests/django/requirements.txt`). `None` (after saying why) when that is impossible
/// outside CI.
///
/// # Panics
/// Under CI, when no interpreter with Django can be had: the test must fail.
pub fn django_python() -> Option<PathBuf> {
    // Found once per test process: each check starts a Python interpreter.
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND.get_or_init(find_django_python).clone()
}

fn find_django_python() -> Option<PathBuf> {
    let python = if let Some(p) = std::env::var_os("BATTERIES_PYTHON") {
        PathBuf::from(p)
    } else {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        let venv = home.join(".cache/batteries/venv");
        let python = venv.join("bin/python");
        if let Err(e) = ensure_venv(&venv, &python) {
            return unavailable(&format!("cannot prepare the Django venv: {e}"));
        }
        python
    };
    let ok = Command::new(&python)
        .args(["-c", DJANGO_IMPORTS])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        unavailable(&format!(
            "{} cannot `{DJANGO_IMPORTS}`; install tests/django/requirements.txt",
            python.display()
        ))
    }
}

fn unavailable(why: &str) -> Option<PathBuf> {
    assert!(!under_ci(), "Django is required under CI: {why}");
    eprintln!("skipping the Django interop check: {why}");
    None
}

/// Creates the venv once, under a file lock so parallel tests wait for one install.
fn ensure_venv(venv: &Path, python: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(venv.parent().unwrap_or(venv))?;
    let lock = std::fs::File::create(venv.with_extension("lock"))?;
    lock.lock()?;
    let ready = Command::new(python)
        .args(["-c", DJANGO_IMPORTS])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let run = |cmd: &mut Command| -> std::io::Result<()> {
            let status = cmd.status()?;
            if status.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(format!("{cmd:?} failed: {status}")))
            }
        };
        if !python.exists() {
            run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
        }
        run(Command::new(python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(workspace_root().join("tests/django/requirements.txt")))?;
    }
    lock.unlock()
}

/// Whether the tests run under CI, where a missing service is a failure.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The Redis URL of the tests: `BATTERIES_TEST_REDIS_URL`, default
/// `redis://127.0.0.1:6379/`. Whether Redis answers there is [`redis_url`]'s question.
pub fn redis_test_url() -> String {
    std::env::var("BATTERIES_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// A connection to the tests' Redis ([`redis_test_url`]) that answered a `PING`; `None`
/// (after saying why) outside CI when Redis does not answer.
///
/// # Panics
/// Under CI, when Redis does not answer.
pub async fn redis_connection() -> Option<redis::aio::MultiplexedConnection> {
    let url = redis_test_url();
    let connect = async {
        let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(conn)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(e)) => skip_or_fail(&url, &e),
        Err(_elapsed) => skip_or_fail(&url, "timed out"),
    }
}

/// The Redis URL for tests ([`redis_test_url`]) if Redis answers a `PING`; `None` (after
/// saying why) outside CI when it does not.
///
/// # Panics
/// Under CI, when Redis does not answer.
pub async fn redis_url() -> Option<String> {
    redis_connection().await.map(|_| redis_test_url())
}

/// Two handles on one Redis store, as two app instances sharing Redis hold them, both
/// under a key prefix of `test`'s own ([`unique_prefix`]), and that prefix. `open(url,
/// prefix)` opens one handle (each given 5 seconds). `None` (after saying why) outside CI
/// when Redis does not answer.
///
/// # Panics
/// Under CI, when Redis does not answer.
pub async fn redis_pair<S, E, F, Fut>(test: &str, open: F) -> Option<(S, S, String)>
where
    F: Fn(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<S, E>>,
    E: std::fmt::Display,
{
    let url = redis_test_url();
    let prefix = unique_prefix(test);
    let connect = || async {
        let opening = open(url.clone(), prefix.clone());
        match tokio::time::timeout(std::time::Duration::from_secs(5), opening).await {
            Ok(Ok(store)) => Ok(store),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_elapsed) => Err("timed out connecting".to_owned()),
        }
    };
    match (connect().await, connect().await) {
        (Ok(a), Ok(b)) => Some((a, b, prefix)),
        (Err(e), _) | (_, Err(e)) => skip_or_fail(&url, &e),
    }
}

fn skip_or_fail<T>(url: &str, why: &str) -> Option<T> {
    let url = batteries::orm::db::redact_url(url);
    assert!(!under_ci(), "Redis at {url} is required under CI: {why}");
    eprintln!("skipping Redis at {url}: {why} (set CI=1 to make this fatal)");
    None
}

/// A key prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("batteries-test:{}:{nanos}:{test}:", std::process::id())
}

/// The URL of a fresh SQLite file for `test`, for what must outlive one connection
/// (another process, or an app whose connection may be dropped) where the in-memory
/// test database cannot serve.
///
/// # Panics
/// If the temporary directory cannot be created.
pub fn sqlite_file_url(test: &str) -> String {
    let dir = std::env::temp_dir().join(unique_prefix(test).replace(':', "-"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite://{}?mode=rwc", dir.join("db.sqlite3").display())
}
