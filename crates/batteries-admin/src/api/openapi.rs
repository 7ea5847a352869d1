//! The OpenAPI 3.1 document of the JSON API, generated from the registrations (only
//! the models and operations the requesting user may use).

use batteries_orm::value::Kind;
use serde_json::{Map, Value as Json, json};

use crate::model::ModelInfo;
use crate::model::field::{Field, SPACE_CLASS};
use crate::registry::{Registry, Site};
use crate::service::export::may_export;
use crate::service::perms::{Action, form_info, has_perm};
use crate::service::request::Staff;

/// Any character but NUL.
const NO_NUL: &str = "[^\\x00]";

/// A time of day as the parser reads it (`HH:MM`, `HH:MM:SS`, fractions of seconds).
const TIME: &str = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?";

/// A calendar date a regular expression can vouch for: years 1000 to 9999 (what every
/// backend stores), months 01 to 12, and days that exist in every year (29 February is
/// accepted by the API in leap years but left out here).
const DATE: &str = concat!(
    "[1-9][0-9]{3}-",
    "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
);

/// The month and day of [`DATE`].
const MONTH_DAY: &str =
    "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)";

/// A time of day with its seconds.
const TIME_SECONDS: &str = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?";

/// What a response may hold for a field: the input schema without the constraints
/// only writes must meet (rows written by other means are still shown).
fn output_schema(field: &Field, mysql: bool) -> Json {
    let mut s = schema(field, mysql);
    if matches!(field.kind, Kind::Text)
        && let Some(obj) = s.as_object_mut()
    {
        obj.remove("minLength");
        obj.remove("pattern");
    }
    s
}

/// The JSON Schema of one field's value.
fn schema(field: &Field, mysql: bool) -> Json {
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
            // No NUL characters (PostgreSQL cannot store them); a required text needs
            // one character that is not white space.
            if !field.blank && !field.nullable {
                s["minLength"] = json!(1);
                s["pattern"] = json!(format!("^{NO_NUL}*[^{SPACE_CLASS}\\x00]{NO_NUL}*$"));
            } else {
                s["pattern"] = json!(format!("^{NO_NUL}*$"));
            }
            s
        }
        Kind::Date => json!({"type": "string", "pattern": format!("^{DATE}$")}),
        Kind::Time => {
            json!({"type": "string", "pattern": format!("^{TIME}$")})
        }
        Kind::DateTime => json!({
            "type": "string",
            "pattern": format!("^{DATE}[T ]{TIME}$"),
            "description": "A date and time without a time zone."
        }),
        // Years 1000 to 9999, as for dates (in UTC; the offset may cross a year); on
        // MySQL, what its driver's `TIMESTAMP` holds (see `crate::api::MYSQL_TIMESTAMP`).
        Kind::DateTimeTz => {
            let years = if mysql {
                "(197[1-9]|19[89][0-9]|20[0-2][0-9]|203[0-7])"
            } else {
                "[1-9][0-9]{3}"
            };
            json!({
                "type": "string",
                "pattern": format!("^{years}-{MONTH_DAY}T{TIME_SECONDS}(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"),
                "description": "An RFC 3339 date and time with its offset, stored in UTC."
            })
        }
        Kind::Uuid => json!({"type": "string", "format": "uuid"}),
        Kind::Enum(variants) => json!({"type": "string", "enum": variants}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        // Any JSON value; PostgreSQL's `jsonb` refuses NUL characters in its strings,
        // and so does the API on every backend.
        Kind::Json => json!({"description": "Any JSON value without NUL characters (\\u0000)."}),
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

/// `name` as a literal in a regular expression.
fn regex_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
/// `GET /{app}/{model}/export`: the changelist's columns of every matching row, as a
/// streamed CSV or JSON file (listed only for users with the `export` permission).
fn export_path(info: &ModelInfo, tag: &str, name: &str, list_params: &[Json]) -> Json {
    let mut params: Vec<Json> = list_params
        .iter()
        .filter(|p| p["name"] != "page" && p["name"] != "per_page")
        .cloned()
        .collect();
    params.insert(0, json!({"name": "format", "in": "query", "description": "The file format (default `csv`).", "schema": {"type": "string", "enum": ["csv", "json"]}}));
    let columns: Vec<String> = info
        .list_display
        .iter()
        .map(|c| match c {
            crate::model::Column::Field(i) => info.fields[*i].name.clone(),
            crate::model::Column::Computed { name, .. } => name.clone(),
        })
        .collect();
    json!({"get": {
        "tags": [tag],
        "operationId": format!("export{name}"),
        "summary": format!("Export {} (CSV or JSON, streamed)", info.verbose_name_plural),
        "description": format!(
            "Every row the filters and search select, in the ordering asked for, with the changelist's columns: {}. Foreign keys hold the related row's name. Needs the `{}` permission.",
            columns.join(", "),
            info.perm(Action::Export)
        ),
        "parameters": params,
        "responses": {
            "200": {"description": "The file, as an attachment.", "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
            }},
            "400": error_response("The query string names an unknown field or holds a bad value."),
            "401": error_response("Not logged in as active staff."),
            "403": error_response("Permission denied.")
        }
    }})
}

pub(crate) fn document(registry: &Registry, site: &Site, staff: &Staff) -> Json {
    let mysql = registry.db.get_database_backend() == sea_orm::DbBackend::MySql;
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
    for reg in &registry.models {
        let info = reg.model.info();
        if !has_perm(staff, info, Action::View) {
            continue;
        }
        let name = component_name(info);
        let mut props = Map::new();
        // Creating takes exactly the add form's writable fields, less those this user
        // may not set; updating, the change form's, with the superuser-only ones marked
        // `readOnly` for anyone else (sending their current value back is accepted).
        let superuser = staff.user.is_superuser();
        let add = form_info(&*staff.user, reg, None);
        let on_add_form: Vec<usize> = add
            .fieldsets
            .iter()
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        let mut input_props = Map::new();
        let mut required_in = Vec::new();
        let on_form: Vec<usize> = info
            .fieldsets
            .iter()
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        let mut update_props = Map::new();
        let mut required_update = Vec::new();
        let only_superusers = |s: &mut Json| {
            s["readOnly"] = json!(true);
            let note = "Only superusers may change it.";
            s["description"] = json!(match s["description"].as_str() {
                Some(d) => format!("{d} {note}"),
                None => note.to_owned(),
            });
        };
        for (i, field) in info.fields.iter().enumerate() {
            if info.never_output(i) {
                continue;
            }
            props.insert(field.name.clone(), output_schema(field, mysql));
            if on_add_form.contains(&i) && add.fields[i].editable(true) {
                input_props.insert(field.name.clone(), schema(field, mysql));
                if field.required() {
                    required_in.push(json!(field.name));
                }
            }
            if on_form.contains(&i) && field.editable(false) {
                let mut s = schema(field, mysql);
                if field.superuser_only && !superuser {
                    only_superusers(&mut s);
                } else if field.required() {
                    required_update.push(json!(field.name));
                }
                update_props.insert(field.name.clone(), s);
            }
        }
        // Many-to-many fields: arrays of the target's keys, never required on input, at
        // most `MAX_M2M_IDS` of them.
        for m in super::m2m::api_fields(info) {
            let mut items = schema(&m.target_key, mysql);
            if let Some(obj) = items.as_object_mut() {
                obj.remove("title");
            }
            let mut s = json!({"type": "array", "items": items, "title": m.label});
            if let Some(help) = &m.help {
                s["description"] = json!(help);
            }
            props.insert(m.name.clone(), s.clone());
            s["maxItems"] = json!(crate::model::m2m::MAX_M2M_IDS);
            if add.m2m.iter().any(|a| a.meta().name == m.name) && !add.m2m_read_only(&m.name) {
                input_props.insert(m.name.clone(), s.clone());
            }
            if m.superuser_only && !superuser {
                only_superusers(&mut s);
            }
            update_props.insert(m.name.clone(), s);
        }
        let all: Vec<Json> = (info.fields.iter().enumerate())
            .filter(|(i, _)| !info.never_output(*i))
            .map(|(_, f)| json!(f.name))
            .chain(super::m2m::api_fields(info).map(|m| json!(m.name)))
            .collect();
        schemas.insert(
            name.clone(),
            json!({"type": "object", "properties": props, "required": all}),
        );
        schemas.insert(
            format!("{name}Input"),
            json!({"type": "object", "properties": input_props, "required": required_in, "additionalProperties": false}),
        );
        schemas.insert(
            format!("{name}Patch"),
            json!({"type": "object", "properties": update_props, "additionalProperties": false}),
        );
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

        let sortable: Vec<String> = info
            .sortable
            .iter()
            .map(|&i| regex_escape(&info.fields[i].name))
            .collect();
        let one_order = format!("-?({})", sortable.join("|"));
        let ordering_pattern = format!("^({one_order}(,{one_order})*)?$");
        let mut params = vec![
            json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": super::MAX_PAGE}}),
            json!({"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": info.per_page.max(1000)}}),
            json!({"name": "ordering", "in": "query", "description": format!(
                "Comma-separated fields, `-` for descending: {}",
                sortable.join(", ")
            ), "schema": {"type": "string", "pattern": ordering_pattern}}),
        ];
        if !info.search.is_empty() {
            params.push(json!({"name": "q", "in": "query", "description": "Search words (each must match one of the search fields).", "schema": {"type": "string", "pattern": format!("^{NO_NUL}*$")}}));
        }
        for &i in &info.sortable {
            let field = &info.fields[i];
            let mut s = schema(field, mysql);
            if let Some(obj) = s.as_object_mut() {
                // A filter value is a single non-null value.
                if let Some(Json::Array(types)) = obj.get("type").cloned() {
                    obj.insert("type".into(), types[0].clone());
                }
                if let Some(Json::Array(variants)) = obj.get_mut("enum") {
                    variants.retain(|v| !v.is_null());
                }
                // Any text may be looked for, even what could not be stored.
                if matches!(field.kind, Kind::Text) {
                    obj.remove("minLength");
                    obj.remove("maxLength");
                    obj.insert("pattern".into(), json!(format!("^{NO_NUL}*$")));
                }
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
                "403": error_response("Permission denied."),
                "404": error_response("The page is past the last one.")
            }
        }));
        if has_perm(staff, info, Action::Add) {
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
                    "409": error_response("A unique value is already used by another row."),
                    "415": error_response("Not a JSON body.")
                }
            }));
        }
        paths.insert(base.clone(), Json::Object(collection));
        if may_export(staff, info) {
            paths.insert(
                format!("{base}export"),
                export_path(info, &tag, &name, &params),
            );
        }

        let pk_schema = {
            let mut s = schema(info.pk_field(), mysql);
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
        if has_perm(staff, info, Action::Change) {
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
                        "409": error_response("A unique value is already used by another row."),
                        "415": error_response("Not a JSON body.")
                    }
                }));
            }
        }
        if has_perm(staff, info, Action::Delete) {
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
            "title": format!("{} API", site.title),
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The admin's JSON API: the same models, permissions and validation as its pages. Authenticate with the session cookie (and send `X-CSRFToken` on writes) or a bearer token."
        },
        "servers": [{"url": format!("{}/api", site.prefix)}],
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
