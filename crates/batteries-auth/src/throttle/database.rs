//! [`DatabaseThrottleStore`]: counters in the `batteries_login_throttle` table.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{Set, Unchanged},
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use super::entity::{ActiveModel, Column, Entity};
use super::record::Record;
use super::{Attempts, Limit, ThrottleError, ThrottleStore};

/// After this many recorded failures a store deletes the expired rows.
const PURGE_EVERY: u64 = 1000;

/// How often a failure is retried when its row vanishes between creating and locking it
/// (a concurrent [`ThrottleStore::clear`] or purge).
const MAX_TRIES: usize = 8;

/// A [`ThrottleStore`] in the database, table `batteries_login_throttle` (created by
/// [`migration()`](super::migration)): app instances sharing the database share the
/// counters.
///
/// Each failure updates its key's row inside a transaction that holds the row's lock
/// (`SELECT ... FOR UPDATE` on PostgreSQL and MySQL, `BEGIN IMMEDIATE` on SQLite), so
/// concurrent failures from any number of instances are all counted. Expired rows are
/// deleted every thousand failures, or by [`purge_expired`](Self::purge_expired).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use batteries_auth::throttle::{self, DatabaseThrottleStore, LoginThrottle};
/// use sea_orm_migration::{MigrationTrait, SchemaManager};
///
/// let db = batteries_orm::db::connect("sqlite::memory:").await?;
/// throttle::migration().up(&SchemaManager::new(&db)).await?;
///
/// let throttle = LoginThrottle::new(DatabaseThrottleStore::new(db));
/// throttle.record_failure("alice", None).await?;
/// assert_eq!(throttle.username_attempts("alice").await?.failures, 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DatabaseThrottleStore {
    db: DatabaseConnection,
    failures: AtomicU64,
}

impl DatabaseThrottleStore {
    /// A store on `db`, whose schema has `batteries_login_throttle`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            failures: AtomicU64::new(0),
        }
    }

    /// Deletes the rows that expired by `now`; returns how many. Run it from a periodic
    /// job if failures are too rare for the automatic purge to keep up.
    ///
    /// # Errors
    /// [`ThrottleError::Store`] when the database fails.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, ThrottleError> {
        let deleted = Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now.timestamp_millis()))
            .exec(&self.db)
            .await
            .or_store()?;
        Ok(deleted.rows_affected)
    }

    /// Creates the key's row if it is missing, in a statement of its own: inserting
    /// inside the locking transaction would let MySQL deadlock two racing inserts.
    async fn create_row(&self, key: &str, now: i64, limit: &Limit) -> Result<(), DbErr> {
        let placeholder = ActiveModel {
            throttle_key: Set(key.to_owned()),
            failures: Set(String::new()),
            lockouts: Set(0),
            locked_until: Set(None),
            expires_at: Set(now.saturating_add(limit.window_ms())),
        };
        Entity::insert(placeholder)
            .on_conflict_do_nothing()
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// One try: lock the row, update it, commit. `None` when the row does not exist.
    async fn fail_locked(
        &self,
        key: &str,
        now: i64,
        limit: &Limit,
    ) -> Result<Option<Record>, ThrottleError> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
            .or_store()?;
        let row = Entity::find_by_id(key.to_owned())
            .lock_exclusive()
            .one(&txn)
            .await
            .or_store()?;
        let Some(row) = row else {
            txn.rollback().await.or_store()?;
            return Ok(None);
        };
        let mut record =
            Record::decode(&row.failures, row.lockouts.into(), row.locked_until)?.live(now, limit);
        record.fail(now, limit);
        let update = ActiveModel {
            throttle_key: Unchanged(row.throttle_key),
            failures: Set(record.encode_failures()),
            lockouts: Set(i32::try_from(record.lockouts).unwrap_or(i32::MAX)),
            locked_until: Set(record.locked_until),
            expires_at: Set(record.expires_at(limit).unwrap_or(now)),
        };
        Entity::update(update).exec(&txn).await.or_store()?;
        txn.commit().await.or_store()?;
        Ok(Some(record))
    }

    async fn purge_now_and_then(&self, now: DateTime<Utc>) {
        if self.failures.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
            && let Err(e) = self.purge_expired(now).await
        {
            tracing::warn!("purging expired login throttle rows failed: {e}");
        }
    }
}

/// Database errors as [`ThrottleError::Store`].
trait OrStore<T> {
    fn or_store(self) -> Result<T, ThrottleError>;
}

impl<T> OrStore<T> for Result<T, DbErr> {
    fn or_store(self) -> Result<T, ThrottleError> {
        self.map_err(|e| ThrottleError::Store(e.to_string()))
    }
}

#[async_trait]
impl ThrottleStore for DatabaseThrottleStore {
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        let at = now.timestamp_millis();
        for _ in 0..MAX_TRIES {
            if let Some(record) = self.fail_locked(key, at, limit).await? {
                self.purge_now_and_then(now).await;
                return Ok(record.attempts());
            }
            self.create_row(key, at, limit).await.or_store()?;
        }
        Err(ThrottleError::Store(format!(
            "the throttle row vanished {MAX_TRIES} times while being created"
        )))
    }

    async fn attempts(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: &Limit,
    ) -> Result<Attempts, ThrottleError> {
        let row = Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await
            .or_store()?;
        let Some(row) = row else {
            return Ok(Attempts::default());
        };
        let record = Record::decode(&row.failures, row.lockouts.into(), row.locked_until)?;
        Ok(record.live(now.timestamp_millis(), limit).attempts())
    }

    async fn clear(&self, key: &str) -> Result<(), ThrottleError> {
        Entity::delete_by_id(key.to_owned())
            .exec(&self.db)
            .await
            .or_store()?;
        Ok(())
    }
}
