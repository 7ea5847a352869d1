//! The changelist: columns, rows, filters and pagination.

use std::collections::HashMap;

use batteries_orm::paginate::Total;
use batteries_orm::value::Kind;
use chrono::{Datelike, Duration, Utc};
use http::{Method, Response, StatusCode};
use sea_orm::{DbErr, TransactionTrait, Value};
use serde_json::{Value as Json, json};

use super::{
    Action, INVALID_CHOICE, Unavailable, View, changelist_url, form_value, has_perm, may, may_run,
    object_url, perms_json, query_string, thousands, unavailable,
};
use crate::body::AdminBody;
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::field::{Field, pk_string};
use crate::model::{Column, DatePart, ListError, ListPage, ModelInfo, Row};
use crate::registry::Registered;
use crate::response::redirect;
use crate::service::request::Staff;
use crate::service::save::FormError;

impl View<'_> {
    pub(super) async fn changelist(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        if self.req.method == Method::POST {
            // As Django's `changelist_view`: a user who may not see the list may not post
            // to it either (actions included, whatever their own permission).
            if !has_perm(staff, reg.model.info(), Action::View) {
                return self.forbidden(staff).await;
            }
            // One form holds the actions and the `list_editable` inputs, as in Django:
            // the Save button posts `_save`, the action's Go button does not.
            if form_value(&self.req.form_pairs(), "_save").is_some() {
                return self.save_editable(staff, reg).await;
            }
            return self.action(staff, reg).await;
        }
        self.changelist_page(staff, reg, None).await
    }

    /// The changelist page; `edits` are the `list_editable` values posted and refused,
    /// shown again with their errors.
    async fn changelist_page(
        &self,
        staff: &Staff,
        reg: &Registered,
        edits: Option<&Edits>,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, Action::View) {
            return self.forbidden(staff).await;
        }
        let pairs: Vec<(String, String)> = self
            .req
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k != "_changelist_filters")
            .collect();
        let title = format!("Select {} to change", info.verbose_name);
        let mut ctx = self.model_context(Some(staff), &title, Some(info)).await;
        ctx.insert("breadcrumbs".into(), self.breadcrumbs(Some(info), &[]));
        let url = changelist_url(self.site, info);
        ctx.insert("model".into(), self.model_json(staff, info));
        ctx.insert("clear_url".into(), json!(url));
        ctx.insert(
            "export".into(),
            super::export::links(self.site, staff, info, &pairs),
        );
        let db = &self.registry.db;
        let (status, mut page) = match reg.model.list(db, &pairs, self.site.count_limit).await {
            Ok(page) => (StatusCode::OK, Some(page)),
            Err(ListError::Query(message)) => {
                ctx.insert("error".into(), json!(message));
                (StatusCode::BAD_REQUEST, None)
            }
            Err(ListError::Db(e)) => {
                tracing::error!(error = %e, "admin changelist query failed");
                return unavailable();
            }
        };
        // A page past the last one is a 404, as in Django (the list has no such page).
        if let Some(message) = page.as_ref().and_then(ListPage::past_end) {
            return self
                .error_page(Some(staff), StatusCode::NOT_FOUND, &message)
                .await;
        }
        // Rows the object hook hides are left out (the count stays the query's).
        if let Some(page) = &mut page
            && reg.model.has_object_hooks()
        {
            page.rows.retain(|row| may(staff, reg, row, Action::View));
        }
        let ordering = Self::current_ordering(info, &pairs);
        ctx.insert("columns".into(), self.columns(info, &pairs, &ordering));
        let rows = match self
            .page_rows(staff, reg, page.as_ref(), edits, &pairs, &url, &mut ctx)
            .await
        {
            Ok(rows) => rows,
            Err(response) => return response,
        };
        let status = match edits {
            Some(edits) => {
                ctx.insert("edit_errors".into(), json!(edits.non_field));
                StatusCode::BAD_REQUEST
            }
            None => status,
        };
        ctx.insert("rows".into(), rows);
        ctx.insert("search".into(), json!(search_box(info, &pairs)));
        match self.filters(info, &pairs, &url).await {
            Ok(filters) => ctx.insert("filters".into(), filters),
            Err(Unavailable) => return unavailable(),
        };
        if let Some(page) = &page {
            ctx.insert(
                "page".into(),
                pagination(
                    &url,
                    &pairs,
                    page.number,
                    page.per_page,
                    page.total,
                    page.has_next,
                ),
            );
        }
        ctx.insert("actions".into(), json!(action_choices(staff, info)));
        self.render(status, "change_list.html", ctx)
    }

    /// The rows of the changelist `page` (`[]` without one), with their `list_editable`
    /// inputs (the refused `edits` shown again) and the date hierarchy put in `ctx`.
    #[allow(clippy::too_many_arguments, reason = "the page's parts, passed once")]
    async fn page_rows(
        &self,
        staff: &Staff,
        reg: &Registered,
        page: Option<&ListPage>,
        edits: Option<&Edits>,
        pairs: &[(String, String)],
        url: &str,
        ctx: &mut serde_json::Map<String, Json>,
    ) -> Result<Json, Response<AdminBody>> {
        let info = reg.model.info();
        let Some(page) = page else {
            return Ok(json!([]));
        };
        let mut rows = match self.rows(info, &page.rows).await {
            Ok(rows) => rows,
            Err(Unavailable) => return Err(unavailable()),
        };
        let Ok(forms) = self
            .editable_cells(staff, reg, &page.rows, &mut rows, edits)
            .await
        else {
            return Err(unavailable());
        };
        if forms > 0 {
            ctx.insert("editable".into(), json!({"total_forms": forms}));
        }
        match self.date_hierarchy(reg, pairs, url).await {
            Ok(Some(h)) => {
                ctx.insert("date_hierarchy".into(), h);
            }
            Ok(None) => {}
            Err(ListError::Query(message)) => {
                ctx.insert("error".into(), json!(message));
            }
            Err(ListError::Db(e)) => {
                tracing::error!(error = %e, "admin date hierarchy query failed");
                return Err(unavailable());
            }
        }
        Ok(rows)
    }

    pub(super) fn model_json(&self, staff: &Staff, info: &ModelInfo) -> Json {
        let url = changelist_url(self.site, info);
        let mut model = json!({
            "app_label": info.app_label,
            "name": info.model_name,
            "label": info.verbose_name,
            "label_plural": info.verbose_name_plural,
            "url": url,
            "perms": perms_json(staff, info),
        });
        if has_perm(staff, info, Action::Add) {
            model["add_url"] = json!(format!("{url}add/"));
        }
        model
    }

    /// The ordering in effect, as `(field name, descending)`.
    pub(super) fn current_ordering(
        info: &ModelInfo,
        pairs: &[(String, String)],
    ) -> Vec<(String, bool)> {
        let raw = form_value(pairs, "ordering").unwrap_or_else(|| info.default_ordering.clone());
        raw.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.strip_prefix('-') {
                Some(name) => (name.to_owned(), true),
                None => (p.trim_start_matches('+').to_owned(), false),
            })
            .collect()
    }

    pub(super) fn columns(
        &self,
        info: &ModelInfo,
        pairs: &[(String, String)],
        ordering: &[(String, bool)],
    ) -> Json {
        let base: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "ordering" && k != "page")
            .cloned()
            .collect();
        let url_with = |order: &[(String, bool)]| {
            let mut p = base.clone();
            if !order.is_empty() {
                let spec: Vec<String> = order
                    .iter()
                    .map(|(n, d)| if *d { format!("-{n}") } else { n.clone() })
                    .collect();
                p.push(("ordering".into(), spec.join(",")));
            }
            format!("{}{}", changelist_url(self.site, info), query_string(&p))
        };
        let mut out = Vec::new();
        for column in &info.list_display {
            match column {
                Column::Field(i) => {
                    let field = &info.fields[*i];
                    let sortable = info.sortable.contains(i)
                        && (field.kind.is_ordered()
                            || matches!(field.kind, Kind::Bool | Kind::Enum(_)));
                    let position = ordering.iter().position(|(n, _)| *n == field.name);
                    let mut col = json!({
                        "name": field.name,
                        "label": field.label,
                        "sortable": sortable,
                        "sorted": position.map(|p| if ordering[p].1 { "desc" } else { "asc" }),
                        "priority": position.map(|p| p + 1),
                    });
                    if sortable {
                        // Clicking makes this column the primary key of the sort (toggling
                        // its direction when it already is), keeping the others after it.
                        let desc = match position {
                            Some(0) => !ordering[0].1,
                            _ => false,
                        };
                        let mut order = vec![(field.name.clone(), desc)];
                        order.extend(ordering.iter().filter(|(n, _)| *n != field.name).cloned());
                        col["sort_url"] = json!(url_with(&order));
                        if position.is_some() {
                            let rest: Vec<(String, bool)> = ordering
                                .iter()
                                .filter(|(n, _)| *n != field.name)
                                .cloned()
                                .collect();
                            col["remove_sort_url"] = json!(url_with(&rest));
                        }
                    }
                    out.push(col);
                }
                Column::Computed { label, .. } => out.push(json!({
                    "label": label,
                    "sortable": false,
                    "sorted": null,
                    "priority": null,
                })),
            }
        }
        Json::Array(out)
    }

    /// The names of the rows foreign keys point to, one query per listed foreign key.
    pub(super) async fn foreign_reprs(
        &self,
        info: &ModelInfo,
        rows: &[Row],
        columns: &[usize],
    ) -> Result<HashMap<usize, HashMap<String, String>>, Unavailable> {
        let mut out = HashMap::new();
        for &i in columns {
            let Some(fk) = &info.fields[i].foreign_key else {
                continue;
            };
            let Some(target) = self.registry.by_table(&fk.table) else {
                continue;
            };
            // Each related row once, whatever the page's order.
            let mut seen = std::collections::HashSet::new();
            let values: Vec<Value> = rows
                .iter()
                .map(|r| r.values[i].clone())
                .filter(|v| {
                    let key = pk_string(v);
                    !key.is_empty() && seen.insert(key)
                })
                .collect();
            let reprs = target
                .model
                .reprs(&self.registry.db, values)
                .await
                .map_err(|e| tracing::error!(error = %e, "admin foreign key names failed"))?;
            out.insert(i, reprs);
        }
        Ok(out)
    }

    pub(super) async fn rows(&self, info: &ModelInfo, rows: &[Row]) -> Result<Json, Unavailable> {
        let fk_columns: Vec<usize> = info
            .list_display
            .iter()
            .filter_map(|c| match c {
                Column::Field(i) if info.fields[*i].foreign_key.is_some() => Some(*i),
                _ => None,
            })
            .collect();
        let reprs = self.foreign_reprs(info, rows, &fk_columns).await?;
        let out = rows
            .iter()
            .map(|row| {
                let url = format!("{}change/", object_url(self.site, info, &row.pk));
                let mut label = None;
                let cells: Vec<Json> = info
                    .list_display
                    .iter()
                    .enumerate()
                    .map(|(position, column)| {
                        let mut cell = match column {
                            Column::Field(i) => {
                                let mut c = cell(&info.fields[*i], &row.values[*i], reprs.get(i));
                                // The class is made here, not in the template: rendering
                                // is most of a changelist's CPU time.
                                c["cls"] = json!(format!("field-{}", info.fields[*i].name));
                                c
                            }
                            Column::Computed { index, .. } => {
                                json!({"text": row.computed.get(*index).cloned().unwrap_or_default()})
                            }
                        };
                        if info.list_display_links.contains(&position) {
                            cell["url"] = json!(url);
                            if cell["text"].as_str().is_some_and(str::is_empty) {
                                cell["text"] = json!(row.repr);
                            }
                            label.get_or_insert_with(|| cell["text"].clone());
                        }
                        cell
                    })
                    .collect();
                json!({"pk": row.pk, "repr": row.repr, "label": label.unwrap_or_else(|| json!(row.repr)), "cells": cells})
            })
            .collect();
        Ok(Json::Array(out))
    }

    pub(super) async fn filters(
        &self,
        info: &ModelInfo,
        pairs: &[(String, String)],
        url: &str,
    ) -> Result<Json, Unavailable> {
        let mut out = Vec::new();
        for &i in &info.list_filter {
            let field = &info.fields[i];
            let name = &field.name;
            // Every parameter this filter owns, so that picking a choice replaces them.
            // The `date_hierarchy`'s `__year`/`__month`/`__day` belong to its bar.
            let owns = |k: &str| {
                k == name
                    || k.strip_prefix(name.as_str()).is_some_and(|r| {
                        r.starts_with("__") && !matches!(r, "__year" | "__month" | "__day")
                    })
            };
            let base: Vec<(String, String)> = pairs
                .iter()
                .filter(|(k, _)| !owns(k) && k != "page")
                .cloned()
                .collect();
            let mine: Vec<(String, String)> =
                pairs.iter().filter(|(k, _)| owns(k)).cloned().collect();
            let choice = |label: &str, params: Vec<(String, String)>| {
                let mut p = base.clone();
                let selected = {
                    let mut a = params.clone();
                    let mut b = mine.clone();
                    a.sort();
                    b.sort();
                    a == b
                };
                p.extend(params);
                json!({"label": label, "url": format!("{url}{}", query_string(&p)), "selected": selected})
            };
            let mut choices = vec![choice("All", vec![])];
            let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
            if let Some(fk) = &field.foreign_key {
                if let Some(target) = self.registry.by_table(&fk.table) {
                    let options = target
                        .model
                        .choices(&self.registry.db, None, 100)
                        .await
                        .map_err(|e| tracing::error!(error = %e, "admin filter choices failed"))?;
                    for (pk, repr) in options {
                        choices.push(choice(&repr, vec![kv(name, &pk)]));
                    }
                }
            } else if let Some(options) = &field.choices {
                for (value, label) in options {
                    choices.push(choice(label, vec![kv(name, value)]));
                }
                if field.nullable {
                    let isnull = format!("{name}__isnull");
                    choices.push(choice("Unknown", vec![kv(&isnull, "true")]));
                }
            } else {
                match &field.kind {
                    Kind::Bool => {
                        choices.push(choice("Yes", vec![kv(name, "true")]));
                        choices.push(choice("No", vec![kv(name, "false")]));
                    }
                    Kind::Enum(variants) => {
                        for v in variants {
                            choices.push(choice(v, vec![kv(name, v)]));
                        }
                    }
                    Kind::Date | Kind::DateTime | Kind::DateTimeTz => {
                        let today = Utc::now().date_naive();
                        let tomorrow = today + Duration::days(1);
                        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
                        let gte = format!("{name}__gte");
                        let lt = format!("{name}__lt");
                        let month = today.with_day(1).unwrap_or(today);
                        let year = today.with_ordinal(1).unwrap_or(today);
                        for (label, from) in [
                            ("Today", today),
                            ("Past 7 days", today - Duration::days(7)),
                            ("This month", month),
                            ("This year", year),
                        ] {
                            choices.push(choice(
                                label,
                                vec![kv(&gte, &day(from)), kv(&lt, &day(tomorrow))],
                            ));
                        }
                    }
                    _ => {}
                }
                if field.nullable {
                    let isnull = format!("{name}__isnull");
                    choices.push(choice("Unknown", vec![kv(&isnull, "true")]));
                }
            }
            let mut filter = json!({"title": field.label.to_lowercase(), "choices": choices});
            if matches!(field.kind, Kind::Date | Kind::DateTime | Kind::DateTimeTz) {
                filter["range"] = range_form(name, url, &base, &mine);
            }
            out.push(filter);
        }
        Ok(Json::Array(out))
    }
}

/// One row to write: the row as read, its parsed values, the labels of those changed.
/// The changelist's search box (`search` in `change_list.html`).
#[derive(serde::Serialize)]
struct SearchBox<'a> {
    enabled: bool,
    q: String,
    placeholder: String,
    /// The query string's other parameters (filters, ordering), kept by the search.
    hidden: Vec<HiddenInput<'a>>,
}

/// A hidden `<input>`.
#[derive(serde::Serialize)]
struct HiddenInput<'a> {
    name: &'a str,
    value: &'a str,
}

/// An action of the changelist's action menu.
#[derive(serde::Serialize)]
struct ActionChoice<'a> {
    name: &'a str,
    label: String,
}

/// The search box of the changelist of `info` for the query string `pairs`.
fn search_box<'a>(info: &ModelInfo, pairs: &'a [(String, String)]) -> SearchBox<'a> {
    let hidden = pairs
        .iter()
        .filter(|(k, _)| k != "q" && k != "page")
        .map(|(k, v)| HiddenInput { name: k, value: v })
        .collect();
    SearchBox {
        enabled: !info.search.is_empty(),
        q: form_value(pairs, "q").unwrap_or_default(),
        placeholder: format!(
            "Search {}",
            info.search
                .iter()
                .map(|&i| info.fields[i].label.to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        hidden,
    }
}

/// The actions `staff` may run on the changelist of `info`: "Delete selected" first,
/// then the model admin's own.
fn action_choices<'a>(staff: &Staff, info: &'a ModelInfo) -> Vec<ActionChoice<'a>> {
    let mut actions = Vec::new();
    if has_perm(staff, info, Action::Delete) {
        actions.push(ActionChoice {
            name: "delete_selected",
            label: format!("Delete selected {}", info.verbose_name_plural),
        });
    }
    for (name, label, needs) in &info.actions {
        if may_run(staff, info, *needs) {
            actions.push(ActionChoice {
                name,
                label: label.clone(),
            });
        }
    }
    actions
}

type RowEdit<'a> = (&'a Row, Vec<(usize, Value)>, Vec<&'a str>);

/// `list_editable` values posted and refused: the form as posted, errors by
/// `(pk, field name)`, and errors of whole rows.
pub(super) struct Edits {
    form: Vec<(String, String)>,
    errors: HashMap<(String, String), Vec<String>>,
    non_field: Vec<String>,
}

/// The From/To form of a date filter: `<field>__range__gte` and `<field>__range__lte`
/// (both days included), keeping every other parameter as a hidden field.
fn range_form(name: &str, url: &str, base: &[(String, String)], mine: &[(String, String)]) -> Json {
    let from_name = format!("{name}__range__gte");
    let to_name = format!("{name}__range__lte");
    let hidden: Vec<Json> = base
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({
        "action": url,
        "from_name": from_name,
        "from": form_value(mine, &from_name).unwrap_or_default(),
        "from_id": format!("id_{from_name}"),
        "to_name": to_name,
        "to": form_value(mine, &to_name).unwrap_or_default(),
        "to_id": format!("id_{to_name}"),
        "hidden": hidden,
    })
}

fn month_name(month: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get((month as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("?")
}

impl View<'_> {
    /// Django's `date_hierarchy` bar: the years with rows, the months of the chosen
    /// year, the days of the chosen month; each link keeps the other parameters.
    async fn date_hierarchy(
        &self,
        reg: &Registered,
        pairs: &[(String, String)],
        url: &str,
    ) -> Result<Option<Json>, ListError> {
        let info = reg.model.info();
        let Some(column) = info.date_hierarchy else {
            return Ok(None);
        };
        let name = &info.fields[column].name;
        let (year_key, month_key, day_key) = (
            format!("{name}__year"),
            format!("{name}__month"),
            format!("{name}__day"),
        );
        let base: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| *k != year_key && *k != month_key && *k != day_key && k != "page")
            .cloned()
            .collect();
        let link = |parts: &[(&String, i64)]| {
            let mut p = base.clone();
            p.extend(parts.iter().map(|(k, v)| ((*k).clone(), v.to_string())));
            format!("{url}{}", query_string(&p))
        };
        let number = |k: &str| form_value(pairs, k).and_then(|v| v.trim().parse::<i64>().ok());
        let (year, month, day) = (number(&year_key), number(&month_key), number(&day_key));
        let month_label = |m: i64| month_name(u32::try_from(m).unwrap_or(0));
        let (back, choices) = match (year, month, day) {
            (Some(y), Some(m), Some(d)) => (
                Some(
                    json!({"label": format!("{} {y}", month_label(m)), "url": link(&[(&year_key, y), (&month_key, m)])}),
                ),
                vec![
                    json!({"label": format!("{} {d}", month_label(m)), "url": null, "current": true}),
                ],
            ),
            (Some(y), Some(m), None) => {
                let days = reg
                    .model
                    .dates(&self.registry.db, pairs, column, DatePart::Day)
                    .await?;
                (
                    Some(json!({"label": y.to_string(), "url": link(&[(&year_key, y)])})),
                    days.into_iter()
                        .map(|d| json!({"label": format!("{} {d}", month_label(m)), "url": link(&[(&year_key, y), (&month_key, m), (&day_key, d)])}))
                        .collect(),
                )
            }
            (Some(y), None, None) => {
                let months = reg
                    .model
                    .dates(&self.registry.db, pairs, column, DatePart::Month)
                    .await?;
                (
                    Some(json!({"label": "All dates", "url": link(&[])})),
                    months.into_iter()
                        .map(|m| json!({"label": format!("{} {y}", month_label(m)), "url": link(&[(&year_key, y), (&month_key, m)])}))
                        .collect(),
                )
            }
            _ => {
                let years = reg
                    .model
                    .dates(&self.registry.db, pairs, column, DatePart::Year)
                    .await?;
                (
                    None,
                    years
                        .into_iter()
                        .map(|y| json!({"label": y.to_string(), "url": link(&[(&year_key, y)])}))
                        .collect(),
                )
            }
        };
        Ok(Some(json!({
            "field": name,
            "label": info.fields[column].label,
            "back": back,
            "choices": choices,
        })))
    }

    /// Turns the `list_editable` cells of the rows the user may change into inputs
    /// (Django's formset names: `form-N-id`, `form-N-<field>`); gives how many rows
    /// got a form.
    async fn editable_cells(
        &self,
        staff: &Staff,
        reg: &Registered,
        rows: &[Row],
        out: &mut Json,
        edits: Option<&Edits>,
    ) -> Result<usize, Unavailable> {
        let info = reg.model.info();
        if info.list_editable.is_empty() || !has_perm(staff, info, Action::Change) {
            return Ok(0);
        }
        // `<select>` choices of editable foreign keys, one query each.
        let mut fk_choices: HashMap<usize, Vec<(String, String)>> = HashMap::new();
        for &i in &info.list_editable {
            let field = &info.fields[i];
            if let Some(fk) = &field.foreign_key
                && !field.autocomplete
                && let Some(target) = self.registry.by_table(&fk.table)
            {
                let choices = target
                    .model
                    .choices(&self.registry.db, None, 1000)
                    .await
                    .map_err(
                        |e| tracing::error!(error = %e, "admin list_editable choices failed"),
                    )?;
                fk_choices.insert(i, choices);
            }
        }
        // Where each row's values were posted, by pk.
        let posted: HashMap<String, String> = edits
            .map(|e| {
                e.form
                    .iter()
                    .filter_map(|(k, v)| {
                        let n = k.strip_prefix("form-")?.strip_suffix("-id")?;
                        Some((v.clone(), format!("form-{n}-")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let Some(cells_out) = out.as_array_mut() else {
            return Ok(0);
        };
        let mut n = 0;
        for (row, row_json) in rows.iter().zip(cells_out.iter_mut()) {
            if !may(staff, reg, row, Action::Change) {
                continue;
            }
            // Fields this user may not set on this row stay plain text (issue 16).
            let denied = reg.model.denied_fields(&*staff.user, Some(row));
            let prefix = format!("form-{n}-");
            let mut first = true;
            for (position, column) in info.list_display.iter().enumerate() {
                let Column::Field(i) = column else { continue };
                if !info.list_editable.contains(i) || denied.contains(&info.fields[*i].name) {
                    continue;
                }
                let field = &info.fields[*i];
                let name = format!("{prefix}{}", field.name);
                // The posted form and this cell's key in it, when shown again.
                let posted_key = edits.and_then(|e| {
                    let at = posted.get(&row.pk)?;
                    Some((e.form.as_slice(), format!("{at}{}", field.name)))
                });
                let errors = edits
                    .and_then(|e| e.errors.get(&(row.pk.clone(), field.name.clone())))
                    .cloned()
                    .unwrap_or_default();
                let mut input = editable_input(
                    field,
                    &name,
                    &row.values[*i],
                    posted_key.as_ref().map(|(form, key)| (*form, key.as_str())),
                    fk_choices.get(i),
                );
                input["errors"] = json!(errors);
                input["label"] = json!(format!("{} of {}", field.label, row.repr));
                let cell = &mut row_json["cells"][position];
                cell["input"] = input;
                if first {
                    cell["form_id"] = json!({"name": format!("{prefix}id"), "value": row.pk});
                    first = false;
                }
            }
            if !first {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Saves the `list_editable` form: every posted row must be on this page and
    /// changeable by the user, every value valid; then the changed rows are written in
    /// one transaction with one history entry each.
    async fn save_editable(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        if info.list_editable.is_empty() {
            return self
                .error_page(
                    Some(staff),
                    StatusCode::BAD_REQUEST,
                    "This list has no editable columns.",
                )
                .await;
        }
        if !has_perm(staff, info, Action::Change) {
            return self.forbidden(staff).await;
        }
        let form = self.req.form_pairs();
        let total = match form_value(&form, "form-TOTAL_FORMS").map(|v| v.trim().parse::<usize>()) {
            Some(Ok(n)) if n <= 1000 => n,
            _ => {
                return self
                    .bad_edit(
                        staff,
                        "form-TOTAL_FORMS is missing or not a number from 0 to 1000; nothing was saved.",
                    )
                    .await;
            }
        };
        let page = match self.editable_page(staff, reg).await {
            Ok(page) => page,
            Err(response) => return response,
        };
        let mut errors: HashMap<(String, String), Vec<String>> = HashMap::new();
        let mut non_field = Vec::new();
        let edits = match self
            .bind_row_edits(staff, reg, &form, total, &page, &mut errors)
            .await
        {
            Ok(edits) => edits,
            Err(response) => return response,
        };
        if errors.is_empty() {
            match self.write_edits(staff, reg, &edits).await {
                Ok(()) => return self.edits_saved(info, edits.len()).await,
                Err(EditError::Unavailable) => return unavailable(),
                Err(EditError::Field(pk, name, message)) => {
                    errors.insert((pk, name), vec![message]);
                }
                Err(EditError::Row(message)) => non_field.push(message),
            }
        }
        let edits = Edits {
            form,
            errors,
            non_field,
        };
        self.changelist_page(staff, reg, Some(&edits)).await
    }

    /// The 400 page of a `list_editable` post refused as a whole.
    async fn bad_edit(&self, staff: &Staff, message: &str) -> Response<AdminBody> {
        self.error_page(Some(staff), StatusCode::BAD_REQUEST, message)
            .await
    }

    /// The changelist page the `list_editable` form was posted from (its query string's
    /// filters, ordering and page number).
    async fn editable_page(
        &self,
        staff: &Staff,
        reg: &Registered,
    ) -> Result<ListPage, Response<AdminBody>> {
        let pairs: Vec<(String, String)> = self
            .req
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k != "_changelist_filters")
            .collect();
        match reg
            .model
            .list(&self.registry.db, &pairs, self.site.count_limit)
            .await
        {
            Ok(page) => Ok(page),
            Err(ListError::Query(m)) => Err(self.bad_edit(staff, &m).await),
            Err(ListError::Db(e)) => {
                tracing::error!(error = %e, "admin changelist query failed");
                Err(unavailable())
            }
        }
    }

    /// Binds and validates the `total` posted rows of the `list_editable` form against
    /// the `page` they were posted from: the changed rows, with the values refused put
    /// in `errors`; `Err` refuses the whole post (a row missing, repeated, not on the
    /// page or not changeable by the user).
    async fn bind_row_edits<'p>(
        &self,
        staff: &Staff,
        reg: &'p Registered,
        form: &[(String, String)],
        total: usize,
        page: &'p ListPage,
        errors: &mut HashMap<(String, String), Vec<String>>,
    ) -> Result<Vec<RowEdit<'p>>, Response<AdminBody>> {
        let info = reg.model.info();
        // The posted values by name (the first of each, as `form_value` reads them),
        // looked up in constant time: a big post costs one pass, not one per field.
        let mut by_name: HashMap<&str, &str> = HashMap::with_capacity(form.len());
        for (k, v) in form {
            by_name.entry(k.as_str()).or_insert(v.as_str());
        }
        let posted = |name: &str| by_name.get(name).map(|v| (*v).to_owned());
        let mut seen = std::collections::HashSet::new();
        let mut edits: Vec<RowEdit<'p>> = Vec::new();
        for k in 0..total {
            let Some(pk) = posted(&format!("form-{k}-id")) else {
                return Err(self
                    .bad_edit(
                        staff,
                        &format!("form-{k}-id is missing; nothing was saved."),
                    )
                    .await);
            };
            let Some(row) = page.rows.iter().find(|r| r.pk == pk) else {
                return Err(self.bad_edit(staff, &format!(
                    "The {} with primary key {} is not on this page (it may have been deleted or moved); nothing was saved. Reload the page and try again.",
                    info.verbose_name,
                    crate::model::field::truncate(&pk)
                ))
                .await);
            };
            if !seen.insert(pk.clone()) {
                return Err(self
                    .bad_edit(
                        staff,
                        &format!("form-{k}-id repeats a row; nothing was saved."),
                    )
                    .await);
            }
            if !may(staff, reg, row, Action::Change) {
                return Err(self.forbidden(staff).await);
            }
            let mut values = Vec::new();
            // Never read: the fields this user may not set on this row (issue 16).
            let denied = reg.model.denied_fields(&*staff.user, Some(row));
            for &i in &info.list_editable {
                let field = &info.fields[i];
                if denied.contains(&field.name) {
                    continue;
                }
                let raw = posted(&format!("form-{k}-{}", field.name));
                match field.parse_form(raw.as_deref()) {
                    Ok(Some(v)) => values.push((i, v)),
                    Ok(None) => {}
                    Err(message) => {
                        errors.insert((pk.clone(), field.name.clone()), vec![message]);
                    }
                }
            }
            let Ok(dangling) = self.registry.dangling_foreign_keys(info, &values).await else {
                return Err(unavailable());
            };
            for (i, _) in dangling {
                errors.insert(
                    (pk.clone(), info.fields[i].name.clone()),
                    vec![INVALID_CHOICE.into()],
                );
            }
            let changed = info.changed_labels(row, &values);
            if !changed.is_empty() {
                edits.push((row, values, changed));
            }
        }
        Ok(edits)
    }

    /// After `n` rows of the `list_editable` form were saved: the message, and back to
    /// the changelist with its query string.
    async fn edits_saved(&self, info: &ModelInfo, n: usize) -> Response<AdminBody> {
        if n > 0 {
            let (name, verb) = if n == 1 {
                (&info.verbose_name, "was")
            } else {
                (&info.verbose_name_plural, "were")
            };
            self.push_message(
                "success",
                &format!("{n} {name} {verb} changed successfully."),
            )
            .await;
        }
        let back = if self.req.query.is_empty() {
            changelist_url(self.site, info)
        } else {
            format!("{}?{}", changelist_url(self.site, info), self.req.query)
        };
        redirect(&back)
    }

    async fn write_edits(
        &self,
        staff: &Staff,
        reg: &Registered,
        edits: &[RowEdit<'_>],
    ) -> Result<(), EditError> {
        let info = reg.model.info();
        if edits.is_empty() {
            return Ok(());
        }
        let user_id = staff
            .user_id()
            .ok_or_else(|| EditError::Row("Only users with integer ids can edit.".into()))?;
        let db_err = |e: DbErr| {
            tracing::error!(error = %e, "admin list_editable save failed");
            EditError::Unavailable
        };
        let txn = self.registry.db.begin().await.map_err(db_err)?;
        for (row, values, changed) in edits {
            let saved = match reg.model.update(&txn, &row.pk, values.clone()).await {
                Ok(saved) => saved,
                Err(e) => {
                    // Dropping the transaction rolls every row back.
                    return Err(match FormError::of(info, e) {
                        FormError::Field { name, message, .. }
                            if info
                                .list_editable
                                .iter()
                                .any(|&i| info.fields[i].name == name) =>
                        {
                            EditError::Field(row.pk.clone(), name, message)
                        }
                        FormError::Field { message, .. } | FormError::NonField { message, .. } => {
                            EditError::Row(format!("{}: {message}", row.repr))
                        }
                        FormError::NotFound => EditError::Row(format!(
                            "{}: it was deleted meanwhile; nothing was saved.",
                            row.repr
                        )),
                        FormError::Unavailable(e) => db_err(e),
                    });
                }
            };
            log::log_action(
                &txn,
                NewEntry {
                    user_id,
                    content_type_id: reg.content_type_id,
                    object_id: &saved.pk,
                    object_repr: &saved.repr,
                    flag: ActionFlag::Change,
                    message: ChangeMessage::changed(changed),
                },
            )
            .await
            .map_err(db_err)?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(())
    }
}

/// Why the `list_editable` rows could not be written.
enum EditError {
    /// The database is unreachable.
    Unavailable,
    /// A value refused: `(pk, field name, message)`.
    Field(String, String, String),
    /// A row refused as a whole.
    Row(String),
}

/// The input of one `list_editable` cell (the change form's widgets, in a cell).
fn editable_input(
    field: &Field,
    name: &str,
    current: &Value,
    posted: Option<(&[(String, String)], &str)>,
    fk_choices: Option<&Vec<(String, String)>>,
) -> Json {
    // `Some(None)`: shown again after a post that did not send this input.
    let posted = posted.map(|(form, key)| form_value(form, key));
    let widget = match field.widget() {
        "textarea" | "uuid" | "autocomplete" => "text",
        w => w,
    };
    let value = match &posted {
        Some(v) => v.clone().unwrap_or_default(),
        None => field.form_value(current),
    };
    let mut input = json!({
        "name": name,
        "id": format!("id_{name}"),
        "widget": widget,
        "value": value,
        "attrs": field.attrs(),
    });
    match widget {
        "checkbox" => {
            input["checked"] = json!(match &posted {
                Some(v) => v.is_some(),
                None => matches!(current, Value::Bool(Some(true))),
            });
        }
        "nullbool" => {
            input["choices"] = json!([
                {"value": "", "label": "Unknown", "selected": value.is_empty()},
                {"value": "true", "label": "Yes", "selected": value == "true"},
                {"value": "false", "label": "No", "selected": value == "false"},
            ]);
        }
        "select" => {
            let mut choices = Vec::new();
            if field.nullable {
                choices
                    .push(json!({"value": "", "label": "---------", "selected": value.is_empty()}));
            }
            for (v, label) in field.choices.iter().flatten() {
                choices.push(json!({"value": v, "label": label, "selected": *v == value}));
            }
            if let Kind::Enum(variants) = &field.kind {
                for v in variants {
                    choices.push(json!({"value": v, "label": v, "selected": *v == value}));
                }
            }
            for (pk, repr) in fk_choices.into_iter().flatten() {
                choices.push(json!({"value": pk, "label": repr, "selected": *pk == value}));
            }
            input["choices"] = Json::Array(choices);
        }
        _ => {}
    }
    input
}

pub(super) fn cell(field: &Field, value: &Value, reprs: Option<&HashMap<String, String>>) -> Json {
    if let Some(reprs) = reprs {
        let key = pk_string(value);
        if key.is_empty() {
            return json!({"text": "-"});
        }
        return json!({"text": reprs.get(&key).cloned().unwrap_or(key)});
    }
    match (&field.kind, value) {
        (Kind::Bool, Value::Bool(b)) => json!({"text": "", "bool": b}),
        _ => json!({"text": field.display(value)}),
    }
}

/// The pages to link to, `None` for an ellipsis: the first two, two either side of
/// `number`, and the last two when `show_last` (else an ellipsis when pages follow).
/// Django's `Paginator.get_elided_page_range(on_each_side=2, on_ends=2)`: at most 12
/// entries and constant work, however large the numbers (`number <= num_pages`).
fn elided_page_range(number: u64, num_pages: u64, show_last: bool) -> Vec<Option<u64>> {
    const EACH_SIDE: u64 = 2;
    const ENDS: u64 = 2;
    let number = number.clamp(1, num_pages.max(1));
    if num_pages <= (EACH_SIDE + ENDS) * 2 {
        return (1..=num_pages).map(Some).collect();
    }
    let mut out = Vec::with_capacity(12);
    if number > EACH_SIDE + ENDS + 2 {
        out.extend((1..=ENDS).map(Some));
        out.push(None);
        out.extend((number - EACH_SIDE..=number).map(Some));
    } else {
        // number <= 6
        out.extend((1..=number).map(Some));
    }
    if number.saturating_add(EACH_SIDE + ENDS + 1) < num_pages {
        out.extend((number + 1..=number + EACH_SIDE).map(Some));
        out.push(None);
        if show_last {
            out.extend((num_pages - ENDS + 1..=num_pages).map(Some));
        }
    } else {
        // At most 5 pages follow (written so that `number == u64::MAX` cannot overflow).
        out.extend((number..num_pages).map(|n| Some(n + 1)));
    }
    out
}

pub(super) fn pagination(
    url: &str,
    pairs: &[(String, String)],
    number: u64,
    per_page: u64,
    total: Total,
    has_next: bool,
) -> Json {
    let base: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
    let page_url = |n: u64| {
        let mut p = base.clone();
        if n > 1 {
            p.push(("page".into(), n.to_string()));
        }
        format!("{url}{}", query_string(&p))
    };
    let count = total.value();
    let num_pages = count
        .div_ceil(per_page.max(1))
        .max(1)
        .max(number.saturating_add(u64::from(has_next)));
    let total_label = match total {
        Total::Exact(n) => thousands(n),
        Total::Estimate(n) => format!("about {}", thousands(n)),
        _ => format!("more than {}", thousands(count)),
    };
    let exact_last = matches!(total, Total::Exact(_) | Total::Estimate(_));
    let links: Vec<Json> = elided_page_range(number, num_pages, exact_last)
        .into_iter()
        .map(|n| match n {
            Some(n) => json!({"number": n, "url": page_url(n), "current": n == number}),
            None => json!({"number": null, "url": null, "current": false}),
        })
        .collect();
    let mut page = json!({
        "number": number,
        "num_pages": num_pages,
        "total": count,
        "total_exact": total.is_exact(),
        "total_label": total_label,
        "per_page": per_page,
        "links": links,
    });
    if number > 1 {
        page["prev_url"] = json!(page_url(number - 1));
    }
    if has_next {
        page["next_url"] = json!(page_url(number + 1));
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_elides_the_middle_and_keeps_filters() {
        let pairs = vec![
            ("q".to_owned(), "rust".to_owned()),
            ("page".to_owned(), "5".to_owned()),
        ];
        let p = pagination("/admin/blog/post/", &pairs, 5, 10, Total::Exact(200), true);
        let numbers: Vec<Option<u64>> = p["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["number"].as_u64())
            .collect();
        assert_eq!(
            numbers,
            [
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                None,
                Some(19),
                Some(20)
            ]
        );
        assert_eq!(p["next_url"], "/admin/blog/post/?q=rust&page=6");
        assert_eq!(p["prev_url"], "/admin/blog/post/?q=rust&page=4");
        assert_eq!(p["total_label"], "200");
    }

    #[test]
    fn page_links_are_few_whatever_the_numbers() {
        let range = |n, pages, last| elided_page_range(n, pages, last);
        let s = Some;
        assert_eq!(range(1, 1, true), [s(1)]);
        assert_eq!(range(3, 8, true), (1..=8).map(Some).collect::<Vec<_>>());
        assert_eq!(range(1, 9, true), [s(1), s(2), s(3), None, s(8), s(9)]);
        assert_eq!(
            range(7, 20, true),
            [
                s(1),
                s(2),
                None,
                s(5),
                s(6),
                s(7),
                s(8),
                s(9),
                None,
                s(19),
                s(20)
            ]
        );
        assert_eq!(
            range(18, 20, true),
            [s(1), s(2), None, s(16), s(17), s(18), s(19), s(20)]
        );
        // An unknown end: an ellipsis, no last pages.
        assert_eq!(range(7, 20, false)[7..], [s(9), None]);
        // Huge numbers (a planner's estimate of the rows, a page near the bound): a
        // dozen links at most, computed at once.
        for (n, pages) in [
            (2_147_483_647, u64::MAX),
            (2_147_483_647, 2_147_483_647),
            (1, u64::MAX),
            (u64::MAX, u64::MAX),
            (u64::MAX - 3, u64::MAX),
            (u64::MAX, 5),
        ] {
            for last in [true, false] {
                let links = range(n, pages, last);
                assert!(links.len() <= 12, "{n} of {pages}: {links:?}");
                assert!(
                    links.contains(&Some(n.min(pages))),
                    "{n} of {pages}: {links:?}"
                );
            }
        }
        let p = pagination(
            "/admin/blog/post/",
            &[],
            1_000_000_000_000_000,
            100,
            Total::AtLeast(10_001),
            false,
        );
        assert_eq!(p["links"].as_array().unwrap().len(), 6, "{p}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
