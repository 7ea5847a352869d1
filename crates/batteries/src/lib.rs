//! # batteries
//!
//! Django's "batteries included" for any Rust web framework: ORM conveniences, auth,
//! sessions, JWT, middleware, the admin and a CLI. Each battery is its own
//! crate; this facade re-exports them behind features.
//!
//! | feature | brings |
//! | --- | --- |
//! | `sqlite` (default) | [`orm`] with SQLite |
//! | `postgres` | [`orm`] with PostgreSQL |
//! | `mysql` | [`orm`] with MySQL / MariaDB |
//! | `auth` | `auth`: users, permissions, password hashing, reset tokens, throttling |
//! | `middleware` | `middleware`: sessions, auth, guards, CSRF, security headers, rate limits (tower) |
//! | `axum` | `axum`: extractors and router helpers |
//! | `actix` | `actix`: actix-web middleware and extractors |
//! | `admin` | `admin`: Django's admin for SeaORM entities, HTML and JSON API (with `actix`, also `actix::admin` to mount it on actix-web) |
//! | `cli` | `cli`: `migrate`, `createsuperuser`, `dumpdata`... for your own binary |
//! | `jwt` | `auth::jwt` and bearer tokens in the auth layer |
//! | `redis` | Redis stores (throttling, sessions, refresh tokens, rate limits) |
//! | `testing` | `orm::testing`: a fresh database per test |
//! | `full` | everything |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries::orm::Result<()> {
//! let db = batteries::orm::db::connect("sqlite::memory:").await?;
//! db.ping().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

/// ORM helpers: connect by URL, filters, pagination, fixtures, migrations.
pub use batteries_orm as orm;

/// Users, groups, permissions, Django-compatible password hashing, tokens, throttling.
#[cfg(feature = "auth")]
pub use batteries_auth as auth;

/// The traits integrators implement (`AuthUser`, `UserLoader`), `Permissions`, `Clock`,
/// `SessionSecret`, the loaders' `Error` (feature `auth`).
#[cfg(feature = "auth")]
pub use batteries_core as core;

/// Sessions and their stores (feature `auth`; also at `batteries::auth::sessions`).
#[cfg(feature = "auth")]
pub use batteries_sessions as sessions;

/// tower layers: sessions, authentication, guards, CSRF, security headers, rate limits.
#[cfg(feature = "middleware")]
pub use batteries_middleware as middleware;

/// Keeps each panic that batteries catches in a request to one log line (opt-in; see
/// [`middleware::panic`]): call it once at start-up.
#[cfg(feature = "middleware")]
pub use batteries_middleware::panic::install_panic_hook;

/// axum extractors and router helpers.
#[cfg(feature = "axum")]
pub use batteries_axum as axum;

/// actix-web middleware and extractors.
#[cfg(feature = "actix")]
pub use batteries_actix as actix;

/// Django's admin for SeaORM entities: pages, JSON API, OpenAPI document, history.
#[cfg(feature = "admin")]
pub use batteries_admin as admin;

/// manage.py-style commands for the application's own binary.
#[cfg(feature = "cli")]
pub use batteries_cli as cli;
