//! Plan + resolved reads + answers → variables: keys, imports, defaults and optionality.
//!
//! Pure: no I/O, so every rule about what an answer means for an entry is tested without a
//! server. The first problem in manifest order fails the whole run (the caller then writes
//! nothing), and every error names the entry, its manifest line and its path, never a value.

use std::collections::{BTreeMap, HashMap, HashSet};

use thiserror::Error;

use crate::error::code;
use crate::plan::{Entry, OnMissing, Plan, Target, denied_import};
use crate::resolve::{Resolved, Unresolved};
use crate::secret::{Secret, Var};
use crate::vault::VaultError;
use crate::vault::kv::{self, KvVersion, Read};

/// Which entry an error is about: `SECRET_KEY (secrets.toml:14)`.
#[derive(Debug, Clone)]
pub struct At {
    pub label: String,
    pub location: String,
    pub path: String,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.label, self.location, self.path)
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
            | FetchError::NameClash { .. } => code::USAGE,
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
    /// The variables, in manifest order (imports sorted by name at their entry's place).
    pub vars: Vec<Var>,
    /// Optional entries that were not there: the label and why.
    pub skipped: Vec<(String, String)>,
    /// How many distinct secrets were read.
    pub reads: usize,
    /// Vault's warnings, prefixed with the path they came with.
    pub warnings: Vec<String>,
}

/// The first entry, in manifest order, that resolving left without a read, as its error.
pub fn check_resolved(plan: &Plan, resolved: &Resolved) -> Result<(), FetchError> {
    for (e, entry) in plan.entries.iter().zip(&resolved.entries) {
        match entry {
            Err(Unresolved::Mount(err)) => return Err(FetchError::at(At::of(e), err.clone())),
            Err(Unresolved::PinOnV1 { mount }) => {
                return Err(FetchError::VersionOnV1 {
                    at: At::of(e),
                    mount: mount.clone(),
                });
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Turn the reads into variables, applying keys, imports, defaults and optionality.
pub fn assemble(
    plan: &Plan,
    resolved: &Resolved,
    reads: Vec<Result<Read, VaultError>>,
) -> Result<Fetched, FetchError> {
    // The first problem in manifest order, so the same manifest always fails the same way.
    check_resolved(plan, resolved)?;
    for (e, entry) in plan.entries.iter().zip(&resolved.entries) {
        if let Ok(r) = entry
            && let Some(Err(err)) = reads.get(*r)
        {
            return Err(FetchError::at(At::of(e), err.clone()));
        }
    }
    // Every read is now known to have an answer.
    let reads: Vec<Read> = reads
        .into_iter()
        .map(|r| r.unwrap_or(Read::Missing))
        .collect();
    let explicit: HashSet<&str> = plan
        .entries
        .iter()
        .filter_map(|e| match &e.target {
            Target::Var { name, .. } => Some(name.as_str()),
            Target::Import { .. } => None,
        })
        .collect();
    let mut imported_from: HashMap<String, String> = HashMap::new();
    let mut out = Fetched {
        reads: reads.len(),
        ..Fetched::default()
    };
    for (secret, read) in resolved.reads.iter().zip(&reads) {
        if let Read::Found { warnings, .. } = read {
            for w in warnings {
                out.warnings.push(format!("{}: {w}", secret.logical()));
            }
        }
    }
    out.warnings.sort();

    for (i, e) in plan.entries.iter().enumerate() {
        let at = At::of(e);
        let read = match resolved.entries.get(i) {
            Some(Ok(r)) => &reads[*r],
            _ => &Read::Missing,
        };
        let absent = |why: FetchError| -> Result<Option<Var>, FetchError> {
            match (&e.missing, &e.target) {
                (OnMissing::Fail, _) => Err(why),
                (OnMissing::Skip, _) => Ok(None),
                (OnMissing::Default(d), Target::Var { name, .. }) => Ok(Some(Var {
                    name: name.clone(),
                    value: Secret::new(d.clone()),
                    path: e.path.clone(),
                    version: None,
                    default: true,
                    mask: e.mask,
                })),
                (OnMissing::Default(_), Target::Import { .. }) => Err(why),
            }
        };
        let hint = || data_hint(&e.path, resolved.read_of(i).map(|r| r.mount.version));
        let not_found = || match read {
            Read::Deleted { version, destroyed } => FetchError::Deleted {
                at: at.clone(),
                version: *version,
                destroyed: *destroyed,
            },
            _ => match e.version {
                Some(version) => FetchError::MissingVersion {
                    at: at.clone(),
                    version,
                    hint: hint(),
                },
                None => FetchError::Missing {
                    at: at.clone(),
                    hint: hint(),
                },
            },
        };
        let (data, version) = match read {
            Read::Found { data, version, .. } => (data, *version),
            _ => {
                let why = not_found();
                let reason = why.fact();
                match absent(why)? {
                    Some(var) => out.vars.push(var),
                    None => out.skipped.push((e.label(), reason)),
                }
                continue;
            }
        };
        match &e.target {
            Target::Var { name, key } => {
                let value = match data.get(key) {
                    Some(raw) => kv::text(raw).ok_or_else(|| FetchError::Null {
                        at: at.clone(),
                        key: key.clone(),
                    }),
                    None => Err(FetchError::MissingKey {
                        at: at.clone(),
                        key: key.clone(),
                        keys: data.keys().take(20).map(str::to_owned).collect(),
                    }),
                };
                match value {
                    Ok(v) => out.vars.push(Var {
                        name: name.clone(),
                        value: Secret::new(v),
                        path: e.path.clone(),
                        version,
                        default: false,
                        mask: e.mask,
                    }),
                    Err(why) => {
                        let reason = why.fact();
                        match absent(why)? {
                            Some(var) => out.vars.push(var),
                            None => out.skipped.push((e.label(), reason)),
                        }
                    }
                }
            }
            Target::Import { prefix } => {
                let mut batch: BTreeMap<String, (String, Var)> = BTreeMap::new();
                for (key, raw) in data.iter() {
                    let name = format!("{prefix}{}", env_name(key));
                    if !crate::plan::is_identifier(&name) {
                        return Err(FetchError::BadImportName {
                            at: at.clone(),
                            key: key.to_owned(),
                            name,
                        });
                    }
                    if explicit.contains(name.as_str()) {
                        continue;
                    }
                    if denied_import(&name) {
                        return Err(FetchError::DeniedImport {
                            at: at.clone(),
                            key: key.to_owned(),
                            name,
                        });
                    }
                    let Some(value) = kv::text(raw) else {
                        if e.missing == OnMissing::Skip {
                            out.skipped
                                .push((name, format!("{}: key {key:?} is null", e.path)));
                            continue;
                        }
                        return Err(FetchError::Null {
                            at: at.clone(),
                            key: key.to_owned(),
                        });
                    };
                    if let Some((first, _)) = batch.get(&name) {
                        return Err(FetchError::NameClash {
                            at: at.clone(),
                            name,
                            first: first.clone(),
                            second: key.to_owned(),
                        });
                    }
                    if let Some(first) = imported_from.get(&name) {
                        return Err(FetchError::NameClash {
                            at: at.clone(),
                            name,
                            first: first.clone(),
                            second: key.to_owned(),
                        });
                    }
                    let var = Var {
                        name: name.clone(),
                        value: Secret::new(value),
                        path: e.path.clone(),
                        version,
                        default: false,
                        mask: e.mask,
                    };
                    batch.insert(name, (key.to_owned(), var));
                }
                for (name, (key, var)) in batch {
                    imported_from.insert(name, format!("{}#{key}", e.path));
                    out.vars.push(var);
                }
            }
        }
    }
    Ok(out)
}

/// "write kv/app, not kv/data/app" when a v2 path repeats the API's `data/` segment.
fn data_hint(path: &str, version: Option<KvVersion>) -> String {
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

#[cfg(test)]
mod tests;
