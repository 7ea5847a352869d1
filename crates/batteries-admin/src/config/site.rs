//! [`AdminSite`]: the site under construction (its registrations and settings), built
//! into an [`Admin`](crate::Admin) service by [`AdminSite::build`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use batteries_auth::Authenticator;
use batteries_auth::entities::user;
use batteries_middleware::ratelimit::ClientIp;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, EntityTrait, FromQueryResult, IntoActiveModel,
};

use super::model_admin::ModelAdmin;
use crate::model::{AdminModel, EntityAdmin};

/// The admin site under construction: register entities, then [`build`](Self::build) it
/// into an [`Admin`](crate::Admin) service.
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
    pub(crate) prefix: String,
    pub(crate) title: String,
    pub(crate) header: String,
    pub(crate) models: Vec<Arc<dyn AdminModel>>,
    pub(crate) errors: Vec<String>,
    pub(crate) templates_dir: Option<PathBuf>,
    pub(crate) count_limit: u64,
    pub(crate) body_limit: usize,
    pub(crate) authenticator: Option<Authenticator<user::Model>>,
    pub(crate) client_ip: ClientIp,
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

    /// How the login page checks passwords (default: the [`Auth`](batteries_auth::Auth)'s
    /// authenticator when the site is built from one, else a `ModelBackend` on the
    /// admin's database). Give one with a `LoginThrottle` to slow down guessing. When
    /// both this and an `Auth` are given, this one wins.
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
}
