//! History, autocomplete and the add/change form.

use std::collections::HashMap;

use batteries_orm::value::Kind;
use http::{Method, Response, StatusCode};
use sea_orm::{DbErr, Value};
use serde_json::{Value as Json, json};

use super::{
    Action, FieldErrors, INVALID_CHOICE, Unavailable, View, changelist_url, form_value, has_perm,
    may, object_url, unavailable,
};
use crate::body::AdminBody;
use crate::log::{self, ActionFlag};
use crate::model::field::pk_string;
use crate::model::inline::{InlineSet, Style};
use crate::model::m2m::M2mSets;
use crate::model::{ModelInfo, Row, SaveError};
use crate::registry::Registered;
use crate::response::redirect;
use crate::service::request::Staff;
use crate::service::save::{FormError, OpenSave, RELATED_MISSING, parse_form, save_row};

impl View<'_> {
    pub(super) async fn history(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: &str,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, Action::View) {
            return self.forbidden(staff).await;
        }
        let row = match reg.model.get(&self.registry.db, pk).await {
            Ok(Some(row)) => row,
            Ok(None) => return self.not_found(staff, info, pk).await,
            Err(_) => return unavailable(),
        };
        if !may(staff, reg, &row, Action::View) {
            return self.forbidden(staff).await;
        }
        let Ok(entries) = log::history(&self.registry.db, reg.content_type_id, &row.pk, 500).await
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
        let url = object_url(self.site, info, &row.pk);
        let mut object = json!({
            "pk": row.pk,
            "repr": row.repr,
            "url": format!("{url}change/"),
            "history_url": format!("{url}history/"),
        });
        if may(staff, reg, row, Action::Delete) {
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
        if !has_perm(staff, info, Action::View) {
            return crate::response::json_response(
                StatusCode::FORBIDDEN,
                &json!({"error": "permission denied"}),
            );
        }
        let term = form_value(&self.req.query_pairs(), "term").unwrap_or_default();
        let Ok(mut choices) = reg.model.choices(&self.registry.db, Some(&term), 20).await else {
            return unavailable();
        };
        // Rows the object hook hides are not offered (one more query, only with hooks).
        if reg.model.has_object_hooks() && !choices.is_empty() {
            let pks: Vec<String> = choices.iter().map(|(id, _)| id.clone()).collect();
            let Ok(rows) = reg.model.get_many(&self.registry.db, &pks).await else {
                return unavailable();
            };
            let visible: std::collections::HashSet<&str> = rows
                .iter()
                .filter(|row| may(staff, reg, row, Action::View))
                .map(|row| row.pk.as_str())
                .collect();
            choices.retain(|(id, _)| visible.contains(id.as_str()));
        }
        let results: Vec<Json> = choices
            .into_iter()
            .map(|(id, text)| json!({"id": id, "text": text}))
            .collect();
        crate::response::json_response(StatusCode::OK, &json!({ "results": results }))
    }

    // --- add / change -----------------------------------------------------------------

    pub(super) async fn change_form(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: Option<&str>,
    ) -> Response<AdminBody> {
        let existing = match self.load_for_form(staff, reg, pk).await {
            Ok(existing) => existing,
            Err(response) => return response,
        };
        let adding = existing.is_none();
        // The model permissions, then the object hooks for this row.
        let (allowed, can_change) = match &existing {
            None => (has_perm(staff, reg.model.info(), Action::Add), false),
            Some(row) => (
                may(staff, reg, row, Action::View),
                may(staff, reg, row, Action::Change),
            ),
        };
        if !allowed {
            return self.forbidden(staff).await;
        }
        let read_only = !adding && !can_change;
        // The add form's own fieldsets (Django's `add_fieldsets`), when it has some, the
        // `fieldsets_for` hook's, and the fields this user may not set made read-only.
        let form_info = super::form_info(&*staff.user, reg, existing.as_ref());
        let info: &ModelInfo = &form_info;
        let mut posted = None;
        if self.req.method == Method::POST {
            if read_only {
                return self.forbidden(staff).await;
            }
            posted = match self
                .bind_and_save(staff, reg, info, existing.as_ref(), pk)
                .await
            {
                Ok(refused) => Some(refused),
                Err(response) => return response,
            };
        }
        // A "save as new" with errors shows the add form it was.
        let (adding, existing) = if posted.as_ref().is_some_and(|p| p.save_as_new) {
            (true, None)
        } else {
            (adding, existing)
        };
        let shown = ShownForm {
            info,
            existing: existing.as_ref(),
            posted: posted.as_ref(),
            adding,
            read_only,
        };
        self.render_change_form(staff, reg, &shown).await
    }

    /// Loads the row a change form edits (`None` for the add form), or the response that
    /// refuses it: 403 without the view permission, 404 for a key with no row.
    async fn load_for_form(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: Option<&str>,
    ) -> Result<Option<Row>, Response<AdminBody>> {
        let info = reg.model.info();
        // As Django: the model permission first, so a user who may not see the model
        // cannot tell which keys exist (404) from which do not (403).
        if pk.is_some() && !has_perm(staff, info, Action::View) {
            return Err(self.forbidden(staff).await);
        }
        match pk {
            Some(pk) => match reg.model.get(&self.registry.db, pk).await {
                Ok(Some(row)) => Ok(Some(row)),
                Ok(None) => Err(self.not_found(staff, info, pk).await),
                Err(_) => Err(unavailable()),
            },
            None => Ok(None),
        }
    }

    /// Binds the posted form (fields, password, many-to-many, inlines), validates it and
    /// saves it. `Err` is the response to send: the redirect after a save, or a refusal;
    /// `Ok` is the refused post, to show again with its errors.
    async fn bind_and_save(
        &self,
        staff: &Staff,
        reg: &Registered,
        info: &ModelInfo,
        existing: Option<&Row>,
        pk: Option<&str>,
    ) -> Result<RefusedPost, Response<AdminBody>> {
        let adding = existing.is_none();
        let mut non_field: Vec<String> = Vec::new();
        let mut form = self.req.form_pairs();
        // "Save as new": the posted values become a new row; the original stays.
        let save_as_new = !adding && info.save_as && form_value(&form, "_saveasnew").is_some();
        if save_as_new && !has_perm(staff, info, Action::Add) {
            return Err(self.forbidden(staff).await);
        }
        let saving = if save_as_new { None } else { existing };
        let (mut values, mut errs) = parse_form(info, &form, saving.is_none());
        if adding {
            crate::service::password::add_form_password(info, &mut form, &mut values, &mut errs)
                .await;
        }
        let m2m_posted = super::m2m::parse_form(info, &form);
        let Ok(m2m) =
            crate::service::m2m::check_form(self.registry, info, m2m_posted, &mut errs).await
        else {
            return Err(unavailable());
        };
        self.check_dangling(info, &values, &mut errs).await?;
        let mut inlines = self
            .parse_inlines(staff, reg, saving, &form, save_as_new)
            .await?;
        if errs.is_empty() && !inlines.iter().any(PostedInline::has_errors) {
            match self
                .save_all(staff, reg, saving, values, &m2m, &mut inlines)
                .await
            {
                Ok(Some(row)) => {
                    return Err(self.after_save(info, &row, saving.is_none(), &form).await);
                }
                // An inline row was refused; its error is on the row.
                Ok(None) => {}
                Err(e) => match FormError::of(info, e) {
                    FormError::Field { name, message, .. } => {
                        errs.insert(name, vec![message]);
                    }
                    FormError::NonField { message, .. } => non_field.push(message),
                    FormError::NotFound => {
                        return Err(self.not_found(staff, info, pk.unwrap_or_default()).await);
                    }
                    FormError::Unavailable(_) => return Err(unavailable()),
                },
            }
        }
        Ok(RefusedPost {
            form,
            errors: errs,
            non_field,
            save_as_new,
            inlines,
        })
    }

    /// Renders the add/change form, with the refused post's values and errors if any.
    async fn render_change_form(
        &self,
        staff: &Staff,
        reg: &Registered,
        shown: &ShownForm<'_>,
    ) -> Response<AdminBody> {
        let &ShownForm {
            info,
            existing,
            posted,
            adding,
            read_only,
        } = shown;
        let no_errors = HashMap::new();
        let errors = posted.map_or(&no_errors, |p| &p.errors);
        let non_field: &[String] = posted.map_or(&[], |p| &p.non_field);
        let posted_inlines: &[PostedInline] = posted.map_or(&[], |p| &p.inlines);
        let posted_form = posted.map(|p| p.form.as_slice());
        let verb = if adding {
            "Add"
        } else if read_only {
            "View"
        } else {
            "Change"
        };
        let title = format!("{verb} {}", info.verbose_name);
        let mut ctx = self.model_context(Some(staff), &title, Some(info)).await;
        let crumb = match existing {
            Some(row) => row.repr.clone(),
            None => format!("Add {}", info.verbose_name),
        };
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(Some(info), &[(crumb.as_str(), None)]),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        if let Some(row) = existing {
            ctx.insert("object".into(), self.object_json(staff, reg, row));
        }
        let Ok(mut fieldsets) = self
            .fieldsets(info, existing, posted_form, errors, adding, read_only)
            .await
        else {
            return unavailable();
        };
        super::password::password_fields(info, &mut fieldsets, existing, errors, read_only);
        ctx.insert("fieldsets".into(), fieldsets);
        let Ok(inlines) = self
            .inlines_json(
                staff,
                reg,
                existing,
                posted_form.map(|form| (posted_inlines, form)),
                read_only,
            )
            .await
        else {
            return unavailable();
        };
        ctx.insert("inlines".into(), inlines);
        let has_errors = !errors.is_empty()
            || !non_field.is_empty()
            || posted_inlines.iter().any(PostedInline::has_errors);
        ctx.insert("errors".into(), json!(non_field));
        ctx.insert("has_errors".into(), json!(has_errors));
        ctx.insert("read_only".into(), json!(read_only));
        let buttons = FormButtons {
            save: !read_only,
            save_add_another: !read_only && has_perm(staff, info, Action::Add),
            save_continue: !read_only,
            save_as_new: !read_only
                && !adding
                && info.save_as
                && has_perm(staff, info, Action::Add),
            delete_url: existing
                .filter(|row| may(staff, reg, row, Action::Delete))
                .map(|row| format!("{}delete/", object_url(self.site, info, &row.pk))),
        };
        ctx.insert("buttons".into(), json!(buttons));
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
        m2m: &M2mSets,
    ) -> Result<Row, SaveError> {
        save_row(self.registry, staff, reg, existing, values, m2m).await
    }

    pub(super) async fn after_save(
        &self,
        info: &ModelInfo,
        row: &Row,
        adding: bool,
        form: &[(String, String)],
    ) -> Response<AdminBody> {
        let link = format!("{}change/", object_url(self.site, info, &row.pk));
        let what = format!("The {} “{}”", info.verbose_name, row.repr);
        let has = |k: &str| form.iter().any(|(name, _)| name == k);
        let verb = if adding { "added" } else { "changed" };
        if has("_continue") || has("_saveasnew") {
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
            redirect(&format!("{}add/", changelist_url(self.site, info)))
        } else {
            self.push_message("success", &format!("{what} was {verb} successfully."))
                .await;
            redirect(&changelist_url(self.site, info))
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
    ) -> Result<Json, Unavailable> {
        let rows: Vec<&Row> = existing.into_iter().collect();
        let lookups = self.fk_lookups(info, &rows, adding, read_only).await?;
        let mut out = Vec::new();
        for (name, indices) in &info.fieldsets {
            let mut fields = Vec::new();
            for &i in indices {
                if adding && info.fields[i].auto {
                    continue;
                }
                let on = FieldOn {
                    existing,
                    posted,
                    errors,
                    adding,
                    read_only,
                    prefix: "",
                };
                fields.push(self.field_json(info, i, &on, &lookups));
            }
            out.push(json!({"name": name, "classes": [], "fields": fields}));
        }
        let mut out = Json::Array(out);
        let m2m = super::m2m::form_fields(self.registry, info, existing, posted, errors, read_only)
            .await
            .map_err(|e| tracing::error!(error = %e, "admin many-to-many fields failed"))?;
        super::m2m::append_to_fieldsets(&mut out, m2m);
        Ok(out)
    }

    /// What the form's foreign keys need from other tables: the choices of each
    /// `<select>`ed one (one query per field) and the names of the rows the `rows` point
    /// at through the others (one query per field, for every row at once).
    pub(super) async fn fk_lookups(
        &self,
        info: &ModelInfo,
        rows: &[&Row],
        adding: bool,
        read_only: bool,
    ) -> Result<FkLookups, Unavailable> {
        let mut lookups = FkLookups::default();
        for (_, indices) in &info.fieldsets {
            for &i in indices {
                let field = &info.fields[i];
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                let Some(target) = self.registry.by_table(&fk.table) else {
                    continue;
                };
                if field.autocomplete || field.raw_id || read_only || !field.editable(adding) {
                    let values: Vec<Value> = rows.iter().map(|r| r.values[i].clone()).collect();
                    if values.is_empty() {
                        continue;
                    }
                    if let Ok(names) = target.model.reprs(&self.registry.db, values).await {
                        for (pk, name) in names {
                            lookups.names.insert((i, pk), name);
                        }
                    }
                    continue;
                }
                let choices = target
                    .model
                    .choices(&self.registry.db, None, 1000)
                    .await
                    .map_err(|e| tracing::error!(error = %e, "admin form choices failed"))?;
                lookups.choices.insert(i, choices);
            }
        }
        Ok(lookups)
    }

    /// One field of a form as the template gets it.
    pub(super) fn field_json(
        &self,
        info: &ModelInfo,
        i: usize,
        on: &FieldOn<'_>,
        lookups: &FkLookups,
    ) -> Json {
        let field = &info.fields[i];
        let name = format!("{}{}", on.prefix, field.name);
        let editable = field.editable(on.adding) && !on.read_only;
        // A new row shows the field's default (`ModelAdmin::default_value`).
        let initial = if on.existing.is_none() && on.adding {
            field.default.as_ref()
        } else {
            None
        };
        let current = on.existing.map(|r| &r.values[i]).or(initial);
        let value = match (on.posted, editable) {
            (Some(form), true) => form_value(form, &name).unwrap_or_default(),
            _ => current.map(|v| field.form_value(v)).unwrap_or_default(),
        };
        let fk_name = current.and_then(|v| lookups.names.get(&(i, pk_string(v))));
        let display = match (fk_name, current) {
            (Some(name), _) => name.clone(),
            (None, Some(v)) => field.display(v),
            (None, None) => "-".into(),
        };
        let widget = if editable { field.widget() } else { "readonly" };
        let mut f = json!({
            "name": name,
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
            "errors": on.errors.get(&field.name).cloned().unwrap_or_default(),
            "attrs": field.attrs(),
        });
        match widget {
            "checkbox" => {
                let checked = match on.posted {
                    Some(form) => form_value(form, &name).is_some(),
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
                if field.nullable || on.adding {
                    choices.push(
                        json!({"value": "", "label": "---------", "selected": value.is_empty()}),
                    );
                }
                for (v, label) in field.choices.iter().flatten() {
                    choices.push(json!({"value": v, "label": label, "selected": *v == value}));
                }
                if let Kind::Enum(variants) = &field.kind {
                    for v in variants {
                        choices.push(json!({"value": v, "label": v, "selected": *v == value}));
                    }
                }
                for (pk, repr) in lookups.choices.get(&i).into_iter().flatten() {
                    choices.push(json!({"value": pk, "label": repr, "selected": *pk == value}));
                }
                f["choices"] = Json::Array(choices);
            }
            "autocomplete" => {
                if let Some(fk) = &field.foreign_key
                    && let Some(target) = self.registry.by_table(&fk.table)
                {
                    f["autocomplete_url"] = json!(format!(
                        "{}autocomplete/",
                        changelist_url(self.site, target.model.info())
                    ));
                }
            }
            "raw_id" => {
                if let Some(fk) = &field.foreign_key
                    && let Some(target) = self.registry.by_table(&fk.table)
                {
                    f["lookup_url"] = json!(changelist_url(self.site, target.model.info()));
                }
                // The name of the row now stored, not of what was posted.
                f["display"] = json!(fk_name);
            }
            _ => {}
        }
        f
    }
}

/// The foreign keys' choices and names a form needs (see `View::fk_lookups`).
#[derive(Debug, Default)]
pub(super) struct FkLookups {
    /// `(pk, name)` of every choice, by field index.
    choices: HashMap<usize, Vec<(String, String)>>,
    /// The name of a related row, by field index and the row's pk.
    names: HashMap<(usize, String), String>,
}

/// What one form's fields are drawn from.
pub(super) struct FieldOn<'a> {
    pub(super) existing: Option<&'a Row>,
    pub(super) posted: Option<&'a [(String, String)]>,
    pub(super) errors: &'a HashMap<String, Vec<String>>,
    pub(super) adding: bool,
    pub(super) read_only: bool,
    /// Put before each field's name (`review_set-0-` in an inline).
    pub(super) prefix: &'a str,
}

// --- inlines ------------------------------------------------------------------------
//
// Django's inline formsets: parsed from the post with the parent's form, saved in the
// parent's transaction (`save_all`), rendered as `inlines` in the form's context.

/// The error Django gives a formset whose management form is missing or wrong.
const MANAGEMENT_FORM: &str = "ManagementForm data is missing or has been tampered with.";

/// What was posted, by inline, with the whole post (after an error).
type Posted<'a> = (&'a [PostedInline], &'a [(String, String)]);

/// One posted form of an inline.
#[derive(Clone)]
pub(super) struct PostedForm {
    /// Its number in the post (`review_set-<index>-...`).
    index: usize,
    /// The row it edits; `None` for a new row.
    row: Option<Row>,
    errors: FieldErrors,
    non_field: Vec<String>,
    delete: bool,
}

/// A write one inline form asks for, by form position in `PostedInline::forms`.
pub(super) enum ChildWrite {
    Insert(usize, Vec<(usize, Value)>),
    Update(usize, Row, Vec<(usize, Value)>, Vec<String>),
    Delete(usize, Row),
}

/// A posted add/change form that was not saved: its values and errors, shown again.
struct RefusedPost {
    form: Vec<(String, String)>,
    errors: HashMap<String, Vec<String>>,
    /// Errors of the whole row (a database constraint, a hook's refusal).
    non_field: Vec<String>,
    /// Whether the post was "Save as new" (its errors show the add form).
    save_as_new: bool,
    inlines: Vec<PostedInline>,
}

/// What the add/change form shows: which row, how, and the refused post if any.
struct ShownForm<'a> {
    info: &'a ModelInfo,
    existing: Option<&'a Row>,
    posted: Option<&'a RefusedPost>,
    adding: bool,
    read_only: bool,
}

/// The form's submit row (`buttons` in `change_form.html`).
#[derive(serde::Serialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per button the template shows"
)]
struct FormButtons {
    save: bool,
    save_add_another: bool,
    save_continue: bool,
    save_as_new: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete_url: Option<String>,
}

/// One inline as posted.
#[derive(Default)]
pub(super) struct PostedInline {
    /// Whether the post carried this inline's management form; without it the inline's
    /// rows are left as they are.
    submitted: bool,
    forms: Vec<PostedForm>,
    /// Errors of the whole inline (too many forms, too few).
    errors: Vec<String>,
    writes: Vec<ChildWrite>,
}

impl PostedInline {
    fn has_errors(&self) -> bool {
        !self.errors.is_empty()
            || self
                .forms
                .iter()
                .any(|f| !f.errors.is_empty() || !f.non_field.is_empty())
    }
}

/// One form of an inline as posted: its index, its fields (without their prefix), and
/// the parent's rows it may name.
struct InlineFormPost<'a> {
    index: usize,
    pairs: &'a [(String, String)],
    existing: &'a [Row],
    save_as_new: bool,
}

/// The fields of each form of the inline `prefix` below `total`, by form index and
/// without their prefix, in one pass over the post.
fn forms_by_index(
    form: &[(String, String)],
    prefix: &str,
    total: usize,
) -> HashMap<usize, Vec<(String, String)>> {
    let mut by_form: HashMap<usize, Vec<(String, String)>> = HashMap::new();
    let head = format!("{prefix}-");
    for (k, v) in form {
        let Some(rest) = k.strip_prefix(&head) else {
            continue;
        };
        let Some((n, name)) = rest.split_once('-') else {
            continue;
        };
        if let Ok(n) = n.parse::<usize>()
            && n < total
        {
            by_form
                .entry(n)
                .or_default()
                .push((name.to_owned(), v.clone()));
        }
    }
    by_form
}

/// A column of a tabular inline (`columns` in `change_form.html`).
#[derive(serde::Serialize)]
struct InlineColumn<'a> {
    name: &'a str,
    label: &'a str,
    required: bool,
    help: Option<&'a str>,
}

/// The columns of an inline of the model `info`: its fieldsets' fields, in order.
fn inline_columns(info: &ModelInfo) -> Vec<InlineColumn<'_>> {
    info.fieldsets
        .iter()
        .flat_map(|(_, f)| f)
        .map(|&i| {
            let field = &info.fields[i];
            InlineColumn {
                name: &field.name,
                label: &field.label,
                required: field.editable(true) && field.required(),
                help: field.help.as_deref(),
            }
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The labels of the fields whose posted value differs from the row's.
/// A checkbox's posted value as a boolean.
fn checked(raw: Option<String>) -> bool {
    raw.is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "off"))
}

impl View<'_> {
    /// The child's registration, when the child is registered too.
    fn child_reg(&self, set: &InlineSet) -> Option<&Registered> {
        self.registry.by_table(&set.model.info().table)
    }

    /// Whether `staff` has the child model's permission for `action`.
    fn child_perm(&self, staff: &Staff, set: &InlineSet, action: Action) -> bool {
        let info = self
            .child_reg(set)
            .map_or_else(|| set.model.info(), |r| r.model.info());
        has_perm(staff, info, action)
    }

    /// Whether `staff` may `action` this child row (the object hooks of the child's
    /// registration included).
    fn child_may(&self, staff: &Staff, set: &InlineSet, row: &Row, action: Action) -> bool {
        match self.child_reg(set) {
            Some(reg) => may(staff, reg, row, action),
            None => self.child_perm(staff, set, action),
        }
    }

    /// The parent's value as the child's foreign key holds it.
    fn parent_value(set: &InlineSet, parent: &Row) -> Option<Value> {
        set.model.info().fields[set.fk].kind.parse(&parent.pk).ok()
    }

    /// The rows of `set` that point at `parent` (one query).
    async fn child_rows(&self, set: &InlineSet, parent: Option<&Row>) -> Result<Vec<Row>, DbErr> {
        let Some(value) = parent.and_then(|p| Self::parent_value(set, p)) else {
            return Ok(Vec::new());
        };
        set.model.children(&self.registry.db, set.fk, value).await
    }

    /// Parses every inline of `reg` from the post. `parent` is the row being changed
    /// (`None` when adding, or saving as new: every row is then a new one). A forged
    /// post (a row the user may not delete, or may not change but sent changes for)
    /// answers 403 and nothing is written.
    pub(super) async fn parse_inlines(
        &self,
        staff: &Staff,
        reg: &Registered,
        parent: Option<&Row>,
        form: &[(String, String)],
        save_as_new: bool,
    ) -> Result<Vec<PostedInline>, Response<AdminBody>> {
        let mut out = Vec::new();
        for set in reg.model.inlines() {
            out.push(
                self.parse_inline(staff, set, parent, form, save_as_new)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Parses the inline `set` from the post (see `parse_inlines`).
    async fn parse_inline(
        &self,
        staff: &Staff,
        set: &InlineSet,
        parent: Option<&Row>,
        form: &[(String, String)],
        save_as_new: bool,
    ) -> Result<PostedInline, Response<AdminBody>> {
        let visible =
            self.child_perm(staff, set, Action::View) || self.child_perm(staff, set, Action::Add);
        let p = &set.prefix;
        let Some(total) = form_value(form, &format!("{p}-TOTAL_FORMS")) else {
            return Ok(PostedInline::default());
        };
        if !visible {
            // The page never showed this inline to this user.
            return Err(self.forbidden(staff).await);
        }
        let mut posted = PostedInline {
            submitted: true,
            ..PostedInline::default()
        };
        let Ok(total) = total.trim().parse::<usize>() else {
            posted.errors.push(MANAGEMENT_FORM.into());
            return Ok(posted);
        };
        if total > set.absolute_max() {
            let max = set.max_num.unwrap_or(set.absolute_max());
            posted
                .errors
                .push(format!("Please submit at most {max} form{}.", plural(max)));
            return Ok(posted);
        }
        let existing = if save_as_new {
            Vec::new()
        } else {
            self.child_rows(set, parent).await.map_err(|e| {
                tracing::error!(error = %e, "admin inline rows failed");
                unavailable()
            })?
        };
        let by_form = forms_by_index(form, p, total);
        let none: Vec<(String, String)> = Vec::new();
        let mut remaining = existing.len();
        for index in 0..total {
            let pairs = by_form.get(&index).unwrap_or(&none);
            let each = InlineFormPost {
                index,
                pairs,
                existing: &existing,
                save_as_new,
            };
            self.parse_inline_form(staff, set, &each, &mut posted, &mut remaining)
                .await?;
        }
        if let Some(max) = set.max_num
            && remaining > max
        {
            posted
                .errors
                .push(format!("Please submit at most {max} form{}.", plural(max)));
        }
        if remaining < set.min_num {
            posted.errors.push(format!(
                "Please submit at least {} form{}.",
                set.min_num,
                plural(set.min_num)
            ));
        }
        Ok(posted)
    }

    /// Parses one form of the inline `set` into `posted` (its write, if any), counting
    /// the rows that will be left in `remaining`.
    async fn parse_inline_form(
        &self,
        staff: &Staff,
        set: &InlineSet,
        each: &InlineFormPost<'_>,
        posted: &mut PostedInline,
        remaining: &mut usize,
    ) -> Result<(), Response<AdminBody>> {
        let info = set.model.info();
        let &InlineFormPost {
            index,
            pairs,
            existing,
            save_as_new,
        } = each;
        let id = form_value(pairs, "id")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && !save_as_new);
        let delete = checked(form_value(pairs, "DELETE"));
        let mut pf = PostedForm {
            index,
            row: None,
            errors: HashMap::new(),
            non_field: Vec::new(),
            delete,
        };
        let position = posted.forms.len();
        let Some(id) = id else {
            // A new row: ignored when deleted or left empty.
            let empty = info.fieldsets.iter().flat_map(|(_, f)| f).all(|&i| {
                !info.fields[i].editable(true)
                    || form_value(pairs, &info.fields[i].name).is_none_or(|v| v.trim().is_empty())
            });
            if delete || empty {
                posted.forms.push(pf);
                return Ok(());
            }
            if !self.child_perm(staff, set, Action::Add) {
                return Err(self.forbidden(staff).await);
            }
            // Never read: the fields this user may not set (issue 16).
            let mut form = std::borrow::Cow::Borrowed(info);
            crate::service::perms::deny(&mut form, set.model.denied_fields(&*staff.user, None));
            let (values, errors) = parse_form(&form, pairs, true);
            pf.errors = errors;
            self.check_dangling(info, &values, &mut pf.errors).await?;
            if pf.errors.is_empty() {
                posted.writes.push(ChildWrite::Insert(position, values));
            }
            *remaining += 1;
            posted.forms.push(pf);
            return Ok(());
        };
        let Some(row) = existing.iter().find(|r| r.pk == id).cloned() else {
            // Not one of this parent's rows (another parent's, or gone).
            pf.non_field.push(format!(
                "This {} does not belong to this object, or no longer exists.",
                info.verbose_name
            ));
            posted.forms.push(pf);
            return Ok(());
        };
        if delete {
            if !set.can_delete || !self.child_may(staff, set, &row, Action::Delete) {
                return Err(self.forbidden(staff).await);
            }
            *remaining -= 1;
            posted
                .writes
                .push(ChildWrite::Delete(position, row.clone()));
            pf.row = Some(row);
            posted.forms.push(pf);
            return Ok(());
        }
        if self.child_may(staff, set, &row, Action::Change) {
            let mut form = std::borrow::Cow::Borrowed(info);
            crate::service::perms::deny(
                &mut form,
                set.model.denied_fields(&*staff.user, Some(&row)),
            );
            let (values, errors) = parse_form(&form, pairs, false);
            pf.errors = errors;
            self.check_dangling(info, &values, &mut pf.errors).await?;
            let changed: Vec<String> = info
                .changed_labels(&row, &values)
                .into_iter()
                .map(str::to_owned)
                .collect();
            if pf.errors.is_empty() && !changed.is_empty() {
                posted
                    .writes
                    .push(ChildWrite::Update(position, row.clone(), values, changed));
            }
        } else {
            // Shown read-only: its fields are never posted by the page.
            let touched = info.fieldsets.iter().flat_map(|(_, f)| f).any(|&i| {
                info.fields[i].editable(false) && form_value(pairs, &info.fields[i].name).is_some()
            });
            if touched {
                return Err(self.forbidden(staff).await);
            }
        }
        pf.row = Some(row);
        posted.forms.push(pf);
        Ok(())
    }

    /// Adds Django's "Select a valid choice" to the foreign keys of `values` that point
    /// nowhere.
    pub(super) async fn check_dangling(
        &self,
        info: &ModelInfo,
        values: &[(usize, Value)],
        errors: &mut FieldErrors,
    ) -> Result<(), Response<AdminBody>> {
        if !errors.is_empty() {
            return Ok(());
        }
        let Ok(dangling) = self.registry.dangling_foreign_keys(info, values).await else {
            return Err(unavailable());
        };
        for (i, _) in dangling {
            errors.insert(info.fields[i].name.clone(), vec![INVALID_CHOICE.into()]);
        }
        Ok(())
    }

    /// Saves the parent and its inlines' rows in one transaction. `Ok(None)` when an
    /// inline row was refused: its error is then on that row, and nothing was saved.
    pub(super) async fn save_all(
        &self,
        staff: &Staff,
        reg: &Registered,
        existing: Option<&Row>,
        values: Vec<(usize, Value)>,
        m2m: &M2mSets,
        inlines: &mut [PostedInline],
    ) -> Result<Option<Row>, SaveError> {
        if inlines.iter().all(|p| p.writes.is_empty()) {
            return self.save(staff, reg, existing, values, m2m).await.map(Some);
        }
        let info = reg.model.info();
        let (open, mut message) =
            OpenSave::begin(self.registry, staff, reg, existing, values, m2m).await?;
        let (txn, row) = (&open.txn, &open.row);
        for (set, posted) in reg.model.inlines().iter().zip(inlines.iter_mut()) {
            let child = set.model.info();
            let name = child.verbose_name.clone();
            let Some(parent_value) = Self::parent_value(set, row) else {
                return Err(SaveError::Invalid(format!(
                    "The {} cannot point at this {}.",
                    child.verbose_name, info.verbose_name
                )));
            };
            // Django's message lists an inline's additions, then changes, then deletions.
            let mut added: Vec<String> = Vec::new();
            let mut changed: Vec<(String, Vec<String>)> = Vec::new();
            let mut deleted: Vec<String> = Vec::new();
            let writes = std::mem::take(&mut posted.writes);
            for write in writes {
                let (position, result) = match write {
                    ChildWrite::Insert(position, mut values) => {
                        values.push((set.fk, parent_value.clone()));
                        let r = set.model.insert(txn, values).await;
                        if let Ok(r) = &r {
                            added.push(r.repr.clone());
                        }
                        (position, r.map(|_| ()))
                    }
                    ChildWrite::Update(position, old, values, fields) => {
                        let r = set.model.update(txn, &old.pk, values).await;
                        if let Ok(r) = &r {
                            changed.push((r.repr.clone(), fields));
                        }
                        (position, r.map(|_| ()))
                    }
                    ChildWrite::Delete(position, old) => {
                        let r = set.model.delete(txn, std::slice::from_ref(&old.pk)).await;
                        deleted.push(old.repr.clone());
                        (position, r.map(|_| ()))
                    }
                };
                if let Err(e) = result {
                    let form = &mut posted.forms[position];
                    match FormError::of(child, e) {
                        FormError::Field { name, message, .. } => {
                            form.errors.insert(name, vec![message]);
                        }
                        // An inline row may be refused for rows pointing at it, too.
                        FormError::NonField { message, .. } if message == RELATED_MISSING => form
                            .non_field
                            .push("A related row does not exist, or still points here.".into()),
                        FormError::NonField { message, .. } => form.non_field.push(message),
                        FormError::NotFound => form
                            .non_field
                            .push(format!("This {} no longer exists.", child.verbose_name)),
                        FormError::Unavailable(e) => return Err(SaveError::Db(e)),
                    }
                    // Dropping the transaction rolls the parent and every row back.
                    return Ok(None);
                }
            }
            for object in &added {
                message = message.with_added(&name, object);
            }
            for (object, fields) in &changed {
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                message = message.with_changed(&name, object, &fields);
            }
            for object in &deleted {
                message = message.with_deleted(&name, object);
            }
        }
        open.finish(reg, message).await.map(Some)
    }

    /// The `inlines` of the form's context. `posted` is what was posted (after an
    /// error); otherwise the rows of `parent` are shown, with `extra` empty forms.
    pub(super) async fn inlines_json(
        &self,
        staff: &Staff,
        reg: &Registered,
        parent: Option<&Row>,
        posted: Option<Posted<'_>>,
        read_only: bool,
    ) -> Result<Json, Unavailable> {
        let mut out = Vec::new();
        for (k, set) in reg.model.inlines().iter().enumerate() {
            let can_view = self.child_perm(staff, set, Action::View);
            let can_add = self.child_perm(staff, set, Action::Add) && !read_only;
            if !can_view && !can_add {
                continue;
            }
            let info = set.model.info();
            let p = &set.prefix;
            // Each form, and whether its values come from the post.
            let forms: Vec<(PostedForm, bool)>;
            let mut errors: Vec<String> = Vec::new();
            let submitted = posted
                .and_then(|(all, form)| all.get(k).filter(|p| p.submitted).map(|p| (p, form)));
            let total;
            if let Some((pi, _)) = submitted {
                errors.clone_from(&pi.errors);
                forms = pi.forms.iter().map(|f| (f.clone(), true)).collect();
                total = pi.forms.iter().map(|f| f.index + 1).max().unwrap_or(0);
            } else {
                forms = self
                    .stored_inline_forms(staff, set, parent, can_add)
                    .await?;
                total = forms.len();
            }
            let rows: Vec<&Row> = forms.iter().filter_map(|(f, _)| f.row.as_ref()).collect();
            let lookups = self.fk_lookups(info, &rows, false, false).await?;
            let initial = rows.len();
            let child_reg = self.child_reg(set);
            let mut forms_json = Vec::new();
            for (f, was_posted) in &forms {
                let (row, delete) = (&f.row, f.delete);
                let form_prefix = format!("{p}-{}", f.index);
                let editable = match row {
                    Some(r) => !read_only && self.child_may(staff, set, r, Action::Change),
                    None => can_add,
                };
                let on = FieldOn {
                    existing: row.as_ref(),
                    posted: if *was_posted {
                        submitted.map(|(_, form)| form)
                    } else {
                        None
                    },
                    errors: &f.errors,
                    adding: row.is_none(),
                    read_only: !editable,
                    prefix: &format!("{form_prefix}-"),
                };
                let mut form = self.inline_form_json(info, &on, &lookups);
                form["prefix"] = json!(form_prefix);
                form["errors"] = json!(f.non_field);
                form["delete"] = json!(delete);
                if let Some(r) = row {
                    form["pk"] = json!(r.pk);
                    form["repr"] = json!(r.repr);
                    form["can_delete"] = json!(
                        !read_only
                            && set.can_delete
                            && self.child_may(staff, set, r, Action::Delete)
                    );
                    if let Some(creg) = child_reg
                        && self.child_may(staff, set, r, Action::View)
                    {
                        form["url"] = json!(format!(
                            "{}change/",
                            object_url(self.site, creg.model.info(), &r.pk)
                        ));
                    }
                }
                forms_json.push(form);
            }
            let empty_form = if can_add {
                self.empty_inline_form(set, &lookups)
            } else {
                Json::Null
            };
            let columns = inline_columns(info);
            out.push(json!({
                "prefix": p,
                "style": match set.style { Style::Tabular => "tabular", Style::Stacked => "stacked" },
                "name": info.verbose_name,
                "name_plural": crate::model::field::label_of(&info.verbose_name_plural),
                "columns": columns,
                "forms": forms_json,
                "empty_form": empty_form,
                "errors": errors,
                "can_add": can_add,
                "can_delete": set.can_delete && self.child_perm(staff, set, Action::Delete) && !read_only,
                "add_label": format!("Add another {}", info.verbose_name),
                "management": {
                    "total": total,
                    "initial": initial,
                    "min_num": set.min_num,
                    "max_num": set.max_num.unwrap_or(1000),
                },
            }));
        }
        Ok(Json::Array(out))
    }

    /// The forms of the inline `set` when nothing was posted: the rows of `parent` the
    /// user may see, then the empty forms (`extra`, at least `min_num`, at most
    /// `max_num` in all). None of them comes from the post.
    async fn stored_inline_forms(
        &self,
        staff: &Staff,
        set: &InlineSet,
        parent: Option<&Row>,
        can_add: bool,
    ) -> Result<Vec<(PostedForm, bool)>, Unavailable> {
        let rows = self
            .child_rows(set, parent)
            .await
            .map_err(|e| tracing::error!(error = %e, "admin inline rows failed"))?;
        let rows: Vec<Row> = rows
            .into_iter()
            .filter(|r| self.child_may(staff, set, r, Action::View))
            .collect();
        let mut new = if can_add { set.extra } else { 0 };
        if can_add {
            new = new.max(set.min_num.saturating_sub(rows.len()));
        }
        if let Some(max) = set.max_num {
            new = new.min(max.saturating_sub(rows.len()));
        }
        let blank = |index: usize, row: Option<Row>| PostedForm {
            index,
            row,
            errors: HashMap::new(),
            non_field: Vec::new(),
            delete: false,
        };
        let mut forms = Vec::new();
        for row in rows {
            forms.push((blank(forms.len(), Some(row)), false));
        }
        for _ in 0..new {
            forms.push((blank(forms.len(), None), false));
        }
        Ok(forms)
    }

    /// The inline's empty form, which the page's script copies for "Add another".
    fn empty_inline_form(&self, set: &InlineSet, lookups: &FkLookups) -> Json {
        let p = &set.prefix;
        let none: HashMap<String, Vec<String>> = HashMap::new();
        let on = FieldOn {
            existing: None,
            posted: None,
            errors: &none,
            adding: true,
            read_only: false,
            prefix: &format!("{p}-__prefix__-"),
        };
        let mut form = self.inline_form_json(set.model.info(), &on, lookups);
        form["prefix"] = json!(format!("{p}-__prefix__"));
        form
    }

    /// One inline form: its fields flat (`fields`, for a table row) and by fieldset
    /// (`fieldsets`, for a stacked block).
    fn inline_form_json(&self, info: &ModelInfo, on: &FieldOn<'_>, lookups: &FkLookups) -> Json {
        let mut flat = Vec::new();
        let mut sets = Vec::new();
        for (name, indices) in &info.fieldsets {
            let fields: Vec<Json> = indices
                .iter()
                .map(|&i| self.field_json(info, i, on, lookups))
                .collect();
            flat.extend(fields.iter().cloned());
            sets.push(json!({"name": name, "classes": [], "fields": fields}));
        }
        json!({
            "pk": null,
            "original": on.existing.is_some(),
            "readonly": on.read_only,
            "can_delete": false,
            "delete": false,
            "errors": [],
            "fields": flat,
            "fieldsets": sets,
        })
    }
}
