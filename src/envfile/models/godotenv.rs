//! The Go package `godotenv` (not run here: its measured rules, narrowly).

use super::*;

pub(super) fn godotenv(e: &Entry) -> Result<Reading, Why> {
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
pub(super) fn godotenv_dollar(v: &str) -> Result<(), Why> {
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
