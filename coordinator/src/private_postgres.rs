//! A private PostgreSQL server for the all-in-one stack (`randori eval`, `run`, `up`) and the
//! tests: started from the binaries found on PATH or under `/usr/lib/postgresql/*/bin`, kept
//! under a home directory so that its data outlives the command (running a sweep again resumes
//! it), and run as an unprivileged user when started as root (Postgres refuses root).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

const SUPERUSER: &str = "randori";
pub const DATABASE: &str = "randori";

pub struct PrivatePostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    /// Whether this value started the server (and so stops it when dropped).
    owned: bool,
}

impl PrivatePostgres {
    /// Starts the server whose data lives under `home` (creating it on first use), or attaches
    /// to it when it is already running. Blocking; call `ensure_database` next.
    pub fn start(home: &Path) -> Result<Self> {
        let mut pg = Self::at(home)?;
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        if let Some(port) = pg.running_port() {
            pg.port = port;
        } else {
            pg.start_server()?;
            pg.owned = true;
        }
        Ok(pg)
    }

    /// The server under `home` if it is running now; never starts one (an observer beside a
    /// stack that owns it). Blocking.
    pub fn running(home: &Path) -> Result<Option<Self>> {
        let mut pg = Self::at(home)?;
        Ok(pg.running_port().map(|port| {
            pg.port = port;
            pg
        }))
    }

    fn at(home: &Path) -> Result<Self> {
        let run_as = unprivileged_user();
        Ok(Self {
            bin_dir: find_bin_dir()?,
            data_dir: data_dir_for(home, run_as.as_deref())?,
            port: 0,
            run_as,
            owned: false,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The URL of the stack's own database (`ensure_database(DATABASE)` creates it).
    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `name` unless it exists (tests use a database each).
    pub async fn ensure_database(&self, name: &str) -> Result<()> {
        use sqlx::Connection;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::InvalidArgument(format!("database name {name:?}")));
        }
        let mut conn = sqlx::PgConnection::connect(&self.url_for("postgres")).await?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_optional(&mut conn)
                .await?;
        if exists.is_none() {
            // Names cannot be bound as parameters; `name` was checked above.
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Drops `name` if it exists, closing its connections.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        use sqlx::Connection;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::InvalidArgument(format!("database name {name:?}")));
        }
        let mut conn = sqlx::PgConnection::connect(&self.url_for("postgres")).await?;
        // Names cannot be bound as parameters; `name` was checked above.
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    fn initdb(&self) -> Result<()> {
        let data = self.data_dir.to_string_lossy().into_owned();
        self.run_pg_tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
    }

    /// The port of a server already running on this data directory, if any.
    fn running_port(&self) -> Option<u16> {
        let data = self.data_dir.to_string_lossy().into_owned();
        self.run_pg_tool("pg_ctl", &["status", "-D", &data]).ok()?;
        // postmaster.pid: line 4 is the port.
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    /// Stops the server and starts it again on the same port: a database restart, as a
    /// fault test needs it (connections drop; the URL stays valid).
    pub fn restart(&mut self) -> Result<()> {
        let data = self.data_dir.to_string_lossy().into_owned();
        self.run_pg_tool("pg_ctl", &["stop", "-m", "fast", "-D", &data])?;
        self.start_on(Some(self.port))
    }

    fn start_server(&mut self) -> Result<()> {
        self.start_on(None)
    }

    /// Starts the server on `port`, or on a free port (retrying: one picked free can be taken
    /// before the server binds it).
    fn start_on(&mut self, port: Option<u16>) -> Result<()> {
        let data = self.data_dir.to_string_lossy().into_owned();
        let log = self
            .data_dir
            .join("server.log")
            .to_string_lossy()
            .into_owned();
        let mut last_err = None;
        for _ in 0..5 {
            let port = match port {
                Some(p) => p,
                None => free_port()?,
            };
            let opts = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
                 -c max_connections=200 -c fsync=off -c synchronous_commit=off"
            );
            match self.run_pg_tool(
                "pg_ctl",
                &[
                    "start", "-w", "-t", "60", "-D", &data, "-l", &log, "-o", &opts,
                ],
            ) {
                Ok(()) => {
                    self.port = port;
                    return Ok(());
                }
                Err(e) => last_err = Some(e),
            }
        }
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: String = tail.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        Err(Error::Io {
            context: format!("starting PostgreSQL in {data} (log: {tail})"),
            source: std::io::Error::other(last_err.map(|e| e.to_string()).unwrap_or_default()),
        })
    }

    fn run_pg_tool(&self, tool: &str, args: &[&str]) -> Result<()> {
        let program = self.bin_dir.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let out = cmd
            .args(args)
            .current_dir("/")
            .output()
            .map_err(|e| io_error(&format!("running {}", program.display()), e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Io {
                context: format!("{tool} {}", args.join(" ")),
                source: std::io::Error::other(
                    String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                ),
            })
        }
    }

    /// Makes this value stop the server when dropped even though it found it running: for a
    /// caller that knows the server is an orphan (its starter died), e.g. one holding the
    /// home's lock.
    pub fn take_ownership(&mut self) {
        self.owned = true;
    }

    pub fn stop(&mut self) {
        if self.owned {
            let data = self.data_dir.to_string_lossy().into_owned();
            if let Err(e) = self.run_pg_tool("pg_ctl", &["stop", "-m", "fast", "-D", &data]) {
                tracing::warn!(error = %e, "stopping the private PostgreSQL");
            }
            self.owned = false;
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the server's files go: `home/postgres`, unless the unprivileged user cannot reach
/// it (a home under /root, say), in which case a directory of its own under /var/tmp.
fn data_dir_for(home: &Path, run_as: Option<&str>) -> Result<PathBuf> {
    std::fs::create_dir_all(home)
        .map_err(|e| io_error(&format!("creating {}", home.display()), e))?;
    let home = home
        .canonicalize()
        .map_err(|e| io_error(&format!("resolving {}", home.display()), e))?;
    let preferred = home.join("postgres");
    let Some(user) = run_as else {
        return Ok(preferred);
    };
    let candidates = [preferred, fallback_dir(&home)];
    for dir in &candidates {
        std::fs::create_dir_all(dir)
            .map_err(|e| io_error(&format!("creating {}", dir.display()), e))?;
        chown_to(dir, user)?;
        let reachable = Command::new("runuser")
            .args(["-u", user, "--", "test", "-w"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if reachable {
            if dir != &candidates[0] {
                tracing::info!(dir = %dir.display(), "the Postgres user cannot reach RANDORI_HOME; keeping the database here");
            }
            return Ok(dir.clone());
        }
    }
    Err(Error::InvalidArgument(format!(
        "user {user} cannot write to {}; set RANDORI_HOME to a directory it can reach",
        candidates[0].display()
    )))
}

/// Named by a stable hash of the home path, so that later runs find the same data.
fn fallback_dir(home: &Path) -> PathBuf {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(home.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    PathBuf::from(format!("/var/tmp/randori-postgres-{hex}"))
}

fn chown_to(dir: &Path, user: &str) -> Result<()> {
    let status = Command::new("chown")
        .args(["-R", &format!("{user}:")])
        .arg(dir)
        .status()
        .map_err(|e| io_error("running chown", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "chown {user} {} failed",
            dir.display()
        )))
    }
}

/// Postgres will not run as root: drop to `postgres` (or `nobody`) when we are root.
fn unprivileged_user() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return None;
    }
    for user in ["postgres", "nobody"] {
        if nix::unistd::User::from_name(user).ok().flatten().is_some() {
            return Some(user.to_owned());
        }
    }
    Some("nobody".to_owned())
}

fn find_bin_dir() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        Error::NotFound(
            "PostgreSQL binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin; \
             install PostgreSQL (apt-get install postgresql) or pass --database-url"
                .to_owned(),
        )
    })
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| io_error("finding a free port", e))?;
    Ok(listener
        .local_addr()
        .map_err(|e| io_error("finding a free port", e))?
        .port())
}

fn io_error(context: &str, source: std::io::Error) -> Error {
    Error::Io {
        context: context.to_owned(),
        source,
    }
}
