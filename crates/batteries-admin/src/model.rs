//! [`ModelAdmin`]: how one SeaORM entity appears in the admin, and the type-erased
//! [`AdminModel`] the site drives.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use batteries_orm::filter::FilterSet;
use batteries_orm::paginate::{Paginator, Total};
use batteries_orm::value::{Kind, set_column, to_json};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, IdenStatic, IntoActiveModel, Iterable, ModelTrait, PaginatorTrait,
    PrimaryKeyToColumn, PrimaryKeyTrait, QueryFilter, QueryOrder, QuerySelect, RelationDef,
    RelationTrait, SqlErr, Value,
};

use batteries_auth::AuthUser;

use crate::field::{Field, ForeignKey, label_of, pk_string};
use crate::m2m::{M2mField, ManyToMany, PendingM2m};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type DisplayFn<M> = Arc<dyn Fn(&M) -> String + Send + Sync>;
type SaveHook<A> = Arc<dyn Fn(&mut A, bool) -> Result<(), String> + Send + Sync>;
type DeleteHook<M> = Arc<dyn Fn(&M) -> Result<(), String> + Send + Sync>;
type ObjectPermFn<M> = Arc<dyn Fn(&dyn AuthUser, &M) -> bool + Send + Sync>;
type ActionFn<M> =
    Arc<dyn Fn(DatabaseConnection, Vec<M>) -> BoxFuture<Result<String, String>> + Send + Sync>;

enum ListItem<E: EntityTrait> {
    Column(E::Column),
    Computed {
        name: String,
        label: String,
        f: DisplayFn<E::Model>,
    },
}

struct Action<M> {
    name: String,
    label: String,
    permission: &'static str,
    f: ActionFn<M>,
}

/// How one entity appears in the admin: Django's `ModelAdmin` options.
///
/// Every option has a sensible default, so `ModelAdmin::new()` alone gives a working
/// changelist (every column), search-less, ordered by descending primary key, and forms
/// with every column.
///
/// ```
/// # mod post {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "blog_post")]
/// #     pub struct Model {
/// #         #[sea_orm(primary_key)]
/// #         pub id: i32,
/// #         pub title: String,
/// #         pub published: bool,
/// #         #[sea_orm(column_type = "Text")]
/// #         pub body: String,
/// #     }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// use batteries_admin::ModelAdmin;
///
/// let posts = ModelAdmin::<post::Entity>::new()
///     .list_display([post::Column::Title, post::Column::Published])
///     .computed("words", "Words", |p| p.body.split_whitespace().count().to_string())
///     .search_fields([post::Column::Title, post::Column::Body])
///     .list_filter([post::Column::Published])
///     .ordering("-id")
///     .display(|p| p.title.clone());
/// ```
#[must_use]
pub struct ModelAdmin<E: EntityTrait> {
    app_label: Option<String>,
    model_name: Option<String>,
    verbose_name: Option<String>,
    verbose_name_plural: Option<String>,
    list_display: Vec<ListItem<E>>,
    list_display_links: Vec<String>,
    search_fields: Vec<E::Column>,
    list_filter: Vec<E::Column>,
    ordering: Option<String>,
    list_per_page: u64,
    readonly_fields: Vec<E::Column>,
    fields: Option<Vec<E::Column>>,
    fieldsets: Vec<(Option<String>, Vec<E::Column>)>,
    actions: Vec<Action<E::Model>>,
    autocomplete_fields: Vec<E::Column>,
    blank: Vec<E::Column>,
    labels: HashMap<String, String>,
    help: HashMap<String, String>,
    choices: HashMap<String, Vec<(String, String)>>,
    display: Option<DisplayFn<E::Model>>,
    on_save: Option<SaveHook<E::ActiveModel>>,
    on_delete: Option<DeleteHook<E::Model>>,
    object_perms: ObjectPerms<E::Model>,
    changelist: ChangelistOptions<E>,
    password: PasswordOptions<E::Column>,
    // Inlines, "save as new" and raw-id foreign keys (`crate::inline`).
    inlines: Vec<crate::inline::InlineFactory>,
    save_as: bool,
    raw_id_fields: Vec<E::Column>,
    many_to_many: Vec<Box<dyn PendingM2m>>,
}

/// The changelist options of issue 8: `date_hierarchy` and `list_editable`.
struct ChangelistOptions<E: EntityTrait> {
    date_hierarchy: Option<E::Column>,
    list_editable: Vec<E::Column>,
}

impl<E: EntityTrait> Default for ChangelistOptions<E> {
    fn default() -> Self {
        Self {
            date_hierarchy: None,
            list_editable: Vec::new(),
        }
    }
}

/// The object-level permission hooks, by action.
struct ObjectPerms<M> {
    view: Option<ObjectPermFn<M>>,
    change: Option<ObjectPermFn<M>>,
    delete: Option<ObjectPermFn<M>>,
}

impl<M> Default for ObjectPerms<M> {
    fn default() -> Self {
        Self {
            view: None,
            change: None,
            delete: None,
        }
    }
}

impl<M> ObjectPerms<M> {
    fn any(&self) -> bool {
        self.view.is_some() || self.change.is_some() || self.delete.is_some()
    }
}

impl<E: EntityTrait> fmt::Debug for ModelAdmin<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelAdmin")
            .field("table", &E::default().table_name())
            .field("app_label", &self.app_label)
            .finish_non_exhaustive()
    }
}

impl<E: EntityTrait> Default for ModelAdmin<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: EntityTrait> ModelAdmin<E> {
    /// The defaults: every column listed and editable, 100 rows a page.
    pub fn new() -> Self {
        Self {
            app_label: None,
            model_name: None,
            verbose_name: None,
            verbose_name_plural: None,
            list_display: Vec::new(),
            list_display_links: Vec::new(),
            search_fields: Vec::new(),
            list_filter: Vec::new(),
            ordering: None,
            list_per_page: 100,
            readonly_fields: Vec::new(),
            fields: None,
            fieldsets: Vec::new(),
            actions: Vec::new(),
            autocomplete_fields: Vec::new(),
            blank: Vec::new(),
            labels: HashMap::new(),
            help: HashMap::new(),
            choices: HashMap::new(),
            display: None,
            on_save: None,
            on_delete: None,
            object_perms: ObjectPerms::default(),
            changelist: ChangelistOptions::default(),
            password: PasswordOptions::default(),
            inlines: Vec::new(),
            save_as: false,
            raw_id_fields: Vec::new(),
            many_to_many: Vec::new(),
        }
    }

    /// The app the model belongs to (its group on the index page and the first part of
    /// its permissions, `blog.change_post`). Default: the table name's part before the
    /// first `_` (`blog` for `blog_post`), or `app`.
    pub fn app_label(mut self, app_label: impl Into<String>) -> Self {
        self.app_label = Some(app_label.into());
        self
    }

    /// The model's name in URLs and permission codenames. Default: the table name
    /// without the app label (`post` for `blog_post`).
    pub fn model_name(mut self, name: impl Into<String>) -> Self {
        self.model_name = Some(name.into());
        self
    }

    /// The singular and plural names people read (default: the model name, plus `s`).
    pub fn verbose_name(mut self, singular: impl Into<String>, plural: impl Into<String>) -> Self {
        self.verbose_name = Some(singular.into());
        self.verbose_name_plural = Some(plural.into());
        self
    }

    /// The changelist's columns (Django's `list_display`), in order.
    pub fn list_display(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.list_display
            .extend(columns.into_iter().map(ListItem::Column));
        self
    }

    /// A computed changelist column: `f` turns a row into the text shown (escaped).
    pub fn computed(
        mut self,
        name: &str,
        label: impl Into<String>,
        f: impl Fn(&E::Model) -> String + Send + Sync + 'static,
    ) -> Self {
        self.list_display.push(ListItem::Computed {
            name: name.to_owned(),
            label: label.into(),
            f: Arc::new(f),
        });
        self
    }

    /// The columns that link to the change form (default: the first one).
    pub fn list_display_links(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.list_display_links = columns.into_iter().map(|c| c.as_str().to_owned()).collect();
        self
    }

    /// The columns the search box looks in: each word must appear (ignoring case) in one
    /// of them.
    pub fn search_fields(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.search_fields = columns.into_iter().collect();
        self
    }

    /// The filter sidebar: booleans, enums, dates and foreign keys get choices.
    pub fn list_filter(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.list_filter = columns.into_iter().collect();
        self
    }

    /// Default ordering, as `-created,title` (default: descending primary key).
    pub fn ordering(mut self, ordering: impl Into<String>) -> Self {
        self.ordering = Some(ordering.into());
        self
    }

    /// Rows per changelist page (default 100).
    pub fn list_per_page(mut self, n: u64) -> Self {
        self.list_per_page = n.clamp(1, 1000);
        self
    }

    /// Columns shown on the form but never written, whatever is posted.
    pub fn readonly_fields(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.readonly_fields = columns.into_iter().collect();
        self
    }

    /// The form's fields, in order (default: every column). Columns left out are neither
    /// shown nor written.
    pub fn fields(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.fields = Some(columns.into_iter().collect());
        self
    }

    /// Adds a fieldset (a titled group of fields) to the form, as Django's `fieldsets`.
    pub fn fieldset(
        mut self,
        title: Option<&str>,
        columns: impl IntoIterator<Item = E::Column>,
    ) -> Self {
        self.fieldsets
            .push((title.map(str::to_owned), columns.into_iter().collect()));
        self
    }

    /// Foreign keys edited with a search-as-you-type box instead of a `<select>` of every
    /// row (the related model should have `search_fields`).
    pub fn autocomplete_fields(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.autocomplete_fields = columns.into_iter().collect();
        self
    }

    /// Text columns that may be saved empty (Django's `blank=True`).
    pub fn blank(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.blank = columns.into_iter().collect();
        self
    }

    /// The label of a column on forms and changelists (default: its name, capitalised).
    pub fn label(mut self, column: E::Column, label: impl Into<String>) -> Self {
        self.labels.insert(column.as_str().to_owned(), label.into());
        self
    }

    /// Help text under a form field.
    pub fn help_text(mut self, column: E::Column, help: impl Into<String>) -> Self {
        self.help.insert(column.as_str().to_owned(), help.into());
        self
    }

    /// The values a column may hold, each with its label (Django's `choices`): the
    /// form shows a `<select>`, anything else is refused, and a `list_filter` on the
    /// column offers them.
    pub fn choices<V: ToString, L: Into<String>>(
        mut self,
        column: E::Column,
        choices: impl IntoIterator<Item = (V, L)>,
    ) -> Self {
        self.choices.insert(
            column.as_str().to_owned(),
            choices
                .into_iter()
                .map(|(v, l)| (v.to_string(), l.into()))
                .collect(),
        );
        self
    }

    /// How a row is named in titles, links, confirmations and the history (Django's
    /// `__str__`). Default: `Post object (3)`.
    pub fn display(mut self, f: impl Fn(&E::Model) -> String + Send + Sync + 'static) -> Self {
        self.display = Some(Arc::new(f));
        self
    }

    /// Called before each save from a form or the API with the active model and whether
    /// it is a change (`false` when adding). It may set more columns; an `Err` stops the
    /// save and shows its message on the form.
    pub fn on_save(
        mut self,
        f: impl Fn(&mut E::ActiveModel, bool) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.on_save = Some(Arc::new(f));
        self
    }

    /// Called before a row is deleted (alone or in bulk); an `Err` stops the deletion.
    pub fn on_delete(
        mut self,
        f: impl Fn(&E::Model) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.on_delete = Some(Arc::new(f));
        self
    }

    /// Django's `has_change_permission(request, obj)`: whether `user` may change this
    /// row, asked after the model-level `change` permission passed. It is honoured by
    /// every page, action and API route that writes the row; a user who may still view
    /// the row gets its form read-only. Without a hook, the model permission decides.
    ///
    /// ```
    /// # mod post {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    /// #     #[sea_orm(table_name = "blog_post")]
    /// #     pub struct Model {
    /// #         #[sea_orm(primary_key)]
    /// #         pub id: i32,
    /// #         pub author: String,
    /// #     }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// use batteries_admin::ModelAdmin;
    ///
    /// // Editors change their own posts only; superusers change every post.
    /// let posts = ModelAdmin::<post::Entity>::new()
    ///     .has_change_permission(|user, post| user.is_superuser() || post.author == user.username());
    /// ```
    pub fn has_change_permission(
        mut self,
        f: impl Fn(&dyn AuthUser, &E::Model) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.object_perms.change = Some(Arc::new(f));
        self
    }

    /// Django's `has_view_permission(request, obj)`: whether `user` may see this row,
    /// asked after the model-level `view` permission passed. A row the user may change
    /// is always viewable. Rows refused are left out of changelists, exports and API
    /// lists, and their pages answer 403.
    pub fn has_view_permission(
        mut self,
        f: impl Fn(&dyn AuthUser, &E::Model) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.object_perms.view = Some(Arc::new(f));
        self
    }

    /// Django's `has_delete_permission(request, obj)`: whether `user` may delete this
    /// row, asked after the model-level `delete` permission passed. A bulk deletion that
    /// includes one refused row deletes nothing.
    pub fn has_delete_permission(
        mut self,
        f: impl Fn(&dyn AuthUser, &E::Model) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.object_perms.delete = Some(Arc::new(f));
        self
    }

    // --- changelist options: date_hierarchy, list_editable --------------------------

    /// Django's `date_hierarchy`: a drill-down bar above the changelist listing the
    /// years that have rows, then the months of the chosen year, then its days. The
    /// choices filter the list with `<column>__year=2024`, `<column>__month=3` and
    /// `<column>__day=7`, as in Django (as a range, `>= start AND < end`, so an index on
    /// the column is used). The column must be a date or a date-time; date-times are cut
    /// at UTC midnights.
    ///
    /// # Errors (at `build()`)
    /// When the column is not a date or date-time.
    pub fn date_hierarchy(mut self, column: E::Column) -> Self {
        self.changelist.date_hierarchy = Some(column);
        self
    }

    /// Django's `list_editable`: these changelist columns become inputs of one form
    /// with a Save button, which validates every row as the change form does and saves
    /// them all in one transaction (one history entry per changed row). Rows the user
    /// may not change stay plain text.
    ///
    /// # Errors (at `build()`)
    /// Each column must also be in `list_display`, must not be a link to the change
    /// form (`list_display_links`, by default the first column) and must be editable
    /// (not read-only, not the primary key, not JSON or binary).
    ///
    /// ```
    /// # mod post {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    /// #     #[sea_orm(table_name = "blog_post")]
    /// #     pub struct Model {
    /// #         #[sea_orm(primary_key)]
    /// #         pub id: i32,
    /// #         pub title: String,
    /// #         pub published: bool,
    /// #         pub created: DateTimeUtc,
    /// #     }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// use batteries_admin::ModelAdmin;
    ///
    /// // Titles link to the form; "published" is a checkbox in each row.
    /// let posts = ModelAdmin::<post::Entity>::new()
    ///     .list_display([post::Column::Title, post::Column::Published, post::Column::Created])
    ///     .list_editable([post::Column::Published])
    ///     .date_hierarchy(post::Column::Created);
    /// ```
    pub fn list_editable(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.changelist.list_editable = columns.into_iter().collect();
        self
    }

    /// A many-to-many field kept in a join entity (Django's `ManyToManyField`): shown
    /// on the form at the end of the first fieldset (or of the one it names, whatever
    /// `fields` says), written with the row, served by the API as an array of ids. See
    /// [`ManyToMany`].
    pub fn many_to_many<J, T>(mut self, field: ManyToMany<J, T>) -> Self
    where
        J: EntityTrait,
        J::Model: FromQueryResult + Send + Sync,
        J::ActiveModel: ActiveModelTrait<Entity = J> + ActiveModelBehavior + Send + Sync,
        T: EntityTrait,
        T::Model: FromQueryResult + Send + Sync,
    {
        self.many_to_many.push(Box::new(field));
        self
    }

    /// A bulk action on the changelist, run on the selected rows after a confirmation
    /// page. It needs the model's `change` permission; its `Ok` text is shown as a success
    /// message, its `Err` text as an error.
    ///
    /// ```
    /// # mod post {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    /// #     #[sea_orm(table_name = "blog_post")]
    /// #     pub struct Model {
    /// #         #[sea_orm(primary_key)]
    /// #         pub id: i32,
    /// #         pub published: bool,
    /// #     }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// use batteries_admin::ModelAdmin;
    /// use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    ///
    /// let admin = ModelAdmin::<post::Entity>::new().action(
    ///     "publish",
    ///     "Publish selected posts",
    ///     |db, posts| async move {
    ///         let ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    ///         let n = post::Entity::update_many()
    ///             .col_expr(post::Column::Published, Expr::value(true))
    ///             .filter(post::Column::Id.is_in(ids))
    ///             .exec(&db)
    ///             .await
    ///             .map_err(|e| e.to_string())?
    ///             .rows_affected;
    ///         Ok(format!("{n} posts published."))
    ///     },
    /// );
    /// ```
    pub fn action<F, Fut>(mut self, name: &str, label: impl Into<String>, f: F) -> Self
    where
        F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.actions.push(Action {
            name: name.to_owned(),
            label: label.into(),
            permission: "change",
            f: Arc::new(move |db, rows| Box::pin(f(db, rows))),
        });
        self
    }

    // --- user admin: the password column and the add form ------------------------------

    /// Marks `column` as holding a password hash (Django's `UserAdmin` treatment): it is
    /// never output (change form, changelist, JSON API, OpenAPI) and never written from
    /// a form or the API; the change form shows a masked summary of the hash with a link
    /// to `<pk>/password/`, a page that sets a new password (hashed, through
    /// batteries-auth's validators); and the add form asks for `password1` and
    /// `password2`. [`crate::user_admin()`] sets it for `auth_user`.
    pub fn password_field(mut self, column: E::Column) -> Self {
        self.password.column = Some(column);
        self
    }

    /// Adds a fieldset to the add form only (Django's `UserAdmin.add_fieldsets`); without
    /// any, the add form shows the change form's fieldsets.
    pub fn add_fieldset(
        mut self,
        title: Option<&str>,
        columns: impl IntoIterator<Item = E::Column>,
    ) -> Self {
        self.password
            .add_fieldsets
            .push((title.map(str::to_owned), columns.into_iter().collect()));
        self
    }
}

/// The options of [`ModelAdmin::password_field`] and [`ModelAdmin::add_fieldset`].
struct PasswordOptions<C> {
    column: Option<C>,
    add_fieldsets: Vec<(Option<String>, Vec<C>)>,
}

impl<C> Default for PasswordOptions<C> {
    fn default() -> Self {
        Self {
            column: None,
            add_fieldsets: Vec::new(),
        }
    }
}

/// [`PasswordOptions`] by field index.
#[derive(Debug, Clone, Default)]
pub(crate) struct PasswordInfo {
    /// The field holding a password hash: never output, never written by forms.
    pub(crate) column: Option<usize>,
    /// The add form's fieldsets (empty: the change form's).
    pub(crate) add_fieldsets: Vec<(Option<String>, Vec<usize>)>,
}

impl ModelInfo {
    /// Whether field `i` must never be output (a password hash).
    pub(crate) fn never_output(&self, i: usize) -> bool {
        self.password.column == Some(i)
    }

    /// This model as its add form sees it: its `add_fieldsets` when it has some.
    pub(crate) fn for_add(&self) -> std::borrow::Cow<'_, ModelInfo> {
        if self.password.add_fieldsets.is_empty() {
            std::borrow::Cow::Borrowed(self)
        } else {
            let mut info = self.clone();
            info.fieldsets.clone_from(&self.password.add_fieldsets);
            // Django's add forms with `add_fieldsets` show only those fields.
            info.m2m.clear();
            std::borrow::Cow::Owned(info)
        }
    }
}

// --- inlines, save as new, raw-id fields -------------------------------------------------

impl<E: EntityTrait> ModelAdmin<E> {
    /// Edits the rows of another entity that point at this one on this model's add and
    /// change pages (Django's `inlines`). See [`Inline`](crate::Inline).
    pub fn inline<C>(mut self, inline: crate::Inline<C>) -> Self
    where
        C: EntityTrait,
        C::Model: FromQueryResult + IntoActiveModel<C::ActiveModel> + Send + Sync,
        C::ActiveModel: ActiveModelTrait<Entity = C> + ActiveModelBehavior + Send + Sync,
    {
        self.inlines.push(inline.into_factory());
        self
    }

    /// Adds a "Save as new" button to the change form (Django's `save_as`): it creates a
    /// new row from the posted values (inline rows too, as new rows), leaves the
    /// original unchanged and opens the new row's change page. It needs the `add`
    /// permission.
    pub fn save_as(mut self, on: bool) -> Self {
        self.save_as = on;
        self
    }

    /// Foreign keys edited as a plain input of the related row's id, with a link to
    /// the related changelist to look it up and the chosen row's name beside it
    /// (Django's `raw_id_fields`): no list of every related row is loaded, which is
    /// what a foreign key to a big table needs.
    pub fn raw_id_fields(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.raw_id_fields = columns.into_iter().collect();
        self
    }
}

/// One changelist column.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    Field(usize),
    Computed {
        index: usize,
        label: String,
        /// The name given to `computed` (the export's JSON key).
        name: String,
    },
}

/// Everything the site needs to know of a registered model, without its type.
#[derive(Debug, Clone)]
pub(crate) struct ModelInfo {
    pub(crate) app_label: String,
    pub(crate) model_name: String,
    pub(crate) verbose_name: String,
    pub(crate) verbose_name_plural: String,
    pub(crate) table: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) pk: usize,
    pub(crate) list_display: Vec<Column>,
    pub(crate) list_display_links: Vec<usize>,
    pub(crate) list_filter: Vec<usize>,
    pub(crate) search: Vec<usize>,
    /// Fields the changelist may be ordered and filtered by.
    pub(crate) sortable: Vec<usize>,
    pub(crate) fieldsets: Vec<(Option<String>, Vec<usize>)>,
    pub(crate) actions: Vec<(String, String, &'static str)>,
    pub(crate) per_page: u64,
    pub(crate) default_ordering: String,
    /// The `date_hierarchy` field, if any.
    pub(crate) date_hierarchy: Option<usize>,
    /// The `list_editable` fields.
    pub(crate) list_editable: Vec<usize>,
    pub(crate) password: PasswordInfo,
    /// Whether the change form offers "Save as new".
    pub(crate) save_as: bool,
    /// The many-to-many fields, in the order registered.
    pub(crate) m2m: Vec<Arc<dyn M2mField>>,
}

impl ModelInfo {
    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub(crate) fn pk_field(&self) -> &Field {
        &self.fields[self.pk]
    }

    /// What to say about a unique-constraint refusal whose database message is
    /// `message`: the field it names (when one of the unique fields appears in it) and
    /// Django's text.
    pub(crate) fn unique_clash(&self, message: &str) -> (Option<&str>, String) {
        match self
            .fields
            .iter()
            .find(|f| f.unique && !f.auto && message.contains(&f.name))
        {
            Some(f) => (
                Some(f.name.as_str()),
                format!(
                    "{} with this {} already exists.",
                    label_of(&self.verbose_name),
                    f.label
                ),
            ),
            None => (
                None,
                format!("A {} with these values already exists.", self.verbose_name),
            ),
        }
    }

    /// The labels of the fields whose posted `values` differ from `row`'s, compared as
    /// the JSON API writes them (so `1.50` and `1.5` are the same price): what the
    /// history's "Changed …" lists.
    pub(crate) fn changed_labels(&self, row: &Row, values: &[(usize, Value)]) -> Vec<&str> {
        values
            .iter()
            .filter(|(i, v)| {
                let kind = &self.fields[*i].kind;
                to_json(&row.values[*i], kind) != to_json(v, kind)
            })
            .map(|(i, _)| self.fields[*i].label.as_str())
            .collect()
    }

    pub(crate) fn perm(&self, action: &str) -> String {
        format!("{}.{action}_{}", self.app_label, self.model_name)
    }
}

/// A row as the site sees it: one value per field, its name and its computed columns.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The model itself, for the object-permission hooks.
    pub(crate) model: Option<Arc<dyn std::any::Any + Send + Sync>>,
    pub(crate) pk: String,
    pub(crate) values: Vec<Value>,
    pub(crate) repr: String,
    pub(crate) computed: Vec<String>,
}

/// One page of a changelist.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) rows: Vec<Row>,
    pub(crate) total: Total,
    pub(crate) number: u64,
    pub(crate) per_page: u64,
    pub(crate) has_next: bool,
}

/// Why a listing could not be made.
#[derive(Debug)]
pub(crate) enum ListError {
    /// The query string: a readable message.
    Query(String),
    Db(DbErr),
}

/// Why a save or a deletion failed.
#[derive(Debug)]
pub(crate) enum SaveError {
    /// A field's value was refused by the model (index, message).
    Field(usize, String),
    /// A hook or a constraint refused the save; a readable message.
    Invalid(String),
    /// A unique constraint: the columns it names, if they could be told.
    Unique(String),
    /// A foreign key points nowhere, or rows still point here.
    ForeignKey(String),
    NotFound,
    Db(DbErr),
}

impl From<DbErr> for SaveError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(m)) => SaveError::Unique(m),
            Some(SqlErr::ForeignKeyConstraintViolation(m)) => SaveError::ForeignKey(m),
            _ => SaveError::Db(e),
        }
    }
}

/// A registered model with its type erased.
#[async_trait]
pub(crate) trait AdminModel: Send + Sync {
    fn info(&self) -> &ModelInfo;

    /// Whether the object hook for `action` (`view`, `change`, `delete`) lets `user` act
    /// on `row`; `true` when there is no hook. The model-level permission is checked
    /// apart (see `views::may`).
    fn object_allows(&self, user: &dyn AuthUser, action: &str, row: &Row) -> bool;

    /// Whether any object-level hook is set.
    fn has_object_hooks(&self) -> bool;

    /// A changelist page for the query string's pairs.
    async fn list(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        count_limit: u64,
    ) -> Result<ListPage, ListError>;

    /// The primary keys of every row the query string's filters and search select, at
    /// most `cap` (Django's "select all" across pages). `None` when there are more.
    async fn matching_pks(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        cap: u64,
    ) -> Result<Option<Vec<String>>, ListError>;

    /// The distinct years (or months, or days) of field `column` among the rows the
    /// query string's filters select, ascending (the `date_hierarchy`'s choices).
    async fn dates(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        column: usize,
        part: DatePart,
    ) -> Result<Vec<i64>, ListError>;

    /// The row with primary key `pk` (`None` for a malformed or unknown key).
    async fn get(&self, db: &DatabaseConnection, pk: &str) -> Result<Option<Row>, DbErr>;

    /// The rows with these primary keys (malformed keys are skipped).
    async fn get_many(&self, db: &DatabaseConnection, pks: &[String]) -> Result<Vec<Row>, DbErr>;

    /// The names of the rows whose primary key is among `values`, by primary key.
    async fn reprs(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<HashMap<String, String>, DbErr>;

    /// `(pk, name)` of up to `limit` rows, searched by `term` when given.
    async fn choices(
        &self,
        db: &DatabaseConnection,
        term: Option<&str>,
        limit: u64,
    ) -> Result<Vec<(String, String)>, DbErr>;

    /// How many rows have `column` among `values`, with the names of the first few.
    async fn related(
        &self,
        db: &DatabaseConnection,
        column: usize,
        values: Vec<Value>,
        examples: u64,
    ) -> Result<(u64, Vec<String>), DbErr>;

    async fn insert(
        &self,
        db: &sea_orm::DatabaseTransaction,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError>;

    async fn update(
        &self,
        db: &sea_orm::DatabaseTransaction,
        pk: &str,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError>;

    /// Deletes the rows (after the `on_delete` hook accepted each one).
    async fn delete(
        &self,
        db: &sea_orm::DatabaseTransaction,
        pks: &[String],
    ) -> Result<u64, SaveError>;

    async fn run_action(
        &self,
        db: &DatabaseConnection,
        name: &str,
        pks: &[String],
    ) -> Result<String, String>;

    /// The inlines edited on this model's forms.
    fn inlines(&self) -> &[crate::inline::InlineSet] {
        &[]
    }

    /// The rows whose `column` equals `value`, by ascending primary key, each with its
    /// model (for the object-permission hooks). One query.
    async fn children(
        &self,
        db: &DatabaseConnection,
        column: usize,
        value: Value,
    ) -> Result<Vec<Row>, DbErr>;
    // ---- Export (views/export.rs) ----

    /// One batch of an export: up to `size` rows the query string's pairs select (as
    /// the changelist parses them; `page` and `per_page` ignored), in the changelist's
    /// order, from `from` on (`None`: the first batch). Returns the rows and where the
    /// next batch starts (`None` after the last).
    async fn export_batch(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        from: Option<ExportFrom>,
        size: u64,
    ) -> Result<(Vec<Row>, Option<ExportFrom>), ListError>;
}

/// Where an export's next batch starts.
#[derive(Debug, Clone)]
pub(crate) enum ExportFrom {
    /// After the row of this keyset cursor (orderings on NOT NULL columns).
    Keyset(String),
    /// At this offset (an ordering on a nullable column, which a keyset cannot follow).
    Offset(u64),
}

pub(crate) struct EntityAdmin<E: EntityTrait> {
    info: ModelInfo,
    columns: Vec<E::Column>,
    filters: FilterSet<E>,
    computed: Vec<DisplayFn<E::Model>>,
    display: Option<DisplayFn<E::Model>>,
    on_save: Option<SaveHook<E::ActiveModel>>,
    on_delete: Option<DeleteHook<E::Model>>,
    actions: Vec<Action<E::Model>>,
    object_perms: ObjectPerms<E::Model>,
    inlines: Vec<crate::inline::InlineSet>,
}

pub(crate) fn foreign_keys<E: EntityTrait>() -> HashMap<String, ForeignKey>
where
    E::Relation: RelationTrait,
{
    let mut out = HashMap::new();
    for relation in E::Relation::iter() {
        let def: RelationDef = relation.def();
        // `belongs_to` relations are the ones whose `from_col` is this entity's foreign
        // key column; SeaORM marks them `is_owner == false` (`has_many`/`has_one` are
        // the reverse of the other entity's `belongs_to`).
        if def.is_owner {
            continue;
        }
        if let (
            sea_orm::Identity::Unary(from),
            sea_orm::Identity::Unary(to),
            sea_orm::sea_query::TableRef::Table(table, _),
        ) = (&def.from_col, &def.to_col, &def.to_tbl)
        {
            out.insert(
                from.to_string(),
                ForeignKey {
                    table: table.1.to_string(),
                    column: to.to_string(),
                    on_delete: def.on_delete.as_ref().map(|a| {
                        use sea_orm::sea_query::ForeignKeyAction as A;
                        match a {
                            A::Cascade => "CASCADE",
                            A::SetNull => "SET NULL",
                            A::SetDefault => "SET DEFAULT",
                            A::Restrict => "RESTRICT",
                            _ => "NO ACTION",
                        }
                        .to_owned()
                    }),
                },
            );
        }
    }
    out
}

/// A part of a date the `date_hierarchy` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePart {
    Year,
    Month,
    Day,
}

/// The `__year`, `__month` and `__day` pairs of one field, as given.
type DrillParams = [Option<(String, String)>; 3];

/// Rewrites the changelist's date parameters into lookups `FilterSet` knows, as ranges
/// an index can serve (`>= start AND < end`, never a function of the column):
///
/// - `<f>__year=2024`, `<f>__month=3`, `<f>__day=7` (Django's `date_hierarchy`),
/// - `<f>__range__gte=2024-01-01` and `<f>__range__lte=2024-01-31` (the From/To form,
///   both days included; empty values are ignored).
///
/// Date-times are cut at UTC midnights. Other pairs pass unchanged.
///
/// # Errors
/// A readable message for a malformed or impossible value.
pub(crate) fn expand_date_params(
    info: &ModelInfo,
    pairs: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    use chrono::{Datelike, Months, NaiveDate};
    let is_date = |name: &str| {
        info.field_index(name).filter(|&i| {
            matches!(
                info.fields[i].kind,
                Kind::Date | Kind::DateTime | Kind::DateTimeTz
            )
        })
    };
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let in_range = |d: NaiveDate| (1000..=9999).contains(&d.year());
    let mut out = Vec::with_capacity(pairs.len());
    // field -> (year, month, day) as given.
    let mut drill: Vec<(String, DrillParams)> = Vec::new();
    for (k, v) in pairs {
        let part = [("__year", 0), ("__month", 1), ("__day", 2)]
            .into_iter()
            .find_map(|(suffix, n)| {
                k.strip_suffix(suffix)
                    .filter(|f| is_date(f).is_some())
                    .map(|f| (f, n))
            });
        if let Some((f, n)) = part {
            let at = drill
                .iter()
                .position(|(name, _)| name == f)
                .unwrap_or_else(|| {
                    drill.push((f.to_owned(), [None, None, None]));
                    drill.len() - 1
                });
            drill[at].1[n] = Some((k.clone(), v.clone()));
            continue;
        }
        let range = [("__range__gte", false), ("__range__lte", true)]
            .into_iter()
            .find_map(|(suffix, upper)| {
                k.strip_suffix(suffix)
                    .filter(|f| is_date(f).is_some())
                    .map(|f| (f, upper))
            });
        if let Some((f, upper)) = range {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .filter(|d| in_range(*d))
                .ok_or_else(|| {
                    format!(
                        "{}: {} is not a date (YYYY-MM-DD, years 1000 to 9999)",
                        crate::field::truncate(k),
                        crate::field::truncate(v)
                    )
                })?;
            if upper {
                // Up to and including that day.
                if let Some(next) = d.succ_opt().filter(|d| in_range(*d)) {
                    out.push((format!("{f}__lt"), day(next)));
                }
            } else {
                out.push((format!("{f}__gte"), day(d)));
            }
            continue;
        }
        out.push((k.clone(), v.clone()));
    }
    for (f, [year, month, dom]) in drill {
        let number =
            |p: &Option<(String, String)>, lo: u32, hi: u32| -> Result<Option<u32>, String> {
                match p {
                    None => Ok(None),
                    Some((k, v)) => match v.trim().parse::<u32>() {
                        Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
                        _ => Err(format!(
                            "{}: {} is not a number from {lo} to {hi}",
                            crate::field::truncate(k),
                            crate::field::truncate(v)
                        )),
                    },
                }
            };
        let y = number(&year, 1000, 9999)?;
        let m = number(&month, 1, 12)?;
        let d = number(&dom, 1, 31)?;
        let (start, end) = match (y, m, d) {
            (None, None, None) => continue,
            (Some(y), None, None) => {
                let start = NaiveDate::from_ymd_opt(y as i32, 1, 1);
                (
                    start,
                    start.and_then(|s| s.checked_add_months(Months::new(12))),
                )
            }
            (Some(y), Some(m), None) => {
                let start = NaiveDate::from_ymd_opt(y as i32, m, 1);
                (
                    start,
                    start.and_then(|s| s.checked_add_months(Months::new(1))),
                )
            }
            (Some(y), Some(m), Some(d)) => {
                let start = NaiveDate::from_ymd_opt(y as i32, m, d);
                if start.is_none() {
                    return Err(format!("{f}: {y:04}-{m:02}-{d:02} is not a date"));
                }
                (start, start.and_then(|s| s.succ_opt()))
            }
            _ => {
                return Err(format!(
                    "{f}__month needs {f}__year, and {f}__day needs both"
                ));
            }
        };
        let start = start.ok_or_else(|| format!("{f}: not a date"))?;
        out.push((format!("{f}__gte"), day(start)));
        if let Some(end) = end.filter(|e| in_range(*e)) {
            out.push((format!("{f}__lt"), day(end)));
        }
    }
    Ok(out)
}

/// Checks `date_hierarchy` and `list_editable` (Django's rules) and gives their
/// field indices.
fn changelist_options<E: EntityTrait>(
    options: &ChangelistOptions<E>,
    fields: &[Field],
    list_display: &[Column],
    list_display_links: &[usize],
    table: &str,
    index_of: impl Fn(&E::Column) -> usize,
) -> Result<(Option<usize>, Vec<usize>), String> {
    let date_hierarchy = match &options.date_hierarchy {
        Some(c) => {
            let i = index_of(c);
            if !matches!(
                fields[i].kind,
                Kind::Date | Kind::DateTime | Kind::DateTimeTz
            ) {
                return Err(format!(
                    "date_hierarchy `{}` of `{table}` is not a date or date-time column",
                    fields[i].name
                ));
            }
            Some(i)
        }
        None => None,
    };
    let mut list_editable = Vec::new();
    for c in &options.list_editable {
        let i = index_of(c);
        let name = &fields[i].name;
        let Some(position) = list_display
            .iter()
            .position(|col| matches!(col, Column::Field(j) if *j == i))
        else {
            return Err(format!(
                "list_editable `{name}` of `{table}` is not in list_display"
            ));
        };
        if list_display_links.contains(&position) {
            return Err(format!(
                "list_editable `{name}` of `{table}` links to the change form (list_display_links); it cannot be both"
            ));
        }
        let field = &fields[i];
        if !field.editable(false) || matches!(field.kind, Kind::Json) {
            return Err(format!(
                "list_editable `{name}` of `{table}` is read-only, the primary key, or not editable in a cell"
            ));
        }
        if !list_editable.contains(&i) {
            list_editable.push(i);
        }
    }
    Ok((date_hierarchy, list_editable))
}

impl<E> EntityAdmin<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    pub(crate) fn new(admin: ModelAdmin<E>) -> Result<Self, String> {
        let table = E::default().table_name().to_owned();
        let mut pks = E::PrimaryKey::iter();
        let (Some(pk_col), None) = (pks.next().map(PrimaryKeyToColumn::into_column), pks.next())
        else {
            return Err(format!(
                "`{table}` needs a single-column primary key to be registered"
            ));
        };
        let auto = <E::PrimaryKey as PrimaryKeyTrait>::auto_increment();
        let fks = foreign_keys::<E>();
        let (app_default, model_default) = match table.split_once('_') {
            Some((app, model)) => (app.to_owned(), model.to_owned()),
            None => ("app".to_owned(), table.clone()),
        };
        let app_label = admin.app_label.clone().unwrap_or(app_default);
        let model_name = admin
            .model_name
            .clone()
            .unwrap_or(model_default)
            .to_lowercase();
        let verbose_name = admin
            .verbose_name
            .clone()
            .unwrap_or_else(|| model_name.replace('_', " "));
        let verbose_name_plural = admin
            .verbose_name_plural
            .clone()
            .unwrap_or_else(|| format!("{verbose_name}s"));
        let columns: Vec<E::Column> = E::Column::iter().collect();
        let has = |list: &[E::Column], c: &E::Column| list.iter().any(|x| x.as_str() == c.as_str());
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| {
                let def = c.def();
                let name = c.as_str().to_owned();
                let (kind, max_length, long_text) = Field::from_column_type(def.get_column_type());
                let primary_key = c.as_str() == pk_col.as_str();
                Field {
                    label: admin
                        .labels
                        .get(&name)
                        .cloned()
                        .unwrap_or_else(|| label_of(&name)),
                    help: admin.help.get(&name).cloned(),
                    choices: admin.choices.get(&name).cloned(),
                    kind,
                    nullable: def.is_null(),
                    primary_key,
                    auto: primary_key && auto,
                    has_default: def.get_column_default().is_some() || (primary_key && auto),
                    max_length,
                    digits: Field::digits_of(def.get_column_type()),
                    long_text,
                    unique: def.is_unique() || primary_key,
                    foreign_key: fks.get(&name).cloned(),
                    readonly: has(&admin.readonly_fields, c)
                        || admin
                            .password
                            .column
                            .is_some_and(|p| p.as_str() == c.as_str()),
                    blank: has(&admin.blank, c),
                    autocomplete: has(&admin.autocomplete_fields, c),
                    raw_id: has(&admin.raw_id_fields, c),
                    name,
                }
            })
            .collect();
        if let Some(f) = fields.iter().find(|f| f.raw_id && f.foreign_key.is_none()) {
            return Err(format!(
                "raw_id_fields: `{}` of `{table}` is not a foreign key",
                f.name
            ));
        }
        let index_of = |c: &E::Column| {
            columns
                .iter()
                .position(|x| x.as_str() == c.as_str())
                .unwrap_or_default()
        };
        let pk = index_of(&pk_col);

        let mut computed = Vec::new();
        let mut list_display = Vec::new();
        for item in admin.list_display {
            match item {
                ListItem::Column(c) => list_display.push(Column::Field(index_of(&c))),
                ListItem::Computed { name, label, f } => {
                    list_display.push(Column::Computed {
                        index: computed.len(),
                        label,
                        name,
                    });
                    computed.push(f);
                }
            }
        }
        if list_display.is_empty() {
            list_display = (0..fields.len())
                .filter(|&i| !matches!(fields[i].kind, Kind::Json | Kind::Bytes | Kind::Other))
                .filter(|&i| !fields[i].long_text)
                .take(8)
                .map(Column::Field)
                .collect();
        }
        // A password hash is never listed, searched, filtered or ordered by.
        let password = admin.password.column.as_ref().map(index_of);
        list_display.retain(|c| !matches!(c, Column::Field(i) if Some(*i) == password));
        let list_display_links: Vec<usize> = if admin.list_display_links.is_empty() {
            vec![0]
        } else {
            list_display
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    matches!(c, Column::Field(i) if admin.list_display_links.contains(&fields[*i].name))
                })
                .map(|(i, _)| i)
                .collect()
        };

        // What may be ordered and filtered: the listed columns, the filters, the pk.
        let mut sortable: Vec<usize> = vec![pk];
        for c in &list_display {
            if let Column::Field(i) = c {
                sortable.push(*i);
            }
        }
        let list_filter: Vec<usize> = admin.list_filter.iter().map(index_of).collect();
        sortable.extend(list_filter.iter().copied());
        sortable.sort_unstable();
        sortable.dedup();
        sortable.retain(|&i| Some(i) != password);
        let search: Vec<usize> = admin.search_fields.iter().map(index_of).collect();
        if password.is_some_and(|p| search.contains(&p) || list_filter.contains(&p)) {
            return Err(format!(
                "the password column of `{table}` cannot be searched or filtered"
            ));
        }
        if let Some(i) = search
            .iter()
            .find(|&&i| !matches!(fields[i].kind, Kind::Text | Kind::Enum(_)))
        {
            return Err(format!(
                "search field `{}` of `{table}` is not a text column",
                fields[*i].name
            ));
        }

        let mut filters = FilterSet::<E>::new()
            .search_param("q")
            .default_per_page(admin.list_per_page)
            .max_per_page(admin.list_per_page.max(1000))
            .ignore("_changelist_filters");
        for &i in &sortable {
            filters = filters.field(columns[i]);
        }
        filters = filters.search(admin.search_fields.iter().copied());
        let default_ordering = admin
            .ordering
            .clone()
            .unwrap_or_else(|| format!("-{}", pk_col.as_str()));
        // Validate the ordering before `default_ordering`, which panics on a bad one.
        let probe = filters.parse(&format!(
            "ordering={}",
            url::form_urlencoded::byte_serialize(default_ordering.as_bytes()).collect::<String>()
        ));
        if let Err(e) = probe {
            return Err(format!("ordering of `{table}`: {e}"));
        }
        // A total order: the primary key breaks ties, so pages never overlap.
        let pk_name = pk_col.as_str();
        let tie_break = if default_ordering
            .split(',')
            .any(|p| p.trim().trim_start_matches('-') == pk_name)
        {
            default_ordering.clone()
        } else {
            format!("{default_ordering},-{pk_name}")
        };
        let filters = filters.default_ordering(&tie_break);

        let form_columns: Vec<usize> = match &admin.fields {
            Some(cols) => cols.iter().map(index_of).collect(),
            None => (0..fields.len()).collect(),
        };
        let fieldsets: Vec<(Option<String>, Vec<usize>)> = if admin.fieldsets.is_empty() {
            vec![(None, form_columns)]
        } else {
            admin
                .fieldsets
                .iter()
                .map(|(t, cols)| (t.clone(), cols.iter().map(index_of).collect()))
                .collect()
        };

        let (date_hierarchy, list_editable) = changelist_options(
            &admin.changelist,
            &fields,
            &list_display,
            &list_display_links,
            &table,
            index_of,
        )?;

        let inlines = admin
            .inlines
            .into_iter()
            .map(|factory| factory(&table))
            .collect::<Result<Vec<_>, String>>()?;
        let m2m = admin
            .many_to_many
            .into_iter()
            .map(|m| m.build(&table, &fields))
            .collect::<Result<Vec<_>, String>>()?;
        let info = ModelInfo {
            app_label,
            model_name,
            verbose_name,
            verbose_name_plural,
            table,
            fields,
            pk,
            list_display,
            list_display_links,
            list_filter,
            search,
            sortable,
            fieldsets,
            actions: admin
                .actions
                .iter()
                .map(|a| (a.name.clone(), a.label.clone(), a.permission))
                .collect(),
            per_page: admin.list_per_page,
            default_ordering: tie_break,
            date_hierarchy,
            list_editable,
            password: PasswordInfo {
                column: admin.password.column.as_ref().map(index_of),
                add_fieldsets: admin
                    .password
                    .add_fieldsets
                    .iter()
                    .map(|(t, cols)| (t.clone(), cols.iter().map(index_of).collect()))
                    .collect(),
            },
            save_as: admin.save_as,
            m2m,
        };
        Ok(Self {
            info,
            columns,
            filters,
            computed,
            display: admin.display,
            on_save: admin.on_save,
            on_delete: admin.on_delete,
            actions: admin.actions,
            object_perms: admin.object_perms,
            inlines,
        })
    }

    fn pk_column(&self) -> E::Column {
        self.columns[self.info.pk]
    }

    fn parse_pk(&self, pk: &str) -> Option<Value> {
        let field = self.info.pk_field();
        field.kind.parse(pk).ok()
    }

    fn row(&self, model: &E::Model) -> Row {
        let values: Vec<Value> = self.columns.iter().map(|c| model.get(*c)).collect();
        let pk = pk_string(&values[self.info.pk]);
        let repr = match &self.display {
            Some(f) => f(model),
            None => format!("{} object ({pk})", label_of(&self.info.verbose_name)),
        };
        Row {
            model: self
                .object_perms
                .any()
                .then(|| Arc::new(model.clone()) as Arc<dyn std::any::Any + Send + Sync>),
            pk,
            computed: self.computed.iter().map(|f| f(model)).collect(),
            values,
            repr,
        }
    }

    async fn models_by_pk(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        pks: &[String],
    ) -> Result<Vec<E::Model>, DbErr> {
        let values: Vec<Value> = pks.iter().filter_map(|p| self.parse_pk(p)).collect();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        E::find()
            .filter(self.pk_column().is_in(values))
            .order_by_asc(self.pk_column())
            .all(db)
            .await
    }
}

#[async_trait]
impl<E> AdminModel for EntityAdmin<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn object_allows(&self, user: &dyn AuthUser, action: &str, row: &Row) -> bool {
        let hook = match action {
            "view" => &self.object_perms.view,
            "change" => &self.object_perms.change,
            "delete" => &self.object_perms.delete,
            _ => return true,
        };
        let Some(hook) = hook else { return true };
        // A row read without its model cannot be judged: refuse.
        row.model
            .as_ref()
            .and_then(|m| m.downcast_ref::<E::Model>())
            .is_some_and(|m| hook(user, m))
    }

    fn has_object_hooks(&self) -> bool {
        self.object_perms.any()
    }

    async fn list(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        count_limit: u64,
    ) -> Result<ListPage, ListError> {
        let pairs = expand_date_params(&self.info, pairs).map_err(ListError::Query)?;
        let params = self
            .filters
            .parse_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| ListError::Query(e.to_string()))?;
        let page = Paginator::new()
            .count_limit(count_limit)
            .page_for(db, E::find(), &params)
            .await
            .map_err(|e| match e {
                batteries_orm::Error::Db(e) => ListError::Db(e),
                other => ListError::Query(other.to_string()),
            })?;
        Ok(ListPage {
            rows: page.items.iter().map(|m| self.row(m)).collect(),
            total: page.total,
            number: page.number,
            per_page: page.per_page,
            has_next: page.has_next,
        })
    }

    async fn matching_pks(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        cap: u64,
    ) -> Result<Option<Vec<String>>, ListError> {
        let pairs = expand_date_params(&self.info, pairs).map_err(ListError::Query)?;
        let pairs = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let params = self
            .filters
            .parse_pairs(pairs)
            .map_err(|e| ListError::Query(e.to_string()))?;
        let rows = params
            .apply(E::find(), db.get_database_backend())
            .limit(cap + 1)
            .all(db)
            .await
            .map_err(ListError::Db)?;
        if rows.len() as u64 > cap {
            return Ok(None);
        }
        Ok(Some(
            rows.iter()
                .map(|m| pk_string(&m.get(self.pk_column())))
                .collect(),
        ))
    }

    async fn dates(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        column: usize,
        part: DatePart,
    ) -> Result<Vec<i64>, ListError> {
        use sea_orm::sea_query::{Expr, SimpleExpr};
        let pairs = expand_date_params(&self.info, pairs).map_err(ListError::Query)?;
        let params = self
            .filters
            .parse_pairs(
                pairs
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "page" | "per_page" | "ordering" | "cursor")
                    })
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|e| ListError::Query(e.to_string()))?;
        let backend = db.get_database_backend();
        let col = self.columns[column];
        let utc = matches!(self.info.fields[column].kind, Kind::DateTimeTz);
        // The part as a BIGINT on every backend; date-times in UTC (SQLite's strftime
        // converts offsets to UTC; sqlx's MySQL sessions run in UTC). The column's
        // placeholder is `$1` for PostgreSQL and `?` for the others.
        let sql = match (backend, part) {
            (sea_orm::DbBackend::Sqlite, DatePart::Year) => "CAST(strftime('%Y', ?) AS INTEGER)",
            (sea_orm::DbBackend::Sqlite, DatePart::Month) => "CAST(strftime('%m', ?) AS INTEGER)",
            (sea_orm::DbBackend::Sqlite, DatePart::Day) => "CAST(strftime('%d', ?) AS INTEGER)",
            (sea_orm::DbBackend::MySql, DatePart::Year) => "CAST(YEAR(?) AS SIGNED)",
            (sea_orm::DbBackend::MySql, DatePart::Month) => "CAST(MONTH(?) AS SIGNED)",
            (sea_orm::DbBackend::MySql, DatePart::Day) => "CAST(DAY(?) AS SIGNED)",
            (_, DatePart::Year) if utc => {
                "CAST(EXTRACT(YEAR FROM $1 AT TIME ZONE 'UTC') AS BIGINT)"
            }
            (_, DatePart::Month) if utc => {
                "CAST(EXTRACT(MONTH FROM $1 AT TIME ZONE 'UTC') AS BIGINT)"
            }
            (_, DatePart::Day) if utc => "CAST(EXTRACT(DAY FROM $1 AT TIME ZONE 'UTC') AS BIGINT)",
            (_, DatePart::Year) => "CAST(EXTRACT(YEAR FROM $1) AS BIGINT)",
            (_, DatePart::Month) => "CAST(EXTRACT(MONTH FROM $1) AS BIGINT)",
            (_, DatePart::Day) => "CAST(EXTRACT(DAY FROM $1) AS BIGINT)",
        };
        let part_expr: SimpleExpr = Expr::cust_with_exprs(sql, [Expr::col(col)]);
        let mut found: Vec<i64> = E::find()
            .select_only()
            .column_as(part_expr, "part")
            .filter(params.condition(backend))
            .filter(col.is_not_null())
            .distinct()
            .limit(10_000)
            .into_tuple::<i64>()
            .all(db)
            .await
            .map_err(ListError::Db)?;
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    async fn get(&self, db: &DatabaseConnection, pk: &str) -> Result<Option<Row>, DbErr> {
        let Some(value) = self.parse_pk(pk) else {
            return Ok(None);
        };
        Ok(E::find()
            .filter(self.pk_column().eq(value))
            .one(db)
            .await?
            .map(|m| self.row(&m)))
    }

    async fn get_many(&self, db: &DatabaseConnection, pks: &[String]) -> Result<Vec<Row>, DbErr> {
        Ok(self
            .models_by_pk(db, pks)
            .await?
            .iter()
            .map(|m| self.row(m))
            .collect())
    }

    async fn reprs(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<HashMap<String, String>, DbErr> {
        if values.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = E::find()
            .filter(self.pk_column().is_in(values))
            .all(db)
            .await?;
        Ok(rows
            .iter()
            .map(|m| {
                let row = self.row(m);
                (row.pk, row.repr)
            })
            .collect())
    }

    async fn choices(
        &self,
        db: &DatabaseConnection,
        term: Option<&str>,
        limit: u64,
    ) -> Result<Vec<(String, String)>, DbErr> {
        let mut select = E::find();
        if let Some(term) = term.map(str::trim).filter(|t| !t.is_empty()) {
            let mut any = sea_orm::Condition::any();
            if !self.info.search.is_empty() {
                // The changelist's own search, so both find the same rows.
                if let Ok(params) = self.filters.parse_pairs([("q", term)]) {
                    any = any.add(params.condition(db.get_database_backend()));
                }
            }
            if let Ok(pk) = self.info.pk_field().kind.parse(term) {
                any = any.add(self.pk_column().eq(pk));
            }
            select = select.filter(any);
        }
        let rows = select
            .order_by_asc(self.pk_column())
            .limit(limit)
            .all(db)
            .await?;
        Ok(rows
            .iter()
            .map(|m| {
                let row = self.row(m);
                (row.pk, row.repr)
            })
            .collect())
    }

    async fn related(
        &self,
        db: &DatabaseConnection,
        column: usize,
        values: Vec<Value>,
        examples: u64,
    ) -> Result<(u64, Vec<String>), DbErr> {
        if values.is_empty() {
            return Ok((0, Vec::new()));
        }
        let select = E::find().filter(self.columns[column].is_in(values));
        let count = select.clone().count(db).await?;
        let first = select
            .order_by_asc(self.pk_column())
            .limit(examples)
            .all(db)
            .await?;
        Ok((count, first.iter().map(|m| self.row(m).repr).collect()))
    }

    async fn insert(
        &self,
        db: &sea_orm::DatabaseTransaction,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError> {
        let mut active = <E::ActiveModel as ActiveModelTrait>::default();
        for (i, value) in values {
            set_column(&mut active, self.columns[i], value).map_err(|e| SaveError::Field(i, e))?;
        }
        if let Some(hook) = &self.on_save {
            hook(&mut active, false).map_err(SaveError::Invalid)?;
        }
        let model = active.insert(db).await?;
        Ok(self.row(&model))
    }

    async fn update(
        &self,
        db: &sea_orm::DatabaseTransaction,
        pk: &str,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError> {
        let Some(pk_value) = self.parse_pk(pk) else {
            return Err(SaveError::NotFound);
        };
        let Some(model) = E::find()
            .filter(self.pk_column().eq(pk_value))
            .one(db)
            .await?
        else {
            return Err(SaveError::NotFound);
        };
        let mut active = model.clone().into_active_model();
        for (i, value) in values {
            let kind = &self.info.fields[i].kind;
            if to_json(&model.get(self.columns[i]), kind) != to_json(&value, kind) {
                set_column(&mut active, self.columns[i], value)
                    .map_err(|e| SaveError::Field(i, e))?;
            }
        }
        if let Some(hook) = &self.on_save {
            hook(&mut active, true).map_err(SaveError::Invalid)?;
        }
        if !active.is_changed() {
            return Ok(self.row(&model));
        }
        let model = active.update(db).await?;
        Ok(self.row(&model))
    }

    async fn delete(
        &self,
        db: &sea_orm::DatabaseTransaction,
        pks: &[String],
    ) -> Result<u64, SaveError> {
        let models = self.models_by_pk(db, pks).await?;
        if let Some(hook) = &self.on_delete {
            for m in &models {
                hook(m).map_err(SaveError::Invalid)?;
            }
        }
        if models.is_empty() {
            return Ok(0);
        }
        let values: Vec<Value> = models.iter().map(|m| m.get(self.pk_column())).collect();
        if !self.info.m2m.is_empty() {
            // Their join rows go with them, whether or not the database cascades.
            let parents: Vec<Vec<Value>> = models
                .iter()
                .map(|m| self.columns.iter().map(|c| m.get(*c)).collect())
                .collect();
            crate::m2m::clear(db, &self.info, &parents).await?;
        }
        let result = E::delete_many()
            .filter(self.pk_column().is_in(values))
            .exec(db)
            .await?;
        Ok(result.rows_affected)
    }

    async fn export_batch(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        from: Option<ExportFrom>,
        size: u64,
    ) -> Result<(Vec<Row>, Option<ExportFrom>), ListError> {
        let pairs = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page" && k != "format")
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let params = self
            .filters
            .parse_pairs(pairs)
            .map_err(|e| ListError::Query(e.to_string()))?;
        let backend = db.get_database_backend();
        let order = params.order_by();
        let size = size.max(1);
        if order.iter().all(|(c, _)| !c.def().is_null()) {
            // A keyset: each batch is an index range, however deep into the table.
            let cursor = match from {
                Some(ExportFrom::Keyset(c)) => Some(c),
                _ => None,
            };
            let page = export_keyset()
                .page(
                    db,
                    E::find().filter(params.condition(backend)),
                    &order,
                    cursor.as_deref(),
                    size,
                    &params.fingerprint(),
                )
                .await
                .map_err(|e| match e {
                    batteries_orm::Error::Db(e) => ListError::Db(e),
                    other => ListError::Query(other.to_string()),
                })?;
            let rows = page.items.iter().map(|m| self.row(m)).collect();
            return Ok((rows, page.next_cursor.map(ExportFrom::Keyset)));
        }
        let offset = match from {
            Some(ExportFrom::Offset(n)) => n,
            _ => 0,
        };
        let items = params
            .apply(E::find(), backend)
            .offset(offset)
            .limit(size)
            .all(db)
            .await
            .map_err(ListError::Db)?;
        let next = (items.len() as u64 == size).then_some(ExportFrom::Offset(offset + size));
        Ok((items.iter().map(|m| self.row(m)).collect(), next))
    }

    async fn run_action(
        &self,
        db: &DatabaseConnection,
        name: &str,
        pks: &[String],
    ) -> Result<String, String> {
        let Some(action) = self.actions.iter().find(|a| a.name == name) else {
            return Err(format!("No action named {}.", crate::field::truncate(name)));
        };
        let models = self
            .models_by_pk(db, pks)
            .await
            .map_err(|_| "The database is unavailable; nothing was done.".to_owned())?;
        if models.is_empty() {
            return Err("No items selected; nothing was done.".into());
        }
        (action.f)(db.clone(), models).await
    }

    fn inlines(&self) -> &[crate::inline::InlineSet] {
        &self.inlines
    }

    async fn children(
        &self,
        db: &DatabaseConnection,
        column: usize,
        value: Value,
    ) -> Result<Vec<Row>, DbErr> {
        let models = E::find()
            .filter(self.columns[column].eq(value))
            .order_by_asc(self.pk_column())
            .all(db)
            .await?;
        Ok(models
            .into_iter()
            .map(|m| {
                let mut row = self.row(&m);
                if row.model.is_none() {
                    row.model = Some(Arc::new(m));
                }
                row
            })
            .collect())
    }
}

/// The signer of export cursors. They never leave the process (the next batch is asked
/// for by the export's own loop, never by a client), so a fixed key is enough.
fn export_keyset() -> &'static batteries_orm::keyset::Keyset {
    static KEYSET: std::sync::OnceLock<batteries_orm::keyset::Keyset> = std::sync::OnceLock::new();
    KEYSET.get_or_init(|| {
        batteries_orm::keyset::Keyset::new(b"batteries-admin export cursors, in-process only")
            .max_age(None)
    })
}

#[cfg(test)]
mod date_param_tests {
    use super::{EntityAdmin, ModelAdmin, ModelInfo, expand_date_params};

    #[allow(unreachable_pub, reason = "SeaORM's derives make public items")]
    mod event {
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "app_event")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub day: Date,
        }
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    }

    fn info() -> ModelInfo {
        EntityAdmin::new(ModelAdmin::<event::Entity>::new())
            .unwrap()
            .info
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn drill_down_and_range_become_half_open_ranges() {
        let info = info();
        let out = expand_date_params(
            &info,
            &pairs(&[("day__year", "2024"), ("day__month", "12"), ("id", "3")]),
        )
        .unwrap();
        assert_eq!(
            out,
            pairs(&[
                ("id", "3"),
                ("day__gte", "2024-12-01"),
                ("day__lt", "2025-01-01")
            ])
        );
        let out = expand_date_params(
            &info,
            &pairs(&[
                ("day__range__gte", "2024-02-01"),
                ("day__range__lte", "2024-02-29"),
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            pairs(&[("day__gte", "2024-02-01"), ("day__lt", "2024-03-01")])
        );
        // The last year has no upper bound rather than an unparseable one.
        let out = expand_date_params(&info, &pairs(&[("day__year", "9999")])).unwrap();
        assert_eq!(out, pairs(&[("day__gte", "9999-01-01")]));
        // Not a date field: left to the filter set, which refuses it.
        let out = expand_date_params(&info, &pairs(&[("id__year", "1")])).unwrap();
        assert_eq!(out, pairs(&[("id__year", "1")]));
    }

    #[test]
    fn bad_dates_are_readable_errors() {
        let info = info();
        for (k, v) in [
            ("day__year", "20x4"),
            ("day__month", "3"),
            ("day__range__gte", "2024-02-30"),
        ] {
            let e = expand_date_params(&info, &pairs(&[(k, v)])).unwrap_err();
            assert!(e.contains("day"), "{e}");
        }
    }
}
