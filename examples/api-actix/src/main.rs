//! `cargo run -p api-actix`: the JSON API on <http://127.0.0.1:8002>.

use std::net::SocketAddr;

use actix_web::HttpServer;
use batteries::auth::UserManager;
use batteries::auth::jwt::JwtKey;
use batteries::auth::sessions::SessionSecret;
use batteries::orm::db::{DbConfig, redact_url};
use rand::Rng as _;
use sea_orm_migration::MigratorTrait;

const DEFAULT_DATABASE_URL: &str = "sqlite://api-actix.sqlite3?mode=rwc";

fn random(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // A request's panic: one log line with its request id, no stderr dump.
    batteries::install_panic_hook();
    let result = actix_web::rt::System::new().block_on(run());
    if let Err(e) = result {
        eprintln!("api-actix: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let db = DbConfig::new(url.clone()).connect().await?;
    api_actix::Migrator::up(&db, None).await?;

    // Development defaults: a key and a secret made at each start (tokens end with the
    // process) and a user `demo` with a random password. Set JWT_PRIVATE_KEY_PEM and
    // SECRET_KEY in production.
    let pem = match std::env::var("JWT_PRIVATE_KEY_PEM") {
        Ok(pem) => pem,
        Err(_) => JwtKey::generate_ed25519_pem()?,
    };
    let secret = SessionSecret::new(std::env::var("SECRET_KEY").unwrap_or_else(|_| random(50)))?;
    let password = random(16);
    api_actix::seed_demo_user(&db, &UserManager::new(), &password).await?;

    let app = api_actix::App::new(db, &pem, secret, false)?;
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
        Err(_) => 8002,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
    let base = format!("http://{}", listener.local_addr()?);
    println!(
        "api-actix is running on {base}/ (database: {})",
        redact_url(&url)
    );
    println!(
        "  get a token:  curl -s -X POST {base}/api/token -H 'content-type: application/json' \\"
    );
    println!("                  -d '{{\"username\": \"demo\", \"password\": \"{password}\"}}'");
    println!("  then:         curl -s {base}/api/me -H 'authorization: Bearer <access_token>'");
    println!("  (user `demo`, password `{password}`: development only, new each start)");
    println!("Press Ctrl+C to stop.");
    HttpServer::new(move || {
        actix_web::App::new()
            .wrap(app.batteries())
            .configure(|cfg| app.configure(cfg))
    })
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}
