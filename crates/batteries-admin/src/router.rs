//! The router: [`AdminSite::build`] makes the [`Admin`] service, which hands each request
//! to the HTML pages or the JSON API. The only module that knows both front ends.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use batteries_auth::{AuthUser, Authenticator, ModelBackend};
use batteries_middleware::panic::{PanicReply, guard};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Limited};
use percent_encoding::percent_decode_str;
use sea_orm::DatabaseConnection;

use crate::body::AdminBody;
use crate::config::{AdminSite, IntoAdminAuth};
use crate::error::{Error, Result};
use crate::registry::summary::ModelSummary;
use crate::registry::{Registry, Site};
use crate::response::{plain, static_file};
use crate::service::request::Req;
use crate::templates::Templates;

impl AdminSite {
    /// Checks the registrations and creates each model's content type and permissions
    /// (`view`, `add`, `change`, `delete`, as Django's migrate does, and `export`), then
    /// returns the service.
    ///
    /// `auth` is how staff log in ([`IntoAdminAuth`]): the application's
    /// [`Auth`](batteries_auth::Auth) (or `&Auth`), whose secret and authenticator (with
    /// its login throttle) the admin then uses, or a bare [`SessionSecret`](batteries_auth::sessions::SessionSecret), which must
    /// be the one the `AuthLayer` uses. An [`authenticator`](Self::authenticator) given
    /// to the site wins over the `Auth`'s.
    ///
    /// # Export
    /// `<app>.export_<model>` (`Can export <verbose name>`) lets a user who may view a
    /// model download its changelist: `<prefix>/<app>/<model>/export/?format=csv` (or
    /// `json`), followed by the changelist's own query string (filters, search,
    /// `ordering`), and the same under `<prefix>/api/<app>/<model>/export`. Superusers
    /// have it; others get it as any permission (a group, or the user's own). The file
    /// holds exactly the changelist's columns (`list_display`, computed ones included;
    /// CSV headers are their labels, JSON keys their names), every matching row in the
    /// changelist's order (primary key last), skipping rows the view hook
    /// (`has_view_permission`) refuses. A foreign key exports the related row's name (as
    /// the changelist shows it), or its key when the related model is not registered.
    /// CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
    /// `@`, a tab or a carriage return, and not a number) get a leading `'`. The file is
    /// streamed in batches of 1,000 rows, so memory stays flat however many rows match.
    ///
    /// # Errors
    /// [`Error::Config`] for a registration that cannot work, [`Error::Auth`] when the
    /// permissions cannot be created (have the migrations run?).
    pub async fn build(self, db: DatabaseConnection, auth: impl IntoAdminAuth) -> Result<Admin> {
        if let Some(e) = self.errors.first() {
            return Err(Error::Config(e.clone()));
        }
        let auth = auth.into_admin_auth();
        let registry = Registry::register(db, self.models).await?;
        let authenticator = self
            .authenticator
            .or(auth.authenticator)
            .unwrap_or_else(|| {
                Authenticator::new().with_backend(ModelBackend::new(registry.db.clone()))
            });
        let site = Site {
            prefix: self.prefix,
            title: self.title,
            header: self.header,
            templates: Templates::new(self.templates_dir),
            secret: auth.secret,
            authenticator,
            client_ip: self.client_ip,
            count_limit: self.count_limit,
            body_limit: self.body_limit,
        };
        Ok(Admin {
            registry: Arc::new(registry),
            site: Arc::new(site),
        })
    }
}

/// The admin as a tower `Service`: mount it with axum's `nest_service`, call it from
/// hyper, or through `batteries-actix`. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    pub(crate) registry: Arc<Registry>,
    pub(crate) site: Arc<Site>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("prefix", &self.site.prefix)
            .field("models", &self.registry.models.len())
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// What the site serves, model by model, in registration order: see
    /// [`ModelSummary`]. Read-only; the site-wide routes (the index, `login/`,
    /// `api/`, `api/openapi.json`) are not listed.
    ///
    /// ```no_run
    /// # async fn run(admin: batteries_admin::Admin) {
    /// for model in admin.models() {
    ///     for route in &model.routes {
    ///         println!("{} {:?} {}", route.path, route.methods, model.actions.len());
    ///     }
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn models(&self) -> Vec<ModelSummary> {
        self.registry.summaries()
    }

    /// The URL prefix the site was built with (`/admin`).
    pub fn prefix(&self) -> &str {
        &self.site.prefix
    }

    /// Who may set what, as every write path of the admin applies it (forms,
    /// `list_editable`, the JSON API's `POST`, `PUT` and `PATCH`, many-to-many sets):
    /// the names of the fields (columns in form order, then many-to-many fields) that
    /// `user` may set on the row `pk` of `app_label.model_name`, or on a new row when
    /// `pk` is `None`, assuming `user` holds the model permission (`add` for a new
    /// row, `change` otherwise; this does not check it).
    ///
    /// The rule: the fields of the add form (its `add_fieldset`s, if any) for a new
    /// row, of the change form for an existing one (or what `fieldsets_for` returns),
    /// less the read-only ones (`readonly_fields`, the primary key after creation, a
    /// password column), less those `user` may not set there: the `superuser_only`
    /// fields unless `user` is a superuser, and what `readonly_fields_for` names. An
    /// existing row the object hooks keep from `user` (`has_change_permission`, or
    /// `superuser_only_if` for a non-superuser) gives an empty list: nothing may be set.
    ///
    /// `Ok(None)` when no such model is registered or no such row exists.
    ///
    /// # Errors
    /// The database's, when the row cannot be read.
    pub async fn settable_fields(
        &self,
        app_label: &str,
        model_name: &str,
        user: &dyn AuthUser,
        pk: Option<&str>,
    ) -> Result<Option<Vec<String>>> {
        let Some(reg) = self.registry.find(app_label, model_name) else {
            return Ok(None);
        };
        let row = match pk {
            Some(pk) => match reg.model.get(&self.registry.db, pk).await? {
                Some(row) => Some(row),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(crate::service::perms::settable_fields(
            user,
            reg,
            row.as_ref(),
        )))
    }

    /// Handles one request whose body has been read.
    ///
    /// A panic while handling it (in the admin, or in a hook of a `ModelAdmin`) is
    /// answered with a plain `500`, HTML or JSON as the request's `Accept` says, and
    /// logged once with the request id (see `batteries_middleware::panic`).
    pub async fn handle(&self, request: Request<Bytes>) -> Response<AdminBody> {
        let reply = PanicReply::for_request(&request);
        let mut response =
            match guard(dispatch(self.registry.clone(), self.site.clone(), request)).await {
                Ok(response) => response,
                Err(panic) => reply.respond(&panic),
            };
        let headers = response.headers_mut();
        // The admin is never framed and never cached, whatever layers surround it.
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
            ));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store, must-revalidate, private"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

impl<B> tower_service::Service<Request<B>> for Admin
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<AdminBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let admin = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = match Limited::new(body, admin.site.body_limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    return Ok(plain(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Request body too large (or unreadable).",
                    ));
                }
            };
            Ok(admin.handle(Request::from_parts(parts, body)).await)
        })
    }
}

/// Routes one request: static assets, then the JSON API under `api/`, else the HTML
/// pages.
async fn dispatch(
    registry: Arc<Registry>,
    site: Arc<Site>,
    request: Request<Bytes>,
) -> Response<AdminBody> {
    let req = Req::from_request(&site.prefix, &site.client_ip, request);
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
        return crate::api::dispatch(&registry, &site, &req, &segs[1..]).await;
    }
    crate::html::dispatch(&registry, &site, &req, session, &segs).await
}
