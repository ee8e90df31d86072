//! Keeping the output out of git.

use std::process::Command;

use serde_json::json;

use crate::test::Test;

fn app() -> Test {
    Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"A": "CANARY-git"}))
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=kvenv",
            "-c",
            "user.email=kvenv@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn appends_to_a_gitignore_without_a_final_newline() {
    app()
        .write(".gitignore", "target\n# build\nnode_modules")
        .args(["sync", "-q"])
        .stderr("")
        .file(".gitignore", "target\n# build\nnode_modules\n/.env\n")
        .run();
}

#[test]
fn leaves_a_gitignore_that_already_ignores_it() {
    app()
        .write(".gitignore", "*.env\n")
        .args(["sync", "-q"])
        .stderr("")
        .file(".gitignore", "*.env\n")
        .run();
}

#[test]
fn a_rule_at_the_repository_root_counts() {
    let t = app().write(".gitignore", "**/.env\n");
    git(t.dir.path(), &["init", "-q"]);
    let manifest = t.expand("[secrets]\nA = \"@/kv/app\"\n");
    t.write("services/api/secrets.toml", &manifest)
        .args(["sync", "-q", "-m", "services/api/secrets.toml"])
        .stderr("")
        .no_file("services/api/.gitignore")
        .run();
}

#[test]
fn warns_when_git_already_tracks_the_file() {
    let t = app().write(".env", "A='committed by mistake'\n");
    git(t.dir.path(), &["init", "-q"]);
    git(t.dir.path(), &["add", ".env"]);
    git(t.dir.path(), &["commit", "-q", "-m", "oops"]);
    t.args(["sync"])
        .stderr("kvenv: added /.env to .gitignore\nkvenv: warning: git already tracks .env, so ignoring it does not keep it out of commits; run `git rm --cached .env`\nkvenv: wrote .env (1 variables from 1 secrets, 1 changed) in X ms\n")
        .file(".gitignore", "/.env\n")
        .run();
}

#[test]
fn can_be_turned_off() {
    app()
        .manifest("[output]\ngitignore = false\n[secrets]\nA = \"@/kv/app\"\n")
        .args(["sync", "-q"])
        .stderr("")
        .no_file(".gitignore")
        .run();
}

/// Whether git itself ignores `path` in the repository at `dir`.
fn git_ignores(dir: &std::path::Path, path: &str) -> bool {
    Command::new("git")
        .args(["check-ignore", "-q", "--no-index", path])
        .current_dir(dir)
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_symlinked_gitignore_does_not_count_and_is_never_written_through() {
    let t = app().write("shared-rules", ".env\n");
    git(t.dir.path(), &["init", "-q"]);
    std::os::unix::fs::symlink("shared-rules", t.path(".gitignore")).unwrap();
    // The premise: git does not read a .gitignore that is a symlink.
    std::fs::write(t.path(".env"), "").unwrap();
    assert!(!git_ignores(t.dir.path(), ".env"));
    std::fs::remove_file(t.path(".env")).unwrap();

    t.args(["sync"])
        .status(6)
        .stderr("kvenv: error: cannot write .gitignore: it is a symbolic link, which git does not read, so it cannot keep .env out of commits; replace it with a regular file (or ignore .env in a .gitignore higher up)\n")
        .no_file(".env")
        .file("shared-rules", ".env\n")
        .run();
}

#[test]
fn the_file_a_symlinked_output_points_to_is_ignored_too() {
    let t = app()
        .write(".gitignore", "/.env\n")
        .write("envs/local.env", "");
    git(t.dir.path(), &["init", "-q"]);
    std::os::unix::fs::symlink("envs/local.env", t.path(".env")).unwrap();
    let ran = t
        .args(["sync"])
        .stderr("kvenv: added /local.env to envs/.gitignore (.env links to that file)\nkvenv: wrote .env (1 variables from 1 secrets, 1 changed) in X ms\n")
        .file(".gitignore", "/.env\n")
        .file("envs/.gitignore", "/local.env\n")
        .run();
    assert!(git_ignores(ran.dir.path(), "envs/local.env"));
    assert!(ran.read("envs/local.env").contains("CANARY-git"));
    // `git add -A` stages the rules, never the secrets.
    git(ran.dir.path(), &["add", "-A"]);
    let staged = Command::new("git")
        .args(["diff", "--cached", "--name-only"])
        .current_dir(ran.dir.path())
        .output()
        .unwrap();
    let staged = String::from_utf8_lossy(&staged.stdout);
    assert!(
        !staged.contains("local.env\n") && !staged.lines().any(|l| l == ".env"),
        "{staged}"
    );
}

#[test]
fn control_characters_in_paths_are_refused() {
    app()
        .manifest("[output]\npath = \"x\\n!.env\"\n[secrets]\nA = \"@/kv/app\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: secrets.toml:2: output path: \"x\\n!.env\" has control characters, which no path kvenv uses may contain\n")
        .no_file(".gitignore")
        .run();
    app()
        .args(["sync", "-o", "a\u{1b}[2Jb"])
        .status(2)
        .stderr_contains("has control characters")
        .no_file(".gitignore")
        .run();
}

#[test]
fn outputs_that_would_clobber_kvenv_or_git_are_refused() {
    let manifest = "[secrets]\nA = \"@/kv/app\"\n";
    for (args, why) in [
        (
            vec!["sync", "-o", "secrets.toml"],
            "it is the manifest itself",
        ),
        (
            vec!["sync", "-o", "./secrets.toml"],
            "it is the manifest itself",
        ),
        (vec!["sync", "-o", ".gitignore"], "it is a .gitignore"),
        (vec!["sync", "-o", "sub/.gitignore"], "it is a .gitignore"),
        (
            vec!["sync", "-o", ".git/config"],
            "it is inside .git/, git's own folder",
        ),
        (vec!["sync", "-o", "link"], "it is the manifest itself"),
    ] {
        let t = app()
            .write(".gitignore", "# mine\n")
            .write(".git/config", "[core]\n")
            .write("sub/.gitignore", "");
        std::os::unix::fs::symlink("secrets.toml", t.path("link")).unwrap();
        let expanded = t.expand(manifest);
        t.args(args.iter().copied())
            .status(2)
            .stderr(&format!(
                "kvenv: error: output {}: {why}; choose another [output] path or --output\n",
                args[2]
            ))
            .file("secrets.toml", &expanded)
            .file(".gitignore", "# mine\n")
            .file(".git/config", "[core]\n")
            .run();
    }
    app()
        .manifest("[output]\npath = \"secrets.toml\"\n[secrets]\nA = \"@/kv/app\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: output secrets.toml: it is the manifest itself; choose another [output] path or --output\n")
        .run();
}
