//! The test builder: one declarative chain per test, like casey/just's.
//!
//! ```ignore
//! Test::new()
//!     .kv1("kv")
//!     .secret("kv/app", json!({"A": "1"}))
//!     .manifest("[secrets]\nA = \"@/kv/app\"\n")
//!     .args(["sync"])
//!     .stderr("kvenv: wrote .env (1 variables from 1 secrets, 1 changed) in X ms\n")
//!     .file(".env", "...")
//!     .run();
//! ```
//!
//! Each test owns a temp dir (the working directory of the run) and a unique mount prefix on the
//! shared OpenBao server; `@/` in manifests, secret paths and expected output stands for that
//! prefix. The run uses the real `kvenv` binary with a clean environment (`HOME` is the temp dir,
//! `VAULT_ADDR` and `VAULT_TOKEN` point at the server) and asserts the exit status, stdout and
//! stderr exactly; "in 12 ms" is normalised to "in X ms".
//!
//! Every run is also a leak check: no string value written with [`Test::secret`] (of six
//! characters or more) and not the root token may appear in stderr, nor in stdout unless the test
//! says values are expected there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::server::{ROOT_TOKEN, server};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Every chain method returns the `Test`, so a chain that does not end in `.run()` (or hand its
/// `Test` on) is a compile error under `-D warnings`: it would check nothing.
#[must_use = "a Test checks nothing until .run()"]
pub struct Test {
    pub dir: TempDir,
    pub prefix: String,
    mounts: BTreeMap<String, u8>,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
    status: i32,
    stdout: Option<String>,
    stderr: Option<String>,
    stderr_contains: Vec<String>,
    files: Vec<(String, Option<String>)>,
    values_on_stdout: bool,
    secrets_values: Vec<String>,
    expect_reads: Option<Vec<String>>,
    user: Option<u32>,
}

/// What a run left behind, for checks the builder has no method for.
pub struct Ran {
    pub dir: TempDir,
    pub prefix: String,
    pub stderr: String,
    pub stdout: String,
}

impl Test {
    pub fn new() -> Test {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Test::in_dir(
            tempfile::tempdir().unwrap(),
            format!("t{}-{id}", std::process::id()),
        )
    }

    fn in_dir(dir: TempDir, prefix: String) -> Test {
        Test {
            dir,
            prefix,
            mounts: BTreeMap::new(),
            args: Vec::new(),
            env: vec![
                ("VAULT_ADDR".into(), Some(server().addr.clone())),
                ("VAULT_TOKEN".into(), Some(ROOT_TOKEN.into())),
            ],
            status: 0,
            stdout: Some(String::new()),
            stderr: None,
            stderr_contains: Vec::new(),
            files: Vec::new(),
            values_on_stdout: false,
            secrets_values: Vec::new(),
            expect_reads: None,
            user: None,
        }
    }

    /// `@/x` → `t123-4/x`, `$ADDR` → the server's address.
    pub fn expand(&self, text: &str) -> String {
        text.replace("@/", &format!("{}/", self.prefix))
            .replace("$ADDR", &server().addr)
    }

    fn mount(mut self, name: &str, version: u8) -> Test {
        let path = self.expand(&format!("@/{name}"));
        server().ok(
            "POST",
            &format!("sys/mounts/{path}"),
            Some(json!({"type": "kv", "options": {"version": version.to_string()}})),
        );
        self.mounts.insert(name.to_owned(), version);
        self
    }

    /// A KV v1 mount at `@/name`.
    pub fn kv1(self, name: &str) -> Test {
        self.mount(name, 1)
    }

    /// A KV v2 mount at `@/name`.
    pub fn kv2(self, name: &str) -> Test {
        self.mount(name, 2)
    }

    /// Write a secret at `path` (under the prefix; the mount is the longest declared one that
    /// starts the path).
    pub fn secret(mut self, path: &str, data: Value) -> Test {
        collect_strings(&data, &mut self.secrets_values);
        let (mount, version) = self
            .mounts
            .iter()
            .filter(|(m, _)| path.starts_with(&format!("{m}/")))
            .max_by_key(|(m, _)| m.len())
            .map(|(m, v)| (m.clone(), *v))
            .unwrap_or_else(|| panic!("no mount declared for {path}"));
        let rest = &path[mount.len() + 1..];
        let full_mount = self.expand(&format!("@/{mount}"));
        match version {
            1 => server().ok("POST", &format!("{full_mount}/{rest}"), Some(data)),
            _ => server().ok(
                "POST",
                &format!("{full_mount}/data/{rest}"),
                Some(json!({ "data": data })),
            ),
        };
        self
    }

    /// Write `secrets.toml` (with `@/` expanded).
    pub fn manifest(self, text: &str) -> Test {
        let text = self.expand(text);
        self.write("secrets.toml", &text)
    }

    /// Write a file in the temp dir.
    pub fn write(self, path: &str, content: &str) -> Test {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(full, content).unwrap();
        self
    }

    /// Set a file's permission bits.
    pub fn chmod(self, path: &str, mode: u32) -> Test {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            self.dir.path().join(path),
            std::fs::Permissions::from_mode(mode),
        )
        .unwrap();
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn args<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Test {
        let expanded: Vec<String> = args.into_iter().map(|a| self.expand(a)).collect();
        self.args.extend(expanded);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Test {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, name: &str) -> Test {
        self.env.push((name.into(), None));
        self
    }

    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = Some(self.expand(text));
        self
    }

    /// Do not check stdout.
    pub fn any_stdout(mut self) -> Test {
        self.stdout = None;
        self
    }

    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = Some(self.expand(text));
        self
    }

    pub fn stderr_contains(mut self, text: &str) -> Test {
        self.stderr_contains.push(self.expand(text));
        self
    }

    /// After the run, `path` must hold exactly `content`.
    pub fn file(mut self, path: &str, content: &str) -> Test {
        self.files.push((path.into(), Some(content.into())));
        self
    }

    /// After the run, `path` must not exist.
    pub fn no_file(mut self, path: &str) -> Test {
        self.files.push((path.into(), None));
        self
    }

    /// Another string that must never appear in the output (a password, a secret ID).
    pub fn canary(mut self, value: &str) -> Test {
        self.secrets_values.push(value.to_owned());
        self
    }

    /// Run kvenv as this user and group id (the test must run as root to switch).
    pub fn run_as(mut self, id: u32) -> Test {
        self.user = Some(id);
        self
    }

    /// This command prints values on stdout by design (export).
    pub fn values_on_stdout(mut self) -> Test {
        self.values_on_stdout = true;
        self
    }

    /// The run must read exactly these (sorted) request paths under the prefix, `@/`-expanded,
    /// as logged by the server's audit device.
    pub fn reads(mut self, paths: &[&str]) -> Test {
        self.expect_reads = Some(paths.iter().map(|p| self.expand(p)).collect());
        self
    }

    /// The kvenv command this test runs: its arguments, folder and environment.
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kvenv"));
        cmd.args(&self.args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(id) = self.user {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(id) != 0
                        || libc::setuid(id) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd
    }

    /// Start kvenv in the background (a watch), to be driven and then stopped by the test.
    pub fn spawn(self) -> crate::running::Running {
        let cmd = self.command();
        crate::running::Running::start(cmd, self.dir, self.prefix, self.secrets_values)
    }

    pub fn run(self) -> Ran {
        let mark = server().audit_mark();
        let cmd = self.command();
        let output = output_within(cmd, WATCHDOG);
        let stdout = normalize(&String::from_utf8_lossy(&output.stdout));
        let stderr = normalize(&String::from_utf8_lossy(&output.stderr));
        let shown = |s: &str| s.replace(&format!("{}/", self.prefix), "@/");

        let code = output.status.code().unwrap_or(-1);
        assert_eq!(
            code, self.status,
            "exit status; stderr:\n{stderr}\nstdout:\n{stdout}"
        );
        if let Some(want) = &self.stderr {
            assert_eq!(shown(&stderr), shown(want), "stderr");
        }
        for want in &self.stderr_contains {
            assert!(
                stderr.contains(want.as_str()),
                "stderr lacks {want:?}:\n{stderr}"
            );
        }
        if let Some(want) = &self.stdout {
            assert_eq!(shown(&stdout), shown(want), "stdout");
        }
        assert!(!stderr.contains("panicked"), "a panic: {stderr}");
        assert!(!stderr.contains(ROOT_TOKEN), "the token leaked to stderr");
        assert!(!stdout.contains(ROOT_TOKEN), "the token leaked to stdout");
        for value in self.secrets_values.iter().filter(|v| v.len() >= 6) {
            assert!(
                !stderr.contains(value.as_str()),
                "a secret value leaked to stderr:\n{stderr}"
            );
            if !self.values_on_stdout {
                assert!(
                    !stdout.contains(value.as_str()),
                    "a secret value leaked to stdout"
                );
            }
        }
        for (path, want) in &self.files {
            let got = std::fs::read_to_string(self.dir.path().join(path)).ok();
            match want {
                Some(w) => assert_eq!(got.as_deref(), Some(w.as_str()), "content of {path}"),
                None => assert!(got.is_none(), "{path} should not exist"),
            }
        }
        if let Some(want) = &self.expect_reads {
            let mut got: Vec<String> = server()
                .audited_requests(mark, &self.prefix)
                .into_iter()
                .map(|(_, p)| p)
                .collect();
            got.sort();
            let mut want = want.clone();
            want.sort();
            assert_eq!(got, want, "requests kvenv made");
        }
        Ran {
            dir: self.dir,
            prefix: self.prefix,
            stderr,
            stdout,
        }
    }
}

impl Ran {
    /// Another run in the same folder, under the same prefix (the secrets written before stay).
    pub fn again(self) -> Test {
        Test::in_dir(self.dir, self.prefix)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }
}

/// No run may take longer: a kvenv that hangs (on a FIFO, an endless body) fails its test
/// instead of blocking the whole suite.
pub const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(120);

/// Run `cmd` to completion with its output captured, killing it if it outlives `limit`.
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run kvenv");
    wait_within(child, limit)
}

/// Wait for `child` and collect what it printed, killing it if it outlives `limit`.
pub fn wait_within(child: std::process::Child, limit: std::time::Duration) -> std::process::Output {
    let pid = child.id() as libc::pid_t;
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(limit).is_err() {
            // SAFETY: kill has no memory-safety preconditions. The child is reaped only when
            // wait_with_output returns, after which `done` is sent at once; a run this long has
            // failed either way.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let output = child.wait_with_output().expect("cannot wait for kvenv");
    let _ = done.send(());
    assert!(
        !watchdog.join().unwrap(),
        "kvenv ran longer than {limit:?} and was killed"
    );
    output
}

/// `in 12 ms` → `in X ms`.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" in ") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(" ms") {
            out.push('X');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// File mode bits of a path.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
