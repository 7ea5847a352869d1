//! The OpenAPI 3.1 document of the JSON API, generated from the registrations (only
//! the models and operations the requesting user may use).

use batteries_orm::value::Kind;
use serde_json::{Map, Value as Json, json};

use crate::field::Field;
use crate::model::ModelInfo;
use crate::site::{Inner, Staff};
use crate::views::has_perm;

/// The JSON Schema of one field's value.
fn schema(field: &Field) -> Json {
    let mut s = match &field.kind {
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int { min, max } => {
            // JSON numbers beyond 2^53 lose precision in many clients; bounds as given.
            json!({"type": "integer", "minimum": *min as f64, "maximum": *max as f64})
        }
        Kind::Float => json!({"type": "number"}),
        Kind::Decimal { .. } => {
            let whole = field.digits.map_or(20, |(p, s)| p.saturating_sub(s).max(1));
            let frac = field.digits.map_or(10, |(_, s)| s);
            json!({
                "type": "string",
                "pattern": format!("^-?[0-9]{{1,{whole}}}(\\.[0-9]{{0,{frac}}})?$"),
                "description": "A decimal number, as a string."
            })
        }
        Kind::Text => {
            let mut s = json!({"type": "string"});
            if let Some(n) = field.max_length {
                s["maxLength"] = json!(n);
            }
            if !field.blank && !field.nullable {
                s["minLength"] = json!(1);
                s["pattern"] = json!("\\S");
            }
            s
        }
        Kind::Date => json!({"type": "string", "format": "date"}),
        Kind::Time => {
            json!({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?$"})
        }
        Kind::DateTime => json!({
            "type": "string",
            "pattern": "^[0-9]{4}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?$",
            "description": "A date and time without a time zone."
        }),
        Kind::DateTimeTz => json!({"type": "string", "format": "date-time"}),
        Kind::Uuid => json!({"type": "string", "format": "uuid"}),
        Kind::Enum(variants) => json!({"type": "string", "enum": variants}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        _ => json!({}),
    };
    if let Some(choices) = &field.choices {
        let values: Vec<Json> = choices
            .iter()
            .map(|(v, _)| match &field.kind {
                Kind::Int { .. } => v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
                _ => json!(v),
            })
            .collect();
        s = json!({"enum": values});
    }
    if field.nullable {
        match s.get("type").cloned() {
            Some(Json::String(t)) => s["type"] = json!([t, "null"]),
            _ if s.get("enum").is_some() => {}
            _ => {}
        }
        if let Some(Json::Array(variants)) = s.get_mut("enum") {
            variants.push(Json::Null);
        }
    }
    if !field.label.is_empty() {
        s["title"] = json!(field.label);
    }
    if let Some(help) = &field.help {
        s["description"] = json!(help);
    }
    s
}

fn component_name(info: &ModelInfo) -> String {
    let camel = |s: &str| -> String {
        s.split(['_', '-', ' '])
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut c = p.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect()
    };
    format!("{}{}", camel(&info.app_label), camel(&info.model_name))
}

fn error_response(description: &str) -> Json {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

/// The document for `staff`.
pub(crate) fn document(inner: &Inner, staff: &Staff) -> Json {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}}
                }
            }
        }),
    );
    for reg in &inner.models {
        let info = reg.model.info();
        if !has_perm(staff, info, "view") {
            continue;
        }
        let name = component_name(info);
        let mut props = Map::new();
        let mut input_props = Map::new();
        let mut required_in = Vec::new();
        let on_form: Vec<usize> = info
            .fieldsets
            .iter()
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        for (i, field) in info.fields.iter().enumerate() {
            props.insert(field.name.clone(), schema(field));
            if on_form.contains(&i) && field.editable(true) {
                input_props.insert(field.name.clone(), schema(field));
                if field.required() {
                    required_in.push(json!(field.name));
                }
            }
        }
        let all: Vec<Json> = info.fields.iter().map(|f| json!(f.name)).collect();
        schemas.insert(
            name.clone(),
            json!({"type": "object", "properties": props, "required": all}),
        );
        schemas.insert(
            format!("{name}Input"),
            json!({"type": "object", "properties": input_props, "required": required_in, "additionalProperties": false}),
        );
        // Updates cannot change the primary key.
        let mut update_props = input_props.clone();
        update_props.remove(&info.pk_field().name);
        schemas.insert(
            format!("{name}Patch"),
            json!({"type": "object", "properties": update_props, "additionalProperties": false}),
        );
        let required_update: Vec<Json> = required_in
            .iter()
            .filter(|n| n.as_str() != Some(info.pk_field().name.as_str()))
            .cloned()
            .collect();
        schemas.insert(
            format!("{name}Update"),
            json!({"type": "object", "properties": update_props, "required": required_update, "additionalProperties": false}),
        );
        schemas.insert(
            format!("{name}Page"),
            json!({
                "type": "object",
                "required": ["count", "count_exact", "page", "per_page", "num_pages", "next", "previous", "results"],
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "count_exact": {"type": "boolean"},
                    "page": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1},
                    "num_pages": {"type": "integer", "minimum": 1},
                    "next": {"type": ["string", "null"]},
                    "previous": {"type": ["string", "null"]},
                    "results": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}}
                }
            }),
        );

        let mut params = vec![
            json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
            json!({"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": info.per_page.max(1000)}}),
            json!({"name": "ordering", "in": "query", "description": format!(
                "Comma-separated fields, `-` for descending: {}",
                info.sortable.iter().map(|&i| info.fields[i].name.as_str()).collect::<Vec<_>>().join(", ")
            ), "schema": {"type": "string"}}),
        ];
        if !info.search.is_empty() {
            params.push(json!({"name": "q", "in": "query", "description": "Search words (each must match one of the search fields).", "schema": {"type": "string"}}));
        }
        for &i in &info.sortable {
            let field = &info.fields[i];
            let mut s = schema(field);
            if let Some(obj) = s.as_object_mut() {
                // A filter value is a single non-null value.
                if let Some(Json::Array(types)) = obj.get("type").cloned() {
                    obj.insert("type".into(), types[0].clone());
                }
                if let Some(Json::Array(variants)) = obj.get_mut("enum") {
                    variants.retain(|v| !v.is_null());
                }
                obj.remove("minLength");
                obj.remove("pattern");
                obj.remove("title");
            }
            params.push(json!({"name": field.name, "in": "query", "description": format!("Exact match on {}; lookups such as `{}__gte` work too.", field.label, field.name), "schema": s}));
        }
        let tag = format!("{}.{}", info.app_label, info.model_name);
        let base = format!("/{}/{}/", info.app_label, info.model_name);
        let mut collection = Map::new();
        collection.insert("get".into(), json!({
            "tags": [tag],
            "operationId": format!("list{name}"),
            "summary": format!("List {}", info.verbose_name_plural),
            "parameters": params,
            "responses": {
                "200": {"description": "A page of rows.", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}Page")}}}},
                "400": error_response("The query string names an unknown field or holds a bad value."),
                "401": error_response("Not logged in as active staff."),
                "403": error_response("Permission denied.")
            }
        }));
        if has_perm(staff, info, "add") {
            collection.insert("post".into(), json!({
                "tags": [tag],
                "operationId": format!("create{name}"),
                "summary": format!("Add a {}", info.verbose_name),
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}Input")}}}},
                "responses": {
                    "201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}},
                    "400": error_response("Invalid data, by field."),
                    "401": error_response("Not logged in as active staff."),
                    "403": error_response("Permission denied or CSRF token missing."),
                    "415": error_response("Not a JSON body.")
                }
            }));
        }
        paths.insert(base.clone(), Json::Object(collection));

        let pk_schema = {
            let mut s = schema(info.pk_field());
            if let Some(obj) = s.as_object_mut() {
                obj.remove("title");
            }
            s
        };
        let mut item = Map::new();
        item.insert(
            "parameters".into(),
            json!([{"name": "pk", "in": "path", "required": true, "schema": pk_schema}]),
        );
        let one = json!({"description": "The row.", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        item.insert(
            "get".into(),
            json!({
                "tags": [tag],
                "operationId": format!("get{name}"),
                "responses": {
                    "200": one,
                    "401": error_response("Not logged in as active staff."),
                    "403": error_response("Permission denied."),
                    "404": error_response("No such row.")
                }
            }),
        );
        if has_perm(staff, info, "change") {
            for (method, schema_name, op) in
                [("put", "Update", "replace"), ("patch", "Patch", "update")]
            {
                item.insert(method.into(), json!({
                    "tags": [tag],
                    "operationId": format!("{op}{name}"),
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}{schema_name}")}}}},
                    "responses": {
                        "200": one,
                        "400": error_response("Invalid data, by field."),
                        "401": error_response("Not logged in as active staff."),
                        "403": error_response("Permission denied or CSRF token missing."),
                        "404": error_response("No such row."),
                        "415": error_response("Not a JSON body.")
                    }
                }));
            }
        }
        if has_perm(staff, info, "delete") {
            item.insert(
                "delete".into(),
                json!({
                    "tags": [tag],
                    "operationId": format!("delete{name}"),
                    "responses": {
                        "204": {"description": "Deleted."},
                        "400": error_response("A hook refused the deletion."),
                        "401": error_response("Not logged in as active staff."),
                        "403": error_response("Permission denied or CSRF token missing."),
                        "404": error_response("No such row."),
                        "409": error_response("Other rows still refer to this one.")
                    }
                }),
            );
        }
        paths.insert(format!("{base}{{pk}}/"), Json::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} API", inner.title),
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The admin's JSON API: the same models, permissions and validation as its pages. Authenticate with the session cookie (and send `X-CSRFToken` on writes) or a bearer token."
        },
        "servers": [{"url": format!("{}/api", inner.prefix)}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                "bearer": {"type": "http", "scheme": "bearer"}
            }
        },
        "security": [{"session": []}, {"bearer": []}]
    })
}
