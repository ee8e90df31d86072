//! kvenv's errors and their exit codes.
//!
//! Each layer of the pipeline has its own error enum (manifest here, [`crate::vault::VaultError`],
//! [`crate::assemble::FetchError`], [`crate::render::RenderError`], [`crate::write::WriteError`]);
//! this module joins them into [`Error`], which knows the exit code of every failure. Each
//! error renders as one line that says what failed, which manifest entry it concerns, and what
//! to do. No error type has a field that can hold a secret value or a token: the values travel as
//! [`crate::secret::Secret`] and never reach this module.

use std::path::PathBuf;

use thiserror::Error;

/// Exit codes, documented in README.md and `kvenv --help`.
pub mod code {
    pub const OK: u8 = 0;
    pub const WOULD_CHANGE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AUTH: u8 = 3;
    pub const MISSING: u8 = 4;
    pub const UNAVAILABLE: u8 = 5;
    pub const WRITE: u8 = 6;
}

/// A manifest that cannot be read or does not follow the rules (exit 2).
#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read manifest {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

/// Every way a kvenv run can fail.
#[derive(Debug, Error)]
pub enum Error {
    /// A command-line mistake that clap could not catch.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(transparent)]
    Fetch(Box<crate::assemble::FetchError>),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Write(#[from] crate::write::WriteError),
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    /// What a command was asked to print could not reach stdout (a full disk; a closed pipe is
    /// not an error, see [`crate::ui`]).
    #[error("cannot write to stdout: {0}")]
    Stdout(String),
    /// `kvenv run` could not start its command (exit 126, or 127 when it was not found).
    #[error("cannot run {command}: {reason}")]
    Exec {
        command: String,
        reason: String,
        code: u8,
    },
}

impl From<crate::assemble::FetchError> for Error {
    fn from(e: crate::assemble::FetchError) -> Error {
        Error::Fetch(Box::new(e))
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Manifest(_) | Error::Render(_) => code::USAGE,
            Error::Vault(e) => e.exit_code(),
            Error::Fetch(e) => e.exit_code(),
            Error::Write(_) | Error::Stdout(_) => code::WRITE,
            Error::Push(e) => e.exit_code(),
            Error::Exec { code, .. } => *code,
        }
    }

    /// The server's error behind this one, when it is not about one entry in particular (a
    /// refused token, an outage).
    pub fn server_wide(&self) -> Option<&crate::vault::VaultError> {
        match self {
            Error::Vault(e) => Some(e),
            Error::Fetch(f) => match f.as_ref() {
                crate::assemble::FetchError::Server(e)
                | crate::assemble::FetchError::Timeout(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
}

/// An I/O error as a short reason: "permission denied", without Rust's "(os error 13)".
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_reasons_are_short() {
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(io_reason(&e), "permission denied");
    }

    #[test]
    fn manifest_errors_name_file_and_line() {
        let e = ManifestError::Invalid {
            file: "secrets.toml".into(),
            line: Some(4),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "secrets.toml:4: bad");
    }
}
