//! The dotenv encodings, and the reader of what kvenv writes.
//!
//! The rules come from measuring eight real parsers (see [`super::readers`]). kvenv
//! writes each value in one of four [`Encoding`]s, the first in [`Encoding::ALL`] that every
//! declared reader reads back exactly (see [`super::readers`]):
//! - `'raw'`: read back exactly by every parser when the value has no `'`, no CR, no `\\`
//!   and does not end in `\` (python-dotenv's `${...}` aside);
//! - python-style `"..."`, escaping exactly `\`, `"` and CR (LF stays a real line break, `$`,
//!   `` ` ``, `'` and tab stay literal): the one form python-dotenv, compose and the shells all
//!   understand for the rest;
//! - shell-style `"..."`, escaping `\`, `"`, `$` and `` ` `` (CR stays literal): for readers
//!   that expand `$` in double quotes (compose, dotenvy, sh) when python-dotenv is not one;
//! - the shell's `'...'\''...'`: raw single-quoted runs joined by `\'`, for sh and dotenvy.
//!
//! Entries are written single-quoted first, then the others with `$`, then CR, then a trailing
//! `\` last, because some parsers stop or swallow text at such a line.
//!
//! The [`decode`] half reads back every encoding kvenv writes (and nothing looser): `kvenv
//! check` uses it to say which variables changed, without ever printing a value.

use std::fmt::Write;

/// How one value is quoted, in order of preference: the earlier ones suit more parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// `'raw'`.
    Single,
    /// `"..."` with python-dotenv's escapes `\\`, `\"` and `\r`.
    Double,
    /// `"..."` with the shell's escapes `\\`, `\"`, `\$` and `` \` ``.
    DoubleShell,
    /// `'raw'\''raw'`: single-quoted runs joined by an escaped quote.
    SingleConcat,
}

impl Encoding {
    pub const ALL: [Encoding; 4] = [
        Encoding::Single,
        Encoding::Double,
        Encoding::DoubleShell,
        Encoding::SingleConcat,
    ];

    /// A short name for reports and tests.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Single => "single",
            Encoding::Double => "double-python",
            Encoding::DoubleShell => "double-shell",
            Encoding::SingleConcat => "single-concat",
        }
    }

    /// Whether this encoding can write `v` so that [`decode`] gives `v` back: only raw single
    /// quotes cannot hold a `'`.
    pub fn holds(self, v: &str) -> bool {
        self != Encoding::Single || !v.contains('\'')
    }
}

/// Append `v`, written with `encoding`, to `out`. `encoding` must [hold](Encoding::holds) `v`.
pub fn encode(v: &str, encoding: Encoding, out: &mut String) {
    match encoding {
        Encoding::Single => {
            out.push('\'');
            out.push_str(v);
            out.push('\'');
        }
        Encoding::Double | Encoding::DoubleShell => {
            out.push('"');
            for c in v.chars() {
                match (c, encoding) {
                    ('\\', _) => out.push_str("\\\\"),
                    ('"', _) => out.push_str("\\\""),
                    ('\r', Encoding::Double) => out.push_str("\\r"),
                    ('$', Encoding::DoubleShell) => out.push_str("\\$"),
                    ('`', Encoding::DoubleShell) => out.push_str("\\`"),
                    (c, _) => out.push(c),
                }
            }
            out.push('"');
        }
        Encoding::SingleConcat => {
            out.push('\'');
            out.push_str(&v.replace('\'', "'\\''"));
            out.push('\'');
        }
    }
}

/// The order in which entries are written: single-quoted first, then the others whose hazards
/// could trip a parser, most dangerous last.
pub fn order_key(v: &str, encoding: Encoding) -> (bool, bool, bool, bool) {
    let quoted = encoding != Encoding::Single;
    (
        quoted,
        quoted && v.ends_with('\\'),
        quoted && v.contains('\r'),
        quoted && v.contains('$'),
    )
}

/// Render `NAME=value` lines (already checked, encoded as given, and ordered) with the header.
pub fn render<'a>(
    header: &str,
    export: bool,
    vars: impl Iterator<Item = (&'a str, &'a str, Encoding)>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{header}");
    for (name, value, encoding) in vars {
        if export {
            out.push_str("export ");
        }
        out.push_str(name);
        out.push('=');
        encode(value, encoding, &mut out);
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
/// `[export ]NAME=<value>` entries in any of the [`Encoding`]s. Anything else is an error.
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
        let (name, quoted) = body.split_once('=').ok_or(DecodeError { line })?;
        if !crate::plan::is_identifier(name) {
            return Err(err);
        }
        let (value, after) = match quoted.as_bytes().first() {
            Some(b'\'') => decode_single(&quoted[1..]),
            Some(b'"') => decode_double(&quoted[1..]),
            _ => None,
        }
        .ok_or(DecodeError { line })?;
        rest = match after.strip_prefix('\n') {
            Some(a) => a,
            None if after.is_empty() => after,
            None => return Err(DecodeError { line }),
        };
        line += quoted[..quoted.len() - after.len()].matches('\n').count() + 1;
        vars.push((name.to_owned(), value));
    }
    Ok(vars)
}

/// `raw'` or `raw'\''raw'...`, after the opening quote: the value and the rest of the text.
pub(crate) fn decode_single(mut after: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    loop {
        let end = after.find('\'')?;
        value.push_str(&after[..end]);
        after = &after[end + 1..];
        match after.strip_prefix("\\''") {
            Some(more) => {
                value.push('\'');
                after = more;
            }
            None => return Some((value, after)),
        }
    }
}

/// `..."` after the opening quote, with the escapes of both double-quoted encodings.
fn decode_double(after: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = after.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &after[i + 1..])),
            '\\' => match chars.next()?.1 {
                'r' => value.push('\r'),
                c @ ('\\' | '"' | '$' | '`') => value.push(c),
                _ => return None,
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Double, DoubleShell, Single, SingleConcat};
    use proptest::prelude::*;

    fn enc(v: &str, e: Encoding) -> String {
        let mut s = String::new();
        encode(v, e, &mut s);
        s
    }

    #[test]
    fn encodings() {
        assert_eq!(enc("", Single), "''");
        assert_eq!(enc("plain", Single), "'plain'");
        assert_eq!(
            enc("a $HOME `x` \"q\" # = \t", Single),
            "'a $HOME `x` \"q\" # = \t'"
        );
        assert_eq!(enc("line1\nline2", Single), "'line1\nline2'");
        assert_eq!(enc("it's", Double), "\"it's\"");
        assert_eq!(enc("a\\\\b", Double), "\"a\\\\\\\\b\"");
        assert_eq!(enc("ends\\", Double), "\"ends\\\\\"");
        assert_eq!(enc("cr\r\nlf", Double), "\"cr\\r\nlf\"");
        assert_eq!(enc("q\"'$`", Double), "\"q\\\"'$`\"");
        assert_eq!(enc("q\"'$`\\\r", DoubleShell), "\"q\\\"'\\$\\`\\\\\r\"");
        assert_eq!(enc("it's", SingleConcat), "'it'\\''s'");
        assert_eq!(enc("'", SingleConcat), "''\\'''");
        assert_eq!(enc("plain", SingleConcat), "'plain'");
    }

    #[test]
    fn only_raw_single_quotes_cannot_hold_a_quote() {
        assert!(!Single.holds("it's"));
        assert!(Single.holds("its\\\r"));
        for e in [Double, DoubleShell, SingleConcat] {
            assert!(e.holds("it's"));
        }
    }

    #[test]
    fn order_puts_hazards_last() {
        let mut v = [
            ("ends\\", Double),
            ("it's", Double),
            ("plain", Single),
            ("it's $x", DoubleShell),
            ("cr\r", Double),
            ("$x", Single),
        ];
        v.sort_by_key(|(x, e)| order_key(x, *e));
        let order: Vec<&str> = v.iter().map(|(x, _)| *x).collect();
        assert_eq!(order, ["plain", "$x", "it's", "it's $x", "cr\r", "ends\\"]);
    }

    #[test]
    fn render_has_header_and_final_newline() {
        let out = render(
            "# h",
            true,
            [
                ("A", "1", Single),
                ("B", "it's", Double),
                ("C", "it's", SingleConcat),
            ]
            .into_iter(),
        );
        assert_eq!(
            out,
            "# h\nexport A='1'\nexport B=\"it's\"\nexport C='it'\\''s'\n"
        );
        assert_eq!(
            decode(&out).unwrap(),
            [
                ("A".into(), "1".into()),
                ("B".into(), "it's".into()),
                ("C".into(), "it's".into())
            ]
        );
    }

    #[test]
    fn decode_rejects_what_kvenv_does_not_write() {
        assert_eq!(decode("A=unquoted\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("# c\nA='x' # c\n"), Err(DecodeError { line: 2 }));
        assert_eq!(decode("A='x\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("A=\"\\t\"\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("A=\"x\\"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("1A='x'\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("A='a\nb'\nB=\n"), Err(DecodeError { line: 3 }));
        assert_eq!(decode("A='a'\\'\n"), Err(DecodeError { line: 1 }));
        assert_eq!(decode("A='a'\"b\"\n"), Err(DecodeError { line: 1 }));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn decode_inverts_encode(
            values in proptest::collection::vec(
                ("[\\PC\\r\\n\\t'\"\\\\$`]{0,40}", 0..Encoding::ALL.len()),
                0..6,
            )
        ) {
            let vars: Vec<(String, String, Encoding)> = values
                .iter()
                .enumerate()
                .filter(|(_, (v, e))| Encoding::ALL[*e].holds(v))
                .map(|(i, (v, e))| (format!("V{i}"), v.clone(), Encoding::ALL[*e]))
                .collect();
            let out = render(
                "# h",
                false,
                vars.iter().map(|(n, v, e)| (n.as_str(), v.as_str(), *e)),
            );
            let expected: Vec<(String, String)> =
                vars.into_iter().map(|(n, v, _)| (n, v)).collect();
            prop_assert_eq!(decode(&out).unwrap(), expected);
        }

        #[test]
        fn decode_never_panics(text in "[\\PC\\n'\"\\\\=#A-Z]{0,200}") {
            let _ = decode(&text);
        }
    }
}
