//! Hostile input: fuzzing the manifest parser and the dotenv encoder and decoder (proptest,
//! bounded in cases and watched by a deadline, so a hang fails instead of stalling CI), then the
//! shapes an attacker or an accident produces: 10,000 entries, 1 MB values, nested `{var}`,
//! path traversal in the output path and in secret paths, names that are shell keywords or hold
//! `=`, and bytes that are not UTF-8. Each must give a clean answer: a result that keeps the
//! plan's invariants, or one error line with exit 2; never a panic, a hang, or a file outside the
//! manifest's folder.

use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use kvenv::manifest::Source;
use kvenv::plan::{Overrides, Plan, Target};
use kvenv::render::{self, Format, Options, Reader};
use kvenv::secret::Var;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::kit::{Figures, HEADER, kvenv, put};
use crate::rng::Rng;
use crate::server::server;
use crate::test::Test;

const MANIFEST_CASES: u32 = 6000;
const BYTES_CASES: u32 = 2000;
const VALUE_CASES: u32 = 4000;
const DECODE_CASES: u32 = 4000;

/// Run `f` on another thread and fail if it takes longer than `limit`: a hang is a failure.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    timed(limit, f).unwrap_or_else(|| panic!("no answer within {limit:?}: a hang"))
}

/// Run `f` on another thread: `None` if it takes longer than `limit` (a hang, for the caller to
/// count and fail on).
fn timed<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => Some(value),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker ended without an answer"),
        },
        Err(RecvTimeoutError::Timeout) => None,
    }
}

/// What the fuzzers counted, case by case.
#[derive(Default)]
struct Counts {
    plans_ok: AtomicUsize,
    plans_err: AtomicUsize,
    bytes: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
    junk: AtomicUsize,
    panics: AtomicUsize,
    broken: AtomicUsize,
}

impl Counts {
    /// One case: a panic or a failed check is counted, then fails the case as before.
    fn case(&self, body: impl FnOnce() -> Result<(), TestCaseError>) -> Result<(), TestCaseError> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.broken.fetch_add(1, Ordering::SeqCst);
                Err(e)
            }
            Err(panic) => {
                self.panics.fetch_add(1, Ordering::SeqCst);
                std::panic::resume_unwind(panic)
            }
        }
    }

    fn get(n: &AtomicUsize) -> usize {
        n.load(Ordering::SeqCst)
    }
}

const PATHS_ABOUT: &str = "\
Against the real server: output paths that try to leave the manifest's folder, secret paths
with `..` and encoded `..` (`%2e%2e`, `%2F`), names that are shell keywords (sourced by `sh`
with values holding `$(…)` and backquotes) or hold `=`, and a manifest that is not UTF-8. Each
must give a clean answer: a result that keeps the plan's invariants, or one error line; never a
panic, a file outside the manifest's folder, or a read of another secret.
";

const LARGE_ABOUT: &str = "\
Shapes an attacker or an accident produces, against the real server: a manifest of 10,000
entries synced from 25 secrets (OpenBao refuses a request body with more than 1,000 JSON
strings, so the keys are spread over 25 secrets), a 1 MB value with line breaks, `$` and quotes,
and placeholders that nest, refer to each other or expand to 2 MB. Each must give the exact
result or one error line, within a deadline.
";

const FUZZ_ABOUT: &str = "\
The fuzzers use proptest with a fixed number of cases, drawn from the tests' one seeded random
source. A watchdog thread turns a hang into a test failure instead of a stalled CI.
- **Manifest fuzzer.** Manifests are built from a grammar: sections, shell keywords, names with
  `=`, `{var}` tricks, `..`, `//`, `%2e%2e`, absolute paths, tables with wrong types, and junk
  lines. Each is run with and without `--output`. Every manifest that passes must keep the plan's
  invariants: clean paths, valid names, an output path inside the folder unless `--output` was
  given, and a mode of at least 0600. Every one that fails must give a `secrets.toml[:line]: …`
  error.
- **Byte fuzzer.** Random bytes (decoded as lossy UTF-8) are fed to the same parser.
- **Codec fuzzer.** Random values (any printable text plus CR, LF, tab, NUL, quotes, `\\`, `$`,
  `` ` ``, `{}`, `#`, `=`) are rendered with random sets of readers, with `export` on and off.
  Every value that is accepted must decode back exactly. Every refusal must leave the value out
  of its message. The shell format must round-trip. The decoders must survive junk.

Each case runs under `catch_unwind`, so panics and failed checks are counted before they fail
the test.
";

fn parse_and_plan(text: &str, overrides: &Overrides) -> Result<Plan, String> {
    let src = Source::new("secrets.toml", text);
    let m = src.parse().map_err(|e| e.to_string())?;
    Plan::build(&src, m, overrides).map_err(|e| e.to_string())
}

/// What every plan guarantees to the later stages, checked on whatever the fuzzer got through.
fn check_invariants(plan: &Plan, overrides: &Overrides) -> Result<(), String> {
    for e in &plan.entries {
        let p = &e.path;
        let clean = !p.is_empty()
            && !p.starts_with('/')
            && !p.ends_with('/')
            && p.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
            && !p.chars().any(char::is_control)
            // A folder import may take a whole mount; one secret is always below one.
            && (p.contains('/') || matches!(e.target, Target::Folder(_)));
        match &e.target {
            Target::Template { name, template } => {
                if !p.is_empty() || !kvenv::plan::is_identifier(name) {
                    return Err(format!("bad template {name:?} with path {p:?}"));
                }
                if let Some(r) = template
                    .references()
                    .into_iter()
                    .find(|r| !kvenv::plan::is_identifier(r))
                {
                    return Err(format!("bad template reference {r:?}"));
                }
                continue;
            }
            _ if !clean => return Err(format!("unclean path {p:?}")),
            _ => {}
        }
        match &e.target {
            Target::Folder(f) => {
                if !f.prefix.is_empty() && !kvenv::plan::is_identifier(&f.prefix) {
                    return Err(format!("bad folder prefix {:?}", f.prefix));
                }
                if f.max == 0 || e.version.is_some() {
                    return Err("a folder with max 0 or a version".into());
                }
            }
            Target::Template { .. } => {}
            Target::Var { name, key } => {
                if !kvenv::plan::is_identifier(name) || key.is_empty() {
                    return Err(format!("bad variable {name:?} / key {key:?}"));
                }
            }
            Target::Import { prefix } => {
                if !prefix.is_empty() && !kvenv::plan::is_identifier(prefix) {
                    return Err(format!("bad import prefix {prefix:?}"));
                }
            }
        }
        if e.version == Some(0) {
            return Err("version 0".into());
        }
    }
    let out = &plan.output.path;
    match &overrides.output {
        Some(o) if out != o => return Err(format!("--output ignored: {out:?}")),
        Some(_) => {}
        None => {
            if out.is_absolute()
                || out
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
            {
                return Err(format!("output escapes the manifest's folder: {out:?}"));
            }
        }
    }
    if plan.output.mode & 0o600 != 0o600 || plan.output.mode > 0o7777 {
        return Err(format!("mode {:o}", plan.output.mode));
    }
    Ok(())
}

/// Manifest text built from pieces that matter (sections, names, paths, placeholders, tables),
/// with junk mixed in.
fn manifest_strategy() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "[vault]",
        "[vars]",
        "[output]",
        "[secrets]",
        "[vault.auth]",
        "[vault.tls]",
        "[secrets.nested]",
        "[[secrets]]",
        "[bogus]",
    ]);
    let key = prop::sample::select(vec![
        "A",
        "_x1",
        "if",
        "then",
        "fi",
        "export",
        "done",
        "case",
        "\"A=B\"",
        "\"A B\"",
        "\"é\"",
        "\"POSTGRES_*\"",
        "\"*\"",
        "\"1A\"",
        "path",
        "format",
        "mode",
        "readers",
        "gitignore",
        "address",
        "namespace",
        "kv_version",
        "method",
        "role_id",
        "env",
        "project",
        "\"\"",
        "\"a.b\"",
    ]);
    let string = prop::sample::select(vec![
        "kv/app",
        "kv/{env}/app",
        "kv/{project}/{env}/x#KEY",
        "kv/{{env}}",
        "kv/{",
        "kv/}",
        "kv/{e nv}",
        "kv/../etc",
        "kv//app///x",
        "kv/%2e%2e/x",
        "/abs/path",
        "../../etc/passwd",
        "..",
        ".",
        "",
        "kv/app#",
        "kv/app#a#b",
        "kv/a\\u0000b",
        "kv/a\\nb",
        "dotenv",
        "json",
        "github",
        "0600",
        "0777",
        "0400",
        "99999",
        "sh",
        "python-dotenv",
        "{env}",
        "%2e%2e/.env",
        "sub/.env",
        "/tmp/x.env",
        "C:\\\\x",
    ]);
    let value = prop_oneof![
        string.clone().prop_map(|s| format!("\"{s}\"")),
        string.clone().prop_map(|s| format!("'{s}'")),
        (string.clone(), string.clone(), any::<i64>(), any::<bool>()).prop_map(
            |(p, k, v, o)| format!(
                "{{ path = \"{p}\", key = \"{k}\", version = {v}, optional = {o} }}"
            )
        ),
        (string.clone(), string.clone())
            .prop_map(|(p, d)| format!("{{ path = \"{p}\", default = \"{d}\" }}")),
        (string.clone(), 0i64..4).prop_map(|(m, v)| format!("{{ \"{m}\" = {v} }}")),
        Just("true".to_owned()),
        Just("42".to_owned()),
        Just("[\"sh\", \"node\"]".to_owned()),
        Just("[]".to_owned()),
        Just("{ env = \"X\" }".to_owned()),
        "\\PC{0,12}".prop_map(|s| format!("\"{}\"", s.replace(['"', '\\'], ""))),
    ];
    let line = prop_oneof![
        3 => (key.clone(), value.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => section.prop_map(str::to_owned),
        1 => "\\PC{0,20}",
    ];
    let wild = prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"));

    // Mostly well-formed: the three sections in order, so that many cases reach the plan.
    let var = (
        prop::sample::select(vec!["env", "project", "a", "b", "x y", "é"]),
        string.clone(),
    )
        .prop_map(|(k, v)| format!("\"{k}\" = \"{v}\""));
    let output = prop::collection::vec(
        (
            prop::sample::select(vec!["path", "format", "mode", "export", "gitignore"]),
            string.clone(),
        )
            .prop_map(|(k, v)| match k {
                "export" | "gitignore" => format!("{k} = true"),
                _ => format!("{k} = \"{v}\""),
            }),
        0..3,
    );
    let entry = (key, value).prop_map(|(k, v)| format!("{k} = {v}"));
    let structured = (
        prop::collection::vec(var, 0..4),
        output,
        prop::collection::vec(entry, 0..12),
    )
        .prop_map(|(vars, output, entries)| {
            let mut out: Vec<&str> = Vec::new();
            let (vars, output, entries) = (vars.join("\n"), output.join("\n"), entries.join("\n"));
            out.extend(["[vars]", &vars, "[output]", &output, "[secrets]", &entries]);
            out.join("\n")
        });
    prop_oneof![1 => wild, 2 => structured]
}

#[test]
fn fuzz_the_manifest_and_the_dotenv_codec() {
    let started = Instant::now();
    // Every runner draws from the one seeded source, so KVENV_TEST_SEED replays them all.
    let mut rng = Rng::new("fuzz");
    let [manifest_rng, bytes_rng, value_rng, decode_rng] = [(); 4].map(|_| rng.proptest());
    let counts = std::sync::Arc::new(Counts::default());
    let c = counts.clone();
    let manifests = timed(Duration::from_secs(120), move || {
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: MANIFEST_CASES,
                failure_persistence: None,
                ..Config::default()
            },
            manifest_rng,
        );
        runner
            .run(
                &(manifest_strategy(), any::<bool>()),
                |(text, with_output)| {
                    c.case(|| {
                        let overrides = Overrides {
                            output: with_output.then(|| "/elsewhere/out.env".into()),
                            ..Overrides::default()
                        };
                        match parse_and_plan(&text, &overrides) {
                            Ok(plan) => {
                                c.plans_ok.fetch_add(1, Ordering::SeqCst);
                                check_invariants(&plan, &overrides).map_err(|e| {
                                    TestCaseError::fail(format!("{e} from:\n{text}"))
                                })?;
                            }
                            Err(message) => {
                                // (A message may hold a line break copied from a quoted TOML
                                // key; main.rs prints every error on one line whatever it holds.)
                                c.plans_err.fetch_add(1, Ordering::SeqCst);
                                prop_assert!(message.starts_with("secrets.toml"), "{message:?}");
                            }
                        }
                        Ok(())
                    })
                },
            )
            .unwrap();

        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: BYTES_CASES,
                failure_persistence: None,
                ..Config::default()
            },
            bytes_rng,
        );
        runner
            .run(&prop::collection::vec(any::<u8>(), 0..400), |bytes| {
                c.case(|| {
                    c.bytes.fetch_add(1, Ordering::SeqCst);
                    let text = String::from_utf8_lossy(&bytes);
                    let _ = parse_and_plan(&text, &Overrides::default());
                    Ok(())
                })
            })
            .unwrap();
    });

    // The dotenv codec: every value the renderer accepts is read back exactly by kvenv's own
    // decoder, in every encoding; refusals never carry the value; decoding junk never panics.
    let c = counts.clone();
    let codec = timed(Duration::from_secs(120), move || {
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: VALUE_CASES,
                failure_persistence: None,
                ..Config::default()
            },
            value_rng,
        );
        let readers = prop::sample::subsequence(Reader::ALL.to_vec(), 1..=8);
        runner
            .run(
                &(
                    prop::collection::vec("(\\PC|[\\r\\n\\t\\u{0}'\"\\\\$`{}#=])*", 1..6),
                    readers,
                    any::<bool>(),
                ),
                |(values, readers, export)| {
                    c.case(|| {
                        let vars: Vec<Var> = values
                            .iter()
                            .enumerate()
                            .map(|(i, v)| Var::new(format!("V{i}"), format!("CANARY{v}"), "kv/app"))
                            .collect();
                        let opts = Options {
                            format: Format::Dotenv,
                            readers: &readers,
                            export,
                            header: "# h".into(),
                        };
                        match render::render(&vars, &opts) {
                            Ok(bytes) => {
                                c.accepted.fetch_add(1, Ordering::SeqCst);
                                let text = String::from_utf8(bytes).unwrap();
                                let mut got = kvenv::render::dotenv::decode(&text)
                                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                                let mut want: Vec<(String, String)> = vars
                                    .iter()
                                    .map(|v| (v.name.clone(), v.value.expose().to_owned()))
                                    .collect();
                                got.sort();
                                want.sort();
                                prop_assert_eq!(got, want);
                            }
                            Err(e) => {
                                c.refused.fetch_add(1, Ordering::SeqCst);
                                let message = e.to_string();
                                for v in &vars {
                                    prop_assert!(!message.contains(v.value.expose()));
                                }
                            }
                        }
                        let shell = kvenv::render::shell::render(
                            "# h",
                            &vars
                                .iter()
                                .filter(|v| !v.value.expose().contains('\0'))
                                .cloned()
                                .collect::<Vec<_>>(),
                        );
                        let back = kvenv::render::shell::decode(&shell)
                            .ok_or_else(|| TestCaseError::fail("shell decode"))?;
                        prop_assert_eq!(
                            back.len(),
                            vars.iter()
                                .filter(|v| !v.value.expose().contains('\0'))
                                .count()
                        );
                        Ok(())
                    })
                },
            )
            .unwrap();

        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: DECODE_CASES,
                failure_persistence: None,
                ..Config::default()
            },
            decode_rng,
        );
        runner
            .run(&"(\\PC|[\\r\\n'\"\\\\=#$` ]|export )*", |text| {
                c.case(|| {
                    c.junk.fetch_add(1, Ordering::SeqCst);
                    let _ = kvenv::render::dotenv::decode(&text);
                    let _ = kvenv::render::shell::decode(&text);
                    Ok(())
                })
            })
            .unwrap();
    });
    let hangs = usize::from(manifests.is_none()) + usize::from(codec.is_none());

    let get = Counts::get;
    let mut f = Figures::new("fuzz", "Fuzzing (`hostile.rs`)", FUZZ_ABOUT);
    f.add(
        "manifest cases (grammar-built, with and without --output)",
        get(&counts.plans_ok) + get(&counts.plans_err),
    );
    f.varies(
        "of which plans built / one-line errors",
        format!("{} / {}", get(&counts.plans_ok), get(&counts.plans_err)),
    );
    f.add(
        "manifest cases (random bytes, lossy UTF-8)",
        get(&counts.bytes),
    );
    f.add(
        "dotenv render → decode cases (random readers, export on/off)",
        get(&counts.accepted) + get(&counts.refused),
    );
    f.varies(
        "of which read back exactly / refused without the value",
        format!("{} / {}", get(&counts.accepted), get(&counts.refused)),
    );
    f.add(
        "decoder cases on junk (dotenv and shell)",
        get(&counts.junk),
    );
    f.add("panics", get(&counts.panics));
    f.add("hangs (no answer within 120 s)", hangs);
    f.add(
        "broken invariants (a plan, an error line, a round trip, a refusal)",
        get(&counts.broken),
    );
    f.varies("seed (KVENV_TEST_SEED)", rng.seed());
    f.varies(
        "duration",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    f.save();
    assert_eq!(hangs, 0, "a fuzzer gave no answer within 120 s: a hang");
}

#[test]
fn large_and_nested_inputs_stay_fast_and_exact() {
    let mut f = Figures::new(
        "large_inputs",
        "Large and nested inputs (`hostile.rs`)",
        LARGE_ABOUT,
    );

    // 10,000 entries: planned, validated by the binary, and synced from one secret.
    let t = Test::new().kv1("kv");
    let (dir, prefix) = (t.dir, t.prefix);
    let mut manifest = format!("[vault]\nkv_version = {{ \"{prefix}/kv\" = 1 }}\n[secrets]\n");
    // OpenBao refuses a request body with more than 1,000 JSON strings: 25 secrets of 400 keys.
    let mut data = vec![serde_json::Map::new(); 25];
    for i in 0..10_000 {
        manifest.push_str(&format!("V{i} = \"{prefix}/kv/big{}#k{i}\"\n", i % 25));
        data[i % 25].insert(format!("k{i}"), json!(format!("value-{i}")));
    }
    for (n, d) in data.into_iter().enumerate() {
        put(&format!("{prefix}/kv/big{n}"), serde_json::Value::Object(d));
    }
    std::fs::write(dir.path().join("secrets.toml"), &manifest).unwrap();
    let t0 = Instant::now();
    let out = kvenv(dir.path(), &server().addr, &["sync", "-v"])
        .output()
        .unwrap();
    let sync_time = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("kvenv: 25 HTTP requests to"), "{stderr}");
    let requests: usize = stderr
        .lines()
        .find_map(|l| {
            let (n, _) = l.strip_prefix("kvenv: ")?.split_once(" HTTP requests to")?;
            n.parse().ok()
        })
        .unwrap_or(0);
    let written = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let vars = kvenv::render::dotenv::decode(&written).unwrap();
    assert_eq!(vars.len(), 10_000);
    assert!(vars.iter().all(|(n, v)| v == &format!("value-{}", &n[1..])));
    assert!(sync_time < Duration::from_secs(120), "{sync_time:?}");
    let exact = vars
        .iter()
        .filter(|(n, v)| v == &format!("value-{}", &n[1..]))
        .count();
    f.add(
        "10,000 entries: `kvenv sync -v` from 25 secrets",
        format!("{requests} HTTP requests, {exact} variables exact"),
    );
    f.varies(
        "10,000 entries: time of that sync (debug binary)",
        format!("{} ms", sync_time.as_millis()),
    );
    // How planning scales with the entry count, measured in-process at two sizes (it was
    // quadratic once, when each entry's line number was counted from the top of the file).
    let mut plan_ms = Vec::new();
    for n in [500, 2000] {
        let text: String = manifest
            .lines()
            .take(3 + n)
            .map(|l| format!("{l}\n"))
            .collect();
        let took = within(Duration::from_secs(60), move || {
            let t0 = Instant::now();
            let plan = parse_and_plan(&text, &Overrides::default()).unwrap();
            assert_eq!(plan.entries.len(), n);
            t0.elapsed()
        });
        plan_ms.push(took.as_secs_f64() * 1000.0);
    }
    f.varies(
        "plan time, 500 → 2,000 entries (debug, in-process)",
        format!(
            "{:.0} ms → {:.0} ms (×{:.1} for ×4 entries)",
            plan_ms[0],
            plan_ms[1],
            plan_ms[1] / plan_ms[0]
        ),
    );

    // A 1 MB value, every byte of it printable or a line break, written and read back exactly.
    let t = Test::new().kv1("kv");
    let (dir, prefix) = (t.dir, t.prefix);
    let big: String = (0..1_048_576)
        .map(|i| match i % 97 {
            0 => '\n',
            n => (b' ' + (n % 90) as u8) as char,
        })
        .filter(|c| *c != '\'' && *c != '\\')
        .collect();
    put(&format!("{prefix}/kv/app"), json!({ "BIG": big }));
    std::fs::write(
        dir.path().join("secrets.toml"),
        format!("[output]\nreaders = [\"python-dotenv-raw\", \"node\"]\n[secrets]\nBIG = \"{prefix}/kv/app\"\n"),
    )
    .unwrap();
    let t0 = Instant::now();
    let out = kvenv(dir.path(), &server().addr, &["sync", "-q"])
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let vars = kvenv::render::dotenv::decode(&written).unwrap();
    let exact_bytes = vars
        .iter()
        .find(|(n, v)| n == "BIG" && *v == big)
        .map_or(0, |(_, v)| v.len());
    assert_eq!(vars, vec![("BIG".to_owned(), big.clone())]);
    f.add(
        "1 MB value (with line breaks, `$`, quotes): sync and read back",
        format!("{exact_bytes} bytes exact"),
    );
    f.varies(
        "1 MB value: time of that sync",
        format!("{} ms", took.as_millis()),
    );

    // Nested and self-referring placeholders: one error or a literal result, never expansion.
    let deep = format!("kv/{}env{}/x", "{".repeat(10_000), "}".repeat(10_000));
    let cases: Vec<(String, Result<String, &str>)> = vec![
        (
            format!("[vars]\nenv = \"x\"\n[secrets]\nA = \"{deep}\"\n"),
            Err("is not a placeholder"),
        ),
        (
            "[vars]\na = \"{b}\"\nb = \"{a}\"\n[secrets]\nA = \"kv/{a}/{b}\"\n".into(),
            Ok("kv/{b}/{a}".into()),
        ),
        (
            "[vars]\na = \"../../x\"\n[secrets]\nA = \"kv/{a}\"\n".into(),
            Err("the segment \"..\" is not allowed"),
        ),
        (
            format!(
                "[vars]\na = \"{}\"\n[secrets]\nA = \"kv/{}\"\n",
                "x".repeat(1000),
                "{a}".repeat(2000)
            ),
            Ok(format!("kv/{}", "x".repeat(2_000_000))),
        ),
    ];
    let (nested, mut held) = (cases.len(), 0);
    for (text, want) in cases {
        let got = within(Duration::from_secs(20), move || {
            parse_and_plan(&text, &Overrides::default()).map(|p| p.entries[0].path.clone())
        });
        match (got, want) {
            (Ok(path), Ok(w)) => assert_eq!(path, w),
            (Err(message), Err(w)) => {
                assert!(message.contains(w), "{message}");
                assert!(message.len() < 200_000);
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
        held += 1;
    }
    f.add(
        "nested / self-referring / 2 MB-expanding placeholders",
        format!("{held} of {nested} cases never re-expanded, each answered within 20 s"),
    );
    f.save();
}

#[test]
fn traversal_names_and_bytes_are_refused_or_kept_literal() {
    let mut f = Figures::new(
        "hostile_paths",
        "Traversal, names and bytes (`hostile.rs`)",
        PATHS_ABOUT,
    );
    let t = Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"A": "app-value"}))
        .secret("kv/other", json!({"X": "CANARY-other-secret"}));
    let (dir, prefix) = (t.dir, t.prefix);
    let root = dir.path().join("project");
    std::fs::create_dir(&root).unwrap();
    let run = |manifest: &str, extra: &[&str]| {
        std::fs::write(
            root.join("secrets.toml"),
            manifest.replace("@/", &format!("{prefix}/")),
        )
        .unwrap();
        let mut args = vec!["sync"];
        args.extend_from_slice(extra);
        let out = kvenv(&root, &server().addr, &args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains("CANARY"), "{stderr}");
        (out.status.code().unwrap_or(-1), stderr)
    };
    let mut codes = BTreeMap::new();

    // The output path may not leave the manifest's folder.
    for (path, why) in [
        (
            "../escape.env",
            "must be a file path inside the manifest's folder",
        ),
        (
            "sub/../../escape.env",
            "must be a file path inside the manifest's folder",
        ),
        (
            "/tmp/kvenv-escape.env",
            "must be a file path inside the manifest's folder",
        ),
        ("", "must be a file path inside the manifest's folder"),
    ] {
        let (code, stderr) = run(
            &format!("[output]\npath = \"{path}\"\n[secrets]\nA = \"@/kv/app\"\n"),
            &[],
        );
        assert_eq!(code, 2, "{path}: {stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert_eq!(stderr.lines().count(), 1);
        codes.insert(format!("output.path = {path:?}"), code);
    }
    let outside = [
        dir.path().join("escape.env"),
        Path::new("/tmp/kvenv-escape.env").to_path_buf(),
    ];
    let mut written_outside = outside.iter().filter(|p| p.exists()).count();
    assert!(!dir.path().join("escape.env").exists());
    assert!(!Path::new("/tmp/kvenv-escape.env").exists());
    // `%2e%2e` is a folder name, not `..`: with no such folder, nothing is written anywhere.
    let (code, stderr) = run(
        "[output]\npath = \"%2e%2e/x.env\"\n[secrets]\nA = \"@/kv/app\"\n",
        &[],
    );
    assert_eq!(code, 6, "{stderr}");
    assert_eq!(
        stderr,
        "kvenv: error: cannot write %2e%2e/x.env: no such file or directory\n"
    );
    written_outside += usize::from(dir.path().join("x.env").exists());
    assert!(!dir.path().join("x.env").exists());
    codes.insert("output.path = \"%2e%2e/x.env\"".into(), code);
    // `a//b` is a/b.
    std::fs::create_dir(root.join("a")).unwrap();
    let (code, _) = run(
        "[output]\npath = \"a//b.env\"\n[secrets]\nA = \"@/kv/app\"\n",
        &["-q"],
    );
    assert_eq!(code, 0);
    assert!(root.join("a/b.env").is_file());
    codes.insert("output.path = \"a//b.env\"".into(), code);
    // An absolute path is fine when given explicitly.
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("app.env");
    let (code, stderr) = run(
        "[secrets]\nA = \"@/kv/app\"\n",
        &["-q", "--output", target.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .ends_with("A='app-value'\n")
    );
    codes.insert("--output /absolute/path".into(), code);

    // Secret paths: `..` is refused; `%2e%2e` and `%2F` are sent encoded, so they name a
    // literal segment (no secret there) and never another secret: the server's audit log shows
    // no read of it.
    let mark = server().audit_mark();
    let (code, stderr) = run("[secrets]\nX = \"@/kv/app/../other\"\n", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the segment \"..\" is not allowed"),
        "{stderr}"
    );
    codes.insert("secret path with ..".into(), code);
    for path in [
        "@/kv/app/%2e%2e/other",
        "@/kv/app%2F..%2Fother",
        "@/kv/app/%2E%2E/other",
    ] {
        let (code, stderr) = run(&format!("[secrets]\nX = \"{path}\"\n"), &[]);
        assert_eq!(code, 4, "{path}: {stderr}");
        assert!(stderr.contains("no secret there"), "{stderr}");
        codes.insert(format!("secret path {path:?}"), code);
    }
    let other = format!("{prefix}/kv/other");
    let other_reads = server()
        .audited_requests(mark, &prefix)
        .iter()
        .filter(|(_, p)| *p == other)
        .count();
    assert_eq!(other_reads, 0, "a read of {other} through an encoded ..");
    let (code, _) = run("[secrets]\nA = \"/@/kv//app\"\n", &["-q"]);
    assert_eq!(code, 0);
    codes.insert("secret path with // and a leading /".into(), code);
    // A trailing / names a folder, which only an import (`NAME_*`) can take.
    let (code, stderr) = run("[secrets]\nA = \"@/kv/app/\"\n", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("ends in /, so it names a folder"),
        "{stderr}"
    );
    codes.insert("one secret's name for a path ending in /".into(), code);

    // Names: shell keywords are names like any other (and sh reads them back); `=` is refused.
    let keywords = [
        "if", "then", "fi", "for", "do", "done", "case", "esac", "while", "export",
    ];
    let mut manifest = "[output]\nreaders = [\"sh\"]\n[secrets]\n".to_owned();
    let mut data = serde_json::Map::new();
    for k in keywords {
        manifest.push_str(&format!("{k} = \"@/kv/kw#{k}\"\n"));
        data.insert(k.into(), json!(format!("{k} value; $(touch pwned) `id`")));
    }
    put(&format!("{prefix}/kv/kw"), serde_json::Value::Object(data));
    let (code, stderr) = run(&manifest, &["-q"]);
    assert_eq!(code, 0, "{stderr}");
    let names = keywords.join(" ");
    let sourced = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -a; . ./.env; for n in {names}; do eval \"printf '%s|' \\\"\\${{$n}}\\\"\"; done"
        ))
        .current_dir(&root)
        .env_clear()
        .output()
        .unwrap();
    let want: String = keywords
        .iter()
        .map(|k| format!("{k} value; $(touch pwned) `id`|"))
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&sourced.stdout),
        want,
        "{sourced:?}"
    );
    assert!(
        !root.join("pwned").exists(),
        "sh ran a command from a value"
    );
    codes.insert("shell keywords as names, sourced by sh".into(), code);
    let (code, stderr) = run("[secrets]\n\"A=B\" = \"@/kv/app#A\"\n", &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not a valid environment variable name"),
        "{stderr}"
    );
    codes.insert("name containing =".into(), code);
    // A key with `=` imported through a prefix becomes a valid name.
    put(&format!("{prefix}/kv/eq"), json!({"a=b": "eq-value"}));
    let (code, stderr) = run("[secrets]\n\"P_*\" = \"@/kv/eq\"\n", &["-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read_to_string(root.join(".env"))
            .unwrap()
            .ends_with("P_A_B='eq-value'\n")
    );
    codes.insert("key with = imported as P_*".into(), code);

    // Bytes that are not UTF-8.
    std::fs::write(
        root.join("secrets.toml"),
        b"[secrets]\nA = \"kv/\xff\xfe\"\n",
    )
    .unwrap();
    let out = kvenv(&root, &server().addr, &["sync"]).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "kvenv: error: cannot read manifest secrets.toml: stream did not contain valid UTF-8\n"
    );
    codes.insert("manifest with non-UTF-8 bytes".into(), code);
    assert!(
        std::fs::read_to_string(root.join(".env"))
            .unwrap()
            .starts_with(HEADER)
    );

    for (case, code) in &codes {
        f.add(case, format!("exit {code}"));
    }
    f.add(
        "files written outside the manifest's folder without --output",
        written_outside,
    );
    f.add(
        "reads of the other secret through an encoded .. (server audit log)",
        other_reads,
    );
    f.save();
}
