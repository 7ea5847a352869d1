//! `cargo run -p blog-axum`: the blog on <http://127.0.0.1:8000>.

use std::net::SocketAddr;

use batteries::orm::db::{DbConfig, redact_url};

const DEFAULT_DATABASE_URL: &str = "sqlite://blog.sqlite3?mode=rwc";

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run().await {
        eprintln!("blog-axum: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let db = DbConfig::new(url.clone()).connect().await?;
    blog_axum::prepare(&db).await?;

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
        Err(_) => 8000,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
    let base = format!("http://{}", listener.local_addr()?);
    println!(
        "blog-axum is running on {base}/ (database: {})",
        redact_url(&url)
    );
    println!("  try: {base}/posts?title__icontains=rust&ordering=-created");
    println!("       {base}/posts?ordering=-created&page=2");
    println!("       {base}/posts?search=django&published=true");
    println!(
        "Login pages and the admin arrive with the admin battery; `cargo run -p hyper-minimal` shows login and sessions today."
    );
    println!("Press Ctrl+C to stop.");

    axum::serve(listener, blog_axum::app(db))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
