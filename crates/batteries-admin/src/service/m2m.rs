//! Many-to-many operations over the registry: naming targets, checking posted ids,
//! rewriting the sets in a save's transaction, what a delete takes with it.

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, Value};
use serde_json::{Value as Json, json};

use crate::model::field::{label_of, pk_string, truncate};
use crate::model::m2m::{Choices, M2mField, M2mSets, MAX_M2M_IDS, too_many_ids};
use crate::model::{ModelInfo, Row};
use crate::registry::Registry;

/// The names of the targets `values`, by key: the field's own `display`, else the
/// target's registered admin, else `Tag object (3)`.
pub(crate) async fn names(
    registry: &Registry,
    m: &dyn M2mField,
    values: Vec<Value>,
) -> Result<HashMap<String, String>, DbErr> {
    let target = registry.by_table(&m.meta().target_table);
    if let Some(own) = m
        .own_choices(
            &registry.db,
            Choices::Only(values.clone()),
            target.is_some(),
        )
        .await?
    {
        return Ok(own.into_iter().collect());
    }
    match target {
        Some(t) => t.model.reprs(&registry.db, values).await,
        None => Ok(HashMap::new()),
    }
}

/// Up to `limit` choices `(key, name)` for the form.
pub(crate) async fn choices(
    registry: &Registry,
    m: &dyn M2mField,
    limit: u64,
) -> Result<Vec<(String, String)>, DbErr> {
    let target = registry.by_table(&m.meta().target_table);
    if let Some(own) = m
        .own_choices(&registry.db, Choices::First(limit), target.is_some())
        .await?
    {
        return Ok(own);
    }
    match target {
        Some(t) => t.model.choices(&registry.db, None, limit).await,
        None => Ok(Vec::new()),
    }
}

/// Parses and checks posted ids: an id that is malformed or names no row is a field
/// error in Django's words. One query per field.
pub(crate) async fn check_form(
    registry: &Registry,
    info: &ModelInfo,
    posted: Vec<(usize, Vec<String>)>,
    errors: &mut HashMap<String, Vec<String>>,
) -> Result<M2mSets, DbErr> {
    let mut sets = Vec::new();
    for (i, raw) in posted {
        let m = &info.m2m[i];
        let meta = m.meta();
        let invalid = |id: &str| {
            format!(
                "Select a valid choice. {} is not one of the available choices.",
                truncate(id)
            )
        };
        if raw.len() > MAX_M2M_IDS {
            errors.insert(meta.name.clone(), vec![too_many_ids(raw.len())]);
            continue;
        }
        let mut values = Vec::new();
        let mut bad = None;
        for id in &raw {
            if let Ok(v) = meta.target_key.kind.parse(id.trim()) {
                values.push(v);
            } else {
                bad = Some(id.clone());
                break;
            }
        }
        if bad.is_none() {
            bad = m.missing(&registry.db, &values).await?;
        }
        match bad {
            Some(id) => {
                errors.insert(meta.name.clone(), vec![invalid(&id)]);
            }
            None => sets.push((i, values)),
        }
    }
    Ok(sets)
}

/// Writes the sets for `row` in `txn`; the labels of the fields whose set changed.
pub(crate) async fn save<'a>(
    txn: &DatabaseTransaction,
    info: &'a ModelInfo,
    row: &Row,
    sets: &[(usize, Vec<Value>)],
) -> Result<Vec<&'a str>, DbErr> {
    let mut changed = Vec::new();
    for (i, ids) in sets {
        let m = &info.m2m[*i];
        let parent = row.values[m.meta().parent_field].clone();
        if m.set(txn, parent, ids).await? {
            changed.push(m.meta().label.as_str());
        }
    }
    Ok(changed)
}

/// What deleting `rows` takes with it through the join tables: one entry per field with
/// join rows, as the delete confirmation's `cascades` lists them.
pub(crate) async fn cascades(
    registry: &Registry,
    info: &ModelInfo,
    rows: &[Row],
) -> Result<Vec<Json>, DbErr> {
    let mut out = Vec::new();
    for m in &info.m2m {
        let meta = m.meta();
        let parents = rows
            .iter()
            .map(|r| r.values[meta.parent_field].clone())
            .collect();
        let (count, first) = m.count(&registry.db, parents, 5).await?;
        if count == 0 {
            continue;
        }
        let names = names(registry, m.as_ref(), first.clone()).await?;
        let examples: Vec<String> = first
            .iter()
            .map(|v| {
                let k = pk_string(v);
                format!("{}: {}", meta.label, names.get(&k).cloned().unwrap_or(k))
            })
            .collect();
        let what = if count == 1 {
            "relationship"
        } else {
            "relationships"
        };
        out.push(json!({
            "label": format!("{}-{} {what}", label_of(&info.verbose_name), meta.label.to_lowercase()),
            "count": count,
            "examples": examples,
        }));
    }
    Ok(out)
}

/// The ids among `sets` that name no row: `(field name, id)`. One query per field.
pub(crate) async fn dangling(
    db: &DatabaseConnection,
    info: &ModelInfo,
    sets: &[(usize, Vec<Value>)],
) -> Result<Vec<(String, String)>, DbErr> {
    let mut out = Vec::new();
    for (i, values) in sets {
        let m = &info.m2m[*i];
        if let Some(id) = m.missing(db, values).await? {
            out.push((m.meta().name.clone(), id));
        }
    }
    Ok(out)
}
