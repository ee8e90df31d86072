//! Docker Compose `env_file:` (compose-go).

use super::*;

pub(super) fn compose(e: &Entry) -> Result<Reading, Why> {
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
pub(super) fn compose_template(s: &str) -> Result<String, Why> {
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
