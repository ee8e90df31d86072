//! The leak audit. One test drives every error path the suite knows (manifest, auth, missing,
//! server faults, render refusals, write failures) and the successful ones, each plain and with
//! `-v`, with planted canaries: secret values, the root token, a limited token, a wrong token,
//! userpass passwords (right and wrong), an AppRole role ID and secret ID. No canary may appear on stdout (except from `export`, whose job it
//! is) or stderr, and kvenv may leave no other file (no log) behind. A second test checks the
//! modes of the files kvenv creates while it creates them, with umask 000.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::kit::{Figures, Watch, kvenv, mode, program, tally, temps};
use crate::proxy::{Fault, Proxy};
use crate::server::{ClosedPort, ROOT_TOKEN, server};
use crate::test::Test;

const VALUE_A: &str = "CANARY-value-A-9f1e";
const VALUE_B: &str = "CANARY-value-B-4c2d";
const FORBIDDEN: &str = "CANARY-forbidden-77ab";
const TEMPLATE: &str = "CANARY-tpl ${HOME} 31c0";
const WRONG_TOKEN: &str = "s.CANARYwrongtoken5e6f";
const PASSWORD: &str = "CANARY-password-0d1e";
const WRONG_PASSWORD: &str = "CANARY-wrongpass-8a7b";
const WRONG_ROLE_ID: &str = "CANARY-no-such-role-6b7c";

/// A server that answers every request with `response` (raw HTTP), keeping connections open,
/// or closing each one right after its answer if `close`.
fn fixed(response: String, close: bool) -> Proxy {
    Proxy::answering(Fault::Raw {
        bytes: response,
        close,
    })
    .start()
}

fn answer(status: u16, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const LEAKS_ABOUT: &str = "\
The canaries are: two secret values, plus the secret values behind the render errors; the root
token and a limited token; a wrong token; the right and a wrong userpass password; a wrong
AppRole role ID and a real AppRole secret ID. The audit drives every error path the suite knows
(manifest, auth, missing, server faults from the fault server, render refusals, write failures)
and the successful ones, each plain and with `-v`, and scans stdout and stderr for every canary.
The one exception is `export`'s stdout, which is meant to carry the values. Afterwards the run's
folder (also its `HOME`) may hold only the expected files: no log, no token cache, no leftover
temp file. The table ends with the error line each failing path gave.
";

const MODES_ABOUT: &str = "\
Thirty runs with umask 000, through a slow relay. Each time inotify reports the temp file, the
test stops kvenv (SIGSTOP), reads the file's mode, and lets it go on (SIGCONT); after each run the
output must be mode 0600.
";

struct Case {
    name: &'static str,
    manifest: String,
    env: Vec<(&'static str, String)>,
    args: Vec<&'static str>,
    /// `sh -c 'trap "" XFSZ; ulimit -f 0; exec kvenv ...'`.
    size_limit: bool,
    expect: i32,
    values_on_stdout: bool,
}

#[test]
fn no_canary_reaches_stdout_or_stderr_on_any_path() {
    let t = Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"A": VALUE_A, "B": VALUE_B}))
        .secret("kv/other", json!({"X": FORBIDDEN}))
        .secret("kv/tpl", json!({"T": TEMPLATE}))
        .secret("kv/nul", json!({"N": "CANARY-nul\u{0}-5a5a"}));
    let (dir, prefix) = (t.dir, t.prefix);
    let root = dir.path();
    let s = server();

    // A token that may read kv/app only, for the forbidden path.
    let policy = format!("path \"{prefix}/kv/app\" {{ capabilities = [\"read\"] }}");
    s.ok(
        "PUT",
        &format!("sys/policies/acl/{prefix}"),
        Some(json!({ "policy": policy })),
    );
    let limited = s.ok(
        "POST",
        "auth/token/create",
        Some(json!({"policies": [prefix]})),
    );
    let limited = limited["auth"]["client_token"].as_str().unwrap().to_owned();
    // userpass and AppRole, mounted under the prefix.
    s.ok(
        "POST",
        &format!("sys/auth/{prefix}-up"),
        Some(json!({"type": "userpass"})),
    );
    s.ok(
        "POST",
        &format!("auth/{prefix}-up/users/deploy"),
        Some(json!({"password": PASSWORD, "policies": [prefix]})),
    );
    s.ok(
        "POST",
        &format!("sys/auth/{prefix}-ar"),
        Some(json!({"type": "approle"})),
    );
    s.ok(
        "POST",
        &format!("auth/{prefix}-ar/role/app"),
        Some(json!({"policies": [prefix]})),
    );
    let role_id = s.ok("GET", &format!("auth/{prefix}-ar/role/app/role-id"), None);
    let role_id = role_id["data"]["role_id"].as_str().unwrap().to_owned();
    let secret_id = s.ok(
        "POST",
        &format!("auth/{prefix}-ar/role/app/secret-id"),
        None,
    );
    let secret_id = secret_id["data"]["secret_id"].as_str().unwrap().to_owned();
    std::fs::write(root.join("secret-id"), &secret_id).unwrap();

    let canaries = [
        VALUE_A,
        VALUE_B,
        FORBIDDEN,
        "CANARY-tpl",
        "CANARY-nul",
        WRONG_TOKEN,
        PASSWORD,
        WRONG_PASSWORD,
        WRONG_ROLE_ID,
        secret_id.as_str(),
        ROOT_TOKEN,
        limited.as_str(),
    ];
    let kv = format!("{prefix}/kv");
    let app = format!("[secrets]\nA = \"{kv}/app\"\nB = \"{kv}/app\"\n");
    let declared = format!("[vault]\nkv_version = {{ \"{kv}\" = 1 }}\n{app}");
    let body = format!(r#"{{"data":{{"A":"{VALUE_A}","B":"{VALUE_B}"}}}}"#);
    let truncated = body[..body.len() / 2].to_owned();
    let half = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{truncated}",
        body.len()
    );
    let html = format!("<html><body>upstream error near {VALUE_A}</body></html>");
    let userpass = format!(
        "[vault.auth]\nmethod = \"userpass\"\nmount = \"{prefix}-up\"\nusername = \"deploy\"\npassword = {{ env = \"PW\" }}\n{app}"
    );
    let approle = format!(
        "[vault.auth]\nmethod = \"approle\"\nmount = \"{prefix}-ar\"\nrole_id = {{ env = \"RID\" }}\nsecret_id = {{ file = \"secret-id\" }}\n{app}"
    );

    // The fault servers, alive until the end of the test.
    let unreachable = ClosedPort::new();
    let sealed = fixed(
        answer(503, "application/json", r#"{"errors":["Vault is sealed"]}"#),
        false,
    );
    let truncated_json = fixed(answer(200, "application/json", &truncated), false);
    let wrong_shape = fixed(
        answer(
            200,
            "application/json",
            &format!(r#"{{"data":"{VALUE_A}"}}"#),
        ),
        false,
    );
    let html_page = fixed(answer(502, "text/html", &html), false);
    let closed_mid_body = fixed(half.clone(), true);
    let stalls_mid_body = fixed(half.clone(), false);
    let silent = Proxy::answering(Fault::Silent).start();

    let p = |name, manifest: &str, expect| Case {
        name,
        manifest: manifest.to_owned(),
        env: Vec::new(),
        args: Vec::new(),
        size_limit: false,
        expect,
        values_on_stdout: false,
    };
    let with_env = |mut p: Case, k: &'static str, v: &str| {
        p.env.push((k, v.to_owned()));
        p
    };
    let with_args = |mut p: Case, args: &[&'static str]| {
        p.args.extend_from_slice(args);
        p
    };
    let paths = vec![
        p("manifest: syntax error", "[secrets]\nA = \n", 2),
        p(
            "manifest: undefined placeholder",
            &format!("[secrets]\nA = \"{kv}/{{env}}\"\n"),
            2,
        ),
        with_env(p("auth: no token", &app, 3), "VAULT_TOKEN", ""),
        with_env(p("auth: wrong token", &app, 3), "VAULT_TOKEN", WRONG_TOKEN),
        with_env(
            with_env(
                p("auth: userpass, wrong password", &userpass, 3),
                "PW",
                WRONG_PASSWORD,
            ),
            "VAULT_TOKEN",
            "",
        ),
        with_env(
            with_env(
                p("auth: AppRole, wrong role ID", &approle, 3),
                "RID",
                WRONG_ROLE_ID,
            ),
            "VAULT_TOKEN",
            "",
        ),
        p("missing: secret", &format!("{app}C = \"{kv}/nope\"\n"), 4),
        p(
            "missing: key (keys listed)",
            &format!("[secrets]\nA = \"{kv}/app#a\"\n"),
            4,
        ),
        with_env(
            p(
                "missing: forbidden path",
                &format!("{app}X = \"{kv}/other\"\n"),
                4,
            ),
            "VAULT_TOKEN",
            &limited,
        ),
        with_env(
            p("server: unreachable", &app, 5),
            "VAULT_ADDR",
            &unreachable.addr(),
        ),
        with_env(
            p("server: sealed (503, retried)", &declared, 5),
            "VAULT_ADDR",
            &sealed.addr,
        ),
        with_env(
            p("server: truncated JSON holding the values", &declared, 5),
            "VAULT_ADDR",
            &truncated_json.addr,
        ),
        with_env(
            p("server: wrong JSON shape holding a value", &declared, 5),
            "VAULT_ADDR",
            &wrong_shape.addr,
        ),
        with_env(
            p("server: HTML error page holding a value", &declared, 5),
            "VAULT_ADDR",
            &html_page.addr,
        ),
        with_env(
            p("server: connection closed mid-body (retried)", &declared, 5),
            "VAULT_ADDR",
            &closed_mid_body.addr,
        ),
        with_args(
            with_env(
                p("server: stalls mid-body (--timeout 1s)", &declared, 5),
                "VAULT_ADDR",
                &stalls_mid_body.addr,
            ),
            &["--timeout", "1s"],
        ),
        with_args(
            with_env(
                p("server: never answers (--timeout 1s)", &declared, 5),
                "VAULT_ADDR",
                &silent.addr,
            ),
            &["--timeout", "1s"],
        ),
        p(
            "render: value python-dotenv would expand",
            &format!("[secrets]\nT = \"{kv}/tpl\"\n"),
            2,
        ),
        p(
            "render: NUL in a value",
            &format!("[secrets]\nN = \"{kv}/nul\"\n"),
            2,
        ),
        p(
            "write: output is a directory",
            &format!("[output]\npath = \"outdir\"\n{app}"),
            6,
        ),
        Case {
            size_limit: true,
            ..p(
                "write: file size limit",
                &format!("[output]\npath = \"limited.env\"\n{app}"),
                6,
            )
        },
        p("ok: sync", &app, 0),
        with_env(
            with_env(
                p("ok: sync after AppRole login", &approle, 0),
                "RID",
                &role_id,
            ),
            "VAULT_TOKEN",
            "",
        ),
        with_env(
            with_env(
                p("ok: sync after userpass login", &userpass, 0),
                "PW",
                PASSWORD,
            ),
            "VAULT_TOKEN",
            "",
        ),
        Case {
            values_on_stdout: true,
            ..with_args(
                p("ok: export (values on stdout by design)", &app, 0),
                &["--format", "json"],
            )
        },
    ];
    std::fs::create_dir(root.join("outdir")).unwrap();

    let mut runs = 0;
    let mut leaked = Vec::new();
    let mut codes = Vec::new();
    let mut lines = Vec::new();
    for path in &paths {
        for verbose in [false, true] {
            // A changed value first, so `check` has something to report.
            std::fs::write(root.join(".env"), "A='old'\n").unwrap();
            std::fs::write(root.join("secrets.toml"), &path.manifest).unwrap();
            let command = if path.values_on_stdout {
                "export"
            } else {
                "sync"
            };
            let mut args = vec![command];
            args.extend(&path.args);
            if verbose {
                args.push("-v");
            }
            let mut cmd = if path.size_limit {
                let mut sh = program(Path::new("sh"), root, &s.addr);
                sh.arg("-c")
                    .arg("trap '' XFSZ; ulimit -f 0; exec \"$@\"")
                    .arg("sh")
                    .arg(env!("CARGO_BIN_EXE_kvenv"))
                    .args(&args);
                sh
            } else {
                kvenv(root, &s.addr, &args)
            };
            for (k, v) in &path.env {
                if v.is_empty() {
                    cmd.env_remove(k);
                } else {
                    cmd.env(k, v);
                }
            }
            let out = cmd.output().unwrap();
            runs += 1;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code().unwrap_or(-1);
            assert_eq!(code, path.expect, "{}: {stderr}", path.name);
            assert!(!stderr.contains("panicked"), "{stderr}");
            codes.push(code);
            for c in canaries {
                if stderr.contains(c) {
                    leaked.push(format!("{} (-v: {verbose}): stderr has {c}", path.name));
                }
                if !path.values_on_stdout && stdout.contains(c) {
                    leaked.push(format!("{} (-v: {verbose}): stdout has {c}", path.name));
                }
            }
            if path.values_on_stdout {
                assert!(stdout.contains(VALUE_A), "export printed no value");
            }
            if !verbose && code != 0 {
                lines.push((path.name, stderr.lines().last().unwrap_or("").to_owned()));
            }
        }
    }
    // Nothing else was written: no log, no token cache, no stray temp file.
    let mut files: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [".env", ".gitignore", "outdir", "secret-id", "secrets.toml"],
        "files in the run's folder (its HOME)"
    );
    assert_eq!(std::fs::read_dir(root.join("outdir")).unwrap().count(), 0);
    assert!(temps(root, ".env").is_empty() && temps(root, "limited.env").is_empty());

    let mut f = Figures::new("leaks", "Leak audit (`leaks.rs`)", LEAKS_ABOUT);
    f.add("paths driven (each plain and with -v)", paths.len());
    f.add("runs", runs);
    f.add("exit codes", tally(codes));
    f.add("canaries planted", canaries.len());
    f.add("canaries leaked", leaked.len());
    for (name, line) in &lines {
        f.add(name, format!("`` {} ``", line.replace(&prefix, "@")));
    }
    f.save();
    assert!(leaked.is_empty(), "{leaked:#?}");
}

#[test]
fn created_files_are_never_readable_by_others_even_with_umask_000() {
    let t = Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"A": VALUE_A}));
    let (dir, prefix) = (t.dir, t.prefix);
    let root = dir.path();
    let relay = Proxy::relay(&server().addr)
        .delay(Duration::from_millis(20))
        .start();
    let watch = Watch::new(root);
    let (mut inspected, mut wide, mut modes) = (0, 0, Vec::new());
    let (mut runs, mut finals_0600) = (0, 0);
    const RUNS: usize = 30;
    for i in 0..RUNS {
        runs += 1;
        let value = format!("{VALUE_A}-{i}");
        crate::kit::put(&format!("{prefix}/kv/app"), json!({ "A": value }));
        std::fs::write(
            root.join("secrets.toml"),
            format!("[secrets]\nA = \"{prefix}/kv/app\"\n"),
        )
        .unwrap();
        if i % 2 == 0 {
            let _ = std::fs::remove_file(root.join(".env"));
        }
        watch.drain();
        let mut cmd = kvenv(root, &relay.addr, &["sync", "-q"]);
        // SAFETY: umask is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let pid = child.id() as i32;
        // Stop kvenv the moment its temp file appears, inspect it, let it go on.
        let seen = watch.wait_for(Duration::from_secs(10), |n| n.contains(".kvenv-"));
        if let Some(name) = seen {
            // SAFETY: signalling our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            if let Some(m) = mode(&root.join(&name)) {
                inspected += 1;
                modes.push(format!("{m:04o}"));
                wide += usize::from(m & 0o077 != 0);
            }
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let final_mode = mode(&root.join(".env"));
        finals_0600 += usize::from(final_mode == Some(0o600));
        assert_eq!(final_mode, Some(0o600), "run {i}");
    }
    // The .gitignore is not secret: kvenv creates it as git does, 0644 (umask 000 or not).
    let gitignore_mode = mode(&root.join(".gitignore"));
    assert_eq!(gitignore_mode, Some(0o644));
    assert!(
        inspected >= RUNS / 2,
        "only {inspected} temp files caught mid-write"
    );

    let mut f = Figures::new(
        "modes",
        "Modes, whatever the umask (`leaks.rs`)",
        MODES_ABOUT,
    );
    f.add("runs with umask 000", runs);
    f.varies(
        "temp files stopped and inspected mid-write (at least half the runs required)",
        inspected,
    );
    f.varies("temp file modes seen", tally(modes));
    f.add("temp files readable by group or others", wide);
    f.add(
        "final .env mode 0600",
        format!("{finals_0600} of {runs} runs"),
    );
    f.add(
        ".gitignore mode (not secret; as git creates it)",
        gitignore_mode.map_or("missing".into(), |m| format!("{m:04o}")),
    );
    f.save();
    assert_eq!(wide, 0);
}
