//! [`DatabaseSessionStore`]: sessions in the `batteries_session` table.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr,
};
use serde_json::{Map, Value};

use crate::entity::{ActiveModel, Column, Entity};
use crate::store::{
    SessionError, SessionRecord, SessionStore, is_valid_session_key, new_session_key,
};
use batteries_core::{Clock, SystemClock};

/// How many fresh keys [`SessionStore::create`] tries before giving up. With 165 bits
/// per key a second try is already a miracle; more than one means something else is
/// wrong.
const MAX_CREATE_TRIES: usize = 10;

/// Sessions in the database, table `batteries_session` (created by
/// [`migration()`](crate::migration)), with the columns of Django's `django_session`:
/// `session_key`, `session_data` (the data as a JSON object) and `expire_date`. App
/// instances sharing the database share the sessions.
///
/// Expired rows are never loaded; [`clear_expired`](SessionStore::clear_expired)
/// (Django's `clearsessions`) deletes them, and should run from a periodic job. Expiry
/// times are kept to the millisecond.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use batteries_sessions::{DatabaseSessionStore, SessionRecord, SessionStore};
/// use sea_orm_migration::{MigrationTrait, SchemaManager};
///
/// let db = batteries_orm::db::connect("sqlite::memory:").await?;
/// batteries_sessions::migration().up(&SchemaManager::new(&db)).await?;
/// let store = DatabaseSessionStore::new(db);
///
/// let mut data = serde_json::Map::new();
/// data.insert("_auth_user_id".into(), "42".into());
/// let expires_at = chrono::Utc::now() + chrono::Duration::weeks(2);
/// let key = store.create(&SessionRecord { data, expires_at }).await?;
/// let loaded = store.load(&key).await?.expect("a live session");
/// assert_eq!(loaded.data["_auth_user_id"], "42");
///
/// store.delete(&key).await?;
/// assert!(store.load(&key).await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DatabaseSessionStore {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DatabaseSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSessionStore")
            .finish_non_exhaustive()
    }
}

impl DatabaseSessionStore {
    /// A store on `db`, whose schema has `batteries_session`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            clock: Arc::new(SystemClock),
        }
    }

    /// Takes the time that decides which sessions have expired from `clock` (a
    /// [`ManualClock`](batteries_core::ManualClock) in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Inserts a row; `Ok(false)` when `key` is taken.
    async fn insert(&self, key: &str, data: &str, expire: DateTime<Utc>) -> Result<bool, DbErr> {
        let row = ActiveModel {
            session_key: Set(key.to_owned()),
            session_data: Set(data.to_owned()),
            expire_date: Set(expire),
        };
        match Entity::insert(row).exec_without_returning(&self.db).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Updates the row of `key`; returns how many rows matched (0 or 1).
    async fn update(&self, key: &str, data: &str, expire: DateTime<Utc>) -> Result<u64, DbErr> {
        let updated = Entity::update_many()
            .col_expr(Column::SessionData, Expr::value(data.to_owned()))
            .col_expr(Column::ExpireDate, Expr::value(expire))
            .filter(Column::SessionKey.eq(key))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected)
    }
}

/// `t` to the millisecond, as every store keeps it (and as MySQL's `datetime(6)` would
/// otherwise round it).
fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

#[async_trait]
impl SessionStore for DatabaseSessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        if !is_valid_session_key(key) {
            return Ok(None);
        }
        let row = Entity::find_by_id(key.to_owned())
            .filter(Column::ExpireDate.gt(self.clock.now()))
            .one(&self.db)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // Like Django, a session whose data cannot be decoded is no session.
        match serde_json::from_str::<Map<String, Value>>(&row.session_data) {
            Ok(data) => Ok(Some(SessionRecord {
                data,
                expires_at: row.expire_date,
            })),
            Err(e) => {
                tracing::warn!("session data in batteries_session is not a JSON object: {e}");
                Ok(None)
            }
        }
    }

    async fn create(&self, record: &SessionRecord) -> Result<String, SessionError> {
        let data = serde_json::to_string(&record.data)?;
        let expire = to_millis(record.expires_at);
        for _ in 0..MAX_CREATE_TRIES {
            let key = new_session_key();
            if self.insert(&key, &data, expire).await? {
                return Ok(key);
            }
        }
        Err(SessionError::Store(format!(
            "{MAX_CREATE_TRIES} new session keys in a row were taken"
        )))
    }

    async fn save(&self, key: &str, record: &SessionRecord) -> Result<String, SessionError> {
        if !is_valid_session_key(key) {
            return self.create(record).await;
        }
        let data = serde_json::to_string(&record.data)?;
        let expire = to_millis(record.expires_at);
        if self.update(key, &data, expire).await? == 0 && !self.insert(key, &data, expire).await? {
            // Another instance inserted the row between our update and our insert: the
            // last write wins, as it would have without the race.
            self.update(key, &data, expire).await?;
        }
        Ok(key.to_owned())
    }

    async fn delete(&self, key: &str) -> Result<(), SessionError> {
        if is_valid_session_key(key) {
            Entity::delete_by_id(key.to_owned()).exec(&self.db).await?;
        }
        Ok(())
    }

    async fn clear_expired(&self) -> Result<u64, SessionError> {
        let deleted = Entity::delete_many()
            .filter(Column::ExpireDate.lte(self.clock.now()))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected)
    }
}
