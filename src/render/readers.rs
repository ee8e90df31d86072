//! Who reads the file, and what each of them reads back exactly.
//!
//! dotenv is not one format: eight real parsers disagree on quotes, escapes, CR and `$`. The
//! rules below are the predicate table of `shared/reference/dotenv.md` §4.4, which agreed with all
//! 728 cells measured on the real parsers; the conformance suite in `tests/` checks them again
//! against the parsers CI installs. kvenv uses them to refuse a value that some declared reader
//! would misread, instead of writing it wrong.

use super::dotenv::Quoting;

/// A program that reads the output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reader {
    /// python-dotenv with its default `interpolate=True` (Flask, `load_dotenv()`).
    PythonDotenv,
    /// python-dotenv loaded with `interpolate=False`.
    PythonDotenvRaw,
    /// The npm package `dotenv`.
    NodeDotenv,
    /// Node's built-in `--env-file` / `process.loadEnvFile`.
    Node,
    /// Docker Compose `env_file:`.
    DockerCompose,
    /// The Rust crate `dotenvy`.
    Dotenvy,
    /// The Go package `github.com/joho/godotenv`.
    Godotenv,
    /// `set -a; . ./.env` in bash or dash.
    Sh,
}

impl Reader {
    pub const ALL: [Reader; 8] = [
        Reader::PythonDotenv,
        Reader::PythonDotenvRaw,
        Reader::NodeDotenv,
        Reader::Node,
        Reader::DockerCompose,
        Reader::Dotenvy,
        Reader::Godotenv,
        Reader::Sh,
    ];

    /// The readers assumed when the manifest names none.
    pub const DEFAULT: [Reader; 4] = [
        Reader::PythonDotenv,
        Reader::NodeDotenv,
        Reader::DockerCompose,
        Reader::Sh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reader::PythonDotenv => "python-dotenv",
            Reader::PythonDotenvRaw => "python-dotenv-raw",
            Reader::NodeDotenv => "node-dotenv",
            Reader::Node => "node",
            Reader::DockerCompose => "docker-compose",
            Reader::Dotenvy => "dotenvy",
            Reader::Godotenv => "godotenv",
            Reader::Sh => "sh",
        }
    }

    pub fn parse(name: &str) -> Option<Reader> {
        Reader::ALL.into_iter().find(|r| r.name() == name)
    }

    /// `Ok` when this reader reads `v`, written with `quoting`, back exactly; otherwise why not.
    pub fn check(self, v: &str, quoting: Quoting) -> Result<(), &'static str> {
        use Quoting::{Double, Single};
        let cr = v.contains('\r');
        let fail = |bad: bool, why| if bad { Err(why) } else { Ok(()) };
        match (self, quoting) {
            (Reader::PythonDotenv, _) => fail(
                python_interpolates(v),
                "it expands ${...} in every value, even in single quotes",
            ),
            (Reader::PythonDotenvRaw, _) => Ok(()),
            (Reader::Dotenvy, Single) => fail(
                ends_with_odd_backslashes(v),
                "a trailing backslash escapes the closing quote",
            ),
            (Reader::Dotenvy, Double) => {
                fail(cr, "it rejects \\r in double quotes and stops reading")?;
                fail(v.contains('$'), "it expands $ in double quotes")
            }
            (Reader::NodeDotenv | Reader::Node, Single) => fail(cr, "it turns CR into LF"),
            (Reader::NodeDotenv, Double) => fail(
                v.contains('\\') || v.contains('"'),
                "it keeps \\ escapes in double quotes, so \\ and \" cannot be written",
            ),
            (Reader::Node, Double) => {
                fail(cr, "it deletes every CR")?;
                fail(
                    v.contains('\\') || v.contains('"'),
                    "it has no escapes, so \\ and \" cannot be written in double quotes",
                )
            }
            (Reader::DockerCompose, Single) => fail(
                ends_with_odd_backslashes(v),
                "a trailing backslash escapes the closing quote",
            ),
            (Reader::DockerCompose, Double) => fail(
                has_dollar_then(v, |c| {
                    c.is_ascii_alphabetic() || matches!(c, '_' | '{' | '$')
                }),
                "it expands $NAME and ${...} in double quotes",
            ),
            (Reader::Godotenv, Single) => {
                fail(v.contains("\r\n"), "it turns CRLF into LF")?;
                fail(
                    v.ends_with('\\'),
                    "a trailing backslash breaks the whole file",
                )
            }
            (Reader::Godotenv, Double) => {
                fail(
                    v.ends_with('\\') || v.ends_with('"'),
                    "a trailing \\ or \" breaks its quote handling",
                )?;
                fail(v.contains("\\$"), "it reads \\$ as $")?;
                fail(
                    godotenv_expands(v),
                    "it expands $NAME and ${...} in double quotes",
                )
            }
            (Reader::Sh, Single) => Ok(()),
            (Reader::Sh, Double) => {
                fail(cr, "\\r stays as text in double quotes")?;
                fail(
                    v.contains('`') || v.contains("$("),
                    "it would run ` and $( as commands",
                )?;
                fail(
                    has_dollar_then(v, |c| {
                        c.is_ascii_alphanumeric()
                            || matches!(
                                c,
                                '_' | '{' | '(' | '@' | '*' | '#' | '?' | '$' | '!' | '-'
                            )
                    }),
                    "it expands $ in double quotes",
                )
            }
        }
    }
}

/// python-dotenv's `\$\{[^}:]*(?::-[^}]*)?\}`, which it expands in every value.
pub fn python_interpolates(v: &str) -> bool {
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let name_end = after.find(['}', ':']).unwrap_or(after.len());
        let tail = &after[name_end..];
        if tail.starts_with('}') || (tail.starts_with(":-") && tail[2..].contains('}')) {
            return true;
        }
        rest = &rest[i + 2..];
    }
    false
}

fn ends_with_odd_backslashes(v: &str) -> bool {
    v.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

fn has_dollar_then(v: &str, next: impl Fn(char) -> bool) -> bool {
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|&n| next(n)) {
            return true;
        }
    }
    false
}

/// godotenv 1.5.1's `(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?` when it names something.
fn godotenv_expands(v: &str) -> bool {
    let b = v.as_bytes();
    (0..b.len()).any(|i| {
        if b[i] != b'$' {
            return false;
        }
        let mut j = i + 1;
        if b.get(j) == Some(&b'(') {
            j += 1;
        }
        if b.get(j) == Some(&b'{') {
            j += 1;
        }
        b.get(j)
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_pattern() {
        assert!(python_interpolates("a${B}c"));
        assert!(python_interpolates("${B:-x}"));
        assert!(python_interpolates("${}"));
        assert!(!python_interpolates("${B:x}"));
        assert!(!python_interpolates("${unclosed"));
        assert!(!python_interpolates("$B"));
        assert!(python_interpolates("${:x} ${A}"));
    }

    #[test]
    fn names_round_trip() {
        for r in Reader::ALL {
            assert_eq!(Reader::parse(r.name()), Some(r));
        }
    }

    #[test]
    fn sh_refuses_command_substitution_in_double_quotes() {
        assert!(Reader::Sh.check("it's `x`", Quoting::Double).is_err());
        assert!(Reader::Sh.check("it's $(x)", Quoting::Double).is_err());
        assert!(Reader::Sh.check("it's $ 5", Quoting::Double).is_ok());
        assert!(Reader::Sh.check("`x` $(y)", Quoting::Single).is_ok());
    }
}
