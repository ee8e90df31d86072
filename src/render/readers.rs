//! Who reads the file, and what each of them reads back exactly.
//!
//! dotenv is not one format: eight real parsers disagree on quotes, escapes, CR and `$`. For every
//! reader and every [`Encoding`] kvenv can write, [`Reader::check`] says whether that reader
//! reads a value written that way back byte for byte, and if not, why. The dotenv renderer uses
//! it to pick, per value, the first encoding every declared reader accepts, and to refuse the
//! value (naming the readers, never the value) when there is none.
//!
//! The rules come from each parser's source and from measuring it (python-dotenv 1.0–1.2.4,
//! npm dotenv 16–18, Node 20's `--env-file`, compose-go 2.9 in docker compose 2.40, dotenvy
//! 0.15.7, godotenv 1.5.1, bash 5.2, dash 0.5.12); `docs/hand-kept.md` states each parser's
//! quoting, escape and CR rules with their sources. `tests/conformance.rs` checks every cell of
//! this table, in both directions,
//! against the real parsers (python-dotenv, node's `dotenv`, Node's `--env-file`, docker
//! compose, dotenvy, bash and dash) on a corpus of hostile values; `docs/dotenv.md` is its
//! report. A rule may be stricter than its parser (kvenv then refuses a value that would have
//! worked), never looser. godotenv cannot be run here (it needs a Go toolchain), so it keeps
//! the rules measured for the two encodings measured against it and refuses the others.

use super::dotenv::Encoding;

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

    /// `Ok` when this reader reads `v`, written with `encoding`, back exactly; otherwise why not.
    pub fn check(self, v: &str, encoding: Encoding) -> Result<(), &'static str> {
        use Encoding::{Double, DoubleShell, Single, SingleConcat};
        let quote = v.contains('\'');
        // Without a `'`, the concatenation is one single-quoted word: the same bytes as `Single`.
        if encoding == SingleConcat && !quote {
            return self.check(v, Single);
        }
        if encoding == Single && quote {
            return Err("single quotes cannot hold '");
        }
        let cr = v.contains('\r');
        let dollar = v.contains('$');
        let backtick = v.contains('`');
        let fail = |bad: bool, why| if bad { Err(why) } else { Ok(()) };
        let no_concat = "it does not read the shell's '\\'' concatenation";
        match (self, encoding) {
            (Reader::PythonDotenv, _) => {
                fail(
                    python_interpolates(v),
                    "it expands ${...} in every value, even in single quotes",
                )?;
                Reader::PythonDotenvRaw.check(v, encoding)
            }
            (Reader::PythonDotenvRaw, Single) => {
                fail(cr, "it reads every CR as LF")?;
                fail(
                    v.contains("\\\\"),
                    "it reads \\\\ in single quotes as one \\",
                )?;
                fail(v.ends_with('\\'), "a trailing \\ escapes the closing quote")
            }
            (Reader::PythonDotenvRaw, Double) => Ok(()),
            (Reader::PythonDotenvRaw, DoubleShell) => {
                fail(dollar || backtick, "it keeps the \\ of \\$ and \\`")?;
                fail(cr, "it reads every CR as LF")
            }
            (Reader::PythonDotenvRaw, SingleConcat) => Err(no_concat),
            (Reader::NodeDotenv, Single) => {
                fail(cr, "it turns CR into LF")?;
                fail(
                    v.ends_with('\\'),
                    "a trailing \\ makes it read past the closing quote",
                )
            }
            (Reader::NodeDotenv, Double) => fail(
                v.contains('\\') || v.contains('"'),
                "it keeps \\ escapes in double quotes, so \\ and \" cannot be written",
            ),
            (Reader::NodeDotenv, DoubleShell) => {
                fail(
                    v.contains('\\') || v.contains('"') || dollar || backtick,
                    "it keeps \\ escapes in double quotes",
                )?;
                fail(cr, "it turns CR into LF")
            }
            (Reader::NodeDotenv, SingleConcat) => Err(no_concat),
            (Reader::Node, Single) => fail(cr, "it deletes every CR"),
            (Reader::Node, Double | DoubleShell) => {
                fail(cr, "it deletes every CR")?;
                let escaped = v.contains('\\')
                    || v.contains('"')
                    || (encoding == DoubleShell && (dollar || backtick));
                fail(
                    escaped,
                    "it has no escapes, so \\ and \" cannot be written in double quotes",
                )
            }
            (Reader::Node, SingleConcat) => Err(no_concat),
            (Reader::DockerCompose, Single) => fail(
                ends_with_odd_backslashes(v),
                "a trailing \\ escapes the closing quote",
            ),
            // Go's case-insensitive `[_a-z]` also matches `ſ` and the Kelvin sign.
            (Reader::DockerCompose, Double) => fail(
                has_dollar_then(v, |c| {
                    c.is_ascii_alphabetic() || matches!(c, '_' | '{' | '$' | 'ſ' | '\u{212a}')
                }),
                "it expands $NAME and ${...} in double quotes",
            ),
            (Reader::DockerCompose, DoubleShell) => {
                fail(backtick, "it keeps the \\ of \\` in double quotes")
            }
            (Reader::DockerCompose, SingleConcat) => Err(no_concat),
            (Reader::Dotenvy, Single) => fail(
                ends_with_odd_backslashes(v),
                "a trailing \\ escapes the closing quote",
            ),
            (Reader::Dotenvy, Double) => {
                fail(cr, "it rejects \\r in double quotes and stops reading")?;
                fail(dollar, "it expands $ in double quotes")
            }
            (Reader::Dotenvy, DoubleShell) => fail(
                backtick,
                "it rejects \\` in double quotes and stops reading",
            ),
            (Reader::Dotenvy, SingleConcat) => fail(
                v.split('\'').any(ends_with_odd_backslashes),
                "a \\ before a closing quote escapes it",
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
            (Reader::Godotenv, DoubleShell | SingleConcat) => {
                Err("kvenv has not checked this quoting against godotenv")
            }
            (Reader::Sh, Single) => Ok(()),
            (Reader::Sh, Double) => {
                fail(cr, "\\r stays as text in double quotes")?;
                fail(
                    backtick || v.contains("$("),
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
            (Reader::Sh, DoubleShell | SingleConcat) => Ok(()),
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
    use Encoding::{Double, DoubleShell, Single, SingleConcat};

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
    fn sh_refuses_command_substitution_in_python_double_quotes() {
        assert!(Reader::Sh.check("it's `x`", Double).is_err());
        assert!(Reader::Sh.check("it's $(x)", Double).is_err());
        assert!(Reader::Sh.check("it's $ 5", Double).is_ok());
        assert!(Reader::Sh.check("`x` $(y)", Single).is_ok());
        // Escaped or single-quoted, nothing runs.
        assert!(Reader::Sh.check("it's `x` $(y)", DoubleShell).is_ok());
        assert!(Reader::Sh.check("it's `x` $(y)", SingleConcat).is_ok());
    }

    #[test]
    fn no_one_reads_a_quote_inside_single_quotes() {
        for r in Reader::ALL {
            assert!(r.check("it's", Single).is_err(), "{}", r.name());
        }
    }

    #[test]
    fn concatenation_without_a_quote_is_single_quotes() {
        for r in Reader::ALL {
            for v in ["", "plain", "cr\r", "a\\\\", "end\\", "${X}"] {
                assert_eq!(
                    r.check(v, SingleConcat).is_ok(),
                    r.check(v, Single).is_ok(),
                    "{} {v:?}",
                    r.name()
                );
            }
        }
    }

    #[test]
    fn compose_folds_two_non_ascii_letters_into_names() {
        assert!(
            Reader::DockerCompose
                .check("it's $\u{17f}x", Double)
                .is_err()
        );
        assert!(
            Reader::DockerCompose
                .check("it's $\u{212a}x", Double)
                .is_err()
        );
        assert!(Reader::DockerCompose.check("it's $\u{e9}x", Double).is_ok());
    }

    #[test]
    fn shell_escapes_carry_dollar_for_compose_and_dotenvy() {
        let v = "it's $HOME and ${X}";
        assert!(Reader::DockerCompose.check(v, Double).is_err());
        assert!(Reader::DockerCompose.check(v, DoubleShell).is_ok());
        assert!(Reader::Dotenvy.check(v, Double).is_err());
        assert!(Reader::Dotenvy.check(v, DoubleShell).is_ok());
        assert!(Reader::PythonDotenvRaw.check(v, DoubleShell).is_err());
        assert!(Reader::Dotenvy.check("it\\'s", SingleConcat).is_err());
        assert!(Reader::Dotenvy.check("it\\\\'s", SingleConcat).is_ok());
    }
}
