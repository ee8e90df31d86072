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
use crate::manifest::{AuthSection, Credential, Manifest, Source, TlsSection};
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
    /// Fetched and usable in templates, but never written, exported or passed to `run`.
    pub internal: bool,
    /// A `read =` entry: `path` is read as is from any secrets engine (`database/creds/app`),
    /// not as KV, and its answer may come with a lease.
    pub dynamic: bool,
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
    /// `PREFIX_*` over a folder (the path ends in `/`): every secret under it.
    Folder(Folder),
    /// A value composed of other variables; its entry has no path.
    Template { name: String, template: Template },
}

/// A folder import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub prefix: String,
    /// Every secret below the folder, not only those directly in it.
    pub recursive: bool,
    pub names: FolderNames,
    /// The most secrets it may bring: more is an error.
    pub max: usize,
}

/// How a folder's secrets become variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderNames {
    /// Each key of each secret is a variable, named as `PREFIX_*` names keys.
    Keys,
    /// Each secret is a variable, named after its path under the folder, its value the key
    /// given (or the one key the secret holds).
    Secrets { key: Option<String> },
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
            Target::Var { name, .. } | Target::Template { name, .. } => name.clone(),
            Target::Import { prefix } | Target::Folder(Folder { prefix, .. }) => {
                format!("{prefix}*")
            }
        }
    }

    /// The variable the entry names itself (not an import's): for explicit-wins and templates.
    pub fn own_name(&self) -> Option<&str> {
        match &self.target {
            Target::Var { name, .. } | Target::Template { name, .. } => Some(name),
            Target::Import { .. } | Target::Folder(_) => None,
        }
    }

    /// Whether the entry reads a secret or a folder (a template reads nothing).
    pub fn reads(&self) -> bool {
        !matches!(self.target, Target::Template { .. })
    }

    /// Whether the entry reads from a KV mount (so its mount must be known).
    pub fn reads_kv(&self) -> bool {
        self.reads() && !self.dynamic
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

        let vars = placeholders(&manifest, overrides, &err)?;
        let mut used: Vec<String> = Vec::new();
        let mounts = declared_mounts(&manifest, &err)?;
        let output = build_output(source, &manifest, overrides, &err)?;
        let auth = vault_files(manifest.vault.auth, manifest.vault.tls.as_ref(), &err)?;

        let mut entries = Vec::with_capacity(manifest.secrets.0.len());
        let mut spans = Vec::with_capacity(manifest.secrets.0.len());
        for raw in &manifest.secrets.0 {
            let at = raw.name.span().start;
            spans.push(at);
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
        check_templates(&entries)
            .map_err(|(i, m)| err(Some(spans[i]), format!("{}: {m}", entries[i].label())))?;
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

mod entry;
mod names;
mod output;
mod template;

pub use entry::DEFAULT_MAX;
use entry::build_entry;
use names::check_var_value;
pub use names::{
    DENIED_IMPORT_PREFIXES, DENIED_IMPORTS, check_path, denied_import, is_identifier,
    normalize_path, substitute,
};
use output::build_output;
pub use template::Template;

/// What can be checked about templates offline: a reference no entry could provide (when the
/// manifest has no import, every name is known), and cycles. The error is the index of the
/// entry at fault and why.
fn check_templates(entries: &[Entry]) -> Result<(), (usize, String)> {
    let imports = entries
        .iter()
        .any(|e| matches!(e.target, Target::Import { .. } | Target::Folder(_)));
    let index_of = |name: &str| entries.iter().position(|e| e.own_name() == Some(name));
    for (i, e) in entries.iter().enumerate() {
        let Target::Template { template, .. } = &e.target else {
            continue;
        };
        for name in template.references() {
            if index_of(name).is_none() && !imports {
                return Err((
                    i,
                    format!("${{{name}}}: no entry of this manifest provides {name}"),
                ));
            }
        }
    }
    // Depth-first over template → template references; a back edge is a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; entries.len()];
    fn visit(
        i: usize,
        entries: &[Entry],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        index_of: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<(), (usize, String)> {
        marks[i] = Mark::Open;
        path.push(i);
        if let Target::Template { template, .. } = &entries[i].target {
            for name in template.references() {
                let Some(j) = index_of(name) else { continue };
                match marks[j] {
                    Mark::Open => {
                        let start = path.iter().position(|&k| k == j).unwrap_or(0);
                        let cycle: Vec<String> = path[start..]
                            .iter()
                            .chain(std::iter::once(&j))
                            .map(|&k| entries[k].label())
                            .collect();
                        return Err((
                            j,
                            format!(
                                "templates refer to each other in a cycle: {}",
                                cycle.join(" -> ")
                            ),
                        ));
                    }
                    Mark::New => visit(j, entries, marks, path, index_of)?,
                    Mark::Done => {}
                }
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        Ok(())
    }
    for i in 0..entries.len() {
        if marks[i] == Mark::New {
            visit(i, entries, &mut marks, &mut Vec::new(), &index_of)?;
        }
    }
    Ok(())
}

/// `[vars]`, then `--var` (which wins), each name and value checked.
fn placeholders(
    manifest: &Manifest,
    overrides: &Overrides,
    err: &dyn Fn(Option<usize>, String) -> ManifestError,
) -> Result<BTreeMap<String, String>, ManifestError> {
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
    Ok(vars)
}

/// `[vault] kv_version`: the declared mounts, longest first (the first prefix match is the
/// right mount).
fn declared_mounts(
    manifest: &Manifest,
    err: &dyn Fn(Option<usize>, String) -> ManifestError,
) -> Result<Vec<Mount>, ManifestError> {
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
    mounts.sort_by_key(|m| std::cmp::Reverse(m.path.len()));
    Ok(mounts)
}

/// `[vault.auth]` and `[vault.tls]`: every file they name is a path without control characters.
fn vault_files(
    auth: Option<toml::Spanned<AuthSection>>,
    tls: Option<&TlsSection>,
    err: &dyn Fn(Option<usize>, String) -> ManifestError,
) -> Result<AuthSection, ManifestError> {
    let auth = match auth {
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

    if let Some(tls) = tls {
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
    Ok(auth)
}

#[cfg(test)]
mod tests;
