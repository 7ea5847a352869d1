//! [`Inline`]: the rows of another entity that point at the edited one, edited on its
//! add and change pages (Django's `TabularInline` and `StackedInline`).
//!
//! An inline is a child entity's admin (its fields, labels, choices, hooks: the same
//! [`ModelAdmin`] options) plus the foreign key that ties its rows to the parent. The
//! forms are Django's formsets: a management form (`<prefix>-TOTAL_FORMS`,
//! `-INITIAL_FORMS`, `-MIN_NUM_FORMS`, `-MAX_NUM_FORMS`), then one form a row, its
//! fields named `<prefix>-<i>-<field>`, its primary key `<prefix>-<i>-id` and its
//! deletion box `<prefix>-<i>-DELETE`. The prefix is Django's default,
//! `<child model name>_set` (`review_set`), unless [`Inline::prefix`] says otherwise.
//!
//! The parent and every inline row are saved in one transaction: a refused row saves
//! nothing.

use std::sync::Arc;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, EntityTrait, FromQueryResult, IdenStatic,
    IntoActiveModel, Iterable, PrimaryKeyToColumn,
};

use crate::config::ModelAdmin;
use crate::model::inline::{InlineSet, Style};
use crate::model::{AdminModel, EntityAdmin, foreign_keys};

/// Builds the erased inline once the parent's table is known.
pub(crate) type InlineFactory = Box<dyn FnOnce(&str) -> Result<InlineSet, String> + Send + Sync>;

/// The rows of entity `C` that point at the edited row, edited on its form (Django's
/// `TabularInline` / `StackedInline`). Give it to [`ModelAdmin::inline`].
///
/// The foreign key to the parent is found from `C`'s `belongs_to` relations when there
/// is exactly one to the parent's table; name it with [`fk_name`](Self::fk_name)
/// otherwise. [`AdminSite::build`](crate::AdminSite::build) reports an inline whose
/// foreign key is missing or ambiguous.
///
/// Rows are shown, added, changed and deleted according to the child model's
/// permissions (`add_review`, `change_review`, `delete_review`, and the object-level
/// hooks of the child's own registration, if any); a user who may only view them sees
/// them read-only.
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
/// # mod review {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "library_review")]
/// #     pub struct Model {
/// #         #[sea_orm(primary_key)]
/// #         pub id: i32,
/// #         pub book_id: i32,
/// #         pub stars: i16,
/// #         pub body: String,
/// #     }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {
/// #         #[sea_orm(belongs_to = "super::book::Entity", from = "Column::BookId", to = "super::book::Column::Id")]
/// #         Book,
/// #     }
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// use batteries_admin::{Inline, ModelAdmin};
///
/// # fn main() {
/// let books = ModelAdmin::<book::Entity>::new().inline(
///     Inline::<review::Entity>::tabular()
///         .fields([review::Column::Stars, review::Column::Body])
///         .extra(1)
///         .max_num(10)
///         .verbose_name("review", "reviews"),
/// );
/// # let _ = books;
/// # }
/// ```
#[must_use]
pub struct Inline<C: EntityTrait> {
    style: Style,
    admin: ModelAdmin<C>,
    fk: Option<C::Column>,
    fields: Option<Vec<C::Column>>,
    extra: usize,
    max_num: Option<usize>,
    min_num: usize,
    can_delete: bool,
    prefix: Option<String>,
    verbose_name: Option<(String, String)>,
}

impl<C: EntityTrait> std::fmt::Debug for Inline<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline")
            .field("table", &C::default().table_name())
            .field("style", &self.style)
            .field("extra", &self.extra)
            .field("max_num", &self.max_num)
            .finish_non_exhaustive()
    }
}

impl<C: EntityTrait> Inline<C> {
    fn new(style: Style) -> Self {
        Self {
            style,
            admin: ModelAdmin::new(),
            fk: None,
            fields: None,
            extra: 3,
            max_num: None,
            min_num: 0,
            can_delete: true,
            prefix: None,
            verbose_name: None,
        }
    }

    /// One table row a child, one column a field (Django's `TabularInline`).
    pub fn tabular() -> Self {
        Self::new(Style::Tabular)
    }

    /// One block of fields a child, laid out as the parent's form (Django's
    /// `StackedInline`).
    pub fn stacked() -> Self {
        Self::new(Style::Stacked)
    }

    /// The child's options (labels, choices, `display`, `on_save`, `on_delete`,
    /// `readonly_fields`, its `app_label` and `model_name` when they differ from its
    /// registration's), as Django's `InlineModelAdmin` has its own: the same
    /// [`ModelAdmin`] the child is registered with works here. Its `fields` are replaced
    /// by [`fields`](Self::fields) (without the keys). Permissions and the object-level
    /// permission hooks are the child registration's, when it is registered.
    pub fn admin(mut self, admin: ModelAdmin<C>) -> Self {
        self.admin = admin;
        self
    }

    /// The child's foreign key to the parent (Django's `fk_name`), when it cannot be
    /// told from the relations.
    pub fn fk_name(mut self, column: C::Column) -> Self {
        self.fk = Some(column);
        self
    }

    /// The fields of each row, in order (default: every column but the primary key and
    /// the foreign key to the parent, which are never edited here).
    pub fn fields(mut self, columns: impl IntoIterator<Item = C::Column>) -> Self {
        self.fields = Some(columns.into_iter().collect());
        self
    }

    /// Empty forms offered for new rows (default 3).
    pub fn extra(mut self, n: usize) -> Self {
        self.extra = n;
        self
    }

    /// The most rows the parent may have through this inline: no more empty forms are
    /// offered then, and a post with more is refused.
    pub fn max_num(mut self, n: usize) -> Self {
        self.max_num = Some(n);
        self
    }

    /// The fewest rows a save must leave (default 0).
    pub fn min_num(mut self, n: usize) -> Self {
        self.min_num = n;
        self
    }

    /// Whether rows may be deleted from the parent's form (default `true`; the child's
    /// `delete` permission is needed too).
    pub fn can_delete(mut self, on: bool) -> Self {
        self.can_delete = on;
        self
    }

    /// The singular and plural names of the child on the form ("Add another review").
    pub fn verbose_name(mut self, singular: impl Into<String>, plural: impl Into<String>) -> Self {
        self.verbose_name = Some((singular.into(), plural.into()));
        self
    }

    /// The formset's prefix in field names (default `<child model name>_set`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }
}

impl<C> Inline<C>
where
    C: EntityTrait,
    C::Model: FromQueryResult + IntoActiveModel<C::ActiveModel> + Send + Sync,
    C::ActiveModel: ActiveModelTrait<Entity = C> + ActiveModelBehavior + Send + Sync,
{
    pub(crate) fn into_factory(self) -> InlineFactory {
        Box::new(move |parent_table| self.build(parent_table))
    }

    fn build(self, parent_table: &str) -> Result<InlineSet, String> {
        let table = C::default().table_name().to_owned();
        let fk_name = if let Some(c) = self.fk {
            c.as_str().to_owned()
        } else {
            let fks = foreign_keys::<C>();
            let mut to_parent: Vec<&String> = fks
                .iter()
                .filter(|(_, fk)| fk.table == parent_table)
                .map(|(col, _)| col)
                .collect();
            to_parent.sort();
            match to_parent.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    return Err(format!(
                        "inline `{table}` has no foreign key to `{parent_table}`; \
                         give it one with `Inline::fk_name`"
                    ));
                }
                many => {
                    return Err(format!(
                        "inline `{table}` has several foreign keys to `{parent_table}` ({}); \
                         choose one with `Inline::fk_name`",
                        many.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        };
        let pk_names: Vec<String> = <C::PrimaryKey as Iterable>::iter()
            .map(|p| p.into_column().as_str().to_owned())
            .collect();
        let columns: Vec<C::Column> = match self.fields {
            Some(cols) => cols,
            None => C::Column::iter().collect(),
        };
        let columns: Vec<C::Column> = columns
            .into_iter()
            .filter(|c| c.as_str() != fk_name && !pk_names.iter().any(|p| p == c.as_str()))
            .collect();
        let mut admin = self.admin.fields(columns);
        if let Some((singular, plural)) = self.verbose_name {
            admin = admin.verbose_name(singular, plural);
        }
        let model = EntityAdmin::new(admin).map_err(|e| format!("inline `{table}`: {e}"))?;
        let info = model.info();
        if !info.pk_field().auto {
            return Err(format!(
                "inline `{table}` needs an auto-increment primary key (new rows get theirs from the database)"
            ));
        }
        let Some(fk) = info.field_index(&fk_name) else {
            return Err(format!(
                "inline `{table}`: `{fk_name}` is not one of its columns"
            ));
        };
        match &info.fields[fk].foreign_key {
            Some(target) if target.table == parent_table => {}
            _ => {
                return Err(format!(
                    "inline `{table}`: `{fk_name}` is not a foreign key to `{parent_table}`"
                ));
            }
        }
        let prefix = self
            .prefix
            .unwrap_or_else(|| format!("{}_set", info.model_name));
        if prefix.is_empty() || prefix.contains(['&', '=', '"', '<', '>']) {
            return Err(format!("inline `{table}`: prefix `{prefix}` is not usable"));
        }
        Ok(InlineSet {
            model: Arc::new(model),
            fk,
            style: self.style,
            prefix,
            extra: self.extra,
            max_num: self.max_num,
            min_num: self.min_num,
            can_delete: self.can_delete,
        })
    }
}

#[cfg(test)]
#[allow(unreachable_pub)] // SeaORM's derives need the entities' items public
mod tests {
    use super::Inline;
    use crate::ModelAdmin;
    use crate::model::{AdminModel as _, EntityAdmin};

    mod order {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "shop_order")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// Two foreign keys to the order.
    mod line {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "shop_line")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub order_id: i32,
            pub gift_order_id: Option<i32>,
            pub quantity: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {
            #[sea_orm(
                belongs_to = "super::order::Entity",
                from = "Column::OrderId",
                to = "super::order::Column::Id"
            )]
            Order,
            #[sea_orm(
                belongs_to = "super::order::Entity",
                from = "Column::GiftOrderId",
                to = "super::order::Column::Id"
            )]
            GiftOrder,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// No foreign key to the order.
    mod note {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "shop_note")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub text: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    fn build(admin: ModelAdmin<order::Entity>) -> Result<EntityAdmin<order::Entity>, String> {
        EntityAdmin::new(admin)
    }

    #[test]
    fn an_ambiguous_or_missing_foreign_key_is_a_build_error() {
        let Err(ambiguous) = build(ModelAdmin::new().inline(Inline::<line::Entity>::tabular()))
        else {
            panic!("two foreign keys to the order");
        };
        assert!(ambiguous.contains("several foreign keys"), "{ambiguous}");
        assert!(ambiguous.contains("gift_order_id, order_id"), "{ambiguous}");
        let Err(missing) = build(ModelAdmin::new().inline(Inline::<note::Entity>::stacked()))
        else {
            panic!("no foreign key to the order");
        };
        assert!(missing.contains("no foreign key"), "{missing}");
        let Err(not_fk) = build(
            ModelAdmin::new()
                .inline(Inline::<line::Entity>::tabular().fk_name(line::Column::Quantity)),
        ) else {
            panic!("quantity is no foreign key");
        };
        assert!(not_fk.contains("is not a foreign key"), "{not_fk}");
        let Err(raw) = EntityAdmin::new(
            ModelAdmin::<line::Entity>::new().raw_id_fields([line::Column::Quantity]),
        ) else {
            panic!("raw_id_fields on a column that is no foreign key");
        };
        assert!(
            raw.contains("`quantity` of `shop_line` is not a foreign key"),
            "{raw}"
        );
        assert!(
            EntityAdmin::new(
                ModelAdmin::<line::Entity>::new().raw_id_fields([line::Column::OrderId])
            )
            .is_ok()
        );
    }

    #[test]
    fn fk_name_chooses_and_the_fields_leave_out_the_keys() {
        let admin = build(
            ModelAdmin::new().inline(
                Inline::<line::Entity>::tabular()
                    .verbose_name("item", "items")
                    .admin(ModelAdmin::new().label(line::Column::Quantity, "How many"))
                    .fk_name(line::Column::GiftOrderId)
                    .max_num(2),
            ),
        )
        .expect("builds");
        let inline = &admin.inlines()[0];
        let info = inline.model.info();
        assert_eq!(info.fields[inline.fk].name, "gift_order_id");
        assert_eq!(inline.prefix, "line_set");
        assert_eq!(info.verbose_name, "item", "kept whatever the order");
        assert_eq!(
            info.fields[info.field_index("quantity").unwrap()].label,
            "How many"
        );
        let shown: Vec<&str> = info
            .fieldsets
            .iter()
            .flat_map(|(_, f)| f)
            .map(|&i| info.fields[i].name.as_str())
            .collect();
        assert_eq!(shown, ["order_id", "quantity"]);
        assert_eq!(inline.absolute_max(), 1002);
    }
}
