//! Plan + resolved reads + answers → variables: keys, imports, folders, templates, defaults
//! and optionality.
//!
//! Pure: no I/O, so every rule about what an answer means for an entry is tested without a
//! server. The first problem in manifest order fails the whole run (the caller then writes
//! nothing), and every error names the entry, its manifest line and its path, never a value.
//! [`secrets`] turns a secret (or a folder of them) into variables; [`templates`] composes
//! values from the others once those are known; `internal` variables serve templates and are
//! then dropped.

mod secrets;
mod templates;
#[cfg(test)]
mod tests;

use thiserror::Error;

use crate::error::code;
use crate::fetch::Answers;
use crate::plan::{Entry, Plan};
use crate::resolve::{Resolution, Resolved, Unresolved};
use crate::secret::Var;
use crate::vault::VaultError;
use crate::vault::kv::{KvVersion, Read};

/// Which entry an error is about: `SECRET_KEY (secrets.toml:14): kv/app`.
#[derive(Debug, Clone)]
pub struct At {
    pub label: String,
    pub location: String,
    /// The path read; empty for a template.
    pub path: String,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.label, self.location)?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        Ok(())
    }
}

impl At {
    pub fn of(entry: &Entry) -> Box<At> {
        Box::new(At {
            label: entry.label(),
            location: entry.location.clone(),
            path: entry.path.clone(),
        })
    }

    /// The same entry, about one secret of its folder.
    fn at_path(&self, path: String) -> Box<At> {
        Box::new(At {
            path,
            ..self.clone()
        })
    }
}

/// A secret, key or version that is not what the manifest expects.
#[derive(Debug, Error)]
pub enum FetchError {
    /// A failure of the server or the token, not of any one entry: it is reported once, without
    /// pinning it on whichever entry happened to be read first.
    #[error(transparent)]
    Server(VaultError),
    #[error("{at}: {source}")]
    Vault { at: Box<At>, source: VaultError },
    #[error("{at}: no secret there{hint}; create it, or mark the entry optional = true")]
    Missing { at: Box<At>, hint: String },
    #[error("{at}: version {version} does not exist{hint}; pin an existing version")]
    MissingVersion {
        at: Box<At>,
        version: u64,
        hint: String,
    },
    #[error(
        "{at}: version {version} was {}; {}",
        if *destroyed { "destroyed" } else { "deleted" },
        if *destroyed { "write the secret again or pin another version" } else { "undelete it (`bao kv undelete -versions=N`) or pin another version" }
    )]
    Deleted {
        at: Box<At>,
        version: u64,
        destroyed: bool,
    },
    #[error("{at}: no key {key:?} in the secret (its keys: {}); fix the key, or mark the entry optional = true", if keys.is_empty() { "none".to_string() } else { keys.join(", ") })]
    MissingKey {
        at: Box<At>,
        key: String,
        keys: Vec<String>,
    },
    #[error("{at}: key {key:?} is null; give it a value, or mark the entry optional = true")]
    Null { at: Box<At>, key: String },
    #[error("{at}: version pins need KV v2, and mount {mount} is KV v1; remove `version`")]
    VersionOnV1 { at: Box<At>, mount: String },
    #[error(
        "{at}: key {key:?} gives the variable name {name:?}, which is not valid; add a prefix (e.g. \"APP_*\") or map the key explicitly"
    )]
    BadImportName {
        at: Box<At>,
        key: String,
        name: String,
    },
    #[error(
        "{at}: key {key:?} would set {name}, which an import may not set (it changes how programs load code, run git or reach Vault); map the key explicitly if the app needs it"
    )]
    DeniedImport {
        at: Box<At>,
        key: String,
        name: String,
    },
    #[error(
        "{at}: the variable {name} comes from two keys ({first:?} and {second:?}); map one of them explicitly"
    )]
    NameClash {
        at: Box<At>,
        name: String,
        first: String,
        second: String,
    },
    #[error("{at}: the folder holds no secret; create one, or mark the entry optional = true")]
    EmptyFolder { at: Box<At> },
    #[error(
        "{at}: the folder holds {found} secrets, more than max = {max}; raise max, or import a narrower folder"
    )]
    TooMany {
        at: Box<At>,
        found: usize,
        max: usize,
    },
    #[error(
        "{at}: names = \"secrets\" takes one value per secret, and this one holds {keys} keys; give `key`, or use names = \"keys\""
    )]
    SecretNeedsKey { at: Box<At>, keys: usize },
    #[error(
        "{at}: ${{{name}}} is missing (nothing was found for it); give it a value, or make this entry optional or give it a default"
    )]
    TemplatePartMissing { at: Box<At>, name: String },
    #[error(
        "{at}: ${{{name}}}: no variable of this manifest is named {name}, nor did any import bring one"
    )]
    UnknownReference { at: Box<At>, name: String },
    #[error(transparent)]
    Timeout(VaultError),
}

impl FetchError {
    pub fn exit_code(&self) -> u8 {
        match self {
            FetchError::Server(source) | FetchError::Vault { source, .. } => source.exit_code(),
            FetchError::Timeout(e) => e.exit_code(),
            FetchError::VersionOnV1 { .. }
            | FetchError::BadImportName { .. }
            | FetchError::DeniedImport { .. }
            | FetchError::NameClash { .. }
            | FetchError::TooMany { .. }
            | FetchError::UnknownReference { .. } => code::USAGE,
            _ => code::MISSING,
        }
    }

    /// What is missing, without the entry and the advice: the reason an optional entry was
    /// skipped ("no secret there", "no key \"dsn\"").
    pub fn fact(&self) -> String {
        match self {
            FetchError::Missing { at, hint } => format!("{}: no secret there{hint}", at.path),
            FetchError::MissingVersion { at, version, hint } => {
                format!("{}: version {version} does not exist{hint}", at.path)
            }
            FetchError::Deleted {
                at,
                version,
                destroyed,
            } => format!(
                "{}: version {version} was {}",
                at.path,
                if *destroyed { "destroyed" } else { "deleted" }
            ),
            FetchError::MissingKey { at, key, .. } => format!("{}: no key {key:?}", at.path),
            FetchError::Null { at, key } => format!("{}: key {key:?} is null", at.path),
            FetchError::TemplatePartMissing { name, .. } => format!("${{{name}}} is missing"),
            FetchError::EmptyFolder { at } => format!("{}: the folder holds no secret", at.path),
            other => other.to_string(),
        }
    }

    /// This entry's failure, or the server's when no one entry is to blame.
    fn at(at: Box<At>, source: VaultError) -> FetchError {
        if source.server_wide() {
            FetchError::Server(source)
        } else {
            FetchError::Vault { at, source }
        }
    }
}

/// What a run fetched.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The variables to write, export or pass on, in manifest order (an import's and a folder's
    /// sorted by name at their entry's place); `internal` ones are not here.
    pub vars: Vec<Var>,
    /// What optional entries (and a folder's deleted secrets) did not give: the label and why.
    pub skipped: Vec<(String, String)>,
    /// How many distinct secrets were read.
    pub reads: usize,
    /// Vault's warnings, prefixed with the path they came with.
    pub warnings: Vec<String>,
    /// What each folder import held, for `-v`.
    pub folders: Vec<FolderReport>,
}

/// One folder import, as listed.
#[derive(Debug, Clone)]
pub struct FolderReport {
    pub label: String,
    /// The folder's logical path, ending in `/`.
    pub folder: String,
    pub secrets: Vec<String>,
    /// `SCAN` or `LIST`, and how many listing requests it took.
    pub how: &'static str,
    pub requests: usize,
}

/// The first entry, in manifest order, that resolving left without what it reads, as its
/// error. A folder that holds nothing is not one: an optional folder import may be empty.
pub fn check_resolved(plan: &Plan, resolved: &Resolved) -> Result<(), FetchError> {
    for (e, entry) in plan.entries.iter().zip(&resolved.entries) {
        match entry {
            Err(Unresolved::Mount(err) | Unresolved::Listing(err)) => {
                return Err(FetchError::at(At::of(e), err.clone()));
            }
            Err(Unresolved::PinOnV1 { mount }) => {
                return Err(FetchError::VersionOnV1 {
                    at: At::of(e),
                    mount: mount.clone(),
                });
            }
            Err(Unresolved::TooMany { found, max }) => {
                return Err(FetchError::TooMany {
                    at: At::of(e),
                    found: *found,
                    max: *max,
                });
            }
            Err(Unresolved::EmptyFolder) | Ok(_) => {}
        }
    }
    Ok(())
}

/// Turn the reads into variables.
pub fn assemble(plan: &Plan, resolved: &Resolved, answers: Answers) -> Result<Fetched, FetchError> {
    let Answers { kv: reads, dynamic } = answers;
    // The first problem in manifest order, so the same manifest always fails the same way.
    check_resolved(plan, resolved)?;
    for (e, entry) in plan.entries.iter().zip(&resolved.entries) {
        let failed = |r: usize| match reads.get(r) {
            Some(Err(err)) => Some(err.clone()),
            _ => None,
        };
        match entry {
            Ok(Resolution::Secret(r)) => {
                if let Some(err) = failed(*r) {
                    return Err(FetchError::at(At::of(e), err));
                }
            }
            Ok(Resolution::Dynamic(d)) => {
                if let Some(Err(err)) = dynamic.get(*d) {
                    return Err(FetchError::at(At::of(e), err.clone()));
                }
            }
            Ok(Resolution::Folder(f)) => {
                for (_, r) in &resolved.folders[*f].members {
                    if let Some(err) = failed(*r) {
                        let path = resolved.reads[*r].logical();
                        return Err(FetchError::at(At::of(e).at_path(path), err));
                    }
                }
            }
            _ => {}
        }
    }
    // Every read is now known to have an answer.
    let reads: Vec<Read> = reads
        .into_iter()
        .map(|r| r.unwrap_or(Read::Missing))
        .collect();
    let dynamic: Vec<Read> = dynamic
        .into_iter()
        .map(|r| r.unwrap_or(Read::Missing))
        .collect();
    let mut out = Fetched {
        reads: reads.len() + dynamic.len(),
        ..Fetched::default()
    };
    for (secret, read) in resolved.reads.iter().zip(&reads) {
        if let Read::Found { warnings, .. } = read {
            for w in warnings {
                out.warnings.push(format!("{}: {w}", secret.logical()));
            }
        }
    }
    for (path, read) in resolved.dynamic.iter().zip(&dynamic) {
        if let Read::Found { warnings, .. } = read {
            for w in warnings {
                out.warnings.push(format!("{path}: {w}"));
            }
        }
    }
    out.warnings.sort();

    let mut vars = secrets::Vars::new(plan);
    for (i, e) in plan.entries.iter().enumerate() {
        match &resolved.entries[i] {
            Ok(Resolution::Secret(r)) => vars.secret(i, e, &reads[*r], resolved)?,
            Ok(Resolution::Dynamic(d)) => vars.secret(i, e, &dynamic[*d], resolved)?,
            Ok(Resolution::Folder(f)) => {
                let listing = &resolved.folders[*f];
                out.folders.push(FolderReport {
                    label: e.label(),
                    folder: format!("{}/", listing.folder.logical().trim_end_matches('/')),
                    secrets: listing
                        .members
                        .iter()
                        .map(|(_, r)| resolved.reads[*r].logical())
                        .collect(),
                    how: listing.how.unwrap_or("LIST"),
                    requests: listing.requests,
                });
                vars.folder(i, e, listing, &reads)?;
            }
            Err(Unresolved::EmptyFolder) => vars.empty_folder(i, e)?,
            Ok(Resolution::Template) | Err(_) => {}
        }
    }
    templates::compose(plan, &mut vars)?;
    let (all, skipped) = vars.finish();
    out.vars = all.into_iter().filter(|v| !v.internal).collect();
    out.skipped = skipped;
    Ok(out)
}

/// "write kv/app, not kv/data/app" when a v2 path repeats the API's `data/` segment.
pub(super) fn data_hint(path: &str, version: Option<KvVersion>) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    if version != Some(KvVersion::V2) {
        return String::new();
    }
    match segments.iter().position(|s| *s == "data") {
        Some(i) if i > 0 && i + 1 < segments.len() => {
            let mut fixed = segments.clone();
            fixed.remove(i);
            format!(
                " (did you mean {}? kvenv adds data/ itself: write {}, not {})",
                fixed.join("/"),
                fixed.join("/"),
                path
            )
        }
        _ => String::new(),
    }
}

/// A key as an environment variable name: upper-cased, anything outside `[A-Z0-9_]` as `_`.
pub fn env_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}
