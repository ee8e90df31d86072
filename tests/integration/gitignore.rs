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
