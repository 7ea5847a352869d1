//! The HTML pages: routing and the pieces every page shares. One file per page family.

use std::collections::HashMap;
use std::sync::Arc;

use batteries_auth::sessions::Session;
use batteries_middleware::csrf::{FORM_FIELD, HEADER, check_token, csrf_token};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value as Json, json};

use crate::model::{ModelInfo, Row};
use crate::site::{
    AdminBody, Inner, Registered, Req, Staff, base_context, html, plain, redirect, static_file,
};

pub(crate) use form::{parse_form, save_row};

const MESSAGES_KEY: &str = "_admin_messages";

/// The most rows one action may act on.
const SELECT_ACROSS_CAP: u64 = 10_000;

/// Django's message for a foreign key that names no row.
pub(crate) const INVALID_CHOICE: &str =
    "Select a valid choice. That choice is not one of the available choices.";

/// Error messages by field name.
pub(crate) type FieldErrors = HashMap<String, Vec<String>>;

/// Routes one request.
pub(crate) async fn dispatch(inner: Arc<Inner>, request: Request<Bytes>) -> Response<AdminBody> {
    let req = Req::from_request(&inner.prefix, &inner.client_ip, request);
    let path = req.path.clone();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ["static", name] = segs.as_slice() {
        return static_file(name);
    }
    let Some(session) = req.session.clone() else {
        tracing::error!(
            "batteries-admin needs batteries-middleware's SessionLayer and AuthLayer in front of it"
        );
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The admin is misconfigured: it needs the session and authentication layers.",
        );
    };
    if req.current.is_none() {
        tracing::error!("batteries-admin needs batteries-middleware's AuthLayer in front of it");
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The admin is misconfigured: it needs the authentication layer.",
        );
    }
    if segs.first() == Some(&"api") {
        return crate::api::dispatch(&inner, &req, &segs[1..]).await;
    }
    let view = View {
        inner: &inner,
        req: &req,
        session,
    };
    // Every form the admin serves carries the CSRF token; check it here too, so the
    // admin stays safe even when mounted without the CSRF layer.
    if req.method == Method::POST {
        let presented = form_value(&req.form_pairs(), FORM_FIELD).or_else(|| {
            req.headers
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        if let Err(e) = check_token(&view.session, presented.as_deref()).await {
            return view
                .error_page(None, StatusCode::FORBIDDEN, &e.to_string())
                .await;
        }
    }
    match segs.as_slice() {
        ["login"] => return view.login().await,
        ["logout"] => return view.logout().await,
        _ => {}
    }
    let staff = match req.staff().await {
        Ok(Some(staff)) => staff,
        Ok(None) => {
            let here = if req.query.is_empty() {
                format!("{}/{}", inner.prefix, req.path)
            } else {
                format!("{}/{}?{}", inner.prefix, req.path, req.query)
            };
            return redirect(&format!(
                "{}/login/?next={}",
                inner.prefix,
                utf8_percent_encode(&here, NON_ALPHANUMERIC)
            ));
        }
        Err(()) => return unavailable(),
    };
    let s = &staff;
    match segs.as_slice() {
        [] => view.index(s).await,
        ["password_change"] => view.password_change(s).await,
        [app, model, rest @ ..] => {
            let Some(reg) = inner.find(app, model) else {
                return view
                    .error_page(Some(s), StatusCode::NOT_FOUND, "Not found.")
                    .await;
            };
            match rest {
                [] => view.changelist(s, reg).await,
                ["add"] => view.change_form(s, reg, None).await,
                ["autocomplete"] => view.autocomplete(s, reg).await,
                ["export"] => view.export(s, reg).await,
                [pk, "change"] => view.change_form(s, reg, Some(pk)).await,
                [pk, "delete"] => view.delete(s, reg, pk).await,
                [pk, "history"] => view.history(s, reg, pk).await,
                [pk, "password"] if reg.model.info().password.column.is_some() => {
                    view.user_password(s, reg, pk).await
                }
                [pk] => redirect(&format!(
                    "{}change/",
                    object_url(&inner, reg.model.info(), pk)
                )),
                _ => {
                    view.error_page(Some(s), StatusCode::NOT_FOUND, "Not found.")
                        .await
                }
            }
        }
        _ => {
            view.error_page(Some(s), StatusCode::NOT_FOUND, "Not found.")
                .await
        }
    }
}

/// `503` with `Retry-After`: the database or the session store failed (the cause is
/// logged where it happened).
pub(super) fn unavailable() -> Response<AdminBody> {
    batteries_middleware::unavailable(
        "The admin cannot reach its database right now. Please try again.",
    )
}

/// `503` with `Retry-After`: too many passwords are being checked at once
/// (`batteries_auth::Error::Busy`); nothing was checked.
fn busy() -> Response<AdminBody> {
    let mut response = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is busy checking passwords. Please try again in a moment.",
    );
    let secs = batteries_auth::hashers::BUSY_RETRY_AFTER.as_secs().max(1);
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    response
}

pub(crate) fn form_value(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

pub(crate) fn changelist_url(inner: &Inner, info: &ModelInfo) -> String {
    format!("{}/{}/{}/", inner.prefix, info.app_label, info.model_name)
}

pub(crate) fn object_url(inner: &Inner, info: &ModelInfo, pk: &str) -> String {
    format!("{}{}/", changelist_url(inner, info), enc(pk))
}

/// The permission of an action only superusers may run (`ModelAdmin::superuser_action`).
pub(crate) const SUPERUSER: &str = "superuser";

pub(crate) fn has_perm(staff: &Staff, info: &ModelInfo, action: &str) -> bool {
    if action == SUPERUSER {
        return staff.user.is_superuser();
    }
    staff.perms.has_perm(&info.perm(action))
        || (action == "view" && staff.perms.has_perm(&info.perm("change")))
}

/// Whether `staff` may `action` (`view`, `change`, `delete`) this row: the model
/// permission and then the object-level hook. Viewing is allowed to whoever may change.
pub(crate) fn may(staff: &Staff, reg: &Registered, row: &Row, action: &str) -> bool {
    let info = reg.model.info();
    let user = &*staff.user;
    match action {
        "view" => {
            may(staff, reg, row, "change")
                || (has_perm(staff, info, "view") && reg.model.object_allows(user, "view", row))
        }
        _ => has_perm(staff, info, action) && reg.model.object_allows(user, action, row),
    }
}

/// The model as `user` may write `row` (`None`: a new row): the add form's fieldsets
/// when adding (`add_fieldsets`), or the `fieldsets_for` hook's; then every field `user`
/// may not set there ([`AdminModel::denied_fields`](crate::model::AdminModel)) marked
/// read-only, columns and many-to-many fields alike. Every write path (forms,
/// `list_editable`, the JSON API) reads its values through this, so the rule of who may
/// set what is in one place.
pub(crate) fn form_info<'a>(
    user: &dyn batteries_auth::AuthUser,
    reg: &'a Registered,
    row: Option<&Row>,
) -> std::borrow::Cow<'a, ModelInfo> {
    let info = reg.model.info();
    let mut out = if row.is_none() {
        info.for_add()
    } else {
        std::borrow::Cow::Borrowed(info)
    };
    if let Some(sets) = reg.model.fieldsets_for(user, row) {
        out.to_mut().fieldsets = sets;
    }
    let denied = reg.model.denied_fields(user, row);
    deny(&mut out, denied);
    out
}

/// Marks the fields named in `denied` read-only in `info` (columns and many-to-many).
pub(crate) fn deny(info: &mut std::borrow::Cow<'_, ModelInfo>, denied: Vec<String>) {
    if denied.is_empty() {
        return;
    }
    let m = info.to_mut();
    for field in &mut m.fields {
        if denied.contains(&field.name) {
            field.readonly = true;
        }
    }
    m.read_only_m2m = denied;
}

/// The fields (columns, then many-to-many fields, by name) `user` may set on `row`
/// (`None`: a new row) when it holds the model permission (`add`, or `change`): see
/// [`crate::Admin::settable_fields`]. Empty when the object hooks refuse the change.
pub(crate) fn settable_fields(
    user: &dyn batteries_auth::AuthUser,
    reg: &Registered,
    row: Option<&Row>,
) -> Vec<String> {
    if let Some(row) = row
        && !reg.model.object_allows(user, "change", row)
    {
        return Vec::new();
    }
    let info = form_info(user, reg, row);
    let adding = row.is_none();
    let mut names: Vec<String> = info
        .fieldsets
        .iter()
        .flat_map(|(_, f)| f.iter().copied())
        .filter(|&i| info.fields[i].editable(adding))
        .map(|i| info.fields[i].name.clone())
        .collect();
    names.dedup();
    names.extend(
        info.m2m
            .iter()
            .map(|m| m.meta().name.clone())
            .filter(|n| !info.m2m_read_only(n)),
    );
    names
}

fn perms_json(staff: &Staff, info: &ModelInfo) -> Json {
    json!({
        "view": has_perm(staff, info, "view"),
        "add": has_perm(staff, info, "add"),
        "change": has_perm(staff, info, "change"),
        "delete": has_perm(staff, info, "delete"),
    })
}

fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let s = s.finish();
    if s.is_empty() { s } else { format!("?{s}") }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct View<'a> {
    inner: &'a Arc<Inner>,
    req: &'a Req,
    session: Session,
}

impl View<'_> {
    async fn push_message(&self, level: &str, text: &str) {
        let mut list: Vec<Json> = self
            .session
            .get(MESSAGES_KEY)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        list.push(json!({"level": level, "text": text}));
        let _ = self.session.insert(MESSAGES_KEY, list).await;
    }

    async fn take_messages(&self) -> Json {
        match self.session.remove(MESSAGES_KEY).await {
            Ok(Some(v)) if v.is_array() => v,
            _ => json!([]),
        }
    }

    /// The context every page starts from: site, user, token, messages, navigation.
    async fn context(&self, staff: Option<&Staff>, title: &str) -> Map<String, Json> {
        self.model_context(staff, title, None).await
    }

    /// [`context`](Self::context) for a page of `current`'s, highlighted in the navigation.
    async fn model_context(
        &self,
        staff: Option<&Staff>,
        title: &str,
        current: Option<&ModelInfo>,
    ) -> Map<String, Json> {
        let mut ctx = base_context(self.inner, title);
        if let Ok(token) = csrf_token(&self.session).await {
            ctx.insert("csrf_token".into(), json!(token));
        }
        ctx.insert("messages".into(), self.take_messages().await);
        if let Some(staff) = staff {
            ctx.insert("user".into(), json!({"username": staff.user.username()}));
            ctx.insert("nav".into(), self.apps(staff, current));
        }
        ctx
    }

    /// The apps and models the user may see, grouped as on the index page.
    fn apps(&self, staff: &Staff, current: Option<&ModelInfo>) -> Json {
        let mut apps: Vec<(String, Vec<Json>)> = Vec::new();
        for reg in &self.inner.models {
            let info = reg.model.info();
            if !has_perm(staff, info, "view") && !has_perm(staff, info, "add") {
                continue;
            }
            let url = changelist_url(self.inner, info);
            let mut entry = json!({
                "label_plural": crate::field::label_of(&info.verbose_name_plural),
                "url": url,
                "current": current.is_some_and(|c| c.table == info.table),
                "perms": perms_json(staff, info),
            });
            if has_perm(staff, info, "add") {
                entry["add_url"] = json!(format!("{url}add/"));
            }
            match apps.iter_mut().find(|(a, _)| *a == info.app_label) {
                Some((_, models)) => models.push(entry),
                None => apps.push((info.app_label.clone(), vec![entry])),
            }
        }
        Json::Array(
            apps.into_iter()
                .map(|(app, models)| {
                    json!({
                        "label": crate::field::label_of(&app),
                        "app_label": app,
                        "url": format!("{}/", self.inner.prefix),
                        "models": models,
                    })
                })
                .collect(),
        )
    }

    fn render(
        &self,
        status: StatusCode,
        template: &str,
        ctx: Map<String, Json>,
    ) -> Response<AdminBody> {
        match self.inner.templates.render(template, &Json::Object(ctx)) {
            Ok(body) => html(status, body),
            Err(e) => {
                tracing::error!(template, error = %e, "admin template failed");
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The admin could not render this page.",
                )
            }
        }
    }

    async fn error_page(
        &self,
        staff: Option<&Staff>,
        status: StatusCode,
        message: &str,
    ) -> Response<AdminBody> {
        let mut ctx = self
            .context(staff, status.canonical_reason().unwrap_or("Error"))
            .await;
        ctx.insert("status".into(), json!(status.as_u16()));
        ctx.insert("message".into(), json!(message));
        self.render(status, "error.html", ctx)
    }

    async fn forbidden(&self, staff: &Staff) -> Response<AdminBody> {
        self.error_page(
            Some(staff),
            StatusCode::FORBIDDEN,
            "You don't have permission to do this.",
        )
        .await
    }

    fn breadcrumbs(&self, info: Option<&ModelInfo>, extra: &[(&str, Option<String>)]) -> Json {
        let mut crumbs = vec![json!({"label": "Home", "url": format!("{}/", self.inner.prefix)})];
        if let Some(info) = info {
            crumbs.push(json!({"label": crate::field::label_of(&info.app_label), "url": null}));
            crumbs.push(json!({
                "label": crate::field::label_of(&info.verbose_name_plural),
                "url": changelist_url(self.inner, info),
            }));
        }
        for (label, url) in extra {
            crumbs.push(json!({"label": label, "url": url}));
        }
        if let Some(last) = crumbs.last_mut() {
            last["url"] = Json::Null;
        }
        Json::Array(crumbs)
    }
}

mod account;
mod changelist;
mod delete;
pub(crate) mod export;
mod form;
mod user;
