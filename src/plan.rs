//! The plan: a manifest with every rule checked and every placeholder filled in.
//!
//! A [`Plan`] is what the rest of the pipeline works from. Its types carry the manifest's
//! invariants, so later stages never re-check them: every variable name is a valid environment
//! variable name, every path is a clean logical KV path (mount first, no `data/` inserted, no
//! empty, `.` or `..` segments) with its `{placeholders}` substituted, every pinned version is at
//! least 1, and each entry knows its manifest line for error messages.
//!
//! What cannot be known offline (the KV version of a mount that the manifest does not declare,
//! the keys of a `PREFIX_*` import) is checked by [`crate::fetch`] once the server has answered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ManifestError;
use crate::manifest::{AuthSection, Credential, Manifest, RawEntry, Source, TlsSection};
use crate::render::{Format, Reader};
use crate::vault::kv::{KvVersion, Mount};

/// Overrides from the command line that change the plan itself.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--var NAME=VALUE`, in order; a later one wins.
    pub vars: Vec<(String, String)>,
    /// `--output PATH`, taken relative to the working directory.
    pub output: Option<PathBuf>,
    /// `--format`.
    pub format: Option<Format>,
    /// `--reader`, repeatable; replaces the manifest's list.
    pub readers: Vec<Reader>,
}

/// Everything a run needs from the manifest.
#[derive(Debug)]
pub struct Plan {
    /// The manifest's path, as given.
    pub manifest: PathBuf,
    pub vault: VaultPlan,
    pub output: OutputPlan,
    pub entries: Vec<Entry>,
}

#[derive(Debug)]
pub struct VaultPlan {
    pub address: Option<String>,
    pub namespace: Option<String>,
    /// The mounts whose KV version the manifest declares (`kv_version`), longest path first,
    /// so kvenv need not ask the server about them.
    pub mounts: Vec<Mount>,
    pub auth: AuthSection,
    pub tls: Option<TlsSection>,
}

#[derive(Debug)]
pub struct OutputPlan {
    pub path: PathBuf,
    pub format: Format,
    pub readers: Vec<Reader>,
    pub gitignore: bool,
    pub mode: u32,
    pub export: bool,
}

/// One `[secrets]` entry, checked.
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    /// The logical KV path: `kv/app/db`.
    pub path: String,
    pub version: Option<u64>,
    pub missing: OnMissing,
    /// Masked in CI logs (`mask = false` turns it off for plain configuration).
    pub mask: bool,
    /// `secrets.toml:12`, for error messages.
    pub location: String,
}

/// What an entry produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One variable from one key.
    Var { name: String, key: String },
    /// `PREFIX_*`: one variable per key of the secret.
    Import { prefix: String },
}

/// What happens when the secret, key or version is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnMissing {
    Fail,
    Skip,
    Default(String),
}

impl Entry {
    /// The name as written in the manifest: `DB_PASSWORD` or `POSTGRES_*`.
    pub fn label(&self) -> String {
        match &self.target {
            Target::Var { name, .. } => name.clone(),
            Target::Import { prefix } => format!("{prefix}*"),
        }
    }
}

impl Plan {
    /// Read, parse and check a manifest.
    pub fn load(manifest: &Path, overrides: &Overrides) -> Result<Plan, ManifestError> {
        let source = Source::read(manifest)?;
        let parsed = source.parse()?;
        Plan::build(&source, parsed, overrides)
    }

    /// Check a parsed manifest and apply the command-line overrides.
    pub fn build(
        source: &Source,
        manifest: Manifest,
        overrides: &Overrides,
    ) -> Result<Plan, ManifestError> {
        let err = |offset: Option<usize>, message: String| ManifestError::Invalid {
            file: source.path.clone(),
            line: offset.map(|o| source.line_of(o)),
            message,
        };

        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &manifest.vars {
            if !is_identifier(name) {
                return Err(err(
                    Some(value.span().start),
                    format!(
                        "[vars] name {name:?} is not a valid placeholder name (letters, digits, _)"
                    ),
                ));
            }
            check_var_value(value.get_ref()).map_err(|m| {
                err(
                    Some(value.span().start),
                    format!("[vars] {name} = {:?}: {m}", value.get_ref()),
                )
            })?;
            vars.insert(name.clone(), value.get_ref().clone());
        }
        let mut used: Vec<String> = Vec::new();
        for (name, value) in &overrides.vars {
            if !is_identifier(name) {
                return Err(err(
                    None,
                    format!("--var {name}: not a valid placeholder name (letters, digits, _)"),
                ));
            }
            check_var_value(value).map_err(|m| err(None, format!("--var {name}={value}: {m}")))?;
            vars.insert(name.clone(), value.clone());
        }

        let mut mounts = Vec::new();
        for (mount, version) in &manifest.vault.kv_version {
            let at = Some(version.span().start);
            let version = match *version.get_ref() {
                1 => KvVersion::V1,
                2 => KvVersion::V2,
                other => {
                    return Err(err(
                        at,
                        format!("kv_version for mount {mount:?} is {other}; it must be 1 or 2"),
                    ));
                }
            };
            let path = normalize_path(mount)
                .map_err(|m| err(at, format!("kv_version: mount {mount:?}: {m}")))?;
            mounts.push(Mount::declared(&path, version));
        }
        // Longest first, so that the first prefix match is the right mount.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.path.len()));

        let output = build_output(source, &manifest, overrides, &err)?;
        let auth = match manifest.vault.auth {
            Some(auth) => {
                let at = Some(auth.span().start);
                let auth = auth.into_inner();
                for (field, c) in auth.credentials() {
                    if let Credential::File(p) = c {
                        check_path(p).map_err(|m| err(at, format!("[vault.auth] {field}: {m}")))?;
                    }
                }
                auth
            }
            None => AuthSection::default(),
        };

        if let Some(tls) = &manifest.vault.tls {
            for (field, p) in [
                ("ca_cert", &tls.ca_cert),
                ("ca_path", &tls.ca_path),
                ("client_cert", &tls.client_cert),
                ("client_key", &tls.client_key),
            ] {
                if let Some(p) = p {
                    check_path(p).map_err(|m| err(None, format!("[vault.tls] {field}: {m}")))?;
                }
            }
        }

        let mut entries = Vec::with_capacity(manifest.secrets.0.len());
        for raw in &manifest.secrets.0 {
            let at = raw.name.span().start;
            let location = format!("{}:{}", source.path.display(), source.line_of(at));
            let entry = build_entry(raw, &vars, &mut used, location)
                .map_err(|m| err(Some(at), format!("{}: {m}", raw.name.get_ref())))?;
            if let (Some(_), Some(mount)) = (entry.version, declared_mount(&mounts, &entry.path))
                && mount.version == KvVersion::V1
            {
                return Err(err(
                    Some(at),
                    format!(
                        "{}: version pins need a KV v2 mount, and {} is declared kv_version = 1",
                        raw.name.get_ref(),
                        mount.path.trim_end_matches('/')
                    ),
                ));
            }
            entries.push(entry);
        }
        for (name, _) in &overrides.vars {
            if !manifest.vars.contains_key(name) && !used.contains(name) {
                return Err(err(
                    None,
                    format!(
                        "--var {name}: the manifest has no {{{name}}} placeholder and no [vars] entry {name:?}"
                    ),
                ));
            }
        }

        Ok(Plan {
            manifest: source.path.clone(),
            vault: VaultPlan {
                address: manifest.vault.address,
                namespace: manifest.vault.namespace,
                mounts,
                auth,
                tls: manifest.vault.tls,
            },
            output,
            entries,
        })
    }

    /// The folder the manifest is in: relative output paths start there.
    pub fn manifest_dir(&self) -> &Path {
        crate::files::parent_or_dot(&self.manifest)
    }
}

/// The declared mount a path falls under, if any (`mounts` longest first).
pub fn declared_mount<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    mounts.iter().find(|m| m.contains(path))
}

fn build_entry(
    raw: &RawEntry,
    vars: &BTreeMap<String, String>,
    used: &mut Vec<String>,
    location: String,
) -> Result<Entry, String> {
    let name = raw.name.get_ref();
    let import = name.strip_suffix('*');
    match import {
        Some(prefix) if !prefix.is_empty() && !is_identifier(prefix) => {
            return Err(
                "an import prefix must be a valid variable name start (letters, digits, _; not a digit first), e.g. \"POSTGRES_*\""
                    .into(),
            );
        }
        None if !is_identifier(name) => {
            return Err(
                "not a valid environment variable name (letters, digits and _, not starting with a digit)"
                    .into(),
            );
        }
        _ => {}
    }

    // The short form splits at the first '#'; a path or key that contains '#' uses the table form.
    let mut mask = true;
    let (path, key, version, missing) = match raw.value.get_ref() {
        toml::Value::String(s) => match s.split_once('#') {
            Some((p, k)) => (p.to_owned(), Some(k.to_owned()), None, OnMissing::Fail),
            None => (s.clone(), None, None, OnMissing::Fail),
        },
        toml::Value::Table(t) => {
            let mut path = None;
            let mut key = None;
            let mut version = None;
            let mut optional = false;
            let mut default = None;
            for (field, value) in t {
                match (field.as_str(), value) {
                    ("path", toml::Value::String(s)) => path = Some(s.clone()),
                    ("key", toml::Value::String(s)) => key = Some(s.clone()),
                    ("version", toml::Value::Integer(v)) if *v >= 1 => version = Some(*v as u64),
                    ("version", _) => {
                        return Err("version must be an integer of 1 or more".into());
                    }
                    ("optional", toml::Value::Boolean(b)) => optional = *b,
                    ("mask", toml::Value::Boolean(b)) => mask = *b,
                    ("default", toml::Value::String(s)) => default = Some(s.clone()),
                    ("path" | "key" | "default", _) => {
                        return Err(format!("`{field}` must be a string"));
                    }
                    ("optional" | "mask", _) => {
                        return Err(format!("`{field}` must be true or false"));
                    }
                    (other, _) => {
                        return Err(format!(
                            "unknown field `{other}`; an entry takes path, key, version, optional, default, mask"
                        ));
                    }
                }
            }
            let path = path.ok_or("the table form needs `path`")?;
            let missing = match (optional, default) {
                (true, Some(_)) => {
                    return Err("use either `optional = true` or `default`, not both".into());
                }
                (true, None) => OnMissing::Skip,
                (false, Some(d)) => OnMissing::Default(d),
                (false, None) => OnMissing::Fail,
            };
            (path, key, version, missing)
        }
        _ => {
            return Err(
                "must be a path string (\"mount/path\" or \"mount/path#key\") or a table { path = ... }"
                    .into(),
            );
        }
    };

    let path = substitute(&path, vars, used)?;
    let path = normalize_path(&path).map_err(|m| format!("path {path:?}: {m}"))?;
    if !path.contains('/') {
        return Err(format!(
            "path {path:?} names only a mount; write mount/path/to/secret"
        ));
    }
    let target = match import {
        Some(prefix) => {
            if key.is_some() {
                return Err(
                    "an import (NAME_*) takes every key; it cannot pick one with #key or `key`"
                        .into(),
                );
            }
            if let OnMissing::Default(_) = missing {
                return Err("an import (NAME_*) cannot have a `default`".into());
            }
            if let Some(denied) = DENIED_IMPORT_PREFIXES
                .iter()
                .find(|d| prefix.to_ascii_uppercase().starts_with(*d))
            {
                return Err(format!(
                    "an import may not set {denied}* variables (they change how programs load code, run git or reach Vault); map each key explicitly"
                ));
            }
            Target::Import {
                prefix: prefix.to_owned(),
            }
        }
        None => {
            let key = key.unwrap_or_else(|| name.clone());
            if key.is_empty() {
                return Err("the key after '#' is empty".into());
            }
            Target::Var {
                name: name.clone(),
                key,
            }
        }
    };
    Ok(Entry {
        target,
        path,
        version,
        missing,
        mask,
        location,
    })
}

mod names;
mod output;
#[cfg(test)]
mod tests;

use names::check_var_value;
pub use names::{
    DENIED_IMPORT_PREFIXES, DENIED_IMPORTS, check_path, denied_import, is_identifier,
    normalize_path, substitute,
};
use output::build_output;
