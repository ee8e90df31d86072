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

fn python(e: &Entry, interpolate: bool) -> Result<Reading, Why> {
    let mut r = Reading::default();
    match e.first() {
        // `parse_value` returns "" at a line break or the end of the file.
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some('\r') => {
            let (rest, end) = e.rest_of_line(e.value_start);
            if rest != "\r" {
                return Err(LONE_CR);
            }
            r.end = end;
        }
        // `KEY= # comment`: blanks after `=` then `#` is an empty value and a comment.
        Some('#') if !e.after_eq.is_empty() => {
            r.note(HASH_AFTER_EQ_COMMENT);
            r.end = unquoted_line(e, Cr::Lf)?.1;
        }
        Some(q @ ('\'' | '"')) => {
            let (content, after) = quoted(e, q, Cr::Lf, Close::Pairs)
                .ok_or("skips the line: the quote is not closed")?;
            if e.text[e.value_start..after].contains('\r') {
                r.note(CR_AS_LF);
            }
            for (escape, c) in pairs(&content) {
                let decoded = match (q, escape) {
                    (_, None) => c,
                    ('\'', Some('\\')) => {
                        r.note("reads \\\\ in single quotes as one \\");
                        '\\'
                    }
                    ('\'', Some('\'')) => {
                        r.note("reads \\' in single quotes as '");
                        '\''
                    }
                    ('\'', Some(_)) => {
                        r.note(SQ_BACKSLASH_KEPT);
                        r.value.push('\\');
                        c
                    }
                    (_, Some(x)) => match python_dq_escape(x) {
                        Some(d) => {
                            r.note(match x {
                                '\\' => "reads \\\\ in double quotes as one \\",
                                '"' => "reads \\\" in double quotes as \"",
                                '\'' => "reads \\' in double quotes as '",
                                _ => "reads \\n, \\t, \\r and the like in double quotes as control characters",
                            });
                            d
                        }
                        None => {
                            r.note("keeps other \\ escapes in double quotes");
                            r.value.push('\\');
                            x
                        }
                    },
                };
                r.value.push(decoded);
            }
            r.end = tail(e, after, Tail::Python)?;
        }
        Some(_) => {
            let (raw, end) = unquoted_line(e, Cr::Lf)?;
            // `re.sub(r"\s+#.*", "", part).rstrip()`
            let cut = raw
                .char_indices()
                .find(|&(i, c)| c == '#' && i > 0 && raw[..i].ends_with([' ', '\t']))
                .map(|(i, _)| raw[..i].trim_end_matches([' ', '\t']).len());
            if cut.is_some() {
                r.note("ends an unquoted value at a blank followed by #");
            }
            r.value = raw[..cut.unwrap_or(raw.len())]
                .trim_end_matches([' ', '\t'])
                .to_owned();
            if r.value.contains('#') {
                r.note(HASH_KEPT);
            }
            r.end = end;
        }
    }
    if interpolate && python_interpolates(&r.value) {
        return Err(
            "expands ${...} in every value, even in single quotes (python-dotenv-raw is python-dotenv loaded with interpolate=False)",
        );
    }
    Ok(r)
}

/// python-dotenv's `\\[\\'\"abfnrtv]`, decoded as `unicode-escape` does.
fn python_dq_escape(x: char) -> Option<char> {
    Some(match x {
        '\\' | '\'' | '"' => x,
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// npm dotenv 16.6.1 (`lib/main.js`): one regex over the whole file, after `\r\n?` → `\n`:
// `\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|
// \s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$` (multi-line mode), then the value is trimmed,
// its matching outer quotes removed, and in double quotes `\n` and `\r` become LF and CR.

fn node_dotenv(e: &Entry) -> Result<Reading, Why> {
    let mut r = Reading::default();
    match e.first() {
        None | Some('\n' | '\r' | '#') => {
            // The value alternatives may skip blanks across line breaks to a quote.
            let next = View {
                text: e.text,
                pos: e.value_start,
                cr: Cr::Lf,
            }
            .map(|(_, c)| c)
            .find(|c| !matches!(c, ' ' | '\t' | '\n'));
            if e.first() == Some('#') {
                r.note(HASH_AFTER_EQ_COMMENT);
            } else if matches!(next, Some('\'' | '"' | '`')) {
                return Err("reads a quoted value on a later line as this variable's value");
            }
            r.end = unquoted_line(e, Cr::Lf)?.1;
        }
        Some(q @ ('\'' | '"' | '`')) => {
            let (content, after) = quoted(e, q, Cr::Lf, Close::First).ok_or(
                "reads an unclosed quote as part of the value, or as a quote closed on a later line",
            )?;
            // `(?:\\'|[^'])*` takes `\'` as an escaped quote (and keeps the `\`), then
            // backtracks: where the value ends depends on the rest of the file.
            if content.ends_with('\\') {
                return Err(
                    "keeps the \\ of \\' or \\\" and may end the value at a later quote (kvenv cannot tell where)",
                );
            }
            if e.text[e.value_start..after].contains('\r') {
                r.note(CR_AS_LF);
            }
            if q == '`' {
                r.note("reads `...` as quotes");
            }
            r.value = if q == '"' {
                if content.contains("\\n") {
                    r.note("reads \\n in double quotes as a line break");
                }
                if content.contains("\\r") {
                    r.note("reads \\r in double quotes as CR");
                }
                let value = content.replace("\\n", "\n").replace("\\r", "\r");
                if value.contains('\\') {
                    r.note("keeps every other \\ in double quotes");
                }
                value
            } else {
                if content.contains('\\') {
                    r.note(if q == '`' {
                        "keeps \\ in backquotes"
                    } else {
                        SQ_BACKSLASH_KEPT
                    });
                }
                content
            };
            r.end = tail(e, after, Tail::NodeDotenv)?;
        }
        Some(_) => {
            let (raw, end) = unquoted_line(e, Cr::Lf)?;
            let cut = raw.find('#');
            if cut.is_some_and(|i| !raw[..i].ends_with([' ', '\t'])) {
                r.note("ends an unquoted value at the first #, even without a blank before it");
            }
            r.value = raw[..cut.unwrap_or(raw.len())]
                .trim_matches([' ', '\t'])
                .to_owned();
            r.end = end;
        }
    }
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// node v20.20.2 `--env-file` (`src/node_dotenv.cc`, `Dotenv::ParseContent`, measured): every CR
// deleted; the name is everything up to `=` with spaces (not tabs) trimmed and one `export `
// removed; a value starting with a quote ends at the next same quote, with no escapes (only
// `\n` in double quotes becomes LF) and the rest of the line ignored; an unquoted value ends at
// the first `#` and has spaces (not tabs) trimmed.

fn node(e: &Entry) -> Result<Reading, Why> {
    if e.lead.contains('\t') || e.before_eq.contains('\t') {
        return Err("reads a tab before the name or before = as part of the name");
    }
    if e.export.is_some_and(|ws| ws != " ") {
        return Err("removes `export` only when exactly one space follows it");
    }
    if e.after_eq.contains('\t') {
        return Err("reads a tab after = as part of the value");
    }
    if e.first() == Some('\r') && e.rest_of_line(e.value_start).0 != "\r" {
        return Err(LONE_CR);
    }
    let mut r = Reading::default();
    let first = View {
        text: e.text,
        pos: e.value_start,
        cr: Cr::Drop,
    }
    .next()
    .map(|(_, c)| c);
    match first {
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some(q @ ('\'' | '"' | '`')) => {
            let (content, after) = quoted(e, q, Cr::Drop, Close::First)
                .ok_or("reads an unclosed quote, quote included, as the value")?;
            if e.text[e.value_start..after].contains('\r') {
                r.note(CR_DELETED);
            }
            if q == '`' {
                r.note("reads `...` as quotes");
            }
            r.value = if q == '"' {
                if content.contains("\\n") {
                    r.note("reads \\n in double quotes as a line break");
                }
                let value = content.replace("\\n", "\n");
                if value.contains('\\') {
                    r.note("keeps every other \\ in double quotes");
                }
                value
            } else {
                if content.contains('\\') {
                    r.note(SQ_BACKSLASH_KEPT);
                }
                content
            };
            r.end = tail(e, after, Tail::Node)?;
        }
        Some(_) => {
            let (raw, end) = e.rest_of_line(e.value_start);
            if raw.contains('\r') {
                r.note(CR_DELETED);
            }
            let raw: String = raw.chars().filter(|&c| c != '\r').collect();
            let cut = raw.find('#');
            if cut.is_some_and(|i| !raw[..i].ends_with([' ', '\t'])) {
                r.note("ends an unquoted value at the first #, even without a blank before it");
            }
            if cut == Some(raw.len() - raw.trim_start_matches(' ').len()) {
                r.note(HASH_AFTER_EQ_COMMENT);
            }
            let value = raw[..cut.unwrap_or(raw.len())].trim_matches(' ');
            if value.starts_with('\t') || value.ends_with('\t') {
                r.note("keeps tabs around an unquoted value");
            }
            r.value = value.to_owned();
            r.end = end;
        }
    }
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// docker compose 2.40.3 = compose-go v2.9.1 (`dotenv/parser.go`, `template/template.go`).

fn compose(e: &Entry) -> Result<Reading, Why> {
    let mut r = Reading::default();
    // `TrimLeftFunc(isSpace)` after `=`: blanks and CR.
    let start = e.value_start
        + (e.text[e.value_start..].len() - e.text[e.value_start..].trim_start_matches('\r').len());
    let e = &Entry {
        value_start: start,
        ..*e
    };
    match e.first() {
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some(q @ ('\'' | '"')) => {
            let (content, after) = quoted(e, q, Cr::Raw, Close::Pairs).ok_or(NOT_CLOSED_REJECT)?;
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            // The scan turns `\<quote>` into the quote and keeps every other `\x` as it is;
            // double quotes then get `expandEscapes` and the template.
            let mut scanned = String::new();
            for (escape, c) in pairs(&content) {
                match escape {
                    Some(x) if x == q => {
                        r.note(if q == '\'' {
                            "reads \\' in single quotes as '"
                        } else {
                            "reads \\\" in double quotes as \""
                        });
                        scanned.push(x);
                    }
                    Some(x) if q == '"' => match x {
                        '\\' => {
                            r.note("reads \\\\ in double quotes as one \\");
                            scanned.push('\\');
                        }
                        '$' => {
                            r.note("reads \\$ in double quotes as $");
                            scanned.push_str("$$");
                        }
                        '0' => {
                            return Err(
                                "reads \\0 in double quotes as an octal escape (kvenv does not know exactly)",
                            );
                        }
                        'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' => {
                            r.note("reads \\n, \\t, \\r and the like in double quotes as control characters");
                            scanned.push(python_dq_escape(x).unwrap_or(x));
                        }
                        _ => {
                            r.note("keeps \\' and other unknown escapes in double quotes");
                            scanned.push('\\');
                            scanned.push(x);
                        }
                    },
                    Some(x) => {
                        r.note(if x == '\\' {
                            "keeps \\\\ in single quotes"
                        } else {
                            SQ_BACKSLASH_KEPT
                        });
                        scanned.push('\\');
                        scanned.push(x);
                    }
                    None => scanned.push(c),
                }
            }
            if q == '"' && content.contains("$$") {
                r.note("reads $$ as $");
            }
            r.value = if q == '"' {
                compose_template(&scanned)?
            } else {
                scanned
            };
            r.end = tail(e, after, Tail::NextStatement)?;
        }
        Some(_) => {
            let (raw, end) = e.rest_of_line(e.value_start);
            // `strings.Cut(value, " #")`, then `TrimRightFunc(unicode.IsSpace)`.
            let cut = raw.find(" #");
            if raw[..cut.unwrap_or(raw.len())].contains("\t#") {
                r.note("ends an unquoted value only at a space followed by #, not a tab");
            }
            if raw.starts_with('#') {
                r.note("reads a # right after = as part of the value");
            }
            if raw[..cut.unwrap_or(raw.len())].contains('#') {
                r.note(HASH_KEPT);
            }
            let value = raw[..cut.unwrap_or(raw.len())].trim_end_matches([' ', '\t', '\r']);
            if value.contains('\r') {
                r.note(CR_KEPT);
            }
            if value.contains("$$") {
                r.note("reads $$ as $");
            }
            r.value = compose_template(value)?;
            r.end = end;
        }
    }
    Ok(r)
}

/// compose's template pass: `$$` is `$`; `$name` and `${...}` are expanded (or rejected).
fn compose_template(s: &str) -> Result<String, Why> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('$') => {
                chars.next();
            }
            Some('{') => {
                return Err("expands ${...} in double quotes and unquoted values (write $$ for $)");
            }
            // Go's case-insensitive `[_a-z]` also matches `ſ` and the Kelvin sign, which fold
            // to `s` and `k` (measured: `"x$ſy"` reads as `x`).
            Some(&n) if n.is_ascii_alphabetic() || matches!(n, '_' | 'ſ' | '\u{212a}') => {
                return Err("expands $NAME in double quotes and unquoted values (write $$ for $)");
            }
            _ => {}
        }
        out.push('$');
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// dotenvy 0.15.7 (`src/iter.rs` joins physical lines while a quote is open, `src/parse.rs`
// reads the joined line). It stops at the first line it cannot parse.

fn dotenvy(e: &Entry) -> Result<Reading, Why> {
    let mut r = Reading::default();
    match e.first() {
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some('#') => {
            r.note(HASH_AFTER_EQ_COMMENT);
            r.end = e.rest_of_line(e.value_start).1;
        }
        Some('\r') => {
            let (rest, end) = e.rest_of_line(e.value_start);
            if rest != "\r" {
                return Err(LONE_CR);
            }
            r.end = end;
        }
        Some('\'') => {
            let (content, after) = single_runs(e).ok_or(NOT_CLOSED_STOP)?;
            if content.contains('\\') {
                r.note(SQ_BACKSLASH_KEPT);
            }
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            r.value = content;
            r.end = tail(e, after, Tail::Dotenvy)?;
        }
        Some('"') => {
            let (content, after) = quoted(e, '"', Cr::Raw, Close::Pairs).ok_or(NOT_CLOSED_STOP)?;
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            for (escape, c) in pairs(&content) {
                match escape {
                    Some('n') => {
                        r.note("reads \\n in double quotes as a line break");
                        r.value.push('\n');
                    }
                    Some(x @ ('\\' | '\'' | '"' | '$' | ' ')) => {
                        r.note("reads \\\\, \\\", \\', \\$ and \\ before a space in double quotes as escapes");
                        r.value.push(x);
                    }
                    Some(_) => {
                        return Err(
                            "stops reading the file at a \\ escape it does not know (it knows \\\\ \\\" \\' \\$ \\n and \\ before a space)",
                        );
                    }
                    None if c == '$' => return Err("expands $ in double quotes"),
                    None => r.value.push(c),
                }
            }
            r.end = tail(e, after, Tail::Dotenvy)?;
        }
        Some(_) => {
            let (raw, end) = e.rest_of_line(e.value_start);
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let word_end = raw.find([' ', '\t']).unwrap_or(raw.len());
            let (word, rest) = raw.split_at(word_end);
            if word.contains(['\\', '\'', '"', '$']) {
                return Err("reads \\, quotes and $ in an unquoted value as shell syntax");
            }
            let rest = rest.trim_start_matches([' ', '\t']);
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err("stops reading the file at a blank inside an unquoted value");
            }
            if word.contains('\r') {
                r.note(CR_KEPT);
            }
            if word.contains('#') {
                r.note(HASH_KEPT);
            }
            r.value = word.to_owned();
            r.end = end;
        }
    }
    if r.end == e.text.len() && !e.text.ends_with('\n') && e.text.ends_with([' ', '\t']) {
        return Err("stops with an error at a last line that ends in a blank without a line break");
    }
    // `QuotedLines` must end the entry on the same line (a quote in a comment can make it go on).
    if dotenvy_line_end(e.text, line_start(e)) != r.end {
        return Err(
            "reads further lines into this one (a quote or \\ in its comment opens a quote)",
        );
    }
    Ok(r)
}

fn line_start(e: &Entry) -> usize {
    e.text[..e.value_start].rfind('\n').map_or(0, |i| i + 1)
}

/// Where dotenvy's `QuotedLines` ends the logical line that starts at `start`: physical lines
/// are joined while its state machine (`eval_end_state`) is inside a quote, after a `\`, or
/// after a blank.
fn dotenvy_line_end(text: &str, start: usize) -> usize {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Complete,
        Escape,
        Strong,
        StrongEscape,
        Weak,
        WeakEscape,
        White,
    }
    let mut state = S::Complete;
    let mut pos = start;
    while pos < text.len() {
        let (line, next) = match text[pos..].find('\n') {
            Some(i) => (&text[pos..=pos + i], pos + i + 1),
            None => (&text[pos..], text.len()),
        };
        if text[start..next].trim_start().starts_with('#') {
            return next;
        }
        for c in line.chars() {
            state = match (state, c) {
                (S::White, '#') => return next,
                (S::White | S::Complete, '\\') => S::Escape,
                (S::White | S::Complete, '"') => S::Weak,
                (S::White | S::Complete, '\'') => S::Strong,
                (S::White, _) | (S::Escape, _) => S::Complete,
                (S::Complete, c) if c.is_whitespace() && c != '\n' && c != '\r' => S::White,
                (S::Complete, _) => S::Complete,
                (S::Weak, '\\') => S::WeakEscape,
                (S::Weak, '"') => S::Complete,
                (S::Weak, _) | (S::WeakEscape, _) => S::Weak,
                (S::Strong, '\\') => S::StrongEscape,
                (S::Strong, '\'') => S::Complete,
                (S::Strong, _) | (S::StrongEscape, _) => S::Strong,
            };
        }
        if state == S::Complete {
            return next;
        }
        pos = next;
    }
    // The file ends inside a quote: dotenvy reports an error.
    usize::MAX
}

// ---------------------------------------------------------------------------------------------
// godotenv 1.5.1 (`parser.go`). Not run here (no Go toolchain): these rules follow its code and
// the reference's measurements, and refuse what neither covers.

fn godotenv(e: &Entry) -> Result<Reading, Why> {
    let mut r = Reading::default();
    let first = View {
        text: e.text,
        pos: e.value_start,
        cr: Cr::PairOnly,
    }
    .next()
    .map(|(_, c)| c);
    match first {
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some('\r') => return Err(LONE_CR),
        Some(q @ ('\'' | '"')) => {
            let (content, after) =
                quoted(e, q, Cr::PairOnly, Close::NotAfterBackslash).ok_or(NOT_CLOSED_REJECT)?;
            if e.text[e.value_start..after].contains("\r\n") {
                r.note("reads CRLF as LF");
            }
            // `TrimRightFunc(quote)` drops quotes at the end of the value.
            if content.ends_with(q) {
                return Err("drops a quote at the end of a quoted value");
            }
            if q == '\'' {
                if content.contains('\\') {
                    r.note(SQ_BACKSLASH_KEPT);
                }
                r.value = content;
            } else {
                for (escape, c) in pairs(&content) {
                    match escape {
                        Some('n') => r.value.push('\n'),
                        Some('r') => r.value.push('\r'),
                        Some(x @ ('\\' | '"' | '\'')) => r.value.push(x),
                        Some(_) => return Err(GODOTENV_ESCAPE),
                        None if c == '\\' => return Err(GODOTENV_ESCAPE),
                        None => r.value.push(c),
                    }
                    if escape.is_some() {
                        r.note("reads \\\\, \\\", \\' \\n and \\r in double quotes as escapes");
                    }
                }
                godotenv_dollar(&r.value)?;
            }
            r.end = tail(e, after, Tail::NextStatement)?;
        }
        Some(_) => {
            let (raw, end) = unquoted_line(e, Cr::PairOnly)?;
            // Backwards from the end: the last `#` after a blank starts the comment.
            let cut = raw
                .char_indices()
                .filter(|&(i, c)| c == '#' && i > 0 && raw[..i].ends_with([' ', '\t']))
                .map(|(i, _)| i)
                .next_back();
            let value = raw[..cut.unwrap_or(raw.len())].trim_matches([' ', '\t']);
            godotenv_dollar(value)?;
            if value.contains('#') {
                r.note(HASH_KEPT);
            }
            r.value = value.to_owned();
            r.end = end;
        }
    }
    Ok(r)
}

/// godotenv's `expandVariables`: `(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?` expands a name (upper case,
/// digits, `_`) and drops the `\` of `\$`; any other `$` stays.
fn godotenv_dollar(v: &str) -> Result<(), Why> {
    if v.contains("\\$") {
        return Err("reads \\$ as $");
    }
    let b = v.as_bytes();
    for (i, _) in v.match_indices('$') {
        let mut j = i + 1;
        if b.get(j) == Some(&b'(') {
            j += 1;
        }
        if b.get(j) == Some(&b'{') {
            j += 1;
        }
        if b.get(j)
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
        {
            return Err(
                "expands $NAME and ${NAME} (upper-case names) in double quotes and unquoted values",
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// POSIX sh (bash 5.2, dash 0.5.12): `set -a; . ./.env`.

/// Names bash or dash set, guard or give a meaning of their own: an assignment may not stick.
const SH_SPECIAL: &[&str] = &[
    "_",
    "BASH",
    "BASHOPTS",
    "BASHPID",
    "COLUMNS",
    "DIRSTACK",
    "ENV",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "HOSTNAME",
    "HOSTTYPE",
    "IFS",
    "LINENO",
    "LINES",
    "MACHTYPE",
    "OLDPWD",
    "OPTARG",
    "OPTERR",
    "OPTIND",
    "OSTYPE",
    "PIPESTATUS",
    "PPID",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PWD",
    "RANDOM",
    "SECONDS",
    "SHELLOPTS",
    "SHLVL",
    "SRANDOM",
    "UID",
];

/// Characters that end or change an unquoted assignment: operators, and `~` (tilde expansion).
const SH_OPERATORS: &[char] = &['|', '&', ';', '<', '>', '(', ')', '~'];

/// Characters of a word that `export` (unlike a plain assignment) may glob or brace-expand.
const SH_GLOB: &[char] = &['*', '?', '[', ']', '{', '}'];

fn sh(e: &Entry) -> Result<Reading, Why> {
    if SH_SPECIAL.contains(&e.name) || e.name.starts_with("BASH_") || e.name.starts_with("COMP_") {
        return Err("gives this name a meaning of its own (bash or dash sets or guards it)");
    }
    if !e.before_eq.is_empty() {
        return Err("runs the name as a command when a blank comes before =");
    }
    let mut r = Reading::default();
    if !e.after_eq.is_empty() {
        let (rest, end) = e.rest_of_line(e.value_start);
        if !(rest.is_empty() || rest.starts_with('#')) {
            return Err("runs a value that follows a blank after = as a command");
        }
        if rest.starts_with('#') {
            r.note(HASH_AFTER_EQ_COMMENT);
        }
        r.end = end;
        return Ok(r);
    }
    match e.first() {
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some('\'') => {
            let (content, after) =
                single_runs(e).ok_or("stops with a syntax error: the quote is not closed")?;
            if content.contains('\\') {
                r.note(SQ_BACKSLASH_KEPT);
            }
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            r.value = content;
            r.end = tail(e, after, Tail::Sh)?;
        }
        Some('"') => {
            let (content, after) = quoted(e, '"', Cr::Raw, Close::Pairs)
                .ok_or("stops with a syntax error: the quote is not closed")?;
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            let mut chars = pairs(&content).into_iter().peekable();
            while let Some((escape, c)) = chars.next() {
                match escape {
                    Some(x @ ('$' | '`' | '"' | '\\')) => {
                        r.note(match x {
                            '\\' => "reads \\\\ in double quotes as one \\",
                            '"' => "reads \\\" in double quotes as \"",
                            _ => "reads \\$ and \\` in double quotes as $ and `",
                        });
                        r.value.push(x);
                    }
                    Some('\n') => {
                        r.note("joins lines at a \\ before a line break in double quotes")
                    }
                    Some(x) => {
                        r.note("keeps other \\ escapes in double quotes");
                        r.value.push('\\');
                        r.value.push(x);
                    }
                    None if c == '`' => return Err("runs `...` in double quotes as a command"),
                    None if c == '$' => {
                        let next = chars
                            .peek()
                            .map(|&(escape, c)| if escape.is_some() { '\\' } else { c });
                        if next.is_some_and(|n| {
                            n.is_ascii_alphanumeric() || !n.is_ascii() || "_{([@*#?$!-".contains(n)
                        }) {
                            return Err(
                                "expands $ before a name, a digit, {, ( or one of @*#?$!- in double quotes",
                            );
                        }
                        r.value.push('$');
                    }
                    None => r.value.push(c),
                }
            }
            r.end = tail(e, after, Tail::Sh)?;
        }
        Some('`') => return Err("runs `...` as a command"),
        Some(_) => {
            let (raw, end) = e.rest_of_line(e.value_start);
            let word_end = raw.find([' ', '\t']).unwrap_or(raw.len());
            let (word, rest) = raw.split_at(word_end);
            if word.contains('\r') {
                return Err("keeps a CR at the end of an unquoted value as part of it");
            }
            if word.contains(['$', '`']) {
                return Err("expands $ and runs `...` in an unquoted value");
            }
            if word.contains(['\\', '"', '\'']) {
                return Err("reads \\ and quotes inside an unquoted value as shell quoting");
            }
            if word.contains(SH_OPERATORS) {
                return Err(
                    "gives | & ; < > ( ) and ~ in an unquoted value a meaning of their own",
                );
            }
            if e.export.is_some() && word.contains(SH_GLOB) {
                return Err(
                    "may expand * ? [ ] { } in an unquoted value after export (as file names)",
                );
            }
            if word.contains('#') {
                r.note(HASH_KEPT);
            }
            let rest = rest.trim_start_matches([' ', '\t']);
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err("runs what follows a blank in an unquoted value as a command");
            }
            r.value = word.to_owned();
            r.end = end;
        }
    }
    Ok(r)
}
