//! A many-to-many field with its types erased ([`M2mField`]), as the rest of the site
//! reads and writes it: the join entity's queries, SeaORM only.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use batteries_orm::value::set_column;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, FromQueryResult, Iterable, ModelTrait, PaginatorTrait, PrimaryKeyToColumn,
    QueryFilter, QueryOrder, QuerySelect, Value,
};

use super::ModelInfo;
use super::field::{Field, label_of, pk_string};

/// The most ids one many-to-many field may be set to in one request (form or API). More
/// is refused with a 400 naming the limit, before any query: a list that long is not a
/// person's choice, and each id costs a bound parameter (backends cap them).
pub const MAX_M2M_IDS: usize = 1000;

/// The error for a list of `n` ids, past [`MAX_M2M_IDS`].
pub(crate) fn too_many_ids(n: usize) -> String {
    format!("Ensure this list has at most {MAX_M2M_IDS} items (it has {n}).")
}

pub(crate) type TargetDisplay<M> = Arc<dyn Fn(&M) -> String + Send + Sync>;

/// The ids of each many-to-many field to save: `(index in ModelInfo::m2m, values)`.
pub(crate) type M2mSets = Vec<(usize, Vec<Value>)>;

/// What the site knows of a many-to-many field, without its types.
#[derive(Debug, Clone)]
pub(crate) struct M2mMeta {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) help: Option<String>,
    pub(crate) filter_horizontal: bool,
    /// The title of the fieldset it goes in (`None`: the first).
    pub(crate) fieldset: Option<String>,
    /// The target's table (its registered admin names the choices).
    pub(crate) target_table: String,
    /// The field of the model the join's source column points at (usually its pk).
    pub(crate) parent_field: usize,
    /// The target's column the join points at, as a field (parses the ids).
    pub(crate) target_key: Field,
    /// Only superusers may set it ([`ManyToMany::superuser_only`]).
    pub(crate) superuser_only: bool,
}

/// Which targets [`M2mField::own_choices`] names.
#[derive(Debug)]
pub(crate) enum Choices {
    /// Exactly these keys.
    Only(Vec<Value>),
    /// The first `n` by key (a small, fixed cap).
    First(u64),
}

/// A many-to-many field with its types erased.
#[async_trait]
pub(crate) trait M2mField: fmt::Debug + Send + Sync {
    fn meta(&self) -> &M2mMeta;

    /// The targets of each parent (by the parent's key as text), in one query.
    async fn targets(
        &self,
        db: &DatabaseConnection,
        parents: Vec<Value>,
    ) -> Result<HashMap<String, Vec<Value>>, DbErr>;

    /// The first of `ids` (as text) no target row has, in one query.
    async fn missing(
        &self,
        db: &DatabaseConnection,
        ids: &[Value],
    ) -> Result<Option<String>, DbErr>;

    /// `(key, name)` of the targets `only` (all of them), or of the first `limit`
    /// targets, for a target with no registered admin or when this field names them
    /// itself. `None` when the registered admin should.
    async fn own_choices(
        &self,
        db: &DatabaseConnection,
        which: Choices,
        registered: bool,
    ) -> Result<Option<Vec<(String, String)>>, DbErr>;

    /// Makes the targets of `parent` exactly `ids`: deletes the pairs removed, inserts
    /// the pairs added. Whether anything changed.
    async fn set(
        &self,
        txn: &DatabaseTransaction,
        parent: Value,
        ids: &[Value],
    ) -> Result<bool, DbErr>;

    /// Deletes the join rows of these parents.
    async fn clear(&self, txn: &DatabaseTransaction, parents: Vec<Value>) -> Result<u64, DbErr>;

    /// How many join rows these parents have, with the targets of the first few.
    async fn count(
        &self,
        db: &DatabaseConnection,
        parents: Vec<Value>,
        examples: u64,
    ) -> Result<(u64, Vec<Value>), DbErr>;
}

pub(crate) struct Through<J: EntityTrait, T: EntityTrait> {
    pub(crate) meta: M2mMeta,
    pub(crate) source: J::Column,
    pub(crate) target: J::Column,
    pub(crate) target_key: T::Column,
    pub(crate) display: Option<TargetDisplay<T::Model>>,
}

impl<J: EntityTrait, T: EntityTrait> fmt::Debug for Through<J, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManyToMany")
            .field("name", &self.meta.name)
            .field("through", &J::default().table_name())
            .field("target", &self.meta.target_table)
            .finish_non_exhaustive()
    }
}

impl<J: EntityTrait, T: EntityTrait> Through<J, T> {
    fn target_name(&self, model: &T::Model) -> String {
        if let Some(f) = &self.display {
            f(model)
        } else {
            let table = &self.meta.target_table;
            let name = table.split_once('_').map_or(table.as_str(), |(_, m)| m);
            format!(
                "{} object ({})",
                label_of(&name.replace('_', " ")),
                pk_string(&model.get(self.target_key))
            )
        }
    }
}

#[async_trait]
impl<J, T> M2mField for Through<J, T>
where
    J: EntityTrait,
    J::Model: FromQueryResult + Send + Sync,
    J::ActiveModel: ActiveModelTrait<Entity = J> + ActiveModelBehavior + Send + Sync,
    T: EntityTrait,
    T::Model: FromQueryResult + Send + Sync,
{
    fn meta(&self) -> &M2mMeta {
        &self.meta
    }

    async fn targets(
        &self,
        db: &DatabaseConnection,
        parents: Vec<Value>,
    ) -> Result<HashMap<String, Vec<Value>>, DbErr> {
        let mut out: HashMap<String, Vec<Value>> = HashMap::new();
        if parents.is_empty() {
            return Ok(out);
        }
        let rows = J::find()
            .filter(self.source.is_in(parents))
            .order_by_asc(self.target)
            .all(db)
            .await?;
        for row in rows {
            out.entry(pk_string(&row.get(self.source)))
                .or_default()
                .push(row.get(self.target));
        }
        Ok(out)
    }

    async fn missing(
        &self,
        db: &DatabaseConnection,
        ids: &[Value],
    ) -> Result<Option<String>, DbErr> {
        if ids.is_empty() {
            return Ok(None);
        }
        let found: HashSet<String> = T::find()
            .filter(self.target_key.is_in(ids.to_vec()))
            .all(db)
            .await?
            .iter()
            .map(|m| pk_string(&m.get(self.target_key)))
            .collect();
        Ok(ids.iter().map(pk_string).find(|id| !found.contains(id)))
    }

    async fn own_choices(
        &self,
        db: &DatabaseConnection,
        which: Choices,
        registered: bool,
    ) -> Result<Option<Vec<(String, String)>>, DbErr> {
        if registered && self.display.is_none() {
            return Ok(None);
        }
        let select = T::find().order_by_asc(self.target_key);
        // The listed rows need no LIMIT (there are as many as keys); the first `n` do.
        let select = match which {
            Choices::Only(values) if values.is_empty() => return Ok(Some(Vec::new())),
            Choices::Only(values) => select.filter(self.target_key.is_in(values)),
            Choices::First(n) => select.limit(n),
        };
        let rows = select.all(db).await?;
        Ok(Some(
            rows.iter()
                .map(|m| (pk_string(&m.get(self.target_key)), self.target_name(m)))
                .collect(),
        ))
    }

    async fn set(
        &self,
        txn: &DatabaseTransaction,
        parent: Value,
        ids: &[Value],
    ) -> Result<bool, DbErr> {
        let existing: HashMap<String, Value> = J::find()
            .filter(self.source.eq(parent.clone()))
            .all(txn)
            .await?
            .iter()
            .map(|r| {
                let v = r.get(self.target);
                (pk_string(&v), v)
            })
            .collect();
        let wanted: HashSet<String> = ids.iter().map(pk_string).collect();
        let removed: Vec<Value> = existing
            .iter()
            .filter(|(k, _)| !wanted.contains(*k))
            .map(|(_, v)| v.clone())
            .collect();
        let mut seen = HashSet::new();
        let added: Vec<&Value> = ids
            .iter()
            .filter(|v| {
                let k = pk_string(v);
                !existing.contains_key(&k) && seen.insert(k)
            })
            .collect();
        if !removed.is_empty() {
            J::delete_many()
                .filter(self.source.eq(parent.clone()))
                .filter(self.target.is_in(removed.clone()))
                .exec(txn)
                .await?;
        }
        if !added.is_empty() {
            let mut rows = Vec::with_capacity(added.len());
            for value in &added {
                let mut row = <J::ActiveModel as ActiveModelTrait>::default();
                set_column(&mut row, self.source, parent.clone()).map_err(DbErr::Custom)?;
                set_column(&mut row, self.target, (*value).clone()).map_err(DbErr::Custom)?;
                rows.push(row);
            }
            J::insert_many(rows).exec_without_returning(txn).await?;
        }
        Ok(!removed.is_empty() || !added.is_empty())
    }

    async fn clear(&self, txn: &DatabaseTransaction, parents: Vec<Value>) -> Result<u64, DbErr> {
        if parents.is_empty() {
            return Ok(0);
        }
        Ok(J::delete_many()
            .filter(self.source.is_in(parents))
            .exec(txn)
            .await?
            .rows_affected)
    }

    async fn count(
        &self,
        db: &DatabaseConnection,
        parents: Vec<Value>,
        examples: u64,
    ) -> Result<(u64, Vec<Value>), DbErr> {
        if parents.is_empty() {
            return Ok((0, Vec::new()));
        }
        let select = J::find().filter(self.source.is_in(parents));
        let n = select.clone().count(db).await?;
        if n == 0 {
            return Ok((0, Vec::new()));
        }
        let pk = J::PrimaryKey::iter()
            .next()
            .map(PrimaryKeyToColumn::into_column);
        let mut first = select;
        if let Some(pk) = pk {
            first = first.order_by_asc(pk);
        }
        let rows = first.limit(examples).all(db).await?;
        Ok((n, rows.iter().map(|r| r.get(self.target)).collect()))
    }
}

/// Deletes the join rows of `parents` (rows of the model `info` describes), before
/// they are deleted themselves.
pub(crate) async fn clear(
    txn: &DatabaseTransaction,
    info: &ModelInfo,
    parents: &[Vec<Value>],
) -> Result<(), DbErr> {
    for m in &info.m2m {
        let values = parents
            .iter()
            .map(|v| v[m.meta().parent_field].clone())
            .collect();
        m.clear(txn, values).await?;
    }
    Ok(())
}
