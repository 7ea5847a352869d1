//! The type-erased side of a registration: [`ModelInfo`], [`Row`] and the
//! [`AdminModel`] trait the site drives.

use std::collections::HashMap;

use std::sync::Arc;

use async_trait::async_trait;

use batteries_orm::paginate::Total;
use batteries_orm::value::to_json;
use sea_orm::{DatabaseConnection, DbErr, SqlErr, Value};

use batteries_auth::AuthUser;

use super::m2m::M2mField;
use crate::model::field::{Field, label_of};

use super::DatePart;
use super::action::{Action, Needs};

/// The options of `ModelAdmin::password_field` and `add_fieldset`, by field index.
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
    pub(crate) actions: Vec<(String, String, Needs)>,
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
    /// The many-to-many fields read-only for the request at hand (names; empty in the
    /// registered model, filled by `views::form_info`).
    pub(crate) read_only_m2m: Vec<String>,
}

impl ModelInfo {
    /// Whether the many-to-many field `name` is read-only for this request.
    pub(crate) fn m2m_read_only(&self, name: &str) -> bool {
        self.read_only_m2m.iter().any(|n| n == name)
    }

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

    pub(crate) fn perm(&self, action: Action) -> String {
        format!(
            "{}.{}_{}",
            self.app_label,
            action.codename(),
            self.model_name
        )
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

impl ListPage {
    /// When the page lies past the last one (no rows, not the first page): why, for the
    /// `404` that answers it, as Django's `Paginator.page` raises `EmptyPage`.
    pub(crate) fn past_end(&self) -> Option<String> {
        if !self.rows.is_empty() || self.number <= 1 {
            return None;
        }
        let pages = self.total.value().div_ceil(self.per_page.max(1)).max(1);
        Some(if self.total.is_exact() {
            format!(
                "Invalid page ({}): the list has {pages} page{}.",
                self.number,
                if pages == 1 { "" } else { "s" }
            )
        } else {
            format!("Invalid page ({}): the list ends before it.", self.number)
        })
    }
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
    /// apart (see `service::perms::may`).
    fn object_allows(&self, user: &dyn AuthUser, action: Action, row: &Row) -> bool;

    /// Whether any object-level hook is set.
    fn has_object_hooks(&self) -> bool;

    /// The fields (columns and many-to-many, by name) `user` may not set on `row`
    /// (`None`: a new row) beyond the read-only ones: the superuser-only fields for
    /// anyone but a superuser, and what the `readonly_fields_for` hook names.
    fn denied_fields(&self, user: &dyn AuthUser, row: Option<&Row>) -> Vec<String>;

    /// The `fieldsets_for` hook's fieldsets for `user` on `row`, when there is a hook.
    fn fieldsets_for(
        &self,
        user: &dyn AuthUser,
        row: Option<&Row>,
    ) -> Option<Vec<(Option<String>, Vec<usize>)>>;

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
    fn inlines(&self) -> &[super::inline::InlineSet] {
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
