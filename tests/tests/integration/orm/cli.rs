//! batteries-cli end to end: the `manage` test binary (tests/src/bin/manage.rs) run as a
//! process against SQLite files, PostgreSQL and MariaDB: output, exit codes, and the
//! database afterwards.

use std::process::{Command, Output};

use batteries::auth::entities::user;
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use sea_orm::{EntityTrait, PaginatorTrait};

backend_tests!(
    migrate_plans_applies_and_lists,
    createsuperuser_without_input_reads_the_environment,
    dumpdata_and_loaddata_round_trip_all_or_nothing,
    check_reports_the_secret_key_and_pending_migrations,
    clearsessions_and_changepassword_fail_cleanly_or_work,
    check_requires_secure_cookies_in_production,
    dumpdata_and_loaddata_show_progress_only_in_a_terminal,
);

/// A secret key that `check` accepts.
const STRONG_SECRET: &str = "Zq8-vR2#mT5!wL9@xK4%pN7^cB1&hJ6*dF3(gS0)yU8+eA2=iO5";

/// The database URL the CLI is pointed at: the test's server database, or a fresh
/// SQLite file (the in-memory test database is out of another process's reach).
fn url_of(db: &TestDb, test: &str) -> String {
    db.url()
        .unwrap_or_else(|| batteries_tests::sqlite_file_url(test))
}

fn manage(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_manage"))
        .args(["--database-url", url])
        .args(args)
        .env_remove("SECRET_KEY")
        .env_remove("BATTERIES_SUPERUSER_USERNAME")
        .env_remove("BATTERIES_SUPERUSER_EMAIL")
        .env_remove("BATTERIES_SUPERUSER_PASSWORD")
        .env_remove("BATTERIES_ENV")
        .env_remove("MANAGE_SECURE_COOKIES")
        .env_remove("MANAGE_HSTS")
        .envs(env.iter().copied())
        .output()
        .expect("run manage")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure is one line on standard error, exit code 1, and never a panic.
fn assert_one_line_failure(o: &Output, contains: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {} stderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(contains),
        "{err:?} should mention {contains:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

async fn count_users(url: &str) -> u64 {
    let db = batteries::orm::db::connect(url).await.expect("connect");
    let n = user::Entity::find().count(&db).await.expect("count");
    db.close().await.expect("close");
    n
}

async fn migrate_plans_applies_and_lists(db: &TestDb) {
    let url = url_of(db, "migrate");
    let plan = manage(&url, &["migrate", "--plan"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(stdout(&plan).contains("m20261125_000001_auth_create_tables"));
    let before = manage(&url, &["showmigrations"], &[]);
    assert!(
        stdout(&before).contains(" [ ] m20261125_000001_auth_create_tables"),
        "{}",
        stdout(&before)
    );

    let applied = manage(&url, &["migrate"], &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert!(stdout(&applied).contains("Applying m20261125_000300_auth_create_session"));
    assert!(stdout(&applied).trim_end().ends_with("OK"));
    let again = manage(&url, &["migrate"], &[]);
    assert!(stdout(&again).contains("No migrations to apply."));
    let after = manage(&url, &["showmigrations"], &[]);
    assert!(stdout(&after).contains(" [X] m20261125_000300_auth_create_session"));
    assert!(!stdout(&after).contains("[ ]"));
}

async fn createsuperuser_without_input_reads_the_environment(db: &TestDb) {
    let url = url_of(db, "createsuperuser");
    manage(&url, &["migrate"], &[]);
    let missing = manage(
        &url,
        &["createsuperuser", "--no-input", "--username", "root"],
        &[],
    );
    assert_one_line_failure(&missing, "BATTERIES_SUPERUSER_PASSWORD");
    let weak = manage(
        &url,
        &["createsuperuser", "--no-input"],
        &[
            ("BATTERIES_SUPERUSER_USERNAME", "root"),
            ("BATTERIES_SUPERUSER_PASSWORD", "123"),
        ],
    );
    assert_one_line_failure(&weak, "password is not accepted");
    assert_eq!(count_users(&url).await, 0, "nothing half-created");

    let env = [
        ("BATTERIES_SUPERUSER_USERNAME", "root"),
        ("BATTERIES_SUPERUSER_EMAIL", "root@example.com"),
        (
            "BATTERIES_SUPERUSER_PASSWORD",
            "a long and unusual passphrase",
        ),
    ];
    let ok = manage(&url, &["createsuperuser", "--no-input"], &env);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("Superuser created successfully."));
    let conn = batteries::orm::db::connect(&url).await.expect("connect");
    let root = user::Entity::find()
        .one(&conn)
        .await
        .expect("query")
        .expect("root");
    assert!(root.is_superuser && root.is_staff && root.is_active);
    assert!(
        root.password.starts_with("argon2$"),
        "hashed, never stored in clear"
    );
    conn.close().await.expect("close");

    let again = manage(&url, &["createsuperuser", "--no-input"], &env);
    assert_one_line_failure(&again, "already taken");
    let bad_name = manage(
        &url,
        &["createsuperuser", "--no-input", "--username", "no spaces"],
        &[(
            "BATTERIES_SUPERUSER_PASSWORD",
            "a long and unusual passphrase",
        )],
    );
    assert_one_line_failure(&bad_name, "username");
}

async fn dumpdata_and_loaddata_round_trip_all_or_nothing(db: &TestDb) {
    let url = url_of(db, "dumpdata");
    manage(&url, &["migrate"], &[]);
    let env = [
        ("BATTERIES_SUPERUSER_USERNAME", "root"),
        (
            "BATTERIES_SUPERUSER_PASSWORD",
            "a long and unusual passphrase",
        ),
    ];
    manage(&url, &["createsuperuser", "--no-input"], &env);
    let dump = manage(&url, &["dumpdata", "auth.user"], &[]);
    assert_eq!(dump.status.code(), Some(0), "{}", stderr(&dump));
    let json: serde_json::Value = serde_json::from_slice(&dump.stdout).expect("JSON");
    assert_eq!(json[0]["model"], "auth.user");
    assert_eq!(json[0]["fields"]["username"], "root");

    let unknown = manage(&url, &["dumpdata", "auth.nope"], &[]);
    assert_one_line_failure(&unknown, "auth.nope");

    // Into a second database: the fixture from the first, then a broken one.
    let Some(other) = TestDb::for_test(db.backend()).await else {
        return;
    };
    let other_url = url_of(&other, "loaddata");
    manage(&other_url, &["migrate"], &[]);
    let dir =
        std::env::temp_dir().join(batteries_tests::unique_prefix("fixture").replace(':', "-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("users.json");
    std::fs::write(&good, &dump.stdout).expect("write");
    let loaded = manage(
        &other_url,
        &["loaddata", good.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(loaded.status.code(), Some(0), "{}", stderr(&loaded));
    assert!(stdout(&loaded).contains("Installed 1 object(s)"));
    assert_eq!(count_users(&other_url).await, 1);

    let broken = dir.join("broken.json");
    let mut text = String::from_utf8(dump.stdout.clone()).expect("utf-8");
    text = text
        .replace("\"root\"", "\"second\"")
        .replace("\"pk\": 1", "\"pk\": 2");
    text.truncate(text.len() - 4);
    std::fs::write(&broken, text).expect("write");
    let refused = manage(
        &other_url,
        &["loaddata", broken.to_str().expect("utf-8")],
        &[],
    );
    assert_one_line_failure(&refused, "");
    assert_eq!(
        count_users(&other_url).await,
        1,
        "a broken fixture saves nothing"
    );
    other.close().await;
}

async fn check_reports_the_secret_key_and_pending_migrations(db: &TestDb) {
    let url = url_of(db, "check");
    let strong = "Zq8-vR2#mT5!wL9@xK4%pN7^cB1&hJ6*dF3(gS0)yU8+eA2=iO5";
    let pending = manage(&url, &["check"], &[("SECRET_KEY", strong)]);
    assert_eq!(pending.status.code(), Some(1));
    assert!(
        stdout(&pending).contains("not applied"),
        "{}",
        stdout(&pending)
    );
    manage(&url, &["migrate"], &[]);
    let no_secret = manage(&url, &["check"], &[]);
    assert_eq!(no_secret.status.code(), Some(1));
    assert!(stdout(&no_secret).contains("SECRET_KEY is not set"));
    let weak = manage(&url, &["check"], &[("SECRET_KEY", "short")]);
    assert!(stdout(&weak).contains("SECRET_KEY is weak"));
    let fine = manage(&url, &["check"], &[("SECRET_KEY", strong)]);
    assert_eq!(
        fine.status.code(),
        Some(0),
        "{}{}",
        stdout(&fine),
        stderr(&fine)
    );
    assert!(stdout(&fine).contains("no issues"));
}

async fn clearsessions_and_changepassword_fail_cleanly_or_work(db: &TestDb) {
    let url = url_of(db, "sessions");
    manage(&url, &["migrate"], &[]);
    let cleared = manage(&url, &["clearsessions"], &[]);
    assert_eq!(cleared.status.code(), Some(0), "{}", stderr(&cleared));
    assert!(stdout(&cleared).contains("Removed 0 expired session(s)."));

    let unknown = manage(&url, &["changepassword", "ghost"], &[]);
    assert_one_line_failure(&unknown, "does not exist");
}

#[test]
fn bad_arguments_and_unreachable_databases_are_one_line_errors() {
    let usage = Command::new(env!("CARGO_BIN_EXE_manage"))
        .args(["frobnicate"])
        .output()
        .expect("run");
    assert_eq!(usage.status.code(), Some(2));
    assert!(
        stderr(&usage).contains("unrecognized subcommand"),
        "{}",
        stderr(&usage)
    );

    let help = Command::new(env!("CARGO_BIN_EXE_manage"))
        .arg("--help")
        .output()
        .expect("run");
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("createsuperuser"));

    let no_db = Command::new(env!("CARGO_BIN_EXE_manage"))
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run");
    assert_one_line_failure(&no_db, "DATABASE_URL");

    let refused = manage(
        "postgres://app:s3cret-pw@127.0.0.1:1/app",
        &["migrate"],
        &[],
    );
    assert_one_line_failure(&refused, "127.0.0.1");
    assert!(
        !stderr(&refused).contains("s3cret-pw"),
        "the password never shows"
    );

    let nonsense = manage("ftp://nowhere", &["showmigrations"], &[]);
    assert_one_line_failure(&nonsense, "");
}

/// Runs `manage` in a pseudo-terminal through tests/pty/drive.py, answering `steps`
/// (prompt, answer) in order; returns the exit code and the transcript.
fn manage_in_a_terminal(url: &str, args: &[&str], steps: &[(&str, &str)]) -> (i32, String) {
    let steps: Vec<[&str; 2]> = steps.iter().map(|(p, a)| [*p, *a]).collect();
    let output = Command::new("python3")
        .arg(batteries_tests::workspace_root().join("tests/pty/drive.py"))
        .arg(serde_json::to_string(&steps).expect("json"))
        .arg(env!("CARGO_BIN_EXE_manage"))
        .args(["--database-url", url])
        .args(args)
        .env_remove("BATTERIES_SUPERUSER_USERNAME")
        .env_remove("BATTERIES_SUPERUSER_EMAIL")
        .env_remove("BATTERIES_SUPERUSER_PASSWORD")
        .output()
        .expect("python3 runs (it is required by the test suite)");
    (output.status.code().unwrap_or(-1), stdout(&output))
}

backend_tests!(interactive_createsuperuser_and_changepassword_in_a_terminal);

async fn interactive_createsuperuser_and_changepassword_in_a_terminal(db: &TestDb) {
    let url = url_of(db, "pty");
    manage(&url, &["migrate"], &[]);
    let (code, transcript) = manage_in_a_terminal(
        &url,
        &["createsuperuser"],
        &[
            ("Username: ", "admin"),
            ("Email address: ", "admin@example.com"),
            ("Password: ", "password"),
            ("Password (again): ", "password"),
            ("Password: ", "a long and unusual passphrase"),
            ("Password (again): ", "a long and unusual passphrase, typo"),
            ("Password: ", "a long and unusual passphrase"),
            ("Password (again): ", "a long and unusual passphrase"),
        ],
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("This password is too common."),
        "{transcript}"
    );
    assert!(
        transcript.contains("Your passwords didn't match."),
        "{transcript}"
    );
    assert!(
        transcript.contains("Superuser created successfully."),
        "{transcript}"
    );
    assert!(
        !transcript.contains("unusual passphrase"),
        "passwords are never echoed: {transcript}"
    );

    let (code, transcript) = manage_in_a_terminal(
        &url,
        &["changepassword", "admin"],
        &[
            ("Password: ", "another long passphrase"),
            ("Password (again): ", "another long passphrase"),
        ],
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains("Password changed successfully for user 'admin'"));
    let conn = batteries::orm::db::connect(&url).await.expect("connect");
    let admin = user::Entity::find()
        .one(&conn)
        .await
        .expect("query")
        .expect("admin");
    assert!(
        batteries::auth::hashers::check_password("another long passphrase", &admin.password),
        "the new password is stored"
    );
    conn.close().await.expect("close");
}

async fn check_requires_secure_cookies_in_production(db: &TestDb) {
    let url = url_of(db, "check-cookies");
    manage(&url, &["migrate"], &[]);
    let insecure = [
        ("SECRET_KEY", STRONG_SECRET),
        ("MANAGE_SECURE_COOKIES", "0"),
        ("MANAGE_HSTS", "1"),
    ];
    let production = manage(&url, &["check"], &insecure);
    assert_eq!(production.status.code(), Some(1), "{}", stdout(&production));
    assert!(
        stdout(&production).contains("ERROR: session cookies are not Secure"),
        "{}",
        stdout(&production)
    );
    assert!(stderr(&production).contains("1 problem(s) found"));

    let mut development = insecure.to_vec();
    development.push(("BATTERIES_ENV", "development"));
    let development = manage(&url, &["check"], &development);
    assert_eq!(
        development.status.code(),
        Some(0),
        "{}{}",
        stdout(&development),
        stderr(&development)
    );
    assert!(
        stdout(&development).contains("WARNING: session cookies are not Secure"),
        "{}",
        stdout(&development)
    );
    assert!(stdout(&development).contains("1 warning(s)"));

    let no_hsts = manage(
        &url,
        &["check"],
        &[
            ("SECRET_KEY", STRONG_SECRET),
            ("MANAGE_SECURE_COOKIES", "1"),
            ("MANAGE_HSTS", "0"),
        ],
    );
    assert_eq!(no_hsts.status.code(), Some(0), "{}", stdout(&no_hsts));
    assert!(
        stdout(&no_hsts).contains("WARNING: HSTS is off"),
        "{}",
        stdout(&no_hsts)
    );

    let secure = manage(
        &url,
        &["check"],
        &[
            ("SECRET_KEY", STRONG_SECRET),
            ("MANAGE_SECURE_COOKIES", "1"),
            ("MANAGE_HSTS", "1"),
        ],
    );
    assert_eq!(secure.status.code(), Some(0), "{}", stdout(&secure));
    assert!(stdout(&secure).contains("no issues"), "{}", stdout(&secure));
}

/// Runs `manage` with standard error in a pseudo-terminal and standard output into
/// `stdout_file` (`manage ... > file` typed in a terminal); returns the exit code and
/// what was written on the terminal.
fn manage_with_terminal_stderr(
    url: &str,
    args: &[&str],
    stdout_file: &std::path::Path,
) -> (i32, String) {
    let output = Command::new("python3")
        .arg(batteries_tests::workspace_root().join("tests/pty/drive.py"))
        .arg("[]")
        .arg(env!("CARGO_BIN_EXE_manage"))
        .args(["--database-url", url])
        .args(args)
        .env("DRIVE_STDOUT", stdout_file)
        // A person's terminal has a TERM; indicatif draws nothing without one.
        .env("TERM", "xterm")
        .output()
        .expect("python3 runs (it is required by the test suite)");
    (output.status.code().unwrap_or(-1), stdout(&output))
}

async fn dumpdata_and_loaddata_show_progress_only_in_a_terminal(db: &TestDb) {
    let url = url_of(db, "progress");
    manage(&url, &["migrate"], &[]);
    let env = [
        ("BATTERIES_SUPERUSER_USERNAME", "root"),
        (
            "BATTERIES_SUPERUSER_PASSWORD",
            "a long and unusual passphrase",
        ),
    ];
    manage(&url, &["createsuperuser", "--no-input"], &env);

    // In a pipe: the fixture on standard output, one record a line, and nothing else.
    let piped = manage(&url, &["dumpdata"], &[]);
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    assert!(
        piped.stderr.is_empty(),
        "no progress in a pipe: {}",
        stderr(&piped)
    );
    let text = stdout(&piped);
    assert!(
        text.starts_with("[\n{\"model\": \"auth.user\", \"pk\": "),
        "{text}"
    );
    assert!(text.ends_with("}}\n]\n"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");

    // `manage dumpdata > dump.json` in a terminal: a bar per model on standard error,
    // the same bytes in the file.
    let dir =
        std::env::temp_dir().join(batteries_tests::unique_prefix("progress").replace(':', "-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let dump = dir.join("dump.json");
    let (code, transcript) = manage_with_terminal_stderr(&url, &["dumpdata"], &dump);
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("auth.user") && transcript.contains("1/1 records"),
        "a bar for the users: {transcript:?}"
    );
    assert!(transcript.contains("auth.group"), "{transcript:?}");
    assert!(!transcript.contains("\"model\""), "{transcript:?}");
    assert_eq!(
        std::fs::read(&dump).expect("dump"),
        piped.stdout,
        "the fixture is the same bytes with a terminal or without"
    );

    // loaddata in a terminal: the bytes of the file read, then the usual report.
    let Some(other) = TestDb::for_test(db.backend()).await else {
        return;
    };
    let other_url = url_of(&other, "progress-load");
    manage(&other_url, &["migrate"], &[]);
    let report = dir.join("report.txt");
    let size = piped.stdout.len();
    let (code, transcript) = manage_with_terminal_stderr(
        &other_url,
        &["loaddata", dump.to_str().expect("utf-8")],
        &report,
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("dump.json") && transcript.contains(&format!("{size} B/{size} B read")),
        "the whole file read: {transcript:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&report).expect("report"),
        "Installed 1 object(s) from 1 fixture(s)\n"
    );
    assert_eq!(count_users(&other_url).await, 1);

    // Still all or nothing with a bar drawn.
    let broken = dir.join("broken.json");
    let mut text = text.replace("\"root\"", "\"second\"");
    text.truncate(text.len() - 4);
    std::fs::write(&broken, text).expect("write");
    let (code, transcript) = manage_with_terminal_stderr(
        &other_url,
        &["loaddata", broken.to_str().expect("utf-8")],
        &report,
    );
    assert_eq!(code, 1, "{transcript}");
    assert!(transcript.contains("error"), "{transcript:?}");
    assert_eq!(
        count_users(&other_url).await,
        1,
        "a broken fixture saves nothing"
    );
    other.close().await;
}
