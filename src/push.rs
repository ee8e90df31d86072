//! `kvenv push`: a hand-kept `.env` into Vault, at the manifest's paths and keys (migration).
//!
//! Safe by default: a dry run that prints the plan (names and paths, never values); `--apply`
//! writes. Each secret is read first and the new keys are merged into it, so keys already there
//! are never dropped; a different existing value is only replaced with `--overwrite`; on KV v2
//! the write uses check-and-set with the version that was read, so a change made in between is
//! detected instead of lost. `PREFIX_*` imports and version-pinned entries are not pushed: they
//! do not name one key to write.

use std::collections::HashMap;

use thiserror::Error;

use crate::error::code;
use crate::plan::{Plan, Target};
use crate::resolve::{Resolution, Resolved, Unresolved};
use crate::vault::kv::{self, Data, KvRef, KvVersion, Read, WriteRefused};
use crate::vault::{Client, VaultError};

/// What push would do with one variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Same,
}

/// One line of the plan.
#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub path: String,
    pub key: String,
    pub action: Action,
}

#[derive(Debug, Error)]
pub enum PushError {
    #[error("{name}: {path}#{key} already holds a different value; pass --overwrite to replace it")]
    Conflict {
        name: String,
        path: String,
        key: String,
    },
    #[error("{path}: the secret changed in Vault while kvenv was pushing; run push again")]
    Changed { path: String },
    #[error("{path}: {source}")]
    Vault { path: String, source: VaultError },
}

impl PushError {
    pub fn exit_code(&self) -> u8 {
        match self {
            PushError::Conflict { .. } => code::USAGE,
            PushError::Changed { .. } => code::MISSING,
            PushError::Vault { source, .. } => source.exit_code(),
        }
    }
}

/// The plan: what each variable of the file would do, and the lines skipped with why.
#[derive(Debug, Default)]
pub struct PushPlan {
    pub steps: Vec<Step>,
    pub skipped: Vec<(String, String)>,
    /// Per logical path: the secret, its current data and the version to check-and-set against
    /// (v2).
    current: HashMap<String, (KvRef, Data, Option<u64>)>,
}

/// Work out the plan: read every target secret once.
pub async fn plan(
    plan: &Plan,
    resolved: &Resolved,
    client: &Client,
    values: &HashMap<String, String>,
    file: &str,
) -> Result<PushPlan, PushError> {
    let mut out = PushPlan::default();
    for (i, e) in plan.entries.iter().enumerate() {
        if e.dynamic {
            out.skipped.push((
                e.label(),
                "a dynamic secret (read =) is made by its engine, not stored".into(),
            ));
            continue;
        }
        match &e.target {
            Target::Import { .. } | Target::Folder(_) => out.skipped.push((
                e.label(),
                "imports are not pushed; map each key to a variable to push it".into(),
            )),
            Target::Template { name, .. } => out.skipped.push((
                name.clone(),
                "a template is composed from other variables, not stored".into(),
            )),
            Target::Var { name, key } => {
                if let Some(v) = e.version {
                    out.skipped
                        .push((name.clone(), format!("pinned to version {v}; not pushed")));
                    continue;
                }
                let Some(value) = values.get(name) else {
                    out.skipped.push((name.clone(), format!("not in {file}")));
                    continue;
                };
                let secret = match &resolved.entries[i] {
                    Ok(Resolution::Secret(r)) => &resolved.reads[*r],
                    Err(Unresolved::Mount(source)) => {
                        return Err(PushError::Vault {
                            path: e.path.clone(),
                            source: source.clone(),
                        });
                    }
                    // Pins (on a v1 mount) were skipped above; the rest are not one secret.
                    _ => continue,
                };
                if !out.current.contains_key(&e.path) {
                    let read =
                        kv::read(client, secret)
                            .await
                            .map_err(|source| PushError::Vault {
                                path: e.path.clone(),
                                source,
                            })?;
                    let (data, version) = match read {
                        Read::Found { data, version, .. } => (data, version),
                        Read::Missing => (Data::default(), Some(0)),
                        Read::Deleted { version, .. } => (Data::default(), Some(version)),
                    };
                    let cas = match secret.mount.version {
                        KvVersion::V1 => None,
                        KvVersion::V2 => version.or(Some(0)),
                    };
                    out.current
                        .insert(e.path.clone(), (secret.clone(), data, cas));
                }
                let (_, data, _) = &out.current[&e.path];
                let action = match data.get(key) {
                    None => Action::Create,
                    Some(old) if kv::text(old).as_ref() == Some(value) => Action::Same,
                    Some(_) => Action::Update,
                };
                out.steps.push(Step {
                    name: name.clone(),
                    path: e.path.clone(),
                    key: key.clone(),
                    action,
                });
            }
        }
    }
    Ok(out)
}

/// Write the plan: one merged write per secret that changes.
pub async fn apply(
    push: PushPlan,
    client: &Client,
    values: &HashMap<String, String>,
    overwrite: bool,
) -> Result<usize, PushError> {
    if !overwrite && let Some(s) = push.steps.iter().find(|s| s.action == Action::Update) {
        return Err(PushError::Conflict {
            name: s.name.clone(),
            path: s.path.clone(),
            key: s.key.clone(),
        });
    }
    let mut current = push.current;
    let mut order: Vec<&str> = Vec::new();
    for s in push.steps.iter().filter(|s| s.action != Action::Same) {
        if let (Some((_, data, _)), Some(value)) = (current.get_mut(&s.path), values.get(&s.name)) {
            data.set_string(&s.key, value);
        }
        if !order.contains(&s.path.as_str()) {
            order.push(&s.path);
        }
    }
    for path in &order {
        let Some((secret, data, cas)) = current.get(*path) else {
            continue;
        };
        kv::write(client, secret, data, *cas)
            .await
            .map_err(|e| match e {
                WriteRefused::Changed => PushError::Changed {
                    path: path.to_string(),
                },
                WriteRefused::Vault(source) => PushError::Vault {
                    path: path.to_string(),
                    source,
                },
            })?;
    }
    Ok(order.len())
}
