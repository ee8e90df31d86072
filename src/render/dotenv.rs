//! The dotenv encoding: single quotes when that is safe, python-dotenv's double quotes otherwise.
//!
//! The rules come from measuring eight real parsers (`shared/reference/dotenv.md` §4):
//! - `'raw'` is read back exactly by every parser when the value has no `'`, no CR, no `\\`
//!   and does not end in `\` ([`single_quote_safe`]);
//! - anything else is written `"..."` escaping exactly `\`, `"` and CR (LF stays a real line
//!   break, `$`, `` ` ``, `'` and tab stay literal), the one form python-dotenv, compose and the
//!   shells all understand;
//! - double-quoted entries go after the single-quoted ones, those with `$`, then CR, then a
//!   trailing `\` last, because some parsers stop or swallow text at such a line.
//!
//! The [`decode`] half reads back what [`encode`] writes (and nothing looser): `kvenv check`
//! uses it to say which variables changed, without ever printing a value.

use std::fmt::Write;

/// How one value is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    Single,
    Double,
}

/// `'raw'` is safe for every measured parser.
pub fn single_quote_safe(v: &str) -> bool {
    !v.contains('\'') && !v.contains('\r') && !v.contains("\\\\") && !v.ends_with('\\')
}

/// The quoting [`encode`] uses for `v`.
pub fn quoting(v: &str) -> Quoting {
    if single_quote_safe(v) {
        Quoting::Single
    } else {
        Quoting::Double
    }
}

/// Append `v`, quoted, to `out`.
pub fn encode(v: &str, out: &mut String) {
    match quoting(v) {
        Quoting::Single => {
            out.push('\'');
            out.push_str(v);
            out.push('\'');
        }
        Quoting::Double => {
            out.push('"');
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }
}

/// The order in which entries are written: single-quoted first, then the double-quoted ones
/// whose hazards could trip a parser, most dangerous last.
pub fn order_key(v: &str) -> (bool, bool, bool, bool) {
    let dq = quoting(v) == Quoting::Double;
    (
        dq,
        dq && v.ends_with('\\'),
        dq && v.contains('\r'),
        dq && v.contains('$'),
    )
}

/// Render `NAME=value` lines (already checked and ordered) with the header.
pub fn render<'a>(
    header: &str,
    export: bool,
    vars: impl Iterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{header}");
    for (name, value) in vars {
        if export {
            out.push_str("export ");
        }
        out.push_str(name);
        out.push('=');
        encode(value, &mut out);
        out.push('\n');
    }
    out
}

/// Why a file could not be decoded. Carries a line number, never the text.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub line: usize,
}

/// Read a file in the form [`render`] writes: comments, blank lines, and
/// `[export ]NAME='...'` / `NAME="..."` entries. Anything else is an error.
pub fn decode(text: &str) -> Result<Vec<(String, String)>, DecodeError> {
    let mut vars = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let (current, next) = rest.split_once('\n').unwrap_or((rest, ""));
        if current.is_empty() || current.starts_with('#') {
            rest = next;
            line += 1;
            continue;
        }
        let err = DecodeError { line };
        let body = rest.strip_prefix("export ").unwrap_or(rest);
        let eq = body.find('=').ok_or(DecodeError { line })?;
        let name = &body[..eq];
        if !crate::plan::is_identifier(name) {
            return Err(err);
        }
        let quoted = &body[eq + 1..];
        let (value, consumed) = match quoted.as_bytes().first() {
            Some(b'\'') => {
                let end = quoted[1..].find('\'').ok_or(DecodeError { line })?;
                (quoted[1..1 + end].to_owned(), end + 2)
            }
            Some(b'"') => {
                let mut value = String::new();
                let mut chars = quoted[1..].char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '"' => {
                            end = Some(i + 2);
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'r')) => value.push('\r'),
                            _ => return Err(err),
                        },
                        c => value.push(c),
                    }
                }
                (value, end.ok_or(DecodeError { line })?)
            }
            _ => return Err(err),
        };
        let after = &quoted[consumed..];
        let after = match after.strip_prefix('\n') {
            Some(a) => a,
            None if after.is_empty() => after,
            None => return Err(DecodeError { line }),
        };
        line += value.matches('\n').count() + 1;
        vars.push((name.to_owned(), value));
        rest = after;
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(v: &str) -> String {
        let mut s = String::new();
        encode(v, &mut s);
        s
    }

    #[test]
    fn encodings() {
        assert_eq!(enc(""), "''");
        assert_eq!(enc("plain"), "'plain'");
        assert_eq!(
            enc("a $HOME `x` \"q\" # = \t"),
            "'a $HOME `x` \"q\" # = \t'"
        );
        assert_eq!(enc("line1\nline2"), "'line1\nline2'");
        assert_eq!(enc("it's"), "\"it's\"");
        assert_eq!(enc("a\\\\b"), "\"a\\\\\\\\b\"");
        assert_eq!(enc("ends\\"), "\"ends\\\\\"");
        assert_eq!(enc("cr\r\nlf"), "\"cr\\r\nlf\"");
        assert_eq!(enc("q\"'"), "\"q\\\"'\"");
        assert_eq!(enc("back\\slash"), "'back\\slash'");
    }

    #[test]
    fn order_puts_hazards_last() {
        let mut v = ["ends\\", "it's", "plain", "it's $x", "cr\r"];
        v.sort_by_key(|x| order_key(x));
        assert_eq!(v, ["plain", "it's", "it's $x", "cr\r", "ends\\"]);
    }

    #[test]
    fn render_has_header_and_final_newline() {
        let out = render("# h", true, [("A", "1"), ("B", "it's")].into_iter());
        assert_eq!(out, "# h\nexport A='1'\nexport B=\"it's\"\n");
        assert_eq!(
            decode(&out).unwrap(),
            [("A".into(), "1".into()), ("B".into(), "it's".into())]
        );
    }

    #[test]
    fn decode_rejects_what_kvenv_does_not_write() {
        assert_eq!(decode("A=unquoted\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("# c\nA='x' # c\n"), Err(DecodeError { line: 2 }));
        assert_eq!(decode("A='x\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("A=\"\\t\"\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("1A='x'\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("A='a\nb'\nB=\n"), Err(DecodeError { line: 3 }));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn decode_inverts_encode(values in proptest::collection::vec("[\\PC\\r\\n\\t'\"\\\\$`]{0,40}", 0..6)) {
            let vars: Vec<(String, String)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("V{i}"), v.clone()))
                .collect();
            let out = render("# h", false, vars.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            prop_assert_eq!(decode(&out).unwrap(), vars);
        }

        #[test]
        fn decode_never_panics(text in "[\\PC\\n'\"\\\\=#A-Z]{0,200}") {
            let _ = decode(&text);
        }
    }
}
