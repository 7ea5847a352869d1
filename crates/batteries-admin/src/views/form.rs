//! History, autocomplete and the add/change form.

use std::collections::HashMap;

use batteries_orm::value::{Kind, to_json};
use http::{Method, Response, StatusCode};
use sea_orm::{DbErr, TransactionTrait, Value};
use serde_json::{Value as Json, json};

use super::{
    FieldErrors, View, changelist_url, form_value, has_perm, may, object_url, unavailable,
};
use crate::field::{Field, pk_string};
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::{ModelInfo, Row, SaveError};
use crate::site::{AdminBody, Inner, Registered, Staff, redirect};

impl View<'_> {
    pub(super) async fn history(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: &str,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, "view") {
            return self.forbidden(staff).await;
        }
        let row = match reg.model.get(&self.inner.db, pk).await {
            Ok(Some(row)) => row,
            Ok(None) => return self.not_found(staff, info, pk).await,
            Err(_) => return unavailable(),
        };
        if !may(staff, reg, &row, "view") {
            return self.forbidden(staff).await;
        }
        let Ok(entries) = log::history(&self.inner.db, reg.content_type_id, &row.pk, 500).await
        else {
            return unavailable();
        };
        let title = format!("Change history: {}", row.repr);
        let mut ctx = self.model_context(Some(staff), &title, Some(info)).await;
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(Some(info), &[(row.repr.as_str(), None), ("History", None)]),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        ctx.insert("object".into(), self.object_json(staff, reg, &row));
        let entries: Vec<Json> = entries
            .iter()
            .map(|e| {
                json!({
                    "time": e.action_time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    "user": e.username,
                    "action": match e.flag { ActionFlag::Addition => "Added", ActionFlag::Change => "Changed", ActionFlag::Deletion => "Deleted" },
                    "message": e.message,
                })
            })
            .collect();
        ctx.insert("entries".into(), Json::Array(entries));
        self.render(StatusCode::OK, "history.html", ctx)
    }

    pub(super) fn object_json(&self, staff: &Staff, reg: &Registered, row: &Row) -> Json {
        let info = reg.model.info();
        let url = object_url(self.inner, info, &row.pk);
        let mut object = json!({
            "pk": row.pk,
            "repr": row.repr,
            "url": format!("{url}change/"),
            "history_url": format!("{url}history/"),
        });
        if may(staff, reg, row, "delete") {
            object["delete_url"] = json!(format!("{url}delete/"));
        }
        object
    }

    // --- autocomplete -----------------------------------------------------------------

    pub(super) async fn autocomplete(
        &self,
        staff: &Staff,
        reg: &Registered,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, "view") {
            return crate::site::json_response(
                StatusCode::FORBIDDEN,
                &json!({"error": "permission denied"}),
            );
        }
        let term = form_value(&self.req.query_pairs(), "term").unwrap_or_default();
        match reg.model.choices(&self.inner.db, Some(&term), 20).await {
            Ok(choices) => crate::site::json_response(
                StatusCode::OK,
                &json!({"results": choices.into_iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>()}),
            ),
            Err(_) => unavailable(),
        }
    }

    // --- add / change -----------------------------------------------------------------

    pub(super) async fn change_form(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: Option<&str>,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        let db = &self.inner.db;
        let existing = match pk {
            Some(pk) => match reg.model.get(db, pk).await {
                Ok(Some(row)) => Some(row),
                Ok(None) => return self.not_found(staff, info, pk).await,
                Err(_) => return unavailable(),
            },
            None => None,
        };
        let adding = existing.is_none();
        // The model permissions, then the object hooks for this row.
        let (allowed, can_change) = match &existing {
            None => (has_perm(staff, info, "add"), false),
            Some(row) => (may(staff, reg, row, "view"), may(staff, reg, row, "change")),
        };
        if !allowed {
            return self.forbidden(staff).await;
        }
        let read_only = !adding && !can_change;
        // The add form's own fieldsets (Django's `add_fieldsets`), when it has some.
        let add_info = adding.then(|| info.for_add());
        let info: &ModelInfo = add_info.as_deref().unwrap_or(info);
        let mut errors: HashMap<String, Vec<String>> = HashMap::new();
        let mut non_field: Vec<String> = Vec::new();
        let mut posted: Option<Vec<(String, String)>> = None;
        if self.req.method == Method::POST {
            if read_only {
                return self.forbidden(staff).await;
            }
            let mut form = self.req.form_pairs();
            let (mut values, mut errs) = parse_form(info, &form, adding);
            if adding {
                crate::user_admin::add_form_password(info, &mut form, &mut values, &mut errs).await;
            }
            if errs.is_empty() {
                let Ok(dangling) = self.inner.dangling_foreign_keys(info, &values).await else {
                    return unavailable();
                };
                for (i, _) in dangling {
                    errs.insert(
                        info.fields[i].name.clone(),
                        vec!["Select a valid choice. That choice is not one of the available choices.".into()],
                    );
                }
            }
            if errs.is_empty() {
                match self.save(staff, reg, existing.as_ref(), values).await {
                    Ok(row) => return self.after_save(info, &row, adding, &form).await,
                    Err(SaveError::Field(i, message)) => {
                        errs.insert(info.fields[i].name.clone(), vec![message]);
                    }
                    Err(SaveError::Invalid(m)) => non_field.push(m),
                    Err(SaveError::Unique(m)) => match info.unique_clash(&m) {
                        (Some(name), text) => {
                            errs.insert(name.to_owned(), vec![text]);
                        }
                        (None, text) => non_field.push(text),
                    },
                    Err(SaveError::ForeignKey(m)) => {
                        tracing::info!(error = %m, "admin save refused by a foreign key");
                        non_field.push("A related row does not exist.".into());
                    }
                    Err(SaveError::NotFound) => {
                        return self.not_found(staff, info, pk.unwrap_or_default()).await;
                    }
                    Err(SaveError::Db(e)) => {
                        if matches!(e, DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) {
                            tracing::error!(error = %e, "admin save failed");
                            return unavailable();
                        }
                        // A constraint the admin could not check first (a CHECK, a
                        // length the database counts differently): the form says so.
                        tracing::warn!(error = %e, "admin save refused by the database");
                        non_field.push("The database refused these values.".into());
                    }
                }
            }
            errors = errs;
            posted = Some(form);
        }
        let verb = if adding {
            "Add"
        } else if read_only {
            "View"
        } else {
            "Change"
        };
        let title = format!("{verb} {}", info.verbose_name);
        let mut ctx = self.model_context(Some(staff), &title, Some(info)).await;
        let crumb = match &existing {
            Some(row) => row.repr.clone(),
            None => format!("Add {}", info.verbose_name),
        };
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(Some(info), &[(crumb.as_str(), None)]),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        if let Some(row) = &existing {
            ctx.insert("object".into(), self.object_json(staff, reg, row));
        }
        let Ok(mut fieldsets) = self
            .fieldsets(
                info,
                existing.as_ref(),
                posted.as_deref(),
                &errors,
                adding,
                read_only,
            )
            .await
        else {
            return unavailable();
        };
        crate::user_admin::password_fields(
            info,
            &mut fieldsets,
            existing.as_ref(),
            &errors,
            read_only,
        );
        ctx.insert("fieldsets".into(), fieldsets);
        let has_errors = !errors.is_empty() || !non_field.is_empty();
        ctx.insert("errors".into(), json!(non_field));
        ctx.insert("has_errors".into(), json!(has_errors));
        ctx.insert("read_only".into(), json!(read_only));
        let mut buttons = json!({
            "save": !read_only,
            "save_add_another": !read_only && has_perm(staff, info, "add"),
            "save_continue": !read_only,
        });
        if let Some(row) = &existing
            && may(staff, reg, row, "delete")
        {
            buttons["delete_url"] =
                json!(format!("{}delete/", object_url(self.inner, info, &row.pk)));
        }
        ctx.insert("buttons".into(), buttons);
        let status = if has_errors {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        self.render(status, "change_form.html", ctx)
    }

    pub(super) async fn save(
        &self,
        staff: &Staff,
        reg: &Registered,
        existing: Option<&Row>,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError> {
        save_row(self.inner, staff, reg, existing, values).await
    }

    pub(super) async fn after_save(
        &self,
        info: &ModelInfo,
        row: &Row,
        adding: bool,
        form: &[(String, String)],
    ) -> Response<AdminBody> {
        let link = format!("{}change/", object_url(self.inner, info, &row.pk));
        let what = format!("The {} “{}”", info.verbose_name, row.repr);
        let has = |k: &str| form.iter().any(|(name, _)| name == k);
        let verb = if adding { "added" } else { "changed" };
        if has("_continue") {
            self.push_message(
                "success",
                &format!("{what} was {verb} successfully. You may edit it again below."),
            )
            .await;
            redirect(&link)
        } else if has("_addanother") {
            self.push_message(
                "success",
                &format!(
                    "{what} was {verb} successfully. You may add another {} below.",
                    info.verbose_name
                ),
            )
            .await;
            redirect(&format!("{}add/", changelist_url(self.inner, info)))
        } else {
            self.push_message("success", &format!("{what} was {verb} successfully."))
                .await;
            redirect(&changelist_url(self.inner, info))
        }
    }

    pub(super) async fn fieldsets(
        &self,
        info: &ModelInfo,
        existing: Option<&Row>,
        posted: Option<&[(String, String)]>,
        errors: &HashMap<String, Vec<String>>,
        adding: bool,
        read_only: bool,
    ) -> Result<Json, ()> {
        // Choices of `<select>`ed foreign keys: one query per field.
        let mut fk_choices: HashMap<usize, Vec<(String, String)>> = HashMap::new();
        let mut fk_names: HashMap<usize, String> = HashMap::new();
        for (_, indices) in &info.fieldsets {
            for &i in indices {
                let field = &info.fields[i];
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                let Some(target) = self.inner.by_table(&fk.table) else {
                    continue;
                };
                if field.autocomplete || read_only || !field.editable(adding) {
                    if let Some(row) = existing {
                        let value = row.values[i].clone();
                        let key = pk_string(&value);
                        if let Ok(names) = target.model.reprs(&self.inner.db, vec![value]).await
                            && let Some(name) = names.get(&key)
                        {
                            fk_names.insert(i, name.clone());
                        }
                    }
                    continue;
                }
                let choices = target
                    .model
                    .choices(&self.inner.db, None, 1000)
                    .await
                    .map_err(|e| tracing::error!(error = %e, "admin form choices failed"))?;
                fk_choices.insert(i, choices);
            }
        }
        let mut out = Vec::new();
        for (name, indices) in &info.fieldsets {
            let mut fields = Vec::new();
            for &i in indices {
                let field = &info.fields[i];
                if adding && field.auto {
                    continue;
                }
                let editable = field.editable(adding) && !read_only;
                let current = existing.map(|r| &r.values[i]);
                let value = match (posted, editable) {
                    (Some(form), true) => form_value(form, &field.name).unwrap_or_default(),
                    _ => current.map(|v| field.form_value(v)).unwrap_or_default(),
                };
                let display = match (fk_names.get(&i), current) {
                    (Some(name), _) => name.clone(),
                    (None, Some(v)) => field.display(v),
                    (None, None) => "-".into(),
                };
                let widget = if editable { field.widget() } else { "readonly" };
                let mut f = json!({
                    "name": field.name,
                    "label": field.label,
                    "widget": widget,
                    "value": value,
                    "required": editable && field.required(),
                    "readonly": !editable,
                    "display": display,
                    "help": field.help.clone().or_else(|| {
                        matches!(field.kind, Kind::DateTimeTz)
                            .then(|| "Date and time in UTC.".to_owned())
                    }),
                    "errors": errors.get(&field.name).cloned().unwrap_or_default(),
                    "attrs": field.attrs(),
                });
                match widget {
                    "checkbox" => {
                        let checked = match posted {
                            Some(form) => form_value(form, &field.name).is_some(),
                            None => current.is_some_and(|v| matches!(v, Value::Bool(Some(true)))),
                        };
                        f["checked"] = json!(checked);
                    }
                    "nullbool" => {
                        f["choices"] = json!([
                            {"value": "", "label": "Unknown", "selected": value.is_empty()},
                            {"value": "true", "label": "Yes", "selected": value == "true"},
                            {"value": "false", "label": "No", "selected": value == "false"},
                        ]);
                    }
                    "select" => {
                        let mut choices = Vec::new();
                        if field.nullable || adding {
                            choices.push(json!({"value": "", "label": "---------", "selected": value.is_empty()}));
                        }
                        for (v, label) in field.choices.iter().flatten() {
                            choices
                                .push(json!({"value": v, "label": label, "selected": *v == value}));
                        }
                        if let Kind::Enum(variants) = &field.kind {
                            for v in variants {
                                choices
                                    .push(json!({"value": v, "label": v, "selected": *v == value}));
                            }
                        }
                        for (pk, repr) in fk_choices.get(&i).into_iter().flatten() {
                            choices.push(
                                json!({"value": pk, "label": repr, "selected": *pk == value}),
                            );
                        }
                        f["choices"] = Json::Array(choices);
                    }
                    "autocomplete" => {
                        if let Some(fk) = &field.foreign_key
                            && let Some(target) = self.inner.by_table(&fk.table)
                        {
                            f["autocomplete_url"] = json!(format!(
                                "{}autocomplete/",
                                changelist_url(self.inner, target.model.info())
                            ));
                        }
                    }
                    _ => {}
                }
                fields.push(f);
            }
            out.push(json!({"name": name, "classes": [], "fields": fields}));
        }
        Ok(Json::Array(out))
    }
}

/// Parses a posted form into values for the editable fields, or errors by field name.
/// Fields that are read-only or not on the form are never read, whatever was posted.
pub(crate) fn parse_form(
    info: &ModelInfo,
    form: &[(String, String)],
    adding: bool,
) -> (Vec<(usize, Value)>, FieldErrors) {
    let mut values = Vec::new();
    let mut errors = HashMap::new();
    for (_, indices) in &info.fieldsets {
        for &i in indices {
            let field: &Field = &info.fields[i];
            if !field.editable(adding) {
                continue;
            }
            let raw = form_value(form, &field.name);
            match field.parse_form(raw.as_deref()) {
                Ok(Some(v)) => values.push((i, v)),
                Ok(None) => {}
                Err(message) => {
                    errors.insert(field.name.clone(), vec![message]);
                }
            }
        }
    }
    (values, errors)
}

/// Saves (inserting when `existing` is `None`) and records the history entry, in one
/// transaction.
pub(crate) async fn save_row(
    inner: &Inner,
    staff: &Staff,
    reg: &Registered,
    existing: Option<&Row>,
    values: Vec<(usize, Value)>,
) -> Result<Row, SaveError> {
    let info = reg.model.info();
    let user_id = staff
        .user_id()
        .ok_or_else(|| SaveError::Invalid("Only users with integer ids can edit.".into()))?;
    let changed: Vec<&str> = match existing {
        Some(row) => values
            .iter()
            .filter(|(i, v)| {
                let kind = &info.fields[*i].kind;
                to_json(&row.values[*i], kind) != to_json(v, kind)
            })
            .map(|(i, _)| info.fields[*i].label.as_str())
            .collect(),
        None => Vec::new(),
    };
    let txn = inner.db.begin().await?;
    let row = match existing {
        Some(old) => reg.model.update(&txn, &old.pk, values).await?,
        None => reg.model.insert(&txn, values).await?,
    };
    let (flag, message) = match existing {
        Some(_) => (ActionFlag::Change, ChangeMessage::changed(&changed)),
        None => (ActionFlag::Addition, ChangeMessage::added()),
    };
    log::log_action(
        &txn,
        NewEntry {
            user_id,
            content_type_id: reg.content_type_id,
            object_id: &row.pk,
            object_repr: &row.repr,
            flag,
            message,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}
