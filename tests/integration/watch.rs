//! `run --watch` and `sync --watch` against the real server: restarts on change, outages that
//! change nothing, signals, tokens that outlive their TTL.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use serde_json::json;

use crate::proxy::{Fault, Proxy};
use crate::server::server;
use crate::test::Test;

const LONG: Duration = Duration::from_secs(20);

/// A child that records the value it got, and its stop, in `seen`.
const CHILD: &str = r#"echo "$API_KEY" >> seen; trap 'echo stopped >> seen; exit 0' TERM; while :; do sleep 0.1; done"#;

/// `kvenv run --watch` of [`CHILD`], polling every `interval`, with `flags` before the command.
fn run_watch<'a>(interval: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut argv = vec!["run", "--watch", "--interval", interval];
    argv.extend(flags);
    argv.extend(["--", "sh", "-c", CHILD]);
    argv
}

fn app() -> Test {
    Test::new()
        .kv2("kv")
        .secret("kv/app", json!({"API_KEY": "CANARY-first"}))
        .manifest("[secrets]\nAPI_KEY = \"@/kv/app\"\n")
}

fn put(t_prefix: &str, value: &str) {
    server().ok(
        "POST",
        &format!("{t_prefix}/kv/data/app"),
        Some(json!({"data": {"API_KEY": value}})),
    );
}

#[test]
fn a_changed_value_restarts_the_command_with_it_and_nothing_else_does() {
    let mut running = app().args(run_watch("300ms", &[])).spawn();
    running.wait_until("the first start", LONG, || {
        running.read("seen") == "CANARY-first\n"
    });
    // Polls that find the same values leave the command alone.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(running.read("seen"), "CANARY-first\n");
    put(&running.prefix, "CANARY-second");
    running.wait_until("the restart", LONG, || {
        running.read("seen") == "CANARY-first\nstopped\nCANARY-second\n"
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    // TERM went on to the command, which exited 0 from its trap: kvenv exits with its code.
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr
            .matches("kvenv: API_KEY changed: restarting sh\n")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn an_outage_keeps_the_command_running_and_is_reported_once_each_way() {
    let t = app();
    let proxy = Proxy::forward(&server().addr).start();
    let mut running = t
        .env("VAULT_ADDR", &proxy.addr)
        .args(run_watch("300ms", &[]))
        .spawn();
    running.wait_until("the first start", LONG, || {
        running.read("seen") == "CANARY-first\n"
    });
    proxy.outage(Some(Fault::answer(
        503,
        "",
        r#"{"errors":["Vault is sealed"]}"#,
    )));
    running.wait_for("cannot refresh the secrets", 1, LONG);
    // Through several failed polls (and their retries): no restart, one report.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(running.read("seen"), "CANARY-first\n");
    put(&running.prefix, "CANARY-after");
    proxy.outage(None);
    running.wait_for("Vault answers again", 1, LONG);
    running.wait_until("the restart", LONG, || {
        running.read("seen").ends_with("CANARY-after\n")
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("cannot refresh the secrets").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("Vault answers again").count(), 1, "{stderr}");
    assert_eq!(running_restarts(&stderr), 1);
}

fn running_restarts(stderr: &str) -> usize {
    stderr.matches("changed: restarting").count()
}

#[test]
fn signals_go_to_the_command_and_its_own_exit_is_kvenvs() {
    let script = r#"trap 'echo usr1 >> got' USR1; trap 'echo hup >> got' HUP; trap 'exit 7' TERM; echo ready > got; while :; do sleep 0.1; done"#;
    let mut running = app()
        .args(["run", "--watch", "--", "sh", "-c", script])
        .spawn();
    running.wait_until("the start", LONG, || running.read("got") == "ready\n");
    running.signal(libc::SIGUSR1);
    running.wait_until("USR1", LONG, || running.read("got").contains("usr1"));
    running.signal(libc::SIGHUP);
    running.wait_until("HUP", LONG, || running.read("got").contains("hup"));
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 7, "{stderr}");
    assert_eq!(running_restarts(&stderr), 0, "{stderr}");
}

#[test]
fn a_command_that_ignores_the_restart_signal_is_killed_after_the_grace() {
    let script = r#"echo "$API_KEY" >> seen; trap 'echo hup >> seen' HUP; trap '' TERM; while :; do sleep 0.1; done"#;
    let mut running = app()
        .args(["run", "--watch", "--interval", "300ms", "--grace", "1s"])
        .args(["--restart-signal", "HUP", "--", "sh", "-c", script])
        .spawn();
    running.wait_until("the start", LONG, || {
        running.read("seen") == "CANARY-first\n"
    });
    put(&running.prefix, "CANARY-second");
    // HUP first (the restart signal), then, a second later, the kill.
    running.wait_until("the restart", LONG, || {
        running.read("seen") == "CANARY-first\nhup\nCANARY-second\n"
    });
    // INT is passed on (stdin is no terminal), and ends the new command.
    running.signal(libc::SIGINT);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 130, "{stderr}");
}

#[test]
fn a_renewable_token_is_kept_alive_past_its_ttl() {
    let t = app();
    let token = server()
        .token(json!({"ttl": "3s", "explicit_max_ttl": "60s", "policies": ["default", "root"]}));
    let mut running = t
        .env("VAULT_TOKEN", &token)
        .canary(&token)
        .args(run_watch("500ms", &[]))
        .spawn();
    running.wait_until("the start", LONG, || {
        running.read("seen") == "CANARY-first\n"
    });
    // Well past the token's first TTL: only renewals keep it valid.
    std::thread::sleep(Duration::from_secs(5));
    put(&running.prefix, "CANARY-later");
    running.wait_until("the restart", LONG, || {
        running.read("seen").ends_with("CANARY-later\n")
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("cannot refresh"), "{stderr}");
    let (status, _) = server().api("POST", "auth/token/lookup", Some(json!({ "token": token })));
    assert_eq!(status, 200, "the token is alive after 5 s on a 3 s TTL");
}

#[test]
fn sync_watch_rewrites_the_file_on_change_then_runs_exec() {
    let mut running = app()
        .args([
            "sync",
            "--watch",
            "--interval",
            "300ms",
            "--exec",
            "echo ran >> exec.log",
        ])
        .spawn();
    running.wait_until("the first write", LONG, || {
        running.read(".env").contains("API_KEY='CANARY-first'")
    });
    running.wait_until("the first exec", LONG, || {
        running.read("exec.log") == "ran\n"
    });
    let inode = std::fs::metadata(running.path(".env")).unwrap().ino();
    // Unchanged polls touch nothing.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        std::fs::metadata(running.path(".env")).unwrap().ino(),
        inode
    );
    assert_eq!(running.read("exec.log"), "ran\n");
    put(&running.prefix, "CANARY-second");
    running.wait_until("the rewrite", LONG, || {
        running.read(".env").contains("API_KEY='CANARY-second'")
    });
    running.wait_until("the second exec", LONG, || {
        running.read("exec.log") == "ran\nran\n"
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches("kvenv: wrote .env").count(), 2, "{stderr}");
}

#[test]
fn sync_watch_keeps_the_file_through_an_outage() {
    let t = app();
    let proxy = Proxy::forward(&server().addr).start();
    let mut running = t
        .env("VAULT_ADDR", &proxy.addr)
        .args(["sync", "--watch", "--interval", "300ms"])
        .spawn();
    running.wait_until("the first write", LONG, || {
        running.read(".env").contains("CANARY-first")
    });
    let before = running.read(".env");
    proxy.outage(Some(Fault::Drop));
    running.wait_for("cannot refresh the secrets", 1, LONG);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(running.read(".env"), before);
    proxy.outage(None);
    running.wait_for("Vault answers again", 1, LONG);
    running.signal(libc::SIGINT);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(running.read(".env"), before);
}

#[test]
fn sync_watch_stops_with_exit_3_when_its_token_is_revoked() {
    let t = app();
    let token = server().token(json!({"ttl": "1h", "policies": ["root"]}));
    let mut running = t
        .env("VAULT_TOKEN", &token)
        .canary(&token)
        .args(["sync", "--watch", "--interval", "300ms"])
        .spawn();
    running.wait_until("the first write", LONG, || {
        running.read(".env").contains("CANARY-first")
    });
    server().ok("POST", "auth/token/revoke", Some(json!({ "token": token })));
    let before = running.read(".env");
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("Vault refused the token"), "{stderr}");
    // The last good content stays.
    assert_eq!(running.read(".env"), before);
}

/// An AppRole at `@/approle` whose tokens live `ttl`, at most `max_ttl`; returns the manifest
/// head that logs in with it and the role and secret ids.
fn approle(t: &Test, ttl: &str, max_ttl: &str) -> (String, String, String) {
    let mount = t.expand("@/approle");
    let policy = format!("{}-watch", t.prefix);
    server().policy(
        &policy,
        &t.expand("path \"@/kv/*\" { capabilities = [\"read\"] }"),
    );
    let (role_id, secret_id) = server().approle(
        &mount,
        json!({"token_policies": [policy], "token_ttl": ttl, "token_max_ttl": max_ttl}),
    );
    let head = format!(
        "[vault.auth]\nmethod = \"approle\"\nmount = \"{mount}\"\nrole_id = {{ env = \"ROLE_ID\" }}\nsecret_id = {{ env = \"SECRET_ID\" }}\n"
    );
    (head, role_id, secret_id)
}

#[test]
fn a_login_token_at_its_max_ttl_is_replaced_by_logging_in_again() {
    let t = app();
    let (head, role_id, secret_id) = approle(&t, "2s", "4s");
    let mut running = t
        .manifest(&format!("{head}[secrets]\nAPI_KEY = \"@/kv/app\"\n"))
        .env_remove("VAULT_TOKEN")
        .env("ROLE_ID", &role_id)
        .env("SECRET_ID", &secret_id)
        .canary(&secret_id)
        .args(run_watch("500ms", &["-v"]))
        .spawn();
    running.wait_until("the start", LONG, || {
        running.read("seen") == "CANARY-first\n"
    });
    running.wait_for("logged in again: the token reached its max TTL", 1, LONG);
    // Past the first token's max TTL: only the new login can read this.
    std::thread::sleep(Duration::from_secs(3));
    put(&running.prefix, "CANARY-later");
    running.wait_until("the restart", LONG, || {
        running.read("seen").ends_with("CANARY-later\n")
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("cannot refresh"), "{stderr}");
}

#[test]
fn run_watch_keeps_the_command_when_its_token_is_revoked() {
    let t = app();
    let token = server().token(json!({"ttl": "1h", "policies": ["root"]}));
    let mut running = t
        .env("VAULT_TOKEN", &token)
        .canary(&token)
        .args(run_watch("300ms", &[]))
        .spawn();
    running.wait_until("the start", LONG, || {
        running.read("seen") == "CANARY-first\n"
    });
    server().ok("POST", "auth/token/revoke", Some(json!({ "token": token })));
    running.wait_for("Vault refused the token", 1, LONG);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(running.read("seen"), "CANARY-first\n");
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("the command keeps the values it has"),
        "{stderr}"
    );
}

/// A poll costs one read per secret: the mount found by the first read is not looked up again.
#[test]
fn a_poll_reads_each_secret_and_looks_up_no_mount() {
    let t = app();
    let proxy = Proxy::forward(&server().addr).start();
    let mut running = t
        .env("VAULT_ADDR", &proxy.addr)
        .args(["sync", "--watch", "--interval", "200ms"])
        .spawn();
    running.wait_until("four reads of the secret", LONG, || {
        proxy
            .requests()
            .iter()
            .filter(|r| r.line.contains("/kv/data/app"))
            .count()
            >= 4
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<String> = proxy.requests().into_iter().map(|r| r.line).collect();
    let lookups = lines
        .iter()
        .filter(|l| l.contains("sys/internal/ui/mounts"))
        .count();
    assert_eq!(lookups, 1, "{lines:#?}");
}
