//! The HTML pages: routing, login, index, changelist, forms, deletion, history.

use std::collections::HashMap;
use std::sync::Arc;

use batteries_auth::entities::user;
use batteries_auth::hashers::check_password_async;
use batteries_auth::sessions::{self, Session};
use batteries_auth::validators::Validators;
use batteries_auth::{Credentials, UserManager};
use batteries_middleware::csrf::{FORM_FIELD, HEADER, check_token, csrf_token};
use batteries_middleware::guard::safe_next;
use batteries_orm::paginate::Total;
use batteries_orm::value::{Kind, to_json};
use bytes::Bytes;
use chrono::{Datelike, Duration, Utc};
use http::{Method, Request, Response, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sea_orm::{DbErr, TransactionTrait, Value};
use serde_json::{Map, Value as Json, json};

use crate::field::{Field, pk_string};
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::{Column, ListError, ModelInfo, Row, SaveError};
use crate::site::{
    AdminBody, Inner, Registered, Req, Staff, base_context, html, plain, redirect, static_file,
};

const MESSAGES_KEY: &str = "_admin_messages";

/// The most rows one action may act on.
const SELECT_ACROSS_CAP: u64 = 10_000;

/// Error messages by field name.
pub(crate) type FieldErrors = HashMap<String, Vec<String>>;

/// Routes one request.
pub(crate) async fn dispatch(inner: Arc<Inner>, request: Request<Bytes>) -> Response<AdminBody> {
    let req = Req::from_request(&inner.prefix, request);
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
                [pk, "change"] => view.change_form(s, reg, Some(pk)).await,
                [pk, "delete"] => view.delete(s, reg, pk).await,
                [pk, "history"] => view.history(s, reg, pk).await,
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

fn unavailable() -> Response<AdminBody> {
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "The admin cannot reach its database right now. Please try again.",
    )
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

pub(crate) fn has_perm(staff: &Staff, info: &ModelInfo, action: &str) -> bool {
    staff.perms.has_perm(&info.perm(action))
        || (action == "view" && staff.perms.has_perm(&info.perm("change")))
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

    // --- login, logout, password change -------------------------------------------

    async fn login(&self) -> Response<AdminBody> {
        let index = format!("{}/", self.inner.prefix);
        let query = self.req.query_pairs();
        let form = self.req.form_pairs();
        let next_raw = if self.req.method == Method::POST {
            form_value(&form, "next")
        } else {
            form_value(&query, "next")
        }
        .unwrap_or_default();
        let next = safe_next(&next_raw).unwrap_or(&index).to_owned();
        if self.req.method == Method::GET {
            if let Ok(Some(_)) = self.req.staff().await {
                return redirect(&next);
            }
            let mut ctx = self.context(None, "Log in").await;
            ctx.insert("next".into(), json!(next));
            return self.render(StatusCode::OK, "login.html", ctx);
        }
        if self.req.method != Method::POST {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.");
        }
        let username = form_value(&form, "username").unwrap_or_default();
        let password = form_value(&form, "password").unwrap_or_default();
        let credentials = Credentials::new(username.clone(), password);
        let user = match self.inner.authenticator.authenticate(&credentials).await {
            Ok(user) => user,
            Err(e) => {
                tracing::warn!(error = %e, "admin login failed to run");
                None
            }
        };
        match user {
            Some(user) if user.is_active && user.is_staff => {
                if sessions::login(&self.session, &user, &self.inner.secret)
                    .await
                    .is_err()
                {
                    return unavailable();
                }
                redirect(&next)
            }
            _ => {
                let mut ctx = self.context(None, "Log in").await;
                ctx.insert("next".into(), json!(next));
                ctx.insert("username".into(), json!(username));
                ctx.insert(
                    "error".into(),
                    json!(
                        "Please enter the correct username and password for a staff account. \
                         Note that both fields may be case-sensitive."
                    ),
                );
                self.render(StatusCode::OK, "login.html", ctx)
            }
        }
    }

    async fn logout(&self) -> Response<AdminBody> {
        if self.req.method != Method::POST {
            return plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "Log out with the button in the admin's header (a POST form).",
            );
        }
        if sessions::logout(&self.session).await.is_err() {
            return unavailable();
        }
        self.push_message("info", "You have been logged out.").await;
        redirect(&format!("{}/login/", self.inner.prefix))
    }

    async fn password_change(&self, staff: &Staff) -> Response<AdminBody> {
        let title = "Password change";
        let mut ctx = self.context(Some(staff), title).await;
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(None, &[(title, None)]),
        );
        if self.req.method != Method::POST {
            return self.render(StatusCode::OK, "password_change.html", ctx);
        }
        let form = self.req.form_pairs();
        let get = |k: &str| form_value(&form, k).unwrap_or_default();
        let (old, new1, new2) = (
            get("old_password"),
            get("new_password1"),
            get("new_password2"),
        );
        let mut errors: HashMap<&str, Vec<String>> = HashMap::new();
        let Some(current) = &self.req.current else {
            return unavailable();
        };
        let Ok(Some(model)) = current.user_as::<user::Model>().await else {
            errors.insert(
                "__all__",
                vec!["This user model's password cannot be changed here.".into()],
            );
            ctx.insert("errors".into(), json!(errors));
            return self.render(StatusCode::OK, "password_change.html", ctx);
        };
        if !check_password_async(old, model.password.clone()).await {
            errors.insert(
                "old_password",
                vec!["Your old password was entered incorrectly. Please enter it again.".into()],
            );
        }
        if new1 != new2 {
            errors.insert(
                "new_password2",
                vec!["The two password fields didn’t match.".into()],
            );
        } else if new1.is_empty() {
            errors.insert("new_password1", vec!["This field is required.".into()]);
        } else if let Err(e) = Validators::default().validate(&new1, Some(model.as_ref())) {
            errors.insert("new_password2", e.messages().map(str::to_owned).collect());
        }
        if !errors.is_empty() {
            ctx.insert("errors".into(), json!(errors));
            return self.render(StatusCode::OK, "password_change.html", ctx);
        }
        let Ok(updated) = UserManager::new()
            .set_password(&self.inner.db, (*model).clone(), Some(&new1))
            .await
        else {
            return unavailable();
        };
        if sessions::update_session_auth_hash(&self.session, &updated, &self.inner.secret)
            .await
            .is_err()
        {
            return unavailable();
        }
        ctx.insert("done".into(), json!(true));
        self.render(StatusCode::OK, "password_change.html", ctx)
    }

    // --- index ------------------------------------------------------------------------

    async fn index(&self, staff: &Staff) -> Response<AdminBody> {
        let mut ctx = self.context(Some(staff), "Site administration").await;
        // The same list as the navigation's.
        let apps = ctx.get("nav").cloned().unwrap_or_else(|| json!([]));
        ctx.insert("apps".into(), apps);
        self.render(StatusCode::OK, "index.html", ctx)
    }

    // --- changelist ---------------------------------------------------------------------

    async fn changelist(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
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

    fn model_json(&self, staff: &Staff, info: &ModelInfo) -> Json {
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
    fn current_ordering(info: &ModelInfo, pairs: &[(String, String)]) -> Vec<(String, bool)> {
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

    fn columns(
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
    async fn foreign_reprs(
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

    async fn rows(&self, info: &ModelInfo, rows: &[Row]) -> Result<Json, ()> {
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

    async fn filters(
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

    // --- actions ------------------------------------------------------------------------

    async fn action(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        let form = self.req.form_pairs();
        let back = format!(
            "{}{}",
            changelist_url(self.inner, info),
            if self.req.query.is_empty() {
                String::new()
            } else {
                format!("?{}", self.req.query)
            }
        );
        let action = form_value(&form, "action").unwrap_or_default();
        let mut selected: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "_selected_action")
            .map(|(_, v)| v.clone())
            .take(SELECT_ACROSS_CAP as usize)
            .collect();
        if form_value(&form, "select_across").as_deref() == Some("1") {
            // Every row the changelist's filters select, not only this page's.
            let pairs = self.req.query_pairs();
            match reg
                .model
                .matching_pks(&self.inner.db, &pairs, SELECT_ACROSS_CAP)
                .await
            {
                Ok(Some(pks)) => selected = pks,
                Ok(None) => {
                    self.push_message(
                        "error",
                        &format!(
                            "More than {SELECT_ACROSS_CAP} rows are selected; narrow the list with filters first. Nothing was changed."
                        ),
                    )
                    .await;
                    return redirect(&back);
                }
                Err(ListError::Query(m)) => {
                    self.push_message("error", &m).await;
                    return redirect(&back);
                }
                Err(ListError::Db(_)) => return unavailable(),
            }
        }
        if action.is_empty() {
            self.push_message("warning", "No action selected.").await;
            return redirect(&back);
        }
        if selected.is_empty() {
            self.push_message(
                "warning",
                "Items must be selected in order to perform actions on them. No items have been changed.",
            )
            .await;
            return redirect(&back);
        }
        let confirmed = form_value(&form, "post").as_deref() == Some("yes");
        if action == "delete_selected" {
            if !has_perm(staff, info, "delete") {
                return self.forbidden(staff).await;
            }
            return self
                .delete_rows(staff, reg, &selected, confirmed, &back, true)
                .await;
        }
        let Some((name, label, perm)) = info.actions.iter().find(|(n, _, _)| *n == action) else {
            return self
                .error_page(Some(staff), StatusCode::BAD_REQUEST, "Unknown action.")
                .await;
        };
        if !has_perm(staff, info, perm) {
            return self.forbidden(staff).await;
        }
        if !confirmed {
            let Ok(rows) = reg.model.get_many(&self.inner.db, &selected).await else {
                return unavailable();
            };
            let mut ctx = self.context(Some(staff), "Are you sure?").await;
            ctx.insert(
                "breadcrumbs".into(),
                self.breadcrumbs(Some(info), &[(label.as_str(), None)]),
            );
            ctx.insert("model".into(), self.model_json(staff, info));
            ctx.insert("action".into(), json!({"name": name, "label": label}));
            ctx.insert("objects".into(), self.objects_json(info, &rows));
            ctx.insert(
                "selected".into(),
                json!(rows.iter().map(|r| r.pk.clone()).collect::<Vec<_>>()),
            );
            return self.render(StatusCode::OK, "action_confirmation.html", ctx);
        }
        match reg.model.run_action(&self.inner.db, name, &selected).await {
            Ok(message) => self.push_message("success", &message).await,
            Err(message) => self.push_message("error", &message).await,
        }
        redirect(&back)
    }

    fn objects_json(&self, info: &ModelInfo, rows: &[Row]) -> Json {
        Json::Array(
            rows.iter()
                .map(|r| {
                    json!({
                        "repr": r.repr,
                        "url": format!("{}change/", object_url(self.inner, info, &r.pk)),
                    })
                })
                .collect(),
        )
    }

    /// What deleting `rows` takes with it (`cascades`) and what stops it (`protected`),
    /// over the registered models whose foreign keys point at this one.
    async fn cascades(&self, info: &ModelInfo, rows: &[Row]) -> Result<(Json, Vec<String>), ()> {
        let mut cascades = Vec::new();
        let mut protected = Vec::new();
        for other in &self.inner.models {
            let oinfo = other.model.info();
            for (j, field) in oinfo.fields.iter().enumerate() {
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                if fk.table != info.table {
                    continue;
                }
                let Some(target_col) = info.field_index(&fk.column) else {
                    continue;
                };
                let values: Vec<Value> =
                    rows.iter().map(|r| r.values[target_col].clone()).collect();
                let (count, examples) = other
                    .model
                    .related(&self.inner.db, j, values, 5)
                    .await
                    .map_err(|e| tracing::error!(error = %e, "admin related rows failed"))?;
                if count == 0 {
                    continue;
                }
                let label = crate::field::label_of(if count == 1 {
                    &oinfo.verbose_name
                } else {
                    &oinfo.verbose_name_plural
                });
                match fk.on_delete.as_deref() {
                    Some("CASCADE") => {
                        cascades
                            .push(json!({"label": label, "count": count, "examples": examples}));
                    }
                    Some("SET NULL" | "SET DEFAULT") => {}
                    _ => protected.extend(examples.iter().map(|e| format!("{label}: {e}"))),
                }
            }
        }
        Ok((Json::Array(cascades), protected))
    }

    async fn delete_rows(
        &self,
        staff: &Staff,
        reg: &Registered,
        pks: &[String],
        confirmed: bool,
        back: &str,
        bulk: bool,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        let db = &self.inner.db;
        let Ok(rows) = reg.model.get_many(db, pks).await else {
            return unavailable();
        };
        if rows.is_empty() {
            self.push_message("warning", "None of the selected items exist any more.")
                .await;
            return redirect(back);
        }
        let Ok((cascades, protected)) = self.cascades(info, &rows).await else {
            return unavailable();
        };
        if !confirmed || !protected.is_empty() {
            let mut ctx = self.context(Some(staff), "Are you sure?").await;
            let crumb = if bulk {
                "Delete multiple objects".to_owned()
            } else {
                rows[0].repr.clone()
            };
            ctx.insert(
                "breadcrumbs".into(),
                self.breadcrumbs(Some(info), &[(crumb.as_str(), None), ("Delete", None)]),
            );
            ctx.insert("model".into(), self.model_json(staff, info));
            ctx.insert("objects".into(), self.objects_json(info, &rows));
            ctx.insert("cascades".into(), cascades);
            ctx.insert("protected".into(), json!(protected));
            if bulk {
                ctx.insert("action".into(), json!("delete_selected"));
                ctx.insert(
                    "selected".into(),
                    json!(rows.iter().map(|r| r.pk.clone()).collect::<Vec<_>>()),
                );
            }
            let status = if confirmed {
                StatusCode::CONFLICT
            } else {
                StatusCode::OK
            };
            return self.render(status, "delete_confirmation.html", ctx);
        }
        let Some(user_id) = staff.user_id() else {
            return unavailable();
        };
        let result = async {
            let txn = db.begin().await.map_err(SaveError::from)?;
            let n = reg.model.delete(&txn, pks).await?;
            let entries: Vec<NewEntry<'_>> = rows
                .iter()
                .map(|r| NewEntry {
                    user_id,
                    content_type_id: reg.content_type_id,
                    object_id: &r.pk,
                    object_repr: &r.repr,
                    flag: ActionFlag::Deletion,
                    message: ChangeMessage::deleted(),
                })
                .collect();
            log::log_actions(&txn, entries)
                .await
                .map_err(SaveError::from)?;
            txn.commit().await.map_err(SaveError::from)?;
            Ok::<u64, SaveError>(n)
        }
        .await;
        match result {
            Ok(n) => {
                let text = if bulk {
                    format!(
                        "Successfully deleted {n} {}.",
                        if n == 1 {
                            &info.verbose_name
                        } else {
                            &info.verbose_name_plural
                        }
                    )
                } else {
                    format!(
                        "The {} “{}” was deleted successfully.",
                        info.verbose_name, rows[0].repr
                    )
                };
                self.push_message("success", &text).await;
            }
            Err(SaveError::Invalid(m)) => self.push_message("error", &m).await,
            Err(SaveError::ForeignKey(m)) => {
                tracing::info!(error = %m, "admin delete refused by a foreign key");
                self.push_message(
                    "error",
                    "Other rows still refer to this; nothing was deleted.",
                )
                .await;
            }
            Err(e) => {
                tracing::error!(error = ?e, "admin delete failed");
                return unavailable();
            }
        }
        redirect(back)
    }

    async fn delete(&self, staff: &Staff, reg: &Registered, pk: &str) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, "delete") {
            return self.forbidden(staff).await;
        }
        let confirmed = self.req.method == Method::POST
            && form_value(&self.req.form_pairs(), "post").as_deref() == Some("yes");
        match reg.model.get(&self.inner.db, pk).await {
            Ok(Some(_)) => {}
            Ok(None) => return self.not_found(staff, info, pk).await,
            Err(_) => return unavailable(),
        }
        let back = changelist_url(self.inner, info);
        self.delete_rows(staff, reg, &[pk.to_owned()], confirmed, &back, false)
            .await
    }

    async fn not_found(&self, staff: &Staff, info: &ModelInfo, pk: &str) -> Response<AdminBody> {
        let message = format!(
            "{} with ID “{}” doesn’t exist. Perhaps it was deleted?",
            crate::field::label_of(&info.verbose_name),
            crate::field::truncate(pk)
        );
        self.error_page(Some(staff), StatusCode::NOT_FOUND, &message)
            .await
    }

    // --- history ------------------------------------------------------------------------

    async fn history(&self, staff: &Staff, reg: &Registered, pk: &str) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, "view") {
            return self.forbidden(staff).await;
        }
        let row = match reg.model.get(&self.inner.db, pk).await {
            Ok(Some(row)) => row,
            Ok(None) => return self.not_found(staff, info, pk).await,
            Err(_) => return unavailable(),
        };
        let Ok(entries) = log::history(&self.inner.db, reg.content_type_id, &row.pk, 500).await
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
        ctx.insert("object".into(), self.object_json(staff, info, &row));
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

    fn object_json(&self, staff: &Staff, info: &ModelInfo, row: &Row) -> Json {
        let url = object_url(self.inner, info, &row.pk);
        let mut object = json!({
            "pk": row.pk,
            "repr": row.repr,
            "url": format!("{url}change/"),
            "history_url": format!("{url}history/"),
        });
        if has_perm(staff, info, "delete") {
            object["delete_url"] = json!(format!("{url}delete/"));
        }
        object
    }

    // --- autocomplete -----------------------------------------------------------------

    async fn autocomplete(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, "view") {
            return crate::site::json_response(
                StatusCode::FORBIDDEN,
                &json!({"error": "permission denied"}),
            );
        }
        let term = form_value(&self.req.query_pairs(), "term").unwrap_or_default();
        match reg.model.choices(&self.inner.db, Some(&term), 20).await {
            Ok(choices) => crate::site::json_response(
                StatusCode::OK,
                &json!({"results": choices.into_iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>()}),
            ),
            Err(_) => unavailable(),
        }
    }

    // --- add / change -----------------------------------------------------------------

    async fn change_form(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: Option<&str>,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        let db = &self.inner.db;
        let existing = match pk {
            Some(pk) => match reg.model.get(db, pk).await {
                Ok(Some(row)) => Some(row),
                Ok(None) => return self.not_found(staff, info, pk).await,
                Err(_) => return unavailable(),
            },
            None => None,
        };
        let adding = existing.is_none();
        let can_change = has_perm(staff, info, "change");
        let allowed = if adding {
            has_perm(staff, info, "add")
        } else {
            can_change || has_perm(staff, info, "view")
        };
        if !allowed {
            return self.forbidden(staff).await;
        }
        let read_only = !adding && !can_change;
        let mut errors: HashMap<String, Vec<String>> = HashMap::new();
        let mut non_field: Vec<String> = Vec::new();
        let mut posted: Option<Vec<(String, String)>> = None;
        if self.req.method == Method::POST {
            if read_only {
                return self.forbidden(staff).await;
            }
            let form = self.req.form_pairs();
            let (values, mut errs) = parse_form(info, &form, adding);
            if errs.is_empty() {
                let Ok(dangling) = self.inner.dangling_foreign_keys(info, &values).await else {
                    return unavailable();
                };
                for (i, _) in dangling {
                    errs.insert(
                        info.fields[i].name.clone(),
                        vec!["Select a valid choice. That choice is not one of the available choices.".into()],
                    );
                }
            }
            if errs.is_empty() {
                match self.save(staff, reg, existing.as_ref(), values).await {
                    Ok(row) => return self.after_save(info, &row, adding, &form).await,
                    Err(SaveError::Field(i, message)) => {
                        errs.insert(info.fields[i].name.clone(), vec![message]);
                    }
                    Err(SaveError::Invalid(m)) => non_field.push(m),
                    Err(SaveError::Unique(m)) => match info.unique_clash(&m) {
                        (Some(name), text) => {
                            errs.insert(name.to_owned(), vec![text]);
                        }
                        (None, text) => non_field.push(text),
                    },
                    Err(SaveError::ForeignKey(m)) => {
                        tracing::info!(error = %m, "admin save refused by a foreign key");
                        non_field.push("A related row does not exist.".into());
                    }
                    Err(SaveError::NotFound) => {
                        return self.not_found(staff, info, pk.unwrap_or_default()).await;
                    }
                    Err(SaveError::Db(e)) => {
                        if matches!(e, DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) {
                            tracing::error!(error = %e, "admin save failed");
                            return unavailable();
                        }
                        // A constraint the admin could not check first (a CHECK, a
                        // length the database counts differently): the form says so.
                        tracing::warn!(error = %e, "admin save refused by the database");
                        non_field.push("The database refused these values.".into());
                    }
                }
            }
            errors = errs;
            posted = Some(form);
        }
        let verb = if adding {
            "Add"
        } else if read_only {
            "View"
        } else {
            "Change"
        };
        let title = format!("{verb} {}", info.verbose_name);
        let mut ctx = self.model_context(Some(staff), &title, Some(info)).await;
        let crumb = match &existing {
            Some(row) => row.repr.clone(),
            None => format!("Add {}", info.verbose_name),
        };
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(Some(info), &[(crumb.as_str(), None)]),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        if let Some(row) = &existing {
            ctx.insert("object".into(), self.object_json(staff, info, row));
        }
        let Ok(fieldsets) = self
            .fieldsets(
                info,
                existing.as_ref(),
                posted.as_deref(),
                &errors,
                adding,
                read_only,
            )
            .await
        else {
            return unavailable();
        };
        ctx.insert("fieldsets".into(), fieldsets);
        let has_errors = !errors.is_empty() || !non_field.is_empty();
        ctx.insert("errors".into(), json!(non_field));
        ctx.insert("has_errors".into(), json!(has_errors));
        ctx.insert("read_only".into(), json!(read_only));
        let mut buttons = json!({
            "save": !read_only,
            "save_add_another": !read_only && has_perm(staff, info, "add"),
            "save_continue": !read_only,
        });
        if let Some(row) = &existing
            && has_perm(staff, info, "delete")
        {
            buttons["delete_url"] =
                json!(format!("{}delete/", object_url(self.inner, info, &row.pk)));
        }
        ctx.insert("buttons".into(), buttons);
        let status = if has_errors {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        self.render(status, "change_form.html", ctx)
    }

    async fn save(
        &self,
        staff: &Staff,
        reg: &Registered,
        existing: Option<&Row>,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError> {
        save_row(self.inner, staff, reg, existing, values).await
    }

    async fn after_save(
        &self,
        info: &ModelInfo,
        row: &Row,
        adding: bool,
        form: &[(String, String)],
    ) -> Response<AdminBody> {
        let link = format!("{}change/", object_url(self.inner, info, &row.pk));
        let what = format!("The {} “{}”", info.verbose_name, row.repr);
        let has = |k: &str| form.iter().any(|(name, _)| name == k);
        let verb = if adding { "added" } else { "changed" };
        if has("_continue") {
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
            redirect(&format!("{}add/", changelist_url(self.inner, info)))
        } else {
            self.push_message("success", &format!("{what} was {verb} successfully."))
                .await;
            redirect(&changelist_url(self.inner, info))
        }
    }

    async fn fieldsets(
        &self,
        info: &ModelInfo,
        existing: Option<&Row>,
        posted: Option<&[(String, String)]>,
        errors: &HashMap<String, Vec<String>>,
        adding: bool,
        read_only: bool,
    ) -> Result<Json, ()> {
        // Choices of `<select>`ed foreign keys: one query per field.
        let mut fk_choices: HashMap<usize, Vec<(String, String)>> = HashMap::new();
        let mut fk_names: HashMap<usize, String> = HashMap::new();
        for (_, indices) in &info.fieldsets {
            for &i in indices {
                let field = &info.fields[i];
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                let Some(target) = self.inner.by_table(&fk.table) else {
                    continue;
                };
                if field.autocomplete || read_only || !field.editable(adding) {
                    if let Some(row) = existing {
                        let value = row.values[i].clone();
                        let key = pk_string(&value);
                        if let Ok(names) = target.model.reprs(&self.inner.db, vec![value]).await
                            && let Some(name) = names.get(&key)
                        {
                            fk_names.insert(i, name.clone());
                        }
                    }
                    continue;
                }
                let choices = target
                    .model
                    .choices(&self.inner.db, None, 1000)
                    .await
                    .map_err(|e| tracing::error!(error = %e, "admin form choices failed"))?;
                fk_choices.insert(i, choices);
            }
        }
        let mut out = Vec::new();
        for (name, indices) in &info.fieldsets {
            let mut fields = Vec::new();
            for &i in indices {
                let field = &info.fields[i];
                if adding && field.auto {
                    continue;
                }
                let editable = field.editable(adding) && !read_only;
                let current = existing.map(|r| &r.values[i]);
                let value = match (posted, editable) {
                    (Some(form), true) => form_value(form, &field.name).unwrap_or_default(),
                    _ => current.map(|v| field.form_value(v)).unwrap_or_default(),
                };
                let display = match (fk_names.get(&i), current) {
                    (Some(name), _) => name.clone(),
                    (None, Some(v)) => field.display(v),
                    (None, None) => "-".into(),
                };
                let widget = if editable { field.widget() } else { "readonly" };
                let mut f = json!({
                    "name": field.name,
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
                    "errors": errors.get(&field.name).cloned().unwrap_or_default(),
                    "attrs": field.attrs(),
                });
                match widget {
                    "checkbox" => {
                        let checked = match posted {
                            Some(form) => form_value(form, &field.name).is_some(),
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
                        if field.nullable || adding {
                            choices.push(json!({"value": "", "label": "---------", "selected": value.is_empty()}));
                        }
                        for (v, label) in field.choices.iter().flatten() {
                            choices
                                .push(json!({"value": v, "label": label, "selected": *v == value}));
                        }
                        if let Kind::Enum(variants) = &field.kind {
                            for v in variants {
                                choices
                                    .push(json!({"value": v, "label": v, "selected": *v == value}));
                            }
                        }
                        for (pk, repr) in fk_choices.get(&i).into_iter().flatten() {
                            choices.push(
                                json!({"value": pk, "label": repr, "selected": *pk == value}),
                            );
                        }
                        f["choices"] = Json::Array(choices);
                    }
                    "autocomplete" => {
                        if let Some(fk) = &field.foreign_key
                            && let Some(target) = self.inner.by_table(&fk.table)
                        {
                            f["autocomplete_url"] = json!(format!(
                                "{}autocomplete/",
                                changelist_url(self.inner, target.model.info())
                            ));
                        }
                    }
                    _ => {}
                }
                fields.push(f);
            }
            out.push(json!({"name": name, "classes": [], "fields": fields}));
        }
        Ok(Json::Array(out))
    }
}

/// Parses a posted form into values for the editable fields, or errors by field name.
/// Fields that are read-only or not on the form are never read, whatever was posted.
pub(crate) fn parse_form(
    info: &ModelInfo,
    form: &[(String, String)],
    adding: bool,
) -> (Vec<(usize, Value)>, FieldErrors) {
    let mut values = Vec::new();
    let mut errors = HashMap::new();
    for (_, indices) in &info.fieldsets {
        for &i in indices {
            let field: &Field = &info.fields[i];
            if !field.editable(adding) {
                continue;
            }
            let raw = form_value(form, &field.name);
            match field.parse_form(raw.as_deref()) {
                Ok(Some(v)) => values.push((i, v)),
                Ok(None) => {}
                Err(message) => {
                    errors.insert(field.name.clone(), vec![message]);
                }
            }
        }
    }
    (values, errors)
}

/// Saves (inserting when `existing` is `None`) and records the history entry, in one
/// transaction.
pub(crate) async fn save_row(
    inner: &Inner,
    staff: &Staff,
    reg: &Registered,
    existing: Option<&Row>,
    values: Vec<(usize, Value)>,
) -> Result<Row, SaveError> {
    let info = reg.model.info();
    let user_id = staff
        .user_id()
        .ok_or_else(|| SaveError::Invalid("Only users with integer ids can edit.".into()))?;
    let changed: Vec<&str> = match existing {
        Some(row) => values
            .iter()
            .filter(|(i, v)| {
                let kind = &info.fields[*i].kind;
                to_json(&row.values[*i], kind) != to_json(v, kind)
            })
            .map(|(i, _)| info.fields[*i].label.as_str())
            .collect(),
        None => Vec::new(),
    };
    let txn = inner.db.begin().await?;
    let row = match existing {
        Some(old) => reg.model.update(&txn, &old.pk, values).await?,
        None => reg.model.insert(&txn, values).await?,
    };
    let (flag, message) = match existing {
        Some(_) => (ActionFlag::Change, ChangeMessage::changed(&changed)),
        None => (ActionFlag::Addition, ChangeMessage::added()),
    };
    log::log_action(
        &txn,
        NewEntry {
            user_id,
            content_type_id: reg.content_type_id,
            object_id: &row.pk,
            object_repr: &row.repr,
            flag,
            message,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

fn cell(field: &Field, value: &Value, reprs: Option<&HashMap<String, String>>) -> Json {
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

fn pagination(
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
    fn thousands_separators() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
