//! The commands themselves.

use batteries_auth::UserManager;
use batteries_auth::entities::user;
use batteries_auth::sessions::{DatabaseSessionStore, SessionStore};
use batteries_auth::user::{normalize_username, validate_username};
use batteries_auth::validators::Validators;
use batteries_orm::fixtures::Fixtures;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sea_orm_migration::{MigrationStatus, MigratorTrait};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::progress::{self, DumpBars};
use crate::{Cli, CliError, Command, ExtraCheck};

type Out<'a> = &'a mut (dyn AsyncWrite + Unpin + Send);

async fn say(out: Out<'_>, line: &str) -> Result<(), CliError> {
    out.write_all(line.as_bytes()).await?;
    out.write_all(b"\n").await?;
    Ok(())
}

async fn connect(url: Option<&str>) -> Result<DatabaseConnection, CliError> {
    let url = url.ok_or(CliError::NoDatabase)?;
    // Commands run migrations and dump whole tables: statements as long as they need,
    // not the web pool's 15 s.
    Ok(batteries_orm::db::DbConfig::new(url)
        .statement_timeout(None)
        .connect()
        .await?)
}

/// What the application told [`crate::Manage`] about its deployment, for `check`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Security {
    /// What the session layer was given with `SessionConfig::with_secure`, if told.
    pub(crate) secure_cookies: Option<bool>,
    /// Whether `SecurityHeaders` sends HSTS, if told.
    pub(crate) hsts: Option<bool>,
}

/// Everything a command may need besides its arguments.
pub(crate) struct Context<'a> {
    pub(crate) fixtures: &'a Fixtures,
    pub(crate) checks: &'a [ExtraCheck],
    pub(crate) security: Security,
    /// Draw progress bars on standard error (it is a terminal).
    pub(crate) progress: bool,
}

pub(crate) async fn execute<M: MigratorTrait>(
    cx: &Context<'_>,
    cli: Cli,
    out: Out<'_>,
) -> Result<(), CliError> {
    let fixtures = cx.fixtures;
    let db = connect(cli.database_url.as_deref()).await?;
    match cli.command {
        Command::Migrate { plan } => migrate::<M>(&db, plan, out).await,
        Command::Showmigrations => showmigrations::<M>(&db, out).await,
        Command::Createsuperuser {
            no_input,
            username,
            email,
        } => createsuperuser(&db, no_input, username, email, out).await,
        Command::Changepassword { username } => changepassword(&db, &username, out).await,
        Command::Clearsessions => {
            let removed = DatabaseSessionStore::new(db)
                .clear_expired()
                .await
                .map_err(|e| CliError::Auth(batteries_auth::Error::from(e)))?;
            say(out, &format!("Removed {removed} expired session(s).")).await
        }
        Command::Dumpdata { labels, output } => {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            if let Some(path) = output {
                let file = tokio::fs::File::create(&path).await.map_err(|e| {
                    CliError::Invalid(format!("cannot write {}: {e}", path.display()))
                })?;
                dump(fixtures, &db, &labels, file, cx.progress).await
            } else {
                dump(fixtures, &db, &labels, &mut *out, cx.progress).await
            }
        }
        Command::Loaddata { fixture } => {
            let report = if cx.progress {
                load_with_progress(fixtures, &db, &fixture).await?
            } else {
                fixtures.load_path(&db, &fixture).await?
            };
            say(
                out,
                &format!("Installed {} object(s) from 1 fixture(s)", report.records),
            )
            .await
        }
        Command::Check => check::<M>(&db, cx.checks, cx.security, out).await,
    }
}

async fn dump<W>(
    fixtures: &Fixtures,
    db: &DatabaseConnection,
    labels: &[&str],
    out: W,
    progress: bool,
) -> Result<(), CliError>
where
    W: AsyncWrite + Unpin + Send,
{
    if !progress {
        fixtures.dump(db, labels, out).await?;
        return Ok(());
    }
    let mut bars = DumpBars::default();
    let result = fixtures
        .dump_with_progress(db, labels, out, |p| bars.on(p))
        .await;
    match result {
        Ok(_) => bars.finish(),
        Err(_) => bars.abandon(),
    }
    result?;
    Ok(())
}

async fn load_with_progress(
    fixtures: &Fixtures,
    db: &DatabaseConnection,
    path: &std::path::Path,
) -> Result<batteries_orm::fixtures::LoadReport, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::Orm(batteries_orm::error::FixtureError::Io(e).into()))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let bar = progress::load_bar(&name, size);
    // The parser reads a byte at a time: count the buffer's refills, not each byte.
    let reader = std::io::BufReader::new(bar.wrap_read(file));
    let result = fixtures.load(db, reader).await;
    progress::done(&bar, result.is_ok());
    Ok(result?)
}

async fn migrate<M: MigratorTrait>(
    db: &DatabaseConnection,
    plan: bool,
    out: Out<'_>,
) -> Result<(), CliError> {
    let pending = M::get_pending_migrations(db).await?;
    if pending.is_empty() {
        return say(
            out,
            if plan {
                "No planned migration operations."
            } else {
                "No migrations to apply."
            },
        )
        .await;
    }
    if plan {
        say(out, "Planned operations:").await?;
        for m in &pending {
            say(out, &format!("  {}", m.name())).await?;
        }
        return Ok(());
    }
    say(out, "Running migrations:").await?;
    for m in &pending {
        say(out, &format!("  Applying {}", m.name())).await?;
    }
    M::up(db, None).await?;
    say(out, "OK").await
}

async fn showmigrations<M: MigratorTrait>(
    db: &DatabaseConnection,
    out: Out<'_>,
) -> Result<(), CliError> {
    for m in M::get_migration_with_status(db).await? {
        let mark = if m.status() == MigrationStatus::Applied {
            'X'
        } else {
            ' '
        };
        say(out, &format!(" [{mark}] {}", m.name())).await?;
    }
    Ok(())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn ask(prompt: &str) -> Result<String, CliError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout();
    write!(stdout, "{prompt}")?;
    stdout.flush()?;
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line)? == 0 {
        return Err(CliError::Invalid("input ended".to_owned()));
    }
    Ok(line.trim().to_owned())
}

fn ask_password(username: &str, email: &str) -> Result<String, CliError> {
    let validators = Validators::default();
    for _ in 0..3 {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| CliError::Invalid(format!("cannot read a password: {e}")))?;
        let second = rpassword::prompt_password("Password (again): ")
            .map_err(|e| CliError::Invalid(format!("cannot read a password: {e}")))?;
        if first != second {
            eprintln!("Error: Your passwords didn't match.");
            continue;
        }
        match validators.validate(&first, Some(&[("username", username), ("email", email)])) {
            Ok(()) => return Ok(first),
            Err(errors) => {
                for message in errors.messages() {
                    eprintln!("This password is not accepted: {message}");
                }
            }
        }
    }
    Err(CliError::Invalid(
        "no acceptable password after 3 tries".to_owned(),
    ))
}

async fn find_user(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<user::Model>, CliError> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(normalize_username(username)))
        .one(db)
        .await?)
}

async fn createsuperuser(
    db: &DatabaseConnection,
    no_input: bool,
    username: Option<String>,
    email: Option<String>,
    out: Out<'_>,
) -> Result<(), CliError> {
    // Stored NFKC-normalised, as Django's `normalize_username` does: `ａｄｍｉｎ` is `admin`.
    let username = username
        .or_else(|| env("BATTERIES_SUPERUSER_USERNAME"))
        .map(|u| normalize_username(&u));
    let email = email.or_else(|| env("BATTERIES_SUPERUSER_EMAIL"));
    let (username, email, password) = if no_input {
        let username = username.ok_or_else(|| {
            CliError::Invalid(
                "--no-input needs --username or BATTERIES_SUPERUSER_USERNAME".to_owned(),
            )
        })?;
        let password = env("BATTERIES_SUPERUSER_PASSWORD").ok_or_else(|| {
            CliError::Invalid("--no-input needs BATTERIES_SUPERUSER_PASSWORD".to_owned())
        })?;
        (username, email.unwrap_or_default(), password)
    } else {
        let username = match username {
            Some(u) => u,
            None => normalize_username(&ask("Username: ")?),
        };
        validate_username(&username)?;
        if find_user(db, &username).await?.is_some() {
            return Err(CliError::Invalid(
                "that username is already taken".to_owned(),
            ));
        }
        let email = match email {
            Some(e) => e,
            None => ask("Email address: ")?,
        };
        let password = ask_password(&username, &email)?;
        (username, email, password)
    };
    validate_username(&username)?;
    if find_user(db, &username).await?.is_some() {
        return Err(CliError::Invalid(
            "that username is already taken".to_owned(),
        ));
    }
    if let Err(errors) = Validators::default().validate(
        &password,
        Some(&[("username", &*username), ("email", &*email)]),
    ) {
        let messages: Vec<&str> = errors.messages().collect();
        return Err(CliError::Invalid(format!(
            "the password is not accepted: {}",
            messages.join(" ")
        )));
    }
    let email = (!email.is_empty()).then_some(email.as_str());
    UserManager::new()
        .create_superuser(db, &username, email, Some(&password))
        .await?;
    say(out, "Superuser created successfully.").await
}

async fn changepassword(
    db: &DatabaseConnection,
    username: &str,
    out: Out<'_>,
) -> Result<(), CliError> {
    let Some(found) = find_user(db, username).await? else {
        return Err(CliError::Invalid(format!(
            "user `{username}` does not exist"
        )));
    };
    say(out, &format!("Changing password for user '{username}'")).await?;
    let password = ask_password(username, &found.email)?;
    UserManager::new()
        .set_password(db, found, Some(&password))
        .await?;
    say(
        out,
        &format!("Password changed successfully for user '{username}'"),
    )
    .await
}

/// Django's `security.W009`: at least 50 characters, at least 5 distinct.
fn weak_secret(secret: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = secret.chars().collect();
    secret.chars().count() < 50 || distinct.len() < 5 || secret.starts_with("django-insecure-")
}

/// Whether `check` runs for development: `BATTERIES_ENV=development`. Anything else,
/// unset included, is production.
fn development() -> bool {
    std::env::var("BATTERIES_ENV").is_ok_and(|v| v.trim().eq_ignore_ascii_case("development"))
}

/// The secure-cookie and HSTS rules, as (errors, warnings).
fn security_findings(security: Security, development: bool) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if security.secure_cookies == Some(false) {
        if development {
            warnings.push(
                "session cookies are not Secure: fine over http://127.0.0.1 in development \
                 (BATTERIES_ENV=development), never in production"
                    .to_owned(),
            );
        } else {
            problems.push(
                "session cookies are not Secure (SessionConfig::with_secure(false)): over \
                 plain HTTP they give the session away; serve over HTTPS with secure cookies \
                 (Django's security.W012), or set BATTERIES_ENV=development"
                    .to_owned(),
            );
        }
    }
    if security.hsts == Some(false) && !development {
        warnings.push(
            "HSTS is off (SecurityHeaders::without_hsts): browsers may still reach the site \
             over plain HTTP (Django's security.W004)"
                .to_owned(),
        );
    }
    (problems, warnings)
}

async fn check<M: MigratorTrait>(
    db: &DatabaseConnection,
    checks: &[ExtraCheck],
    security: Security,
    out: Out<'_>,
) -> Result<(), CliError> {
    let (mut problems, mut warnings) = security_findings(security, development());
    for extra in checks {
        match extra(db.clone()).await {
            Ok(found) => warnings.extend(found),
            Err(e) => problems.push(format!("a check could not run: {e}")),
        }
    }
    match std::env::var("SECRET_KEY") {
        Err(_) => problems.push("SECRET_KEY is not set".to_owned()),
        Ok(secret) if weak_secret(&secret) => problems.push(
            "SECRET_KEY is weak: use at least 50 random characters (Django's security.W009)"
                .to_owned(),
        ),
        Ok(_) => {}
    }
    let pending = M::get_pending_migrations(db).await?;
    if !pending.is_empty() {
        problems.push(format!(
            "{} migration(s) not applied: run `migrate`",
            pending.len()
        ));
    }
    for problem in &problems {
        say(out, &format!("ERROR: {problem}")).await?;
    }
    for warning in &warnings {
        say(out, &format!("WARNING: {warning}")).await?;
    }
    if problems.is_empty() && !warnings.is_empty() {
        say(
            out,
            &format!("System check identified {} warning(s).", warnings.len()),
        )
        .await
    } else if problems.is_empty() {
        say(out, "System check identified no issues.").await
    } else {
        Err(CliError::Check(problems.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_cookies_are_an_error_in_production_and_a_warning_in_development() {
        let insecure = Security {
            secure_cookies: Some(false),
            hsts: Some(false),
        };
        let (errors, warnings) = security_findings(insecure, false);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("not Secure"), "{errors:?}");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("HSTS"), "{warnings:?}");

        let (errors, warnings) = security_findings(insecure, true);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(warnings.len(), 1, "no HSTS warning in development");
        assert!(warnings[0].contains("development"), "{warnings:?}");

        let secure = Security {
            secure_cookies: Some(true),
            hsts: Some(true),
        };
        assert_eq!(security_findings(secure, false), (Vec::new(), Vec::new()));
        assert_eq!(
            security_findings(Security::default(), false),
            (Vec::new(), Vec::new()),
            "nothing said when the application did not tell"
        );
    }
}
