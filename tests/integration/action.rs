//! The GitHub Action (`action.yml`, its logic in `scripts/action`) in a simulated runner, against
//! the real OpenBao server: the composite step is read from `action.yml` and run as the runner
//! runs a `shell: bash` step, then its `$GITHUB_ENV`, `$GITHUB_OUTPUT` and `$GITHUB_PATH` files
//! and its output are handled by the runner's own rules (`github_runner.rs`).
//!
//! The release it installs from is a folder served through `file://` (the `download-url`
//! input): a release archive plus its `SHA256SUMS`, as the release workflow publishes them. The
//! archive is the one `make package` built when `KVENV_TEST_PACKAGE` names it (CI does), else one
//! `scripts/package` lays out around this test build's binary; either way it is this machine's
//! build, served under the name of the runner's target (Linux X64: the musl archive).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::github_runner::{Masker, parse_env_file, process_env_file, run_step_stdout};
use crate::seed::python;
use crate::server::{ROOT_TOKEN, server};
use crate::test::{Test, output_within};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The archive the Action downloads: `KVENV_TEST_PACKAGE` (an archive, or the folder `make
/// package` wrote), else this test binary packaged by `scripts/package`, once per test process.
pub fn host_archive() -> PathBuf {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("KVENV_TEST_PACKAGE") {
                let p = PathBuf::from(p);
                if p.is_file() {
                    return p;
                }
                let host = host_target();
                let archive = p.join(format!("kvenv-{VERSION}-{host}.tar.gz"));
                assert!(
                    archive.is_file(),
                    "KVENV_TEST_PACKAGE: no {}",
                    archive.display()
                );
                return archive;
            }
            let out =
                std::env::temp_dir().join(format!("kvenv-test-package-{}", std::process::id()));
            std::fs::create_dir_all(&out).unwrap();
            // Without its debug info the test build packs in seconds, not half a minute.
            let bin = out.join("kvenv");
            let strip = Command::new("strip")
                .arg("-o")
                .arg(&bin)
                .arg(env!("CARGO_BIN_EXE_kvenv"))
                .status()
                .unwrap();
            assert!(strip.success(), "strip failed");
            let run = Command::new(Path::new(ROOT).join("scripts/package"))
                .arg("--bin")
                .arg(&bin)
                .arg("--out")
                .arg(&out)
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            assert!(run.status.success(), "scripts/package failed");
            PathBuf::from(String::from_utf8(run.stdout).unwrap().trim())
        })
        .clone()
}

fn host_target() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap()
        .to_owned()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// A YAML file as JSON, through the PyYAML that pre-commit brings into `.build/venv`.
pub fn yaml(path: &str) -> Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml\njson.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(Path::new(ROOT).join(path))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cannot read {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A release folder: `<dir>/v<VERSION>/` with `archive` under the name `name`, and SHA256SUMS.
fn release(dir: &Path, name: &str, sums: Option<&str>) -> String {
    let folder = dir.join(format!("v{VERSION}"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(host_archive(), folder.join(name)).unwrap();
    let sums = match sums {
        Some(s) => s.to_owned(),
        None => format!("{}  {name}\n", sha256(&folder.join(name))),
    };
    std::fs::write(folder.join("SHA256SUMS"), sums).unwrap();
    format!("file://{}", dir.display())
}

/// One job on a simulated runner: its environment, `PATH` additions and masker carry from step
/// to step, as the runner's do.
struct Runner {
    root: TempDir,
    os: &'static str,
    arch: &'static str,
    tool_cache: PathBuf,
    env: BTreeMap<String, String>,
    path: Vec<String>,
    masker: Masker,
}

/// What one step did.
struct Step {
    status: i32,
    /// The step's log lines, stdout and stderr, as the runner prints them (commands consumed,
    /// masks applied).
    log: Vec<String>,
    outputs: BTreeMap<String, String>,
}

impl Runner {
    fn new(tool_cache: &Path) -> Runner {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("temp")).unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        Runner {
            root,
            os: "Linux",
            arch: "X64",
            tool_cache: tool_cache.to_owned(),
            env: BTreeMap::from([
                ("VAULT_ADDR".into(), server().addr.clone()),
                ("VAULT_TOKEN".into(), ROOT_TOKEN.into()),
            ]),
            path: Vec::new(),
            masker: Masker::new(),
        }
    }

    /// `- uses: kvenv/kvenv@<action_ref>` with `inputs`, run in `workspace`.
    fn uses(&mut self, action_ref: &str, inputs: &[(&str, &str)], workspace: &Path) -> Step {
        self.uses_with_env(action_ref, inputs, &[], workspace)
    }

    /// `uses:` with the calling step's `env:`, which the action's steps see too.
    fn uses_with_env(
        &mut self,
        action_ref: &str,
        inputs: &[(&str, &str)],
        caller_env: &[(String, String)],
        workspace: &Path,
    ) -> Step {
        let action = yaml("action.yml");
        let declared = action["inputs"].as_object().unwrap();
        for (name, _) in inputs {
            assert!(
                declared.contains_key(*name),
                "action.yml has no input {name}"
            );
        }
        let input = |name: &str| -> String {
            let given = inputs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            match given {
                Some(v) => v.to_owned(),
                None => declared[name]["default"].as_str().unwrap_or("").to_owned(),
            }
        };
        assert_eq!(action["runs"]["using"], "composite");
        let mut outputs = BTreeMap::new();
        let mut log = Vec::new();
        let mut status = 0;
        for step in action["runs"]["steps"].as_array().unwrap() {
            assert_eq!(
                step["shell"], "bash",
                "every step runs in bash (Windows too)"
            );
            let eval = |text: &str| {
                expand(text, |expr| match expr.split_once('.') {
                    Some(("inputs", name)) => input(name),
                    Some(("github", "action_path")) => ROOT.to_owned(),
                    Some(("github", "action_ref")) => action_ref.to_owned(),
                    _ => panic!("the simulated runner does not know ${{{{ {expr} }}}}"),
                })
            };
            let mut env = caller_env.to_vec();
            if let Some(m) = step["env"].as_object() {
                env.extend(
                    m.iter()
                        .map(|(k, v)| (k.clone(), eval(v.as_str().unwrap()))),
                );
            }
            let ran = self.step(&eval(step["run"].as_str().unwrap()), &env, workspace);
            status = ran.status;
            log.extend(ran.log);
            if let Some(id) = step["id"].as_str() {
                for (k, v) in &ran.outputs {
                    outputs.insert(format!("steps.{id}.outputs.{k}"), v.clone());
                }
            }
            if status != 0 {
                break;
            }
        }
        // The action's outputs, as action.yml maps them from its steps'.
        let mut action_outputs = BTreeMap::new();
        for (name, o) in action["outputs"].as_object().unwrap() {
            let value = expand(o["value"].as_str().unwrap(), |expr| {
                outputs.get(expr).cloned().unwrap_or_default()
            });
            action_outputs.insert(name.clone(), value);
        }
        Step {
            status,
            log,
            outputs: action_outputs,
        }
    }

    /// A `run:` step with `shell: bash`: the runner writes the script to a file and runs
    /// `bash --noprofile --norc -eo pipefail FILE`, with fresh command files for this step.
    fn step(&mut self, script: &str, step_env: &[(String, String)], workspace: &Path) -> Step {
        let temp = self.root.path().join("temp");
        let files = ["GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH"].map(|name| {
            let p = temp.join(format!("{}_{}", name.to_lowercase(), rand_suffix()));
            std::fs::write(&p, "").unwrap();
            (name, p)
        });
        let script_file = temp.join(format!("step_{}.sh", rand_suffix()));
        std::fs::write(&script_file, script).unwrap();
        let mut path: Vec<String> = self.path.iter().rev().cloned().collect();
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .current_dir(workspace)
            .env_clear()
            .env("PATH", path.join(":"))
            .env("HOME", self.root.path().join("home"))
            .env("RUNNER_OS", self.os)
            .env("RUNNER_ARCH", self.arch)
            .env("RUNNER_TOOL_CACHE", &self.tool_cache)
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_ACTION_PATH", ROOT)
            .stdin(Stdio::null());
        cmd.envs(&self.env);
        for (name, p) in &files {
            cmd.env(name, p);
        }
        cmd.envs(step_env.iter().map(|(k, v)| (k, v)));
        let out = output_within(cmd, std::time::Duration::from_secs(120));
        // The runner handles stderr and stdout lines alike (commands, masks); see
        // github_runner.rs for why their order does not matter here.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut log = run_step_stdout(&stdout, &mut self.masker);
        log.extend(run_step_stdout(&stderr, &mut self.masker));

        let read = |name: &str| {
            let p = &files.iter().find(|(n, _)| *n == name).unwrap().1;
            std::fs::read_to_string(p).unwrap()
        };
        let env_file = process_env_file(&read("GITHUB_ENV"));
        assert!(
            !env_file.failed,
            "the runner rejects $GITHUB_ENV: {env_file:?}"
        );
        log.extend(env_file.log(&self.masker));
        self.env.extend(env_file.set);
        for line in read("GITHUB_PATH").lines().filter(|l| !l.is_empty()) {
            self.path.push(line.to_owned());
        }
        let outputs = parse_env_file(&read("GITHUB_OUTPUT"))
            .expect("the runner rejects $GITHUB_OUTPUT")
            .into_iter()
            .collect();
        Step {
            status: out.status.code().unwrap_or(-1),
            log,
            outputs,
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `${{ expr }}` → `value(expr)`, everywhere in `text`.
fn expand(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed ${{") + start;
        out.push_str(&value(rest[start + 3..end].trim()));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn app() -> Test {
    Test::new()
        .kv1("kv")
        .secret(
            "kv/shop/ci/app",
            json!({
                "DB_PASSWORD": "CANARY-db-password",
                "PEM": "-----BEGIN KEY-----\nCANARY-pem-line\n-----END KEY-----",
                "FLASK_ENV": "production"
            }),
        )
        .manifest(
            "[vars]\nproject = \"shop\"\nenv = \"local\"\n[secrets]\nDB_PASSWORD = \"@/kv/{project}/{env}/app\"\nPEM = \"@/kv/{project}/{env}/app\"\nFLASK_ENV = { path = \"@/kv/{project}/{env}/app\", mask = false }\n",
        )
}

fn musl_archive() -> String {
    format!("kvenv-{VERSION}-x86_64-unknown-linux-musl.tar.gz")
}

/// `command: export`: the next steps get every value exactly and the log never shows one; kvenv
/// is on PATH; a second job on the same runner takes kvenv from the tool cache, downloading
/// nothing (the release is gone by then).
#[test]
fn export_masks_and_sets_the_variables_then_a_second_job_uses_the_tool_cache() {
    let t = app();
    let dl = tempfile::tempdir().unwrap();
    let url = release(dl.path(), &musl_archive(), None);
    let cache = tempfile::tempdir().unwrap();
    let vars = "env=ci\n  project=shop  \n";
    let inputs = [
        ("version", VERSION),
        ("command", "export"),
        ("vars", vars),
        ("download-url", url.as_str()),
    ];

    let mut job = Runner::new(cache.path());
    let ran = job.uses("main", &inputs, t.dir.path());
    let log = ran.log.join("\n");
    assert_eq!(ran.status, 0, "{log}");
    assert!(!log.contains("CANARY"), "a value reached the log:\n{log}");
    assert!(log.contains("downloading"), "{log}");
    assert!(log.contains("matches SHA256SUMS"), "{log}");
    let bin = cache
        .path()
        .join(format!("kvenv/{VERSION}/x86_64-unknown-linux-musl/kvenv"));
    assert_eq!(
        ran.outputs,
        BTreeMap::from([
            ("cache-hit".to_string(), "false".to_string()),
            ("path".into(), bin.display().to_string()),
            ("version".into(), VERSION.into()),
        ])
    );
    assert_eq!(job.env["DB_PASSWORD"], "CANARY-db-password");
    assert_eq!(
        job.env["PEM"],
        "-----BEGIN KEY-----\nCANARY-pem-line\n-----END KEY-----"
    );
    assert_eq!(job.env["FLASK_ENV"], "production");

    // A later step that prints the values, and runs kvenv from PATH.
    let later = job.step(
        "printf '%s\\n' \"$DB_PASSWORD\" \"$PEM\" \"$FLASK_ENV\"\nkvenv --version\n",
        &[],
        t.dir.path(),
    );
    assert_eq!(later.status, 0);
    assert_eq!(
        later.log,
        // Every line of every masked value is a mask of its own; mask = false stays readable.
        [
            "***",
            "***",
            "***",
            "***",
            "production",
            &format!("kvenv {VERSION}")
        ]
    );

    // The next job on this runner: same tool cache, and the release cannot be downloaded.
    drop(dl);
    let mut job = Runner::new(cache.path());
    let ran = job.uses("main", &inputs, t.dir.path());
    let log = ran.log.join("\n");
    assert_eq!(ran.status, 0, "{log}");
    assert_eq!(ran.outputs["cache-hit"], "true");
    assert!(log.contains("from the tool cache"), "{log}");
    assert!(!log.contains("downloading"), "{log}");
    assert_eq!(job.env["DB_PASSWORD"], "CANARY-db-password");
}

/// `command: sync` (the default) with the version taken from the tag the action is used at:
/// the manifest's .env is written, 0600, and git-ignored.
#[test]
fn sync_writes_the_file_with_the_version_of_the_tag() {
    let t = app();
    let dl = tempfile::tempdir().unwrap();
    let url = release(dl.path(), &musl_archive(), None);
    let cache = tempfile::tempdir().unwrap();
    let mut job = Runner::new(cache.path());
    let ran = job.uses(
        &format!("v{VERSION}"),
        &[("vars", "env=ci"), ("download-url", &url)],
        t.dir.path(),
    );
    let log = ran.log.join("\n");
    assert_eq!(ran.status, 0, "{log}");
    assert!(log.contains("kvenv: wrote .env (3 variables"), "{log}");
    assert_eq!(ran.outputs["version"], VERSION);
    let env = std::fs::read_to_string(t.path(".env")).unwrap();
    assert!(env.contains("DB_PASSWORD='CANARY-db-password'"), "{env}");
    assert_eq!(crate::test::mode(&t.path(".env")), 0o600);
    assert_eq!(
        std::fs::read_to_string(t.path(".gitignore")).unwrap(),
        "/.env\n"
    );
    // Nothing reached the job's environment: sync writes the file only.
    assert!(!job.env.contains_key("DB_PASSWORD"));
}

/// An archive that does not match SHA256SUMS is not installed, cached, or run.
#[test]
fn a_checksum_mismatch_installs_nothing() {
    let t = app();
    let dl = tempfile::tempdir().unwrap();
    let sums = format!("{}  {}\n", "0".repeat(64), musl_archive());
    let url = release(dl.path(), &musl_archive(), Some(&sums));
    let cache = tempfile::tempdir().unwrap();
    let mut job = Runner::new(cache.path());
    let ran = job.uses(
        "main",
        &[
            ("version", VERSION),
            ("vars", "env=ci"),
            ("download-url", &url),
        ],
        t.dir.path(),
    );
    let log = ran.log.join("\n");
    assert_ne!(ran.status, 0, "{log}");
    assert!(log.contains("checksum mismatch"), "{log}");
    assert!(job.path.is_empty(), "kvenv was put on PATH");
    assert!(
        !cache
            .path()
            .join("kvenv")
            .join(VERSION)
            .join("x86_64-unknown-linux-musl")
            .exists()
    );
    assert!(!t.path(".env").exists());
}

/// No version input on a branch ref, a bad command, or a runner with no release: clear errors.
#[test]
fn refuses_what_it_cannot_install() {
    let t = app();
    let cache = tempfile::tempdir().unwrap();
    let mut job = Runner::new(cache.path());
    let ran = job.uses("main", &[], t.dir.path());
    assert_ne!(ran.status, 0);
    assert!(
        ran.log.join("\n").contains("set the version input"),
        "{:?}",
        ran.log
    );
    let ran = job.uses(
        "main",
        &[("version", VERSION), ("command", "push")],
        t.dir.path(),
    );
    assert_ne!(ran.status, 0);
    assert!(
        ran.log
            .join("\n")
            .contains("command must be sync, export or install")
    );
    job.arch = "X86";
    let ran = job.uses("main", &[("version", VERSION)], t.dir.path());
    assert_ne!(ran.status, 0);
    assert!(
        ran.log
            .join("\n")
            .contains("no kvenv release for RUNNER_OS=Linux RUNNER_ARCH=X86")
    );
}

/// Every runner the Action supports downloads an archive the release workflow builds, under the
/// name scripts/package gives it; cargo binstall's templates in Cargo.toml name the same files,
/// with the binary where scripts/package puts it.
#[test]
fn the_action_binstall_and_the_release_workflow_name_the_same_archives() {
    // The release workflow's targets.
    let workflow = yaml(".github/workflows/release.yml");
    let mut built: Vec<String> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap().to_owned())
        .collect();
    built.sort();

    // What the Action asks for on each runner (the download fails, naming the archive).
    let t = app();
    let dl = tempfile::tempdir().unwrap();
    let url = release(dl.path(), "unrelated.tar.gz", Some(""));
    let cache = tempfile::tempdir().unwrap();
    let mut asked = Vec::new();
    for (os, arch) in [
        ("Linux", "X64"),
        ("Linux", "ARM64"),
        ("macOS", "X64"),
        ("macOS", "ARM64"),
        ("Windows", "X64"),
    ] {
        let mut job = Runner::new(cache.path());
        job.os = os;
        job.arch = arch;
        let ran = job.uses(
            "main",
            &[("version", VERSION), ("download-url", &url)],
            t.dir.path(),
        );
        assert_ne!(ran.status, 0);
        let log = ran.log.join("\n");
        let prefix = format!("/v{VERSION}/kvenv-{VERSION}-");
        let start = log.find(&prefix).unwrap_or_else(|| panic!("{log}")) + prefix.len();
        let name = &log[start..];
        let name = &name[..name.find(|c: char| c == ':' || c.is_whitespace()).unwrap()];
        let (target, ext) = name
            .strip_suffix(".tar.gz")
            .map(|t| (t, "tar.gz"))
            .or_else(|| name.strip_suffix(".zip").map(|t| (t, "zip")))
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(ext == "zip", os == "Windows", "{name}");
        asked.push(target.to_owned());
    }
    asked.sort();
    assert_eq!(
        asked, built,
        "the Action's targets and the release workflow's"
    );

    // cargo binstall's view of the same release.
    let manifest: toml::Table = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let package = &manifest["package"];
    let binstall = &package["metadata"]["binstall"];
    for target in &built {
        let windows = target.contains("windows");
        let meta = |key: &str| {
            binstall
                .get("overrides")
                .and_then(|o| o.get(target.as_str()))
                .and_then(|o| o.get(key))
                .or_else(|| binstall.get(key))
                .and_then(|v| v.as_str())
                .unwrap()
                .to_owned()
        };
        let fill = |template: String| {
            template
                .replace("{ repo }", package["repository"].as_str().unwrap())
                .replace("{ name }", "kvenv")
                .replace("{ version }", VERSION)
                .replace("{ target }", target)
                .replace("{ bin }", "kvenv")
                .replace("{ binary-ext }", if windows { ".exe" } else { "" })
        };
        let ext = if windows { "zip" } else { "tar.gz" };
        assert_eq!(
            fill(meta("pkg-url")),
            format!(
                "https://github.com/kvenv/kvenv/releases/download/v{VERSION}/kvenv-{VERSION}-{target}.{ext}"
            )
        );
        assert_eq!(meta("pkg-fmt"), if windows { "zip" } else { "tgz" });
        let exe = if windows { ".exe" } else { "" };
        assert_eq!(
            fill(meta("bin-dir")),
            format!("kvenv-{VERSION}-{target}/kvenv{exe}")
        );
    }
    // And scripts/package puts the binary there (this machine's archive).
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(host_archive())
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let host = host_archive()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".tar.gz")
        .to_owned();
    assert!(
        listing.lines().any(|l| l == format!("{host}/kvenv")),
        "{listing}"
    );
}

/// README's Action job, word for word: its `uses:` step in the simulated runner (with the
/// `download-url` input added, the release being local here), `vars.VAULT_ADDR` and
/// `secrets.VAULT_TOKEN` set, then its `./deploy.sh` step, which sees the values and logs `***`.
#[test]
fn readme_action_job() {
    let job = yaml_text(&crate::readme::snippet("action"));
    let steps = job["steps"].as_array().expect("steps:");
    let uses = steps
        .iter()
        .find_map(|s| s["uses"].as_str().filter(|u| u.starts_with("kvenv/kvenv@")))
        .expect("a uses: kvenv/kvenv@ step");
    let action_ref = uses.strip_prefix("kvenv/kvenv@").unwrap();
    assert_eq!(
        action_ref,
        format!("v{VERSION}"),
        "README names this version"
    );
    let step = steps.iter().find(|s| s["uses"] == uses).unwrap();

    let t = Test::new()
        .kv1("kv")
        .secret(
            "kv/production/app",
            json!({"DB_PASSWORD": "CANARY-readme-action"}),
        )
        .manifest("[vars]\nenv = \"local\"\n[secrets]\nDB_PASSWORD = \"@/kv/{env}/app\"\n")
        .write(
            "deploy.sh",
            "#!/bin/sh\necho \"deploying with $DB_PASSWORD\"\n",
        )
        .chmod("deploy.sh", 0o755);
    let dl = tempfile::tempdir().unwrap();
    let url = release(dl.path(), &musl_archive(), None);
    let mut inputs: Vec<(String, String)> = step["with"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    inputs.push(("download-url".into(), url));
    let inputs: Vec<(&str, &str)> = inputs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let caller_env: Vec<(String, String)> = step["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = expand(v.as_str().unwrap(), |expr| match expr {
                "vars.VAULT_ADDR" => server().addr.clone(),
                "secrets.VAULT_TOKEN" => ROOT_TOKEN.into(),
                _ => panic!("README's job uses ${{{{ {expr} }}}}"),
            });
            (k.clone(), v)
        })
        .collect();

    let cache = tempfile::tempdir().unwrap();
    let mut runner = Runner::new(cache.path());
    runner.env.clear(); // only what the job gives
    let ran = runner.uses_with_env(action_ref, &inputs, &caller_env, t.dir.path());
    let log = ran.log.join("\n");
    assert_eq!(ran.status, 0, "{log}");
    let deploy = steps
        .iter()
        .find_map(|s| s["run"].as_str())
        .expect("a run: step");
    let ran = runner.step(deploy, &[], t.dir.path());
    assert_eq!(ran.status, 0);
    assert_eq!(ran.log, ["deploying with ***"]);
}

/// YAML text as JSON, through PyYAML.
fn yaml_text(text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snippet.yml");
    std::fs::write(&path, text).unwrap();
    yaml(path.to_str().unwrap())
}
