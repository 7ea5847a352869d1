//! [`DatabaseRefreshStore`]: refresh tokens in the `batteries_jwt_refresh` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, TransactionTrait,
};

use super::entity::{ActiveModel, Column, Entity};
use super::{Consumed, JwtError, RefreshRecord, RefreshStore};

/// A [`RefreshStore`] in the database, table `batteries_jwt_refresh` (created by
/// [`migration()`](crate::migration)): app instances sharing the database share the
/// refresh tokens.
///
/// Consuming a token is one conditional statement, `UPDATE ... SET used_at = ? WHERE
/// jti = ? AND used_at IS NULL AND revoked = false`, whose affected-row count says
/// whether this caller won: of any number of instances presenting one token at once,
/// exactly one does. A rotation runs it and the insert of the successor in one
/// transaction. Revoking marks the family's rows; a token inserted into a family
/// that has a revoked row is marked revoked too. Run
/// [`clear_expired`](RefreshStore::clear_expired) from a periodic job.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use batteries_jwt::{DatabaseRefreshStore, Jwt, JwtConfig, JwtKey, KeySet};
/// use sea_orm_migration::{MigrationTrait, SchemaManager};
///
/// let db = batteries_orm::db::connect("sqlite::memory:").await?;
/// batteries_jwt::migration().up(&SchemaManager::new(&db)).await?;
///
/// let keys = KeySet::new().with_key(JwtKey::generate_ed25519("k1")?);
/// let jwt = Jwt::new(keys, JwtConfig::new("https://example.com", "api"), DatabaseRefreshStore::new(db))?
///     .without_user_check();
/// let pair = jwt.issue_pair("42").await?;
/// let next = jwt.refresh(&pair.refresh_token).await?;
/// assert_eq!(jwt.verify_access(&next.access_token)?.sub, "42");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DatabaseRefreshStore {
    db: DatabaseConnection,
}

impl DatabaseRefreshStore {
    /// A store on `db`, whose schema has `batteries_jwt_refresh`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

async fn family_revoked(db: &impl ConnectionTrait, family: &str) -> Result<bool, JwtError> {
    let revoked = Entity::find()
        .filter(Column::Family.eq(family))
        .filter(Column::Revoked.eq(true))
        .count(db)
        .await
        .or_store()?;
    Ok(revoked > 0)
}

async fn insert_row(db: &impl ConnectionTrait, record: &RefreshRecord) -> Result<(), JwtError> {
    let row = ActiveModel {
        jti: Set(record.jti.clone()),
        family: Set(record.family.clone()),
        subject: Set(record.subject.clone()),
        expires_at: Set(record.expires_at.timestamp_millis()),
        used_at: Set(None),
        revoked: Set(false),
    };
    Entity::insert(row)
        .exec_without_returning(db)
        .await
        .or_store()?;
    Ok(())
}

/// A revocation that ran while `record` was being issued did not see its row: inherit
/// it. Runs after the row is committed, outside any transaction, so that it sees every
/// revocation committed before. (Consuming also checks the whole family.)
async fn inherit_revocation(
    db: &impl ConnectionTrait,
    record: &RefreshRecord,
) -> Result<(), JwtError> {
    if family_revoked(db, &record.family).await? {
        Entity::update_many()
            .col_expr(Column::Revoked, Expr::value(true))
            .filter(Column::Jti.eq(record.jti.as_str()))
            .exec(db)
            .await
            .or_store()?;
    }
    Ok(())
}

async fn consume(
    db: &impl ConnectionTrait,
    jti: &str,
    now: DateTime<Utc>,
) -> Result<Consumed, JwtError> {
    let won = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now.timestamp_millis()))
        .filter(Column::Jti.eq(jti))
        .filter(Column::UsedAt.is_null())
        .filter(Column::Revoked.eq(false))
        .exec(db)
        .await
        .or_store()?
        .rows_affected
        == 1;
    let Some(row) = Entity::find_by_id(jti.to_owned())
        .one(db)
        .await
        .or_store()?
    else {
        return Ok(Consumed::Unknown);
    };
    if won {
        // The update claimed an unrevoked token: this caller won, even if a
        // concurrent replay revokes the family right after (its successor will
        // inherit the revocation when inserted).
        return Ok(Consumed::Fresh {
            family: row.family,
            subject: row.subject,
        });
    }
    if row.revoked || family_revoked(db, &row.family).await? {
        return Ok(Consumed::FamilyRevoked);
    }
    Ok(Consumed::AlreadyUsed {
        family: row.family,
        used_at: row.used_at.and_then(DateTime::from_timestamp_millis),
    })
}

/// Database errors as [`JwtError::Store`].
trait OrStore<T> {
    fn or_store(self) -> Result<T, JwtError>;
}

impl<T> OrStore<T> for Result<T, DbErr> {
    fn or_store(self) -> Result<T, JwtError> {
        self.map_err(|e| JwtError::Store(e.to_string()))
    }
}

#[async_trait]
impl RefreshStore for DatabaseRefreshStore {
    async fn insert(&self, record: &RefreshRecord, _now: DateTime<Utc>) -> Result<(), JwtError> {
        insert_row(&self.db, record).await?;
        inherit_revocation(&self.db, record).await
    }

    async fn consume(&self, jti: &str, now: DateTime<Utc>) -> Result<Consumed, JwtError> {
        consume(&self.db, jti, now).await
    }

    /// One transaction: the conditional update consuming `jti`, then the insert of
    /// `successor`; a failure rolls both back. The successor then inherits a
    /// revocation of its family, as [`insert`](RefreshStore::insert) does.
    async fn rotate(
        &self,
        jti: &str,
        successor: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<Consumed, JwtError> {
        let txn = self.db.begin().await.or_store()?;
        let consumed = consume(&txn, jti, now).await?;
        if consumed.is_fresh_for(successor) {
            insert_row(&txn, successor).await?;
            txn.commit().await.or_store()?;
            inherit_revocation(&self.db, successor).await?;
        } else {
            txn.commit().await.or_store()?;
        }
        Ok(consumed)
    }

    async fn revoke_family(&self, family: &str) -> Result<(), JwtError> {
        Entity::update_many()
            .col_expr(Column::Revoked, Expr::value(true))
            .filter(Column::Family.eq(family))
            .exec(&self.db)
            .await
            .or_store()?;
        Ok(())
    }

    async fn revoke_subject(&self, subject: &str) -> Result<(), JwtError> {
        Entity::update_many()
            .col_expr(Column::Revoked, Expr::value(true))
            .filter(Column::Subject.eq(subject))
            .exec(&self.db)
            .await
            .or_store()?;
        Ok(())
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, JwtError> {
        let deleted = Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now.timestamp_millis()))
            .exec(&self.db)
            .await
            .or_store()?;
        Ok(deleted.rows_affected)
    }
}
