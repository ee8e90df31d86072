//! python-dotenv (with and without interpolation).

use super::*;

pub(super) fn python(e: &Entry, interpolate: bool) -> Result<Reading, Why> {
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
pub(super) fn python_dq_escape(x: char) -> Option<char> {
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
