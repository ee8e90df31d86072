//! The pre-commit hooks (`.pre-commit-hooks.yaml`), run by the real `pre-commit` (installed into
//! `.build/venv` by `scripts/setup`) with `pre-commit try-repo` in a temporary git repository,
//! the way a user tries them before adding them to `.pre-commit-config.yaml`. The `.env` they
//! must refuse is one the real kvenv wrote from the real OpenBao server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::seed::python;
use crate::test::Test;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn pre_commit() -> PathBuf {
    let p = Path::new(&python()).with_file_name("pre-commit");
    assert!(
        p.exists(),
        "pre-commit is missing from {}: run `scripts/setup`",
        p.display()
    );
    p
}

/// A git repository in `dir` whose hooks find this build's kvenv on PATH.
struct Repo<'a> {
    dir: &'a Path,
    home: tempfile::TempDir,
}

impl Repo<'_> {
    fn new(dir: &Path) -> Repo<'_> {
        let repo = Repo {
            dir,
            home: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.email", "test@example.invalid"]);
        repo.git(&["config", "user.name", "kvenv test"]);
        repo
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let kvenv_dir = Path::new(env!("CARGO_BIN_EXE_kvenv")).parent().unwrap();
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir)
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", kvenv_dir.display()),
            )
            .env("HOME", self.home.path())
            .env("PRE_COMMIT_HOME", self.home.path().join("pre-commit"))
            .env("GIT_CONFIG_NOSYSTEM", "1");
        cmd
    }

    fn git(&self, args: &[&str]) -> Output {
        let out = self.command("git").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `pre-commit try-repo <this repository> [HOOK]` on the staged files: (passed, output).
    fn try_repo(&self, hook: Option<&str>) -> (bool, String) {
        let mut cmd = self.command(pre_commit());
        cmd.args(["try-repo", ROOT]);
        cmd.args(hook);
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("An error has occurred"),
            "pre-commit itself failed:\n{text}"
        );
        (out.status.success(), text)
    }
}

fn synced() -> crate::test::Ran {
    Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"DB_PASSWORD": "CANARY-hook-secret"}))
        .manifest("[secrets]\nDB_PASSWORD = \"@/kv/app\"\n")
        .args(["sync", "-q"])
        .stderr("")
        .run()
}

/// A good commit passes both hooks; staging the .env kvenv wrote (git add -f, past the
/// .gitignore rule kvenv added) is refused, naming the file and the fix; unstaging it passes.
#[test]
fn hooks_pass_a_good_commit_and_block_a_staged_env() {
    let ran = synced();
    let repo = Repo::new(ran.dir.path());
    std::fs::write(ran.path("app.py"), "print('hello')\n").unwrap();
    repo.git(&["add", "secrets.toml", ".gitignore", "app.py"]);

    let (ok, out) = repo.try_repo(None);
    assert!(ok, "{out}");
    assert!(
        out.contains("kvenv validate (the manifest is valid, offline)")
            && out.contains("kvenv no output (refuse a staged .env written by kvenv)"),
        "{out}"
    );
    assert_eq!(out.matches("Passed").count(), 2, "{out}");
    repo.git(&["commit", "-q", "-m", "the app and its manifest"]);

    repo.git(&["add", "-f", ".env"]);
    let (ok, out) = repo.try_repo(Some("kvenv-no-output"));
    assert!(!ok, "a staged .env passed:\n{out}");
    assert!(
        out.contains(
            "kvenv-no-output: .env is staged, and it is the output file of secrets.toml: it holds secrets."
        ) && out.contains("git rm --cached .env"),
        "{out}"
    );
    assert!(!out.contains("CANARY"), "the hook printed a secret:\n{out}");

    repo.git(&["rm", "-q", "--cached", ".env"]);
    std::fs::write(ran.path("app.py"), "print('bye')\n").unwrap();
    repo.git(&["add", "app.py"]);
    let (ok, out) = repo.try_repo(Some("kvenv-no-output"));
    assert!(ok, "{out}");
}

/// Outputs the hook finds besides ./secrets.toml's: a manifest in a subfolder (found in the
/// index), and a file kvenv wrote elsewhere with --output (found by its header).
#[test]
fn outputs_of_other_manifests_and_files_kvenv_wrote_elsewhere_are_refused() {
    let ran = synced();
    let dir = ran.dir.path();
    std::fs::create_dir_all(dir.join("svc")).unwrap();
    std::fs::write(
        dir.join("svc/secrets.toml"),
        "[output]\npath = \"config/svc.env\"\n[secrets]\nX = \"kv/x\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("svc/config")).unwrap();
    std::fs::write(dir.join("svc/config/svc.env"), "X=hand-written\n").unwrap();
    std::fs::copy(dir.join(".env"), dir.join("copy-of.env")).unwrap();
    let repo = Repo::new(dir);
    repo.git(&["add", "secrets.toml", "svc/secrets.toml"]);
    repo.git(&["add", "-f", "svc/config/svc.env", "copy-of.env"]);

    let (ok, out) = repo.try_repo(Some("kvenv-no-output"));
    assert!(!ok, "{out}");
    assert!(
        out.contains("svc/config/svc.env is staged, and it is the output file of svc/secrets.toml"),
        "{out}"
    );
    assert!(
        out.contains(
            "copy-of.env is staged, and it is written by kvenv (its first line is kvenv's header)"
        ),
        "{out}"
    );
}

/// kvenv-validate fails on a broken staged manifest with kvenv's own message (file and line),
/// offline; kvenv flags come as `--flag=value` hook args, before the file names pre-commit adds.
#[test]
fn validate_hook_reports_the_broken_rule() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::new(dir.path());
    std::fs::write(
        dir.path().join("secrets.toml"),
        "[secrets]\nOK = \"kv/a\"\nBAD = { path = \"kv/b\", colour = \"red\" }\n",
    )
    .unwrap();
    repo.git(&["add", "secrets.toml"]);
    let (ok, out) = repo.try_repo(Some("kvenv-validate"));
    assert!(!ok, "{out}");
    assert!(out.contains("kvenv: error: secrets.toml:3"), "{out}");
    assert!(out.contains("colour"), "{out}");

    std::fs::write(
        dir.path().join("secrets.toml"),
        "[secrets]\nOK = \"kv/{env}/a\"\n",
    )
    .unwrap();
    repo.git(&["add", "secrets.toml"]);
    let (ok, out) = repo.try_repo(Some("kvenv-validate"));
    assert!(!ok, "{{env}} is undefined:\n{out}");
    assert!(out.contains("env"), "{out}");
    // With `args: [--var=env=ci]` in .pre-commit-config.yaml, pre-commit runs this:
    let out = repo
        .command(Path::new(ROOT).join("scripts/hooks/kvenv-validate"))
        .args(["--var=env=ci", "secrets.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
