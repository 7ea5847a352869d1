//! The admin test site as a process, for the browser tests, schemathesis and the load
//! benchmark: `admin-app` with `DATABASE_URL` (a fresh, empty database; default a new
//! SQLite file under the temp directory), `PORT` (default 0: any free port),
//! `SEED_BOOKS` (default 60) and `SKIP_SETUP=1` to serve a database already set up.
//! Prints `listening on http://127.0.0.1:PORT` once ready.

use std::io::Write as _;
use std::net::SocketAddr;

use batteries_tests::admin_app;

async fn run() -> Result<(), String> {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => batteries_tests::sqlite_file_url("admin-app"),
    };
    let port: u16 = std::env::var("PORT")
        .unwrap_or_else(|_| "0".into())
        .parse()
        .map_err(|_| "PORT must be a port number".to_owned())?;
    let books: usize = std::env::var("SEED_BOOKS")
        .unwrap_or_else(|_| "60".into())
        .parse()
        .map_err(|_| "SEED_BOOKS must be a number".to_owned())?;
    let db = batteries::orm::db::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    if std::env::var("SKIP_SETUP").as_deref() != Ok("1") {
        admin_app::setup(&db).await;
        let _ = admin_app::admin(&db, &admin_app::secret()).await;
        admin_app::seed_users(&db).await;
        admin_app::seed_library(&db, 5, books).await;
    }
    let running = admin_app::serve(&db, SocketAddr::from(([127, 0, 0, 1], port))).await;
    println!("listening on {}", running.base);
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    drop(running);
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("admin-app: {e}");
        std::process::exit(1);
    }
}
