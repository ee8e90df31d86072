//! `secrets.toml` as written: the raw, deserialised manifest.
//!
//! This module only reads TOML into typed sections and remembers where each entry stands, so
//! that every later error can name the file and line. It checks the shape (unknown fields,
//! wrong types) through serde; the meaning (names, paths, placeholders, versions) is checked when
//! the manifest becomes a [`crate::plan::Plan`]. The `[secrets]` entries are kept as raw TOML
//! values in document order: the three forms they can take are easier to explain in an error
//! when interpreted by hand than through an untagged serde enum ("data did not match any
//! variant" helps nobody).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::error::ManifestError;

mod auth;
pub use auth::{AuthCommon, AuthSection};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub vault: VaultSection,
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub output: OutputSection,
    #[serde(default)]
    pub secrets: Entries,
}

/// `[vault]`: where the server is and how to talk to it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSection {
    pub address: Option<String>,
    pub namespace: Option<String>,
    /// Mount path → KV version, e.g. `{ kv = 1, secret = 2 }`.
    #[serde(default)]
    pub kv_version: BTreeMap<String, Spanned<i64>>,
    pub auth: Option<Spanned<AuthSection>>,
    pub tls: Option<TlsSection>,
}

/// `[vault.tls]`: like the `VAULT_CACERT` family of variables, which take precedence.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub ca_cert: Option<PathBuf>,
    pub ca_path: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_name: Option<String>,
    pub skip_verify: Option<bool>,
}

/// Where a credential comes from. Never the credential itself: the manifest is committed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Credential {
    Env(String),
    File(PathBuf),
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    pub path: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub readers: Option<Spanned<Vec<String>>>,
    pub gitignore: Option<bool>,
    pub mode: Option<Spanned<String>>,
    pub export: Option<bool>,
}

/// One `[secrets]` line: the name as written and its raw value.
#[derive(Debug)]
pub struct RawEntry {
    pub name: Spanned<String>,
    pub value: Spanned<toml::Value>,
}

/// `[secrets]` in document order (the order the file is written in).
#[derive(Debug, Default)]
pub struct Entries(pub Vec<RawEntry>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of NAME = \"path\" entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some((name, value)) = map.next_entry()? {
                    entries.push(RawEntry { name, value });
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
}

/// The manifest's text and where it came from, kept to turn byte offsets into line numbers.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// Where each line starts, so a line number is a binary search, not a scan from the top
    /// (every entry asks for its line: a scan made planning quadratic in the entries).
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Source {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            path: path.into(),
            text,
            line_starts,
        }
    }

    pub fn read(path: &Path) -> Result<Source, ManifestError> {
        let read_error = |reason: String| ManifestError::Read {
            path: path.to_owned(),
            reason,
        };
        match crate::files::read_text(path, crate::files::LIMIT) {
            Ok(Some(text)) => Ok(Source::new(path, text)),
            Ok(None) => Err(read_error(
                "no such file; write one with `kvenv init` (or `kvenv init --from .env`), or name another with -m PATH".into(),
            )),
            Err(e) => Err(read_error(crate::error::io_reason(&e))),
        }
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Parse the text. A TOML or shape error becomes one line: `file:line: message`.
    pub fn parse(&self) -> Result<Manifest, ManifestError> {
        toml::from_str(&self.text).map_err(|e| {
            // `toml`'s Display draws a multi-line snippet of the file; kvenv's errors are one
            // line, so it takes the bare message and the span.
            let mut message = e.message().trim().replace('\n', " ");
            if message == "duplicate key"
                && let Some(key) = e.span().and_then(|s| self.text.get(s))
            {
                message = format!(
                    "duplicate key {}: each name may appear only once in a table",
                    key.trim()
                );
            }
            ManifestError::Invalid {
                file: self.path.clone(),
                line: e.span().map(|s| self.line_of(s.start)),
                message,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        let src = Source::new("secrets.toml", text);
        src.parse().map_err(|e| e.to_string())
    }

    #[test]
    fn line_numbers() {
        let src = Source::new("s", "a\nbc\n\nd");
        let lines: Vec<usize> = (0..src.text.len() + 1).map(|o| src.line_of(o)).collect();
        assert_eq!(lines, [1, 1, 2, 2, 2, 3, 4, 4]);
    }

    #[test]
    fn entries_keep_document_order() {
        let m = parse("[secrets]\nZ = \"kv/z\"\nA = \"kv/a\"\nM = { path = \"kv/m\" }\n").unwrap();
        let names: Vec<_> = m
            .secrets
            .0
            .iter()
            .map(|e| e.name.get_ref().as_str())
            .collect();
        assert_eq!(names, ["Z", "A", "M"]);
    }

    #[test]
    fn unknown_fields_are_errors_with_a_line() {
        let err = parse("[vault]\naddress = \"http://x\"\nadress = \"y\"\n").unwrap_err();
        assert!(
            err.starts_with("secrets.toml:3: unknown field `adress`"),
            "{err}"
        );
        let err = parse("[outputs]\npath = \".env\"\n").unwrap_err();
        assert!(
            err.starts_with("secrets.toml:1: unknown field `outputs`"),
            "{err}"
        );
    }

    #[test]
    fn credentials_are_references_not_values() {
        let m = parse("[vault.auth]\nmethod = \"approle\"\nrole_id = { env = \"RID\" }\nsecret_id = { file = \"/run/s\" }\n").unwrap();
        let auth = m.vault.auth.unwrap().into_inner();
        assert_eq!(auth.method(), "approle");
        let AuthSection::Approle {
            role_id, secret_id, ..
        } = auth
        else {
            panic!("not approle: {auth:?}");
        };
        assert_eq!(role_id, Credential::Env("RID".into()));
        assert_eq!(secret_id, Some(Credential::File("/run/s".into())));
        assert_eq!(
            parse("[vault.auth]\nmethod = \"approle\"\nrole_id = \"literal\"\n").unwrap_err(),
            "secrets.toml:1: [vault.auth] a credential is given as { env = \"NAME\" } or { file = \"PATH\" }, never as the value itself"
        );
        assert_eq!(
            parse("[vault.auth]\nmethod = \"magic\"\n").unwrap_err(),
            "secrets.toml:1: [vault.auth] method \"magic\" is not one of token, approle, jwt, github-actions, kubernetes, userpass"
        );
        // Without `method`, a token.
        let m = parse("[vault.auth]\ntoken = { env = \"T\" }\n").unwrap();
        assert_eq!(
            m.vault.auth.unwrap().into_inner(),
            AuthSection::Token {
                token: Some(Credential::Env("T".into()))
            }
        );
    }

    #[test]
    fn duplicate_keys_are_named() {
        let err = parse("[secrets]\nA = \"kv/a\"\nB = \"kv/b\"\nA = \"kv/c\"\n").unwrap_err();
        assert_eq!(
            err,
            "secrets.toml:4: duplicate key A: each name may appear only once in a table"
        );
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let err = parse("[secrets]\nA = \n").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.starts_with("secrets.toml:2: "), "{err}");
    }
}
