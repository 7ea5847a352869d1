//! `get_or_create` and `update_or_create`, safe under concurrency.
//!
//! Like Django's, they look a row up by a few columns (which should be covered by a
//! unique constraint) and create it when it is missing. When two tasks race, both may
//! miss the row and both try to insert; the database's unique constraint refuses the
//! second insert, and that task looks again and returns the row the first one made.
//! The insert runs in its own transaction (a savepoint when `db` is already a
//! transaction), so a refused insert never aborts the caller's transaction.
//!
//! A deadlock or serialization failure (SQLSTATE `40001` / `40P01`) is retried too,
//! after a short random pause so that the tasks that collided do not collide again.
//! `update_or_create` avoids the usual MySQL/MariaDB deadlock altogether: its locking
//! lookup of a missing row takes a gap lock, so it releases that lock before inserting
//! instead of inserting while other tasks hold the same gap. Called inside your own
//! transaction on MySQL/MariaDB the gap lock lasts until your transaction ends (InnoDB
//! keeps a savepoint's locks), and a deadlock there rolls back your whole transaction:
//! the call then returns the error for you to retry the transaction.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! # use sea_orm::{entity::prelude::*, ConnectionTrait, Schema, Set};
//! # mod tag {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//! #     #[sea_orm(table_name = "tag")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         #[sea_orm(unique)]
//! #         pub slug: String,
//! #         pub label: String,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! # let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! # db.execute(&Schema::new(db.get_database_backend()).create_table_from_entity(tag::Entity)).await?;
//! use batteries_orm::create::{get_or_create, update_or_create};
//!
//! let defaults = tag::ActiveModel { label: Set("Rust".into()), ..Default::default() };
//! let (tag, created) = get_or_create(&db, [(tag::Column::Slug, "rust".into())], defaults.clone()).await?;
//! assert!(created);
//! let (again, created) = get_or_create(&db, [(tag::Column::Slug, "rust".into())], defaults).await?;
//! assert!(!created);
//! assert_eq!(tag.id, again.id);
//!
//! let defaults = tag::ActiveModel { label: Set("The Rust language".into()), ..Default::default() };
//! let (tag, created) = update_or_create(&db, [(tag::Column::Slug, "rust".into())], defaults).await?;
//! assert!(!created);
//! assert_eq!(tag.label, "The Rust language");
//! # Ok(()) }
//! ```

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue, ColumnTrait, Condition, ConnectionTrait,
    DbErr, EntityTrait, IdenStatic, IntoActiveModel, Iterable, QueryFilter, QuerySelect,
    RuntimeErr, SqlErr, TransactionSession, TransactionTrait, Value,
};

use crate::error::{Error, Result};
use crate::value::set_column;

/// How many times a task retries after losing an insert race.
const MAX_ATTEMPTS: u32 = 10;

/// The longest pause before a retry after a deadlock, in milliseconds.
const MAX_PAUSE_MS: u64 = 100;

type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;
type ColumnOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Column;

fn lookup_condition<C: ColumnTrait>(lookup: &[(C, Value)]) -> Condition {
    lookup
        .iter()
        .fold(Condition::all(), |cond, (c, v)| cond.add(c.eq(v.clone())))
}

fn with_lookup<A: ActiveModelTrait>(mut model: A, lookup: &[(ColumnOf<A>, Value)]) -> Result<A> {
    for (column, value) in lookup {
        set_column(&mut model, *column, value.clone()).map_err(|e| {
            Error::Db(DbErr::Type(format!(
                "lookup column `{}`: {e}",
                column.as_str()
            )))
        })?;
    }
    Ok(model)
}

/// Whether the statement lost a race: a unique violation (another task inserted the
/// row first), or a [deadlock](is_deadlock).
fn lost_race(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) || is_deadlock(err)
}

/// Whether the database gave up on the transaction to break a deadlock or a
/// serialization conflict (SQLSTATE 40001, which MySQL/MariaDB also use for their
/// error 1213, or PostgreSQL's 40P01).
fn is_deadlock(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(sea_orm::sqlx::error::DatabaseError::code)
            .is_some_and(|code| code == "40001" || code == "40P01"),
        _ => false,
    }
}

/// Before attempt number `attempt` (from 1): after a deadlock, sleeps a random time up
/// to an exponentially growing bound (2, 4, 8 ... [`MAX_PAUSE_MS`] ms), so the tasks that
/// deadlocked one another come back one at a time. A unique violation is retried at
/// once: the next lookup finds the winner's row.
async fn pause_before(attempt: u32, last: Option<&DbErr>) {
    if last.is_some_and(is_deadlock) {
        let bound = (1_u64 << attempt.min(16)).min(MAX_PAUSE_MS);
        let ms = rand::random_range(1..=bound);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

/// Rolls `txn` back after `lost` so the caller can try again, and hands `lost` back.
///
/// When the rollback itself fails after a deadlock, the database has already rolled
/// back more than `txn` (MySQL/MariaDB end the whole outer transaction, taking the
/// savepoint with them): retrying inside it is impossible, so the deadlock is the
/// error, which tells the caller to retry their own transaction.
async fn roll_back_for_retry<T: TransactionSession>(txn: T, lost: DbErr) -> Result<DbErr> {
    match txn.rollback().await {
        Ok(()) => Ok(lost),
        Err(_) if is_deadlock(&lost) => Err(lost.into()),
        Err(e) => Err(e.into()),
    }
}

/// Inserts `model` in `txn` and commits: `Ok(Ok(row))`, or `Ok(Err(e))` after rolling
/// back when the insert lost a race (the caller looks again).
async fn insert_in<A, T>(txn: T, model: A) -> Result<Result<ModelOf<A>, DbErr>>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A>,
    T: ConnectionTrait + TransactionSession,
{
    match model.insert(&txn).await {
        Ok(row) => {
            txn.commit().await?;
            Ok(Ok(row))
        }
        Err(e) if lost_race(&e) => Ok(Err(roll_back_for_retry(txn, e).await?)),
        Err(e) => Err(e.into()),
    }
}

/// Returns the row matching `lookup`, creating it from `defaults` plus the lookup
/// values when there is none. The boolean is `true` when the row was created.
///
/// # Errors
/// [`Error::Db`] when a query fails, or when inserts keep failing on a unique
/// constraint that `lookup` does not cover.
pub async fn get_or_create<A, C>(
    db: &C,
    lookup: impl IntoIterator<Item = (ColumnOf<A>, Value)>,
    defaults: A,
) -> Result<(ModelOf<A>, bool)>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A>,
    C: ConnectionTrait + TransactionTrait,
{
    let lookup: Vec<_> = lookup.into_iter().collect();
    let mut last = None;
    for attempt in 0..MAX_ATTEMPTS {
        pause_before(attempt, last.as_ref()).await;
        if let Some(found) = A::Entity::find()
            .filter(lookup_condition(&lookup))
            .one(db)
            .await?
        {
            return Ok((found, false));
        }
        let txn = db.begin().await?;
        match insert_in(txn, with_lookup(defaults.clone(), &lookup)?).await? {
            Ok(model) => return Ok((model, true)),
            Err(conflict) => last = Some(conflict),
        }
    }
    Err(last.map_or_else(|| Error::Db(DbErr::RecordNotInserted), Error::Db))
}

/// Updates the row matching `lookup` with the fields set in `defaults`, or creates it
/// from `defaults` plus the lookup values. The boolean is `true` when the row was
/// created. The row is locked (`SELECT ... FOR UPDATE` where supported) while it is
/// updated, so concurrent updates apply one after the other. When there is no row, the
/// locking lookup's transaction ends before the insert starts (see the
/// [module docs](self) for why).
///
/// # Errors
/// As [`get_or_create`].
pub async fn update_or_create<A, C>(
    db: &C,
    lookup: impl IntoIterator<Item = (ColumnOf<A>, Value)>,
    defaults: A,
) -> Result<(ModelOf<A>, bool)>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A>,
    C: ConnectionTrait + TransactionTrait,
{
    let lookup: Vec<_> = lookup.into_iter().collect();
    let mut last = None;
    for attempt in 0..MAX_ATTEMPTS {
        pause_before(attempt, last.as_ref()).await;
        let txn = db.begin().await?;
        let mut select = A::Entity::find().filter(lookup_condition(&lookup));
        if txn.get_database_backend() != sea_orm::DbBackend::Sqlite {
            select = select.lock_exclusive();
        }
        let found = match select.one(&txn).await {
            Ok(found) => found,
            Err(e) if lost_race(&e) => {
                last = Some(roll_back_for_retry(txn, e).await?);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(found) = found {
            let mut model = found.into_active_model();
            for column in ColumnOf::<A>::iter() {
                if let ActiveValue::Set(value) = defaults.get(column) {
                    model.set(column, value);
                }
            }
            // The database may still pick this transaction as a deadlock victim (say a
            // caller's own transaction holds other locks): start over like any other
            // lost race.
            match model.update(&txn).await {
                Ok(updated) => {
                    txn.commit().await?;
                    return Ok((updated, false));
                }
                Err(e) if lost_race(&e) => {
                    last = Some(roll_back_for_retry(txn, e).await?);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        // No row: on MySQL/MariaDB the lookup above locked the empty gap where it would
        // go, and every racing task holds the same gap lock. Inserting while holding it
        // waits for the others' gap locks while they wait for ours: a deadlock. So end
        // this transaction first and insert in a new one; a racing insert then makes
        // ours a unique violation, and the next attempt updates the winner's row.
        txn.rollback().await?;
        match insert_in(db.begin().await?, with_lookup(defaults.clone(), &lookup)?).await? {
            Ok(model) => return Ok((model, true)),
            Err(conflict) => last = Some(conflict),
        }
    }
    Err(last.map_or_else(|| Error::Db(DbErr::RecordNotInserted), Error::Db))
}
