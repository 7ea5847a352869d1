//! [`ModelAdmin`]: how one SeaORM entity appears in the admin (Django's `ModelAdmin`
//! options), a builder the [`EntityAdmin`](crate::model::EntityAdmin) is made from.
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    IdenStatic, IntoActiveModel,
};

use batteries_auth::AuthUser;

use crate::config::m2m::{ManyToMany, PendingM2m};
use crate::model::action::{Action, Needs};
use crate::model::hooks::{
    AdminAction, DeleteHook, DisplayFn, FieldsetsHook, ObjectPerms, ReadonlyHook, SaveHook,
};

pub(crate) enum ListItem<E: EntityTrait> {
    Column(E::Column),
    Computed {
        name: String,
        label: String,
        f: DisplayFn<E::Model>,
    },
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
    pub(crate) app_label: Option<String>,
    pub(crate) model_name: Option<String>,
    pub(crate) verbose_name: Option<String>,
    pub(crate) verbose_name_plural: Option<String>,
    pub(crate) list_display: Vec<ListItem<E>>,
    pub(crate) list_display_links: Vec<String>,
    pub(crate) search_fields: Vec<E::Column>,
    pub(crate) list_filter: Vec<E::Column>,
    pub(crate) ordering: Option<String>,
    pub(crate) list_per_page: u64,
    pub(crate) readonly_fields: Vec<E::Column>,
    pub(crate) fields: Option<Vec<E::Column>>,
    pub(crate) fieldsets: Vec<(Option<String>, Vec<E::Column>)>,
    pub(crate) actions: Vec<AdminAction<E::Model>>,
    pub(crate) autocomplete_fields: Vec<E::Column>,
    pub(crate) blank: Vec<E::Column>,
    pub(crate) labels: HashMap<String, String>,
    pub(crate) help: HashMap<String, String>,
    pub(crate) choices: HashMap<String, Vec<(String, String)>>,
    pub(crate) display: Option<DisplayFn<E::Model>>,
    pub(crate) on_save: Option<SaveHook<E::ActiveModel>>,
    pub(crate) on_delete: Option<DeleteHook<E::Model>>,
    pub(crate) object_perms: ObjectPerms<E::Model>,
    pub(crate) changelist: ChangelistOptions<E>,
    pub(crate) password: PasswordOptions<E::Column>,
    pub(crate) access: AccessOptions<E>,
    // Inlines, "save as new" and raw-id foreign keys (`crate::inline`).
    pub(crate) inlines: Vec<super::inline::InlineFactory>,
    pub(crate) save_as: bool,
    pub(crate) raw_id_fields: Vec<E::Column>,
    pub(crate) many_to_many: Vec<Box<dyn PendingM2m>>,
}

/// The changelist options of issue 8: `date_hierarchy` and `list_editable`.
pub(crate) struct ChangelistOptions<E: EntityTrait> {
    pub(crate) date_hierarchy: Option<E::Column>,
    pub(crate) list_editable: Vec<E::Column>,
}

impl<E: EntityTrait> Default for ChangelistOptions<E> {
    fn default() -> Self {
        Self {
            date_hierarchy: None,
            list_editable: Vec::new(),
        }
    }
}

/// Who may set which field (issue 16): superuser-only fields, per-request read-only
/// fields and fieldsets, and the defaults of new rows.
pub(crate) struct AccessOptions<E: EntityTrait> {
    pub(crate) superuser_only: Vec<E::Column>,
    pub(crate) defaults: Vec<(E::Column, sea_orm::Value)>,
    pub(crate) readonly_hook: Option<ReadonlyHook<E::Model>>,
    pub(crate) fieldsets_hook: Option<FieldsetsHook<E::Model, E::Column>>,
}

impl<E: EntityTrait> Default for AccessOptions<E> {
    fn default() -> Self {
        Self {
            superuser_only: Vec::new(),
            defaults: Vec::new(),
            readonly_hook: None,
            fieldsets_hook: None,
        }
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
            access: AccessOptions::default(),
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
    pub fn action<F, Fut>(self, name: &str, label: impl Into<String>, f: F) -> Self
    where
        F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.push_action(name, label.into(), Needs::Perm(Action::Change), f)
    }

    /// A bulk action as [`action`](Self::action), offered to and run for superusers
    /// only (a staff user's POST of it answers 403): for an action that sets a
    /// [`superuser_only`](Self::superuser_only) field, which the admin cannot see
    /// inside the closure.
    pub fn superuser_action<F, Fut>(self, name: &str, label: impl Into<String>, f: F) -> Self
    where
        F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.push_action(name, label.into(), Needs::Superuser, f)
    }

    /// Adds a bulk action that needs `permission` (see [`action`](Self::action)).
    fn push_action<F, Fut>(mut self, name: &str, label: String, permission: Needs, f: F) -> Self
    where
        F: Fn(DatabaseConnection, Vec<E::Model>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.actions.push(AdminAction {
            name: name.to_owned(),
            label,
            permission,
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
pub(crate) struct PasswordOptions<C> {
    pub(crate) column: Option<C>,
    pub(crate) add_fieldsets: Vec<(Option<String>, Vec<C>)>,
}

impl<C> Default for PasswordOptions<C> {
    fn default() -> Self {
        Self {
            column: None,
            add_fieldsets: Vec::new(),
        }
    }
}

// --- inlines, save as new, raw-id fields -------------------------------------------------

impl<E: EntityTrait> ModelAdmin<E> {
    /// Edits the rows of another entity that point at this one on this model's add and
    /// change pages (Django's `inlines`). See [`Inline`](crate::Inline).
    pub fn inline<C>(mut self, inline: super::inline::Inline<C>) -> Self
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

// --- who may set what (issue 16) --------------------------------------------------------

impl<E: EntityTrait> ModelAdmin<E> {
    /// Columns only superusers may set (for a many-to-many field, see
    /// [`ManyToMany::superuser_only`]). For anyone else they are read-only wherever the
    /// row is written: the add and change forms show them as text and never read them,
    /// `list_editable` leaves their cells plain, and the JSON API answers 403 naming
    /// them when a body would change them (sending a field's current value back is
    /// accepted, so a `GET` then `PUT` round trip still works). [`crate::user_admin()`]
    /// makes `is_superuser`, `groups` and `user_permissions` superuser-only. See
    /// [`Admin::settable_fields`](crate::Admin::settable_fields) for the rule as a whole.
    pub fn superuser_only(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.access.superuser_only.extend(columns);
        self
    }

    /// Rows for which `f` is true may be changed or deleted by superusers only
    /// (whatever the user's model permissions): for anyone else their change form is
    /// read-only, `list_editable` leaves them plain, actions and bulk deletions that
    /// include them are refused, the API answers 403 to `PUT`, `PATCH` and `DELETE`, and a
    /// password page ([`password_field`](Self::password_field)) answers 403.
    /// [`crate::user_admin()`] uses it for superuser accounts, so a staff user with
    /// `auth.change_user` cannot reset a superuser's password nor deactivate one.
    ///
    /// ```
    /// use batteries_admin::ModelAdmin;
    /// use batteries_auth::entities::user;
    ///
    /// let users = ModelAdmin::<user::Entity>::new().superuser_only_if(|u| u.is_superuser);
    /// ```
    pub fn superuser_only_if(
        mut self,
        f: impl Fn(&E::Model) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.object_perms.superuser_only = Some(Arc::new(f));
        self
    }

    /// Django's `get_readonly_fields(request, obj)`: more fields read-only for `user`
    /// on `obj` (`None` when adding), by name (columns or many-to-many fields; unknown
    /// names are ignored), beside [`readonly_fields`](Self::readonly_fields). They are
    /// enforced as [`superuser_only`](Self::superuser_only) fields are: shown but never
    /// read by the forms and `list_editable`, and a 403 from the API when a body would
    /// change them.
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
    /// #         pub published: bool,
    /// #     }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// use batteries_admin::ModelAdmin;
    ///
    /// // Only superusers publish; the author is fixed once the post exists.
    /// let posts = ModelAdmin::<post::Entity>::new().readonly_fields_for(|user, post| {
    ///     let mut names = Vec::new();
    ///     if !user.is_superuser() {
    ///         names.push("published".to_owned());
    ///     }
    ///     if post.is_some() {
    ///         names.push("author".to_owned());
    ///     }
    ///     names
    /// });
    /// ```
    pub fn readonly_fields_for(
        mut self,
        f: impl Fn(&dyn AuthUser, Option<&E::Model>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.access.readonly_hook = Some(Arc::new(f));
        self
    }

    /// Django's `get_fieldsets(request, obj)`: the form's fieldsets for `user` on `obj`
    /// (`None` when adding), in place of [`fieldset`](Self::fieldset) and
    /// [`add_fieldset`](Self::add_fieldset). Columns left out are neither shown nor
    /// written, by the forms and by the JSON API alike (which refuses them when
    /// adding). Many-to-many fields still go at the end of the fieldset they name.
    pub fn fieldsets_for(
        mut self,
        f: impl Fn(&dyn AuthUser, Option<&E::Model>) -> Vec<(Option<String>, Vec<E::Column>)>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.access.fieldsets_hook = Some(Arc::new(f));
        self
    }

    /// The value a new row gets for `column` when the form or the API body does not
    /// give one (Django's field `default`): the add form shows it as the initial value
    /// (a checkbox checked for `true`), and the API writes it for a key left out.
    /// [`crate::user_admin()`] sets `is_active` to `true`, as Django's model does.
    pub fn default_value(mut self, column: E::Column, value: impl Into<sea_orm::Value>) -> Self {
        self.access.defaults.push((column, value.into()));
        self
    }
}
