#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod commands;
mod error;
mod progress;

use std::ffi::OsString;
use std::marker::PhantomData;
use std::process::ExitCode;

use batteries_orm::fixtures::Fixtures;
use clap::Parser;
use sea_orm_migration::MigratorTrait;
use tokio::io::{AsyncWrite, AsyncWriteExt};

pub use error::CliError;

/// The command line: global options and one command.
#[derive(Debug, Parser)]
#[command(
    about = "Django-style management commands",
    disable_version_flag = true
)]
pub struct Cli {
    /// The database (`sqlite://app.sqlite3?mode=rwc`, `postgres://...`, `mysql://...`).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, clap::Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Applies pending migrations.
    Migrate {
        /// Only list what would be applied.
        #[arg(long)]
        plan: bool,
    },
    /// Lists migrations and whether they are applied.
    Showmigrations,
    /// Creates a superuser.
    Createsuperuser {
        /// Read everything from arguments and `BATTERIES_SUPERUSER_*` variables.
        #[arg(long = "no-input", alias = "noinput")]
        no_input: bool,
        /// The username (else `BATTERIES_SUPERUSER_USERNAME`, else asked).
        #[arg(long)]
        username: Option<String>,
        /// The e-mail address (else `BATTERIES_SUPERUSER_EMAIL`, else asked).
        #[arg(long)]
        email: Option<String>,
    },
    /// Changes a user's password.
    Changepassword {
        /// The user.
        username: String,
    },
    /// Deletes expired sessions.
    Clearsessions,
    /// Writes rows as a Django JSON fixture.
    Dumpdata {
        /// Model labels (`app_label.model`); all registered models when none.
        labels: Vec<String>,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
    /// Loads a Django JSON fixture, all or nothing.
    Loaddata {
        /// The fixture file.
        fixture: std::path::PathBuf,
    },
    /// Checks the configuration for problems.
    Check,
}

/// An application's own check for `check`: given the database, the warnings it finds
/// (`Err` for a check that could not run).
pub type ExtraCheck = std::sync::Arc<
    dyn Fn(
            sea_orm::DatabaseConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Vec<String>, String>> + Send>,
        > + Send
        + Sync,
>;

/// The management commands of one application: its migrator `M` and the models its
/// fixtures may name.
pub struct Manage<M> {
    name: String,
    fixtures: Fixtures,
    checks: Vec<ExtraCheck>,
    security: commands::Security,
    migrator: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Manage<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manage")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<M: MigratorTrait> Manage<M> {
    /// Commands for the application's migrator `M`; `name` is the binary's name in
    /// messages and help.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            fixtures: Fixtures::new(),
            checks: Vec::new(),
            security: commands::Security::default(),
            migrator: PhantomData,
        }
    }

    /// The models `dumpdata` and `loaddata` know.
    #[must_use]
    pub fn with_fixtures(mut self, fixtures: Fixtures) -> Self {
        self.fixtures = fixtures;
        self
    }

    /// Adds a check that `check` runs; what it returns is printed as warnings (they do
    /// not fail the command). For example the admin's missing indexes:
    ///
    /// ```no_run
    /// # use sea_orm_migration::{MigrationTrait, MigratorTrait};
    /// # struct Migrator;
    /// # impl MigratorTrait for Migrator {
    /// #     fn migrations() -> Vec<Box<dyn MigrationTrait>> { Vec::new() }
    /// # }
    /// # fn site() -> batteries_admin::AdminSite { batteries_admin::AdminSite::new() }
    /// use batteries_cli::Manage;
    ///
    /// let manage = Manage::<Migrator>::new("manage").with_check(|db| async move {
    ///     let advice = site().index_advice(&db).await.map_err(|e| e.to_string())?;
    ///     Ok(advice.iter().map(ToString::to_string).collect())
    /// });
    /// ```
    #[must_use]
    pub fn with_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(sea_orm::DatabaseConnection) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Vec<String>, String>> + Send + 'static,
    {
        self.checks
            .push(std::sync::Arc::new(move |db| Box::pin(check(db))));
        self
    }

    /// Tells `check` whether the session cookie is `Secure`: pass what the application
    /// gives `SessionConfig::with_secure`. Not `Secure` is an error in production and a
    /// warning with `BATTERIES_ENV=development` (see the crate docs).
    ///
    /// ```no_run
    /// # use sea_orm_migration::{MigrationTrait, MigratorTrait};
    /// # struct Migrator;
    /// # impl MigratorTrait for Migrator {
    /// #     fn migrations() -> Vec<Box<dyn MigrationTrait>> { Vec::new() }
    /// # }
    /// use batteries_cli::Manage;
    ///
    /// // The application serves HTTPS when it has a secret key, as examples/blog-axum.
    /// let https = std::env::var("SECRET_KEY").is_ok();
    /// let manage = Manage::<Migrator>::new("manage")
    ///     .with_secure_cookies(https)
    ///     .with_hsts(https);
    /// ```
    #[must_use]
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.security.secure_cookies = Some(secure);
        self
    }

    /// Tells `check` whether the application sends HSTS (`false` when it uses
    /// `SecurityHeaders::without_hsts`). Off is a warning in production.
    #[must_use]
    pub fn with_hsts(mut self, hsts: bool) -> Self {
        self.security.hsts = Some(hsts);
        self
    }

    /// Runs the command of the process's arguments, printing to standard output and
    /// error; the exit code to return from `main`. Progress bars of `dumpdata` and
    /// `loaddata` are drawn on standard error when it is a terminal.
    pub async fn main(&self) -> ExitCode {
        let mut out = tokio::io::stdout();
        let mut err = tokio::io::stderr();
        let code = self
            .run(std::env::args_os(), &mut out, &mut err, progress::wanted())
            .await;
        let _ = out.flush().await;
        let _ = err.flush().await;
        ExitCode::from(code)
    }

    /// Runs the command `args` name (the first one is the program name), writing to
    /// `out` and `err`; returns the exit code: 0 on success, 1 on failure, 2 for bad
    /// arguments. It never draws progress bars: everything goes to `out` and `err`.
    pub async fn run_from<I, T>(
        &self,
        args: I,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        err: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        self.run(args, out, err, false).await
    }

    async fn run<I, T>(
        &self,
        args: I,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        err: &mut (dyn AsyncWrite + Unpin + Send),
        progress: bool,
    ) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let text = e.render().to_string();
                let to_out = !e.use_stderr();
                let target: &mut (dyn AsyncWrite + Unpin + Send) = if to_out { out } else { err };
                let _ = target.write_all(text.as_bytes()).await;
                return if to_out { 0 } else { 2 };
            }
        };
        let cx = commands::Context {
            fixtures: &self.fixtures,
            checks: &self.checks,
            security: self.security,
            progress,
        };
        match commands::execute::<M>(&cx, cli, out).await {
            Ok(()) => 0,
            Err(e) => {
                let line = format!("{}: error: {e}\n", self.name);
                let _ = err.write_all(line.as_bytes()).await;
                1
            }
        }
    }
}
