//! Reading a `.env` that kvenv did not write: a hand-kept file being migrated (`push`,
//! `init --from`).
//!
//! It reads the common dialect the way python-dotenv does without interpolation: `export `
//! prefixes, `#` comment lines, unquoted values (trimmed, ` #` starts a comment), raw single
//! quotes, and double quotes with `\\ \" \n \r \t \$` escapes; quoted values may span lines.
//! `$VAR` is never expanded: a migration must move the bytes as they are. A line it cannot read is
//! an error naming the line number, never its text (it may hold a secret).

/// A line that could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: &'static str,
}

/// The `(name, value)` pairs of a file, in order; a later duplicate replaces an earlier one.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let (current, next) = rest.split_once('\n').unwrap_or((rest, ""));
        let trimmed = current.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            rest = next;
            line += 1;
            continue;
        }
        let err = |reason| ParseError { line, reason };
        let body = rest.trim_start();
        let body = body
            .strip_prefix("export")
            .filter(|b| b.starts_with([' ', '\t']))
            .map(str::trim_start)
            .unwrap_or(body);
        let eq = body.find('=').ok_or(err("no `=`"))?;
        let name = body[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(err("no variable name before `=`"));
        }
        let after = body[eq + 1..].trim_start_matches([' ', '\t']);
        let (value, remainder) = match after.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let inner = &after[1..];
                let mut value = String::new();
                let mut chars = inner.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    if c == q {
                        end = Some(i + 1);
                        break;
                    }
                    if q == '"' && c == '\\' {
                        match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, e @ ('\\' | '"' | '$' | '\''))) => value.push(e),
                            Some((_, other)) => {
                                value.push('\\');
                                value.push(other);
                            }
                            None => break,
                        }
                    } else {
                        value.push(c);
                    }
                }
                let end = end.ok_or(err("unterminated quote"))?;
                let remainder = &inner[end..];
                let (tail, remainder) = remainder.split_once('\n').unwrap_or((remainder, ""));
                let tail = tail.trim();
                if !(tail.is_empty() || tail.starts_with('#')) {
                    return Err(err("text after the closing quote"));
                }
                line += value.matches('\n').count();
                (value, remainder)
            }
            _ => {
                let (raw, remainder) = after.split_once('\n').unwrap_or((after, ""));
                let raw = raw.strip_suffix('\r').unwrap_or(raw);
                let raw = match raw.find(" #").or_else(|| raw.find("\t#")) {
                    Some(i) => &raw[..i],
                    None if raw.starts_with('#') => "",
                    None => raw,
                };
                (raw.trim().to_owned(), remainder)
            }
        };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name.to_owned(), value)),
        }
        rest = remainder;
        line += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    #[test]
    fn the_common_dialect() {
        let text = "# comment\nexport A=plain value  # note\nB='raw $x \\n'\nC=\"esc \\\"q\\\" \\n \\$HOME\"\n\nD=\nE=\"multi\nline\"\nF=#notcomment\nG=a#b\n";
        assert_eq!(
            pairs(text),
            [
                ("A".to_string(), "plain value".to_string()),
                ("B".into(), "raw $x \\n".into()),
                ("C".into(), "esc \"q\" \n $HOME".into()),
                ("D".into(), "".into()),
                ("E".into(), "multi\nline".into()),
                ("F".into(), "".into()),
                ("G".into(), "a#b".into()),
            ]
        );
    }

    #[test]
    fn reads_what_kvenv_writes() {
        let text = "# Generated\nA='x'\nB=\"it's \\\\ \\\"q\\\" \\r\"\n";
        assert_eq!(
            pairs(text),
            [
                ("A".to_string(), "x".to_string()),
                ("B".into(), "it's \\ \"q\" \r".into())
            ]
        );
    }

    #[test]
    fn errors_name_the_line_only() {
        assert_eq!(
            parse("A=1\nnot a pair\n"),
            Err(ParseError {
                line: 2,
                reason: "no `=`"
            })
        );
        assert_eq!(
            parse("A='open\n"),
            Err(ParseError {
                line: 1,
                reason: "unterminated quote"
            })
        );
        assert_eq!(
            parse("A='x' y\n").unwrap_err().reason,
            "text after the closing quote"
        );
    }

    #[test]
    fn later_duplicates_win() {
        assert_eq!(pairs("A=1\nA=2\n"), [("A".to_string(), "2".to_string())]);
    }
}
