//! A private PostgreSQL server that a test may stop and start again, so that outages can
//! be tested without touching the machine's server: `initdb` into a temporary directory,
//! `pg_ctl start` on a free loopback port, and on drop an immediate stop and the
//! directory removed.
//!
//! The binaries are found in `BATTERIES_TEST_PG_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin` (Debian, Ubuntu), else `pg_config --bindir`, else `PATH`.
//! PostgreSQL refuses to run as root: under root the server runs as the `postgres` user
//! (through `runuser`), which then owns the directory.
//!
//! Outside CI a missing binary skips the test (with a message); under `CI` it fails.
// Test support: a server that cannot be set up is a failed test.
#![allow(clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A PostgreSQL server of a test's own (user `postgres`, trust authentication, database
/// `postgres`).
#[derive(Debug)]
pub struct PgInstance {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Run the binaries as this user (`postgres` when we are root).
    run_as: Option<String>,
    running: bool,
}

impl PgInstance {
    /// Creates and starts a server on a free port, or returns `None` (after saying why)
    /// when PostgreSQL's binaries are not installed and the run is not under CI.
    ///
    /// # Panics
    /// When the server cannot be set up, or under CI when the binaries are missing.
    pub fn start_new() -> Option<Self> {
        let Some(bin) = find_bin() else {
            assert!(
                !crate::under_ci(),
                "PostgreSQL's initdb/pg_ctl are required under CI (set BATTERIES_TEST_PG_BIN)"
            );
            eprintln!("skipping: PostgreSQL's initdb/pg_ctl not found (set BATTERIES_TEST_PG_BIN)");
            return None;
        };
        let run_as = is_root().then(|| "postgres".to_owned());
        let dir = std::env::temp_dir().join(crate::unique_prefix("pg").replace(':', "-"));
        std::fs::create_dir_all(&dir).expect("temp dir for PostgreSQL");
        let mut instance = Self {
            bin,
            dir,
            port: free_port(),
            run_as,
            running: false,
        };
        if let Some(user) = &instance.run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&instance.dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown {user} {}", instance.dir.display());
        }
        let data = instance.data_dir();
        instance.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        instance.start();
        Some(instance)
    }

    /// The port it listens on (the same after [`stop`](Self::stop) and
    /// [`start`](Self::start)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server (again) on the same port and data, and waits until it accepts
    /// connections.
    pub fn start(&mut self) {
        if self.running {
            return;
        }
        let data = self.data_dir();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &[
                "start", "-w", "-t", "30", "-D", &data, "-l", &log, "-o", &options,
            ],
        );
        self.running = true;
    }

    /// Stops the server (`pg_ctl stop -m fast`: open connections are closed, as in a
    /// restart or a failover) and waits until it is down.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &["stop", "-w", "-t", "30", "-m", "fast", "-D", &data],
        );
        self.running = false;
    }

    /// Creates `database` (`psql` on the local socket).
    pub fn create_database(&self, database: &str) {
        let port = self.port.to_string();
        let host = self.dir.display().to_string();
        self.run(
            "psql",
            &[
                "-h",
                &host,
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                &format!("CREATE DATABASE \"{database}\""),
            ],
        );
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(path);
                cmd
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let output = self
            .command(program)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
        );
        output
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            let _ = self
                .command("pg_ctl")
                .args(["stop", "-w", "-t", "10", "-m", "immediate", "-D", &data])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_bin() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("BATTERIES_TEST_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Some(dir);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| has_tools(d)) {
        return Some(dir);
    }
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).find(|d| has_tools(d)))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
