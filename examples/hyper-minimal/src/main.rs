//! `cargo run -p hyper-minimal`: login, sessions, CSRF and security headers on plain
//! hyper, on <http://127.0.0.1:8001>.

use std::net::SocketAddr;

use batteries::auth::UserManager;
use batteries::auth::sessions::SessionSecret;
use batteries::orm::db::{DbConfig, redact_url};
use rand::Rng as _;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

const DEFAULT_DATABASE_URL: &str = "sqlite://hyper-minimal.sqlite3?mode=rwc";

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries::orm::migration::compose([
            batteries::auth::migrations::migrations(),
            batteries::admin::migrations::migrations(),
        ])
        .expect("migration names are unique")
    }
}

fn random(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // A request's panic: one log line with its request id, no stderr dump.
    batteries::install_panic_hook();
    if let Err(e) = run().await {
        eprintln!("hyper-minimal: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let db = DbConfig::new(url.clone()).connect().await?;
    Migrator::up(&db, None).await?;

    // Development only: a fresh random secret each run (sessions end on restart) and a
    // user `demo` with a random password, printed once. Set SECRET_KEY in production.
    let secret = match std::env::var("SECRET_KEY") {
        Ok(key) => SessionSecret::new(key)?,
        Err(_) => SessionSecret::new(random(50))?,
    };
    let users = UserManager::new();
    let password = random(16);
    // `demo` is a superuser so that it can open the admin too.
    let demo = match hyper_minimal::find_user(&db, "demo").await? {
        Some(user) => users.set_password(&db, user, Some(&password)).await?,
        None => {
            users
                .create_superuser(&db, "demo", None, Some(&password))
                .await?
        }
    };
    if !(demo.is_staff && demo.is_superuser && demo.is_active) {
        let mut active: batteries::auth::entities::user::ActiveModel = demo.into();
        active.is_staff = sea_orm::Set(true);
        active.is_superuser = sea_orm::Set(true);
        active.is_active = sea_orm::Set(true);
        sea_orm::ActiveModelTrait::update(active, &db).await?;
    }
    let admin = hyper_minimal::admin(&db, &secret).await?;

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
        Err(_) => 8001,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
    println!(
        "hyper-minimal is running on http://{}/ (database: {})",
        listener.local_addr()?,
        redact_url(&url)
    );
    println!("  log in as `demo` with password `{password}` (development only; new each run)");
    println!(
        "  the admin: http://{}/admin/ (same login)",
        listener.local_addr()?
    );
    println!("Press Ctrl+C to stop.");
    let config = hyper_minimal::Config {
        secret,
        https: false,
        admin: Some(admin),
    };
    tokio::select! {
        () = hyper_minimal::serve(listener, db, config) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
