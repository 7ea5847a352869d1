//! Many-to-many fields through a join entity ([`ManyToMany`]): Django's
//! `ManyToManyField` on an admin form (a `<select multiple>`, or the dual-list picker of
//! `filter_horizontal`) and in the JSON API (an array of ids).
//!
//! The join entity is an ordinary SeaORM entity with two `belongs_to` relations, one to
//! the model being edited and one to the target (Django's auto-created `book_tags`
//! table, or batteries-auth's `auth_user_groups`). Saving the form rewrites its rows in
//! the transaction that saves the row: the pairs removed are deleted, the pairs added are
//! inserted, the others are left alone.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use batteries_orm::value::{set_column, to_json};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, ModelTrait, PaginatorTrait,
    PrimaryKeyToColumn, QueryFilter, QueryOrder, QuerySelect, Value,
};
use serde_json::{Map, Value as Json, json};

use crate::field::{Field, label_of, pk_string, truncate};
use crate::model::{ModelInfo, Row};
use crate::site::Inner;

/// The most choices a form lists for one many-to-many field. Past it the form shows the
/// first ones (by the target's primary key) and those already chosen, and says so; the
/// others can still be chosen through the JSON API.
pub(crate) const CHOICES_CAP: u64 = 1000;

/// The most ids one many-to-many field may be set to in one request (form or API). More
/// is refused with a 400 naming the limit, before any query: a list that long is not a
/// person's choice, and each id costs a bound parameter (backends cap them).
pub const MAX_M2M_IDS: usize = 1000;

/// The error for a list of `n` ids, past [`MAX_M2M_IDS`].
pub(crate) fn too_many_ids(n: usize) -> String {
    format!("Ensure this list has at most {MAX_M2M_IDS} items (it has {n}).")
}

type TargetDisplay<M> = Arc<dyn Fn(&M) -> String + Send + Sync>;

/// The ids of each many-to-many field to save: `(index in ModelInfo::m2m, values)`.
pub(crate) type M2mSets = Vec<(usize, Vec<Value>)>;

/// A many-to-many field on a model's form, kept in a join entity `J` whose rows point at
/// the model and at the target entity `T`: Django's `ManyToManyField` (with its `through`
/// table). Add it with [`ModelAdmin::many_to_many`](crate::ModelAdmin::many_to_many).
///
/// The join entity's columns are found from its `belongs_to` relations: the one to the
/// model's table and the one to the target's. When that is ambiguous (two relations to
/// the same table, or a join of a table to itself), name them with
/// [`columns`](Self::columns); [`AdminSite::build`](crate::AdminSite::build) fails
/// otherwise.
///
/// On the form the field is a `<select multiple>` of the target's rows, named by the
/// target's registered admin [`display`](crate::ModelAdmin::display) (or this field's own
/// [`display`](Self::display)). [`filter_horizontal`](Self::filter_horizontal) makes it
/// Django's dual list ("Available" / "Chosen", with a filter box) when JavaScript runs.
/// A form lists at most 1,000 choices (the first by primary key, plus those already
/// chosen) and says so when there are more; the API accepts any existing id.
///
/// In the JSON API the field is an array of the target's primary keys: read in one query
/// per page and field, replaced as a whole when a write sends it.
///
/// ```
/// # mod book {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "library_book")]
/// #     pub struct Model {
/// #         #[sea_orm(primary_key)]
/// #         pub id: i32,
/// #         pub title: String,
/// #     }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// # mod tag {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "library_tag")]
/// #     pub struct Model {
/// #         #[sea_orm(primary_key)]
/// #         pub id: i32,
/// #         pub name: String,
/// #     }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// // The join table: one row per (book, tag) pair.
/// mod book_tags {
///     use sea_orm::entity::prelude::*;
///
///     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
///     #[sea_orm(table_name = "library_book_tags")]
///     pub struct Model {
///         #[sea_orm(primary_key)]
///         pub id: i32,
///         pub book_id: i32,
///         pub tag_id: i32,
///     }
///
///     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
///     pub enum Relation {
///         #[sea_orm(belongs_to = "super::book::Entity", from = "Column::BookId", to = "super::book::Column::Id", on_delete = "Cascade")]
///         Book,
///         #[sea_orm(belongs_to = "super::tag::Entity", from = "Column::TagId", to = "super::tag::Column::Id", on_delete = "Cascade")]
///         Tag,
///     }
///
///     impl ActiveModelBehavior for ActiveModel {}
/// }
///
/// use batteries_admin::{AdminSite, ManyToMany, ModelAdmin};
///
/// # fn main() {
/// let site = AdminSite::new()
///     .register(ModelAdmin::<tag::Entity>::new().display(|t| t.name.clone()))
///     .register(
///         ModelAdmin::<book::Entity>::new().many_to_many(
///             ManyToMany::<book_tags::Entity, tag::Entity>::new("tags")
///                 .label("Tags")
///                 .filter_horizontal(),
///         ),
///     );
/// # let _ = site;
/// # }
/// ```
#[must_use]
pub struct ManyToMany<J: EntityTrait, T: EntityTrait> {
    name: String,
    label: Option<String>,
    help: Option<String>,
    columns: Option<(J::Column, J::Column)>,
    filter_horizontal: bool,
    fieldset: Option<String>,
    display: Option<TargetDisplay<T::Model>>,
    superuser_only: bool,
    _target: PhantomData<fn() -> T>,
}

impl<J: EntityTrait, T: EntityTrait> fmt::Debug for ManyToMany<J, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManyToMany")
            .field("name", &self.name)
            .field("through", &J::default().table_name())
            .field("target", &T::default().table_name())
            .field("filter_horizontal", &self.filter_horizontal)
            .finish_non_exhaustive()
    }
}

impl<J: EntityTrait, T: EntityTrait> ManyToMany<J, T> {
    /// A field named `name` (its form field, API key and default label) kept in `J`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            label: None,
            help: None,
            columns: None,
            filter_horizontal: false,
            fieldset: None,
            display: None,
            superuser_only: false,
            _target: PhantomData,
        }
    }

    /// The join entity's column pointing at the model edited (`source`) and the one
    /// pointing at the target (`target`), when its relations do not tell them apart.
    /// Each points at the primary key of its table unless a `belongs_to` relation on the
    /// column says otherwise.
    pub fn columns(mut self, source: J::Column, target: J::Column) -> Self {
        self.columns = Some((source, target));
        self
    }

    /// The label on the form (default: the name, capitalised).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Help text under the field.
    pub fn help_text(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Django's `filter_horizontal`: with JavaScript, the `<select multiple>` becomes two
    /// lists, "Available" (with a filter box) and "Chosen", and buttons to move items
    /// between them. Without JavaScript the plain `<select multiple>` remains.
    pub fn filter_horizontal(mut self) -> Self {
        self.filter_horizontal = true;
        self
    }

    /// The fieldset (by its title) the field goes at the end of (default: the first).
    /// A title no fieldset has means the first too.
    pub fn fieldset(mut self, title: impl Into<String>) -> Self {
        self.fieldset = Some(title.into());
        self
    }

    /// Only superusers may set this field: for anyone else it is read-only on the
    /// forms, and the JSON API answers 403 to a change of it (see
    /// [`ModelAdmin::superuser_only`](crate::ModelAdmin::superuser_only)).
    pub fn superuser_only(mut self) -> Self {
        self.superuser_only = true;
        self
    }

    /// How a target row is named among the choices (default: the target's registered
    /// admin `display`, or `Tag object (3)` when the target is not registered).
    pub fn display(mut self, f: impl Fn(&T::Model) -> String + Send + Sync + 'static) -> Self {
        self.display = Some(Arc::new(f));
        self
    }
}

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

/// A [`ManyToMany`] waiting for its model's fields (type-erased, held by `ModelAdmin`).
pub(crate) trait PendingM2m: Send + Sync {
    fn build(
        self: Box<Self>,
        parent_table: &str,
        parent_fields: &[Field],
    ) -> Result<Arc<dyn M2mField>, String>;
}

struct Through<J: EntityTrait, T: EntityTrait> {
    meta: M2mMeta,
    source: J::Column,
    target: J::Column,
    target_key: T::Column,
    display: Option<TargetDisplay<T::Model>>,
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

impl<J, T> PendingM2m for ManyToMany<J, T>
where
    J: EntityTrait,
    J::Model: FromQueryResult + Send + Sync,
    J::ActiveModel: ActiveModelTrait<Entity = J> + ActiveModelBehavior + Send + Sync,
    T: EntityTrait,
    T::Model: FromQueryResult + Send + Sync,
{
    fn build(
        self: Box<Self>,
        parent_table: &str,
        parent_fields: &[Field],
    ) -> Result<Arc<dyn M2mField>, String> {
        let join_table = J::default().table_name().to_owned();
        let target_table = T::default().table_name().to_owned();
        let whose = format!("many-to-many `{}` of `{parent_table}`", self.name);
        if parent_fields.iter().any(|f| f.name == self.name) {
            return Err(format!(
                "{whose}: `{parent_table}` has a column of that name"
            ));
        }
        let fks = crate::model::foreign_keys::<J>();
        let column = |name: &str| J::Column::iter().find(|c| c.as_str() == name);
        // The join's column to each side, and the column of that side it points at.
        let (source, target) = if let Some((s, t)) = self.columns {
            (s, t)
        } else {
            let to = |table: &str| -> Vec<&String> {
                let mut cols: Vec<&String> = fks
                    .iter()
                    .filter(|(_, fk)| fk.table == table)
                    .map(|(c, _)| c)
                    .collect();
                cols.sort();
                cols
            };
            let (from_parent, from_target) = (to(parent_table), to(&target_table));
            let explain = "; name them with `.columns(source, target)`";
            let (s, t) = match (from_parent.as_slice(), from_target.as_slice()) {
                _ if parent_table == target_table => {
                    return Err(format!(
                        "{whose}: `{join_table}` joins `{parent_table}` to itself{explain}"
                    ));
                }
                ([s], [t]) => ((*s).clone(), (*t).clone()),
                _ => {
                    return Err(format!(
                        "{whose}: `{join_table}` needs exactly one `belongs_to` relation to `{parent_table}` and one to `{target_table}` (it has {} and {}){explain}",
                        from_parent.len(),
                        from_target.len()
                    ));
                }
            };
            match (column(&s), column(&t)) {
                (Some(s), Some(t)) => (s, t),
                _ => return Err(format!("{whose}: unknown columns in `{join_table}`")),
            }
        };
        if source.as_str() == target.as_str() {
            return Err(format!(
                "{whose}: the source and target columns of `{join_table}` are the same"
            ));
        }
        let points_at = |col: &J::Column, table: &str| -> Result<Option<String>, String> {
            match fks.get(col.as_str()) {
                Some(fk) if fk.table != table => Err(format!(
                    "{whose}: `{join_table}.{}` refers to `{}`, not `{table}`",
                    col.as_str(),
                    fk.table
                )),
                Some(fk) => Ok(Some(fk.column.clone())),
                None => Ok(None),
            }
        };
        let parent_pk = parent_fields
            .iter()
            .find(|f| f.primary_key)
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let parent_col = points_at(&source, parent_table)?.unwrap_or(parent_pk);
        let Some(parent_field) = parent_fields.iter().position(|f| f.name == parent_col) else {
            return Err(format!(
                "{whose}: `{parent_table}` has no column `{parent_col}`"
            ));
        };
        let target_col = if let Some(c) = points_at(&target, &target_table)? {
            c
        } else {
            let mut pks = T::PrimaryKey::iter();
            match (pks.next(), pks.next()) {
                (Some(pk), None) => pk.into_column().as_str().to_owned(),
                _ => {
                    return Err(format!(
                        "{whose}: `{target_table}` needs a single-column primary key"
                    ));
                }
            }
        };
        let Some(target_key) = T::Column::iter().find(|c| c.as_str() == target_col) else {
            return Err(format!(
                "{whose}: `{target_table}` has no column `{target_col}`"
            ));
        };
        let def = target_key.def();
        let (kind, max_length, long_text) = Field::from_column_type(def.get_column_type());
        let key_field = Field {
            name: target_col.clone(),
            label: label_of(&target_col),
            kind,
            nullable: false,
            primary_key: true,
            auto: false,
            has_default: false,
            max_length,
            digits: Field::digits_of(def.get_column_type()),
            long_text,
            unique: true,
            foreign_key: None,
            readonly: false,
            blank: false,
            autocomplete: false,
            raw_id: false,
            superuser_only: false,
            default: None,
            help: None,
            choices: None,
        };
        let meta = M2mMeta {
            label: self.label.unwrap_or_else(|| label_of(&self.name)),
            name: self.name,
            help: self.help,
            filter_horizontal: self.filter_horizontal,
            fieldset: self.fieldset,
            target_table,
            parent_field,
            target_key: key_field,
            superuser_only: self.superuser_only,
        };
        Ok(Arc::new(Through::<J, T> {
            meta,
            source,
            target,
            target_key,
            display: self.display,
        }))
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

// --- what the views and the API call ---------------------------------------------------

/// The names of the targets `values`, by key: the field's own `display`, else the
/// target's registered admin, else `Tag object (3)`.
async fn names(
    inner: &Inner,
    m: &dyn M2mField,
    values: Vec<Value>,
) -> Result<HashMap<String, String>, DbErr> {
    let target = inner.by_table(&m.meta().target_table);
    if let Some(own) = m
        .own_choices(&inner.db, Choices::Only(values.clone()), target.is_some())
        .await?
    {
        return Ok(own.into_iter().collect());
    }
    match target {
        Some(t) => t.model.reprs(&inner.db, values).await,
        None => Ok(HashMap::new()),
    }
}

/// Up to `limit` choices `(key, name)` for the form.
async fn choices(
    inner: &Inner,
    m: &dyn M2mField,
    limit: u64,
) -> Result<Vec<(String, String)>, DbErr> {
    let target = inner.by_table(&m.meta().target_table);
    if let Some(own) = m
        .own_choices(&inner.db, Choices::First(limit), target.is_some())
        .await?
    {
        return Ok(own);
    }
    match target {
        Some(t) => t.model.choices(&inner.db, None, limit).await,
        None => Ok(Vec::new()),
    }
}

/// The ids posted for each many-to-many field of the form (repeated `name=id` pairs;
/// none means the set is emptied, as an unselected `<select multiple>` posts nothing).
pub(crate) fn parse_form(info: &ModelInfo, form: &[(String, String)]) -> Vec<(usize, Vec<String>)> {
    info.m2m
        .iter()
        .enumerate()
        .filter(|(_, m)| !info.m2m_read_only(&m.meta().name))
        .map(|(i, m)| {
            let name = &m.meta().name;
            let ids = form
                .iter()
                .filter(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect();
            (i, ids)
        })
        .collect()
}

/// Parses and checks posted ids: an id that is malformed or names no row is a field
/// error in Django's words. One query per field.
pub(crate) async fn check_form(
    inner: &Inner,
    info: &ModelInfo,
    posted: Vec<(usize, Vec<String>)>,
    errors: &mut HashMap<String, Vec<String>>,
) -> Result<M2mSets, DbErr> {
    let mut sets = Vec::new();
    for (i, raw) in posted {
        let m = &info.m2m[i];
        let meta = m.meta();
        let invalid = |id: &str| {
            format!(
                "Select a valid choice. {} is not one of the available choices.",
                truncate(id)
            )
        };
        if raw.len() > MAX_M2M_IDS {
            errors.insert(meta.name.clone(), vec![too_many_ids(raw.len())]);
            continue;
        }
        let mut values = Vec::new();
        let mut bad = None;
        for id in &raw {
            if let Ok(v) = meta.target_key.kind.parse(id.trim()) {
                values.push(v);
            } else {
                bad = Some(id.clone());
                break;
            }
        }
        if bad.is_none() {
            bad = m.missing(&inner.db, &values).await?;
        }
        match bad {
            Some(id) => {
                errors.insert(meta.name.clone(), vec![invalid(&id)]);
            }
            None => sets.push((i, values)),
        }
    }
    Ok(sets)
}

/// Writes the sets for `row` in `txn`; the labels of the fields whose set changed.
pub(crate) async fn save<'a>(
    txn: &DatabaseTransaction,
    info: &'a ModelInfo,
    row: &Row,
    sets: &[(usize, Vec<Value>)],
) -> Result<Vec<&'a str>, DbErr> {
    let mut changed = Vec::new();
    for (i, ids) in sets {
        let m = &info.m2m[*i];
        let parent = row.values[m.meta().parent_field].clone();
        if m.set(txn, parent, ids).await? {
            changed.push(m.meta().label.as_str());
        }
    }
    Ok(changed)
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

/// The form fields of the many-to-many fields (see `templates/README.md`, widget `m2m`),
/// each with the title of the fieldset it goes in.
pub(crate) async fn form_fields(
    inner: &Inner,
    info: &ModelInfo,
    existing: Option<&Row>,
    posted: Option<&[(String, String)]>,
    errors: &HashMap<String, Vec<String>>,
    read_only: bool,
) -> Result<Vec<(Option<String>, Json)>, DbErr> {
    let mut out = Vec::new();
    for m in &info.m2m {
        let meta = m.meta();
        let current: Vec<Value> = match existing {
            Some(row) => {
                let parent = row.values[meta.parent_field].clone();
                m.targets(&inner.db, vec![parent.clone()])
                    .await?
                    .remove(&pk_string(&parent))
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let mut field = json!({
            "name": meta.name,
            "label": meta.label,
            "required": false,
            "errors": errors.get(&meta.name).cloned().unwrap_or_default(),
            "attrs": {},
        });
        if read_only || info.m2m_read_only(&meta.name) {
            let names = names(inner, m.as_ref(), current.clone()).await?;
            let shown: Vec<String> = current
                .iter()
                .map(|v| {
                    let k = pk_string(v);
                    names.get(&k).cloned().unwrap_or(k)
                })
                .collect();
            field["widget"] = json!("readonly");
            field["readonly"] = json!(true);
            field["value"] = json!("");
            field["display"] = json!(if shown.is_empty() {
                "-".to_owned()
            } else {
                shown.join(", ")
            });
            field["help"] = json!(meta.help);
            out.push((meta.fieldset.clone(), field));
            continue;
        }
        let selected: Vec<String> = match posted {
            Some(form) => form
                .iter()
                .filter(|(k, _)| *k == meta.name)
                .map(|(_, v)| v.clone())
                .collect(),
            None => current.iter().map(pk_string).collect(),
        };
        let mut list = choices(inner, m.as_ref(), CHOICES_CAP + 1).await?;
        let truncated = list.len() as u64 > CHOICES_CAP;
        list.truncate(CHOICES_CAP as usize);
        // The ones chosen are always listed, even past the cap.
        let listed: HashSet<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
        let unlisted: Vec<Value> = selected
            .iter()
            .filter(|k| !listed.contains(k.as_str()))
            .filter_map(|k| meta.target_key.kind.parse(k).ok())
            .collect();
        if !unlisted.is_empty() {
            let extra = names(inner, m.as_ref(), unlisted).await?;
            let mut extra: Vec<(String, String)> = extra.into_iter().collect();
            extra.sort();
            list.extend(extra);
        }
        let choices: Vec<Json> = list
            .iter()
            .map(|(k, label)| json!({"value": k, "label": label, "selected": selected.contains(k)}))
            .collect();
        let mut help = meta.help.clone();
        if truncated {
            let note = format!(
                "Only the first {CHOICES_CAP} choices are listed; use the API to choose others."
            );
            help = Some(match help {
                Some(h) => format!("{h} {note}"),
                None => note,
            });
        }
        field["widget"] = json!("m2m");
        field["readonly"] = json!(false);
        field["value"] = json!(selected);
        field["choices"] = Json::Array(choices);
        field["size"] = json!(list.len().clamp(4, 10));
        field["filter_horizontal"] = json!(meta.filter_horizontal);
        field["verbose_name"] = json!(meta.label.to_lowercase());
        field["truncated"] = json!(truncated);
        field["help"] = json!(help);
        out.push((meta.fieldset.clone(), field));
    }
    Ok(out)
}

/// Adds the many-to-many fields at the end of their fieldsets in a form's `fieldsets`
/// (the one of the title given, else the first).
pub(crate) fn append_to_fieldsets(fieldsets: &mut Json, fields: Vec<(Option<String>, Json)>) {
    if fields.is_empty() {
        return;
    }
    let Some(sets) = fieldsets.as_array_mut() else {
        return;
    };
    if sets.is_empty() {
        sets.push(json!({"name": null, "classes": [], "fields": []}));
    }
    for (title, field) in fields {
        let at = title
            .and_then(|t| {
                sets.iter()
                    .position(|s| s["name"].as_str() == Some(t.as_str()))
            })
            .unwrap_or(0);
        if let Some(list) = sets[at]["fields"].as_array_mut() {
            list.push(field);
        }
    }
}

/// What deleting `rows` takes with it through the join tables: one entry per field with
/// join rows, as the delete confirmation's `cascades` lists them.
pub(crate) async fn cascades(
    inner: &Inner,
    info: &ModelInfo,
    rows: &[Row],
) -> Result<Vec<Json>, DbErr> {
    let mut out = Vec::new();
    for m in &info.m2m {
        let meta = m.meta();
        let parents = rows
            .iter()
            .map(|r| r.values[meta.parent_field].clone())
            .collect();
        let (count, first) = m.count(&inner.db, parents, 5).await?;
        if count == 0 {
            continue;
        }
        let names = names(inner, m.as_ref(), first.clone()).await?;
        let examples: Vec<String> = first
            .iter()
            .map(|v| {
                let k = pk_string(v);
                format!("{}: {}", meta.label, names.get(&k).cloned().unwrap_or(k))
            })
            .collect();
        let what = if count == 1 {
            "relationship"
        } else {
            "relationships"
        };
        out.push(json!({
            "label": format!("{}-{} {what}", label_of(&info.verbose_name), meta.label.to_lowercase()),
            "count": count,
            "examples": examples,
        }));
    }
    Ok(out)
}

/// Sets each many-to-many field of the API's JSON rows: an array of the targets' keys.
/// One query per field for all the rows.
pub(crate) async fn attach(
    db: &DatabaseConnection,
    info: &ModelInfo,
    rows: &[Row],
    out: &mut [Json],
) -> Result<(), DbErr> {
    for m in &info.m2m {
        let meta = m.meta();
        let parents: Vec<Value> = rows
            .iter()
            .map(|r| r.values[meta.parent_field].clone())
            .collect();
        let mut targets = m.targets(db, parents).await?;
        for (row, json) in rows.iter().zip(out.iter_mut()) {
            let key = pk_string(&row.values[meta.parent_field]);
            let ids: Vec<Json> = targets
                .remove(&key)
                .unwrap_or_default()
                .iter()
                .map(|v| to_json(v, &meta.target_key.kind))
                .collect();
            if let Some(object) = json.as_object_mut() {
                object.insert(meta.name.clone(), Json::Array(ids));
            }
        }
    }
    Ok(())
}

/// Whether `key` names a many-to-many field.
pub(crate) fn is_m2m(info: &ModelInfo, key: &str) -> bool {
    info.m2m.iter().any(|m| m.meta().name == key)
}

/// The many-to-many values of an API body: an array of keys per field present (absent
/// fields are left as they are, and empty when adding). Errors go into `errors`. Fields
/// read-only for this request are skipped (the API checks them apart).
pub(crate) fn parse_json(
    info: &ModelInfo,
    object: &Map<String, Json>,
    errors: &mut HashMap<String, Vec<String>>,
) -> M2mSets {
    let mut sets = Vec::new();
    for (i, m) in info.m2m.iter().enumerate() {
        let meta = m.meta();
        if info.m2m_read_only(&meta.name) {
            continue;
        }
        let Some(json) = object.get(&meta.name) else {
            continue;
        };
        match parse_ids(meta, json) {
            Ok(values) => sets.push((i, values)),
            Err(message) => {
                errors.insert(meta.name.clone(), vec![message]);
            }
        }
    }
    sets
}

/// One many-to-many value of an API body: an array of at most [`MAX_M2M_IDS`] keys.
pub(crate) fn parse_ids(meta: &M2mMeta, json: &Json) -> Result<Vec<Value>, String> {
    let Json::Array(items) = json else {
        let kind = match json {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(_) => "number",
            Json::String(_) => "str",
            Json::Object(_) => "dict",
            Json::Array(_) => "list",
        };
        return Err(format!("Expected a list of items but got type \"{kind}\"."));
    };
    if items.len() > MAX_M2M_IDS {
        return Err(too_many_ids(items.len()));
    }
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        match meta.target_key.parse_json(item) {
            Ok(v) => values.push(v),
            Err(e) => {
                return Err(format!(
                    "Incorrect value {}: {e}",
                    truncate(&item.to_string())
                ));
            }
        }
    }
    Ok(values)
}

/// The ids among `sets` that name no row: `(field name, id)`. One query per field.
pub(crate) async fn dangling(
    db: &DatabaseConnection,
    info: &ModelInfo,
    sets: &[(usize, Vec<Value>)],
) -> Result<Vec<(String, String)>, DbErr> {
    let mut out = Vec::new();
    for (i, values) in sets {
        let m = &info.m2m[*i];
        if let Some(id) = m.missing(db, values).await? {
            out.push((m.meta().name.clone(), id));
        }
    }
    Ok(out)
}

/// The fields' output kinds, for the OpenAPI document: `(name, label, key field)`.
pub(crate) fn api_fields(info: &ModelInfo) -> impl Iterator<Item = &M2mMeta> {
    info.m2m.iter().map(|m| m.meta())
}
