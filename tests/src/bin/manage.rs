//! A `manage.py` for the CLI tests: batteries-cli with the auth migrations and the auth
//! user and group models registered for fixtures. `MANAGE_SECURE_COOKIES` and
//! `MANAGE_HSTS` (`1` or `0`) stand for what an application tells `check`.

use batteries::auth::entities::{group, user};
use batteries::orm::fixtures::Fixtures;
use batteries_cli::Manage;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries::auth::migrations::migrations().into_migrations()
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let fixtures = Fixtures::new()
        .register::<user::Entity>("auth.user")
        .register::<group::Entity>("auth.group");
    let mut manage = Manage::<Migrator>::new("manage").with_fixtures(fixtures);
    // What the application would tell `check` about its layers; the tests set these.
    if let Some(secure) = flag("MANAGE_SECURE_COOKIES") {
        manage = manage.with_secure_cookies(secure);
    }
    if let Some(hsts) = flag("MANAGE_HSTS") {
        manage = manage.with_hsts(hsts);
    }
    manage.main().await
}

/// `1` or `0` from the environment.
fn flag(name: &str) -> Option<bool> {
    std::env::var(name).ok().map(|v| v == "1")
}
