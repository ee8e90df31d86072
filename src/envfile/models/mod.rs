//! One small model per reader: what that reader's parser reads from one `NAME=value` entry.
//!
//! Each model follows its parser's code for the dialect hand-kept files use, and says no for
//! the rest: a model returns a value only where kvenv knows exactly what the parser reads, and
//! otherwise why not, as a phrase with the reader as its subject ("stops reading the file at
//! ..."), never quoting the entry. A model may be stricter than its parser, never looser. The
//! facts each one relies on are in `docs/hand-kept.md`; `tests/conformance.rs` checks every
//! entry the models accept against the real parsers.
//!
//! All models see the original text; the parsers that rewrite line breaks before parsing
//! (python-dotenv and node-dotenv turn every CR into LF, node deletes every CR, godotenv turns
//! CRLF into LF) are modelled by a [`Cr`] view of the characters, so that every model reports
//! where its entry ends in the same offsets.

use crate::render::Reader;
use crate::render::readers::python_interpolates;

/// The part of an entry every reader agrees on: `[export ]NAME=`, with the blanks kvenv allows
/// (spaces and tabs only), and where the value starts.
#[derive(Debug)]
pub(super) struct Entry<'a> {
    pub text: &'a str,
    /// Spaces and tabs before the name (or before `export`).
    pub lead: &'a str,
    /// The blanks after `export`, when the line starts with it.
    pub export: Option<&'a str>,
    pub name: &'a str,
    /// Blanks between the name and `=`.
    pub before_eq: &'a str,
    /// Blanks after `=`.
    pub after_eq: &'a str,
    /// Offset of the value's first character (or of the line break, for an empty value).
    pub value_start: usize,
}

impl<'a> Entry<'a> {
    /// The rest of the physical line from `from` (without its `\n`), and the offset just past
    /// that line break (or the end of the text).
    fn rest_of_line(&self, from: usize) -> (&'a str, usize) {
        match self.text[from..].find('\n') {
            Some(i) => (&self.text[from..from + i], from + i + 1),
            None => (&self.text[from..], self.text.len()),
        }
    }

    fn first(&self) -> Option<char> {
        self.text[self.value_start..].chars().next()
    }
}

/// What one reader reads from one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Reading {
    pub value: String,
    /// Offset just past the entry: past the line break that ends its last line.
    pub end: usize,
    /// What the reader did on the way, to explain a disagreement; never the value.
    pub notes: Vec<&'static str>,
}

impl Reading {
    fn note(&mut self, note: &'static str) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// Why a reader would not read the entry as kvenv does, with the reader as the subject.
pub(super) type Why = &'static str;

/// What `reader` reads from `e`.
pub(super) fn read(reader: Reader, e: &Entry) -> Result<Reading, Why> {
    match reader {
        Reader::PythonDotenv => python(e, true),
        Reader::PythonDotenvRaw => python(e, false),
        Reader::NodeDotenv => node_dotenv(e),
        Reader::Node => node(e),
        Reader::DockerCompose => compose(e),
        Reader::Dotenvy => dotenvy(e),
        Reader::Godotenv => godotenv(e),
        Reader::Sh => sh(e),
    }
}

/// Whether `reader` reads a blank or comment line (`line`, without its `\n`) as nothing;
/// `last_without_newline`: the file ends on it without a line break.
pub(super) fn quiet_line(
    reader: Reader,
    line: &str,
    blank: bool,
    last_without_newline: bool,
) -> Result<(), Why> {
    let indented = line.starts_with([' ', '\t']);
    let lone_cr = line.trim_end_matches('\r').contains('\r');
    match reader {
        Reader::PythonDotenv | Reader::PythonDotenvRaw | Reader::NodeDotenv if lone_cr => {
            Err("reads a CR inside a comment or blank line as a line break")
        }
        // From a line that starts with a blank, node takes everything up to the next `=`, line
        // breaks included, as the next name (measured: `A=1\n  # d\nB=1` sets "# d\nB").
        Reader::Node if indented && blank => {
            Err("reads a line of spaces or tabs as the start of the next variable's name")
        }
        Reader::Node if indented => {
            Err("reads an indented comment as the start of the next variable's name")
        }
        Reader::Sh if blank && line.contains('\r') => {
            Err("runs a CR on a line of its own as a command")
        }
        Reader::Dotenvy if blank && last_without_newline && indented => {
            Err("stops with an error at a last line of blanks without a line break")
        }
        _ => Ok(()),
    }
}

/// Whether `reader` skips a byte order mark at the start of the file.
pub(super) fn skips_bom(reader: Reader) -> bool {
    // python-dotenv strips it; node-dotenv's `\s` matches U+FEFF; compose strips it. dotenvy's
    // iterator (`from_path_iter`) keeps it, node, godotenv and the shells read it as part of
    // the first name.
    matches!(
        reader,
        Reader::PythonDotenv | Reader::PythonDotenvRaw | Reader::NodeDotenv | Reader::DockerCompose
    )
}

/// How a reader sees CR before it parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cr {
    /// As it is.
    Raw,
    /// Every CRLF and every lone CR is LF (python-dotenv reads in universal-newline mode,
    /// node-dotenv replaces `\r\n?`).
    Lf,
    /// Every CR is deleted (node).
    Drop,
    /// CRLF is LF, a lone CR stays (godotenv).
    PairOnly,
}

/// The characters from `pos` on, as a reader sees them, with their offsets in the original.
struct View<'a> {
    text: &'a str,
    pos: usize,
    cr: Cr,
}

impl Iterator for View<'_> {
    type Item = (usize, char);

    fn next(&mut self) -> Option<(usize, char)> {
        loop {
            let at = self.pos;
            let c = self.text[at..].chars().next()?;
            self.pos += c.len_utf8();
            if c != '\r' {
                return Some((at, c));
            }
            let lf_next = self.text[self.pos..].starts_with('\n');
            match self.cr {
                Cr::Raw => return Some((at, c)),
                Cr::Drop => continue,
                Cr::Lf | Cr::PairOnly if lf_next => {
                    self.pos += 1;
                    return Some((at, '\n'));
                }
                Cr::Lf => return Some((at, '\n')),
                Cr::PairOnly => return Some((at, c)),
            }
        }
    }
}

/// Where a quoted value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// At the first quote character: nothing escapes it.
    First,
    /// At the first quote not taken by a `\` pair (`\` pairs with whatever follows it).
    Pairs,
    /// At the first quote whose previous character is not `\` (godotenv 1.5.1).
    NotAfterBackslash,
}

/// The content of the quoted value that opens at `e.value_start`, as the reader sees it, and
/// the offset just past its closing quote; `None` when the quote never closes.
fn quoted(e: &Entry, q: char, cr: Cr, close: Close) -> Option<(String, usize)> {
    let mut view = View {
        text: e.text,
        pos: e.value_start + 1,
        cr,
    };
    let mut content = String::new();
    let mut prev = None;
    while let Some((at, c)) = view.next() {
        if c == q && !(close == Close::NotAfterBackslash && prev == Some('\\')) {
            return Some((content, at + 1));
        }
        content.push(c);
        if c == '\\' && close == Close::Pairs {
            let (_, next) = view.next()?;
            content.push(next);
            prev = Some(next);
        } else {
            prev = Some(c);
        }
    }
    None
}

/// Single-quoted runs joined by `\'` (`'it'\''s'`, the shell's way to put a `'` in single
/// quotes), for the readers that take it (sh, dotenvy): the value and the offset past the last
/// closing quote.
fn single_runs(e: &Entry) -> Option<(String, usize)> {
    let (mut value, mut after) = quoted(e, '\'', Cr::Raw, Close::First)?;
    while e.text[after..].starts_with("\\''") {
        value.push('\'');
        let next = Entry {
            value_start: after + 2,
            ..*e
        };
        let (more, end) = quoted(&next, '\'', Cr::Raw, Close::First)?;
        value.push_str(&more);
        after = end;
    }
    Some((value, after))
}

/// `content` as `\`-pairs and single characters, in order: `(Some(x), _)` is `\x`.
fn pairs(content: &str) -> Vec<(Option<char>, char)> {
    let mut out = Vec::new();
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(x) => out.push((Some(x), x)),
                None => out.push((None, '\\')),
            },
            c => out.push((None, c)),
        }
    }
    out
}

/// The unquoted rest of a line as a reader sees it: a final CR (of CRLF) removed for readers
/// that drop or convert it; `Err` on a CR left in the middle, which readers split lines at,
/// delete or keep.
fn unquoted_line<'a>(e: &Entry<'a>, cr: Cr) -> Result<(&'a str, usize), Why> {
    let (raw, end) = e.rest_of_line(e.value_start);
    let raw = match cr {
        Cr::Raw => raw,
        _ => raw.strip_suffix('\r').unwrap_or(raw),
    };
    if cr != Cr::Raw && raw.contains('\r') {
        return Err(LONE_CR);
    }
    Ok((raw, end))
}

const GODOTENV_ESCAPE: Why = "may read this \\ escape in double quotes differently (kvenv checked only \\\\ \\\" \\' \\n \\r for it)";
const LONE_CR: Why =
    "reads a CR that is not part of CRLF differently (kvenv does not know exactly)";
const NOT_CLOSED_STOP: Why = "stops reading the file: the quote is not closed";
const NOT_CLOSED_REJECT: Why = "rejects the whole file: the quote is not closed";

const HASH_KEPT: &str = "keeps a # that has no blank before it";
const HASH_AFTER_EQ_COMMENT: &str = "reads a # right after = (and its blanks) as a comment";
const SQ_BACKSLASH_KEPT: &str = "keeps \\ in single quotes";
const CR_AS_LF: &str = "reads CR as LF";
const CR_KEPT: &str = "keeps CR";
const CR_DELETED: &str = "deletes every CR";

/// What follows a closing quote on its line, for each reader's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// python-dotenv: `[ \t]*(#...)?`; anything else and it skips the line.
    Python,
    /// node-dotenv: `\s*(#.*)?$`; anything else and its regex reads the whole line instead.
    NodeDotenv,
    /// node: ignores the rest of the line.
    Node,
    /// compose and godotenv: the next statement starts; a `#` starts a comment.
    NextStatement,
    /// dotenvy (which drops the CR of CRLF) and sh (which keeps it): blanks, then a `#`
    /// comment; text right after the quote joins the value.
    Dotenvy,
    Sh,
}

/// Check the text after the closing quote that ends at `after` against `rule`; the offset just
/// past the line.
fn tail(e: &Entry, after: usize, rule: Tail) -> Result<usize, Why> {
    let (rest, end) = e.rest_of_line(after);
    if rule == Tail::Node {
        return Ok(end);
    }
    if rule == Tail::Sh && rest.contains('\r') {
        return Err("keeps a CR after the closing quote as part of the value");
    }
    let rest = rest.strip_suffix('\r').unwrap_or(rest);
    if rest.contains('\r') {
        return Err(LONE_CR);
    }
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let spaced = trimmed.len() < rest.len();
    let shell = matches!(rule, Tail::Dotenvy | Tail::Sh);
    if trimmed.is_empty() || (trimmed.starts_with('#') && (spaced || !shell)) {
        return Ok(end);
    }
    Err(match rule {
        Tail::Python => "skips the line: text follows the closing quote",
        Tail::NodeDotenv => {
            "reads the whole line, quotes included, when text follows the closing quote"
        }
        Tail::NextStatement => "reads text after the closing quote as the next variable",
        _ if trimmed.starts_with('#') => {
            "reads a # right after the closing quote as part of the value"
        }
        _ => "reads text after the closing quote as more of the value, or as a command",
    })
}

// ---------------------------------------------------------------------------------------------
// python-dotenv 1.2.4 (`parser.py`, `main.py`, `variables.py`).

mod compose;
mod dotenvy;
mod godotenv;
mod node;
mod python;
mod sh;

use compose::compose;
use dotenvy::dotenvy;
use godotenv::godotenv;
use node::{node, node_dotenv};
use python::{python, python_dq_escape};
use sh::sh;
