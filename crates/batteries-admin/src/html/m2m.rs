//! Many-to-many fields on the HTML form: the posted ids and the widgets.

use std::collections::{HashMap, HashSet};

use sea_orm::{DbErr, Value};
use serde_json::{Value as Json, json};

use crate::model::field::pk_string;
use crate::model::{ModelInfo, Row};
use crate::registry::Registry;
use crate::service::m2m::{choices, names};

/// The most choices a form lists for one many-to-many field. Past it the form shows the
/// first ones (by the target's primary key) and those already chosen, and says so; the
/// others can still be chosen through the JSON API.
pub(crate) const CHOICES_CAP: u64 = 1000;

/// The ids posted for each many-to-many field of the form (repeated `name=id` pairs;
/// none means the set is emptied, as an unselected `<select multiple>` posts nothing).
pub(crate) fn parse_form(info: &ModelInfo, form: &[(String, String)]) -> Vec<(usize, Vec<String>)> {
    info.m2m
        .iter()
        .enumerate()
        .filter(|(_, m)| !info.m2m_read_only(&m.meta().name))
        .map(|(i, m)| {
            let name = &m.meta().name;
            let ids = form
                .iter()
                .filter(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect();
            (i, ids)
        })
        .collect()
}

/// The form fields of the many-to-many fields (see `templates/README.md`, widget `m2m`),
/// each with the title of the fieldset it goes in.
pub(crate) async fn form_fields(
    registry: &Registry,
    info: &ModelInfo,
    existing: Option<&Row>,
    posted: Option<&[(String, String)]>,
    errors: &HashMap<String, Vec<String>>,
    read_only: bool,
) -> Result<Vec<(Option<String>, Json)>, DbErr> {
    let mut out = Vec::new();
    for m in &info.m2m {
        let meta = m.meta();
        let current: Vec<Value> = match existing {
            Some(row) => {
                let parent = row.values[meta.parent_field].clone();
                m.targets(&registry.db, vec![parent.clone()])
                    .await?
                    .remove(&pk_string(&parent))
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let mut field = json!({
            "name": meta.name,
            "label": meta.label,
            "required": false,
            "errors": errors.get(&meta.name).cloned().unwrap_or_default(),
            "attrs": {},
        });
        if read_only || info.m2m_read_only(&meta.name) {
            let names = names(registry, m.as_ref(), current.clone()).await?;
            let shown: Vec<String> = current
                .iter()
                .map(|v| {
                    let k = pk_string(v);
                    names.get(&k).cloned().unwrap_or(k)
                })
                .collect();
            field["widget"] = json!("readonly");
            field["readonly"] = json!(true);
            field["value"] = json!("");
            field["display"] = json!(if shown.is_empty() {
                "-".to_owned()
            } else {
                shown.join(", ")
            });
            field["help"] = json!(meta.help);
            out.push((meta.fieldset.clone(), field));
            continue;
        }
        let selected: Vec<String> = match posted {
            Some(form) => form
                .iter()
                .filter(|(k, _)| *k == meta.name)
                .map(|(_, v)| v.clone())
                .collect(),
            None => current.iter().map(pk_string).collect(),
        };
        let mut list = choices(registry, m.as_ref(), CHOICES_CAP + 1).await?;
        let truncated = list.len() as u64 > CHOICES_CAP;
        list.truncate(CHOICES_CAP as usize);
        // The ones chosen are always listed, even past the cap.
        let listed: HashSet<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
        let unlisted: Vec<Value> = selected
            .iter()
            .filter(|k| !listed.contains(k.as_str()))
            .filter_map(|k| meta.target_key.kind.parse(k).ok())
            .collect();
        if !unlisted.is_empty() {
            let extra = names(registry, m.as_ref(), unlisted).await?;
            let mut extra: Vec<(String, String)> = extra.into_iter().collect();
            extra.sort();
            list.extend(extra);
        }
        let choices: Vec<Json> = list
            .iter()
            .map(|(k, label)| json!({"value": k, "label": label, "selected": selected.contains(k)}))
            .collect();
        let mut help = meta.help.clone();
        if truncated {
            let note = format!(
                "Only the first {CHOICES_CAP} choices are listed; use the API to choose others."
            );
            help = Some(match help {
                Some(h) => format!("{h} {note}"),
                None => note,
            });
        }
        field["widget"] = json!("m2m");
        field["readonly"] = json!(false);
        field["value"] = json!(selected);
        field["choices"] = Json::Array(choices);
        field["size"] = json!(list.len().clamp(4, 10));
        field["filter_horizontal"] = json!(meta.filter_horizontal);
        field["verbose_name"] = json!(meta.label.to_lowercase());
        field["truncated"] = json!(truncated);
        field["help"] = json!(help);
        out.push((meta.fieldset.clone(), field));
    }
    Ok(out)
}

/// Adds the many-to-many fields at the end of their fieldsets in a form's `fieldsets`
/// (the one of the title given, else the first).
pub(crate) fn append_to_fieldsets(fieldsets: &mut Json, fields: Vec<(Option<String>, Json)>) {
    if fields.is_empty() {
        return;
    }
    let Some(sets) = fieldsets.as_array_mut() else {
        return;
    };
    if sets.is_empty() {
        sets.push(json!({"name": null, "classes": [], "fields": []}));
    }
    for (title, field) in fields {
        let at = title
            .and_then(|t| {
                sets.iter()
                    .position(|s| s["name"].as_str() == Some(t.as_str()))
            })
            .unwrap_or(0);
        if let Some(list) = sets[at]["fields"].as_array_mut() {
            list.push(field);
        }
    }
}
