//! The Rust crate `dotenvy`.

use super::*;

pub(super) fn dotenvy(e: &Entry) -> Result<Reading, Why> {
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

pub(super) fn line_start(e: &Entry) -> usize {
    e.text[..e.value_start].rfind('\n').map_or(0, |i| i + 1)
}

/// Where dotenvy's `QuotedLines` ends the logical line that starts at `start`: physical lines
/// are joined while its state machine (`eval_end_state`) is inside a quote, after a `\`, or
/// after a blank.
pub(super) fn dotenvy_line_end(text: &str, start: usize) -> usize {
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
