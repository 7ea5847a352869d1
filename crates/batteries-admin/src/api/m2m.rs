//! Many-to-many fields in the JSON API: arrays of the targets' keys.

use std::collections::HashMap;

use batteries_orm::value::to_json;
use sea_orm::{DatabaseConnection, DbErr, Value};
use serde_json::{Map, Value as Json};

use crate::model::field::{pk_string, truncate};
use crate::model::m2m::{M2mMeta, M2mSets, MAX_M2M_IDS, too_many_ids};
use crate::model::{ModelInfo, Row};

/// Sets each many-to-many field of the API's JSON rows: an array of the targets' keys.
/// One query per field for all the rows.
pub(crate) async fn attach(
    db: &DatabaseConnection,
    info: &ModelInfo,
    rows: &[Row],
    out: &mut [Json],
) -> Result<(), DbErr> {
    for m in &info.m2m {
        let meta = m.meta();
        let parents: Vec<Value> = rows
            .iter()
            .map(|r| r.values[meta.parent_field].clone())
            .collect();
        let mut targets = m.targets(db, parents).await?;
        for (row, json) in rows.iter().zip(out.iter_mut()) {
            let key = pk_string(&row.values[meta.parent_field]);
            let ids: Vec<Json> = targets
                .remove(&key)
                .unwrap_or_default()
                .iter()
                .map(|v| to_json(v, &meta.target_key.kind))
                .collect();
            if let Some(object) = json.as_object_mut() {
                object.insert(meta.name.clone(), Json::Array(ids));
            }
        }
    }
    Ok(())
}

/// Whether `key` names a many-to-many field.
pub(crate) fn is_m2m(info: &ModelInfo, key: &str) -> bool {
    info.m2m.iter().any(|m| m.meta().name == key)
}

/// The many-to-many values of an API body: an array of keys per field present (absent
/// fields are left as they are, and empty when adding). Errors go into `errors`. Fields
/// read-only for this request are skipped (the API checks them apart).
pub(crate) fn parse_json(
    info: &ModelInfo,
    object: &Map<String, Json>,
    errors: &mut HashMap<String, Vec<String>>,
) -> M2mSets {
    let mut sets = Vec::new();
    for (i, m) in info.m2m.iter().enumerate() {
        let meta = m.meta();
        if info.m2m_read_only(&meta.name) {
            continue;
        }
        let Some(json) = object.get(&meta.name) else {
            continue;
        };
        match parse_ids(meta, json) {
            Ok(values) => sets.push((i, values)),
            Err(message) => {
                errors.insert(meta.name.clone(), vec![message]);
            }
        }
    }
    sets
}

/// One many-to-many value of an API body: an array of at most [`MAX_M2M_IDS`] keys.
pub(crate) fn parse_ids(meta: &M2mMeta, json: &Json) -> Result<Vec<Value>, String> {
    let Json::Array(items) = json else {
        let kind = match json {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(_) => "number",
            Json::String(_) => "str",
            Json::Object(_) => "dict",
            Json::Array(_) => "list",
        };
        return Err(format!("Expected a list of items but got type \"{kind}\"."));
    };
    if items.len() > MAX_M2M_IDS {
        return Err(too_many_ids(items.len()));
    }
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        match meta.target_key.parse_json(item) {
            Ok(v) => values.push(v),
            Err(e) => {
                return Err(format!(
                    "Incorrect value {}: {e}",
                    truncate(&item.to_string())
                ));
            }
        }
    }
    Ok(values)
}

/// The fields' output kinds, for the OpenAPI document: `(name, label, key field)`.
pub(crate) fn api_fields(info: &ModelInfo) -> impl Iterator<Item = &M2mMeta> {
    info.m2m.iter().map(|m| m.meta())
}
