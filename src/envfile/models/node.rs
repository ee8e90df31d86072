//! npm `dotenv`, and Node's built-in `--env-file`.

use super::*;

pub(super) fn node_dotenv(e: &Entry) -> Result<Reading, Why> {
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

pub(super) fn node(e: &Entry) -> Result<Reading, Why> {
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
