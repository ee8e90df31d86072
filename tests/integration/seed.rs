//! The seed scenario end to end: the repository's own `secrets.toml`, a KV v1 mount `kv`, eight
//! variables read back by python-dotenv; a second run does nothing; with the server stopped the
//! run fails with exit 5 and the file is untouched.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::server::{OwnServer, ROOT_TOKEN};
use crate::test::{Test, mode};

/// The Python with python-dotenv installed by `scripts/setup`, or `KVENV_TEST_PYTHON`.
pub fn python() -> String {
    std::env::var("KVENV_TEST_PYTHON").unwrap_or_else(|_| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".build/venv/bin/python");
        assert!(
            p.exists(),
            "python-dotenv's Python is missing: run `scripts/setup`, or set KVENV_TEST_PYTHON"
        );
        p.display().to_string()
    })
}

/// The file as python-dotenv (default settings, as Flask loads it) reads it.
pub fn python_dotenv(path: &Path) -> Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-dotenv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const EXPECTED: [(&str, &str); 8] = [
    ("FLASK_APP", "app.py"),
    ("FLASK_ENV", "development"),
    ("SECRET_KEY", "dev-only-3f9c2b7e#not$for=prod"),
    ("POSTGRES_HOST", "localhost"),
    ("POSTGRES_DB", "flask"),
    ("POSTGRES_PORT", "5432"),
    ("POSTGRES_USER", "flask"),
    ("POSTGRES_PASSWORD", "p@ss \"w0rd\" with spaces & $igns"),
];

#[test]
fn seed_scenario_end_to_end() {
    let mut server = OwnServer::start();
    server.mount_kv(1);
    let names = [
        "flask_app",
        "flask_environment",
        "secret_key",
        "postgres_host",
        "postgres_db",
        "postgres_port",
        "postgres_user",
        "postgres_password",
    ];
    for ((var, value), name) in EXPECTED.iter().zip(names) {
        let status = server.api(
            "POST",
            &format!("kv/vault-secret-management/local/{name}"),
            json!({ *var: value }),
        );
        assert_eq!(status, 204);
    }
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.toml"))
            .unwrap();

    let ran = Test::new()
        .write("secrets.toml", &manifest)
        .env("VAULT_ADDR", &server.addr)
        .args(["sync"])
        .stderr("kvenv: added /.env to .gitignore\nkvenv: wrote .env (8 variables from 8 secrets, 8 changed) in X ms\n")
        .file(".gitignore", "/.env\n")
        .run();
    let env = ran.path(".env");
    assert_eq!(mode(&env), 0o600);
    let parsed = python_dotenv(&env);
    let want: serde_json::Map<String, Value> = EXPECTED
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    assert_eq!(parsed, Value::Object(want.clone()));
    let before = std::fs::metadata(&env).unwrap();
    let content = ran.read(".env");

    // A second run finds nothing to do and leaves the file alone (same inode, same mtime).
    let ran = rerun(
        ran,
        &server.addr,
        &["sync"],
        0,
        "kvenv: .env is up to date\n",
    );
    let after = std::fs::metadata(ran.path(".env")).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );

    // The README's one-line folder manifest writes the same variables from the same server.
    let folder = Test::new()
        .write("secrets.toml", &crate::readme::snippet("folder"))
        .env("VAULT_ADDR", &server.addr)
        .args(["sync", "-q"])
        .stderr("")
        .run();
    assert_eq!(python_dotenv(&folder.path(".env")), Value::Object(want));

    // The server goes away: exit 5, the file is byte-for-byte what it was.
    server.stop();
    let ran = rerun(ran, &server.addr, &["sync", "--timeout", "10s"], 5, "");
    assert!(
        ran.stderr
            .starts_with("kvenv: error: cannot reach Vault at http://127.0.0.1:"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.ends_with(": connection refused\n"),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.read(".env"), content);
}

/// Run kvenv again in the folder of an earlier run.
fn rerun(
    ran: crate::test::Ran,
    addr: &str,
    args: &[&str],
    status: i32,
    stderr: &str,
) -> crate::test::Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_kvenv"))
        .args(args)
        .current_dir(ran.dir.path())
        .env_clear()
        .env("HOME", ran.dir.path())
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(status), "{err}");
    if !stderr.is_empty() {
        assert_eq!(err, stderr);
    }
    crate::test::Ran {
        dir: ran.dir,
        prefix: ran.prefix,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: err,
    }
}
