//! [`AdminSite`] (the registry you build) and [`Admin`] (the tower `Service` it becomes).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use batteries_auth::entities::user;
use batteries_auth::permissions::{Permissions, ensure_model_permissions};
use batteries_auth::sessions::{Session, SessionSecret};
use batteries_auth::{AuthUser, Authenticator, ModelBackend};
use batteries_middleware::auth::{AuthMethod, CurrentUser};
use batteries_middleware::panic::{PanicReply, guard};
use batteries_middleware::ratelimit::ClientIp;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Limited};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    IntoActiveModel,
};
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::model::{AdminModel, EntityAdmin, ModelAdmin};
use crate::templates::{Templates, asset};

/// The response body of every admin response: whole (pages, JSON, assets) or streamed
/// (exports, see [`AdminSite::build`]).
///
/// It implements [`http_body::Body`] (`Data = Bytes`), so axum's `nest_service`, hyper
/// and tower layers take it as it is; `From<String>`, `From<Bytes>` and
/// `From<&'static str>` make whole bodies (the middleware's own answers). A streamed
/// body ends with an error (an [`std::io::Error`]) when the stream breaks off, for
/// example when the database fails half-way through an export: the server then aborts
/// the response instead of sending a silently truncated file. [`size_hint`] is exact
/// for whole bodies only.
///
/// [`size_hint`]: http_body::Body::size_hint
pub struct AdminBody {
    kind: BodyKind,
}

enum BodyKind {
    Full(Option<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>),
}

impl AdminBody {
    /// An empty body.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            kind: BodyKind::Full(None),
        }
    }

    /// A body of the chunks sent on `tx`, ending when every sender is dropped (or with
    /// the first error received).
    pub(crate) fn channel(
        capacity: usize,
    ) -> (tokio::sync::mpsc::Sender<std::io::Result<Bytes>>, Self) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (
            tx,
            Self {
                kind: BodyKind::Stream(rx),
            },
        )
    }
}

impl Default for AdminBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for AdminBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::Full(b) => f
                .debug_struct("AdminBody")
                .field("len", &b.as_ref().map_or(0, Bytes::len))
                .finish(),
            BodyKind::Stream(_) => f.debug_struct("AdminBody").field("stream", &true).finish(),
        }
    }
}

impl From<Bytes> for AdminBody {
    fn from(bytes: Bytes) -> Self {
        Self {
            kind: BodyKind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }
}

impl From<String> for AdminBody {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for AdminBody {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl From<Vec<u8>> for AdminBody {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl HttpBody for AdminBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, std::io::Error>>> {
        match &mut self.get_mut().kind {
            BodyKind::Full(bytes) => {
                Poll::Ready(bytes.take().map(|b| Ok(http_body::Frame::data(b))))
            }
            BodyKind::Stream(rx) => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(http_body::Frame::data(b)))),
                Poll::Ready(Some(Err(e))) => {
                    rx.close();
                    Poll::Ready(Some(Err(e)))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, BodyKind::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.kind {
            BodyKind::Full(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            BodyKind::Stream(_) => http_body::SizeHint::default(),
        }
    }
}

/// The admin site under construction: register entities, then [`build`](Self::build) it
/// into an [`Admin`] service.
///
/// The service expects batteries' session and authentication layers in front of it
/// (`SessionLayer`, `AuthLayer`; `CsrfLayer` and `SecurityHeadersLayer` are advised and
/// the admin checks CSRF tokens itself too): it reads the `Session` and `CurrentUser`
/// they put in the request's extensions.
///
/// ```no_run
/// # mod post {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "blog_post")]
/// #     pub struct Model {
/// #         #[sea_orm(primary_key)]
/// #         pub id: i32,
/// #         pub title: String,
/// #     }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// # async fn run(db: sea_orm::DatabaseConnection, secret: batteries_auth::sessions::SessionSecret) -> Result<(), Box<dyn std::error::Error>> {
/// use batteries_admin::{AdminSite, ModelAdmin};
/// use batteries_auth::ModelBackend;
/// use batteries_auth::sessions::DatabaseSessionStore;
/// use batteries_middleware::{auth::AuthLayer, csrf::CsrfLayer, session::{SessionConfig, SessionLayer}};
/// use tower::ServiceBuilder;
///
/// let admin = AdminSite::new()
///     .register(ModelAdmin::<post::Entity>::new().search_fields([post::Column::Title]))
///     .build(db.clone(), secret.clone())
///     .await?;
/// let service = ServiceBuilder::new()
///     .layer(SessionLayer::new(DatabaseSessionStore::new(db.clone()), SessionConfig::new()))
///     .layer(AuthLayer::new(ModelBackend::new(db.clone()), secret))
///     .layer(CsrfLayer::new())
///     .service(admin);
/// // axum: Router::new().nest_service("/admin", service)
/// # let _ = service; Ok(()) }
/// ```
#[must_use]
pub struct AdminSite {
    prefix: String,
    title: String,
    header: String,
    models: Vec<Arc<dyn AdminModel>>,
    errors: Vec<String>,
    templates_dir: Option<PathBuf>,
    count_limit: u64,
    body_limit: usize,
    authenticator: Option<Authenticator<user::Model>>,
    client_ip: ClientIp,
}

impl fmt::Debug for AdminSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminSite")
            .field("prefix", &self.prefix)
            .field("models", &self.models.len())
            .finish_non_exhaustive()
    }
}

impl Default for AdminSite {
    fn default() -> Self {
        Self::new()
    }
}

impl AdminSite {
    /// An empty site mounted at `/admin`.
    pub fn new() -> Self {
        Self {
            prefix: "/admin".into(),
            title: "batteries admin".into(),
            header: "Administration".into(),
            models: Vec::new(),
            errors: Vec::new(),
            templates_dir: None,
            count_limit: 10_000,
            body_limit: 2 << 20,
            authenticator: None,
            client_ip: ClientIp::new(),
        }
    }

    /// The path the site is mounted at (default `/admin`), used in the links it makes.
    /// Requests may arrive with it (hyper) or without it (axum's `nest_service`).
    pub fn prefix(mut self, prefix: &str) -> Self {
        let trimmed = prefix.trim_end_matches('/');
        self.prefix = if trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// The browser tab's title suffix and the header text.
    pub fn title(mut self, title: impl Into<String>, header: impl Into<String>) -> Self {
        self.title = title.into();
        self.header = header.into();
        self
    }

    /// A directory whose templates override the embedded ones of the same name
    /// (`change_list.html`, `base.html`, ...).
    pub fn templates_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.templates_dir = Some(dir.into());
        self
    }

    /// Count rows exactly up to `limit` (default 10,000); beyond it, changelists show
    /// the database's estimate instead of running an unbounded `COUNT(*)`.
    pub fn count_limit(mut self, limit: u64) -> Self {
        self.count_limit = limit;
        self
    }

    /// The largest request body accepted (default 2 MiB); larger ones get `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How the login page checks passwords (default: [`ModelBackend`] on the admin's
    /// database). Give one with a `LoginThrottle` to slow down guessing.
    pub fn authenticator(mut self, authenticator: Authenticator<user::Model>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// How the login page finds the client's address, which a `LoginThrottle` counts
    /// failures against: the same rule as the rate limiter's (the connection's peer,
    /// or behind trusted proxies the address they saw). The default reads a
    /// [`SocketAddr`](std::net::SocketAddr) request extension (hyper, actix-web through
    /// `batteries-actix`); on axum, served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`, give
    /// `ClientIp::new().with_peer(|p| p.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))`.
    pub fn client_ip(mut self, client_ip: ClientIp) -> Self {
        self.client_ip = client_ip;
        self
    }

    pub(crate) fn models(&self) -> &[Arc<dyn AdminModel>] {
        &self.models
    }

    /// Registers an entity with its options. Mistakes (a composite primary key, an
    /// unknown ordering) are reported by [`build`](Self::build).
    pub fn register<E>(mut self, admin: ModelAdmin<E>) -> Self
    where
        E: EntityTrait,
        E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
    {
        match EntityAdmin::new(admin) {
            Ok(model) => self.models.push(Arc::new(model)),
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// Checks the registrations and creates each model's content type and permissions
    /// (`view`, `add`, `change`, `delete`, as Django's migrate does, and `export`), then
    /// returns the service. `secret` must be the one the `AuthLayer` uses.
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
    pub async fn build(self, db: DatabaseConnection, secret: SessionSecret) -> Result<Admin> {
        if let Some(e) = self.errors.first() {
            return Err(Error::Config(e.clone()));
        }
        let mut registered = Vec::new();
        for model in self.models {
            let info = model.info();
            let key = (info.app_label.clone(), info.model_name.clone());
            if registered.iter().any(|r: &Registered| {
                (
                    r.model.info().app_label.clone(),
                    r.model.info().model_name.clone(),
                ) == key
            }) {
                return Err(Error::Config(format!(
                    "{}.{} is registered twice",
                    key.0, key.1
                )));
            }
            let ct = ensure_model_permissions(
                &db,
                &info.app_label,
                &info.model_name,
                &info.verbose_name,
            )
            .await?;
            ensure_export_permission(&db, ct.id, &info.model_name, &info.verbose_name).await?;
            registered.push(Registered {
                model,
                content_type_id: ct.id,
            });
        }
        let authenticator = self
            .authenticator
            .unwrap_or_else(|| Authenticator::new().with_backend(ModelBackend::new(db.clone())));
        Ok(Admin {
            inner: Arc::new(Inner {
                prefix: self.prefix,
                title: self.title,
                header: self.header,
                models: registered,
                templates: Templates::new(self.templates_dir),
                db,
                secret,
                authenticator,
                client_ip: self.client_ip,
                count_limit: self.count_limit,
                body_limit: self.body_limit,
            }),
        })
    }
}

/// Creates (if missing) `export_<model>`, "Can export <verbose name>", beside Django's
/// four default permissions.
async fn ensure_export_permission(
    db: &DatabaseConnection,
    content_type_id: i32,
    model_name: &str,
    verbose_name: &str,
) -> Result<()> {
    use batteries_auth::entities::permission;
    batteries_orm::create::get_or_create(
        db,
        [
            (permission::Column::ContentTypeId, content_type_id.into()),
            (
                permission::Column::Codename,
                format!("export_{}", model_name.to_lowercase()).into(),
            ),
        ],
        permission::ActiveModel {
            name: sea_orm::Set(format!("Can export {verbose_name}")),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| match e {
        batteries_orm::Error::Db(e) => Error::Db(e),
        other => Error::Config(other.to_string()),
    })?;
    Ok(())
}

pub(crate) struct Registered {
    pub(crate) model: Arc<dyn AdminModel>,
    pub(crate) content_type_id: i32,
}

pub(crate) struct Inner {
    pub(crate) prefix: String,
    pub(crate) title: String,
    pub(crate) header: String,
    pub(crate) models: Vec<Registered>,
    pub(crate) templates: Templates,
    pub(crate) db: DatabaseConnection,
    pub(crate) secret: SessionSecret,
    pub(crate) authenticator: Authenticator<user::Model>,
    pub(crate) client_ip: ClientIp,
    pub(crate) count_limit: u64,
    pub(crate) body_limit: usize,
}

impl Inner {
    pub(crate) fn find(&self, app: &str, model: &str) -> Option<&Registered> {
        self.models
            .iter()
            .find(|r| r.model.info().app_label == app && r.model.info().model_name == model)
    }

    pub(crate) fn by_table(&self, table: &str) -> Option<&Registered> {
        self.models.iter().find(|r| r.model.info().table == table)
    }

    /// The foreign keys among `values` that point at no row of a registered model:
    /// `(field index, the value as text)`. One query per foreign key given.
    pub(crate) async fn dangling_foreign_keys(
        &self,
        info: &crate::model::ModelInfo,
        values: &[(usize, sea_orm::Value)],
    ) -> Result<Vec<(usize, String)>, sea_orm::DbErr> {
        let mut dangling = Vec::new();
        for (i, value) in values {
            let Some(fk) = &info.fields[*i].foreign_key else {
                continue;
            };
            let key = crate::field::pk_string(value);
            let Some(target) = self.by_table(&fk.table) else {
                continue;
            };
            if key.is_empty() || target.model.info().pk_field().name != fk.column {
                continue;
            }
            let found = target.model.reprs(&self.db, vec![value.clone()]).await?;
            if !found.contains_key(&key) {
                dangling.push((*i, key));
            }
        }
        Ok(dangling)
    }
}

/// The admin as a tower `Service`: mount it with axum's `nest_service`, call it from
/// hyper, or through `batteries-actix`. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("prefix", &self.inner.prefix)
            .field("models", &self.inner.models.len())
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// The URL prefix the site was built with (`/admin`).
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
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
        let Some(reg) = self.inner.find(app_label, model_name) else {
            return Ok(None);
        };
        let row = match pk {
            Some(pk) => match reg.model.get(&self.inner.db, pk).await? {
                Some(row) => Some(row),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(crate::views::settable_fields(user, reg, row.as_ref())))
    }

    /// Handles one request whose body has been read.
    ///
    /// A panic while handling it (in the admin, or in a hook of a `ModelAdmin`) is
    /// answered with a plain `500`, HTML or JSON as the request's `Accept` says, and
    /// logged once with the request id (see `batteries_middleware::panic`).
    pub async fn handle(&self, request: Request<Bytes>) -> Response<AdminBody> {
        let reply = PanicReply::for_request(&request);
        let mut response = match guard(crate::views::dispatch(self.inner.clone(), request)).await {
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
            let body = match Limited::new(body, admin.inner.body_limit).collect().await {
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

/// A plain-text response.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::from(text.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// An HTML response.
pub(crate) fn html(status: StatusCode, body: String) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Json) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> Response<AdminBody> {
    let mut response = Response::new(AdminBody::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// An embedded asset, cached for a day.
pub(crate) fn static_file(name: &str) -> Response<AdminBody> {
    match asset(name) {
        Some((content_type, bytes)) => {
            let mut response = Response::new(AdminBody::from(Bytes::from_static(bytes)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        None => plain(StatusCode::NOT_FOUND, "Not found."),
    }
}

/// The user behind a request, with what they may do.
#[derive(Clone)]
pub(crate) struct Staff {
    pub(crate) user: Arc<dyn AuthUser>,
    pub(crate) perms: Permissions,
    pub(crate) method: Option<AuthMethod>,
}

impl Staff {
    pub(crate) fn user_id(&self) -> Option<i32> {
        self.user.pk_string().parse().ok()
    }
}

/// Everything a view needs from the request.
pub(crate) struct Req {
    pub(crate) method: Method,
    /// The path below the prefix, without the leading `/` (`blog/post/3/change/`).
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) session: Option<Session>,
    pub(crate) current: Option<CurrentUser>,
    /// The client's address ([`AdminSite::client_ip`]), when the peer is known.
    pub(crate) client_ip: Option<IpAddr>,
}

impl Req {
    pub(crate) fn from_request(
        prefix: &str,
        client_ip: &ClientIp,
        request: Request<Bytes>,
    ) -> Self {
        let (parts, body) = request.into_parts();
        let client_ip = client_ip
            .peer(&parts)
            .map(|peer| client_ip.client_ip_from(peer, &parts.headers));
        let full = parts.uri.path();
        let rest = full.strip_prefix(prefix).unwrap_or(full);
        let path = rest.trim_start_matches('/').to_owned();
        Self {
            method: parts.method,
            path,
            query: parts.uri.query().unwrap_or("").to_owned(),
            headers: parts.headers,
            body,
            session: parts.extensions.get::<Session>().cloned(),
            current: parts.extensions.get::<CurrentUser>().cloned(),
            client_ip,
        }
    }

    /// The decoded pairs of the query string.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The decoded pairs of a form body.
    pub(crate) fn form_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// Whether the body is JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    }

    /// The logged-in, active staff user, with permissions loaded (one query).
    pub(crate) async fn staff(&self) -> std::result::Result<Option<Staff>, ()> {
        let Some(current) = &self.current else {
            return Ok(None);
        };
        let user = current.user().await.map_err(|error| {
            tracing::error!(%error, "admin: could not load the user");
        })?;
        let Some(user) = user else {
            return Ok(None);
        };
        if !user.is_active() || !user.is_staff() {
            return Ok(None);
        }
        let perms = current.permissions().await.map_err(|error| {
            tracing::error!(%error, "admin: could not load the user's permissions");
        })?;
        Ok(Some(Staff {
            user,
            perms,
            method: current.method(),
        }))
    }
}

pub(crate) fn base_context(inner: &Inner, title: &str) -> serde_json::Map<String, Json> {
    let mut ctx = serde_json::Map::new();
    ctx.insert(
        "site".into(),
        json!({
            "title": inner.title,
            "header": inner.header,
            "prefix": inner.prefix,
            "static": format!("{}/static", inner.prefix),
        }),
    );
    ctx.insert("title".into(), json!(title));
    ctx.insert("messages".into(), json!([]));
    ctx.insert("breadcrumbs".into(), json!([]));
    ctx.insert("nav".into(), json!([]));
    ctx
}
