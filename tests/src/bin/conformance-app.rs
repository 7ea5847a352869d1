//! One instance of the conformance app, for the multi-instance tests:
//! `conformance-app <axum|actix|hyper>` with `DATABASE_URL` (users, sessions and refresh
//! tokens), `REDIS_URL` (rate limits), `REDIS_PREFIX`, `JWT_KEY_PEM` and
//! `SESSION_SECRET` shared by every instance. Prints `listening on <addr>` once ready.

use std::sync::Arc;

use batteries::auth::jwt::DatabaseRefreshStore;
use batteries::auth::sessions::DatabaseSessionStore;
use batteries::middleware::ratelimit::RedisRateLimitStore;
use batteries_tests::apps::{self, Framework, Pieces};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} must be set"))
}

async fn run() -> Result<(), String> {
    let framework: Framework = std::env::args()
        .nth(1)
        .ok_or("usage: conformance-app <axum|actix|hyper>")?
        .parse()?;
    let db = batteries::orm::db::connect(&env("DATABASE_URL")?)
        .await
        .map_err(|e| e.to_string())?;
    let prefix = env("REDIS_PREFIX")?;
    let limits = RedisRateLimitStore::open(&env("REDIS_URL")?)
        .await
        .map_err(|e| e.to_string())?
        .with_prefix(format!("{prefix}rl:"));
    let pieces = Pieces::new(
        db.clone(),
        Arc::new(DatabaseSessionStore::new(db.clone())),
        env("SESSION_SECRET")?.as_bytes(),
    )
    .with_jwt_key(&env("JWT_KEY_PEM")?)
    .with_refresh_store(DatabaseRefreshStore::new(db))
    .with_rate_limit_store(limits);
    let running = apps::serve(framework, pieces).await;
    println!("listening on {}", running.addr);
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("conformance-app: {e}");
        std::process::exit(1);
    }
}
