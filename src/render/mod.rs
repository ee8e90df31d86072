//! Secrets → bytes: the file (or stdout) in the format the user asked for.
//!
//! Rendering is pure: it knows nothing of HTTP or files. It is also where kvenv keeps its
//! promise that a value is read back exactly or refused: for each value the dotenv renderer
//! picks the first [`dotenv::Encoding`] that every declared [`Reader`] reads back exactly, and
//! refuses the run (naming the variable, the readers and why, never the value) when none does.

pub mod dotenv;
pub mod github;
pub mod json;
pub mod readers;
pub mod shell;

use thiserror::Error;

pub use readers::Reader;

use crate::secret::Var;
use dotenv::Encoding;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dotenv,
    Shell,
    Json,
    /// `::add-mask::` lines on stdout and `NAME<<DELIM` blocks appended to `$GITHUB_ENV`: for
    /// `kvenv export` only.
    Github,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "dotenv" => Some(Format::Dotenv),
            "shell" => Some(Format::Shell),
            "json" => Some(Format::Json),
            "github" => Some(Format::Github),
            _ => None,
        }
    }
}

/// A value that cannot be written so that its readers read it back exactly.
#[derive(Debug, Error)]
pub enum RenderError {
    #[error(
        "{name} (from {path}): the value contains a NUL byte, which no environment variable can hold"
    )]
    Nul { name: String, path: String },
    #[error("{name} (from {path}): {why}; leave it out of this export, or use --format dotenv")]
    Github {
        name: String,
        path: String,
        why: &'static str,
    },
    #[error(
        "{name} (from {path}): {} would not read the value back exactly ({}){}; {hint}",
        names(readers.iter().map(|(r, _)| *r)),
        readers.iter().map(|(r, why)| format!("{}: {why}", r.name())).collect::<Vec<_>>().join("; "),
        if breaks.is_empty() {
            String::new()
        } else {
            format!("; every quoting {} can read breaks {}", names(readers.iter().map(|(r, _)| *r)), names(breaks.iter().copied()))
        }
    )]
    Refused {
        name: String,
        path: String,
        /// The readers that misread the value in the quoting most readers accept, and why.
        readers: Vec<(Reader, &'static str)>,
        /// The other readers that each quoting those readers can read would break.
        breaks: Vec<Reader>,
        hint: &'static str,
    },
}

fn names(readers: impl Iterator<Item = Reader>) -> String {
    readers.map(Reader::name).collect::<Vec<_>>().join(", ")
}

/// How to render.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub format: Format,
    pub readers: &'a [Reader],
    pub export: bool,
    /// The first line of a dotenv or shell file.
    pub header: String,
}

/// Render the variables (in manifest order) to the bytes of the output.
pub fn render(vars: &[Var], opts: &Options) -> Result<Vec<u8>, RenderError> {
    no_nul(vars)?;
    let text = match opts.format {
        Format::Dotenv => {
            let mut entries = vars
                .iter()
                .map(|v| Ok((v, choose_encoding(v, opts.readers)?)))
                .collect::<Result<Vec<_>, RenderError>>()?;
            entries.sort_by_key(|(v, e)| dotenv::order_key(v.value.expose(), *e));
            dotenv::render(
                &opts.header,
                opts.export,
                entries
                    .iter()
                    .map(|(v, e)| (v.name.as_str(), v.value.expose(), *e)),
            )
        }
        Format::Shell => shell::render(&opts.header, vars),
        Format::Json => json::render(vars),
        // What `kvenv export` prints and appends, in that order (see `github`).
        Format::Github => {
            let g = github::render(vars, github::RunnerOs::Unix)?;
            g.masks + &g.env
        }
    };
    Ok(text.into_bytes())
}

/// Refuse a value with a NUL byte, which no environment variable, and so no format, can carry.
pub fn no_nul(vars: &[Var]) -> Result<(), RenderError> {
    match vars.iter().find(|v| v.value.expose().contains('\0')) {
        Some(v) => Err(RenderError::Nul {
            name: v.name.clone(),
            path: v.path.clone(),
        }),
        None => Ok(()),
    }
}

/// The first encoding every reader reads back exactly, or the refusal that says who cannot.
pub fn choose_encoding(v: &Var, readers: &[Reader]) -> Result<Encoding, RenderError> {
    let value = v.value.expose();
    let failing = |e: Encoding| -> Vec<(Reader, &'static str)> {
        readers
            .iter()
            .filter_map(|r| r.check(value, e).err().map(|why| (*r, why)))
            .collect()
    };
    let candidates: Vec<(Encoding, Vec<(Reader, &'static str)>)> = Encoding::ALL
        .into_iter()
        .filter(|e| e.holds(value))
        .map(|e| (e, failing(e)))
        .collect();
    if let Some((e, _)) = candidates.iter().find(|(_, f)| f.is_empty()) {
        return Ok(*e);
    }
    // Explain the quoting that suits the most readers (the earliest of equals).
    let misread_by: Vec<(Reader, &'static str)> = candidates
        .iter()
        .min_by_key(|(_, f)| f.len())
        .map(|(_, f)| f.clone())
        .unwrap_or_default();
    // Would another quoting suit those readers? Then say whom it would break instead.
    let mut breaks: Vec<Reader> = candidates
        .iter()
        .filter(|(_, f)| {
            !f.iter()
                .any(|(r, _)| misread_by.iter().any(|(w, _)| w == r))
        })
        .flat_map(|(_, f)| f.iter().map(|(r, _)| *r))
        .collect();
    breaks.sort();
    breaks.dedup();
    let hint = if breaks.is_empty() && misread_by.iter().all(|(r, _)| *r == Reader::PythonDotenv) {
        "if the app loads the file with interpolate=False, declare the reader python-dotenv-raw instead"
    } else {
        "remove from [output] readers (or --reader) any that does not read this file, or use format = \"json\" or \"shell\""
    };
    Err(RenderError::Refused {
        name: v.name.clone(),
        path: v.path.clone(),
        readers: misread_by,
        breaks,
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn var(name: &str, value: &str) -> Var {
        Var::new(name, value, "kv/app")
    }

    fn opts(readers: &[Reader]) -> Options<'_> {
        Options {
            format: Format::Dotenv,
            readers,
            export: false,
            header: "# h".into(),
        }
    }

    fn rendered(vars: &[Var], readers: &[Reader]) -> String {
        String::from_utf8(render(vars, &opts(readers)).unwrap()).unwrap()
    }

    #[test]
    fn refusals_name_the_reader_never_the_value() {
        let canary = "CANARY-${HOME}";
        let err = render(&[var("A", canary)], &opts(&Reader::DEFAULT)).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("CANARY"), "{text}");
        assert_eq!(
            text,
            "A (from kv/app): python-dotenv would not read the value back exactly (python-dotenv: it expands ${...} in every value, even in single quotes); if the app loads the file with interpolate=False, declare the reader python-dotenv-raw instead"
        );
        assert!(
            render(
                &[var("A", canary)],
                &opts(&[Reader::PythonDotenvRaw, Reader::Sh])
            )
            .is_ok()
        );
        let err = render(&[var("A", "it's `CANARY`")], &opts(&Reader::DEFAULT)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "A (from kv/app): sh would not read the value back exactly (sh: it would run ` and $( as commands); every quoting sh can read breaks python-dotenv, node-dotenv, docker-compose; remove from [output] readers (or --reader) any that does not read this file, or use format = \"json\" or \"shell\""
        );
    }

    #[test]
    fn a_conflict_names_both_sides() {
        let err = render(
            &[var("P", "it's $CANARY")],
            &opts(&[Reader::PythonDotenv, Reader::Sh]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "P (from kv/app): sh would not read the value back exactly (sh: it expands $ in double quotes); every quoting sh can read breaks python-dotenv; remove from [output] readers (or --reader) any that does not read this file, or use format = \"json\" or \"shell\""
        );
        let err = render(&[var("C", "cr\r")], &opts(&[Reader::Node])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "C (from kv/app): node would not read the value back exactly (node: it deletes every CR); remove from [output] readers (or --reader) any that does not read this file, or use format = \"json\" or \"shell\""
        );
    }

    #[test]
    fn each_value_gets_the_first_quoting_all_readers_accept() {
        let vars = [var("Q", "it's $HOME `x`")];
        // python-dotenv needs its own double quotes; sh would run the backtick in them.
        assert!(render(&vars, &opts(&[Reader::PythonDotenv, Reader::Sh])).is_err());
        assert_eq!(
            rendered(&vars, &[Reader::PythonDotenv]),
            "# h\nQ=\"it's $HOME `x`\"\n"
        );
        assert_eq!(
            rendered(&vars, &[Reader::Dotenvy, Reader::Sh]),
            "# h\nQ='it'\\''s $HOME `x`'\n"
        );
        assert_eq!(
            rendered(
                &[var("D", "it's $HOME")],
                &[Reader::DockerCompose, Reader::Sh]
            ),
            "# h\nD=\"it's \\$HOME\"\n"
        );
        assert_eq!(
            rendered(&[var("S", "it's")], &Reader::DEFAULT),
            "# h\nS=\"it's\"\n"
        );
    }

    #[test]
    fn nul_is_always_refused() {
        for format in [Format::Dotenv, Format::Shell, Format::Json, Format::Github] {
            let o = Options {
                format,
                ..opts(&[Reader::PythonDotenvRaw])
            };
            let err = render(&[var("A", "a\0CANARY")], &o).unwrap_err();
            assert!(matches!(err, RenderError::Nul { .. }));
            assert!(!err.to_string().contains("CANARY"));
        }
    }

    #[test]
    fn dotenv_orders_hazards_last() {
        let out = render(
            &[var("Z", "it's"), var("A", "plain"), var("M", "ends\\")],
            &opts(&[Reader::PythonDotenvRaw]),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# h\nA='plain'\nZ=\"it's\"\nM=\"ends\\\\\"\n"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// Whatever the readers, a rendered file decodes to exactly the values, and every
        /// entry is written in a quoting each declared reader accepts.
        #[test]
        fn rendered_files_decode_to_the_values(
            values in proptest::collection::vec("[\\PC\\r\\n\\t'\"\\\\$`{}()]{0,30}", 1..6),
            mask in 1u8..=255,
        ) {
            let readers: Vec<Reader> = Reader::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, r)| r)
                .collect();
            let vars: Vec<Var> = values
                .iter()
                .enumerate()
                .map(|(i, v)| var(&format!("V{i}"), v))
                .collect();
            match render(&vars, &opts(&readers)) {
                Ok(bytes) => {
                    let mut decoded = dotenv::decode(std::str::from_utf8(&bytes).unwrap()).unwrap();
                    decoded.sort();
                    let mut expected: Vec<(String, String)> = vars
                        .iter()
                        .map(|v| (v.name.clone(), v.value.expose().to_owned()))
                        .collect();
                    expected.sort();
                    prop_assert_eq!(decoded, expected);
                    for v in &vars {
                        let e = choose_encoding(v, &readers).unwrap();
                        for r in &readers {
                            prop_assert!(r.check(v.value.expose(), e).is_ok());
                        }
                    }
                }
                Err(RenderError::Refused { name, readers: failing, .. }) => {
                    let v = vars.iter().find(|v| v.name == name).unwrap();
                    prop_assert!(!failing.is_empty());
                    prop_assert!(failing.iter().all(|(r, _)| readers.contains(r)));
                    for e in Encoding::ALL.into_iter().filter(|e| e.holds(v.value.expose())) {
                        prop_assert!(readers.iter().any(|r| r.check(v.value.expose(), e).is_err()));
                    }
                }
                Err(RenderError::Nul { .. }) => prop_assert!(false, "no NUL was generated"),
                Err(RenderError::Github { .. }) => prop_assert!(false, "not the github format"),
            }
        }
    }
}
