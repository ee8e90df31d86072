//! A real PostgreSQL server for the dynamic-credential tests: one private cluster per test
//! binary, on a free loopback port, in a folder of its own, started on first use.
//!
//! It runs as the `postgres` user when the tests run as root (PostgreSQL refuses to run as
//! root), as the test user otherwise; it is never the system's own cluster. The binaries come
//! from `KVENV_TEST_PG_BIN`, else `pg_config --bindir`, else `/usr/lib/postgresql/<newest>/bin`
//! (Debian's layout; `scripts/setup` installs the packages where they are missing). The server
//! is tied to the test process (`PR_SET_PDEATHSIG`) and its folder removed at exit.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::server::spawn_tied;

/// The superuser the cluster is made with, and its password (the database engine's login).
pub const ADMIN: &str = "kvenv_admin";
pub const ADMIN_PASSWORD: &str = "admin-pw-not-a-secret";

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    server: Mutex<Child>,
}

static POSTGRES: OnceLock<Postgres> = OnceLock::new();

/// The shared cluster, started on first use; stopped, and its folder removed, at exit.
pub fn postgres() -> &'static Postgres {
    POSTGRES.get_or_init(|| {
        let pg = start();
        extern "C" fn clean_up() {
            if let Some(pg) = POSTGRES.get() {
                if let Ok(mut child) = pg.server.try_lock() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                let _ = std::fs::remove_dir_all(&pg.dir);
            }
        }
        // SAFETY: registers a plain function, which `exit` runs once.
        unsafe { libc::atexit(clean_up) };
        pg
    })
}

/// Where the PostgreSQL server binaries are.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KVENV_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("postgres").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|d| d.join("postgres").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL's server binaries are missing: run `scripts/setup` (it installs Debian's postgresql package), or set KVENV_TEST_PG_BIN"
        )
    })
}

/// The `postgres` user's ids when the tests run as root.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions; getpwnam's result is read before any other call.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"postgres".as_ptr());
        assert!(
            !pw.is_null(),
            "the tests run as root, and PostgreSQL needs a non-root user: create the `postgres` user (Debian's postgresql package does)"
        );
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

fn command(bin: &Path, program: &str, user: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin.join(program));
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd.env_clear().env("LANG", "C");
    cmd
}

fn start() -> Postgres {
    let bin = bin_dir();
    let user = run_as();
    let dir = std::env::temp_dir().join(format!("kvenv-test-{}-pg", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let password_file = dir.join("pw");
    std::fs::write(&password_file, ADMIN_PASSWORD).unwrap();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).unwrap();
    }
    let data = dir.join("data");
    let init = command(&bin, "initdb", user)
        .args([
            "-D",
            data.to_str().unwrap(),
            "-U",
            ADMIN,
            "-A",
            "scram-sha-256",
        ])
        .arg(format!("--pwfile={}", password_file.display()))
        .arg("--no-sync")
        .output()
        .expect("cannot run initdb");
    assert!(
        init.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    // A port is free when picked, but another process may take it before postgres binds it:
    // then postgres exits at once, and the next free port is tried.
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = command(&bin, "postgres", user);
        cmd.args(["-D", data.to_str().unwrap()])
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .args(["-k", dir.to_str().unwrap(), "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap());
        let mut child = spawn_tied(cmd).expect("cannot start postgres");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let pg = Postgres {
                port,
                bin: bin.clone(),
                dir: dir.clone(),
                server: Mutex::new(child),
            };
            if pg.try_sql("select 1").is_ok() {
                return pg;
            }
            child = pg.server.into_inner().unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!(
        "PostgreSQL did not start; its log:\n{}",
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    );
}

impl Postgres {
    /// `psql` as the admin, one statement, unaligned tuples only.
    fn try_sql(&self, sql: &str) -> Result<String, String> {
        let out = self
            .psql()
            .env("PGUSER", ADMIN)
            .env("PGPASSWORD", ADMIN_PASSWORD)
            .args(["-Atc", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Run `sql` as the admin; panics on an error.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A `psql` that reaches this server (user and password still to give).
    pub fn psql(&self) -> Command {
        let mut cmd = Command::new(self.psql_path());
        cmd.env_clear()
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.port.to_string())
            .env("PGDATABASE", "postgres")
            .env("PGCONNECT_TIMEOUT", "5");
        cmd
    }

    pub fn psql_path(&self) -> PathBuf {
        let local = self.bin.join("psql");
        if local.exists() {
            local
        } else {
            PathBuf::from("psql")
        }
    }

    /// The roles whose names start with `prefix`.
    pub fn roles(&self, prefix: &str) -> Vec<String> {
        self.sql(&format!(
            "select rolname from pg_roles where rolname like '{prefix}%' order by 1"
        ))
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// The engine's connection URL template (`{{username}}` and `{{password}}` filled by it).
    pub fn connection_url(&self) -> String {
        format!(
            "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}
