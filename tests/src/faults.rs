//! Fault injection for the fault tests (issue 17): a session store that can be made to
//! fail on demand, and SQL that breaks a real table or fails its inserts, on SQLite,
//! PostgreSQL and MariaDB.
//!
//! Where the store is a database, the tests break the real table, so the error is the
//! driver's own; [`FaultySessionStore`] is for the stores that cannot be broken from
//! outside without stopping a shared server (memory, the machine's Redis). Stopping a
//! server for real is what the outage tests do with servers of their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use batteries::auth::sessions::{SessionError, SessionRecord, SessionStore};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

/// A session store that answers every call with a store error while its switch is on,
/// and passes calls to the store it wraps otherwise.
#[derive(Debug, Clone)]
pub struct FaultySessionStore {
    inner: Arc<dyn SessionStore>,
    failing: Arc<AtomicBool>,
}

impl FaultySessionStore {
    /// Wraps `inner`; the switch starts off.
    pub fn new(inner: Arc<dyn SessionStore>) -> Self {
        Self {
            inner,
            failing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The switch: `true` makes every call fail.
    pub fn switch(&self) -> Arc<AtomicBool> {
        self.failing.clone()
    }

    fn check(&self) -> Result<(), SessionError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(SessionError::Store(
                "injected fault: connection refused".into(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SessionStore for FaultySessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        self.check()?;
        self.inner.load(key).await
    }

    async fn create(&self, record: &SessionRecord) -> Result<String, SessionError> {
        self.check()?;
        self.inner.create(record).await
    }

    async fn save(&self, key: &str, record: &SessionRecord) -> Result<String, SessionError> {
        self.check()?;
        self.inner.save(key, record).await
    }

    async fn delete(&self, key: &str) -> Result<(), SessionError> {
        self.check()?;
        self.inner.delete(key).await
    }

    async fn clear_expired(&self) -> Result<u64, SessionError> {
        self.check()?;
        self.inner.clear_expired().await
    }
}

/// Renames `table` to `to` (and back, with the names swapped): every query on the table
/// then fails with the database's own "no such table" error.
///
/// # Panics
/// The statement failed (a test helper).
pub async fn rename_table(db: &DatabaseConnection, table: &str, to: &str) {
    let sql = match db.get_database_backend() {
        DbBackend::MySql => format!("RENAME TABLE `{table}` TO `{to}`"),
        _ => format!("ALTER TABLE \"{table}\" RENAME TO \"{to}\""),
    };
    db.execute_unprepared(&sql).await.expect("rename the table");
}

/// The name of the trigger [`fail_inserts`] creates.
const TRIGGER: &str = "batteries_test_fail_insert";

/// Makes every `INSERT` into `table` fail with a database error (a trigger), until
/// [`allow_inserts`].
///
/// # Panics
/// The statements failed (a test helper).
pub async fn fail_inserts(db: &DatabaseConnection, table: &str) {
    let statements = match db.get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected fault: insert refused'; END $$ LANGUAGE plpgsql"
            ),
            format!(
                "CREATE TRIGGER {TRIGGER} BEFORE INSERT ON \"{table}\" \
                 FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
            ),
        ],
        DbBackend::MySql => vec![format!(
            "CREATE TRIGGER {TRIGGER} BEFORE INSERT ON `{table}` FOR EACH ROW \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault: insert refused'"
        )],
        _ => vec![format!(
            "CREATE TRIGGER {TRIGGER} BEFORE INSERT ON \"{table}\" \
             BEGIN SELECT RAISE(ABORT, 'injected fault: insert refused'); END"
        )],
    };
    for sql in statements {
        db.execute_unprepared(&sql)
            .await
            .expect("create the trigger");
    }
}

/// Undoes [`fail_inserts`].
///
/// # Panics
/// The statement failed (a test helper).
pub async fn allow_inserts(db: &DatabaseConnection, table: &str) {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!("DROP TRIGGER {TRIGGER} ON \"{table}\""),
        _ => format!("DROP TRIGGER {TRIGGER}"),
    };
    db.execute_unprepared(&sql).await.expect("drop the trigger");
}
