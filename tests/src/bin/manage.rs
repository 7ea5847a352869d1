//! A `manage.py` for the CLI tests: batteries-cli with the auth migrations and the auth
//! user and group models registered for fixtures.

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
    Manage::<Migrator>::new("manage")
        .with_fixtures(fixtures)
        .main()
        .await
}
