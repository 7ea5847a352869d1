//! `cargo run -p blog-axum`: the blog on <http://127.0.0.1:8000>, its JSON API under
//! <http://127.0.0.1:8000/api/>, its admin on <http://127.0.0.1:8000/admin/>. With
//! arguments it runs a management command instead: `cargo run -p blog-axum --
//! createsuperuser`, `migrate`, `check`, ... (batteries-cli).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;

use batteries::auth::sessions::SessionSecret;
use batteries::cli::Manage;
use batteries::orm::db::{DbConfig, redact_url};
use blog_axum::Settings;
use rand::Rng as _;

const DEFAULT_DATABASE_URL: &str = "sqlite://blog.sqlite3?mode=rwc";

/// The development superuser's name.
const DEV_SUPERUSER: &str = "admin";

/// The development reader's name.
const DEV_READER: &str = "reader";

fn random(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.len() > 1 {
        return manage(args).await;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // A request's panic: one log line with its request id, no stderr dump.
    batteries::install_panic_hook();
    if let Err(e) = run().await {
        eprintln!("blog-axum: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `manage.py` for the blog: batteries-cli's commands on the blog's migrations and
/// database (the same default file as the server's).
async fn manage(mut args: Vec<OsString>) -> ExitCode {
    let url_given = std::env::var_os("DATABASE_URL").is_some()
        || args
            .iter()
            .any(|a| a.to_string_lossy().starts_with("--database-url"));
    if !url_given {
        args.push("--database-url".into());
        args.push(DEFAULT_DATABASE_URL.into());
    }
    let mut out = tokio::io::stdout();
    let mut err = tokio::io::stderr();
    // The server runs with HTTPS cookies and HSTS exactly when SECRET_KEY is set; `check`
    // is told so, and also lists the indexes the admin's changelists would want.
    let https = std::env::var_os("SECRET_KEY").is_some();
    let code = Manage::<blog_axum::migrations::Migrator>::new("blog-axum")
        .with_secure_cookies(https)
        .with_hsts(https)
        .with_check(|db| async move {
            let advice = blog_axum::admin_site()
                .index_advice(&db)
                .await
                .map_err(|e| e.to_string())?;
            Ok(advice.iter().map(ToString::to_string).collect())
        })
        .run_from(args, &mut out, &mut err)
        .await;
    let _ = tokio::io::AsyncWriteExt::flush(&mut out).await;
    let _ = tokio::io::AsyncWriteExt::flush(&mut err).await;
    ExitCode::from(code)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let db = DbConfig::new(url.clone()).connect().await?;
    blog_axum::prepare(&db).await?;

    // With SECRET_KEY set the app runs as in production: HTTPS cookies and HSTS, and no
    // user is made for you. Without it, development: a fresh random secret each run
    // (sessions end on restart), a superuser `admin` and a reader `reader` whose
    // passwords are new and random on every start, printed once below. There is no
    // default password.
    let (settings, dev_passwords) = if let Ok(key) = std::env::var("SECRET_KEY") {
        let secret = SessionSecret::new(key)
            .map_err(|e| format!("SECRET_KEY: {e} (use at least 32 random bytes)"))?;
        let settings = Settings {
            secret,
            https: true,
        };
        (settings, None)
    } else {
        let password = random(20);
        blog_axum::development_superuser(&db, DEV_SUPERUSER, &password).await?;
        let reader_password = random(20);
        blog_axum::development_reader(&db, DEV_READER, &reader_password).await?;
        let settings = Settings {
            secret: SessionSecret::new(random(50))?,
            https: false,
        };
        (settings, Some((password, reader_password)))
    };

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
    println!("  pages: {base}/  {base}/posts/1  {base}/tags/rust  {base}/login");
    println!("  API:   {base}/api/posts?title__icontains=rust&ordering=-created");
    println!("         {base}/api/posts/1  {base}/api/tags");
    println!("  admin: {base}/admin/  (approve comments at {base}/admin/blog/comment/)");
    match &dev_passwords {
        Some((password, reader_password)) => {
            println!(
                "  development superuser: `{DEV_SUPERUSER}`, password `{password}` (logs in at {base}/login and {base}/admin/)"
            );
            println!(
                "  development reader:    `{DEV_READER}`, password `{reader_password}` (logs in at {base}/login and may comment)"
            );
            println!("  (new passwords on every start; set SECRET_KEY to run without these users)");
        }
        None => println!(
            "  SECRET_KEY is set: no user was created; make a superuser with `cargo run -p blog-axum -- createsuperuser`"
        ),
    }
    println!("Press Ctrl+C to stop.");

    let app = blog_axum::app(db, &settings).await?;
    // The peer's address, for the login throttle's per-IP limit.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
