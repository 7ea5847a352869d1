//! The JSON API: the same registrations, permissions and validation as the HTML pages,
//! under `{prefix}/api/`, with its OpenAPI 3.1 document at `{prefix}/api/openapi.json`.

use std::collections::HashMap;

use batteries_middleware::auth::AuthMethod;
use batteries_middleware::csrf::{HEADER, check_token};
use batteries_orm::value::{Kind, to_json};
use http::{HeaderValue, Method, Response, StatusCode, header};
use sea_orm::{DbBackend, TransactionTrait, Value};
use serde_json::{Map, Value as Json, json};

mod export;
mod m2m;
pub(crate) mod openapi;

use crate::body::AdminBody;
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::m2m::M2mSets;
use crate::model::{ListError, ModelInfo, Row, SaveError};
use crate::registry::{Registered, Registry, Site};
use crate::response::json_response;
use crate::service::Unavailable;
use crate::service::perms::{Action, form_info, has_perm, may};
use crate::service::request::{Req, Staff};
use crate::service::save::{FormError, save_row};

/// A write's values: the columns', and the many-to-many sets.
type Body = (Vec<(usize, Value)>, M2mSets);

/// A value sent for a field the user may not set (its index, and the value when it
/// parses): refused unless it is the row's current value.
pub(crate) enum Attempt {
    Column(usize, Option<Value>),
    M2m(usize, Option<Vec<Value>>),
}

const NO_PERMISSION: &str = "You don't have permission to set this field.";

/// 403 naming the fields this user may not set.
fn denied_fields(names: &[String]) -> Response<AdminBody> {
    let fields: HashMap<&str, Vec<&str>> = names
        .iter()
        .map(|n| (n.as_str(), vec![NO_PERMISSION]))
        .collect();
    json_response(
        StatusCode::FORBIDDEN,
        &json!({
            "error": format!("You don't have permission to set: {}.", names.join(", ")),
            "fields": fields,
        }),
    )
}

/// The last page the API serves: beyond it offsets would not fit every backend.
pub(crate) const MAX_PAGE: u64 = batteries_orm::paginate::MAX_PAGE;

/// The Unix times a MySQL `TIMESTAMP` holds.
pub(crate) const MYSQL_TIMESTAMP: std::ops::RangeInclusive<i64> = 1..=2_147_483_647;

fn error(status: StatusCode, message: &str) -> Response<AdminBody> {
    json_response(status, &json!({"error": message}))
}

/// 405 with the `Allow` header RFC 9110 requires.
fn forbidden() -> Response<AdminBody> {
    error(
        StatusCode::FORBIDDEN,
        "You don't have permission to do this.",
    )
}

fn method_not_allowed(allow: &'static str) -> Response<AdminBody> {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn unavailable() -> Response<AdminBody> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database is unavailable; try again.",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(batteries_middleware::UNAVAILABLE_RETRY_AFTER_SECS),
    );
    response
}

fn field_errors(errors: &HashMap<String, Vec<String>>) -> Response<AdminBody> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": "Invalid data.", "fields": errors}),
    )
}

fn conflict_fields(errors: &HashMap<String, Vec<String>>) -> Response<AdminBody> {
    json_response(
        StatusCode::CONFLICT,
        &json!({"error": "These values are already in use.", "fields": errors}),
    )
}

/// A row as JSON: every column, by name, as Django's serializer writes it, except a
/// password hash ([`ModelInfo::never_output`]), which is left out.
pub(crate) fn row_json(info: &ModelInfo, row: &Row) -> Json {
    let mut object = Map::new();
    for (i, (field, value)) in info.fields.iter().zip(&row.values).enumerate() {
        if info.never_output(i) {
            continue;
        }
        object.insert(field.name.clone(), to_json(value, &field.kind));
    }
    Json::Object(object)
}

pub(crate) async fn dispatch(
    registry: &Registry,
    site: &Site,
    req: &Req,
    segs: &[&str],
) -> Response<AdminBody> {
    let staff = match req.staff().await {
        Ok(Some(staff)) => staff,
        Ok(None) => {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided or are not those of an active staff user.",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
        Err(Unavailable) => return unavailable(),
    };
    // Session-authenticated writes need the CSRF token in `X-CSRFToken`; bearer
    // tokens are not sent by browsers on their own, so they need none.
    if !matches!(req.method, Method::GET | Method::HEAD | Method::OPTIONS)
        && staff.method != Some(AuthMethod::Bearer)
    {
        let Some(session) = &req.session else {
            return unavailable();
        };
        let token = req.headers.get(HEADER).and_then(|v| v.to_str().ok());
        if let Err(e) = check_token(session, token).await {
            return error(StatusCode::FORBIDDEN, &e.to_string());
        }
    }
    let api = Api {
        registry,
        site,
        req,
        staff: &staff,
    };
    match segs {
        ["openapi.json"] => {
            json_response(StatusCode::OK, &openapi::document(registry, site, &staff))
        }
        [] => api.root(),
        [app, model, rest @ ..] => {
            let Some(reg) = registry.find(app, model) else {
                return error(StatusCode::NOT_FOUND, "Not found.");
            };
            match (rest, &req.method) {
                ([], &Method::GET) => api.list(reg).await,
                (["export"], &Method::GET | &Method::HEAD) => {
                    export::api(registry, &staff, reg, req.query_pairs()).await
                }
                (["export"], _) => method_not_allowed("GET"),
                ([], &Method::POST) => api.create(reg).await,
                ([pk], &Method::GET) => api.retrieve(reg, pk).await,
                ([pk], &Method::PUT) => api.update(reg, pk, false).await,
                ([pk], &Method::PATCH) => api.update(reg, pk, true).await,
                ([pk], &Method::DELETE) => api.delete(reg, pk).await,
                ([], _) => method_not_allowed("GET, POST"),
                ([_], _) => method_not_allowed("GET, PUT, PATCH, DELETE"),
                _ => error(StatusCode::NOT_FOUND, "Not found."),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

pub(crate) struct Api<'a> {
    registry: &'a Registry,
    site: &'a Site,
    req: &'a Req,
    staff: &'a Staff,
}

impl Api<'_> {
    fn url(&self, info: &ModelInfo) -> String {
        format!(
            "{}/api/{}/{}/",
            self.site.prefix, info.app_label, info.model_name
        )
    }

    fn root(&self) -> Response<AdminBody> {
        let models: Vec<Json> = self
            .registry
            .models
            .iter()
            .map(|r| r.model.info())
            .filter(|info| has_perm(self.staff, info, Action::View))
            .map(|info| {
                json!({
                    "app_label": info.app_label,
                    "model": info.model_name,
                    "verbose_name": info.verbose_name,
                    "verbose_name_plural": info.verbose_name_plural,
                    "url": self.url(info),
                })
            })
            .collect();
        json_response(StatusCode::OK, &json!({"models": models}))
    }

    async fn list(&self, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(self.staff, info, Action::View) {
            return error(
                StatusCode::FORBIDDEN,
                "You don't have permission to do this.",
            );
        }
        let pairs = self.req.query_pairs();
        // A filter on a field with choices must name one of them.
        for (key, value) in &pairs {
            if key.contains('\0') || value.contains('\0') {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Null characters are not allowed in the query string.",
                );
            }
            if key == "page" && value.trim().parse::<u64>().is_ok_and(|n| n > MAX_PAGE) {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid `page` value: expected an integer from 1 to {MAX_PAGE}"),
                );
            }
            let Some(field) = info.field_index(key).map(|i| &info.fields[i]) else {
                continue;
            };
            if let Some(choices) = &field.choices
                && !choices.iter().any(|(v, _)| v == value)
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "invalid value `{}` for `{key}`: allowed: {}",
                        crate::model::field::truncate(value),
                        choices
                            .iter()
                            .map(|(v, _)| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
        let mut page = match reg
            .model
            .list(&self.registry.db, &pairs, self.site.count_limit)
            .await
        {
            Ok(page) => page,
            Err(ListError::Query(message)) => return error(StatusCode::BAD_REQUEST, &message),
            Err(ListError::Db(_)) => return unavailable(),
        };
        // A page past the last one is a 404, as in Django and DRF.
        if let Some(message) = page.past_end() {
            return error(StatusCode::NOT_FOUND, &message);
        }
        // Rows the object hook hides are left out (the count stays the query's).
        if reg.model.has_object_hooks() {
            page.rows
                .retain(|row| may(self.staff, reg, row, Action::View));
        }
        let base: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "page").collect();
        let page_url = |n: u64| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &base {
                s.append_pair(k, v);
            }
            s.append_pair("page", &n.to_string());
            format!("{}?{}", self.url(info), s.finish())
        };
        let count = page.total.value();
        let mut results: Vec<Json> = page.rows.iter().map(|r| row_json(info, r)).collect();
        // The many-to-many ids: one query per field for the whole page.
        if m2m::attach(&self.registry.db, info, &page.rows, &mut results)
            .await
            .is_err()
        {
            return unavailable();
        }
        json_response(
            StatusCode::OK,
            &json!({
                "count": count,
                "count_exact": page.total.is_exact(),
                "page": page.number,
                "per_page": page.per_page,
                "num_pages": count.div_ceil(page.per_page).max(1),
                "next": page.has_next.then(|| page_url(page.number + 1)),
                "previous": (page.number > 1).then(|| page_url(page.number - 1)),
                "results": results,
            }),
        )
    }

    async fn retrieve(&self, reg: &Registered, pk: &str) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(self.staff, info, Action::View) {
            return error(
                StatusCode::FORBIDDEN,
                "You don't have permission to do this.",
            );
        }
        match reg.model.get(&self.registry.db, pk).await {
            Ok(Some(row)) if !may(self.staff, reg, &row, Action::View) => forbidden(),
            Ok(Some(row)) => self.one(info, &row, StatusCode::OK).await,
            Ok(None) => error(StatusCode::NOT_FOUND, "Not found."),
            Err(_) => unavailable(),
        }
    }

    /// One row as JSON, with its many-to-many ids.
    async fn one(&self, info: &ModelInfo, row: &Row, status: StatusCode) -> Response<AdminBody> {
        let mut out = [row_json(info, row)];
        if m2m::attach(&self.registry.db, info, std::slice::from_ref(row), &mut out)
            .await
            .is_err()
        {
            return unavailable();
        }
        let [out] = out;
        json_response(status, &out)
    }

    /// What the backend can store beyond what the column type says: on MySQL, a date
    /// and time with a time zone travels as a `TIMESTAMP` (sqlx's encoding), whose
    /// range ends in 1970 and 2038.
    fn fits_backend(backend: DbBackend, value: &Value) -> Result<(), String> {
        if let Value::ChronoDateTimeUtc(Some(t)) = value
            && backend == DbBackend::MySql
            && !MYSQL_TIMESTAMP.contains(&t.timestamp())
        {
            return Err(
                "Enter a date and time between 1970-01-01 00:00:01 and 2038-01-19 03:14:07 UTC."
                    .into(),
            );
        }
        Ok(())
    }

    /// The values of a JSON body, or errors by field, read through `form` (the model as
    /// this user may write this row: `views::form_info`).
    ///
    /// - a key that is neither a column nor a many-to-many field: 400;
    /// - adding: a key that is not a writable field of the add form (its
    ///   `add_fieldset`s, read-only fields excluded): 400 naming it, as the HTML add
    ///   form would never read it;
    /// - changing: read-only fields, and fields not on the change form, are ignored
    ///   (so a `GET` body can be sent back);
    /// - a field this user may not set (`denied`: superuser-only, `readonly_fields_for`)
    ///   is returned apart, with its value, for the caller to refuse (403) unless it
    ///   leaves the row as it is.
    fn parse_body(
        &self,
        full: &ModelInfo,
        form: &ModelInfo,
        denied: &[String],
        adding: bool,
        partial: bool,
    ) -> Result<(Body, Vec<Attempt>), Box<Response<AdminBody>>> {
        if !self.req.is_json() {
            return Err(Box::new(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send a JSON object with Content-Type: application/json.",
            )));
        }
        let backend = self.registry.db.get_database_backend();
        Self::parse_json_body(
            full,
            form,
            denied,
            &self.req.body,
            backend,
            (adding, partial),
        )
    }

    /// [`parse_body`](Self::parse_body) after the content type's check. It needs no
    /// request or site, so the fuzz target calls it alone (`crate::fuzzing`).
    pub(crate) fn parse_json_body(
        full: &ModelInfo,
        form: &ModelInfo,
        denied: &[String],
        body: &[u8],
        backend: DbBackend,
        (adding, partial): (bool, bool),
    ) -> Result<(Body, Vec<Attempt>), Box<Response<AdminBody>>> {
        let body: Json = serde_json::from_slice(body).map_err(|e| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                &format!("Malformed JSON: {e}."),
            ))
        })?;
        let Json::Object(object) = body else {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "Send a JSON object.",
            )));
        };
        let on_form: Vec<usize> = form
            .fieldsets
            .iter()
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        let mut errors: HashMap<String, Vec<String>> = HashMap::new();
        let mut values = Vec::new();
        let mut attempts = Vec::new();
        for (key, json) in &object {
            let column = form.field_index(key);
            let m2m = form.m2m.iter().position(|m| m.meta().name == *key);
            if denied.contains(key) && (column.is_some() || m2m.is_some()) {
                attempts.push(match (column, m2m) {
                    (Some(i), _) => Attempt::Column(i, form.fields[i].parse_json(json).ok()),
                    (_, Some(i)) => Attempt::M2m(i, m2m::parse_ids(form.m2m[i].meta(), json).ok()),
                    (None, None) => continue,
                });
                continue;
            }
            if column.is_none() && !m2m::is_m2m(full, key) {
                errors.insert(key.clone(), vec!["Unknown field.".into()]);
            } else if adding
                && column.is_none_or(|i| !on_form.contains(&i) || !form.fields[i].editable(true))
                && m2m.is_none()
            {
                errors.insert(
                    key.clone(),
                    vec!["This field is not on the add form; it cannot be set when adding.".into()],
                );
            }
        }
        for &i in &on_form {
            let field = &form.fields[i];
            if !field.editable(adding) {
                continue;
            }
            match object.get(&field.name) {
                Some(json) => match field
                    .parse_json(json)
                    .and_then(|v| Self::fits_backend(backend, &v).map(|()| v))
                {
                    Ok(v) => values.push((i, v)),
                    Err(m) => {
                        errors.insert(field.name.clone(), vec![m]);
                    }
                },
                None if partial => {}
                // A new row gets the field's default (`ModelAdmin::default_value`).
                None if adding && field.default.is_some() => {
                    if let Some(v) = &field.default {
                        values.push((i, v.clone()));
                    }
                }
                None if matches!(field.kind, Kind::Bool) && !field.nullable && !adding => {}
                // As an unchecked checkbox on the add form: `false`.
                None if matches!(field.kind, Kind::Bool)
                    && !field.nullable
                    && !field.has_default =>
                {
                    values.push((i, Value::Bool(Some(false))));
                }
                None if field.nullable => values.push((i, field.kind.null())),
                None if field.has_default || matches!(field.kind, Kind::Bool) || field.blank => {}
                None => {
                    errors.insert(field.name.clone(), vec!["This field is required.".into()]);
                }
            }
        }
        let m2m = m2m::parse_json(form, &object, &mut errors);
        if adding && !errors.is_empty() {
            // Refused whatever their values: named with the others.
            for attempt in &attempts {
                let name = match attempt {
                    Attempt::Column(i, _) => &form.fields[*i].name,
                    Attempt::M2m(i, _) => &form.m2m[*i].meta().name,
                };
                errors.insert(name.clone(), vec![NO_PERMISSION.into()]);
            }
        }
        if errors.is_empty() {
            Ok(((values, m2m), attempts))
        } else {
            Err(Box::new(field_errors(&errors)))
        }
    }

    /// The names of the fields among `attempts` that would change `existing` (all of
    /// them when adding): what a 403 names. One query per many-to-many field sent.
    async fn refused(
        &self,
        form: &ModelInfo,
        existing: Option<&Row>,
        attempts: &[Attempt],
    ) -> Result<Vec<String>, Box<Response<AdminBody>>> {
        let mut names = Vec::new();
        for attempt in attempts {
            let (name, same) = match (attempt, existing) {
                (Attempt::Column(i, value), Some(row)) => {
                    let field = &form.fields[*i];
                    let same = value.as_ref().is_some_and(|v| {
                        to_json(v, &field.kind) == to_json(&row.values[*i], &field.kind)
                    });
                    (field.name.clone(), same)
                }
                (Attempt::M2m(i, ids), Some(row)) => {
                    let m = &form.m2m[*i];
                    let meta = m.meta();
                    let same = match ids {
                        Some(ids) => {
                            let parent = row.values[meta.parent_field].clone();
                            let key = crate::model::field::pk_string(&parent);
                            let Ok(mut current) = m.targets(&self.registry.db, vec![parent]).await
                            else {
                                return Err(Box::new(unavailable()));
                            };
                            let now: std::collections::HashSet<String> = current
                                .remove(&key)
                                .unwrap_or_default()
                                .iter()
                                .map(crate::model::field::pk_string)
                                .collect();
                            let sent: std::collections::HashSet<String> =
                                ids.iter().map(crate::model::field::pk_string).collect();
                            now == sent
                        }
                        None => false,
                    };
                    (meta.name.clone(), same)
                }
                (Attempt::Column(i, _), None) => (form.fields[*i].name.clone(), false),
                (Attempt::M2m(i, _), None) => (form.m2m[*i].meta().name.clone(), false),
            };
            if !same {
                names.push(name);
            }
        }
        Ok(names)
    }

    async fn check_foreign_keys(
        &self,
        info: &ModelInfo,
        values: &[(usize, Value)],
        m2m: &M2mSets,
    ) -> Result<(), Box<Response<AdminBody>>> {
        let Ok(dangling) = self.registry.dangling_foreign_keys(info, values).await else {
            return Err(Box::new(unavailable()));
        };
        let Ok(dangling_m2m) = crate::service::m2m::dangling(&self.registry.db, info, m2m).await
        else {
            return Err(Box::new(unavailable()));
        };
        let dangling = dangling
            .into_iter()
            .map(|(i, key)| (info.fields[i].name.clone(), key))
            .chain(dangling_m2m);
        let errors: HashMap<String, Vec<String>> = dangling
            .into_iter()
            .map(|(name, key)| {
                (
                    name,
                    vec![format!(
                        "Invalid pk “{}” - object does not exist.",
                        crate::model::field::truncate(&key)
                    )],
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            // 409, not 400: the value is well-formed, no row has it (yet).
            Err(Box::new(conflict_fields(&errors)))
        }
    }

    fn save_error(info: &ModelInfo, e: SaveError) -> Response<AdminBody> {
        match FormError::of(info, e) {
            FormError::Field {
                name,
                message,
                conflict: false,
            } => field_errors(&HashMap::from([(name, vec![message])])),
            // 409: the values are valid, but another row holds them.
            FormError::Field {
                name,
                message,
                conflict: true,
            } => conflict_fields(&HashMap::from([(name, vec![message])])),
            FormError::NonField {
                message,
                conflict: false,
            } => error(StatusCode::BAD_REQUEST, &message),
            // 409, as for unique values: valid data that clashes with the rows there are.
            FormError::NonField {
                message,
                conflict: true,
            } => error(StatusCode::CONFLICT, &message),
            FormError::NotFound => error(StatusCode::NOT_FOUND, "Not found."),
            FormError::Unavailable(_) => unavailable(),
        }
    }

    async fn create(&self, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(self.staff, info, Action::Add) {
            return error(
                StatusCode::FORBIDDEN,
                "You don't have permission to do this.",
            );
        }
        // Exactly the add form's fields, less those this user may not set (issue 16).
        let user = &*self.staff.user;
        let form = form_info(user, reg, None);
        let denied = reg.model.denied_fields(user, None);
        let ((values, m2m), attempts) = match self.parse_body(info, &form, &denied, true, false) {
            Ok(v) => v,
            Err(response) => return *response,
        };
        match self.refused(&form, None, &attempts).await {
            Ok(names) if names.is_empty() => {}
            Ok(names) => return denied_fields(&names),
            Err(response) => return *response,
        }
        if let Err(response) = self.check_foreign_keys(&form, &values, &m2m).await {
            return *response;
        }
        match save_row(self.registry, self.staff, reg, None, values, &m2m).await {
            Ok(row) => {
                let mut response = self.one(info, &row, StatusCode::CREATED).await;
                let location = format!(
                    "{}{}/",
                    self.url(info),
                    percent_encoding::utf8_percent_encode(
                        &row.pk,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                if let Ok(v) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, v);
                }
                response
            }
            Err(e) => Self::save_error(info, e),
        }
    }

    async fn update(&self, reg: &Registered, pk: &str, partial: bool) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(self.staff, info, Action::Change) {
            return error(
                StatusCode::FORBIDDEN,
                "You don't have permission to do this.",
            );
        }
        let existing = match reg.model.get(&self.registry.db, pk).await {
            Ok(Some(row)) => row,
            Ok(None) => return error(StatusCode::NOT_FOUND, "Not found."),
            Err(_) => return unavailable(),
        };
        if !may(self.staff, reg, &existing, Action::Change) {
            return forbidden();
        }
        let user = &*self.staff.user;
        let form = form_info(user, reg, Some(&existing));
        let denied = reg.model.denied_fields(user, Some(&existing));
        let ((values, m2m), attempts) = match self.parse_body(info, &form, &denied, false, partial)
        {
            Ok(v) => v,
            Err(response) => return *response,
        };
        match self.refused(&form, Some(&existing), &attempts).await {
            Ok(names) if names.is_empty() => {}
            Ok(names) => return denied_fields(&names),
            Err(response) => return *response,
        }
        if let Err(response) = self.check_foreign_keys(&form, &values, &m2m).await {
            return *response;
        }
        match save_row(
            self.registry,
            self.staff,
            reg,
            Some(&existing),
            values,
            &m2m,
        )
        .await
        {
            Ok(row) => self.one(info, &row, StatusCode::OK).await,
            Err(e) => Self::save_error(info, e),
        }
    }

    async fn delete(&self, reg: &Registered, pk: &str) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(self.staff, info, Action::Delete) {
            return error(
                StatusCode::FORBIDDEN,
                "You don't have permission to do this.",
            );
        }
        let db = &self.registry.db;
        let row = match reg.model.get(db, pk).await {
            Ok(Some(row)) => row,
            Ok(None) => return error(StatusCode::NOT_FOUND, "Not found."),
            Err(_) => return unavailable(),
        };
        if !may(self.staff, reg, &row, Action::Delete) {
            return forbidden();
        }
        let Some(user_id) = self.staff.user_id() else {
            return error(
                StatusCode::FORBIDDEN,
                "Only users with integer ids can edit.",
            );
        };
        let result = async {
            let txn = db.begin().await?;
            reg.model
                .delete(&txn, std::slice::from_ref(&row.pk))
                .await?;
            log::log_action(
                &txn,
                NewEntry {
                    user_id,
                    content_type_id: reg.content_type_id,
                    object_id: &row.pk,
                    object_repr: &row.repr,
                    flag: ActionFlag::Deletion,
                    message: ChangeMessage::deleted(),
                },
            )
            .await?;
            txn.commit().await?;
            Ok::<(), SaveError>(())
        }
        .await;
        match result {
            Ok(()) => {
                let mut response = Response::new(AdminBody::default());
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            }
            Err(SaveError::ForeignKey(_)) => error(
                StatusCode::CONFLICT,
                "Other rows still refer to this one; delete or change them first.",
            ),
            Err(e) => Self::save_error(info, e),
        }
    }
}
