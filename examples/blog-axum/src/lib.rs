//! The main batteries example: a blog on axum and embedded SQLite.
//!
//! `GET /posts` lists posts as JSON through `batteries-orm`: Django-style filters,
//! search, ordering and pagination from the query string, for example
//! `/posts?title__icontains=rust&ordering=-created&page=2`.
//!
//! `/admin/` is batteries' admin for the posts, behind the session, authentication, CSRF
//! and security-header layers; staff users log in at `/admin/login/`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use batteries::admin::{AdminSite, ModelAdmin};
use batteries::auth::entities::user;
use batteries::auth::sessions::{DatabaseStore, SessionSecret};
use batteries::auth::{ModelBackend, UserManager};
use batteries::middleware::auth::AuthLayer;
use batteries::middleware::csrf::CsrfLayer;
use batteries::middleware::headers::{SecurityHeaders, SecurityHeadersLayer};
use batteries::middleware::session::{SessionConfig, SessionLayer};
use batteries::orm::filter::FilterSet;
use batteries::orm::paginate::{Page, Paginator};
use chrono::{Duration, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use sea_orm_migration::MigratorTrait;
use serde_json::json;
use tower::ServiceBuilder;

pub mod migrations;
pub mod post;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    db: DatabaseConnection,
    filters: Arc<FilterSet<post::Entity>>,
}

/// The filters `GET /posts` accepts.
pub fn post_filters() -> FilterSet<post::Entity> {
    FilterSet::new()
        .field(post::Column::Id)
        .field(post::Column::Title)
        .field(post::Column::Slug)
        .field(post::Column::Published)
        .field(post::Column::Created)
        .search([post::Column::Title, post::Column::Body])
        .default_ordering("-created")
        .default_per_page(10)
        .max_per_page(100)
}

/// How the app is run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Signs sessions (Django's `SECRET_KEY`).
    pub secret: SessionSecret,
    /// Served over HTTPS: `Secure` cookies and HSTS. Off for development on
    /// `http://127.0.0.1`.
    pub https: bool,
}

/// The admin's registrations: the posts, listed newest first, searchable by title and
/// body, filtered by state and date.
pub fn admin_site() -> AdminSite {
    AdminSite::new()
        .title("blog admin", "Blog administration")
        .register(
            ModelAdmin::<post::Entity>::new()
                .list_display([
                    post::Column::Title,
                    post::Column::Slug,
                    post::Column::Published,
                    post::Column::Created,
                ])
                .search_fields([post::Column::Title, post::Column::Slug, post::Column::Body])
                .list_filter([post::Column::Published, post::Column::Created])
                .ordering("-created")
                .list_per_page(25)
                .help_text(post::Column::Slug, "The post's URL name, unique.")
                .display(|p| p.title.clone()),
        )
}

/// The application: `/`, `/posts` and the admin at `/admin/`, behind security headers,
/// sessions in the database, the current user and CSRF protection.
///
/// # Errors
/// When the admin cannot be built (its permissions cannot be written: have the
/// migrations run? [`prepare`] runs them).
pub async fn app(
    db: DatabaseConnection,
    settings: &Settings,
) -> Result<Router, batteries::admin::Error> {
    let admin = admin_site()
        .build(db.clone(), settings.secret.clone())
        .await?;
    let headers = if settings.https {
        SecurityHeaders::new()
    } else {
        SecurityHeaders::new().without_hsts()
    };
    let layers = ServiceBuilder::new()
        .layer(SecurityHeadersLayer::new(headers))
        .layer(SessionLayer::new(
            DatabaseStore::new(db.clone()),
            SessionConfig::new().with_secure(settings.https),
        ))
        .layer(AuthLayer::new(
            ModelBackend::new(db.clone()),
            settings.secret.clone(),
        ))
        .layer(CsrfLayer::new());
    let state = AppState {
        db,
        filters: Arc::new(post_filters()),
    };
    Ok(Router::new()
        .route("/", get(index))
        .route("/posts", get(list_posts))
        .with_state(state)
        .nest_service("/admin", admin)
        .layer(layers))
}

/// Development only: creates the superuser `username`, or resets its password, so that
/// the admin can be opened right away. Never call it in production: create users with
/// batteries-cli's `createsuperuser` there.
///
/// # Errors
/// When the database fails or the username is invalid.
pub async fn development_superuser(
    db: &DatabaseConnection,
    username: &str,
    password: &str,
) -> Result<user::Model, batteries::auth::Error> {
    let users = UserManager::new();
    let existing = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?;
    match existing {
        Some(found) => {
            let mut active: user::ActiveModel = found.into();
            active.is_active = Set(true);
            active.is_staff = Set(true);
            active.is_superuser = Set(true);
            let found = active.update(db).await?;
            users.set_password(db, found, Some(password)).await
        }
        None => {
            users
                .create_superuser(db, username, None, Some(password))
                .await
        }
    }
}

async fn index() -> Json<serde_json::Value> {
    Json(json!({
        "posts": "/posts",
        "admin": "/admin/",
        "examples": [
            "/posts?title__icontains=rust",
            "/posts?ordering=-created&page=2",
            "/posts?search=django&published=true",
            "/posts?created__gte=2026-01-01&ordering=title",
        ],
    }))
}

/// An error answered as `{"error": "..."}` with a 4xx or 500 status.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<batteries::orm::FilterError> for ApiError {
    fn from(e: batteries::orm::FilterError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

impl From<batteries::orm::Error> for ApiError {
    fn from(e: batteries::orm::Error) -> Self {
        tracing::error!(error = %e, "listing posts failed");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log".into(),
        )
    }
}

async fn list_posts(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<post::Model>>, ApiError> {
    let params = state.filters.parse(query.as_deref().unwrap_or_default())?;
    let page = Paginator::new()
        .page_for(&state.db, post::Entity::find(), &params)
        .await?;
    Ok(Json(page))
}

/// Creates the tables (first start) and seeds demo posts into an empty blog.
///
/// # Errors
/// When a migration or an insert fails.
pub async fn prepare(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    migrations::Migrator::up(db, None).await?;
    if post::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let topics = [
        ("Rust for Django developers", "rust"),
        ("Why Django has batteries", "django"),
        ("Async Rust in five minutes", "async"),
        ("Writing tower middleware", "tower"),
        ("SeaORM migrations explained", "seaorm"),
        ("Pagination that scales", "pagination"),
        ("Keyset cursors, signed", "keyset"),
        ("Fixtures from dumpdata", "fixtures"),
        ("Testing on three databases", "testing"),
        ("Rust web frameworks compared", "frameworks"),
        ("Django admin, in Rust", "admin"),
        ("Security headers by default", "security"),
    ];
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    for (i, (title, slug)) in topics.iter().enumerate() {
        post::ActiveModel {
            title: Set((*title).to_owned()),
            slug: Set((*slug).to_owned()),
            body: Set(format!("{title}: a demo post about {slug}.")),
            published: Set(i % 4 != 3),
            created: Set(start + Duration::days(7 * i as i64)),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
