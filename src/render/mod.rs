//! Secrets → bytes: the file (or stdout) in the format the user asked for.
//!
//! Rendering is pure: it knows nothing of HTTP or files. It is also where kvenv keeps its
//! promise that a value is read back exactly or refused: the dotenv renderer asks every declared
//! [`Reader`] whether it would read each value back as written, and refuses the run (naming the
//! variable, the reader and why, never the value) when one would not.

pub mod dotenv;
pub mod github;
pub mod json;
pub mod readers;
pub mod shell;

use thiserror::Error;

pub use readers::Reader;

use crate::secret::Var;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dotenv,
    Shell,
    Json,
    /// `$GITHUB_ENV` blocks with `::add-mask::` lines: for `kvenv export` only.
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
    #[error(
        "{name} (from {path}): {} would not read the value back exactly ({}); {hint}",
        readers.iter().map(|(r, _)| r.name()).collect::<Vec<_>>().join(", "),
        readers.iter().map(|(r, why)| format!("{}: {why}", r.name())).collect::<Vec<_>>().join("; ")
    )]
    Refused {
        name: String,
        path: String,
        readers: Vec<(Reader, &'static str)>,
        hint: &'static str,
    },
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
    if let Some(v) = vars.iter().find(|v| v.value.expose().contains('\0')) {
        return Err(RenderError::Nul {
            name: v.name.clone(),
            path: v.path.clone(),
        });
    }
    let text = match opts.format {
        Format::Dotenv => {
            for v in vars {
                check_readers(v, opts.readers)?;
            }
            let mut ordered: Vec<&Var> = vars.iter().collect();
            ordered.sort_by_key(|v| dotenv::order_key(v.value.expose()));
            dotenv::render(
                &opts.header,
                opts.export,
                ordered.iter().map(|v| (v.name.as_str(), v.value.expose())),
            )
        }
        Format::Shell => shell::render(&opts.header, vars),
        Format::Json => json::render(vars),
        Format::Github => github::render(vars),
    };
    Ok(text.into_bytes())
}

fn check_readers(v: &Var, readers: &[Reader]) -> Result<(), RenderError> {
    let value = v.value.expose();
    let quoting = dotenv::quoting(value);
    let failing: Vec<(Reader, &'static str)> = readers
        .iter()
        .filter_map(|r| r.check(value, quoting).err().map(|why| (*r, why)))
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    let hint = if failing.iter().all(|(r, _)| *r == Reader::PythonDotenv) {
        "if the app loads the file with interpolate=False, declare the reader python-dotenv-raw instead"
    } else {
        "remove that reader from [output] readers if it does not read this file, or use format = \"json\" or \"shell\""
    };
    Err(RenderError::Refused {
        name: v.name.clone(),
        path: v.path.clone(),
        readers: failing,
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn var(name: &str, value: &str) -> Var {
        Var {
            name: name.into(),
            value: Secret::new(value),
            path: "kv/app".into(),
            version: None,
        }
    }

    fn opts(readers: &[Reader]) -> Options<'_> {
        Options {
            format: Format::Dotenv,
            readers,
            export: false,
            header: "# h".into(),
        }
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
        assert!(
            err.to_string()
                .contains("sh: it would run ` and $( as commands"),
            "{err}"
        );
        assert!(!err.to_string().contains("CANARY"));
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
}
