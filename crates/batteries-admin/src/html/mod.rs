//! The HTML pages: routing and the pieces every page shares. One file per page family.

use batteries_auth::sessions::Session;
use batteries_middleware::csrf::{FORM_FIELD, HEADER, check_token, csrf_token};

use http::{Method, Response, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value as Json, json};

use crate::body::AdminBody;
use crate::model::ModelInfo;
use crate::registry::{Registry, Site};
use crate::response::{html, plain, redirect};
use crate::service::perms::{Action, form_info, has_perm, may, may_run, may_run_on};
use crate::service::request::{Req, Staff};
use crate::service::{FieldErrors, INVALID_CHOICE, Unavailable, form_value};

const MESSAGES_KEY: &str = "_admin_messages";

/// The most rows one action may act on.
const SELECT_ACROSS_CAP: u64 = 10_000;

/// Serves one HTML page (the router has checked the session and authentication layers
/// are there): checks the CSRF token of a post, logs in and out, then routes.
pub(crate) async fn dispatch(
    registry: &Registry,
    site: &Site,
    req: &Req,
    session: Session,
    segs: &[&str],
) -> Response<AdminBody> {
    let view = View {
        registry,
        site,
        req,
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
    match segs {
        ["login"] => return view.login().await,
        ["logout"] => return view.logout().await,
        _ => {}
    }
    let staff = match req.staff().await {
        Ok(Some(staff)) => staff,
        Ok(None) => {
            let here = if req.query.is_empty() {
                format!("{}/{}", site.prefix, req.path)
            } else {
                format!("{}/{}?{}", site.prefix, req.path, req.query)
            };
            return redirect(&format!(
                "{}/login/?next={}",
                site.prefix,
                utf8_percent_encode(&here, NON_ALPHANUMERIC)
            ));
        }
        Err(Unavailable) => return unavailable(),
    };
    let s = &staff;
    match segs {
        [] => view.index(s).await,
        ["password_change"] => view.password_change(s).await,
        [app, model, rest @ ..] => {
            let Some(reg) = registry.find(app, model) else {
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
                    object_url(site, reg.model.info(), pk)
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

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

pub(crate) fn changelist_url(site: &Site, info: &ModelInfo) -> String {
    format!("{}/{}/{}/", site.prefix, info.app_label, info.model_name)
}

pub(crate) fn object_url(site: &Site, info: &ModelInfo, pk: &str) -> String {
    format!("{}{}/", changelist_url(site, info), enc(pk))
}

fn perms_json(staff: &Staff, info: &ModelInfo) -> Json {
    json!({
        "view": has_perm(staff, info, Action::View),
        "add": has_perm(staff, info, Action::Add),
        "change": has_perm(staff, info, Action::Change),
        "delete": has_perm(staff, info, Action::Delete),
    })
}

pub(crate) fn base_context(site: &Site, title: &str) -> serde_json::Map<String, Json> {
    let mut ctx = serde_json::Map::new();
    ctx.insert(
        "site".into(),
        json!({
            "title": site.title,
            "header": site.header,
            "prefix": site.prefix,
            "static": format!("{}/static", site.prefix),
        }),
    );
    ctx.insert("title".into(), json!(title));
    ctx.insert("messages".into(), json!([]));
    ctx.insert("breadcrumbs".into(), json!([]));
    ctx.insert("nav".into(), json!([]));
    ctx
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
    registry: &'a Registry,
    site: &'a Site,
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
        let mut ctx = base_context(self.site, title);
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
        for reg in &self.registry.models {
            let info = reg.model.info();
            if !has_perm(staff, info, Action::View) && !has_perm(staff, info, Action::Add) {
                continue;
            }
            let url = changelist_url(self.site, info);
            let mut entry = json!({
                "label_plural": crate::model::field::label_of(&info.verbose_name_plural),
                "url": url,
                "current": current.is_some_and(|c| c.table == info.table),
                "perms": perms_json(staff, info),
            });
            if has_perm(staff, info, Action::Add) {
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
                        "label": crate::model::field::label_of(&app),
                        "app_label": app,
                        "url": format!("{}/", self.site.prefix),
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
        match self.site.templates.render(template, &Json::Object(ctx)) {
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
        let mut crumbs = vec![json!({"label": "Home", "url": format!("{}/", self.site.prefix)})];
        if let Some(info) = info {
            crumbs.push(
                json!({"label": crate::model::field::label_of(&info.app_label), "url": null}),
            );
            crumbs.push(json!({
                "label": crate::model::field::label_of(&info.verbose_name_plural),
                "url": changelist_url(self.site, info),
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
mod export;
mod form;
mod m2m;
mod password;
mod user;
