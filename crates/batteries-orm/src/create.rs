//! `get_or_create` and `update_or_create`, safe under concurrency.
//!
//! Like Django's, they look a row up by a few columns (which should be covered by a
//! unique constraint) and create it when it is missing. When two tasks race, both may
//! miss the row and both try to insert; the database's unique constraint refuses the
//! second insert, and that task looks again and returns the row the first one made.
//! The insert runs in its own transaction (a savepoint when `db` is already a
//! transaction), so a refused insert never aborts the caller's transaction.
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
const MAX_ATTEMPTS: usize = 10;

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

/// Whether the insert lost a race: a unique violation, or a deadlock or serialization
/// failure (SQLSTATE 40001 / 40P01), which InnoDB's gap locks produce when concurrent
/// `SELECT ... FOR UPDATE` find no row and then insert.
fn lost_race(err: &DbErr) -> bool {
    if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return true;
    }
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(sea_orm::sqlx::error::DatabaseError::code)
            .is_some_and(|code| code == "40001" || code == "40P01"),
        _ => false,
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
        Err(e) if lost_race(&e) => {
            txn.rollback().await?;
            Ok(Err(e))
        }
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
    for _ in 0..MAX_ATTEMPTS {
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
/// updated, so concurrent updates apply one after the other.
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
    for _ in 0..MAX_ATTEMPTS {
        let txn = db.begin().await?;
        let mut select = A::Entity::find().filter(lookup_condition(&lookup));
        if txn.get_database_backend() != sea_orm::DbBackend::Sqlite {
            select = select.lock_exclusive();
        }
        let found = match select.one(&txn).await {
            Ok(found) => found,
            Err(e) if lost_race(&e) => {
                txn.rollback().await?;
                last = Some(e);
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
            // MySQL may pick this transaction as a deadlock victim here too (gap locks
            // taken by racing inserts): start over like any other lost race.
            match model.update(&txn).await {
                Ok(updated) => {
                    txn.commit().await?;
                    return Ok((updated, false));
                }
                Err(e) if lost_race(&e) => {
                    txn.rollback().await?;
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        match insert_in(txn, with_lookup(defaults.clone(), &lookup)?).await? {
            Ok(model) => return Ok((model, true)),
            Err(conflict) => last = Some(conflict),
        }
    }
    Err(last.map_or_else(|| Error::Db(DbErr::RecordNotInserted), Error::Db))
}
