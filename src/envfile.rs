//! Reading a `.env` that kvenv did not write: a hand-kept file being migrated (`kvenv push`,
//! `kvenv init --from`).
//!
//! A hand-kept file has no meaning of its own: its values are whatever the programs that read
//! it read, and they disagree. `WIN_PATH='C:\\new\\dir'` is `C:\new\dir` to python-dotenv (which
//! unescapes `\\` and `\'` inside single quotes) and `C:\\new\\dir` to node's dotenv, docker
//! compose and the shell. So kvenv reads each entry the way every declared [`Reader`] does
//! (the manifest's `[output] readers`, or `--reader`) and takes the value only when they all
//! read the same one. Otherwise it refuses the entry: the error names the line, the variable,
//! the readers and why, and never the value, which may be a secret.
//!
//! Each reader is a small model of its parser (`envfile/models.rs`) that knows the common
//! dialect exactly and says "no" to anything else, so a rule may be stricter than its parser
//! (an entry that would have worked is refused), never looser. What the models rely on is in
//! `docs/hand-kept.md`; `tests/conformance.rs` feeds a corpus of hand-kept lines to the real
//! parsers and checks that every entry kvenv accepts is read back exactly by each of them.
//!
//! The dialect kvenv reads, before any reader is asked:
//! - blank lines and `#` comment lines (with leading blanks: spaces and tabs);
//! - `[export ]NAME=value`, `NAME` of letters, digits and `_` not starting with a digit, with
//!   blanks allowed around `=`;
//! - a value unquoted, in `'...'`, in `"..."` (or in backquotes, which node and node-dotenv
//!   read as quotes), spanning lines when quoted, followed by blanks and a `# comment`;
//! - LF or CRLF line breaks, a byte order mark at the start.
//!
//! A NUL byte, whitespace other than blanks outside quotes, and control characters outside
//! quotes are refused outright. A variable set twice keeps its last value, as in every reader
//! but dotenvy, whose `dotenv()` keeps the first: two different values are refused for it.

mod models;

use std::collections::HashMap;
use std::fmt;

use crate::render::Reader;
use models::{Entry, Reading, Why};

/// An entry kvenv will not read, with where and why; never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line the entry starts on (1-based).
    pub line: usize,
    /// The variable, when the line names one.
    pub name: Option<String>,
    /// The declared readers the refusal is about: at least one, each named in `reason`.
    pub readers: Vec<Reader>,
    /// Why, naming the readers.
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// The `(name, value)` pairs of a hand-kept file as every one of `readers` reads it, in order of
/// first appearance (a later duplicate replaces the value); or the first entry they do not all
/// read the same way. An empty `readers` means [`Reader::DEFAULT`].
pub fn parse(text: &str, readers: &[Reader]) -> Result<Vec<(String, String)>, ParseError> {
    let mut declared: Vec<Reader> = Vec::new();
    for r in readers {
        if !declared.contains(r) {
            declared.push(*r);
        }
    }
    if declared.is_empty() {
        declared = Reader::DEFAULT.to_vec();
    }
    let file = File {
        text,
        readers: declared,
    };
    file.parse()
}

struct File<'a> {
    text: &'a str,
    readers: Vec<Reader>,
}

impl File<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset].matches('\n').count() + 1
    }

    /// The refusal of the entry at `at`: `lead`, then what each group of readers does.
    fn refuse(
        &self,
        at: usize,
        name: Option<&str>,
        lead: &str,
        groups: Vec<(Vec<Reader>, Vec<String>)>,
    ) -> ParseError {
        let mut readers = Vec::new();
        for (group, _) in &groups {
            readers.extend(group.iter().copied());
        }
        let said: Vec<String> = groups
            .into_iter()
            .map(|(group, phrases)| sentence(&group, &phrases))
            .collect();
        let said = said.join("; ");
        ParseError {
            line: self.line_of(at),
            name: name.map(str::to_owned),
            readers,
            reason: if lead.is_empty() {
                said
            } else {
                format!("{lead}: {said}")
            },
        }
    }

    /// Each declared reader that gives a reason, grouped by reason, in declared order.
    fn reasons(&self, why: impl Fn(Reader) -> Option<Why>) -> Vec<(Vec<Reader>, Vec<String>)> {
        let mut groups: Vec<(Vec<Reader>, Vec<String>)> = Vec::new();
        for r in &self.readers {
            if let Some(w) = why(*r) {
                match groups.iter_mut().find(|(_, p)| p[0] == w) {
                    Some((g, _)) => g.push(*r),
                    None => groups.push((vec![*r], vec![w.to_owned()])),
                }
            }
        }
        groups
    }

    /// Refuse the entry at `at` if any declared reader gives a reason.
    fn refuse_each(
        &self,
        at: usize,
        name: Option<&str>,
        lead: &str,
        why: impl Fn(Reader) -> Option<Why>,
    ) -> Result<(), ParseError> {
        let groups = self.reasons(why);
        if groups.is_empty() {
            return Ok(());
        }
        Err(self.refuse(at, name, lead, groups))
    }

    fn parse(&self) -> Result<Vec<(String, String)>, ParseError> {
        let text = self.text;
        if let Some(i) = text.find('\0') {
            self.refuse_each(i, None, "", |_| {
                Some("cannot hold a NUL byte in a variable (no environment variable can)")
            })?;
        }
        let mut pos = 0;
        if text.starts_with('\u{feff}') {
            self.refuse_each(0, None, "the file starts with a byte order mark", |r| {
                (!models::skips_bom(r)).then_some("reads it as part of the first name")
            })?;
            pos = '\u{feff}'.len_utf8();
        }
        let mut out: Vec<(String, String)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        while pos < text.len() {
            let (line, next) = match text[pos..].find('\n') {
                Some(i) => (&text[pos..pos + i], pos + i + 1),
                None => (&text[pos..], text.len()),
            };
            let body = line.trim_start_matches([' ', '\t']);
            let blank = body.is_empty() || body == "\r";
            if blank || body.starts_with('#') {
                let last = next == text.len() && !text.ends_with('\n');
                self.refuse_each(pos, None, "", |r| {
                    models::quiet_line(r, line, blank, last).err()
                })?;
                pos = next;
                continue;
            }
            let entry = lex(text, pos).map_err(|fault| self.structural(pos, fault))?;
            let name = Some(entry.name);
            if exotic_outside_quotes(&entry) {
                self.refuse_each(pos, name, "", |_| {
                    Some("may read whitespace other than spaces and tabs, or a control character, outside quotes differently (kvenv does not know exactly)")
                })?;
            }
            let mut readings: Vec<(Reader, Result<Reading, Why>)> = Vec::new();
            for r in &self.readers {
                readings.push((*r, models::read(*r, &entry)));
            }
            self.refuse_each(pos, name, "", |r| {
                readings
                    .iter()
                    .find(|(x, _)| *x == r)
                    .and_then(|(_, res)| res.as_ref().err().copied())
            })?;
            let readings: Vec<(Reader, Reading)> = readings
                .into_iter()
                .filter_map(|(r, res)| res.ok().map(|x| (r, x)))
                .collect();
            let (_, agreed) = &readings[0];
            if readings
                .iter()
                .any(|(_, x)| x.value != agreed.value || x.end != agreed.end)
            {
                return Err(self.disagreement(pos, entry.name, &readings));
            }
            match index.get(entry.name) {
                Some(&i) if out[i].1 != agreed.value && self.readers.contains(&Reader::Dotenvy) => {
                    return Err(self.refuse(
                        pos,
                        name,
                        "",
                        vec![(
                            vec![Reader::Dotenvy],
                            vec!["keeps the first of two different values for one name (its dotenv() never replaces a variable already set; the other readers keep the last)".into()],
                        )],
                    ));
                }
                Some(&i) => out[i].1 = agreed.value.clone(),
                None => {
                    index.insert(entry.name.to_owned(), out.len());
                    out.push((entry.name.to_owned(), agreed.value.clone()));
                }
            }
            pos = agreed.end;
        }
        Ok(out)
    }

    /// A line that is not blank, a comment or `[export ]NAME=...`.
    fn structural(&self, at: usize, fault: Fault) -> ParseError {
        let (lead, why): (&str, fn(Reader) -> Why) = match fault {
            Fault::NoEquals => ("this line is not NAME=value", |r| match r {
                Reader::PythonDotenv | Reader::PythonDotenvRaw => {
                    "reads a name without a value, or skips the line"
                }
                Reader::NodeDotenv => "skips it",
                Reader::Node => "reads it as the start of the next variable's name",
                Reader::DockerCompose => {
                    "takes the value from its own environment, or rejects the file"
                }
                Reader::Dotenvy => "stops reading the file",
                Reader::Godotenv => "rejects the whole file",
                Reader::Sh => "runs it as a command",
            }),
            Fault::NotAName => (
                "the text before = is not a variable name (letters, digits and _, not starting with a digit)",
                |r| match r {
                    Reader::PythonDotenv | Reader::PythonDotenvRaw => {
                        "takes anything up to = or a blank as the name"
                    }
                    Reader::NodeDotenv => {
                        "takes letters, digits, _, . and - as a name and skips other lines"
                    }
                    Reader::Node => "takes anything up to = as the name",
                    Reader::DockerCompose => "rejects the whole file",
                    Reader::Dotenvy => "stops reading the file",
                    Reader::Godotenv => "rejects the whole file",
                    Reader::Sh => "runs it as a command",
                },
            ),
        };
        self.refuse(at, None, lead, self.reasons(|r| Some(why(r))))
    }

    /// The readers read different values: group them by what they read, with what each did.
    fn disagreement(&self, at: usize, name: &str, readings: &[(Reader, Reading)]) -> ParseError {
        let mut groups: Vec<(Vec<Reader>, &Reading)> = Vec::new();
        for (r, x) in readings {
            match groups
                .iter_mut()
                .find(|(_, y)| y.value == x.value && y.end == x.end)
            {
                Some((g, _)) => g.push(*r),
                None => groups.push((vec![*r], x)),
            }
        }
        let lines_differ = groups.iter().any(|(_, x)| x.end != groups[0].1.end);
        let mut parts: Vec<(Vec<Reader>, Vec<String>)> = Vec::new();
        for (group, x) in &groups {
            // A note every group shares explains nothing.
            let mut phrases: Vec<String> = x
                .notes
                .iter()
                .filter(|n| !groups.iter().all(|(_, y)| y.notes.contains(n)))
                .map(|n| (*n).to_owned())
                .collect();
            if phrases.is_empty() {
                phrases.push("reads the value another way".to_owned());
            }
            if lines_differ {
                let last = self.line_of(x.end.saturating_sub(1).max(at));
                phrases.push(format!("ends the value on line {last}"));
            }
            parts.push((group.clone(), phrases));
        }
        self.refuse(at, Some(name), "the readers read different values", parts)
    }
}

/// What stops a line from being `[export ]NAME=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    NoEquals,
    NotAName,
}

/// `[blanks][export blanks]NAME[blanks]=[blanks]` at `pos`.
fn lex(text: &str, pos: usize) -> Result<Entry<'_>, Fault> {
    let line = match text[pos..].find('\n') {
        Some(i) => &text[pos..pos + i],
        None => &text[pos..],
    };
    let fault = if line.contains('=') {
        Fault::NotAName
    } else {
        Fault::NoEquals
    };
    let blanks = |s: &str| s.len() - s.trim_start_matches([' ', '\t']).len();
    let mut i = blanks(line);
    let lead = &line[..i];
    let mut export = None;
    if let Some(after) = line[i..].strip_prefix("export") {
        let n = blanks(after);
        if n > 0 && after[n..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            export = Some(&after[..n]);
            i += "export".len() + n;
        }
    }
    let name_len = line[i..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len() - i);
    let name = &line[i..i + name_len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(fault);
    }
    i += name_len;
    let before_eq = &line[i..i + blanks(&line[i..])];
    i += before_eq.len();
    if !line[i..].starts_with('=') {
        return Err(fault);
    }
    i += 1;
    let after_eq = &line[i..i + blanks(&line[i..])];
    i += after_eq.len();
    Ok(Entry {
        text,
        lead,
        export,
        name,
        before_eq,
        after_eq,
        value_start: pos + i,
    })
}

/// Whether an unquoted value holds whitespace other than blanks, a control character or a BOM:
/// the readers trim and split at different sets of them.
fn exotic_outside_quotes(e: &Entry) -> bool {
    let rest = &e.text[e.value_start..];
    if rest.starts_with(['\'', '"']) {
        return false;
    }
    let line = rest.split('\n').next().unwrap_or_default();
    line.chars().any(|c| {
        !matches!(c, ' ' | '\t' | '\r') && (c.is_whitespace() || c.is_control() || c == '\u{feff}')
    })
}

/// `readers verb...`: "python-dotenv reads ...", "node-dotenv and sh keep ..., read ...".
fn sentence(readers: &[Reader], phrases: &[String]) -> String {
    let names: Vec<&str> = readers.iter().map(|r| r.name()).collect();
    let subject = match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let phrases: Vec<String> = phrases
        .iter()
        .map(|p| {
            if names.len() > 1 {
                plural(p)
            } else {
                p.clone()
            }
        })
        .collect();
    format!("{subject} {}", phrases.join(", "))
}

/// A phrase that starts with a verb in the third person singular, in the plural.
fn plural(phrase: &str) -> String {
    let (verb, rest) = phrase.split_once(' ').unwrap_or((phrase, ""));
    let verb = match verb {
        "has" => "have",
        "does" => "do",
        "is" => "are",
        v if v.ends_with("ss") => v,
        v if v.ends_with('s') => &v[..v.len() - 1],
        v => v,
    };
    if rest.is_empty() {
        verb.to_owned()
    } else {
        format!("{verb} {rest}")
    }
}

#[cfg(test)]
mod tests;
