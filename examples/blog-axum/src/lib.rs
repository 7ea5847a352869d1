//! The main batteries example: a blog on axum and embedded SQLite.
//!
//! Posts, comments and tags; public pages (`/`, `/posts/{id}`, `/tags/{slug}`), a login
//! for readers (`/login`, `/logout`) who may then comment; comments wait for a
//! moderator, who approves them in the admin at `/admin/`; a JSON API (`/api/posts`,
//! `/api/posts/{id}`, `/api/tags`) whose listings take `batteries-orm`'s Django-style
//! filters, search, ordering and pagination from the query string, for example
//! `/api/posts?title__icontains=rust&ordering=-created&page=2`.
//!
//! Everything runs behind batteries' layers: security headers, sessions stored in the
//! database, the current user, CSRF protection.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use batteries::admin::{AdminSite, Inline, ManyToMany, ModelAdmin};
use batteries::auth::entities::user;
use batteries::auth::sessions::{DatabaseSessionStore, SessionSecret};
use batteries::auth::throttle::{self, LoginThrottle};
use batteries::auth::{Auth, UserManager};
use batteries::middleware::BatteriesLayer;
use batteries::middleware::headers::SecurityHeaders;
use batteries::middleware::ratelimit::ClientIp;
use batteries::middleware::session::{SessionConfig, SessionManager};
use batteries::orm::filter::FilterSet;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sea_orm_migration::MigratorTrait;

pub mod api;
pub mod comment;
pub mod migrations;
pub mod pages;
pub mod post;
pub mod post_tag;
mod seed;
pub mod tag;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    db: DatabaseConnection,
    filters: Arc<FilterSet<post::Entity>>,
    templates: Arc<minijinja::Environment<'static>>,
    auth: Auth,
    client_ip: ClientIp,
}

/// How the login forms find the client's address, which the login throttle counts
/// failures against: the connection's peer, from axum's `ConnectInfo` (serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`, as `main` does). Behind a
/// reverse proxy, add it with `ClientIp::with_trusted_proxy`.
pub fn client_ip() -> ClientIp {
    ClientIp::new().with_peer(|parts| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    })
}

/// The filters the JSON listings of posts (`/posts`, `/api/posts`) accept. They narrow
/// the published posts; no query string lists a draft.
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

/// The admin's registrations: posts (newest first, searchable by title, slug and body,
/// filtered by state and date), comments (moderated with the action "Approve selected
/// comments"), tags, the posts' tags, and the users (Django's `UserAdmin`). Posts drill
/// down by date, toggle "published" from the list, pick their tags in a dual list and
/// edit their comments inline.
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
                .many_to_many(
                    ManyToMany::<post_tag::Entity, tag::Entity>::new("tags")
                        .display(|t| t.name.clone())
                        .filter_horizontal(),
                )
                .date_hierarchy(post::Column::Created)
                .list_editable([post::Column::Published])
                .inline(
                    Inline::<comment::Entity>::tabular()
                        .fields([
                            comment::Column::Author,
                            comment::Column::Body,
                            comment::Column::Approved,
                        ])
                        .extra(0)
                        .admin(ModelAdmin::<comment::Entity>::new().on_save(|c, change| {
                            if !change {
                                c.created = Set(chrono::Utc::now());
                            }
                            Ok(())
                        })),
                )
                .display(|p| p.title.clone()),
        )
        .register(
            ModelAdmin::<comment::Entity>::new()
                .list_display([comment::Column::Author])
                .computed("excerpt", "Comment", |c| excerpt(&c.body, 80))
                .list_display([
                    comment::Column::PostId,
                    comment::Column::Approved,
                    comment::Column::Created,
                ])
                .search_fields([comment::Column::Body, comment::Column::Author])
                .list_filter([comment::Column::Approved, comment::Column::Created])
                .autocomplete_fields([comment::Column::PostId])
                .label(comment::Column::PostId, "Post")
                .ordering("-created")
                .list_per_page(50)
                .display(|c| {
                    format!(
                        "{} on post {}: {}",
                        c.author,
                        c.post_id,
                        excerpt(&c.body, 40)
                    )
                })
                .action(
                    "approve_comments",
                    "Approve selected comments",
                    |db, comments| async move {
                        let ids: Vec<i64> = comments.iter().map(|c| c.id).collect();
                        let n = comment::Entity::update_many()
                            .col_expr(comment::Column::Approved, Expr::value(true))
                            .filter(comment::Column::Id.is_in(ids))
                            .exec(&db)
                            .await
                            .map_err(|e| {
                                tracing::error!(error = %e, "approving comments failed");
                                "The comments could not be approved; see the server log.".to_owned()
                            })?
                            .rows_affected;
                        Ok(match n {
                            1 => "1 comment approved.".to_owned(),
                            n => format!("{n} comments approved."),
                        })
                    },
                ),
        )
        .register(
            ModelAdmin::<tag::Entity>::new()
                .list_display([tag::Column::Name, tag::Column::Slug])
                .search_fields([tag::Column::Name, tag::Column::Slug])
                .ordering("name")
                .help_text(tag::Column::Slug, "The tag's URL name, unique.")
                .display(|t| t.name.clone()),
        )
        .register(
            ModelAdmin::<post_tag::Entity>::new()
                .verbose_name("post tag", "post tags")
                .list_display([post_tag::Column::PostId, post_tag::Column::TagId])
                .list_filter([post_tag::Column::TagId])
                .autocomplete_fields([post_tag::Column::PostId, post_tag::Column::TagId])
                .label(post_tag::Column::PostId, "Post")
                .label(post_tag::Column::TagId, "Tag")
                .display(|pt| format!("post {} has tag {}", pt.post_id, pt.tag_id)),
        )
        .register(batteries::admin::user_admin())
}

/// The first `chars` characters of `text` on one line, with `…` when cut.
pub(crate) fn excerpt(text: &str, chars: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", line[..at].trim_end()),
        None => line,
    }
}

/// The application: the public pages, the JSON API and the admin at `/admin/`, behind
/// security headers, sessions in the database, the current user and CSRF protection.
///
/// | route | what |
/// | --- | --- |
/// | `GET /` | published posts, newest first, 5 a page (`?page=2`) |
/// | `GET /posts/{id}` | a post, its tags, its approved comments and the comment form |
/// | `POST /posts/{id}/comments` | a logged-in reader's comment, kept until approved |
/// | `GET /tags/{slug}` | the tag's published posts |
/// | `GET /login`, `POST /login` | the readers' login form (any active user) |
/// | `POST /logout` | logout |
/// | `GET /api/posts` | published posts as JSON, with filters, search, ordering, pages |
/// | `GET /api/posts/{id}` | a published post with its tags and approved comments |
/// | `GET /api/tags` | every tag with its number of published posts |
/// | `GET /posts` | the same as `/api/posts` (its first name): published posts only |
/// | `/admin/` | batteries' admin, for staff |
///
/// # Errors
/// When the admin cannot be built (its permissions cannot be written: have the
/// migrations run? [`prepare`] runs them).
pub async fn app(
    db: DatabaseConnection,
    settings: &Settings,
) -> Result<Router, batteries::admin::Error> {
    // One owner of the secret and one login throttle for both login forms (the admin's
    // and the readers'): five failures lock a username out.
    let auth = Auth::new(db.clone(), settings.secret.clone()).with_throttle(LoginThrottle::new(
        throttle::DatabaseThrottleStore::new(db.clone()),
    ));
    let admin = admin_site()
        .client_ip(client_ip())
        .build(db.clone(), &auth)
        .await?;
    let headers = if settings.https {
        SecurityHeaders::new()
    } else {
        SecurityHeaders::new().without_hsts()
    };
    // Security headers, sessions, the current user and CSRF, in that order.
    let layers = BatteriesLayer::recommended(
        SessionManager::new(
            DatabaseSessionStore::new(db.clone()),
            SessionConfig::new().with_secure(settings.https),
        ),
        &auth,
    )
    .security_headers(headers);
    let state = AppState {
        db,
        filters: Arc::new(post_filters()),
        templates: Arc::new(pages::templates()),
        auth,
        client_ip: client_ip(),
    };
    let pages = Router::new()
        .route("/", get(pages::index))
        .route("/posts/{id}", get(pages::post_page))
        .route("/posts/{id}/comments", post(pages::add_comment))
        .route("/tags/{slug}", get(pages::tag_page))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route_layer(axum::middleware::map_response(pages::with_csp));
    Ok(Router::new()
        .merge(pages)
        .route("/posts", get(api::list_posts))
        .route("/api", get(api::index))
        .route("/api/posts", get(api::list_posts))
        .route("/api/posts/{id}", get(api::post_detail))
        .route("/api/tags", get(api::list_tags))
        .fallback(pages::not_found)
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

/// Development only: creates the reader `username` (an active user who is not staff: it
/// may log in at `/login` and comment, not enter the admin), or resets its password.
///
/// # Errors
/// When the database fails or the username is invalid.
pub async fn development_reader(
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
            let found = active.update(db).await?;
            users.set_password(db, found, Some(password)).await
        }
        None => users.create_user(db, username, None, Some(password)).await,
    }
}

/// Creates the tables (first start) and seeds demo posts, tags and comments into an
/// empty blog; each kind is seeded once, when its table is empty.
///
/// # Errors
/// When a migration or an insert fails.
pub async fn prepare(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    migrations::Migrator::up(db, None).await?;
    seed::posts(db).await?;
    seed::tags(db).await?;
    seed::comments(db).await
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpt_cuts_on_characters_and_joins_lines() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("a\n b  c", 10), "a b c");
        assert_eq!(excerpt("héllo wörld", 5), "héllo…");
        assert_eq!(excerpt("abc def", 4), "abc…");
    }
}
