//! The changelist: columns, rows, filters and pagination.

use std::collections::HashMap;

use batteries_orm::paginate::Total;
use batteries_orm::value::Kind;
use chrono::{Datelike, Duration, Utc};
use http::{Method, Response, StatusCode};
use sea_orm::Value;
use serde_json::{Value as Json, json};

use super::{
    View, changelist_url, form_value, has_perm, object_url, perms_json, query_string, thousands,
    unavailable,
};
use crate::field::{Field, pk_string};
use crate::model::{Column, ListError, ModelInfo, Row};
use crate::site::{AdminBody, Registered, Staff};

impl View<'_> {
    pub(super) async fn changelist(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        if self.req.method == Method::POST {
            return self.action(staff, reg).await;
        }
        if !has_perm(staff, info, "view") {
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
        let url = changelist_url(self.inner, info);
        ctx.insert("model".into(), self.model_json(staff, info));
        ctx.insert("clear_url".into(), json!(url));
        ctx.insert(
            "export".into(),
            super::export::links(self.inner, staff, info, &pairs),
        );
        let db = &self.inner.db;
        let (status, page) = match reg.model.list(db, &pairs, self.inner.count_limit).await {
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
        let ordering = Self::current_ordering(info, &pairs);
        ctx.insert("columns".into(), self.columns(info, &pairs, &ordering));
        let rows = match &page {
            Some(page) => match self.rows(info, &page.rows).await {
                Ok(rows) => rows,
                Err(()) => return unavailable(),
            },
            None => json!([]),
        };
        ctx.insert("rows".into(), rows);
        let hidden: Vec<Json> = pairs
            .iter()
            .filter(|(k, _)| k != "q" && k != "page")
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        ctx.insert(
            "search".into(),
            json!({
                "enabled": !info.search.is_empty(),
                "q": form_value(&pairs, "q").unwrap_or_default(),
                "placeholder": format!(
                    "Search {}",
                    info.search.iter().map(|&i| info.fields[i].label.to_lowercase()).collect::<Vec<_>>().join(", ")
                ),
                "hidden": hidden,
            }),
        );
        match self.filters(info, &pairs, &url).await {
            Ok(filters) => ctx.insert("filters".into(), filters),
            Err(()) => return unavailable(),
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
        let mut actions = Vec::new();
        if has_perm(staff, info, "delete") {
            actions.push(json!({
                "name": "delete_selected",
                "label": format!("Delete selected {}", info.verbose_name_plural),
            }));
        }
        for (name, label, perm) in &info.actions {
            if has_perm(staff, info, perm) {
                actions.push(json!({"name": name, "label": label}));
            }
        }
        ctx.insert("actions".into(), Json::Array(actions));
        self.render(status, "change_list.html", ctx)
    }

    pub(super) fn model_json(&self, staff: &Staff, info: &ModelInfo) -> Json {
        let url = changelist_url(self.inner, info);
        let mut model = json!({
            "app_label": info.app_label,
            "name": info.model_name,
            "label": info.verbose_name,
            "label_plural": info.verbose_name_plural,
            "url": url,
            "perms": perms_json(staff, info),
        });
        if has_perm(staff, info, "add") {
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
            format!("{}{}", changelist_url(self.inner, info), query_string(&p))
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
    ) -> Result<HashMap<usize, HashMap<String, String>>, ()> {
        let mut out = HashMap::new();
        for &i in columns {
            let Some(fk) = &info.fields[i].foreign_key else {
                continue;
            };
            let Some(target) = self.inner.by_table(&fk.table) else {
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
                .reprs(&self.inner.db, values)
                .await
                .map_err(|e| tracing::error!(error = %e, "admin foreign key names failed"))?;
            out.insert(i, reprs);
        }
        Ok(out)
    }

    pub(super) async fn rows(&self, info: &ModelInfo, rows: &[Row]) -> Result<Json, ()> {
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
                let url = format!("{}change/", object_url(self.inner, info, &row.pk));
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
    ) -> Result<Json, ()> {
        let mut out = Vec::new();
        for &i in &info.list_filter {
            let field = &info.fields[i];
            let name = &field.name;
            // Every parameter this filter owns, so that picking a choice replaces them.
            let owns = |k: &str| {
                k == name
                    || k.strip_prefix(name.as_str())
                        .is_some_and(|r| r.starts_with("__"))
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
                if let Some(target) = self.inner.by_table(&fk.table) {
                    let options = target
                        .model
                        .choices(&self.inner.db, None, 100)
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
            out.push(json!({"title": field.label.to_lowercase(), "choices": choices}));
        }
        Ok(Json::Array(out))
    }
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
        .div_ceil(per_page)
        .max(1)
        .max(number + u64::from(has_next));
    let total_label = match total {
        Total::Exact(n) => thousands(n),
        Total::Estimate(n) => format!("about {}", thousands(n)),
        _ => format!("more than {}", thousands(count)),
    };
    let exact_last = matches!(total, Total::Exact(_) | Total::Estimate(_));
    let mut links = Vec::new();
    let mut last_shown = 0;
    for n in 1..=num_pages {
        let near = n + 3 > number && n < number + 3;
        let edge = n <= 2 || (exact_last && n + 2 > num_pages);
        if near || edge {
            if last_shown + 1 < n {
                links.push(json!({"number": null, "url": null, "current": false}));
            }
            links.push(json!({"number": n, "url": page_url(n), "current": n == number}));
            last_shown = n;
        } else if n > number + 3 && !exact_last {
            break;
        } else if n > number + 3 && n + 2 <= num_pages {
            // Jump straight to the last two pages.
            let skip_to = num_pages.saturating_sub(2);
            if skip_to > n {
                links.push(json!({"number": null, "url": null, "current": false}));
                for m in (skip_to + 1)..=num_pages {
                    links.push(json!({"number": m, "url": page_url(m), "current": m == number}));
                }
                break;
            }
        }
    }
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
    pub(super) fn pagination_elides_the_middle_and_keeps_filters() {
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
    pub(super) fn thousands_separators() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
