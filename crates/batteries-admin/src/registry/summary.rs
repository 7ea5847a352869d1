//! A read-only listing of what a built [`Admin`](crate::Admin) serves
//! ([`Admin::models`](crate::Admin::models)): each
//! registered model with its actions, options and routes, so tests and tools can cover
//! every registration (batteries' generated permission matrix walks it) without a list
//! of their own that falls out of date.

use super::Registry;
use crate::model::ModelInfo;

/// One registered model, as [`Admin::models`](crate::Admin::models) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelSummary {
    /// The app label (`library`), the first part of its URLs and permissions.
    pub app_label: String,
    /// The model name (`book`), the second part of its URLs.
    pub model_name: String,
    /// The table.
    pub table: String,
    /// The primary key's column.
    pub pk: String,
    /// The changelist's actions, `delete_selected` first (offered to users with the
    /// `delete` permission), then the registered ones in order.
    pub actions: Vec<ActionSummary>,
    /// Whether `export/` (and the API's `export`) serves this model: always, today.
    pub export: bool,
    /// The `list_editable` columns (the changelist's `_save` form).
    pub list_editable: Vec<String>,
    /// The columns with a unique constraint that forms write (not the primary key).
    pub unique: Vec<String>,
    /// The many-to-many fields, by name.
    pub many_to_many: Vec<String>,
    /// Foreign keys edited with autocomplete, with the model they search.
    pub autocomplete_fields: Vec<RelatedField>,
    /// Foreign keys edited as raw ids (the model's own and its inlines'), with the
    /// model whose changelist the "Look up" link opens.
    pub raw_id_fields: Vec<RelatedField>,
    /// Whether the model has a password field, hence `<pk>/password/`.
    pub password_page: bool,
    /// Whether the change form offers "Save as new".
    pub save_as: bool,
    /// The routes the model answers, HTML pages first, then the JSON API's.
    pub routes: Vec<RouteSummary>,
}

/// A changelist action.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionSummary {
    /// The value posted as `action`.
    pub name: String,
    /// What the menu shows.
    pub label: String,
    /// The model permission it needs (`delete`, `change`).
    pub permission: String,
}

/// A foreign key and the registered model it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelatedField {
    /// The column (`book_id`).
    pub field: String,
    /// The app label of the model pointed at (`None` when that model is not registered).
    pub app_label: Option<String>,
    /// The model pointed at.
    pub model_name: Option<String>,
}

/// One route of a model: a path under the site's prefix, with `{pk}` where a primary
/// key goes, and the methods it answers (others get `405`, or `404` on HTML pages that
/// ignore the method).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteSummary {
    /// A stable name: `changelist`, `add`, `change`, `delete`, `history`,
    /// `autocomplete`, `export`, `password`, or for the API `api_list`, `api_create`,
    /// `api_retrieve`, `api_update`, `api_delete`, `api_export`.
    pub name: &'static str,
    /// The path below the prefix, `{pk}` standing for a primary key
    /// (`library/book/{pk}/change/`, `api/library/book/{pk}`).
    pub path: String,
    /// The methods served (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub methods: &'static [&'static str],
}

impl Registry {
    /// What the site serves, model by model ([`Admin::models`](crate::Admin::models)).
    pub(crate) fn summaries(&self) -> Vec<ModelSummary> {
        let inner = self;
        let target = |table: &str| {
            inner.by_table(table).map(|r| {
                let info = r.model.info();
                (info.app_label.clone(), info.model_name.clone())
            })
        };
        let related = |field: &crate::model::field::Field| {
            let t = field.foreign_key.as_ref().and_then(|fk| target(&fk.table));
            RelatedField {
                field: field.name.clone(),
                app_label: t.as_ref().map(|t| t.0.clone()),
                model_name: t.map(|t| t.1),
            }
        };
        inner
            .models
            .iter()
            .map(|reg| {
                let info = reg.model.info();
                let actions = action_summaries(info);
                let mut raw_id_fields: Vec<RelatedField> = info
                    .fields
                    .iter()
                    .filter(|f| f.raw_id)
                    .map(related)
                    .collect();
                for inline in reg.model.inlines() {
                    raw_id_fields.extend(
                        inline
                            .model
                            .info()
                            .fields
                            .iter()
                            .filter(|f| f.raw_id)
                            .map(related),
                    );
                }
                let password_page = info.password.column.is_some();
                let routes = model_routes(info, password_page);
                ModelSummary {
                    app_label: info.app_label.clone(),
                    model_name: info.model_name.clone(),
                    table: info.table.clone(),
                    pk: info.pk_field().name.clone(),
                    actions,
                    export: true,
                    list_editable: info
                        .list_editable
                        .iter()
                        .map(|&i| info.fields[i].name.clone())
                        .collect(),
                    unique: info
                        .fields
                        .iter()
                        .filter(|f| f.unique && !f.primary_key && !f.readonly)
                        .map(|f| f.name.clone())
                        .collect(),
                    many_to_many: info.m2m.iter().map(|m| m.meta().name.clone()).collect(),
                    autocomplete_fields: info
                        .fields
                        .iter()
                        .filter(|f| f.autocomplete)
                        .map(related)
                        .collect(),
                    raw_id_fields,
                    password_page,
                    save_as: info.save_as,
                    routes,
                }
            })
            .collect()
    }
}

/// The actions of the changelist of `info`: "Delete selected", then the model admin's.
fn action_summaries(info: &ModelInfo) -> Vec<ActionSummary> {
    let mut actions = vec![ActionSummary {
        name: "delete_selected".into(),
        label: format!("Delete selected {}", info.verbose_name_plural),
        permission: "delete".into(),
    }];
    actions.extend(
        info.actions
            .iter()
            .map(|(name, label, perm)| ActionSummary {
                name: name.clone(),
                label: label.clone(),
                permission: perm.as_str().to_owned(),
            }),
    );
    actions
}

/// The pages and API endpoints served for the model `info` (the password page only
/// with `password_page`).
fn model_routes(info: &ModelInfo, password_page: bool) -> Vec<RouteSummary> {
    let base = format!("{}/{}", info.app_label, info.model_name);
    let mut routes = vec![
        route("changelist", format!("{base}/"), &["GET", "POST"]),
        route("add", format!("{base}/add/"), &["GET", "POST"]),
        route("autocomplete", format!("{base}/autocomplete/"), &["GET"]),
        route("export", format!("{base}/export/"), &["GET"]),
        route("change", format!("{base}/{{pk}}/change/"), &["GET", "POST"]),
        route("delete", format!("{base}/{{pk}}/delete/"), &["GET", "POST"]),
        route("history", format!("{base}/{{pk}}/history/"), &["GET"]),
    ];
    if password_page {
        routes.push(route(
            "password",
            format!("{base}/{{pk}}/password/"),
            &["GET", "POST"],
        ));
    }
    routes.extend([
        route("api_list", format!("api/{base}/"), &["GET"]),
        route("api_create", format!("api/{base}/"), &["POST"]),
        route("api_retrieve", format!("api/{base}/{{pk}}"), &["GET"]),
        route(
            "api_update",
            format!("api/{base}/{{pk}}"),
            &["PUT", "PATCH"],
        ),
        route("api_delete", format!("api/{base}/{{pk}}"), &["DELETE"]),
        route("api_export", format!("api/{base}/export"), &["GET"]),
    ]);
    routes
}

fn route(name: &'static str, path: String, methods: &'static [&'static str]) -> RouteSummary {
    RouteSummary {
        name,
        path,
        methods,
    }
}
