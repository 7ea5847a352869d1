#![doc = include_str!("../README.md")]
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
