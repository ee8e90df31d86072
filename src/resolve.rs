//! Plan + client → [`Resolved`]: which mount every path is under, and the distinct reads.
//!
//! A logical path (`team/apps/kv/svc/db`) says nothing about where its mount ends or which KV
//! version it is, and both decide the URL. This stage answers that once, for everything the
//! plan names, and hands the later stages typed [`KvRef`]s: `fetch` reads them, `policy` grants
//! them, `push` writes them, and none of them knows the `data/` rule (that is
//! [`KvRef::api_path`]'s alone).
//!
//! It costs as few round trips as it can: mounts declared in `kv_version` are never looked up;
//! the others get **one lookup per mount**, grouped by their first segment and run concurrently,
//! with a second round only for paths an answer did not cover (another multi-segment mount under
//! the same first segment). Each distinct path and version becomes **one read**, however many
//! variables use it.
//!
//! A failure does not stop the stage: an entry whose mount cannot be found gets the reason, so
//! the caller reports the first problem in manifest order and the same manifest always fails
//! the same way.

use std::collections::{HashMap, HashSet};

use crate::fetch::concurrently;
use crate::plan::{Plan, declared_mount};
use crate::vault::kv::{self, KvRef, KvVersion, Mount};
use crate::vault::{Client, VaultError};

/// Everything the plan reads, with its mounts known.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The distinct reads, in the order the manifest first names them.
    pub reads: Vec<KvRef>,
    /// For each entry of the plan (same index): the read it takes its value from, or why it
    /// has none.
    pub entries: Vec<Result<usize, Unresolved>>,
}

/// Why an entry has no read.
#[derive(Debug, Clone)]
pub enum Unresolved {
    /// Its mount could not be found or looked up.
    Mount(VaultError),
    /// It pins a version, and its mount is KV v1 (which has none).
    PinOnV1 { mount: String },
}

impl Resolved {
    /// The read behind entry `i`, if it has one.
    pub fn read_of(&self, i: usize) -> Option<&KvRef> {
        self.entries
            .get(i)
            .and_then(|e| e.as_ref().ok())
            .map(|&r| &self.reads[r])
    }
}

/// Resolve every entry of `plan`, asking the server only about undeclared mounts.
pub async fn resolve(plan: &Plan, client: &Client, concurrency: Option<usize>) -> Resolved {
    let mounts = mounts(plan, client, concurrency).await;
    build(plan, &mounts)
}

/// Resolve without a server, if every path lies in a declared mount (`kvenv policy` then works
/// offline).
pub fn offline(plan: &Plan) -> Option<Resolved> {
    let mut mounts = HashMap::new();
    for e in &plan.entries {
        let m = declared_mount(&plan.vault.mounts, &e.path)?;
        mounts.insert(e.path.as_str(), Ok(m.clone()));
    }
    Some(build(plan, &mounts))
}

/// The distinct reads, and each entry's place among them.
fn build(plan: &Plan, mounts: &HashMap<&str, Result<Mount, VaultError>>) -> Resolved {
    let mut out = Resolved::default();
    let mut index: HashMap<(&str, Option<u64>), usize> = HashMap::new();
    for e in &plan.entries {
        let entry = match mounts.get(e.path.as_str()) {
            Some(Ok(m)) if m.version == KvVersion::V1 && e.version.is_some() => {
                Err(Unresolved::PinOnV1 {
                    mount: m.path.trim_end_matches('/').to_owned(),
                })
            }
            Some(Ok(m)) => Ok(*index.entry((&e.path, e.version)).or_insert_with(|| {
                out.reads.push(KvRef::new(m.clone(), &e.path, e.version));
                out.reads.len() - 1
            })),
            Some(Err(err)) => Err(Unresolved::Mount(err.clone())),
            None => Err(Unresolved::Mount(VaultError::BadResponse {
                reason: "the path's mount was not looked up".into(),
            })),
        };
        out.entries.push(entry);
    }
    out
}

/// Every path's mount: declared ones first, then one lookup per first segment, and more rounds
/// only for paths the answers did not cover.
async fn mounts<'p>(
    plan: &'p Plan,
    client: &Client,
    concurrency: Option<usize>,
) -> HashMap<&'p str, Result<Mount, VaultError>> {
    let mut resolved: HashMap<&str, Result<Mount, VaultError>> = HashMap::new();
    let mut pending: Vec<&str> = Vec::new();
    for e in &plan.entries {
        let p = e.path.as_str();
        if resolved.contains_key(p) || pending.contains(&p) {
            continue;
        }
        match declared_mount(&plan.vault.mounts, p) {
            Some(m) => {
                resolved.insert(p, Ok(m.clone()));
            }
            None => pending.push(p),
        }
    }
    while !pending.is_empty() {
        let mut firsts = HashSet::new();
        let probes: Vec<&str> = pending
            .iter()
            .copied()
            .filter(|p| firsts.insert(first_segment(p)))
            .collect();
        let answers = concurrently(client, concurrency, &probes, |p| kv::detect(client, p)).await;
        for (probe, answer) in probes.into_iter().zip(answers) {
            match answer {
                Ok(mount) => {
                    let covers = |p: &str| p.starts_with(&mount.path);
                    if !covers(probe) {
                        // The server named a mount that does not contain the path: never
                        // guess, report it.
                        resolved.insert(
                            probe,
                            Err(VaultError::BadResponse {
                                reason: format!(
                                    "the mount lookup answered {}, which does not contain the path (a path that names only a mount?)",
                                    mount.path
                                ),
                            }),
                        );
                        pending.retain(|p| *p != probe);
                        continue;
                    }
                    for p in pending.iter().filter(|p| covers(p)) {
                        resolved.insert(p, Ok(mount.clone()));
                    }
                    pending.retain(|p| !covers(p));
                }
                Err(e) => {
                    // The same lookup for the rest of the group would fail the same way
                    // (unreachable, sealed, bad token), so it fails them all.
                    let group = first_segment(probe);
                    for p in pending.iter().filter(|p| first_segment(p) == group) {
                        resolved.insert(p, Err(e.clone()));
                    }
                    pending.retain(|p| first_segment(p) != group);
                }
            }
        }
    }
    resolved
}

fn first_segment(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Source;
    use crate::plan::Overrides;
    use crate::vault::kv::Op;

    fn plan(text: &str) -> Plan {
        let src = Source::new("secrets.toml", text);
        Plan::build(&src, src.parse().unwrap(), &Overrides::default()).unwrap()
    }

    #[test]
    fn one_read_per_path_and_version_and_typed_references() {
        let p = plan(
            "[vault]\nkv_version = { kv = 2, old = 1 }\n[secrets]\nA = \"kv/app#a\"\nB = \"kv/app#b\"\nC = { path = \"kv/app\", key = \"c\", version = 2 }\nD = \"old/x\"\n",
        );
        let r = offline(&p).unwrap();
        let paths: Vec<(String, Option<u64>)> = r
            .reads
            .iter()
            .map(|k| (k.api_path(Op::Data), k.version))
            .collect();
        assert_eq!(
            paths,
            [
                ("kv/data/app".to_string(), None),
                ("kv/data/app".to_string(), Some(2)),
                ("old/x".to_string(), None),
            ]
        );
        assert!(matches!(r.entries[..], [Ok(0), Ok(0), Ok(1), Ok(2)]));
        assert_eq!(r.read_of(3).unwrap().path, "x");
    }

    #[test]
    fn a_pin_on_a_detected_v1_mount_has_no_read() {
        let p = plan("[secrets]\nE = { path = \"old/x\", version = 1 }\n");
        let detected = Mount {
            path: "old/".into(),
            version: KvVersion::V1,
            declared: false,
        };
        let r = build(&p, &HashMap::from([("old/x", Ok(detected))]));
        assert!(r.reads.is_empty());
        assert!(matches!(&r.entries[0], Err(Unresolved::PinOnV1 { mount }) if mount == "old"));
    }

    #[test]
    fn offline_needs_every_mount_declared() {
        assert!(
            offline(&plan(
                "[vault]\nkv_version = { kv = 2 }\n[secrets]\nA = \"other/app\"\n"
            ))
            .is_none()
        );
    }
}
