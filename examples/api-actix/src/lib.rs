//! A JSON API on actix-web, built from batteries:
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `POST /api/token` | anyone (5 tries a minute per client IP) | `{"username", "password"}` in, an access and a refresh token out |
//! | `POST /api/token/refresh` | anyone | a refresh token in, a new pair out; replaying a used one revokes its family; refused once the user is deactivated, deleted or changed password, and 30 days after login |
//! | `POST /api/token/revoke` | anyone | a refresh token in; its family is revoked (logout) |
//! | `GET /api/me` | bearer | who you are |
//! | `GET /api/notes` | bearer | your notes |
//! | `POST /api/notes` | bearer with `notes.add_note` | `{"text"}` in, the new note out (`201`) |
//! | `GET /.well-known/jwks.json` | anyone | the public keys, for other services verifying our tokens |
//!
//! Every response carries the security headers. Failures are JSON: `400` for bad
//! input, `401` for a missing or bad token (one answer whatever was wrong), `403`
//! without the permission, `429` with `Retry-After` over the rate limit.

use actix_web::{HttpResponse, web};
use batteries::actix::{Batteries, Perm, RateLimit, RequireUser};
use batteries::auth::entities::user::Model as User;
use batteries::auth::jwt::{DatabaseRefreshStore, Jwt, JwtConfig, JwtKey, KeySet};
use batteries::auth::sessions::SessionSecret;
use batteries::auth::{Authenticator, Credentials, ModelBackend};
use batteries::middleware::auth::Authentication;
use batteries::middleware::headers::SecurityHeaders;
use batteries::middleware::ratelimit::{Bucket, ClientIp, MemoryRateLimitStore, RateLimiter};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, DatabaseConnection, QueryOrder};
use sea_orm_migration::prelude::*;

/// The notes table.
pub mod note {
    use sea_orm::entity::prelude::*;

    /// A note.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "notes_note")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// The author (`auth_user.id`).
        pub owner_id: i32,
        /// The text.
        pub text: String,
        /// When it was written.
        pub created: DateTimeUtc,
    }

    /// No relations are declared.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The app's own migration: the notes table.
#[derive(DeriveMigrationName)]
pub struct CreateNotes;

#[async_trait::async_trait]
impl MigrationTrait for CreateNotes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let schema = sea_orm::Schema::new(backend);
        manager
            .create_table(
                schema
                    .create_table_from_entity(note::Entity)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(note::Entity).to_owned())
            .await
    }
}

/// batteries' migrations, then the app's.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // The refresh tokens live in the database: their table is batteries-jwt's.
        let mut all = batteries::orm::migration::compose([
            batteries::auth::migrations::migrations(),
            batteries::auth::jwt::migrations(),
        ])
        .expect("unique migration names");
        all.push(Box::new(CreateNotes));
        all
    }
}

batteries::actix::permission!(pub AddNote = "notes.add_note");

/// Creates (or resets the password of) the development user `demo`, who may add notes.
///
/// # Errors
/// The database failed.
pub async fn seed_demo_user(
    db: &DatabaseConnection,
    users: &batteries::auth::UserManager,
    password: &str,
) -> Result<(), batteries::auth::Error> {
    use batteries::auth::entities::{permission, user, user_permissions};
    let demo = match user::Entity::find()
        .filter(user::Column::Username.eq("demo"))
        .one(db)
        .await?
    {
        Some(found) => users.set_password(db, found, Some(password)).await?,
        None => users.create_user(db, "demo", None, Some(password)).await?,
    };
    let ct =
        batteries::auth::permissions::ensure_model_permissions(db, "notes", "note", "note").await?;
    let Some(add) = permission::Entity::find()
        .filter(permission::Column::ContentTypeId.eq(ct.id))
        .filter(permission::Column::Codename.eq("add_note"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let granted = user_permissions::Entity::find()
        .filter(user_permissions::Column::UserId.eq(demo.id))
        .filter(user_permissions::Column::PermissionId.eq(add.id))
        .one(db)
        .await?;
    if granted.is_none() {
        user_permissions::ActiveModel {
            user_id: Set(demo.id),
            permission_id: Set(add.id),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// What the handlers share.
#[derive(Clone)]
pub struct State {
    db: DatabaseConnection,
    jwt: Jwt,
    authenticator: Authenticator<batteries::auth::entities::user::Model>,
}

/// Everything the app is built from.
#[derive(Clone)]
pub struct App {
    state: State,
    auth: Authentication,
    login_limiter: RateLimiter,
    https: bool,
}

impl App {
    /// The app on `db`, signing tokens with the Ed25519 key `jwt_pem` (PKCS#8 PEM).
    ///
    /// # Errors
    /// The key or the secret is unusable.
    pub fn new(
        db: DatabaseConnection,
        jwt_pem: &str,
        secret: SessionSecret,
        https: bool,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let keys = KeySet::new()
            .with_key(JwtKey::from_ed25519_pem("k1", jwt_pem)?)
            .with_signing_key("k1")?;
        let backend = ModelBackend::new(db.clone());
        // Refresh tokens die with their user's activity and password (and 30 days after
        // login at the latest); access tokens live 5 minutes.
        let jwt = Jwt::new(
            keys,
            JwtConfig::new("api-actix", "api-actix"),
            DatabaseRefreshStore::new(db.clone()),
        )?
        .with_users(backend.clone(), secret.clone());
        Ok(Self {
            auth: Authentication::new(backend.clone(), secret).with_bearer(jwt.clone()),
            login_limiter: RateLimiter::new(
                MemoryRateLimitStore::new(),
                Bucket::per_interval(5, std::time::Duration::from_secs(12)),
            )
            .with_scope("token"),
            state: State {
                authenticator: Authenticator::new().with_backend(backend),
                jwt,
                db,
            },
            https,
        })
    }

    /// The middleware to wrap the actix `App` in.
    pub fn batteries(&self) -> Batteries {
        let headers = if self.https {
            SecurityHeaders::new()
        } else {
            SecurityHeaders::new().without_hsts()
        };
        Batteries::new()
            .auth(self.auth.clone())
            .security_headers(headers)
    }

    /// Registers the routes.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.state.clone()))
            .app_data(web::JsonConfig::default().error_handler(|e, _| {
                let body = serde_json::json!({ "error": e.to_string() });
                actix_web::error::InternalError::from_response(
                    e,
                    HttpResponse::BadRequest().json(body),
                )
                .into()
            }))
            .service(
                web::resource("/api/token")
                    .wrap(RateLimit::new(self.login_limiter.clone(), ClientIp::new()))
                    .route(web::post().to(token)),
            )
            .route("/api/token/refresh", web::post().to(refresh))
            .route("/api/token/revoke", web::post().to(revoke))
            .route("/api/me", web::get().to(me))
            .route("/api/notes", web::get().to(list_notes))
            .route("/api/notes", web::post().to(add_note))
            .route("/.well-known/jwks.json", web::get().to(jwks));
    }
}

fn error(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn token(state: web::Data<State>, body: web::Json<Login>) -> HttpResponse {
    let credentials = Credentials::new(&body.username, &body.password);
    match state.authenticator.authenticate(&credentials).await {
        Ok(Some(user)) => match state.jwt.issue_pair(&user.id.to_string()).await {
            Ok(pair) => HttpResponse::Ok().json(pair),
            Err(e) => unavailable(&e),
        },
        Ok(None) => error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid username or password",
        ),
        // Too many passwords are being checked at once: nothing was checked.
        Err(e) if e.is_busy() => HttpResponse::ServiceUnavailable()
            .insert_header((
                actix_web::http::header::RETRY_AFTER,
                batteries::auth::hashers::BUSY_RETRY_AFTER
                    .as_secs()
                    .to_string(),
            ))
            .json(serde_json::json!({ "error": "busy; try again in a moment" })),
        Err(e) => unavailable(&e),
    }
}

/// A store failed: `503` with `Retry-After`, the cause logged (never shown).
fn unavailable(e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(%e, "request failed");
    let mut response = error(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "try again later",
    );
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(
            batteries::middleware::UNAVAILABLE_RETRY_AFTER_SECS,
        ),
    );
    response
}

#[derive(serde::Deserialize)]
struct Refresh {
    refresh_token: String,
}

async fn refresh(state: web::Data<State>, body: web::Json<Refresh>) -> HttpResponse {
    match state.jwt.refresh(&body.refresh_token).await {
        Ok(pair) => HttpResponse::Ok().json(pair),
        Err(e) if e.is_token_error() => {
            error(actix_web::http::StatusCode::UNAUTHORIZED, "invalid token")
        }
        Err(e) => unavailable(&e),
    }
}

async fn revoke(state: web::Data<State>, body: web::Json<Refresh>) -> HttpResponse {
    match state.jwt.revoke(&body.refresh_token).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) if e.is_token_error() => {
            error(actix_web::http::StatusCode::UNAUTHORIZED, "invalid token")
        }
        Err(e) => unavailable(&e),
    }
}

/// The request's user, loaded (the auth middleware refuses a token whose user is gone
/// or inactive; this checks again rather than trust the token's id): `Err` is the
/// response to send.
async fn load_user(
    user: &batteries::middleware::auth::CurrentUser,
) -> Result<std::sync::Arc<User>, HttpResponse> {
    match user.user_as::<User>().await {
        Ok(Some(u)) if u.is_active => Ok(u),
        Ok(_) => Err(error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid token",
        )),
        Err(e) => Err(unavailable(&e)),
    }
}

async fn me(RequireUser(user): RequireUser) -> HttpResponse {
    match load_user(&user).await {
        Ok(u) => HttpResponse::Ok().json(serde_json::json!({
            "id": u.id,
            "username": u.username,
            "is_staff": u.is_staff,
        })),
        Err(response) => response,
    }
}

async fn list_notes(state: web::Data<State>, RequireUser(user): RequireUser) -> HttpResponse {
    let owner = match load_user(&user).await {
        Ok(u) => u.id,
        Err(response) => return response,
    };
    match note::Entity::find()
        .filter(note::Column::OwnerId.eq(owner))
        .order_by_desc(note::Column::Id)
        .all(&state.db)
        .await
    {
        Ok(notes) => HttpResponse::Ok().json(notes),
        Err(e) => unavailable(&e),
    }
}

#[derive(serde::Deserialize)]
struct NewNote {
    text: String,
}

async fn add_note(
    state: web::Data<State>,
    allowed: Perm<AddNote>,
    body: web::Json<NewNote>,
) -> HttpResponse {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "text: between 1 and 1000 characters",
        );
    }
    let owner = match load_user(&allowed.0).await {
        Ok(u) => u.id,
        Err(response) => return response,
    };
    let saved = note::ActiveModel {
        owner_id: Set(owner),
        text: Set(text.to_owned()),
        created: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    match saved {
        Ok(n) => HttpResponse::Created().json(n),
        Err(e) => unavailable(&e),
    }
}

async fn jwks(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.jwt.jwks())
}
