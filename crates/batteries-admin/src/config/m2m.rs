//! Many-to-many fields through a join entity ([`ManyToMany`]): Django's
//! `ManyToManyField` on an admin form (a `<select multiple>`, or the dual-list picker of
//! `filter_horizontal`) and in the JSON API (an array of ids).
//!
//! The join entity is an ordinary SeaORM entity with two `belongs_to` relations, one to
//! the model being edited and one to the target (Django's auto-created `book_tags`
//! table, or batteries-auth's `auth_user_groups`). Saving the form rewrites its rows in
//! the transaction that saves the row: the pairs removed are deleted, the pairs added are
//! inserted, the others are left alone.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, PrimaryKeyToColumn,
};

use crate::model::field::{Field, label_of};
use crate::model::m2m::{M2mField, M2mMeta, TargetDisplay, Through};

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

/// A [`ManyToMany`] waiting for its model's fields (type-erased, held by `ModelAdmin`).
pub(crate) trait PendingM2m: Send + Sync {
    fn build(
        self: Box<Self>,
        parent_table: &str,
        parent_fields: &[Field],
    ) -> Result<Arc<dyn M2mField>, String>;
}

/// The name of the primary key among `fields` (empty without one).
fn pk_name(fields: &[Field]) -> String {
    fields
        .iter()
        .find(|f| f.primary_key)
        .map(|f| f.name.clone())
        .unwrap_or_default()
}

/// The name of `T`'s primary key column, when it has exactly one.
fn single_pk_column<T: EntityTrait>() -> Option<String> {
    let mut pks = T::PrimaryKey::iter();
    match (pks.next(), pks.next()) {
        (Some(pk), None) => Some(pk.into_column().as_str().to_owned()),
        _ => None,
    }
}

/// The field of the target's key column `name`, as the many-to-many's choices hold it.
fn key_field(name: &str, column_type: &sea_orm::ColumnType) -> Field {
    let (kind, max_length, long_text) = Field::from_column_type(column_type);
    Field {
        name: name.to_owned(),
        label: label_of(name),
        kind,
        nullable: false,
        primary_key: true,
        auto: false,
        has_default: false,
        max_length,
        digits: Field::digits_of(column_type),
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
        let parent_col =
            points_at(&source, parent_table)?.unwrap_or_else(|| pk_name(parent_fields));
        let Some(parent_field) = parent_fields.iter().position(|f| f.name == parent_col) else {
            return Err(format!(
                "{whose}: `{parent_table}` has no column `{parent_col}`"
            ));
        };
        let target_col = match points_at(&target, &target_table)? {
            Some(c) => c,
            None => single_pk_column::<T>().ok_or_else(|| {
                format!("{whose}: `{target_table}` needs a single-column primary key")
            })?,
        };
        let Some(target_key) = T::Column::iter().find(|c| c.as_str() == target_col) else {
            return Err(format!(
                "{whose}: `{target_table}` has no column `{target_col}`"
            ));
        };
        let def = target_key.def();
        let key_field = key_field(&target_col, def.get_column_type());
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

// --- what the views and the API call ---------------------------------------------------
